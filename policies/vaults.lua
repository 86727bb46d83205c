-- vaults.lua: where each source vault's recovery points go.
--
-- Contract (docs/lua-api.md): map(vault) returns a table
--   { name = ..., encryption_key_arn = ..., sns_topic_arn = ...,
--     skip = ..., reason = ..., compliance_lock = ..., reconcile = ...,
--     tags = {...} }
-- Every field is optional: name defaults to the source vault's name and
-- tags to its tags; an absent key is unmapped.
--
-- Default: like-for-like. Each source vault maps to a destination vault
-- of the same name with the same tags, encrypted with the destination
-- key that plays the same role as the source vault's key (below).
--
-- Tests: vaults_test.lua.

local M = {}

-- Destination KMS keys, by source vault key ARN.
--
-- KMS key ARNs are random ids, so there is no rule to derive one from
-- the other: this table is the mapping, reviewed like the rest of the
-- policy. The keys pair by alias (the destination account has a CMK
-- with each source vault key's alias). The ARNs are those of
-- `shuffle testenv up` with its defaults (--seed 1, us-east-1); for a
-- real estate, list both accounts' keys with
--   aws kms list-aliases --profile source
--   aws kms list-aliases --profile destination
-- and pair the TargetKeyId of each alias.
--
-- A source key that is not listed (for example the AWS managed
-- aws/backup key of the Default vault and of the logically air-gapped
-- vault) is left unmapped: encryption_key_arn is nil.
M.keys = {
  -- alias/backup-vault-prod: the prod-* and analytics-redshift vaults
  ["arn:aws:kms:us-east-1:111111111111:key/46a4d7ac-187b-49fe-a18d-d5ed3115be2d"] =
    "arn:aws:kms:us-east-1:222222222222:key/6a44a25a-c3a8-498f-a5ab-d56d8fa50140",
  -- alias/backup-vault-finance: finance-records
  ["arn:aws:kms:us-east-1:111111111111:key/f92a25ef-b8b5-47e9-b58f-2b8aabb99e91"] =
    "arn:aws:kms:us-east-1:222222222222:key/0bbef656-2c62-4bc5-a04c-4e2e502c0f43",
  -- alias/backup-vault-nonprod: dev-ebs-daily, staging-mixed
  ["arn:aws:kms:us-east-1:111111111111:key/11ac6e58-1a74-4f89-98d0-328dd8ff2d51"] =
    "arn:aws:kms:us-east-1:222222222222:key/5a90374c-ae23-401f-9c4c-d568b14b4b66",
}

function M.map(vault)
  return {
    -- Like-for-like: the same name in the destination account.
    name = vault.name,
    encryption_key_arn = M.keys[vault.encryption_key_arn],
    tags = vault.tags,
    -- Never apply a compliance-mode lock automatically: once its grace
    -- time has passed, nobody (not even the account root) can remove it
    -- or shorten retention. Set this to true only for a vault whose
    -- compliance lock has been signed off; governance locks are
    -- replicated either way.
    compliance_lock = false,
    -- An existing destination vault whose tags or lock differ from the
    -- source is reported, not changed. Set reconcile = true to let
    -- shuffle bring it in line.
    reconcile = false,
  }
end

return M
