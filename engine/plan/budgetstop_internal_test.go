package plan

import (
	"fmt"
	"testing"

	"github.com/shuffle-migrate/shuffle/luabind"
)

func TestBudgetGuard(t *testing.T) {
	arn := func(i int) string { return fmt.Sprintf("arn:rp:%d", i) }
	// Three in a row stop; a success in between resets the run.
	g := &budgetGuard{}
	seq := []luabind.Budget{"", luabind.BudgetTime, luabind.BudgetTime, "", luabind.BudgetMemory, luabind.BudgetMemory}
	for i, b := range seq {
		if e := g.record(arn(i), "p", b, "why"); e != nil {
			t.Fatalf("stopped at call %d: %v", i, e)
		}
	}
	e := g.record(arn(6), "p", luabind.BudgetMemory, "p.lua:3: decide: memory budget of 64 MiB exceeded")
	if e == nil || e.Kind != StopConsecutive || e.Budget != luabind.BudgetMemory || e.Calls != 7 || e.Exceeded != 5 {
		t.Fatalf("after 3 in a row: %+v", e)
	}
	if want := []string{arn(4), arn(5), arn(6)}; fmt.Sprint(e.Examples) != fmt.Sprint(want) {
		t.Errorf("examples %v, want %v", e.Examples, want)
	}
	if g.record(arn(7), "p", luabind.BudgetMemory, "again") != nil || !g.stopped() {
		t.Error("a stopped guard stops once")
	}

	// Over 1% once 100 calls are made: 1 in 50 stops at call 100, not
	// before; 1 in 100 never does.
	for _, tc := range []struct {
		every  int
		stopAt int64
	}{{50, 100}, {100, 0}} {
		g := &budgetGuard{}
		var stop *PolicyBudgetError
		for i := 1; i <= 1000 && stop == nil; i++ {
			b := luabind.Budget("")
			if i%tc.every == 0 {
				b = luabind.BudgetInstructions
			}
			stop = g.record(arn(i), "p", b, "why")
		}
		switch {
		case tc.stopAt == 0 && stop != nil:
			t.Errorf("1 in %d: stopped: %v", tc.every, stop)
		case tc.stopAt != 0 && (stop == nil || stop.Kind != StopRate || stop.Calls != tc.stopAt):
			t.Errorf("1 in %d: %+v, want a stop on the rate at call %d", tc.every, stop, tc.stopAt)
		}
	}
}
