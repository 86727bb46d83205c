-- Tests of vaults.lua. testing.map runs a policy's map the way the
-- engine does and returns the mapping with defaults filled in, or nil
-- and the reason it failed.

local testing = require("testing")

local prod_key = "arn:aws:kms:us-east-1:111111111111:key/46a4d7ac-187b-49fe-a18d-d5ed3115be2d"

function TestLikeForLike()
  local tags = { Environment = "prod", CostCenter = "CC-6100", Owner = "dba-team@example.com" }
  local m = testing.map("vaults", {
    name = "prod-rds-monthly",
    arn = "arn:aws:backup:us-east-1:111111111111:backup-vault:prod-rds-monthly",
    encryption_key_arn = prod_key,
    encryption_key_alias = "backup-vault-prod",
    locked = true, min_retention_days = 30, max_retention_days = 3650,
    tags = tags,
  })
  testing.eq(m.name, "prod-rds-monthly")
  testing.eq(m.encryption_key, "alias/backup-vault-prod", "the destination key with the same alias")
  testing.eq(m.tags, tags)
  testing.eq(m.skip, false)
end

function TestTheFirstAliasNamesTheKey()
  -- A key with several aliases: the engine gives the first in name
  -- order as encryption_key_alias.
  local m = testing.map("vaults", {
    name = "finance-records",
    encryption_key_arn = "arn:aws:kms:us-east-1:111111111111:key/f92a25ef-b8b5-47e9-b58f-2b8aabb99e91",
    encryption_key_aliases = { "backup-vault-finance", "finance-legacy" },
  })
  testing.eq(m.encryption_key, "alias/backup-vault-finance")
end

function TestOverrideByVaultName()
  local vaults = require("vaults")
  vaults.keys["finance-records"] = "alias/finance-2025"
  local m = testing.map("vaults", {
    name = "finance-records",
    encryption_key_alias = "backup-vault-finance",
  })
  vaults.keys["finance-records"] = nil
  testing.eq(m.encryption_key, "alias/finance-2025")
end

function TestComplianceLockIsNeverAutomatic()
  local m = testing.map("vaults", {
    name = "finance-records",
    locked = true, min_retention_days = 365, max_retention_days = 2555, lock_date = "2023-10-15T12:00:00Z",
  })
  testing.eq(m.compliance_lock, false)
  testing.eq(m.reconcile, false)
end

function TestAWSManagedKeyIsUnmapped()
  -- The Default vault uses the AWS managed aws/backup key: the engine
  -- gives it no customer alias.
  local m = testing.map("vaults", {
    name = "Default",
    encryption_key_arn = "arn:aws:kms:us-east-1:111111111111:key/4e7f850e-f9f3-4f75-80e3-9077ea60c29d",
  })
  testing.eq(m.name, "Default")
  testing.eq(m.encryption_key, nil)
end

function TestNoKeyIdsInThePolicy()
  local vaults = require("vaults")
  testing.eq(next(vaults.keys), nil, "the shipped policy maps every key by alias, with no override")
end

local function org_ctx()
  return { vault = { name = "prod-ebs-daily" }, sid = "AllowOrgCopyIn", name = "AllowOrgCopyIn", index = 1,
    default = "drop", default_reason = 'it admits Principal "*"' }
end

function TestAccessStatementDefaultsWithoutAnException()
  local vaults = require("vaults")
  testing.eq(next(vaults.access_exceptions), nil, "the shipped policy signs off no access-policy exception")
  testing.eq(vaults.access_statement({ Effect = "Allow", Principal = "*" }, org_ctx()), nil)
end

function TestAccessStatementExceptions()
  local vaults = require("vaults")
  vaults.access_exceptions["prod-ebs-daily"] = { AllowOrgCopyIn = "keep" }
  local verdict, why = vaults.access_statement({ Effect = "Allow", Principal = "*" }, org_ctx())
  testing.eq(verdict, "keep")
  testing.ok(why ~= nil, "a kept exception says why")
  vaults.access_exceptions["prod-ebs-daily"] = { AllowOrgCopyIn = function(st, ctx)
    return { Sid = "OrgCopyIn", Effect = "Allow", Principal = { AWS = "arn:aws:iam::" .. "222222222222" .. ":root" },
      Action = st.Action, Resource = "*" }, "narrowed to the destination account"
  end }
  local rewritten = vaults.access_statement({ Effect = "Allow", Principal = "*", Action = "backup:CopyIntoBackupVault" }, org_ctx())
  testing.eq(rewritten.Action, "backup:CopyIntoBackupVault")
  vaults.access_exceptions["prod-ebs-daily"] = nil
end

function TestUnlockedProductionVaultGetsTheGovernanceLock()
  local m = testing.map("vaults", { name = "prod-ebs-weekly", tags = { Environment = "prod" } })
  testing.eq(m.lock.mode, "governance")
  testing.eq(m.lock.min_retention_days, 7)
  -- A locked source keeps its own lock; a dev vault gets none.
  testing.eq(testing.map("vaults", { name = "prod-rds-monthly", tags = { Environment = "prod" }, locked = true, min_retention_days = 30 }).lock, nil)
  testing.eq(testing.map("vaults", { name = "dev-ebs-daily", tags = { Environment = "dev" } }).lock, nil)
end
