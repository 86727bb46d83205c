package luabind

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// writeDir writes files into a new temporary directory and returns it.
func writeDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// decidePolicy is a module whose decide has body.
func decidePolicy(body string) string {
	return "local M = {}\nfunction M.decide(rp)\n" + body + "\nend\nreturn M\n"
}

func newWorker(t testing.TB, cfg scriptconfig.PolicyConfig) *Worker {
	t.Helper()
	p, err := LoadPolicies(cfg)
	if err != nil {
		t.Fatalf("LoadPolicies: %v", err)
	}
	w, err := p.NewWorker()
	if err != nil {
		t.Fatalf("NewWorker: %v", err)
	}
	t.Cleanup(w.Close)
	return w
}

func i64p(v int64) *int64 { return &v }

var sampleRP = &RPInput{
	Arn:          "arn:aws:ec2:us-east-1::snapshot/snap-0a1b2c3d4e5f60718",
	Vault:        "prod-ebs-daily",
	ResourceArn:  "arn:aws:ec2:us-east-1:111111111111:volume/vol-0123456789abcdef0",
	ResourceType: "EBS", ResourceName: "prod-payments-vol-0001", Status: "COMPLETED",
	CreationDate: time.Date(2025, 12, 1, 5, 12, 0, 0, time.UTC), SizeBytes: 1 << 30,
	DeleteAfterDays: i64p(35), EncryptionKeyArn: "arn:aws:kms:us-east-1:111111111111:key/46111edb-8873-4731-a6c8-78aae636e24c",
	HasMetadata: true,
	Metadata:    map[string]string{"apmid": "APM0001234", "application": "Payments Gateway", "costcenter": "CC-4100", "owner": "payments-team@example.com"},
}

func TestDecideOutcomes(t *testing.T) {
	for _, tc := range []struct {
		body string
		want Decision
	}{
		{`return "include", "APMID allowed"`, Decision{Include: true, Reason: "APMID allowed", Policy: "p"}},
		{`return "exclude", "APMID not allowed"`, Decision{Reason: "APMID not allowed", Policy: "p"}},
		{`return {decision = "include", reason = "table form"}`, Decision{Include: true, Reason: "table form", Policy: "p"}},
		{`return {decision = "exclude", reason = "table form"}`, Decision{Reason: "table form", Policy: "p"}},
		// A priority: a whole number, higher copied sooner.
		{`return {decision = "include", reason = "urgent", priority = 10}`, Decision{Include: true, Reason: "urgent", Policy: "p", Priority: 10}},
		{`return {decision = "include", reason = "later", priority = -3}`, Decision{Include: true, Reason: "later", Policy: "p", Priority: -3}},
		{`return {decision = "include", reason = "r", priority = "high"}`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned priority "high"; want a whole number from -1000000 to 1000000 (higher is copied sooner)`}},
		{`return {decision = "include", reason = "r", priority = 1.5}`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned priority the number 1.5; want a whole number from -1000000 to 1000000 (higher is copied sooner)`}},
		{`return {decision = "include", reason = "r", priority = 2e6}`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned priority the number 2000000; want a whole number from -1000000 to 1000000 (higher is copied sooner)`}},
		// Anything else fails, and the failure excludes.
		{`return nil`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned nil; want "include" or "exclude" and a reason`}},
		{`return`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned nil; want "include" or "exclude" and a reason`}},
		{`return 3`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned the number 3; want "include" or "exclude" and a reason`}},
		{`return true, "yes"`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned true; want "include" or "exclude" and a reason`}},
		{`return "inclde", "typo"`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned "inclde"; want "include" or "exclude" and a reason`}},
		{`return "INCLUDE", "case"`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned "INCLUDE"; want "include" or "exclude" and a reason`}},
		{`return "include"`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned "include" without a reason`}},
		{`return "exclude", 42`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned "exclude" with the number 42 as the reason; want a string`}},
		{`return "include", "  "`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned "include" with an empty reason`}},
		{`return {reason = "no decision"}`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned a table without a decision; want { decision = "include" or "exclude", reason = "..." }`}},
		{`return {decision = "include"}`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned "include" without a reason`}},
		{`return function() end`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: decide returned a function; want "include" or "exclude" and a reason`}},
		// Runtime errors keep file:line and lose the traceback.
		{`local x = nil
return x.y`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: p.lua:4: attempt to index a non-table object(nil) with key 'y'`}},
		{`error("no APMID column")`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: p.lua:3: no APMID column`}},
		{`error({})`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: table: `}},
		{`seen = true return "include", "x"`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: p.lua:3: assignment to undeclared global "seen" (declare it local)`}},
		{`return string.rep("x", 1e9)`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: p.lua:3: string.rep: result of 1000000000 bytes is over the 1 MiB limit`}},
		{`return os.exit(1)`, Decision{Failed: true, Policy: "p", Reason: `policy p failed: p.lua:3: os is not available in shuffle's Lua sandbox (no os, io, debug, coroutine or package library, and no loading of code or files)`}},
	} {
		w := newWorker(t, scriptconfig.PolicyConfig{Dir: writeDir(t, map[string]string{"p.lua": decidePolicy(tc.body)}), Decide: []string{"p"}})
		got := w.Decide(context.Background(), sampleRP)
		if strings.HasSuffix(tc.want.Reason, "table: ") && strings.HasPrefix(got.Reason, tc.want.Reason) {
			got.Reason = tc.want.Reason
		}
		if got != tc.want {
			t.Errorf("decide: %s\n got %+v\nwant %+v", tc.body, got, tc.want)
		}
	}
}

