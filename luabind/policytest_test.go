package luabind

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The shipped policies pass their own tests.
func TestRunPolicyTestsShippedPolicies(t *testing.T) {
	var out bytes.Buffer
	passed, failed, err := RunPolicyTests("../policies", false, &out)
	if err != nil || failed != 0 || passed < 15 {
		t.Fatalf("RunPolicyTests(../policies) = %d passed, %d failed, %v\n%s", passed, failed, err, out.String())
	}
	if want := fmt.Sprintf("%d passed, 0 failed\n", passed); out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

const allowPolicy = `local M = {}
local allowed = { APM1 = true }
function M.decide(rp)
  if rp.blank.apmid then return "exclude", "APMID blank" end
  if allowed[rp.apmid] then return "include", "APMID " .. rp.apmid .. " is allowed" end
  return "exclude", "APMID " .. tostring(rp.apmid) .. " is not allowed"
end
return M
`

func TestRunPolicyTestsReportsFailures(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"apmid.lua": allowPolicy,
		"apmid_test.lua": `local testing = require("testing")

function TestAllowed()
  testing.eq(testing.decide("apmid", {apmid = "APM1"}), "include")
end

function TestBlankDenied()
  -- wrong on purpose: a blank APMID is excluded
  local decision = testing.decide("apmid", {metadata = {APMID = "  "}})
  testing.eq(decision, "include")
end

function TestReason(t)
  local _, reason = t.decide("apmid", {apmid = "APM2"})
  t.eq(reason, "nope", "the reason")
end

function TestRuntimeError()
  local x = nil
  return x.field
end

function TestOk()
  testing.ok(false, "must be true")
end

function TestUnknownField()
  testing.decide("apmid", {apmd = "APM1"})
end

function helper() end -- not a test
`,
		"other_test.lua": `local testing = require("testing")
function TestPasses() testing.ok(true) end
`,
	})
	var out bytes.Buffer
	passed, failed, err := RunPolicyTests(dir, false, &out)
	if err != nil || passed != 2 || failed != 5 {
		t.Fatalf("= %d passed, %d failed, %v; want 2, 5\n%s", passed, failed, err, out.String())
	}
	want := `FAIL: apmid_test.lua: TestBlankDenied: apmid_test.lua:10: expected "include", got "exclude"
FAIL: apmid_test.lua: TestOk: apmid_test.lua:24: must be true: expected a true value, got false
FAIL: apmid_test.lua: TestReason: apmid_test.lua:15: the reason: expected "nope", got "APMID APM2 is not allowed"
FAIL: apmid_test.lua: TestRuntimeError: apmid_test.lua:20: attempt to index a non-table object(nil) with key 'field'
FAIL: apmid_test.lua: TestUnknownField: apmid_test.lua:28: bad argument #2 to decide (rp.apmd is not a known field (known: apmid, arn, blank, cold_after_days, conflict, created, created_iso, delete_after_days, encryption_key_arn, has_metadata, metadata, resource_arn, resource_name, resource_type, size, status, vault))
2 passed, 5 failed
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestRunPolicyTestsExplain(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"apmid.lua": allowPolicy,
		"apmid_test.lua": `local testing = require("testing")
function TestAllowed()
  testing.decide("apmid", {apmid = "APM1", resource_type = "EBS", vault = "prod-ebs-daily"})
  testing.decide("apmid", {apmid = "APM9", resource_type = "RDS", vault = "prod-rds-daily"})
end
function TestBroken()
  testing.decide("apmid", {has_metadata = false, vault = "Default"})
  error("stop")
end
`,
	})
	var out bytes.Buffer
	if _, _, err := RunPolicyTests(dir, true, &out); err != nil {
		t.Fatal(err)
	}
	want := `PASS: apmid_test.lua: TestAllowed
    decide apmid {apmid="APM1" resource_type="EBS" vault="prod-ebs-daily"} -> include: APMID APM1 is allowed
    decide apmid {apmid="APM9" resource_type="RDS" vault="prod-rds-daily"} -> exclude: APMID APM9 is not allowed
FAIL: apmid_test.lua: TestBroken: apmid_test.lua:8: stop
    decide apmid {vault="Default" has_metadata=false} -> exclude: APMID nil is not allowed
