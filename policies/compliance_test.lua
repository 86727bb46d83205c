-- Tests of compliance.lua. testing.compliance runs a policy's check the
-- way `shuffle check` does and returns its results (severity filled in),
-- or nil and the reason it failed.

local testing = require("testing")

local SRC, DST = "111111111111", "222222222222"

-- A destination vault that meets every rule.
local function good()
  return {
    account = "destination", account_id = DST, name = "prod-rds-monthly",
    source_account_id = SRC, destination_account_id = DST,
    encryption_key_type = "CUSTOMER_MANAGED_KMS_KEY",
    locked = true, min_retention_days = 30, max_retention_days = 3650,
    sns_topic_arn = "arn:aws:sns:us-east-1:222222222222:backup-events",
    events = { "BACKUP_JOB_COMPLETED", "COPY_JOB_FAILED" },
    tags = { Environment = "prod" },
    access = { accounts = { SRC }, statements = 1 },
  }
end

-- by_rule indexes results by rule name.
local function by_rule(results)
  local out = {}
  for _, r in ipairs(results) do out[r.rule] = r end
  return out
end

function TestCompliantVaultPassesEveryRule()
  local rs = testing.compliance("compliance", good())
  testing.eq(#rs, 5, "five rules apply to a production vault")
  for _, r in ipairs(rs) do
    testing.ok(r.pass, r.rule .. " should pass: " .. r.actual)
  end
end

function TestUnlockedVaultFailsLockAndMode()
  local v = good()
  v.locked, v.min_retention_days, v.max_retention_days = false, nil, nil
  local r = by_rule(testing.compliance("compliance", v))
  testing.eq(r["vault-lock"].pass, false)
  testing.eq(r["vault-lock"].actual, "not locked")
  testing.eq(r["vault-lock"].severity, "blocking")
  testing.eq(r["lock-mode"].pass, false)
  testing.eq(r["lock-mode"].actual, "none")
end

function TestShortMinimumRetentionFails()
  local v = good()
  v.min_retention_days = 3
  local r = by_rule(testing.compliance("compliance", v))
  testing.eq(r["vault-lock"].pass, false)
  testing.eq(r["vault-lock"].expected, "locked, MinRetentionDays >= 7")
  testing.eq(r["vault-lock"].actual, "locked, MinRetentionDays 3")
end

function TestComplianceModeFromLockDate()
  local v = good()
  v.lock_date = "2024-01-01T00:00:00Z"
  local r = by_rule(testing.compliance("compliance", v))
  testing.eq(r["lock-mode"].actual, "compliance")
  testing.ok(r["lock-mode"].pass)
end

function TestAWSOwnedKeyFails()
  local v = good()
  v.encryption_key_type = "AWS_OWNED_KMS_KEY"
  local r = by_rule(testing.compliance("compliance", v))
  testing.eq(r["cmk-encryption"].pass, false)
  testing.eq(r["cmk-encryption"].actual, "AWS_OWNED_KMS_KEY")
end

function TestMissingCopyFailedEventIsAWarning()
  local v = good()
  v.events = { "BACKUP_JOB_COMPLETED" }
  local r = by_rule(testing.compliance("compliance", v))
  testing.eq(r["copy-failure-alerts"].pass, false)
  testing.eq(r["copy-failure-alerts"].actual, "missing COPY_JOB_FAILED")
  testing.eq(r["copy-failure-alerts"].severity, "warning")
end

function TestForeignAccountOrAnyPrincipalFails()
  local v = good()
  v.access = { accounts = { SRC, "333333333333" }, statements = 2 }
  local r = by_rule(testing.compliance("compliance", v))
  testing.eq(r["access-restricted"].pass, false)
  testing.eq(r["access-restricted"].actual, "grants 333333333333")

  v.access = { accounts = {}, any_principal = true, statements = 1 }
  r = by_rule(testing.compliance("compliance", v))
  testing.eq(r["access-restricted"].pass, false)
  testing.eq(r["access-restricted"].actual, 'grants Principal "*"')
end

function TestNonProductionVaultOnlyHasTheAccessRule()
  local v = good()
  v.tags = { Environment = "dev" }
  v.locked = false
  local rs = testing.compliance("compliance", v)
  testing.eq(#rs, 1)
  testing.eq(rs[1].rule, "access-restricted")
end

function TestAirGappedVaultIsProduction()
  local v = good()
  v.tags = {}
  v.vault_type = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"
  local r = by_rule(testing.compliance("compliance", v))
  testing.eq(r["lock-mode"].actual, "compliance")
end

function TestAirGappedVaultMayKeepAWSOwnedKey()
  local v = good()
  v.vault_type = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"
  v.encryption_key_type = "AWS_OWNED_KMS_KEY"
  local r = by_rule(testing.compliance("compliance", v))
  testing.ok(r["cmk-encryption"].pass, "an air-gapped vault may keep AWS's own key")
  v.encryption_key_type = nil
  r = by_rule(testing.compliance("compliance", v))
  testing.eq(r["cmk-encryption"].pass, false, "an unknown key type still fails")
end

-- A vault shuffle would create is judged by the same rules: an
-- unlocked production replica fails, so shuffle does not create it.
function TestProposedUnlockedProductionVaultFails()
  local v = good()
  v.proposed, v.source_vault = true, "prod-ebs-weekly"
  v.locked, v.min_retention_days, v.max_retention_days = false, nil, nil
  local r = by_rule(testing.compliance("compliance", v))
  testing.eq(r["vault-lock"].pass, false)
  testing.eq(r["vault-lock"].severity, "blocking")
end

function TestProposedFailureBlocksTheVaultByDefault()
  testing.eq(require("compliance").on_proposed_failure, "block-vault")
end
