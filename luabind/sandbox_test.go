package luabind

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// run runs src as a chunk of a strict sandbox (like a policy's) with the
// policy budgets, but a minute of time so that a loaded machine does
// not fail what is tested, and returns its first result.
func run(t *testing.T, opts Options, src string) (lua.LValue, error) {
	t.Helper()
	s := newSandbox(opts)
	t.Cleanup(s.L.Close)
	proto, err := compile([]byte(src), "p.lua", "policies/p.lua")
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	b := DefaultPolicyBudgets
	b.Time = time.Minute
	rets, err := s.call(context.Background(), b, s.L.NewFunctionFromProto(proto), 1)
	if err != nil {
		return nil, err
	}
	return rets[0], nil
}

func TestSandboxRefuses(t *testing.T) {
	opts := Options{Dir: "policies", Strict: true}
	for _, tc := range []struct{ src, want string }{
		{`os.execute("touch /tmp/pwned")`, `p.lua:1: os is not available in shuffle's Lua sandbox`},
		{`return os.time()`, `p.lua:1: os is not available`},
		{`io.open("/etc/passwd")`, `p.lua:1: io is not available`},
		{`return load("return 1")`, `p.lua:1: load is not available`},
		{`return loadstring("return 1")`, `p.lua:1: loadstring is not available`},
		{`dofile("/etc/passwd")`, `p.lua:1: dofile is not available`},
		{`loadfile("/etc/passwd")`, `p.lua:1: loadfile is not available`},
		{`return debug.getinfo(1)`, `p.lua:1: debug is not available`},
		{`return package.loadlib("x", "y")`, `p.lua:1: package is not available`},
		{`return coroutine.create(print)`, `p.lua:1: coroutine is not available`},
		{`return collectgarbage("count")`, `p.lua:1: collectgarbage is not available`},
		{`return setfenv(1, {})`, `p.lua:1: setfenv is not available`},
		{`return string.dump(print)`, `p.lua:1: attempt to call a non-function object`},
		{`return math.random()`, `p.lua:1: attempt to call a non-function object`},
		{`return require("../x")`, `p.lua:1: require "../x": module names are letters, digits and _ only; only modules in policies and the built-in modules (helpers) are allowed`},
		{`return require("/etc/passwd")`, `module names are letters, digits and _ only`},
		{`return require("a.b")`, `module names are letters, digits and _ only`},
		{`return require("os")`, `p.lua:1: require os: only modules in policies and the built-in modules (helpers) are allowed`},
		{`return require("nosuch")`, `require nosuch: only modules in policies`},
		{`return require("shuffle")`, `require shuffle: the shuffle module is only available to the operator's script`},
		{`return require("testing")`, `require testing: the testing module is only available to policy tests`},
		{`x = 1`, `p.lua:1: assignment to undeclared global "x" (declare it local)`},
		{`return undefined_thing`, `p.lua:1: undefined global "undefined_thing"`},
		{`setmetatable(_G, nil) x = 1`, `cannot change a protected metatable`},
	} {
		_, err := run(t, opts, tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.src, err, tc.want)
		}
	}
}

func TestSandboxAllows(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`return type(pcall) .. type(error) .. type(tostring) .. type(select) .. type(unpack) .. type(setmetatable)`, "functionfunctionfunctionfunctionfunctionfunction"},
		{`local ok, err = pcall(error, "x", 0) return tostring(ok) .. err`, "falsex"},
		{`return string.format("%05.1f|%s|%d", 3.14159, "a", 42)`, "003.1|a|42"},
		{`return ("ab"):rep(3) .. string.upper("x")`, "abababX"},
		{`return table.concat({"a", 1, "b"}, ",")`, "a,1,b"},
		{`local t = {3, 1, 2} table.sort(t) return table.concat(t)`, "123"},
		{`return tostring(math.floor(2.7) + math.max(1, 5))`, "7"},
		{`return (string.gsub("a-b-c", "-", "+"))`, "a+b+c"},
		{`local h = require("helpers") return tostring(h == require("helpers"))`, "true"},
	} {
		got, err := run(t, Options{Strict: true}, tc.src)
		if err != nil || got.String() != tc.want {
			t.Errorf("%s = %v, %v; want %q", tc.src, got, err, tc.want)
		}
	}
}

