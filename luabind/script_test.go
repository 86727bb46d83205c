package luabind

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// fakeHost records calls and returns canned summaries, restic style: a
// nil Fn falls back to a default.
type fakeHost struct {
	calls       []string
	cfg         scriptconfig.Config
	ConfigureFn func(scriptconfig.Config) error
	InventoryFn func(context.Context) (map[string]any, error)
}

func (h *fakeHost) Configure(cfg scriptconfig.Config) error {
	h.calls = append(h.calls, "configure")
	h.cfg = cfg
	if h.ConfigureFn != nil {
		return h.ConfigureFn(cfg)
	}
	return nil
}

func (h *fakeHost) Inventory(ctx context.Context) (map[string]any, error) {
	h.calls = append(h.calls, "inventory")
	if h.InventoryFn != nil {
		return h.InventoryFn(ctx)
	}
	return map[string]any{"vaults": 14, "recovery_points": int64(2000), "partitions": 20, "listed_pages": int64(31), "resumed": false,
		"new": int64(2000), "gone": int64(0), "deltas": 12, "reconciled": map[string]any{"a": "first listing", "b": "scheduled reconciliation"}}, nil
}

func (h *fakeHost) Enrich(ctx context.Context) (map[string]any, error) {
	h.calls = append(h.calls, "enrich")
	return map[string]any{"matched": 1900, "unmatched": 100, "conflicts": 12}, nil
}

func (h *fakeHost) Replicate(ctx context.Context) (map[string]any, error) {
	h.calls = append(h.calls, "replicate")
	return map[string]any{"created": 2, "exists": 1, "drift": 1, "blocked": 0, "creating": 1, "skip": 0}, nil
}

func (h *fakeHost) Copy(ctx context.Context, args scriptconfig.CopyArgs) (map[string]any, error) {
	h.calls = append(h.calls, fmt.Sprintf("copy max_in_flight=%d vault_cap=%d wait=%v call_backoff=%g", args.MaxInFlight, args.VaultCap, !args.NoWait, args.CallBackoff))
	return map[string]any{"started": 5, "completed_now": 5, "completed": 7, "failed": 0, "running": 0, "queued": 0, "waiting": 3,
		"adopted": 2, "adopted_running": 1, "held": 1}, nil
}

func (h *fakeHost) Decide(ctx context.Context) (map[string]any, error) {
	h.calls = append(h.calls, "decide")
	return map[string]any{"included": 1200, "excluded": 600, "ineligible": 200, "failed": 0, "redecided": 2000,
		"by_vault": map[string]map[string]int{"prod-ebs-daily": {"included": 3}}, "reasons": []string{"a", "b"}, "ratio": 0.5}, nil
}

// writeScript writes a script into a temporary directory and returns
// its path.
func writeScript(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "migrate.lua")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const validConfig = `shuffle.config{
  source = { profile = "source", account = "111111111111", region = "us-east-1" },
  destination = { profile = "destination", account = "222222222222", region = "us-east-1" },
  metadata = "testenv-run/metadata.csv",
  copy_role = "arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole",
  policies = { dir = "policies", decide = { "apmid" }, vaults = "vaults", tags = "tags" },
}
`

