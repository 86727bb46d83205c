package query

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Step is one step of a decision trace.
type Step struct {
	Check  string `json:"check"`  // "engine:status", "policy:apmid", ...
	Result string `json:"result"` // passed, ineligible, excluded, included, failed, not reached
	Detail string `json:"detail,omitempty"`
}

// Explanation is why an RP is (or is not) copied.
type Explanation struct {
	Arn        string            `json:"arn"`
	Vault      string            `json:"vault"`
	Status     string            `json:"status"`
	Outcome    string            `json:"outcome,omitempty"`
	Rule       string            `json:"rule,omitempty"`
	Reason     string            `json:"reason,omitempty"`
	PolicyHash string            `json:"policy_hash,omitempty"`
	DecidedAt  *time.Time        `json:"decided_at,omitempty"`
	Steps      []Step            `json:"steps"`
	Copy       *state.CopyRecord `json:"copy,omitempty"`
	Summary    string            `json:"summary"`
}

// Explain traces the stored decision of one RP: every engine rule in
// order, which one made it ineligible or excluded it, or which policy
// decided, and what its copy did. rules are the engine's eligibility
// rules (without the "engine:" prefix) in the order they are checked.
func Explain(ctx context.Context, st *state.Store, arn string, rules []string) (*Explanation, error) {
	return ExplainWith(ctx, st, arn, rules, nil)
}

// RuleNote is what an engine rule that let an RP through has to say of
// it (empty: nothing), e.g. that it could not learn who manages the
// RP's key.
type RuleNote func(rp *state.RP, rule string) string

// ExplainWith is Explain with the notes of the rules an RP passed in its
// trace (note may be nil).
func ExplainWith(ctx context.Context, st *state.Store, arn string, rules []string, note RuleNote) (*Explanation, error) {
	r, err := FindRP(ctx, st, arn)
	if err != nil {
		return nil, err
	}
	rp := r.RP
	e := &Explanation{Arn: rp.Arn, Vault: rp.Vault, Status: r.Status, Copy: r.Copy}
	d := rp.Decision
	if d == nil {
		e.Steps = append(e.Steps, Step{Check: "decision", Result: "not reached", Detail: "not decided yet: the next plan or run decides it"})
		e.Summary = "undecided: no plan or run has decided it yet"
		return e, nil
	}
	e.Outcome, e.Rule, e.Reason, e.PolicyHash = d.Outcome, d.Rule, d.Reason, d.PolicyHash
	at := d.At
	e.DecidedAt = &at
	decider := strings.TrimPrefix(d.Rule, "engine:")
	engineRule := strings.HasPrefix(d.Rule, "engine:")
	for _, rule := range rules {
		switch {
		case engineRule && rule == decider:
			e.Steps = append(e.Steps, Step{Check: "engine:" + rule, Result: d.Outcome, Detail: d.Reason})
		case engineRule:
			// Rules after the deciding one were not reached.
			if stepsHave(e.Steps, d.Rule) {
				e.Steps = append(e.Steps, Step{Check: "engine:" + rule, Result: "not reached"})
			} else {
				e.Steps = append(e.Steps, passed(rp, rule, note))
			}
		default:
			e.Steps = append(e.Steps, passed(rp, rule, note))
		}
	}
	if !engineRule {
		res := d.Outcome
		if d.Outcome == state.Failed {
			res = "failed (the RP is excluded)"
		}
		e.Steps = append(e.Steps, Step{Check: d.Rule, Result: res, Detail: d.Reason})
	} else {
		e.Steps = append(e.Steps, Step{Check: "policies", Result: "not reached", Detail: "the engine's rules decide before any policy"})
	}
	switch d.Outcome {
	case state.Included:
		e.Summary = fmt.Sprintf("included by %s: %s", d.Rule, d.Reason)
	case state.Excluded:
		e.Summary = fmt.Sprintf("excluded by %s: %s", d.Rule, d.Reason)
	case state.Ineligible:
		e.Summary = fmt.Sprintf("ineligible by %s: %s", d.Rule, d.Reason)
	case state.Failed:
		e.Summary = fmt.Sprintf("excluded because %s failed: %s", d.Rule, d.Reason)
	}
	if c := r.Copy; c != nil {
		e.Summary += fmt.Sprintf("; copy %s after %d attempt(s)", c.State, c.Attempt)
		if c.State == state.CopyFailed && c.Reason != "" {
			e.Summary += ": " + c.Reason + " (requeue{arn=...} retries it)"
		}
	}
	return e, nil
}

// passed is the step of a rule rp passed, with the rule's note.
func passed(rp *state.RP, rule string, note RuleNote) Step {
	st := Step{Check: "engine:" + rule, Result: "passed"}
	if note != nil {
		st.Detail = note(rp, rule)
	}
	return st
}

func stepsHave(steps []Step, check string) bool {
	for _, s := range steps {
		if s.Check == check {
			return true
		}
	}
	return false
}
