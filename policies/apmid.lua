-- apmid.lua: which recovery points are copied, decided by the APMID of
-- the resource they back up (the APMID column of the metadata CSV).
--
-- Contract (docs/lua-api.md): decide(rp) returns "include" or "exclude"
-- and a reason. The reason is recorded with every recovery point, so
-- make it say why. Anything else (nil, a typo like "inclde", a missing
-- reason, a runtime error) is recorded as a failed decision and the
-- recovery point is excluded.
--
-- The engine applies its own eligibility rules (status, continuous
-- backups, cold storage, AWS-managed keys, vault locks) whatever this
-- policy says. Changing this file changes the policy hash: recovery
-- points not yet copied are decided again; copies are never undone.
--
-- Tests: apmid_test.lua (run `shuffle policy test policies/`).

local helpers = require("helpers")

local M = {}

-- The metadata columns this policy reads. shuffle checks the CSV's
-- header against them before it writes anything: without an APMID
-- column every recovery point would be excluded as "APMID missing".
M.requires = { columns = { "apmid" } }

-- The applications whose backups move to the destination account. An
-- APMID not listed here stays behind. Keep one APMID per line with the
-- application's name, so that a review shows what changed.
M.allowed = helpers.set({
  "APM0001234", -- Payments Gateway
  "APM0001871", -- Order Management
  "APM0002310", -- Customer Portal
  "APM0004120", -- General Ledger
  "APM0005009", -- Shared Platform
})
-- Not migrated in this wave: APM0002045 (Inventory Service),
-- APM0003002 (Enterprise Data Warehouse), APM0003577 (HR Systems).

-- conflict_reason describes metadata rows for one resource that
-- disagree, e.g. `conflicting metadata rows for apmid ("APM0001234",
-- "APM0002045") on lines 17, 912`.
local function conflict_reason(c)
  local values = {}
  for i, v in ipairs(c.values) do
    values[i] = string.format("%q", v)
  end
  return string.format("conflicting metadata rows for %s (%s) on lines %s",
    c.field, table.concat(values, ", "), table.concat(c.lines, ", "))
end

function M.decide(rp)
  -- No row for the resource in the metadata CSV: nobody has said whose
  -- data it is, so it is not copied.
  if not rp.has_metadata then
    return "exclude", "no metadata row for resource"
  end
  -- Rows that disagree (on any field): the CSV must be fixed first.
  if rp.conflict then
    return "exclude", conflict_reason(rp.conflict)
  end
  -- A cell of only spaces is "blank"; an empty cell is "missing". Both
  -- are denied by default. (A CSV without the APMID column never gets
  -- this far: M.requires makes it a usage error.)
  if rp.blank.apmid then
    return "exclude", "APMID blank"
  end
  local apmid = rp.apmid
  if apmid == nil or apmid == "" then
    return "exclude", "APMID missing"
  end
  if not M.allowed[apmid] then
    return "exclude", "APMID " .. apmid .. " is not in the allow set"
  end
  return "include", "APMID " .. apmid .. " is allowed"
end

return M