1 passed, 1 failed
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestRunPolicyTestsFailedDecisions(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"bad.lua": "return { decide = function(rp) if rp.vault == 'x' then error('boom') end return 'maybe', 'why' end }",
		"bad_test.lua": `local testing = require("testing")
function TestFailed()
  local d, reason = testing.decide("bad", {})
  testing.eq(d, "failed")
  testing.eq(reason, 'policy bad failed: decide returned "maybe"; want "include" or "exclude" and a reason')
  d, reason = testing.decide("bad", {vault = "x"})
  testing.eq(d, "failed")
  testing.eq(reason, "policy bad failed: bad.lua:1: boom")
end
function TestNoSuchModule()
  testing.decide("nope", {})
end
`,
	})
	var out bytes.Buffer
	passed, failed, err := RunPolicyTests(dir, false, &out)
	if err != nil || passed != 1 || failed != 1 {
		t.Fatalf("= %d, %d, %v\n%s", passed, failed, err, out.String())
	}
	if !strings.Contains(out.String(), "FAIL: bad_test.lua: TestNoSuchModule: bad_test.lua:11: require nope: only modules in ") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestRunPolicyTestsErrors(t *testing.T) {
	// A syntax error in a test file.
	dir := writeDir(t, map[string]string{
		"apmid.lua":      allowPolicy,
		"apmid_test.lua": "local testing = require('testing')\n\nfunction TestX()\n  testing.eq(1, 1\nend\n",
	})
	_, _, err := RunPolicyTests(dir, false, &bytes.Buffer{})
	var se *SyntaxError
	if !errors.As(err, &se) || err.Error() != dir+"/apmid_test.lua:5: syntax error near 'end'" {
		t.Errorf("syntax error in a test: %v", err)
	}

	// A syntax error in a policy.
	dir = writeDir(t, map[string]string{"apmid.lua": "return {", "apmid_test.lua": "function TestX() end"})
	if _, _, err := RunPolicyTests(dir, false, &bytes.Buffer{}); err == nil || err.Error() != dir+"/apmid.lua:1: syntax error at end of file" {
		t.Errorf("syntax error in a policy: %v", err)
	}

	// An error while loading a test file fails that file.
	dir = writeDir(t, map[string]string{"apmid.lua": allowPolicy, "apmid_test.lua": "local x = require('nope')\nfunction TestX() end\n"})
	var out bytes.Buffer
	passed, failed, err := RunPolicyTests(dir, false, &out)
	if err != nil || passed != 0 || failed != 1 || !strings.HasPrefix(out.String(), "FAIL: apmid_test.lua: apmid_test.lua:1: require nope: only modules in") {
		t.Errorf("load error: %d, %d, %v\n%s", passed, failed, err, out.String())
	}

	// No tests.
	if _, _, err := RunPolicyTests(writeDir(t, map[string]string{"apmid.lua": allowPolicy}), false, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no *_test.lua files") {
		t.Errorf("no tests: %v", err)
	}
}

// A test that never ends is stopped by the 5s test time limit; this one
// uses a policy loop that the test limit catches.
func TestRunPolicyTestsTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 5s")
	}
	dir := writeDir(t, map[string]string{
		"loop.lua":      "return { decide = function(rp) while true do end end }",
		"loop_test.lua": "local testing = require('testing')\nfunction TestLoop() testing.decide('loop', {}) end\n",
	})
	var out bytes.Buffer
	_, failed, err := RunPolicyTests(dir, false, &out)
	if err != nil || failed != 1 || !strings.Contains(out.String(), "FAIL: loop_test.lua: TestLoop: ") || !strings.Contains(out.String(), "time budget of 5s exceeded") {
		t.Errorf("%d, %v\n%s", failed, err, out.String())
	}
}

// A test vault's key aliases are filled in as the engine gives them:
// either field alone gives the other; an alias written with its alias/
// prefix, or a first alias that is not the first of the list, fails the
// test with what to write.
func TestPolicyTestVaultKeyAliases(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"vaults.lua": `local M = {}
function M.map(vault)
  return { encryption_key = vault.encryption_key_alias and ("alias/" .. vault.encryption_key_alias .. "/" .. #vault.encryption_key_aliases) }
end
return M
`,
		"vaults_test.lua": `local testing = require("testing")
function TestFromList()
  testing.eq(testing.map("vaults", {name = "v1", encryption_key_aliases = {"a", "b"}}).encryption_key, "alias/a/2")
end
function TestFromFirst()
  testing.eq(testing.map("vaults", {name = "v1", encryption_key_alias = "a"}).encryption_key, "alias/a/1")
end
function TestNone()
  testing.eq(testing.map("vaults", {name = "v1"}).encryption_key, nil)
end
function TestPrefixed()
  testing.map("vaults", {name = "v1", encryption_key_alias = "alias/a"})
end
function TestNotFirst()
  testing.map("vaults", {name = "v1", encryption_key_alias = "b", encryption_key_aliases = {"a", "b"}})
end
`,
	})
	var out bytes.Buffer
	passed, failed, err := RunPolicyTests(dir, false, &out)
	if err != nil || passed != 3 || failed != 2 {
		t.Fatalf("RunPolicyTests = %d passed, %d failed, %v; want 3 and 2\n%s", passed, failed, err, out.String())
	}
	for _, want := range []string{`TestPrefixed`, `"alias/a": write the alias name without alias/`, `TestNotFirst`, `is not the first of vault.encryption_key_aliases`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not say %q:\n%s", want, out.String())
		}
	}
}
