-- compliance.lua: what a production backup vault must look like.
-- `shuffle check` judges every source vault, every existing destination
-- vault, and every destination vault shuffle would create (as it would
-- create it: vault.proposed = true) by it and prints, per vault, each
-- rule's pass or fail with what was expected and what is there.
-- `shuffle plan` and `shuffle run` judge the vaults to create the same
-- way, so a vault shuffle creates already complies.
--
-- Contract (docs/lua-api.md): check(vault) returns a list of results,
-- one per rule that applies to the vault:
--   { rule = "vault-lock", pass = false,
--     expected = "locked, MinRetentionDays >= 7", actual = "not locked",
--     severity = "blocking" | "warning",   -- default "blocking"
--     why = "..." }
-- A blocking failure on an existing destination vault makes `shuffle
-- check` exit 3 (and stops `shuffle run` in its pre-flight). On a vault
-- shuffle would create, see on_proposed_failure below. Source vaults are judged the same way for comparison (shuffle
-- cannot change them), so their failures never block. Anything else
-- (not a list, a result without rule or pass, a runtime error) is
-- reported as a failed check of that vault.
--
-- This module takes no part in which recovery points are copied.
--
-- Tests: compliance_test.lua (run `shuffle policy test policies/`).

local helpers = require("helpers")

local M = {}

-- What a blocking failure of a destination vault shuffle would create
-- does:
--   "block-vault": the vault is not created and its recovery points are
--                  held (blocked: compliance); the other vaults go on.
--   "stop-run":    `shuffle run` stops in its pre-flight, before it
--                  writes anything, and `shuffle check` exits 3.
M.on_proposed_failure = "block-vault"

-- Vault lock: the least MinRetentionDays a production vault's lock must
-- enforce, and the lock modes accepted.
M.min_retention_days = 7
M.lock_modes = helpers.set({ "compliance", "governance" })

-- Events a production vault must notify, so that a failed copy reaches
-- somebody.
M.required_events = { "COPY_JOB_FAILED" }

-- A vault is production when it is tagged Environment=prod, or when it
-- is logically air-gapped.
function M.production(vault)
  return vault.tags.Environment == "prod"
    or vault.vault_type == "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"
end

local function result(rule, pass, expected, actual, why, severity)
  return { rule = rule, pass = pass, expected = expected, actual = actual, why = why,
    severity = severity or "blocking" }
end

local function lock_rule(v)
  local want = string.format("locked, MinRetentionDays >= %d", M.min_retention_days)
  if not v.locked then
    return result("vault-lock", false, want, "not locked",
      "an unlocked vault lets anyone with backup:DeleteRecoveryPoint shorten or delete backups")
  end
  local min = v.min_retention_days
  local got = "locked, MinRetentionDays " .. (min and tostring(min) or "not set")
  return result("vault-lock", min ~= nil and min >= M.min_retention_days, want, got,
    "the lock must keep recovery points at least as long as the retention standard")
end

local function mode_rule(v)
  local modes = {}
  for m in pairs(M.lock_modes) do modes[#modes + 1] = m end
  table.sort(modes)
  return result("lock-mode", M.lock_modes[v.lock_mode] == true,
    table.concat(modes, " or "), v.lock_mode,
    "a compliance-mode lock cannot be removed by anyone once its grace time ends")
end

-- A logically air-gapped vault may keep AWS's own key (its default):
-- its isolation and its compliance lock are the control, and shuffle
-- cannot give one a customer-managed key unless the mapping names one.
M.air_gapped_key_types = helpers.set({ "CUSTOMER_MANAGED_KMS_KEY", "AWS_OWNED_KMS_KEY" })

local function key_rule(v)
  local t = v.encryption_key_type or "unknown"
  if v.vault_type == "LOGICALLY_AIR_GAPPED_BACKUP_VAULT" then
    return result("cmk-encryption", M.air_gapped_key_types[t] == true,
      "CUSTOMER_MANAGED_KMS_KEY or AWS_OWNED_KMS_KEY (air-gapped)", t,
      "an air-gapped vault's key is either the security team's or AWS's own, never one another account controls")
  end
  return result("cmk-encryption", t == "CUSTOMER_MANAGED_KMS_KEY",
    "CUSTOMER_MANAGED_KMS_KEY", t,
    "only a customer-managed key lets the security team control and audit who can decrypt backups")
end

local function events_rule(v)
  local have = helpers.set(v.events)
  local missing = {}
  for _, e in ipairs(M.required_events) do
    if not have[e] then missing[#missing + 1] = e end
  end
  local actual
  if v.sns_topic_arn == nil then
    actual = "no notifications"
  elseif #missing > 0 then
    actual = "missing " .. table.concat(missing, ", ")
  else
    actual = "notifies " .. v.sns_topic_arn
  end
  return result("copy-failure-alerts", v.sns_topic_arn ~= nil and #missing == 0,
    "notifications for " .. table.concat(M.required_events, ", "), actual,
    "a failed copy must page somebody", "warning")
end

-- The access policy may grant only the migration's two accounts: no
-- other account, and no Principal "*" (not even one narrowed by an
-- organization condition).
local function access_rule(v)
  local allowed = helpers.set({ v.source_account_id, v.destination_account_id })
  local others = {}
  for _, a in ipairs(v.access.accounts) do
    if not allowed[a] then others[#others + 1] = a end
  end
  local actual
  if v.access.invalid then
    actual = "unreadable policy: " .. v.access.invalid
  elseif v.access.any_principal then
    actual = "grants Principal \"*\""
  elseif #others > 0 then
    actual = "grants " .. table.concat(others, ", ")
  elseif #v.access.accounts == 0 then
    actual = "grants no account"
  else
    actual = "grants " .. table.concat(v.access.accounts, ", ")
  end
  local pass = not v.access.invalid and not v.access.any_principal and #others == 0
  return result("access-restricted", pass,
    "grants only accounts " .. v.source_account_id .. " and " .. v.destination_account_id, actual,
    "a vault access policy that names other principals lets them copy recovery points in or out")
end

function M.check(vault)
  local results = { access_rule(vault) }
  if M.production(vault) then
    results[#results + 1] = lock_rule(vault)
    results[#results + 1] = mode_rule(vault)
    results[#results + 1] = key_rule(vault)
    results[#results + 1] = events_rule(vault)
  end
  return results
end

return M
