-- tags.lua: the tags each copied recovery point gets in the destination
-- account, taken from the metadata CSV.
--
-- Contract (docs/lua-api.md): tags(rp) returns a table of tag names to
-- string values, or nil for none. Names are 1-128 characters and may not
-- start with "aws:"; values are strings of at most 256 characters; at
-- most 50 tags.
--
-- Tests: tags_test.lua.

local M = {}

-- Metadata columns (lower-cased, as policies see them) copied into tags,
-- and the tag name each becomes. Empty cells give no tag.
M.columns = {
  { column = "apmid", tag = "APMID" },
  { column = "application", tag = "Application" },
  { column = "costcenter", tag = "CostCenter" },
}

-- The CSV must have every column above (shuffle checks its header before
-- it writes anything), so that a misspelt column name is an error rather
-- than copies silently missing a tag. Delete these lines to make the
-- columns optional.
M.requires = { columns = {} }
for _, c in ipairs(M.columns) do
  table.insert(M.requires.columns, c.column)
end

function M.tags(rp)
  local tags = {
    -- Where the copy came from, for audits after the source is gone.
    ["shuffle:source-vault"] = rp.vault,
  }
  for _, c in ipairs(M.columns) do
    local value = rp.metadata[c.column]
    if value ~= nil and value ~= "" then
      tags[c.tag] = value
    end
  end
  return tags
end

return M