// Endless loops stop on their instruction budget, which does not
// depend on how busy the machine is; loops in Go functions (pattern
// backtracking) on their time budget. Either way the error names the
// budget and the line. The wall-time bound is 25 times the time budget,
// for a loaded machine: a tail-call loop used to take over 2 s to stop,
// building a traceback of a million "(tailcall)" frames.
func TestSandboxInfiniteLoopTimesOut(t *testing.T) {
	// The time budget is a minute for the VM loops, so that only the
	// instruction budget can stop them, however busy the machine.
	vm := scriptconfig.Budgets{Instructions: 1e6, Time: time.Minute}
	for _, tc := range []struct {
		src     string
		budgets scriptconfig.Budgets
		want    Budget
	}{
		{"while true do end", vm, BudgetInstructions},
		{"local function f() return f() end return f()", vm, BudgetInstructions}, // a tail call needs no stack
		{"while true do pcall(function() while true do end end) end", vm, BudgetInstructions},
		{"local t = {} for i = 1, 1e9 do t[i % 1000] = i end", vm, BudgetInstructions},
		// Backtracking in a library function: the pattern matcher checks
		// the time budget too.
		{`return string.find(string.rep("a", 3000), ".-.-.-b")`, DefaultPolicyBudgets, BudgetTime},
		{`return string.gsub(string.rep("a", 3000), ".-.-.-b", "")`, DefaultPolicyBudgets, BudgetTime},
	} {
		s := newSandbox(Options{Strict: true})
		proto, err := compile([]byte(tc.src), "p.lua", "policies/p.lua")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = s.call(context.Background(), tc.budgets, s.L.NewFunctionFromProto(proto), 1)
		s.L.Close()
		var be *BudgetError
		if !errors.As(err, &be) || be.Budget != tc.want || be.Where != "p.lua:1" {
			t.Errorf("%s: err = %v, want the %s budget at p.lua:1", tc.src, err, tc.want)
			continue
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: took %s to stop", tc.src, d)
		}
	}
	// Without an instruction budget, the time budget stops a VM loop.
	// The tail-call loop runs 2 s, about 7 million calls: gopher-lua's
	// traceback of one "(tailcall)" line each took over 20 s to build
	// before the frames' counts were capped (capTailCalls).
	for _, tc := range []struct {
		src   string
		limit time.Duration
	}{{"while true do end", 50 * time.Millisecond}, {"local function f() return f() end return f()", 2 * time.Second}} {
		s := newSandbox(Options{Strict: true})
		fn, _ := s.L.LoadString(tc.src)
		start := time.Now()
		_, err := s.call(context.Background(), scriptconfig.Budgets{Time: tc.limit}, fn, 0)
		s.L.Close()
		if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), ":1: time budget of "+tc.limit.String()+" exceeded") {
			t.Errorf("%s: err = %v, want the time budget", tc.src, err)
		}
		if d := time.Since(start); d > tc.limit+12*time.Second {
			t.Errorf("%s: took %s to stop", tc.src, d)
		}
	}
}

