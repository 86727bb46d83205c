package plan

import (
	"fmt"
	"strings"
	"sync"

	"github.com/shuffle-migrate/shuffle/luabind"
)

// The decide step stops when a policy goes over its budgets on
// StopAfterConsecutive recovery points in a row, or on more than
// StopAboveRate of them once StopMinSample have been decided: a policy
// that loops would otherwise cost its time budget on every RP (13 RPs a
// second, a day for a million).
const (
	StopAfterConsecutive = 3
	StopAboveRate        = 0.01
	StopMinSample        = 100
)

// BudgetStopKind says which rule stopped the decide step.
type BudgetStopKind int

const (
	// StopConsecutive: StopAfterConsecutive RPs in a row.
	StopConsecutive BudgetStopKind = iota + 1
	// StopRate: more than StopAboveRate of the RPs decided.
	StopRate
)

// PolicyBudgetError stops the decide step: a policy went over its
// budgets too often. The RPs decided before it keep their decisions
// (those that failed are recorded as failed); the run exits 1.
type PolicyBudgetError struct {
	Kind     BudgetStopKind
	Policy   string
	Budget   luabind.Budget // of the last overrun
	Exceeded int64          // policy calls over a budget
	Calls    int64          // policy calls made
	Examples []string       // ARNs of the last RPs it failed on (up to 3)
	Last     string         // the last failure, with file:line
}

func (e *PolicyBudgetError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "decide stopped: policy %s went over its %s budget ", e.Policy, e.Budget)
	switch e.Kind {
	case StopConsecutive:
		fmt.Fprintf(&b, "on %d recovery points in a row", StopAfterConsecutive)
	default:
		fmt.Fprintf(&b, "on %d of %d recovery points (over %g%%)", e.Exceeded, e.Calls, StopAboveRate*100)
	}
	fmt.Fprintf(&b, ", for example %s; the last: %s. Fix the policy (run `shuffle policy test` on it) or, if it needs more, raise policies.limits in shuffle.config; then run again (decisions already made are kept)",
		strings.Join(e.Examples, ", "), e.Last)
	return b.String()
}

// Unwrap gives luabind.ErrMemoryLimit, ErrTimeout or
// ErrInstructionLimit: errors.Is tells which budget, and the CLI takes
// it for a run-time error (exit 1), not a mistake in the script.
func (e *PolicyBudgetError) Unwrap() error {
	return (&luabind.BudgetError{Budget: e.Budget}).Unwrap()
}

// budgetGuard counts policy calls and budget overruns across the
// workers of one pass, and says when to stop.
type budgetGuard struct {
	mu          sync.Mutex
	calls       int64
	exceeded    int64
	consecutive int
	examples    []string
	stop        *PolicyBudgetError
}

// record counts one policy call on arn; budget is the budget it went
// over ("" for none) and reason its failure. It returns the error that
// stops the pass, once.
func (g *budgetGuard) record(arn, policy string, budget luabind.Budget, reason string) *PolicyBudgetError {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stop != nil {
		return nil
	}
	g.calls++
	if budget == "" {
		g.consecutive = 0
		return nil
	}
	g.exceeded++
	g.consecutive++
	if g.examples = append(g.examples, arn); len(g.examples) > 3 {
		g.examples = g.examples[1:]
	}
	var kind BudgetStopKind
	switch {
	case g.consecutive >= StopAfterConsecutive:
		kind = StopConsecutive
	case g.calls >= StopMinSample && float64(g.exceeded) > StopAboveRate*float64(g.calls):
		kind = StopRate
	default:
		return nil
	}
	g.stop = &PolicyBudgetError{Kind: kind, Policy: policy, Budget: budget, Exceeded: g.exceeded, Calls: g.calls,
		Examples: append([]string(nil), g.examples...), Last: reason}
	return g.stop
}

// stopped reports whether the guard has stopped the pass.
func (g *budgetGuard) stopped() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stop != nil
}