func TestRunScriptCallsHost(t *testing.T) {
	path := writeScript(t, `local shuffle = require("shuffle")
`+validConfig+`
local inv = shuffle.inventory()
print(inv.vaults, inv.recovery_points, inv.resumed)
local en = shuffle.enrich()
print(en.matched, en.unmatched, en.conflicts)
local d = shuffle.decide()
print(d.included, d.by_vault["prod-ebs-daily"].included, #d.reasons, d.reasons[2], d.ratio)
`)
	h := &fakeHost{}
	var out bytes.Buffer
	if err := RunScript(context.Background(), path, h, &out); err != nil {
		t.Fatal(err)
	}
	if want := []string{"configure", "inventory", "enrich", "decide"}; !reflect.DeepEqual(h.calls, want) {
		t.Errorf("calls %v, want %v", h.calls, want)
	}
	want := scriptconfig.Config{
		Source:      scriptconfig.Endpoint{Profile: "source", Account: "111111111111", Region: "us-east-1"},
		Destination: scriptconfig.Endpoint{Profile: "destination", Account: "222222222222", Region: "us-east-1"},
		Metadata:    "testenv-run/metadata.csv",
		CopyRole:    "arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole",
		Policies:    scriptconfig.PolicyConfig{Dir: "policies", Decide: []string{"apmid"}, Vaults: "vaults", Tags: "tags"},
		Line:        2,
	}
	if !reflect.DeepEqual(h.cfg, want) {
		t.Errorf("config\n got %+v\nwant %+v", h.cfg, want)
	}
	if want := "14\t2000\tfalse\n1900\t100\t12\n1200\t3\t2\tb\t0.5\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

func TestRunScriptConfigDefaults(t *testing.T) {
	path := writeScript(t, `require("shuffle").config{
  source = { profile = "s", account = "111111111111", region = "eu-west-1" },
  destination = { profile = "d", account = "222222222222", region = "eu-west-1" },
  metadata = "m.csv",
  copy_role = "arn:aws:iam::111111111111:role/copy",
  policies = { decide = "apmid" },
}`)
	h := &fakeHost{}
	if err := RunScript(context.Background(), path, h, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if want := (scriptconfig.PolicyConfig{Dir: "policies", Decide: []string{"apmid"}}); !reflect.DeepEqual(h.cfg.Policies, want) {
		t.Errorf("policies %+v, want %+v", h.cfg.Policies, want)
	}
	path = writeScript(t, `require("shuffle").config{
  source = { profile = "s", account = "111111111111", region = "eu-west-1" },
  destination = { profile = "d", account = "222222222222", region = "eu-west-1" },
  metadata = "m.csv",
  copy_role = "arn:aws:iam::111111111111:role/copy",
  policies = { decide = "apmid", limits = { memory_mib = 128, time_ms = 500, instructions = 5e6 } },
}`)
	if err := RunScript(context.Background(), path, h, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if want := (scriptconfig.Budgets{Memory: 128 << 20, Time: 500 * time.Millisecond, Instructions: 5e6}); h.cfg.Policies.Budgets != want {
		t.Errorf("budgets %+v, want %+v", h.cfg.Policies.Budgets, want)
	}
}

// TestRunScriptConfigProfileRegionOptional: profile and region may be
// left out on either side (engine/profiles resolves them); one region
// named on one side only is not compared.
func TestRunScriptConfigProfileRegionOptional(t *testing.T) {
	for _, tc := range []struct {
		source, destination string
		want                [2]scriptconfig.Endpoint
	}{
		{`account = "111111111111"`, `account = "222222222222"`,
			[2]scriptconfig.Endpoint{{Account: "111111111111"}, {Account: "222222222222"}}},
		{`account = "111111111111", region = "eu-west-1"`, `account = "222222222222", profile = "d"`,
			[2]scriptconfig.Endpoint{{Account: "111111111111", Region: "eu-west-1"}, {Profile: "d", Account: "222222222222"}}},
		{`account = "111111111111", profile = "s"`, `account = "222222222222", region = "us-west-2"`,
			[2]scriptconfig.Endpoint{{Profile: "s", Account: "111111111111"}, {Account: "222222222222", Region: "us-west-2"}}},
	} {
		path := writeScript(t, `require("shuffle").config{
  source = { `+tc.source+` },
  destination = { `+tc.destination+` },
  metadata = "m.csv",
  copy_role = "arn:aws:iam::111111111111:role/copy",
  policies = { decide = "apmid" },
}`)
		h := &fakeHost{}
		if err := RunScript(context.Background(), path, h, &bytes.Buffer{}); err != nil {
			t.Fatalf("%s / %s: %v", tc.source, tc.destination, err)
		}
		if got := [2]scriptconfig.Endpoint{h.cfg.Source, h.cfg.Destination}; got != tc.want {
			t.Errorf("%s / %s: got %+v, want %+v", tc.source, tc.destination, got, tc.want)
		}
	}
}

func TestRunScriptConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		edit  func(string) string
		field string
		want  string
	}{
		{func(s string) string { return strings.Replace(s, `account = "111111111111"`, `account = "1234"`, 1) },
			"source.account", `:3: shuffle.config: source.account must be a 12-digit account id, got "1234"`},
		{func(s string) string {
			return strings.Replace(s, `account = "111111111111"`, `account = 111111111111`, 1)
		},
			"source.account", `:3: shuffle.config: source.account must be a 12-digit account id in quotes, got the number 111111111111 (quote it: "111111111111")`},
		{func(s string) string { return strings.Replace(s, `account = "222222222222", `, ``, 1) },
			"destination.account", `:3: shuffle.config: destination.account is required (the 12-digit account id the profile must resolve to)`},
		{func(s string) string { return strings.Replace(s, `profile = "source", `, `profile = "", `, 1) },
			"source.profile", `:3: shuffle.config: source.profile must not be empty (leave it out to take the profile from --source-profile or AWS_PROFILE)`},
		{func(s string) string { return strings.Replace(s, `profile = "destination", `, `profile = " ", `, 1) },
			"destination.profile", `:3: shuffle.config: destination.profile must not be empty (leave it out to take the profile from --destination-profile)`},
		{func(s string) string { return strings.Replace(s, `profile = "source", `, `profile = 7, `, 1) },
			"source.profile", `:3: shuffle.config: source.profile must be a string, got the number 7`},
		{func(s string) string {
			return strings.Replace(s, `region = "us-east-1" },`+"\n  destination", `region = "" },`+"\n  destination", 1)
		},
			"source.region", `:3: shuffle.config: source.region must be an AWS region like us-east-1, got ""`},
		{func(s string) string {
			return strings.Replace(s, `region = "us-east-1" },`+"\n  destination", `region = "useast1" },`+"\n  destination", 1)
		},
			"source.region", `:3: shuffle.config: source.region must be an AWS region like us-east-1, got "useast1"`},
		{func(s string) string {
			return strings.Replace(s, `account = "222222222222", region = "us-east-1"`, `account = "222222222222", region = "us-west-2"`, 1)
		},
			"destination.region", `:3: shuffle.config: destination.region must equal source.region "us-east-1" (shuffle copies within one region), got "us-west-2"`},
		{func(s string) string { return strings.Replace(s, `"222222222222"`, `"111111111111"`, 1) },
			"destination.account", `:3: shuffle.config: destination.account must differ from source.account 111111111111`},
		{func(s string) string {
			return strings.Replace(s, `tags = "tags" }`, `tags = "tags", limits = { memory_mib = 0 } }`, 1)
		},
			"policies.limits.memory_mib", `:3: shuffle.config: policies.limits.memory_mib must be between 1 and 4096, got 0`},
		{func(s string) string {
			return strings.Replace(s, `tags = "tags" }`, `tags = "tags", limits = { memory = 64 } }`, 1)
		},
			"policies.limits.memory", `:3: shuffle.config: policies.limits.memory is not a known field (known: instructions, memory_mib, time_ms)`},
		{func(s string) string {
			return strings.Replace(s, `  metadata = "testenv-run/metadata.csv",`+"\n", ``, 1)
		},
			"metadata", `:3: shuffle.config: metadata is required`},
		{func(s string) string {
			return strings.Replace(s, `metadata = "testenv-run/metadata.csv"`, `metadata = {"a.csv"}`, 1)
		},
			"metadata", `:3: shuffle.config: metadata must be a string, got a table`},
		{func(s string) string {
			return strings.Replace(s, `arn:aws:iam::111111111111:role`, `arn:aws:iam::222222222222:role`, 1)
		},
			"copy_role", `:3: shuffle.config: copy_role must be a role in the source account 111111111111, got one in account 222222222222`},
		{func(s string) string {
			return strings.Replace(s, `"arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole"`, `"AWSBackupDefaultServiceRole"`, 1)
		},
			"copy_role", `:3: shuffle.config: copy_role must be an IAM role ARN like arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole, got "AWSBackupDefaultServiceRole"`},
		{func(s string) string { return strings.Replace(s, `decide = { "apmid" }`, `decide = {}`, 1) },
			"policies.decide", `:3: shuffle.config: policies.decide must list at least one policy module, like decide = {"apmid"}`},
		{func(s string) string {
			return strings.Replace(s, `decide = { "apmid" }`, `decide = { "apmid.lua" }`, 1)
		},
			"policies.decide[1]", `:3: shuffle.config: policies.decide[1] must be a module name (letters, digits and _; the file name without .lua), got "apmid.lua"`},
		{func(s string) string { return strings.Replace(s, `decide = { "apmid" }`, `decide = { "apmid", 3 }`, 1) },
			"policies.decide[2]", `:3: shuffle.config: policies.decide[2] must be a string, got the number 3`},
		{func(s string) string { return strings.Replace(s, `vaults = "vaults"`, `vaults = "../vaults"`, 1) },
			"policies.vaults", `:3: shuffle.config: policies.vaults must be a module name (letters, digits and _; the file name without .lua), got "../vaults"`},
		{func(s string) string { return strings.Replace(s, `tags = "tags" }`, `tag = "tags" }`, 1) },
			"policies.tag", `:3: shuffle.config: policies.tag is not a known field (known: compliance, decide, dir, limits, tags, vaults)`},
		{func(s string) string { return strings.Replace(s, `copy_role =`, `copyrole =`, 1) },
			"copy_role", `:3: shuffle.config: copy_role is required`},
		{func(s string) string { return strings.Replace(s, `metadata =`, `metdata = "x", metadata =`, 1) },
			"metdata", `:3: shuffle.config: metdata is not a known field (known: copy_role, destination, failure_burst, metadata, on_event, on_event_kinds, on_pause, policies, source)`},
		{func(s string) string { return strings.Replace(s, `source = {`, `source = "prod", x = {`, 1) },
			"source", `:3: shuffle.config: source must be a table, got "prod"`},
	} {
		src := "local shuffle = require('shuffle')\n\n" + tc.edit(validConfig) + "shuffle.inventory()\n"
		path := writeScript(t, src)
		h := &fakeHost{}
		err := RunScript(context.Background(), path, h, &bytes.Buffer{})
		var se *ScriptError
		var ce *scriptconfig.FieldError
		if err == nil || err.Error() != path+tc.want || !errors.As(err, &se) || se.Line != 3 || !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("got %v (field %v)\nwant %s%s (field %s)", err, ce, path, tc.want, tc.field)
		}
		if len(h.calls) != 0 {
			t.Errorf("%s: the host was called: %v", tc.want, h.calls)
		}
	}
}

