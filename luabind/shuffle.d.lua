---@meta
-- LuaLS definitions for shuffle's Lua API (https://luals.github.io).
-- Point your editor at this file (Lua.workspace.library) for completion
-- and type checks in policies/*.lua, policies/*_test.lua and the
-- operator's script. docs/lua-api.md describes the same API in prose.
--
-- A Go test (luabind/dlua_test.go) checks that the `function M.name(`
-- lines below list exactly the functions of the Go modules: change both
-- together.

-------------------------------------------------------------------------
-- Inputs policies receive
-------------------------------------------------------------------------

---A recovery point, as decide(rp) and tags(rp) see it. Treat it as
---read-only. Absent values are nil.
---@class shuffle.RP
---@field arn string recovery point ARN
---@field vault string source vault name
---@field resource_arn string ARN of the backed-up resource
---@field resource_type string AWS Backup resource type: "EBS", "EC2", "RDS", "Aurora", "S3", "EFS", "DynamoDB", "FSx", "Redshift", ...
---@field resource_name? string
---@field status string "COMPLETED", "PARTIAL", "EXPIRED", "DELETING", ...
---@field created? integer creation time, epoch seconds
---@field created_iso? string creation time, RFC 3339 in UTC ("2025-12-01T05:12:00Z")
---@field size integer backup size in bytes
---@field delete_after_days? integer lifecycle: deleted this many days after creation (nil: kept)
---@field cold_after_days? integer lifecycle: moved to cold storage after this many days (nil: never)
---@field encryption_key_arn? string KMS key of the recovery point
---@field has_metadata boolean whether the metadata CSV has a row for resource_arn
---@field apmid? string metadata.apmid (nil when there is no row or no APMID column; "" when the cell is empty or blank)
---@field metadata table<string, string> the CSV row by lower-cased column name ("apmid", "application", "owner", "costcenter", ...), values trimmed; {} without a row
---@field blank table<string, boolean> columns whose cell held only whitespace (blank.apmid == true); {} when none
---@field conflict? shuffle.Conflict set when the CSV rows for resource_arn disagree

---Metadata rows for one resource that disagree.
---@class shuffle.Conflict
---@field field string the first column that differs (lower-cased)
---@field values string[] its distinct values, in line order
---@field lines integer[] CSV line numbers of every row for the resource

---A source vault, as map(vault) sees it.
---@class shuffle.Vault
---@field name string
---@field arn string
---@field vault_type? string "BACKUP_VAULT" or "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"
---@field encryption_key_arn? string the vault's KMS key
---@field encryption_key_alias? string the first (in name order) customer alias of the vault's key in the source account, without "alias/" (nil: none, or an AWS managed key)
---@field encryption_key_aliases string[] every customer alias of the vault's key, without "alias/", sorted ({} when none)
---@field locked boolean whether a vault lock is configured
---@field min_retention_days? integer vault lock minimum retention
---@field max_retention_days? integer vault lock maximum retention
---@field lock_date? integer when a compliance lock became immutable, epoch seconds (nil: governance mode)
---@field lock_date_iso? string the same, RFC 3339
---@field tags table<string, string> the vault's tags ({} when none)
---@field sns_topic_arn? string notification topic
---@field events string[] notification events
---@field access_policy? string the vault access policy document (JSON)

---A vault of either account, as a compliance policy's check(vault) sees
---it: every field of shuffle.Vault (but encryption_key_alias and
---encryption_key_aliases, which are nil: the check does not read KMS),
---plus these.
---@class shuffle.ComplianceVault: shuffle.Vault
---@field account "source"|"destination" which account the vault is in
---@field account_id string that account's id
---@field encryption_key_type? string AWS's key type: "CUSTOMER_MANAGED_KMS_KEY" or "AWS_OWNED_KMS_KEY"
---@field lock_mode "compliance"|"governance"|"none" compliance: a lock with a LockDate, or an air-gapped vault; governance: locked without one
---@field access shuffle.Access what the access policy's Allow statements grant
---@field source_account_id string the migration's source account
---@field destination_account_id string the migration's destination account
---@field proposed? boolean the vault does not exist: it is the destination vault as shuffle would create it
---@field source_vault? string for a proposed vault: the source vault it replicates

---What a vault access policy grants, worked out by the engine.
---@class shuffle.Access
---@field accounts string[] account ids named by AWS principals of Allow statements (ARNs or ids), sorted
---@field any_principal boolean an Allow statement has Principal "*" (with or without conditions)
---@field services string[] service principals of Allow statements
---@field statements integer statements in the document, Allow and Deny
---@field invalid? string why the document could not be read

-------------------------------------------------------------------------
-- Policy contracts: what a module in policies/ returns
-------------------------------------------------------------------------

---What a policy module declares it needs. shuffle checks it before it
---writes anything: a metadata CSV whose header lacks a declared column is
---a usage error (exit 2) naming the column, the module and the header,
---and a value of a declared column may not span lines. Names match the
---header case-insensitively, as rp.metadata keys do.
---@class shuffle.Requires
---@field columns? string[] metadata columns the module reads, e.g. { "apmid" }

---Every policy module may declare what it needs: M.requires = { columns = { "apmid" } }.
---@class shuffle.Policy
---@field requires? shuffle.Requires

---A decision: "include" or "exclude" and a reason.
---@alias shuffle.Verdict "include"|"exclude"

---The table form of a decision. priority (a whole number from -1000000
---to 1000000, default 0) orders the copies: higher starts sooner, within
---the quotas, after the RPs whose lifecycle deletes them within 72 hours.
---@class shuffle.DecisionTable
---@field decision shuffle.Verdict
---@field reason string
---@field priority? integer

---A decide policy (e.g. policies/apmid.lua) returns a table with a
---decide function. decide returns a verdict and a non-empty reason, or
---a shuffle.DecisionTable. Any other result, a runtime error or running
---over the time limit is a failed decision: the recovery point is
---excluded and the reason says what went wrong.
---@class shuffle.DecidePolicy: shuffle.Policy
---@field decide fun(rp: shuffle.RP): (shuffle.Verdict|shuffle.DecisionTable), string?

---What map(vault) returns. Every field is optional.
---@class shuffle.VaultMapping
---@field name? string destination vault name (default: the source vault's name)
---@field encryption_key? string destination KMS key: "alias/NAME", an alias ARN or a key ARN (nil: unmapped); resolved through KMS in the destination account
---@field encryption_key_arn? string the same as encryption_key (return one of the two)
---@field sns_topic_arn? string destination notification topic
---@field skip? boolean do not copy this vault's recovery points (needs a reason)
---@field reason? string why the vault is skipped
---@field compliance_lock? boolean allow applying a compliance-mode lock (default false)
---@field reconcile? boolean allow changing an existing destination vault to match (default false)
---@field tags? table<string, string> destination vault tags (default: the source vault's tags)
---@field lock? shuffle.MappedLock the lock a vault shuffle creates gets when its source vault has none (default: none, like for like)

---The lock map asks for a destination vault whose source vault has none.
---@class shuffle.MappedLock
---@field mode "governance" a compliance lock comes only from a compliance-locked source vault (with compliance_lock = true)
---@field min_retention_days? integer 1-36500
---@field max_retention_days? integer 1-36500, at least min_retention_days

---What access_statement(statement, ctx) knows besides the statement.
---@class shuffle.AccessContext
---@field vault shuffle.Vault the source vault, as map(vault) saw it
---@field index integer the statement's position in the source policy (1-based)
---@field name string its Sid, or "statement N"
---@field sid? string its Sid
---@field default "keep"|"drop" what shuffle does without access_statement
---@field default_reason? string why the default drops it
---@field translated? table the statement as "keep" writes it (principals and resources moved to the destination); nil when it cannot be moved
---@field destination string destination vault name
---@field destination_arn string destination vault ARN
---@field source_account_id string
---@field destination_account_id string

---A vaults policy (policies/vaults.lua) returns a table with a map
---function and, optionally, access_statement: called for each statement
---of a source vault's access policy when shuffle creates (or reconciles)
---its destination vault. It returns "keep" (write ctx.translated),
---"drop", a rewritten statement table (written as given; it must be a
---valid IAM statement), or nil for the default, and optionally a reason.
---The default keeps Deny statements and Allows whose principals are all
---in the source account, and drops everything else (Principal "*" even
---under an organization condition, other accounts, services).
---@class shuffle.VaultsPolicy: shuffle.Policy
---@field map fun(vault: shuffle.Vault): shuffle.VaultMapping
---@field access_statement? fun(statement: table, ctx: shuffle.AccessContext): ("keep"|"drop"|table|nil), string?

---A tags policy (policies/tags.lua) returns a table with a tags
---function, giving the tags of a copy: names of 1-128 characters not
---starting with "aws:", string values of at most 256 characters, at
---most 50 tags; nil for none.
---@class shuffle.TagsPolicy: shuffle.Policy
---@field tags fun(rp: shuffle.RP): table<string, string>?

---One rule's verdict on one vault.
---@class shuffle.ComplianceResult
---@field rule string rule name, unique within a vault's results
---@field pass boolean
---@field expected? string what the rule wants (numbers are turned into strings)
---@field actual? string what the vault has
---@field severity? "blocking"|"warning" of a failure (default "blocking"); only destination vaults block
---@field why? string why the rule matters

---A compliance policy (policies/compliance.lua) returns a table with a
---check function, which returns one result per rule that applies to the
---vault. `shuffle check` calls it for every source vault and every
---existing destination vault. Anything but a list of valid results, or a
---runtime error, is reported as a failed check of that vault.
---check is also called for every destination vault shuffle would create,
---as it would be (vault.proposed = true): a blocking failure holds that
---vault's recovery points (it is not created), or with
---on_proposed_failure = "stop-run" stops `shuffle run` before it writes.
---@class shuffle.CompliancePolicy: shuffle.Policy
---@field check fun(vault: shuffle.ComplianceVault): shuffle.ComplianceResult[]
---@field on_proposed_failure? "block-vault"|"stop-run" default "block-vault"

-------------------------------------------------------------------------
-- shuffle: the engine primitives (the operator's script only)
-------------------------------------------------------------------------

---@class shuffle.Endpoint
---@field profile? string AWS shared-config profile; --source-profile / --destination-profile override it; left out: AWS_PROFILE then "default" for the source, required (here or by flag) for the destination
---@field account string the 12-digit account id the profile must resolve to, quoted
---@field region? string AWS region; source and destination must be equal; left out: the profile's region, else AWS_REGION, else AWS_DEFAULT_REGION (each profile's must equal the script's when it names one)

---@class shuffle.PolicySet
---@field dir? string policies directory, relative to the working directory (default "policies")
---@field decide string[]|string decide modules, run in order; the first exclude wins
---@field vaults? string vault mapping module (default: like-for-like)
---@field tags? string tag module (default: no tags)
---@field compliance? string compliance module whose check(vault) `shuffle check` runs (default: none)
---@field limits? shuffle.PolicyLimits budgets of each policy call (docs/lua-api.md, "Budgets")

---@class shuffle.PolicyLimits
---@field memory_mib? integer MiB a policy call may allocate (default 64)
---@field time_ms? integer milliseconds a policy call may take (default 200)
---@field instructions? integer Lua VM instructions a policy call may run (default 1000000)

---@class shuffle.Config
---@field source shuffle.Endpoint
---@field destination shuffle.Endpoint
---@field metadata string metadata CSV path, relative to the working directory
---@field copy_role string IAM role ARN, in the source account, that copy jobs use
---@field policies shuffle.PolicySet
---@field on_pause? string[] command run (outside the sandbox) when a run pauses on expired credentials, e.g. {"notify-send", "shuffle paused"}; env SHUFFLE_PAUSED_PROFILE, SHUFFLE_TOKEN_EXPIRES
---@field on_event? string[] command run (outside the sandbox) for each event of the run, with the event's JSON on stdin (docs/events.md), e.g. {"/usr/local/bin/notify-team"}; env SHUFFLE_EVENT_KIND
---@field on_event_kinds? shuffle.EventKind[] the only event kinds on_event gets (default: every kind but progress and summary)
---@field failure_burst? shuffle.FailureBurst when failed copies make a failure-burst event (default 20 in 10 minutes)

---@alias shuffle.EventKind "started"|"vault-created"|"vault-blocked"|"compliance-blocked"|"window-end"|"paused"|"resumed"|"failure-burst"|"run-finished"

---@class shuffle.FailureBurst
---@field failures? integer failed copies that make a burst (default 20)
---@field minutes? number within this many minutes (default 10)

---@class shuffle.InventorySummary
---@field vaults integer source vaults listed
---@field recovery_points integer recovery points in state
---@field partitions integer listing partitions
---@field listed_pages integer pages listed in this run
---@field new integer recovery points new in this run
---@field changed integer recovery points that changed since the last run
---@field gone integer recovery points no longer listed (marked gone)
---@field resumed boolean whether the run resumed an earlier one
---@field deltas integer vaults listed only from their newest recovery point
---@field reconciled table<string, string> vaults listed whole, and why

---@class shuffle.EnrichSummary
---@field matched integer recovery points whose resource has a metadata row
---@field unmatched integer recovery points whose resource has none
---@field conflicts integer recovery points whose resource has conflicting rows
---@field updated integer recovery points whose metadata changed
---@field rows integer data rows in the CSV
---@field resources integer distinct resource ARNs in the CSV
---@field rows_without_rps integer CSV resources without a recovery point

---@class shuffle.DecideSummary
---@field included integer
---@field excluded integer excluded by policy (failed decisions included)
---@field ineligible integer excluded by the engine's eligibility rules
---@field failed integer failed policy calls
---@field redecided integer decisions made in this run
---@field kept integer recovery points already queued or copied, never decided again

---@class shuffle.ReplicateSummary
---@field created integer destination vaults created in this run (with dry_run: that a run would create)
---@field exists integer destination vaults that already matched
---@field drift integer destination vaults that differ from the source (left alone)
---@field reconciled integer destination vaults brought in line (reconcile = true)
---@field skip integer source vaults the mapping skips
---@field blocked integer destination vaults that cannot take copies (see the plan)
---@field dry_run boolean true in `shuffle plan` and `shuffle verify`: nothing was written, created and reconciled count what a run would do

---@class shuffle.CopyOptions
---@field max_in_flight? integer copy jobs in flight at once (default 100, the AWS per-account quota)
---@field vault_cap? integer copy jobs in flight per destination vault (default: none until AWS answers LimitExceeded for a vault; 5 for an account over its limit)
---@field max_attempts? integer attempts per recovery point when jobs fail in a retryable way (default 3)
---@field retry_base? number seconds before the second attempt, doubling after (default 300)
---@field start_workers? integer StartCopyJob calls at once (default 16)
---@field start_tps? number initial StartCopyJob calls per second, adapted to throttling (default 50)
---@field poll_min? number seconds, shortest interval between completion polls (default 0.2)
---@field poll_max? number seconds, longest (default 60)
---@field busy_backoff? number seconds a recovery point waits after AWS refuses its resource as busy (or in words shuffle cannot place), doubling on each refusal up to 30 times (default 60)
---@field call_backoff? number seconds before a StartCopyJob call that failed past the SDK's retries (5xx, network) is made again, times its failures so far (default 10)
---@field wait? boolean wait for jobs in flight to end (default true)

---@class shuffle.CopySummary
---@field started integer copy jobs started by this run
---@field completed_now integer copies completed by this run
---@field bytes_now integer bytes of those copies
---@field completed integer copies completed, all runs
---@field bytes integer bytes of all completed copies
---@field failed integer recovery points whose copy failed for good, all runs
---@field running integer jobs still in flight in AWS when copy returned
---@field retrying integer recovery points waiting for their next attempt
---@field queued integer included recovery points not started yet
---@field waiting integer included recovery points whose destination vault is not ready
---@field tagged integer copies tagged through the tag mapping
---@field tag_errors integer copies whose tagging failed (retried next run)
---@field stopped string why copy returned early ("deadline", "interrupted"), or ""
---@field failed_by_reason table<string, integer>
---@field waiting_by_vault table<string, integer>
---@field api_calls table<string, integer> AWS calls by operation
---@field elapsed_seconds number

---@class shuffle
local shuffle = {}

---Declares the migration. Call it once, before any other primitive. The
---fields are checked here: an error names the field and the script line.
---@param cfg shuffle.Config
function shuffle.config(cfg) end

---Lists every source vault and recovery point into state. Resumable:
---finished partitions are not listed again. A vault listed before is
---listed from its newest recovery point (a delta), and whole again when
-----reconcile-every of run time has passed or its count disagrees.
---@return shuffle.InventorySummary
function shuffle.inventory() end

---Joins the metadata CSV to the inventory by resource ARN.
---@return shuffle.EnrichSummary
function shuffle.enrich() end

---Applies the eligibility rules and the policies to every recovery point
---that is not copied yet and not decided under the current policy hash.
---@return shuffle.DecideSummary
function shuffle.decide() end

---Creates the destination vaults that are missing, like for like
---(name, tags, type, key mapping, access policy, notifications, lock),
---and works out which source vaults can take copies. shuffle.copy calls
---it when the script has not. In `shuffle plan` it only reports.
---@return shuffle.ReplicateSummary
function shuffle.replicate() end

---Copies every included recovery point into its destination vault,
---exactly once, within the AWS quotas. Runs inventory, enrich, decide
---and replicate first if the script has not. Resumable: jobs already
---started are tracked, not started again. In `shuffle plan` it only
---counts.
---@param opts? shuffle.CopyOptions
---@return shuffle.CopySummary
function shuffle.copy(opts) end

-------------------------------------------------------------------------
-- helpers: small pure functions (policies, tests and scripts)
-------------------------------------------------------------------------

---@class helpers
local helpers = {}

---A set of the list's values: helpers.set{"a", "b"}["a"] == true.
---@param list (string|number)[]
---@return table<string|number, true>
function helpers.set(list) end

---@param s string
---@param prefix string
---@return boolean
function helpers.has_prefix(s, prefix) end

---@param s string
---@param suffix string
---@return boolean
function helpers.has_suffix(s, suffix) end

---s without leading and trailing whitespace.
---@param s string
---@return string
function helpers.trim(s) end

---@param s string
---@return string
function helpers.lower(s) end

---@param s string
---@return string
function helpers.upper(s) end

---The parts of s around each sep (a plain string, not a pattern; not
---empty): helpers.split("a,b", ",") == {"a", "b"}.
---@param s string
---@param sep string
---@return string[]
function helpers.split(s, sep) end

---Whether s matches pattern, where * matches any run of characters (also
---none), ? matches one character and every other character itself:
---helpers.glob("prod-*", vault.name).
---@param pattern string
---@param s string
---@return boolean
function helpers.glob(pattern, s) end

---Whole days from t1 to t2, negative when t2 is earlier. Each is epoch
---seconds (rp.created) or an RFC 3339 string (rp.created_iso).
---@param t1 integer|string
---@param t2 integer|string
---@return integer
function helpers.days_between(t1, t2) end

-------------------------------------------------------------------------
-- testing: policy tests (*_test.lua only)
-------------------------------------------------------------------------

---An rp as a test writes it: any fields of shuffle.RP. metadata keys may
---have any case; cells of only whitespace become "" and are marked in
---blank; apmid sets metadata.apmid; has_metadata defaults to whether
---metadata or apmid is given; created may be an RFC 3339 string.
---@alias testing.RP table

---@class testing
local testing = {}

---Runs module's decide on rp as the engine does. decision is "include",
---"exclude" or "failed" (with the reason the engine would record).
---@param module string policy module name, e.g. "apmid"
---@param rp testing.RP
---@return "include"|"exclude"|"failed" decision
---@return string reason
function testing.decide(module, rp) end

---Runs module's map on vault as the engine does: the mapping with
---defaults filled in (name, tags, skip, compliance_lock, reconcile), or
---nil and the reason it failed.
---@param module string
---@param vault table any fields of shuffle.Vault (lock_date may be an RFC 3339 string)
---@return shuffle.VaultMapping?
---@return string? reason
function testing.map(module, vault) end

---Runs module's tags on rp as the engine does: the tags ({} for none),
---or nil and the reason it failed.
---@param module string
---@param rp testing.RP
---@return table<string, string>?
---@return string? reason
function testing.tags(module, rp) end

---Runs module's check on vault as `shuffle check` does: the results with
---severity filled in, or nil and the reason it failed. lock_mode, when
---left out, follows from locked, lock_date and vault_type.
---@param module string
---@param vault table any fields of shuffle.ComplianceVault
---@return shuffle.ComplianceResult[]?
---@return string? reason
function testing.compliance(module, vault) end

---Fails the test unless got equals want (tables by content): FILE:LINE:
---msg: expected WANT, got GOT.
---@param got any
---@param want any
---@param msg? string
function testing.eq(got, want, msg) end

---Fails the test unless v is neither nil nor false.
---@param v any
---@param msg? string
function testing.ok(v, msg) end

-------------------------------------------------------------------------
-- repl: the operator's REPL (`shuffle repl`, docs/repl.md)
-------------------------------------------------------------------------

---Filter fields of the REPL's queries and mutations. Every field is
---optional; fields combine with AND; a field given several values
---("a,b" or {"a", "b"}) matches any of them. A field not listed here is
---a metadata column (lower-cased), matched exactly.
---@class repl.Filter
---@field vault? string|string[] source vault name
---@field status? string|string[] completed, running, intent, retry, queued, failed, excluded, ineligible or undecided (as `shuffle status` counts them)
---@field state? string|string[] the same as status
---@field resource_type? string|string[] "EBS", "RDS", ...
---@field outcome? string|string[] the decision: included, excluded, ineligible or failed
---@field apmid? string metadata apmid ("" matches an empty cell)
---@field reason? string substring (any case) of the decision reason or the copy failure reason
---@field rule? string substring (any case) of the deciding rule: "engine:status", "policy:apmid"
---@field arn? string recovery point ARN
---@field resource_arn? string
---@field created_before? string|integer "2025-01-31", RFC 3339 or Unix seconds
---@field created_after? string|integer
---@field limit? integer rows find and jobs print (default 20; 0: all)
---@field confirm? boolean apply a mutation without asking (required when not interactive)

---In the REPL every repl function is also a global: count{...} is
---repl.count{...}.
---@class repl
repl = {}

---The number of recovery points matching the filter.
---@param filter? repl.Filter
---@return integer
function repl.count(filter) end

---Prints the matching recovery points as a table (at most filter.limit
---rows, default 20; 0 for all) and how many matched in all.
---@param filter? repl.Filter
function repl.find(filter) end

---Prints counts and sizes of the matching recovery points grouped by
---one field: vault, status, resource_type, outcome, apmid, reason, rule,
---created_month, created_year or a metadata column.
---@param filter repl.Filter|{by: string}
function repl.group(filter) end

---Prints every attempt of the copies of the matching recovery points:
---job id, AWS state, times and message.
---@param filter? repl.Filter
function repl.jobs(filter) end

---Prints everything known about one recovery point: inventory,
---metadata, the decision with its policy revision, the copy record and
---its attempts.
---@param arn string
function repl.show(arn) end

---Prints the decision trace of one recovery point: each engine rule in
---order and whether it passed, the rule or policy that decided (with
---its reason and policy revision), and what the copy did.
---@param arn string
function repl.explain(arn) end

---Prints the run history: each command with its start, duration, exit,
---the copies completed within it and the rates.
function repl.history() end

---Prints the status, the observed rates and the projected finish, as
---`shuffle forecast` does.
---@param opts? {max_in_flight?: integer, window?: string}
function repl.forecast(opts) end

---Writes the matching recovery points to a CSV file (the run report's
---columns) and returns how many it wrote.
---@param filter repl.Filter|{file: string}
---@return integer
function repl.export(filter) end

---Moves the failed copies of the matching recovery points back to the
---queue, keeping their attempt history. It prints a preview and changes
---nothing until confirmed: interactively by typing yes, otherwise with
---confirm=true. While a `shuffle run` is copying, the running engine
---starts them. Completed copies are never touched. Returns how many it
---requeued.
---@param filter repl.Filter
---@return integer
function repl.requeue(filter) end

---Clears decisions (what="decisions"), or lists again (what="inventory")
---for one vault (vault=NAME) or all, like `shuffle reset`. Decisions of
---recovery points already queued or copied, and every copy record, are
---kept. Previews first, like requeue; refused while a run is attached.
---Returns how many decisions it cleared.
---@param opts {what: "decisions"|"inventory", vault?: string, confirm?: boolean}
---@return integer
function repl.reset(opts) end

---Prints the list of functions and filter fields.
function repl.help() end