func TestDecideTimeoutFailsAndWorkerRecovers(t *testing.T) {
	dir := writeDir(t, map[string]string{"p.lua": decidePolicy(`
if rp.vault == "loop" then while true do end end
return "include", "fine"`)})
	for _, tc := range []struct {
		budgets scriptconfig.Budgets
		want    Decision
	}{
		{scriptconfig.Budgets{Time: 50 * time.Millisecond, Instructions: 1e15}, Decision{Failed: true, Policy: "p", Budget: BudgetTime,
			Reason: "policy p failed: " + filepath.Join(dir, "p.lua") + ":4: decide: time budget of 50ms exceeded; the policy is stopped and its Lua state rebuilt; if the policy needs more, raise policies.limits.time_ms in shuffle.config"}},
		{scriptconfig.Budgets{Time: time.Minute}, Decision{Failed: true, Policy: "p", Budget: BudgetInstructions,
			Reason: "policy p failed: " + filepath.Join(dir, "p.lua") + ":4: decide: instruction budget of 1000000 instructions exceeded; the policy is stopped and its Lua state rebuilt; if the policy needs more, raise policies.limits.instructions in shuffle.config"}},
	} {
		w := newWorker(t, scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"p"}, Budgets: tc.budgets})
		start := time.Now()
		got := w.Decide(context.Background(), &RPInput{Vault: "loop"})
		if got != tc.want {
			t.Errorf("got  %+v\nwant %+v", got, tc.want)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %s", d)
		}
		if w.s != nil {
			t.Error("the worker kept the Lua state a budget stopped")
		}
		if got := w.Decide(context.Background(), &RPInput{Vault: "ok"}); !got.Include || got.Failed {
			t.Errorf("after a timeout: %+v", got)
		}
	}
}

func TestDecideCancelledContext(t *testing.T) {
	w := newWorker(t, scriptconfig.PolicyConfig{Dir: writeDir(t, map[string]string{"p.lua": decidePolicy(`while true do end`)}), Decide: []string{"p"}, Budgets: scriptconfig.Budgets{Time: time.Minute, Instructions: 1e15}})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	got := w.Decide(ctx, sampleRP)
	if !got.Failed || !strings.Contains(got.Reason, "context canceled") {
		t.Errorf("got %+v", got)
	}
}

func TestDecideOrder(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"a.lua":  decidePolicy(`return "include", "a includes"`),
		"b.lua":  decidePolicy(`if rp.vault == "v" then return "exclude", "b excludes" end return "include", "b includes"`),
		"c.lua":  decidePolicy(`error("c must not run after an exclude")`),
		"ok.lua": decidePolicy(`return "include", "ok includes"`),
	})
	for _, tc := range []struct {
		decide []string
		vault  string
		want   Decision
	}{
		{[]string{"a", "b", "c"}, "v", Decision{Reason: "b excludes", Policy: "b"}},
		{[]string{"a", "b", "ok"}, "w", Decision{Include: true, Reason: "ok includes", Policy: "ok"}},
		{[]string{"a", "c", "b"}, "v", Decision{Failed: true, Reason: "policy c failed: c.lua:3: c must not run after an exclude", Policy: "c"}},
	} {
		w := newWorker(t, scriptconfig.PolicyConfig{Dir: dir, Decide: tc.decide})
		if got := w.Decide(context.Background(), &RPInput{Vault: tc.vault}); got != tc.want {
			t.Errorf("%v on vault %s: got %+v, want %+v", tc.decide, tc.vault, got, tc.want)
		}
	}
}