// Memory bombs stop on the call's memory budget (allocations counted,
// not the heap as a whole) and the heap grows by little more than the
// budget. The `..` operator is not capped: a doubling loop is caught by
// the allocation counter, within a doubling or two.
func TestSandboxMemoryBudget(t *testing.T) {
	const budget = 32 << 20
	for _, src := range []string{
		`local s = "xxxxxxxx" while true do s = s .. s end`,
		`local t = {} for i = 1, 1e6 do t[i] = string.rep("x", 1024 * 1024) end`,
		`local t = {} for i = 1, 1e6 do t[i] = string.rep("x", 1000) .. i end`,
		`local t = {} for i = 1, 1e7 do t[i] = {i, i, i} end`,
		`local s = string.rep("x", 1024 * 1024) local t = {} for i = 1, 1e6 do t[i] = table.concat({s}, "") end`,
		`local s = string.rep("x,", 500000) local t = {} for i = 1, 1e6 do t[i] = require("helpers").split(s, ",") end`,
		`local s = string.rep("x", 1024 * 1024) local t = {} for i = 1, 1e6 do t[i] = (string.gsub(s, "x", "y")) end`,
		`local s = "x" for i = 1, 26 do s = s .. s end local t = {} for i = 1, 100 do t[i] = s .. i end`,
	} {
		runtime.GC()
		before := heapInUse()
		sb := newSandbox(Options{Strict: true})
		fn, err := sb.L.LoadString(src)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = sb.call(context.Background(), scriptconfig.Budgets{Memory: budget, Time: time.Minute}, fn, 0)
		peak := heapInUse()
		sb.release()
		sb.L.Close()
		var be *BudgetError
		if !errors.As(err, &be) || be.Budget != BudgetMemory || !errors.Is(err, ErrMemoryLimit) || !strings.HasPrefix(err.Error(), "<string>:1: memory budget of 32 MiB exceeded") {
			t.Errorf("%s: err = %v, want the memory budget at <string>:1", src, err)
			continue
		}
		// What is still live when the call stops: a generous bound of 16
		// times the budget (the doubling overshoots by a doubling or
		// two, and the GC has not run).
		if grew := int64(peak) - int64(before); grew > 16*budget {
			t.Errorf("%s: the heap grew by %d MiB for a budget of 32 MiB", src, grew>>20)
		}
		t.Logf("%s: stopped after %s, heap +%d MiB: %v", src, time.Since(start).Round(time.Millisecond), (int64(peak)-int64(before))>>20, err)
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("%s: took %s", src, d)
		}
	}
}

// The `..` about to run is charged before it runs (concatPeek): a
// concatenation of ten 1 MiB strings, one VM instruction, is refused
// before it is built. Without the peek it would be built and the call
// would return before any check.
func TestConcatPeek(t *testing.T) {
	if !concatPeek.ok {
		t.Fatal("cannot see gopher-lua's frames and registers: has its layout changed?")
	}
	sb := newSandbox(Options{Strict: true})
	defer sb.L.Close()
	fn, _ := sb.L.LoadString(`local s = string.rep("x", 1024 * 1024) return #(s .. s .. s .. s .. s .. s .. s .. s .. s .. s)`)
	_, err := sb.call(context.Background(), scriptconfig.Budgets{Memory: 4 << 20, Instructions: 1e9}, fn, 1)
	// The heap check may refuse first when other tests of the package
	// have the process heap above the budget already; either way the
	// call must not return with the string built.
	if err == nil || !strings.Contains(err.Error(), "<string>:1: memory budget of 4 MiB exceeded (") {
		t.Fatalf("err = %v, want the `..` charged", err)
	}
	if !strings.Contains(err.Error(), "a `..` of 10 MiB on top of 1 MiB") {
		t.Logf("refused by the heap check before the peek: %v", err)
	}
}