type hostErr struct{ code string }

func (e *hostErr) Error() string { return "profile source: " + e.code }

func TestRunScriptHostErrors(t *testing.T) {
	// A Configure error, at the line of shuffle.config.
	path := writeScript(t, "local shuffle = require('shuffle')\n"+validConfig)
	h := &fakeHost{ConfigureFn: func(scriptconfig.Config) error { return &hostErr{"account 999999999999 is not 111111111111"} }}
	err := RunScript(context.Background(), path, h, &bytes.Buffer{})
	var he *hostErr
	if err == nil || err.Error() != path+":2: profile source: account 999999999999 is not 111111111111" || !errors.As(err, &he) {
		t.Errorf("configure error: %v", err)
	}

	// A primitive's error, at its line, with the Go error chain intact.
	path = writeScript(t, "local shuffle = require('shuffle')\n"+validConfig+"\n\nlocal inv = shuffle.inventory()\nprint('not reached')\n")
	cause := errors.New("throttled")
	h = &fakeHost{InventoryFn: func(context.Context) (map[string]any, error) { return nil, &hostErr{cause.Error()} }}
	var out bytes.Buffer
	err = RunScript(context.Background(), path, h, &out)
	var se *ScriptError
	if err == nil || err.Error() != path+":11: profile source: throttled" || !errors.As(err, &he) || !errors.As(err, &se) || se.Line != 11 {
		t.Errorf("inventory error: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("the script went on: %q", out.String())
	}

	// pcall sees the error (tostring gives the message) and can rethrow it.
	path = writeScript(t, "local shuffle = require('shuffle')\n"+validConfig+`
local ok, e = pcall(shuffle.inventory)
print(ok, tostring(e))
error(e)
`)
	out.Reset()
	err = RunScript(context.Background(), path, h, &out)
	if err == nil || !errors.As(err, &he) || !strings.Contains(out.String(), "false\t"+path+":10: profile source: throttled") {
		t.Errorf("pcall: %v, output %q", err, out.String())
	}
}

func TestRunScriptOrderAndErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"local shuffle = require('shuffle')\nshuffle.inventory()\n", ":2: shuffle.inventory: call shuffle.config first"},
		{"local shuffle = require('shuffle')\n\nshuffle.decide()\n", ":3: shuffle.decide: call shuffle.config first"},
		{"local shuffle = require('shuffle')\n" + validConfig + validConfig, ":9: shuffle.config: called twice (first at line 2)"},
		{"require('shuffle').config('x')", ":1: shuffle.config: want a table, like shuffle.config{ source = {...}, ... }, got \"x\""},
		{"local x = 1\n\nlocal y = = 2\n", ":3: syntax error near '='"},
		{"local t = nil\nprint(t.x)\n", ":2: attempt to index a non-table object(nil) with key 'x'"},
		{"os.execute('rm -rf /')", ":1: os is not available in shuffle's Lua sandbox (no os, io, debug, coroutine or package library, and no loading of code or files)"},
		{"io.write('x')", ":1: io is not available in shuffle's Lua sandbox (no os, io, debug, coroutine or package library, and no loading of code or files)"},
		{"dofile('/etc/passwd')", ":1: dofile is not available in shuffle's Lua sandbox (no os, io, debug, coroutine or package library, and no loading of code or files)"},
		{"require('apmid')", ":1: require apmid: only the built-in modules (helpers, shuffle) are allowed"},
		{"require('testing')", ":1: require testing: the testing module is only available to policy tests (*_test.lua)"},
		{"error('stop here')", ":1: stop here"},
	} {
		path := writeScript(t, tc.src)
		err := RunScript(context.Background(), path, &fakeHost{}, &bytes.Buffer{})
		if err == nil || err.Error() != path+tc.want {
			t.Errorf("%q:\n got %v\nwant %s%s", tc.src, err, path, tc.want)
		}
	}
	// Globals and helpers work in scripts.
	path := writeScript(t, "count = 0\nlocal h = require('helpers')\nif h.has_prefix('prod-x', 'prod-') then count = count + 1 end\nprint(count)\n")
	var out bytes.Buffer
	if err := RunScript(context.Background(), path, &fakeHost{}, &out); err != nil || out.String() != "1\n" {
		t.Errorf("globals: %v, %q", err, out.String())
	}
	if err := RunScript(context.Background(), filepath.Join(t.TempDir(), "nope.lua"), &fakeHost{}, &out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing script: %v", err)
	}
}