// The rp table has the documented fields.
func TestDecideRPTable(t *testing.T) {
	dir := writeDir(t, map[string]string{"p.lua": decidePolicy(`
local parts = {}
for _, k in ipairs({"arn", "vault", "resource_arn", "resource_type", "resource_name", "status", "created", "created_iso",
                    "size", "delete_after_days", "cold_after_days", "encryption_key_arn", "has_metadata", "apmid"}) do
  parts[#parts + 1] = k .. "=" .. tostring(rp[k])
end
parts[#parts + 1] = "metadata.costcenter=" .. tostring(rp.metadata.costcenter)
parts[#parts + 1] = "blank.owner=" .. tostring(rp.blank.owner)
if rp.conflict then
  parts[#parts + 1] = "conflict=" .. rp.conflict.field .. ":" .. table.concat(rp.conflict.values, "/") .. "@" .. table.concat(rp.conflict.lines, ",")
end
return "include", table.concat(parts, " ")`)})
	w := newWorker(t, scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"p"}})
	rp := *sampleRP
	rp.Metadata = map[string]string{"APMID": "APM0001234", "CostCenter": "CC-4100", "owner": ""}
	rp.Blank = map[string]bool{"Owner": true}
	rp.Conflict = &ConflictInput{Field: "APMID", Values: []string{"APM0001234", "APM0002045"}, Lines: []int{3, 9}}
	got := w.Decide(context.Background(), &rp)
	want := "arn=arn:aws:ec2:us-east-1::snapshot/snap-0a1b2c3d4e5f60718 vault=prod-ebs-daily " +
		"resource_arn=arn:aws:ec2:us-east-1:111111111111:volume/vol-0123456789abcdef0 resource_type=EBS " +
		"resource_name=prod-payments-vol-0001 status=COMPLETED created=1764565920 created_iso=2025-12-01T05:12:00Z " +
		"size=1073741824 delete_after_days=35 cold_after_days=nil " +
		"encryption_key_arn=arn:aws:kms:us-east-1:111111111111:key/46111edb-8873-4731-a6c8-78aae636e24c " +
		"has_metadata=true apmid=APM0001234 metadata.costcenter=CC-4100 blank.owner=true " +
		"conflict=apmid:APM0001234/APM0002045@3,9"
	if got.Reason != want {
		t.Errorf("rp table:\n got %s\nwant %s", got.Reason, want)
	}
	// Without metadata: empty tables, no apmid.
	got = w.Decide(context.Background(), &RPInput{Vault: "v"})
	if !strings.Contains(got.Reason, "has_metadata=false apmid=nil metadata.costcenter=nil blank.owner=nil") {
		t.Errorf("rp table without metadata: %s", got.Reason)
	}
}

