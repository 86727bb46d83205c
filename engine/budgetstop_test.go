package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/luabind"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// Policies that loop or bomb memory, through the real path of a plan
// (the listing decides as it saves its pages, then the decide step):
// the listing leaves them to the decide step, which stops with a
// *PolicyBudgetError after a few RPs instead of running for hours, and
// the process's memory stays near the documented 1 GiB cap. Before
// budgets, the doubling loop reached 9 GB and panicked inside a Badger
// transaction.
func TestPolicyBombsStopTheDecideStep(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 400})
	for _, tc := range []struct {
		name, body string
		budget     luabind.Budget
		kind       plan.BudgetStopKind
	}{
		{"doubling string", `local s = "xxxxxxxx" while true do s = s .. s end`, luabind.BudgetMemory, plan.StopConsecutive},
		{"table of 1 MiB strings", `local t = {} for i = 1, 1e6 do t[i] = string.rep("x", 1024 * 1024) end`, luabind.BudgetMemory, plan.StopConsecutive},
		{"deep tables", `local t = {} while true do t = {t, t, t, t} end`, luabind.BudgetMemory, plan.StopConsecutive},
		{"gsub growth", `local s = string.rep("x", 1024 * 1024) local t = {} for i = 1, 1e6 do t[i] = s:gsub("x", "y") end`, luabind.BudgetMemory, plan.StopConsecutive},
		{"endless loop", `while true do end`, luabind.BudgetInstructions, plan.StopConsecutive},
		{"tail-call loop", `local function f() return f() end return f()`, luabind.BudgetInstructions, plan.StopConsecutive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, clients := sessionConfig(t, env)
			// The default budgets, but 5 s of time: on a busy machine a
			// loop must still stop on its instructions.
			cfg.Policies = scriptconfig.PolicyConfig{Dir: t.TempDir(), Decide: []string{"bomb"}, Budgets: scriptconfig.Budgets{Time: 5 * time.Second}}
			src := "return { decide = function(rp)\ndo " + tc.body + " end\nreturn \"include\", \"fine\"\nend }\n"
			if err := os.WriteFile(filepath.Join(cfg.Policies.Dir, "bomb.lua"), []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			s := &engine.Session{Options: engine.Options{StateDir: filepath.Join(t.TempDir(), "state"), Clients: clients, DryRun: true, DecideWhileListing: true}}
			if err := s.Configure(cfg); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			peak := watchMemory(t)
			start := time.Now()
			if _, err := s.Inventory(ctx); err != nil {
				t.Fatalf("inventory: %v", err)
			}
			if _, err := s.Enrich(ctx); err != nil {
				t.Fatal(err)
			}
			sum, err := s.Decide(ctx)
			took := time.Since(start)
			grew := peak()
			var stop *plan.PolicyBudgetError
			if !errors.As(err, &stop) {
				t.Fatalf("decide: %v %v, want a *PolicyBudgetError", sum, err)
			}
			t.Logf("%s in %s, memory +%d MiB: %v", tc.name, took.Round(time.Millisecond), grew>>20, err)
			// Memory bombs that allocate little per instruction, or spend
			// their time in Go (gsub), may reach the instruction or time
			// budget first: bounded all the same.
			if tc.budget == luabind.BudgetMemory && (stop.Budget == luabind.BudgetInstructions || stop.Budget == luabind.BudgetTime) && tc.name != "doubling string" && tc.name != "table of 1 MiB strings" {
				tc.budget = stop.Budget
			}
			if stop.Kind != tc.kind || stop.Budget != tc.budget || stop.Policy != "bomb" || len(stop.Examples) == 0 {
				t.Errorf("stop = %+v, want %v on the %s budget", stop, tc.kind, tc.budget)
			}
			if !errors.Is(err, map[luabind.Budget]error{luabind.BudgetMemory: luabind.ErrMemoryLimit, luabind.BudgetTime: luabind.ErrTimeout, luabind.BudgetInstructions: luabind.ErrInstructionLimit}[stop.Budget]) {
				t.Errorf("errors.Is does not see the %s budget in %v", stop.Budget, err)
			}
			msg := err.Error()
			for _, want := range []string{"decide stopped: policy bomb went over its " + string(tc.budget) + " budget", "bomb.lua:", "decide: " + string(tc.budget) + " budget of", "arn:aws:backup:", "raise policies.limits"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			// Far fewer policy calls than RPs: it stopped early.
			if stop.Calls >= 400 {
				t.Errorf("%d policy calls before stopping", stop.Calls)
			}
			// Each of the (up to 10) workers may hold its budget of 64
			// MiB when stopped; the heap watchdog stops every call once
			// the heap passes 1 GiB. Before: 9 GB and a panic.
			if grew > 1280<<20 {
				t.Errorf("memory grew by %d MiB", grew>>20)
			}
		})
	}
}

// watchMemory samples the Go heap (objects) every millisecond and, on
// Linux, resets the process's peak RSS; the function returned stops and
// gives the largest growth seen of either.
func watchMemory(t *testing.T) func() int64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := int64(s[0].Value.Uint64())
	rssBase, rssOK := int64(0), os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	if rssOK {
		rssBase = procStatus(t, "VmRSS")
	}
	var mu sync.Mutex
	var top int64
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			metrics.Read(s)
			mu.Lock()
			top = max(top, int64(s[0].Value.Uint64())-base)
			mu.Unlock()
		}
	}()
	return func() int64 {
		close(done)
		mu.Lock()
		defer mu.Unlock()
		if rssOK {
			top = max(top, procStatus(t, "VmHWM")-rssBase)
		}
		return top
	}
}

// procStatus is a field of /proc/self/status, in bytes.
func procStatus(t *testing.T, field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
