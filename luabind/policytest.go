package luabind

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// testTimeout is the time limit of one Test function, as in OPA.
const testTimeout = 5 * time.Second

// testBudgets bound one Test function, with the policy calls it makes
// (testing.decide).
var testBudgets = scriptconfig.Budgets{Memory: 256 << 20, Time: testTimeout}

// testingFuncs is the testing module of policy tests. Every Lua
// signature is in shuffle.d.lua.
var testingFuncs = map[string]lua.LGFunction{
	"decide":     testingDecide,
	"map":        testingMap,
	"tags":       testingTags,
	"compliance": testingCompliance,
	"eq":         testingEq,
	"ok":         testingOk,
}

// testRunner is the state of one test file, the upvalue of every
// testing function.
type testRunner struct {
	s     *sandbox
	trace []string
}

func runnerOf(L *lua.LState) *testRunner {
	return L.CheckUserData(lua.UpvalueIndex(1)).Value.(*testRunner)
}

// RunPolicyTests runs the policy tests in dir, OPA style: every
// *_test.lua file is loaded into a fresh sandbox, where require loads
// the policy modules of dir and the testing module, and each of its
// global functions whose name starts with Test runs, in name order,
// with a time limit of 5s. Failures are written to out as
//
//	FAIL: apmid_test.lua: TestBlankDenied: apmid_test.lua:12: expected "exclude", got "include"
//
// followed by a summary line. With explain, every test is listed with
// the policy calls it made, their key inputs and their results. err is
// set when dir cannot be read or a file in it does not compile.
func RunPolicyTests(dir string, explain bool, out io.Writer) (passed, failed int, err error) {
	protos, _, err := compileDir(dir)
	if err != nil {
		return 0, 0, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*_test.lua"))
	if err != nil {
		return 0, 0, err
	}
	if len(files) == 0 {
		return 0, 0, fmt.Errorf("policy test: no *_test.lua files in %s", dir)
	}
	sort.Strings(files)
	for _, path := range files {
		p, f, err := runTestFile(dir, path, protos, explain, out)
		passed += p
		failed += f
		if err != nil {
			return passed, failed, err
		}
	}
	fmt.Fprintf(out, "%d passed, %d failed\n", passed, failed)
	return passed, failed, nil
}

func runTestFile(dir, path string, protos map[string]*lua.FunctionProto, explain bool, out io.Writer) (passed, failed int, err error) {
	name := filepath.Base(path)
	src, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	proto, err := compile(src, name, path)
	if err != nil {
		return 0, 0, err
	}
	r := &testRunner{}
	var mod *lua.LTable
	s := newSandbox(Options{
		Dir:     dir,
		Modules: protos,
		Preload: map[string]lua.LGFunction{"testing": func(L *lua.LState) int { L.Push(mod); return 1 }},
		Print:   out,
		Strict:  true,
	})
	defer s.L.Close()
	defer s.release()
	r.s = s
	L := s.L
	ud := L.NewUserData()
	ud.Value = r
	mod = L.SetFuncs(L.NewTable(), testingFuncs, ud)

	// The test file's globals (its Test functions) live in their own
	// table, so the strict globals of the policies stay strict.
	env := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", L.G.Global)
	L.SetMetatable(env, mt)
	chunk := L.NewFunctionFromProto(proto)
	chunk.Env = env
	if _, err := s.call(context.Background(), testBudgets, chunk, 0); err != nil {
		fmt.Fprintf(out, "FAIL: %s: %s\n", name, err)
		return 0, 1, nil
	}

	var tests []string
	env.ForEach(func(k, v lua.LValue) {
		if ks, ok := k.(lua.LString); ok && strings.HasPrefix(string(ks), "Test") && v.Type() == lua.LTFunction {
			tests = append(tests, string(ks))
		}
	})
	sort.Strings(tests)
	for _, test := range tests {
		r.trace = r.trace[:0]
		_, err := s.call(context.Background(), testBudgets, env.RawGetString(test), 0, mod)
		if err != nil {
			failed++
			fmt.Fprintf(out, "FAIL: %s: %s: %s\n", name, test, err)
		} else {
			passed++
			if explain {
				fmt.Fprintf(out, "PASS: %s: %s\n", name, test)
			}
		}
		if explain {
			for _, line := range r.trace {
				fmt.Fprintf(out, "    %s\n", line)
			}
		}
	}
	return passed, failed, nil
}

// policyFunc loads module and returns its function fn, raising a Lua
// error if it has none.
func (r *testRunner) policyFunc(L *lua.LState, caller, module, fn string) *lua.LFunction {
	mod := r.s.require(L, module)
	t, ok := mod.(*lua.LTable)
	if !ok {
		L.RaiseError("%s: module %s returns %s, not a table", caller, module, describe(mod))
	}
	f, ok := t.RawGetString(fn).(*lua.LFunction)
	if !ok {
		L.RaiseError("%s: module %s has no %s function", caller, module, fn)
	}
	return f
}

// pcallIn calls fn inside the running test, catching its errors.
func pcallIn(L *lua.LState, fn lua.LValue, nret int, args ...lua.LValue) ([]lua.LValue, string) {
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	if err := L.PCall(len(args), nret, nil); err != nil {
		return nil, errorMessage(err)
	}
	rets := make([]lua.LValue, nret)
	for i := range rets {
		rets[i] = L.Get(-nret + i)
	}
	L.Pop(nret)
	return rets, ""
}

// testingDecide is testing.decide(module, rp) -> decision, reason:
// module's decide on rp, normalised as the engine does. decision is
// "include", "exclude" or "failed".
func testingDecide(L *lua.LState) int {
	r := runnerOf(L)
	module := L.CheckString(1)
	rp := checkRP(L, 2)
	fn := r.policyFunc(L, "testing.decide", module, "decide")
	word, reason := "failed", ""
	if rets, msg := pcallIn(L, fn, 2, r.s.rp(rp)); msg != "" {
		reason = (&PolicyError{Policy: module, Msg: msg}).Error()
	} else if include, why, problem := decisionOf(rets[0], rets[1]); problem != "" {
		reason = (&PolicyError{Policy: module, Msg: problem}).Error()
	} else {
		word, reason = "exclude", why
		if include {
			word = "include"
		}
	}
	r.trace = append(r.trace, fmt.Sprintf("decide %s %s -> %s: %s", module, rpSummary(rp), word, reason))
	L.Push(lua.LString(word))
	L.Push(lua.LString(reason))
	return 2
}

// testingMap is testing.map(module, vault) -> mapping | nil, reason:
// module's map on vault, validated and with defaults filled in as the
// engine does.
func testingMap(L *lua.LState) int {
	r := runnerOf(L)
	module := L.CheckString(1)
	v := checkVault(L, 2)
	fn := r.policyFunc(L, "testing.map", module, "map")
	rets, msg := pcallIn(L, fn, 1, vaultTable(L, v))
	var m VaultMapping
	if msg == "" {
		m, msg = mappingOf(rets[0], v)
	}
	if msg != "" {
		reason := (&PolicyError{Policy: module, Msg: msg}).Error()
		r.trace = append(r.trace, fmt.Sprintf("map %s {name=%q} -> failed: %s", module, v.Name, reason))
		L.Push(lua.LNil)
		L.Push(lua.LString(reason))
		return 2
	}
	t := L.CreateTable(0, 8)
	t.RawSetString("name", lua.LString(m.Name))
	if m.EncryptionKey != "" {
		t.RawSetString("encryption_key", lua.LString(m.EncryptionKey))
	}
	if m.SNSTopicArn != "" {
		t.RawSetString("sns_topic_arn", lua.LString(m.SNSTopicArn))
	}
	t.RawSetString("skip", lua.LBool(m.Skip))
	if m.Reason != "" {
		t.RawSetString("reason", lua.LString(m.Reason))
	}
	t.RawSetString("compliance_lock", lua.LBool(m.ComplianceLock))
	t.RawSetString("reconcile", lua.LBool(m.Reconcile))
	t.RawSetString("tags", stringMap(L, m.Tags))
	if l := m.Lock; l != nil {
		lt := L.CreateTable(0, 3)
		lt.RawSetString("mode", lua.LString(l.Mode))
		if l.MinRetentionDays != nil {
			lt.RawSetString("min_retention_days", lua.LNumber(*l.MinRetentionDays))
		}
		if l.MaxRetentionDays != nil {
			lt.RawSetString("max_retention_days", lua.LNumber(*l.MaxRetentionDays))
		}
		t.RawSetString("lock", lt)
	}
	r.trace = append(r.trace, fmt.Sprintf("map %s {name=%q} -> %s", module, v.Name, show(t, 2)))
	L.Push(t)
	return 1
}

// testingTags is testing.tags(module, rp) -> tags | nil, reason.
func testingTags(L *lua.LState) int {
	r := runnerOf(L)
	module := L.CheckString(1)
	rp := checkRP(L, 2)
	fn := r.policyFunc(L, "testing.tags", module, "tags")
	rets, msg := pcallIn(L, fn, 1, r.s.rp(rp))
	var tags map[string]string
	if msg == "" {
		tags, msg = tagsOf(rets[0], "tags returned")
	}
	if msg != "" {
		reason := (&PolicyError{Policy: module, Msg: msg}).Error()
		r.trace = append(r.trace, fmt.Sprintf("tags %s %s -> failed: %s", module, rpSummary(rp), reason))
		L.Push(lua.LNil)
		L.Push(lua.LString(reason))
		return 2
	}
	t := stringMap(L, tags)
	r.trace = append(r.trace, fmt.Sprintf("tags %s %s -> %s", module, rpSummary(rp), show(t, 1)))
	L.Push(t)
	return 1
}

// testingEq is testing.eq(got, want, msg): fails the test unless got and
// want are equal (tables compared by content).
func testingEq(L *lua.LState) int {
	got, want := L.CheckAny(1), L.CheckAny(2)
	if !deepEqual(got, want, 0) {
		L.RaiseError("%sexpected %s, got %s", msgPrefix(L, 3), show(want, 3), show(got, 3))
	}
	return 0
}

// testingOk is testing.ok(v, msg): fails the test unless v is true (not
// nil or false).
func testingOk(L *lua.LState) int {
	v := L.Get(1)
	if !lua.LVAsBool(v) {
		L.RaiseError("%sexpected a true value, got %s", msgPrefix(L, 2), show(v, 3))
	}
	return 0
}

func msgPrefix(L *lua.LState, n int) string {
	if s, ok := L.Get(n).(lua.LString); ok && s != "" {
		return string(s) + ": "
	}
	return ""
}

// checkRP reads argument n, an rp table as a test writes it, into the
// RPInput the engine would have built: metadata keys are lower-cased,
// values trimmed, and whitespace-only values marked blank; apmid is
// metadata.apmid; has_metadata defaults to whether metadata or apmid is
// given.
func checkRP(L *lua.LState, n int) *RPInput {
	t := L.CheckTable(n)
	r := readFields(t, "", "rp.")
	rp := &RPInput{
		Arn: r.str("arn", false), Vault: r.str("vault", false), ResourceArn: r.str("resource_arn", false),
		ResourceType: r.str("resource_type", false), ResourceName: r.str("resource_name", false),
		Status: r.str("status", false), CreationDate: r.time("created"),
		DeleteAfterDays: r.int64p("delete_after_days"), ColdAfterDays: r.int64p("cold_after_days"),
		EncryptionKeyArn: r.str("encryption_key_arn", false),
	}
	if iso := r.time("created_iso"); rp.CreationDate.IsZero() {
		rp.CreationDate = iso
	}
	if size := r.int64p("size"); size != nil {
		rp.SizeBytes = *size
	}
	md := r.strMap("metadata")
	apmid, hasAPMID := r.get("apmid").(lua.LString)
	if !hasAPMID && r.get("apmid") != lua.LNil {
		r.fail("apmid", "must be a string, got %s", describe(r.get("apmid")))
	}
	rp.Blank = r.boolMap("blank")
	hasMD := r.get("has_metadata")
	if c := r.table("conflict", false); c != nil {
		cr := readFields(c, "", "rp.conflict.")
		rp.Conflict = &ConflictInput{Field: cr.str("field", true), Values: cr.strList("values"), Lines: cr.intList("lines")}
		if err := cr.done(); err != nil {
			L.ArgError(n, err.Error())
		}
	}
	if err := r.done(); err != nil {
		L.ArgError(n, err.Error())
	}
	if md != nil || hasAPMID {
		rp.Metadata = map[string]string{}
	}
	for k, v := range md {
		rp.Metadata[strings.ToLower(k)] = v
	}
	if hasAPMID {
		rp.Metadata["apmid"] = string(apmid)
	}
	for k, v := range rp.Metadata {
		trimmed := strings.Trim(v, " \t\r\n\v\f")
		if trimmed == "" && v != "" {
			if rp.Blank == nil {
				rp.Blank = map[string]bool{}
			}
			rp.Blank[k] = true
		}
		rp.Metadata[k] = trimmed
	}
	switch v := hasMD.(type) {
	case lua.LBool:
		rp.HasMetadata = bool(v)
	case *lua.LNilType:
		rp.HasMetadata = rp.Metadata != nil
	default:
		L.ArgError(n, "rp.has_metadata must be true or false, got "+describe(v))
	}
	return rp
}

// rpSummary renders the inputs of rp that policies decide on most, for
// --explain.
func rpSummary(rp *RPInput) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, fmt.Sprintf("%s=%q", k, v))
		}
	}
	if v, ok := rp.Metadata["apmid"]; ok {
		parts = append(parts, fmt.Sprintf("apmid=%q", v))
	}
	add("resource_type", rp.ResourceType)
	add("vault", rp.Vault)
	if !rp.HasMetadata {
		parts = append(parts, "has_metadata=false")
	}
	var blank []string
	for k, v := range rp.Blank {
		if v {
			blank = append(blank, k)
		}
	}
	sort.Strings(blank)
	if len(blank) > 0 {
		parts = append(parts, "blank="+strings.Join(blank, ","))
	}
	if rp.Conflict != nil {
		parts = append(parts, fmt.Sprintf("conflict=%s@%v", rp.Conflict.Field, rp.Conflict.Lines))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// deepEqual compares Lua values, tables by content.
func deepEqual(a, b lua.LValue, depth int) bool {
	ta, ok1 := a.(*lua.LTable)
	tb, ok2 := b.(*lua.LTable)
	if !ok1 || !ok2 {
		return a == b
	}
	if ta == tb {
		return true
	}
	if depth > 20 || countKeys(ta) != countKeys(tb) {
		return false
	}
	eq := true
	ta.ForEach(func(k, v lua.LValue) {
		if eq && !deepEqual(v, tb.RawGet(k), depth+1) {
			eq = false
		}
	})
	return eq
}

// show renders a Lua value as Lua source, tables with sorted keys down
// to depth levels.
func show(v lua.LValue, depth int) string {
	switch v := v.(type) {
	case lua.LString:
		return fmt.Sprintf("%q", string(v))
	case *lua.LTable:
		if depth <= 0 {
			return "{...}"
		}
		type kv struct{ k, v string }
		var items []kv
		n := v.Len()
		for i := 1; i <= n; i++ {
			items = append(items, kv{"", show(v.RawGetInt(i), depth-1)})
		}
		var named []kv
		v.ForEach(func(k, val lua.LValue) {
			if num, ok := k.(lua.LNumber); ok && float64(num) >= 1 && float64(num) <= float64(n) && float64(num) == float64(int(num)) {
				return
			}
			key := fmt.Sprintf("[%s]", show(k, 0))
			if s, ok := k.(lua.LString); ok && scriptconfig.ValidModuleName(string(s)) && (s[0] < '0' || s[0] > '9') {
				key = string(s)
			}
			named = append(named, kv{key, show(val, depth-1)})
		})
		sort.Slice(named, func(i, j int) bool { return named[i].k < named[j].k })
		var parts []string
		for _, it := range items {
			parts = append(parts, it.v)
		}
		for _, it := range named {
			parts = append(parts, it.k+"="+it.v)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	default:
		return v.String()
	}
}

// testingCompliance is testing.compliance(module, vault) -> results |
// nil, reason: module's check on vault, validated as the engine does,
// with every result's severity filled in.
func testingCompliance(L *lua.LState) int {
	r := runnerOf(L)
	module := L.CheckString(1)
	v := checkComplianceVault(L, 2)
	fn := r.policyFunc(L, "testing.compliance", module, "check")
	rets, msg := pcallIn(L, fn, 1, complianceVaultTable(L, v))
	var rs []ComplianceResult
	if msg == "" {
		rs, msg = complianceResultsOf(rets[0])
	}
	if msg != "" {
		reason := (&PolicyError{Policy: module, Msg: msg}).Error()
		r.trace = append(r.trace, fmt.Sprintf("check %s {account=%q, name=%q} -> failed: %s", module, v.Account, v.Name, reason))
		L.Push(lua.LNil)
		L.Push(lua.LString(reason))
		return 2
	}
	out := L.CreateTable(len(rs), 0)
	var verdicts []string
	for _, res := range rs {
		t := L.CreateTable(0, 6)
		t.RawSetString("rule", lua.LString(res.Rule))
		t.RawSetString("pass", lua.LBool(res.Pass))
		t.RawSetString("expected", lua.LString(res.Expected))
		t.RawSetString("actual", lua.LString(res.Actual))
		t.RawSetString("severity", lua.LString(res.Severity))
		t.RawSetString("why", lua.LString(res.Why))
		out.Append(t)
		word := "pass"
		if !res.Pass {
			word = "FAIL (" + res.Actual + ")"
		}
		verdicts = append(verdicts, res.Rule+" "+word)
	}
	r.trace = append(r.trace, fmt.Sprintf("check %s {account=%q, name=%q} -> %s", module, v.Account, v.Name, strings.Join(verdicts, ", ")))
	L.Push(out)
	return 1
}

// checkComplianceVault reads argument n, a compliance vault table as a
// test writes it. lock_mode, when left out, follows from locked,
// lock_date and vault_type as the engine works it out.
func checkComplianceVault(L *lua.LState, n int) *ComplianceVault {
	r := readFields(L.CheckTable(n), "", "vault.")
	v := &ComplianceVault{
		Account: r.str("account", false), AccountID: r.str("account_id", false),
		Name: r.str("name", true), Arn: r.str("arn", false), VaultType: r.str("vault_type", false),
		EncryptionKeyArn: r.str("encryption_key_arn", false), EncryptionKeyType: r.str("encryption_key_type", false),
		Locked: r.boolean("locked"), LockMode: r.str("lock_mode", false),
		MinRetentionDays: r.int64p("min_retention_days"), MaxRetentionDays: r.int64p("max_retention_days"),
		Tags: r.strMap("tags"), SNSTopicArn: r.str("sns_topic_arn", false), Events: r.strList("events"),
		AccessPolicy:    r.str("access_policy", false),
		SourceAccountID: r.str("source_account_id", false), DestinationAccountID: r.str("destination_account_id", false),
		Proposed: r.boolean("proposed"), SourceVault: r.str("source_vault", false),
	}
	if t := r.time("lock_date"); !t.IsZero() {
		v.LockDate = &t
	} else if t := r.time("lock_date_iso"); !t.IsZero() {
		v.LockDate = &t
	}
	if at := r.table("access", false); at != nil {
		ar := readFields(at, "", "vault.access.")
		v.Access = AccessSummary{Accounts: ar.strList("accounts"), AnyPrincipal: ar.boolean("any_principal"),
			Services: ar.strList("services"), Invalid: ar.str("invalid", false)}
		if s := ar.get("statements"); s != lua.LNil {
			if num, ok := s.(lua.LNumber); ok {
				v.Access.Statements = int(num)
			} else {
				ar.fail("statements", "must be a number, got %s", describe(s))
			}
		}
		if err := ar.done(); err != nil {
			L.ArgError(n, err.Error())
		}
	}
	if err := r.done(); err != nil {
		L.ArgError(n, err.Error())
	}
	switch v.Account {
	case "", "source", "destination":
	default:
		L.ArgError(n, fmt.Sprintf("vault.account must be \"source\" or \"destination\", got %q", v.Account))
	}
	if v.LockMode == "" {
		v.LockMode = LockMode(v.Locked, v.LockDate, v.VaultType)
	}
	return v
}

// LockMode names a vault's lock: "compliance" when it has a LockDate (a
// compliance-mode lock, changeable until then) or is logically
// air-gapped, "governance" when locked without one, else "none".
func LockMode(locked bool, lockDate *time.Time, vaultType string) string {
	switch {
	case vaultType == "LOGICALLY_AIR_GAPPED_BACKUP_VAULT", locked && lockDate != nil:
		return "compliance"
	case locked:
		return "governance"
	}
	return "none"
}