func heapInUse() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// The process heap limit stops a call whose own allocations are within
// its budget when the heap as a whole is over the limit.
func TestSandboxHeapWatchdog(t *testing.T) {
	runtime.GC()
	limit := heapInUse() + 64<<20
	sb := newSandbox(Options{Strict: true, Limits: Limits{HeapLimit: limit}})
	defer sb.L.Close()
	fn, err := sb.L.LoadString(`local s = "x" for i = 1, 40 do s = s .. s end return #s`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sb.call(context.Background(), scriptconfig.Budgets{Time: 10 * time.Second}, fn, 1)
	if !errors.Is(err, ErrMemoryLimit) || !strings.Contains(err.Error(), "of process heap exceeded (the process heap reached") {
		t.Fatalf("err = %v, want the memory limit", err)
	}
	// The state still works.
	fn, _ = sb.L.LoadString(`return 1 + 1`)
	if rets, err := sb.call(context.Background(), scriptconfig.Budgets{Time: time.Second}, fn, 1); err != nil || rets[0] != lua.LNumber(2) {
		t.Fatalf("after the limit: %v, %v", rets, err)
	}
}

func TestSandboxStateSurvivesTimeout(t *testing.T) {
	s := newSandbox(Options{Strict: true})
	defer s.L.Close()
	loop, _ := s.L.LoadString("while true do end")
	if _, err := s.call(context.Background(), scriptconfig.Budgets{Time: 20 * time.Millisecond}, loop, 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("loop: %v", err)
	}
	ok, _ := s.L.LoadString("return 40 + 2")
	if rets, err := s.call(context.Background(), scriptconfig.Budgets{Time: time.Second}, ok, 1); err != nil || rets[0] != lua.LNumber(42) {
		t.Fatalf("after a timeout: %v, %v", rets, err)
	}
}

func TestSandboxCancelledContext(t *testing.T) {
	s := newSandbox(Options{})
	defer s.L.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	loop, _ := s.L.LoadString("while true do end")
	if _, err := s.call(ctx, scriptconfig.Budgets{Time: time.Minute}, loop, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestSandboxErrorsHaveNoTraceback(t *testing.T) {
	_, err := run(t, Options{Strict: true}, "local function f() error('boom') end\nf()")
	if err == nil || err.Error() != "p.lua:1: boom" {
		t.Fatalf("err = %q, want %q", err, "p.lua:1: boom")
	}
}

func TestSandboxPrint(t *testing.T) {
	var out bytes.Buffer
	if _, err := run(t, Options{Print: &out}, `print("a", 1, nil, true)`); err != nil {
		t.Fatal(err)
	}
	if out.String() != "a\t1\tnil\ttrue\n" {
		t.Errorf("print wrote %q", out.String())
	}
	if _, err := run(t, Options{}, `print("discarded")`); err != nil {
		t.Fatal(err)
	}
}

func TestNewStateRequiresModules(t *testing.T) {
	proto, err := compile([]byte(`local M = {} function M.twice(x) return 2 * x end return M`), "lib.lua", "policies/lib.lua")
	if err != nil {
		t.Fatal(err)
	}
	L := NewState(Options{Dir: "policies", Modules: map[string]*lua.FunctionProto{"lib": proto}})
	defer L.Close()
	if err := L.DoString(`assert(require("lib").twice(21) == 42)`); err != nil {
		t.Fatal(err)
	}
}

func TestHelpers(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`local s = H.set{"a", "b"} return tostring(s.a) .. tostring(s.c)`, "truenil"},
		{`return tostring(H.has_prefix("prod-ebs", "prod-")) .. tostring(H.has_suffix("prod-ebs", "-daily"))`, "truefalse"},
		{`return "[" .. H.trim("  x y \t") .. "]"`, "[x y]"},
		{`return H.lower("ÄbC") .. H.upper("abc")`, "äbcABC"},
		{`return table.concat(H.split("a,b,,c", ","), "|")`, "a|b||c"},
		{`return #H.split("", ",")`, "1"},
		{`return tostring(H.glob("prod-*-daily", "prod-ebs-daily"))`, "true"},
		{`return tostring(H.glob("prod-*", "dev-ebs"))`, "false"},
		{`return tostring(H.glob("?bc", "äbc"))`, "true"},
		{`return tostring(H.glob("a*b*c", "axxbyyc")) .. tostring(H.glob("a*b*c", "axxbyy"))`, "truefalse"},
		{`return tostring(H.glob("*", "")) .. tostring(H.glob("", "x")) .. tostring(H.glob("**a", "bba"))`, "truefalsetrue"},
		{`return tostring(H.days_between("2026-01-01T00:00:00Z", "2026-01-15T12:00:00Z"))`, "14"},
		{`return tostring(H.days_between(86400 * 10, 0))`, "-10"},
		{`return tostring(H.days_between(0, "1970-01-03T00:00:00Z"))`, "2"},
	} {
		got, err := run(t, Options{Strict: true}, `local H = require("helpers") `+tc.src)
		if err != nil || got.String() != tc.want {
			t.Errorf("%s = %v, %v; want %q", tc.src, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ src, want string }{
		{`H.split("a", "")`, "sep must not be empty"},
		{`H.set{"a", {}}`, "list element 2 is a table"},
		{`H.days_between("yesterday", 0)`, "want an RFC 3339 time"},
		{`H.trim(nil)`, "bad argument #1 to trim"},
	} {
		_, err := run(t, Options{Strict: true}, `local H = require("helpers") `+tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.src, err, tc.want)
		}
	}
}

// The pattern functions are reimplemented on luapattern; they behave as
// Lua 5.1's.
func TestPatterns(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`return table.concat({string.find("hello", "l+")}, ",")`, "3,4"},
		{`return table.concat({string.find("hello", "(l)(l)")}, ",")`, "3,4,l,l"},
		{`return table.concat({string.find("a.b", ".", 1, true)}, ",")`, "2,2"},
		{`return table.concat({string.find("abc", "b", -1)}, ",")`, ""},
		{`return table.concat({string.find("abc", "", 10)}, ",")`, ""},
		{`return table.concat({string.find("abc", "()b()")}, ",")`, "2,2,2,3"},
		{`return tostring(string.find("abc", "x"))`, "nil"},
		{`return table.concat({string.match("key=val", "(%w+)=(%w+)")}, ",")`, "key,val"},
		{`return string.match("  trim  ", "^%s*(.-)%s*$")`, "trim"},
		{`return tostring(string.match("hello", "xyz"))`, "nil"},
		{`return string.match("hello", "l+", 4)`, "l"},
		{`local ws = {} for w in string.gmatch("one two  three", "%a+") do ws[#ws + 1] = w end return table.concat(ws, "|")`, "one|two|three"},
		{`local ps = {} for k, v in string.gmatch("a=1, b=2", "(%w+)=(%w+)") do ps[#ps + 1] = k .. v end return table.concat(ps, "|")`, "a1|b2"},
		{`return (string.gsub("hello world", "(%w+)", "<%1>"))`, "<hello> <world>"},
		{`return (string.gsub("hello world", "%w+", "%0 %0", 1))`, "hello hello world"},
		{`return (string.gsub("hello world", "(%w+)%s*(%w+)", "%2 %1"))`, "world hello"},
		{`return (string.gsub("$name is $age", "%$(%w+)", {name = "x", age = 3}))`, "x is 3"},
		{`return (string.gsub("abc", "%w", function(c) return c:upper() .. "." end))`, "A.B.C."},
		{`return (string.gsub("abc", "%w", function(c) if c == "b" then return false end return "-" end))`, "-b-"},
		{`return (string.gsub("abc", "", "-"))`, "-a-b-c-"},
		{`return (string.gsub("100%", "%%", " percent"))`, "100 percent"},
		{`return (string.gsub("a.b", "%.", "%%"))`, "a%b"},
		{`return select(2, string.gsub("aaa", "a", "b"))`, "3"},
		{`return (string.gsub("x", "x", 5))`, "5"},
		{`return ("arn:aws:kms:us-east-1:111111111111:key/abc"):match("^arn:aws:kms:([^:]+):(%d+):key/(.+)$")`, "us-east-1"},
	} {
		got, err := run(t, Options{}, tc.src)
		if err != nil || got.String() != tc.want {
			t.Errorf("%s = %v, %v; want %q", tc.src, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ src, want string }{
		{`string.gsub("abc", "(b)", "%2")`, "invalid capture index"},
		{`string.gsub("abc", "b", true)`, "bad argument #3 to gsub"},
		{`string.gsub("abc", "b", function() return {} end)`, "invalid replacement value (a table)"},
		{`string.find("abc", "[a")`, "p.lua:1: "},
	} {
		_, err := run(t, Options{}, tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.src, err, tc.want)
		}
	}
}

// Each call has its own deadline: calls that together run several times
// longer than the time limit all succeed, on a state that keeps its call
// context. Each call does about a millisecond of work against a limit
// of a second, so that a busy machine does not fail it.
func TestSandboxDeadlineIsPerCall(t *testing.T) {
	s := newSandbox(Options{Strict: true})
	defer s.L.Close()
	defer s.release()
	busy, _ := s.L.LoadString("local n = 0 for i = 1, 20000 do n = n + i end return n")
	const limit = time.Second
	start := time.Now()
	calls := 0
	for time.Since(start) < 2*limit {
		if _, err := s.call(context.Background(), scriptconfig.Budgets{Time: limit}, busy, 1); err != nil {
			t.Fatalf("call %d, %s in: %v", calls, time.Since(start), err)
		}
		calls++
	}
	if calls < 2 {
		t.Fatalf("only %d calls in %s", calls, 2*limit)
	}
}