func TestRunScriptCancel(t *testing.T) {
	path := writeScript(t, "while true do end\n")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	err := RunScript(ctx, path, &fakeHost{}, &bytes.Buffer{})
	var se *ScriptError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &se) || se.Line != 1 {
		t.Errorf("err = %v, want context.Canceled at line 1", err)
	}
}

// The example script runs unchanged against a host (the engine is
// tested against testenv elsewhere).
func TestExampleScript(t *testing.T) {
	h := &fakeHost{}
	var out bytes.Buffer
	if err := RunScript(context.Background(), "../examples/migrate.lua", h, &out); err != nil {
		t.Fatal(err)
	}
	if want := []string{"configure", "inventory", "enrich", "decide", "replicate", "copy max_in_flight=100 vault_cap=0 wait=true call_backoff=0"}; !reflect.DeepEqual(h.calls, want) {
		t.Errorf("calls %v", h.calls)
	}
	if h.cfg.Source.Profile != "source" || h.cfg.Destination.Account != "222222222222" || h.cfg.Metadata != "testenv-run/metadata.csv" ||
		!reflect.DeepEqual(h.cfg.Policies, scriptconfig.PolicyConfig{Dir: "policies", Decide: []string{"apmid"}, Vaults: "vaults", Tags: "tags", Compliance: "compliance"}) {
		t.Errorf("config %+v", h.cfg)
	}
	want := `inventory: 2000 recovery points in 14 vaults (20 partitions, 31 pages listed; 2000 new, 0 gone; 12 vaults listed from their newest, 2 whole)
enrich: 1900 matched, 100 without a metadata row, 12 with conflicting rows
decide: 1200 included, 600 excluded (0 failed), 200 ineligible; 2000 decided in this run
replicate: 2 created, 1 existing, 1 drifted, 0 blocked, 1 still creating, 0 skipped
copy: 5 started, 5 completed in this run (7 in all), 0 failed, 0 still running, 0 queued, 3 waiting for their vault
copy: 2 found in AWS and adopted (1 of them still running), 1 held as possibly copied already
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	// The policies it names load and pass their tests.
	if _, err := LoadPolicies(scriptconfig.PolicyConfig{Dir: "../policies", Decide: h.cfg.Policies.Decide, Vaults: h.cfg.Policies.Vaults, Tags: h.cfg.Policies.Tags}); err != nil {
		t.Error(err)
	}
}

// shuffle.copy reads its options table; an unknown field names itself.
func TestCopyOptions(t *testing.T) {
	path := writeScript(t, `local shuffle = require("shuffle")
`+validConfig+`
local c = shuffle.copy({ max_in_flight = 40, vault_cap = 5, wait = false, call_backoff = 0.5 })
print(c.completed)
`)
	h := &fakeHost{}
	var out bytes.Buffer
	if err := RunScript(context.Background(), path, h, &out); err != nil {
		t.Fatal(err)
	}
	if want := []string{"configure", "copy max_in_flight=40 vault_cap=5 wait=false call_backoff=0.5"}; !reflect.DeepEqual(h.calls, want) {
		t.Errorf("calls %v, want %v", h.calls, want)
	}
	bad := writeScript(t, `local shuffle = require("shuffle")
`+validConfig+`
shuffle.copy({ max_inflight = 40 })
`)
	err := RunScript(context.Background(), bad, &fakeHost{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "max_inflight") || !strings.Contains(err.Error(), "max_in_flight") {
		t.Errorf("unknown option: err = %v, want it to name max_inflight and list max_in_flight", err)
	}
	var se *ScriptError
	if !errors.As(err, &se) || se.Line != 10 {
		t.Errorf("unknown option: err = %v, want a ScriptError at line 10", err)
	}
}

// The script's own Lua work is bounded per stretch between two shuffle
// calls; the shuffle calls' time and allocations are not counted.
func TestRunScriptBudgets(t *testing.T) {
	defer func(b scriptconfig.Budgets) { ScriptBudgets = b }(ScriptBudgets)
	ScriptBudgets = scriptconfig.Budgets{Memory: 64 << 20, Time: 2 * time.Second, Instructions: 1e6}
	cfg := "local shuffle = require('shuffle')\n" + validConfig
	for _, tc := range []struct {
		src, want string
		budget    Budget
	}{
		{cfg + "local s = 'xxxxxxxx'\nwhile true do s = s .. s end\n", ":10: memory budget of 64 MiB exceeded", BudgetMemory},
		{cfg + "local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 1024 * 1024) end\n", ":10: memory budget of 64 MiB exceeded", BudgetMemory},
		{cfg + "local n = 0\nwhile true do n = n + 1 end\n", ":10: instruction budget of 1000000 instructions exceeded", BudgetInstructions},
	} {
		err := RunScript(context.Background(), writeScript(t, tc.src), &fakeHost{}, &bytes.Buffer{})
		var se *ScriptError
		var be *BudgetError
		if !errors.As(err, &se) || !errors.As(err, &be) || be.Budget != tc.budget || !strings.Contains(err.Error(), tc.want) ||
			!strings.Contains(err.Error(), "the script's own Lua work between two shuffle calls is bounded") {
			t.Errorf("%s: err = %v, want %q", tc.src[len(cfg):], err, tc.want)
		}
	}
	// A shuffle call that takes longer than the time budget and
	// allocates more than the memory budget, between stretches of Lua
	// that stay within them.
	var sink [][]byte
	host := &fakeHost{InventoryFn: func(ctx context.Context) (map[string]any, error) {
		for i := 0; i < 128; i++ {
			sink = append(sink, make([]byte, 1<<20))
		}
		time.Sleep(3 * time.Second)
		return map[string]any{"recovery_points": 1}, nil
	}}
	src := cfg + "local n = 0\nfor i = 1, 300000 do n = n + 1 end\nlocal inv = shuffle.inventory()\nfor i = 1, 300000 do n = n + 1 end\nprint(inv.recovery_points)\n"
	var out bytes.Buffer
	if err := RunScript(context.Background(), writeScript(t, src), host, &out); err != nil || out.String() != "1\n" {
		t.Errorf("a long shuffle call: %v, %q", err, out.String())
	}
	_ = sink
}