// The rp table is read-only, iterable, and nothing of one recovery point
// leaks into the next (the tables are reused per state).
func TestDecideRPTableReadOnlyAndReused(t *testing.T) {
	dir := writeDir(t, map[string]string{"p.lua": decidePolicy(`
if rp.vault == "write" then rp.apmid = "APM0001234" end
if rp.vault == "write-md" then rp.metadata.apmid = "APM0001234" end
local keys = {}
for k in pairs(rp.metadata) do keys[#keys + 1] = k end
table.sort(keys)
local fields = 0
for _ in pairs(rp) do fields = fields + 1 end
return "include", table.concat(keys, ",") .. " blank.owner=" .. tostring(rp.blank.owner) ..
  " conflict=" .. tostring(rp.conflict ~= nil) .. " apmid=" .. tostring(rp.apmid) .. " fields=" .. fields .. " size=" .. rp.size`)})
	w := newWorker(t, scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"p"}})
	ctx := context.Background()
	for _, tc := range []struct {
		rp   *RPInput
		want string
	}{
		{&RPInput{Vault: "write"}, `policy p failed: p.lua:4: rp is read-only (copy what you need into a local table)`},
		{&RPInput{Vault: "write-md"}, `policy p failed: p.lua:5: rp.metadata is read-only (copy what you need into a local table)`},
		{&RPInput{Vault: "a", SizeBytes: 5, HasMetadata: true, Metadata: map[string]string{"apmid": "APM1", "owner": ""}, Blank: map[string]bool{"owner": true},
			Conflict: &ConflictInput{Field: "owner", Values: []string{"a", "b"}, Lines: []int{2, 3}}},
			"apmid,owner blank.owner=true conflict=true apmid=APM1 fields=7 size=5"},
		{&RPInput{Vault: "b"}, " blank.owner=nil conflict=false apmid=nil fields=5 size=0"},
		{&RPInput{Vault: "c", HasMetadata: true, Metadata: map[string]string{"costcenter": "CC-1"}}, "costcenter blank.owner=nil conflict=false apmid=nil fields=5 size=0"},
	} {
		got := w.Decide(ctx, tc.rp)
		if got.Reason != tc.want {
			t.Errorf("vault %s: got %q, want %q", tc.rp.Vault, got.Reason, tc.want)
		}
	}
}

func TestDecideLongReasonIsCapped(t *testing.T) {
	w := newWorker(t, scriptconfig.PolicyConfig{Dir: writeDir(t, map[string]string{"p.lua": decidePolicy(`return "exclude", string.rep("é", 2000)`)}), Decide: []string{"p"}})
	got := w.Decide(context.Background(), sampleRP)
	if len(got.Reason) > maxReason || !strings.HasSuffix(got.Reason, "é...") {
		t.Errorf("reason of %d bytes ending %q", len(got.Reason), got.Reason[len(got.Reason)-8:])
	}
}

func TestLoadPoliciesErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		files  map[string]string
		cfg    scriptconfig.PolicyConfig
		want   string // the error, with DIR for the directory
		syntax bool
	}{
		{"syntax error", map[string]string{"p.lua": "local M = {}\nfunction M.decide(rp)\n  return = 1\nend\nreturn M\n"},
			scriptconfig.PolicyConfig{Decide: []string{"p"}}, "DIR/p.lua:3: syntax error near '='", true},
		{"unterminated", map[string]string{"p.lua": "local M = {}\nfunction M.decide(rp)\n  return 'x\nend\n"},
			scriptconfig.PolicyConfig{Decide: []string{"p"}}, "DIR/p.lua:3: unterminated string near 'x'", true},
		{"missing end", map[string]string{"p.lua": "local M = {}\nfunction M.decide(rp)\nreturn M\n"},
			scriptconfig.PolicyConfig{Decide: []string{"p"}}, "DIR/p.lua:3: syntax error at end of file", true},
		{"syntax error in an unused module", map[string]string{"p.lua": decidePolicy(`return "include", "x"`), "lib.lua": "return {"},
			scriptconfig.PolicyConfig{Decide: []string{"p"}}, "DIR/lib.lua:1: syntax error at end of file", true},
		{"runtime error at load", map[string]string{"p.lua": "local M = {}\nlocal x = nil\nM.y = x.z\nreturn M\n"},
			scriptconfig.PolicyConfig{Decide: []string{"p"}}, "DIR/p.lua:3: attempt to index a non-table object(nil) with key 'z'", false},
		{"global at load", map[string]string{"p.lua": "function decide(rp) return 'include', 'x' end\n"},
			scriptconfig.PolicyConfig{Decide: []string{"p"}}, `DIR/p.lua:1: assignment to undeclared global "decide" (declare it local)`, false},
		{"loop at load", map[string]string{"p.lua": "while true do end\n"},
			scriptconfig.PolicyConfig{Decide: []string{"p"}, Timeout: time.Minute}, "DIR/p.lua:1: loading the module: instruction budget of 1000000 instructions exceeded; the policy is stopped and its Lua state rebuilt; if the policy needs more, raise policies.limits.instructions in shuffle.config", false},
		{"loop at load, time", map[string]string{"p.lua": "while true do end\n"},
			scriptconfig.PolicyConfig{Decide: []string{"p"}, Budgets: scriptconfig.Budgets{Time: 20 * time.Millisecond, Instructions: 1e15}}, "DIR/p.lua:1: loading the module: time budget of 20ms exceeded; the policy is stopped and its Lua state rebuilt; if the policy needs more, raise policies.limits.time_ms in shuffle.config", false},
		{"error in a required module", map[string]string{"p.lua": "local lib = require('lib')\nreturn {decide = lib.decide}\n", "lib.lua": "\nerror('lib is broken')\n"},
			scriptconfig.PolicyConfig{Decide: []string{"p"}}, "DIR/p.lua: lib.lua:2: lib is broken", false},
		{"no table", map[string]string{"p.lua": "return 42\n"},
			scriptconfig.PolicyConfig{Decide: []string{"p"}}, "DIR/p.lua: the module returns the number 42; it must return a table with a decide function, like: return { decide = function(...) ... end }", false},
		{"no function", map[string]string{"p.lua": "return { decid = function() end }\n"},
			scriptconfig.PolicyConfig{Decide: []string{"p"}}, "DIR/p.lua: the module's table has no decide function (it has decid)", false},
		{"no map function", map[string]string{"p.lua": decidePolicy(`return "include", "x"`), "v.lua": "return { mapp = 1 }"},
			scriptconfig.PolicyConfig{Decide: []string{"p"}, Vaults: "v"}, "DIR/v.lua: the module's table has no map function (it has mapp)", false},
		{"missing module", map[string]string{"p.lua": decidePolicy(`return "include", "x"`)},
			scriptconfig.PolicyConfig{Decide: []string{"p"}, Tags: "tags"}, "policies: tags module \"tags\" not found: no DIR/tags.lua", false},
		{"test files are not modules", map[string]string{"p_test.lua": decidePolicy(`return "include", "x"`)},
			scriptconfig.PolicyConfig{Decide: []string{"p_test"}}, "policies: decide module \"p_test\" not found: no DIR/p_test.lua", false},
		{"no decide", map[string]string{}, scriptconfig.PolicyConfig{}, `policies: no decide module configured; name at least one (e.g. decide = {"apmid"})`, false},
		{"bad name", map[string]string{}, scriptconfig.PolicyConfig{Decide: []string{"../etc/passwd"}},
			`policies: decide module "../etc/passwd": names are letters, digits and _ only (the file name without .lua)`, false},
		{"twice", map[string]string{}, scriptconfig.PolicyConfig{Decide: []string{"a", "a"}}, `policies: decide module "a" is listed twice`, false},
	} {
		dir := writeDir(t, tc.files)
		tc.cfg.Dir = dir
		_, err := LoadPolicies(tc.cfg)
		want := strings.ReplaceAll(tc.want, "DIR", dir)
		if err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", tc.name, err, want)
		}
		var se *SyntaxError
		if errors.As(err, &se) != tc.syntax {
			t.Errorf("%s: errors.As(*SyntaxError) = %v", tc.name, !tc.syntax)
		}
	}
	if _, err := LoadPolicies(scriptconfig.PolicyConfig{Dir: filepath.Join(t.TempDir(), "nope"), Decide: []string{"p"}}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
}

