-- migrate.lua: the operator's migration script.
--
-- Run from the repository root against `shuffle testenv up` started with
-- its defaults:
--
--   shuffle testenv up &          # writes ./testenv-run/
--   . ./testenv-run/env           # AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE
--   shuffle plan examples/migrate.lua
--
-- The script runs from the top on every `shuffle run` or `shuffle plan`.
-- Each primitive keeps its progress in the state directory (--state,
-- default ./.shuffle), so a second run resumes where the first stopped
-- and redoes nothing that is finished.
--
-- The script runs in a sandbox: no os, io or file loading. The API is in
-- docs/lua-api.md, with editor annotations in luabind/shuffle.d.lua.

local shuffle = require("shuffle")

-- What to migrate, from where to where. shuffle checks all of this
-- before it writes anything: each profile must resolve to its account
-- id, both sides must be in the same region, the metadata CSV must parse
-- and the policies must compile and pass their load checks.
shuffle.config({
  -- --source-profile and --destination-profile override the profiles.
  -- profile and region may be left out: the source then takes
  -- AWS_PROFILE, each region its profile's (docs/credentials-and-pause.md).
  source = { profile = "source", account = "111111111111", region = "us-east-1" },
  destination = { profile = "destination", account = "222222222222", region = "us-east-1" },

  -- Who owns each resource: one row per resourceArn, with an APMID
  -- column. The path is relative to the directory shuffle runs in.
  metadata = "testenv-run/metadata.csv",

  -- The role AWS Backup assumes to run the copy jobs (in the source
  -- account; shuffle needs iam:PassRole on it).
  copy_role = "arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole",

  -- The security team's policies (policies/*.lua): apmid decides which
  -- recovery points are copied, vaults where they go, tags what the
  -- copies are tagged with, and compliance what `shuffle check` expects
  -- of every vault. Test them with `shuffle policy test policies/`.
  policies = {
    dir = "policies",
    decide = { "apmid" },
    vaults = "vaults",
    tags = "tags",
    compliance = "compliance",
  },
})

-- 1. Inventory: list every source vault and recovery point into state.
-- Large vaults are listed in partitions; finished partitions are not
-- listed again when a run resumes. A vault listed before is listed only
-- from its newest recovery point (what the source made since), and
-- whole again on the --reconcile-every schedule.
local inv = shuffle.inventory()
local whole = 0
for _ in pairs(inv.reconciled) do whole = whole + 1 end
print(string.format("inventory: %d recovery points in %d vaults (%d partitions, %d pages listed%s; %d new, %d gone; %d vaults listed from their newest, %d whole)",
  inv.recovery_points, inv.vaults, inv.partitions, inv.listed_pages,
  inv.resumed and ", resumed" or "", inv.new, inv.gone, inv.deltas, whole))

-- 2. Enrich: join the metadata CSV to the recovery points by resource
-- ARN. Resources without a row, or whose rows disagree, are left for
-- the policies to decide (apmid.lua excludes them).
local en = shuffle.enrich()
print(string.format("enrich: %d matched, %d without a metadata row, %d with conflicting rows",
  en.matched, en.unmatched, en.conflicts))

-- 3. Decide: the engine's eligibility rules, then the policies, for
-- every recovery point not yet copied. Each decision is stored with the
-- policy hash; after a policy change only the recovery points that are
-- not copied yet are decided again.
local d = shuffle.decide()
print(string.format("decide: %d included, %d excluded (%d failed), %d ineligible; %d decided in this run",
  d.included, d.excluded, d.failed, d.ineligible, d.redecided))
if d.failed > 0 then
  print("warning: some policy calls failed; `shuffle plan --json` lists the reasons")
end

-- 4. Replicate: create the destination vaults that are missing, like for
-- like (policies/vaults.lua maps names, keys and SNS topics). Keys pair
-- by alias: each vault gets the destination key with its source key's
-- alias, resolved through KMS in the destination account, so no key id
-- is written anywhere. A vault that cannot be made ready (a key alias the
-- destination lacks, an unmapped key, an unconfirmed compliance lock, an
-- access policy that refuses copies) holds its recovery points back with
-- a reason; the others go ahead. An air-gapped vault AWS is
-- still creating is not waited for: the copy step starts the other
-- vaults' copies at once and its own once it is AVAILABLE.
local r = shuffle.replicate()
print(string.format("replicate: %d %s, %d existing, %d drifted, %d blocked, %d still creating, %d skipped",
  r.created, r.dry_run and "to create" or "created", r.exists, r.drift, r.blocked, r.creating, r.skip))

-- 5. Copy: start one copy job per included recovery point, within the
-- AWS quotas (100 in flight per account, 1 per resource), track them to
-- the end, retry what is worth retrying and tag the copies (tags.lua).
-- A second run never starts a job for a recovery point already copied
-- or in flight.
local c = shuffle.copy({ max_in_flight = 100 })
print(string.format("copy: %d started, %d completed in this run (%d in all), %d failed, %d still running, %d queued, %d waiting for their vault",
  c.started, c.completed_now, c.completed, c.failed, c.running, c.queued, c.waiting))
-- Copies AWS already had that the state did not know of (a fresh or
-- rebuilt state) are adopted, never started again; RPs that may have
-- been copied already are held for you to check (docs/operator-guide.md).
if c.adopted > 0 or c.held > 0 then
  print(string.format("copy: %d found in AWS and adopted (%d of them still running), %d held as possibly copied already",
    c.adopted, c.adopted_running, c.held))
end
