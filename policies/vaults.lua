-- vaults.lua: where each source vault's recovery points go.
--
-- Contract (docs/lua-api.md): map(vault) returns a table
--   { name = ..., encryption_key = ..., sns_topic_arn = ...,
--     skip = ..., reason = ..., compliance_lock = ..., reconcile = ...,
--     tags = {...}, lock = {...} }
-- and access_statement(statement, ctx), optional, decides each statement
-- of the source vault's access policy (below).
-- Every field is optional: name defaults to the source vault's name and
-- tags to its tags; an absent key is unmapped.
--
-- Default: like-for-like. Each source vault maps to a destination vault
-- of the same name with the same tags, encrypted with the destination
-- key that has the same alias as the source vault's key (below).
--
-- Tests: vaults_test.lua.

local M = {}

-- Overrides of the destination key, by source vault name. A value is
-- alias/NAME, an alias ARN (arn:aws:kms:REGION:ACCOUNT:alias/NAME) or a
-- key ARN, all of the destination account. For example:
--   ["finance-records"] = "alias/finance-2025",
M.keys = {}

-- The destination key of a source vault: its override, else the
-- destination key with the same alias as the source vault's key.
-- vault.encryption_key_alias is that key's alias without alias/ (the
-- first in name order; nil for an AWS managed key such as aws/backup of
-- the Default and the logically air-gapped vaults, which stay unmapped:
-- the destination vault gets the destination's own default key).
-- shuffle resolves the alias through KMS in the destination account
-- before it creates the vault; an alias that does not resolve holds back
-- that vault's recovery points with a reason, and the others go on.
function M.key(vault)
  if M.keys[vault.name] then
    return M.keys[vault.name]
  end
  return vault.encryption_key_alias and ("alias/" .. vault.encryption_key_alias)
end

-- The lock the security team requires of a production destination
-- vault (compliance.lua: locked, MinRetentionDays >= 7) whose source
-- vault has none: a governance lock, which a privileged principal can
-- still remove, so shuffle applies it without confirmation. A locked
-- source vault keeps its own lock, like for like. Recovery points kept
-- fewer days than min_retention_days are not copied into such a vault
-- (engine:retention).
M.production_lock = { mode = "governance", min_retention_days = 7 }

-- Production, as compliance.lua defines it (air-gapped vaults are
-- always locked).
function M.production(vault)
  return vault.tags.Environment == "prod"
end

function M.map(vault)
  return {
    -- Like-for-like: the same name in the destination account.
    name = vault.name,
    encryption_key = M.key(vault),
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
    lock = (not vault.locked and M.production(vault)) and M.production_lock or nil,
  }
end

-- The access policy of a vault shuffle creates: shuffle's own copy
-- statement, plus the source vault's statements as access_statement
-- decides them, one by one. The default (access_statement returning
-- nil) keeps Deny statements and Allows whose principals are all in the
-- source account (moved to the destination account), and drops every
-- other statement with a note: Principal "*" (even narrowed by an
-- organization condition), other accounts, services. The security team
-- signs off exceptions here, by source vault name and statement Sid:
--   "keep"  copy it as the default would have moved it,
--   "drop"  leave it out,
--   or a function(statement, ctx) returning "keep", "drop" or a
--   rewritten statement table. For example:
--   ["prod-ebs-daily"] = { AllowOrgCopyIn = "keep" },
-- A kept statement that grants Principal "*" fails the access rule of
-- compliance.lua, so that vault would not be created.
M.access_exceptions = {}

function M.access_statement(statement, ctx)
  local rules = M.access_exceptions[ctx.vault.name]
  local rule = rules and ctx.sid and rules[ctx.sid]
  if type(rule) == "function" then
    return rule(statement, ctx)
  elseif rule then
    return rule, "signed off in policies/vaults.lua access_exceptions"
  end
  return nil -- the default
end

return M