func TestPolicyHash(t *testing.T) {
	files := map[string]string{
		"p.lua":      decidePolicy(`return "include", "x"`),
		"p_test.lua": "function TestX() end",
		"notes.txt":  "not lua",
	}
	hash := func(files map[string]string, cfg scriptconfig.PolicyConfig) string {
		cfg.Dir = writeDir(t, files)
		p, err := LoadPolicies(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p.Hash
	}
	cfg := scriptconfig.PolicyConfig{Decide: []string{"p"}}
	base := hash(files, cfg)
	if len(base) != 64 {
		t.Fatalf("hash %q", base)
	}
	if h := hash(files, cfg); h != base {
		t.Errorf("same content, other directory: %s != %s", h, base)
	}
	if h := hash(files, scriptconfig.PolicyConfig{Decide: []string{"p"}, Timeout: time.Second}); h != base {
		t.Error("the timeout changed the hash")
	}
	with := func(name, src string) map[string]string {
		m := map[string]string{}
		for k, v := range files {
			m[k] = v
		}
		m[name] = src
		return m
	}
	if h := hash(with("p_test.lua", "function TestY() end"), cfg); h != base {
		t.Error("a test file changed the hash")
	}
	if h := hash(with("notes.txt", "other"), cfg); h != base {
		t.Error("a non-Lua file changed the hash")
	}
	for name, h := range map[string]string{
		"changed policy": hash(with("p.lua", decidePolicy(`return "include", "y"`)), cfg),
		"added module":   hash(with("lib.lua", "return {}"), cfg),
		"other config":   hash(with("q.lua", decidePolicy(`return "include", "y"`)), scriptconfig.PolicyConfig{Decide: []string{"p", "q"}}),
	} {
		if h == base {
			t.Errorf("%s: hash unchanged", name)
		}
	}
}

func TestMapVault(t *testing.T) {
	ctx := context.Background()
	src := &VaultInput{Name: "prod-ebs-daily", EncryptionKeyArn: "arn:aws:kms:us-east-1:111111111111:key/a", Tags: map[string]string{"Environment": "prod"},
		EncryptionKeyAlias: "ebs-data", EncryptionKeyAliases: []string{"ebs-data", "ebs-old"}}
	dir := writeDir(t, map[string]string{"p.lua": decidePolicy(`return "include", "x"`)})

	// No vaults module: like-for-like.
	w := newWorker(t, scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"p"}})
	m, err := w.MapVault(ctx, src)
	if want := (VaultMapping{Name: "prod-ebs-daily", Tags: map[string]string{"Environment": "prod"}}); err != nil || !reflect.DeepEqual(m, want) {
		t.Errorf("default mapping = %+v, %v; want %+v", m, err, want)
	}

	for _, tc := range []struct {
		body string
		want VaultMapping
		err  string
	}{
		{`return {}`, VaultMapping{Name: "prod-ebs-daily", Tags: map[string]string{"Environment": "prod"}}, ""},
		{`return {name = "dst-" .. vault.name, encryption_key_arn = "arn:aws:kms:us-east-1:222222222222:key/b",
		  sns_topic_arn = "arn:aws:sns:us-east-1:222222222222:backup-events", compliance_lock = true, reconcile = true, tags = {Team = vault.tags.Environment}}`,
			VaultMapping{Name: "dst-prod-ebs-daily", EncryptionKey: "arn:aws:kms:us-east-1:222222222222:key/b",
				SNSTopicArn: "arn:aws:sns:us-east-1:222222222222:backup-events", ComplianceLock: true, Reconcile: true, Tags: map[string]string{"Team": "prod"}}, ""},
		{`return {skip = true, reason = "decommissioned", tags = {}}`, VaultMapping{Name: "prod-ebs-daily", Skip: true, Reason: "decommissioned", Tags: map[string]string{}}, ""},
		{`return nil`, VaultMapping{}, "policy v failed: map returned nil; want a table like { name = vault.name }"},
		{`return {encryption_key = "alias/" .. vault.encryption_key_alias .. "-" .. #vault.encryption_key_aliases}`, VaultMapping{Name: "prod-ebs-daily", EncryptionKey: "alias/ebs-data-2", Tags: map[string]string{"Environment": "prod"}}, ""},
		{`return {encryption_key = "arn:aws:kms:us-east-1:222222222222:alias/ebs-data"}`, VaultMapping{Name: "prod-ebs-daily", EncryptionKey: "arn:aws:kms:us-east-1:222222222222:alias/ebs-data", Tags: map[string]string{"Environment": "prod"}}, ""},
		{`return {encryption_key_arn = "alias/backup"}`, VaultMapping{Name: "prod-ebs-daily", EncryptionKey: "alias/backup", Tags: map[string]string{"Environment": "prod"}}, ""},
		{`return {nmae = "x"}`, VaultMapping{}, `policy v failed: map returned an unknown field "nmae" (known: name, encryption_key, encryption_key_arn, sns_topic_arn, skip, reason, compliance_lock, reconcile, tags, lock)`},
		{`return {name = "bad name!"}`, VaultMapping{}, `policy v failed: map returned name "bad name!"; a vault name is 2 to 50 letters, digits, - and _`},
		{`return {name = 7}`, VaultMapping{}, `policy v failed: map returned the number 7 as name; want a string`},
		{`return {encryption_key = "backup-vault-prod"}`, VaultMapping{}, `policy v failed: map returned encryption_key "backup-vault-prod"; want alias/NAME, an alias ARN (arn:aws:kms:REGION:ACCOUNT:alias/NAME) or a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)`},
		{`return {encryption_key = "alias/a", encryption_key_arn = "alias/a"}`, VaultMapping{}, `policy v failed: map returned both encryption_key and encryption_key_arn; return one (they take the same forms)`},
		{`return {skip = true}`, VaultMapping{}, `policy v failed: map returned skip = true without a reason`},
		{`return {skip = "yes"}`, VaultMapping{}, `policy v failed: map returned "yes" as skip; want true or false`},
		{`return {tags = {CostCenter = 4100}}`, VaultMapping{}, `policy v failed: map returned tags the number 4100 for tag "CostCenter"; tag values are strings (use tostring)`},
		{`return {tags = {["aws:x"] = "y"}}`, VaultMapping{}, `policy v failed: map returned tags tag name "aws:x"; the aws: prefix is reserved`},
		{`error("no mapping for " .. vault.name)`, VaultMapping{}, `policy v failed: v.lua:2: no mapping for prod-ebs-daily`},
	} {
		vdir := writeDir(t, map[string]string{"p.lua": decidePolicy(`return "include", "x"`), "v.lua": "local M = {}\nfunction M.map(vault) " + tc.body + " end\nreturn M\n"})
		w := newWorker(t, scriptconfig.PolicyConfig{Dir: vdir, Decide: []string{"p"}, Vaults: "v"})
		m, err := w.MapVault(ctx, src)
		if tc.err != "" {
			var pe *PolicyError
			if err == nil || err.Error() != tc.err || !errors.As(err, &pe) || pe.Policy != "v" {
				t.Errorf("map %s: err = %v, want %s", tc.body, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(m, tc.want) {
			t.Errorf("map %s:\n got %+v, %v\nwant %+v", tc.body, m, err, tc.want)
		}
	}
}

func TestTags(t *testing.T) {
	ctx := context.Background()
	w := newWorker(t, scriptconfig.PolicyConfig{Dir: writeDir(t, map[string]string{"p.lua": decidePolicy(`return "include", "x"`)}), Decide: []string{"p"}})
	if tags, err := w.Tags(ctx, sampleRP); tags != nil || err != nil {
		t.Errorf("no tags module: %v, %v", tags, err)
	}
	for _, tc := range []struct {
		body string
		want map[string]string
		err  string
	}{
		{`return {APMID = rp.apmid, Vault = rp.vault}`, map[string]string{"APMID": "APM0001234", "Vault": "prod-ebs-daily"}, ""},
		{`return nil`, nil, ""},
		{`return "APMID"`, nil, `policy t failed: tags returned "APMID"; want a table of tag names to string values`},
		{`return {[1] = "x"}`, nil, `policy t failed: tags returned a tag named by the number 1; tag names are strings`},
		{`return {Size = rp.size}`, nil, `policy t failed: tags returned the number 1073741824 for tag "Size"; tag values are strings (use tostring)`},
		{`return {Big = string.rep("x", 300)}`, nil, `policy t failed: tags returned a value of 300 bytes for tag "Big"; the limit is 256`},
		{`local t = {} for i = 1, 51 do t["k" .. i] = "v" end return t`, nil, `policy t failed: tags returned 51 tags; AWS allows 50`},
	} {
		dir := writeDir(t, map[string]string{"p.lua": decidePolicy(`return "include", "x"`), "t.lua": "return { tags = function(rp) " + tc.body + " end }"})
		w := newWorker(t, scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"p"}, Tags: "t"})
		tags, err := w.Tags(ctx, sampleRP)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("tags %s: err = %v, want %s", tc.body, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(tags, tc.want) {
			t.Errorf("tags %s = %v, %v; want %v", tc.body, tags, err, tc.want)
		}
	}
}

// Workers share the compiled policies and nothing else.
func TestWorkersConcurrently(t *testing.T) {
	p, err := LoadPolicies(scriptconfig.PolicyConfig{Dir: "../policies", Decide: []string{"apmid"}, Vaults: "vaults", Tags: "tags"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := p.NewWorker()
			if err != nil {
				errs <- err
				return
			}
			defer w.Close()
			for range 200 {
				if d := w.Decide(context.Background(), sampleRP); !d.Include {
					errs <- errors.New(d.Reason)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// The shipped policies on recovery points like testenv's.
func TestShippedPolicies(t *testing.T) {
	ctx := context.Background()
	w := newWorker(t, scriptconfig.PolicyConfig{Dir: "../policies", Decide: []string{"apmid"}, Vaults: "vaults", Tags: "tags"})
	rp := func(md map[string]string, blank map[string]bool, c *ConflictInput) *RPInput {
		r := *sampleRP
		r.HasMetadata, r.Metadata, r.Blank, r.Conflict = md != nil, md, blank, c
		return &r
	}
	for _, tc := range []struct {
		rp   *RPInput
		want Decision
	}{
		{rp(map[string]string{"apmid": "APM0001234"}, nil, nil), Decision{Include: true, Reason: "APMID APM0001234 is allowed", Policy: "apmid"}},
		{rp(map[string]string{"apmid": "APM0003002"}, nil, nil), Decision{Reason: "APMID APM0003002 is not in the allow set", Policy: "apmid"}},
		{rp(map[string]string{"apmid": ""}, nil, nil), Decision{Reason: "APMID missing", Policy: "apmid"}},
		{rp(map[string]string{"application": "x"}, nil, nil), Decision{Reason: "APMID missing", Policy: "apmid"}},
		{rp(map[string]string{"apmid": ""}, map[string]bool{"apmid": true}, nil), Decision{Reason: "APMID blank", Policy: "apmid"}},
		{rp(nil, nil, nil), Decision{Reason: "no metadata row for resource", Policy: "apmid"}},
		{rp(map[string]string{"apmid": "APM0001234"}, nil, &ConflictInput{Field: "apmid", Values: []string{"APM0001234", "APM0002045"}, Lines: []int{17, 912}}),
			Decision{Reason: `conflicting metadata rows for apmid ("APM0001234", "APM0002045") on lines 17, 912`, Policy: "apmid"}},
	} {
		if got := w.Decide(ctx, tc.rp); got != tc.want {
			t.Errorf("Decide(%v, blank %v, conflict %v) = %+v, want %+v", tc.rp.Metadata, tc.rp.Blank, tc.rp.Conflict, got, tc.want)
		}
	}
	m, err := w.MapVault(ctx, &VaultInput{Name: "prod-rds-monthly", EncryptionKeyArn: "arn:aws:kms:us-east-1:111111111111:key/46a4d7ac-187b-49fe-a18d-d5ed3115be2d",
		EncryptionKeyAlias: "backup-vault-prod", EncryptionKeyAliases: []string{"backup-vault-prod", "prod-legacy"},
		Tags: map[string]string{"Environment": "prod"}, Locked: true})
	want := VaultMapping{Name: "prod-rds-monthly", EncryptionKey: "alias/backup-vault-prod", Tags: map[string]string{"Environment": "prod"}}
	if err != nil || !reflect.DeepEqual(m, want) {
		t.Errorf("MapVault = %+v, %v; want %+v", m, err, want)
	}
	// An AWS managed key has no customer alias: unmapped.
	m, err = w.MapVault(ctx, &VaultInput{Name: "Default", EncryptionKeyArn: "arn:aws:kms:us-east-1:111111111111:key/4e7f850e-f9f3-4f75-80e3-9077ea60c29d"})
	if err != nil || m.EncryptionKey != "" {
		t.Errorf("MapVault(Default) = %+v, %v; want no key", m, err)
	}
	tags, err := w.Tags(ctx, sampleRP)
	wantTags := map[string]string{"APMID": "APM0001234", "Application": "Payments Gateway", "CostCenter": "CC-4100", "shuffle:source-vault": "prod-ebs-daily"}
	if err != nil || !reflect.DeepEqual(tags, wantTags) {
		t.Errorf("Tags = %v, %v; want %v", tags, err, wantTags)
	}
}

// BenchmarkDecide is the cost of deciding one recovery point with the
// shipped apmid policy, including building the rp table.
func BenchmarkDecide(b *testing.B) {
	p, err := LoadPolicies(scriptconfig.PolicyConfig{Dir: "../policies", Decide: []string{"apmid"}})
	if err != nil {
		b.Fatal(err)
	}
	w, err := p.NewWorker()
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d := w.Decide(ctx, sampleRP); !d.Include {
			b.Fatal(d.Reason)
		}
	}
}
