-- Tests of apmid.lua. Run: shuffle policy test policies/ [--explain]
--
-- Every global function whose name starts with Test runs. testing.decide
-- runs a policy's decide the way the engine does, on an rp table built
-- the way the engine builds it (metadata keys are lower-cased, cells of
-- only spaces are marked blank, has_metadata is set when metadata is
-- given), and returns "include", "exclude" or "failed" and the reason.

local testing = require("testing")
local apmid = require("apmid")

-- rp returns a recovery point of the Payments Gateway's EBS volume in
-- prod-ebs-daily with the given metadata row (nil: no row).
local function rp(metadata)
  return {
    arn = "arn:aws:ec2:us-east-1::snapshot/snap-0a1b2c3d4e5f60718",
    vault = "prod-ebs-daily",
    resource_arn = "arn:aws:ec2:us-east-1:111111111111:volume/vol-0123456789abcdef0",
    resource_type = "EBS",
    status = "COMPLETED",
    created = "2025-12-01T05:12:00Z",
    metadata = metadata,
  }
end

function TestAllowedAPMIDIsIncluded()
  local decision, reason = testing.decide("apmid", rp({ APMID = "APM0001234", Application = "Payments Gateway" }))
  testing.eq(decision, "include")
  testing.eq(reason, "APMID APM0001234 is allowed")
end

function TestEveryAllowedAPMIDIsIncluded()
  for id in pairs(apmid.allowed) do
    local decision = testing.decide("apmid", rp({ APMID = id }))
    testing.eq(decision, "include", id)
  end
end

function TestUnknownAPMIDIsExcluded()
  local decision, reason = testing.decide("apmid", rp({ APMID = "APM0003002" }))
  testing.eq(decision, "exclude")
  testing.eq(reason, "APMID APM0003002 is not in the allow set")
end

function TestAPMIDIsCaseSensitive()
  local decision = testing.decide("apmid", rp({ APMID = "apm0001234" }))
  testing.eq(decision, "exclude")
end

function TestMissingAPMIDIsExcluded()
  -- An empty cell.
  local decision, reason = testing.decide("apmid", rp({ APMID = "", Application = "Payments Gateway" }))
  testing.eq(decision, "exclude")
  testing.eq(reason, "APMID missing")
  -- No APMID column at all.
  decision, reason = testing.decide("apmid", rp({ Application = "Payments Gateway" }))
  testing.eq(decision, "exclude")
  testing.eq(reason, "APMID missing")
end

function TestBlankAPMIDIsExcluded()
  local decision, reason = testing.decide("apmid", rp({ APMID = "   " }))
  testing.eq(decision, "exclude")
  testing.eq(reason, "APMID blank")
end

function TestNoMetadataRowIsExcluded()
  local decision, reason = testing.decide("apmid", rp(nil))
  testing.eq(decision, "exclude")
  testing.eq(reason, "no metadata row for resource")
end

function TestConflictingRowsAreExcluded()
  local r = rp({ APMID = "APM0001234" })
  r.conflict = { field = "apmid", values = { "APM0001234", "APM0002045" }, lines = { 17, 912 } }
  local decision, reason = testing.decide("apmid", r)
  testing.eq(decision, "exclude")
  testing.eq(reason, 'conflicting metadata rows for apmid ("APM0001234", "APM0002045") on lines 17, 912')
end

function TestConflictOnAnotherFieldIsExcluded()
  -- Even an allowed APMID: the rows disagree on the owner, so the CSV
  -- needs fixing before the copy.
  local r = rp({ APMID = "APM0001234" })
  r.conflict = { field = "owner", values = { "a@example.com", "b@example.com" }, lines = { 3, 4 } }
  local decision, reason = testing.decide("apmid", r)
  testing.eq(decision, "exclude")
  testing.ok(reason:find("owner", 1, true), "the reason names the field")
end
