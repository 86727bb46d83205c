-- Tests of vaults.lua. testing.map runs a policy's map the way the
-- engine does and returns the mapping with defaults filled in, or nil
-- and the reason it failed.

local testing = require("testing")

local prod_key = "arn:aws:kms:us-east-1:111111111111:key/46a4d7ac-187b-49fe-a18d-d5ed3115be2d"
local dest_prod_key = "arn:aws:kms:us-east-1:222222222222:key/6a44a25a-c3a8-498f-a5ab-d56d8fa50140"

function TestLikeForLike()
  local tags = { Environment = "prod", CostCenter = "CC-6100", Owner = "dba-team@example.com" }
  local m = testing.map("vaults", {
    name = "prod-rds-monthly",
    arn = "arn:aws:backup:us-east-1:111111111111:backup-vault:prod-rds-monthly",
    encryption_key_arn = prod_key,
    locked = true, min_retention_days = 30, max_retention_days = 3650,
    tags = tags,
  })
  testing.eq(m.name, "prod-rds-monthly")
  testing.eq(m.encryption_key_arn, dest_prod_key, "the destination key with the same alias")
  testing.eq(m.tags, tags)
  testing.eq(m.skip, false)
end

function TestFinanceKeyMapsToFinanceKey()
  local m = testing.map("vaults", {
    name = "finance-records",
    encryption_key_arn = "arn:aws:kms:us-east-1:111111111111:key/f92a25ef-b8b5-47e9-b58f-2b8aabb99e91",
  })
  testing.eq(m.encryption_key_arn, "arn:aws:kms:us-east-1:222222222222:key/0bbef656-2c62-4bc5-a04c-4e2e502c0f43")
end

function TestComplianceLockIsNeverAutomatic()
  local m = testing.map("vaults", {
    name = "finance-records",
    locked = true, min_retention_days = 365, max_retention_days = 2555, lock_date = "2023-10-15T12:00:00Z",
  })
  testing.eq(m.compliance_lock, false)
  testing.eq(m.reconcile, false)
end

function TestUnknownKeyIsUnmapped()
  -- The Default vault uses the AWS managed aws/backup key.
  local m = testing.map("vaults", {
    name = "Default",
    encryption_key_arn = "arn:aws:kms:us-east-1:111111111111:key/4e7f850e-f9f3-4f75-80e3-9077ea60c29d",
  })
  testing.eq(m.name, "Default")
  testing.eq(m.encryption_key_arn, nil)
end

function TestEveryMappedKeyIsInTheDestinationAccount()
  local vaults = require("vaults")
  for src, dst in pairs(vaults.keys) do
    testing.ok(src:find(":111111111111:", 1, true), "source key " .. src)
    testing.ok(dst:find(":222222222222:", 1, true), "destination key " .. dst)
  end
end
