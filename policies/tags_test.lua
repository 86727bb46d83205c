-- Tests of tags.lua. testing.tags runs a policy's tags the way the
-- engine does and returns the tags, or nil and the reason it failed.

local testing = require("testing")

function TestTagsFromMetadata()
  local tags = testing.tags("tags", {
    vault = "prod-ebs-daily",
    metadata = {
      APMID = "APM0001234", Application = "Payments Gateway", CostCenter = "CC-4100",
      Owner = "payments-team@example.com", DataClassification = "Restricted",
    },
  })
  testing.eq(tags, {
    APMID = "APM0001234",
    Application = "Payments Gateway",
    CostCenter = "CC-4100",
    ["shuffle:source-vault"] = "prod-ebs-daily",
  })
end

function TestEmptyCellsGiveNoTag()
  local tags = testing.tags("tags", {
    vault = "dev-ebs-daily",
    metadata = { APMID = "  ", Application = "Shared Platform", CostCenter = "" },
  })
  testing.eq(tags, { Application = "Shared Platform", ["shuffle:source-vault"] = "dev-ebs-daily" })
end

function TestNoMetadataRowKeepsTheSourceVault()
  local tags = testing.tags("tags", { vault = "Default" })
  testing.eq(tags, { ["shuffle:source-vault"] = "Default" })
end
