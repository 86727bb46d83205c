package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Queries over the state for the operator's REPL (docs/repl.md). They
// read the RP and copy-record ranges in one joined scan (joinCopies) and
// never call AWS. The CLI formats what they return.

// Filter selects recovery points. Zero fields match everything; a field
// with several values (Vaults, Statuses, Types) matches any of them.
type Filter struct {
	Vaults        []string
	Statuses      []string // RowStatus values: completed, running, intent, retry, queued, failed, excluded, ineligible, undecided
	Types         []string // resource types
	Outcomes      []string // decision outcomes: included, excluded, ineligible, failed
	APMID         *string  // metadata apmid ("" matches an empty cell)
	Reason        string   // substring (any case) of the decision reason or the copy failure reason
	Rule          string   // substring (any case) of the decision rule ("engine:status", "policy:apmid")
	Arn           string
	ResourceArn   string
	CreatedBefore time.Time
	CreatedAfter  time.Time
	Meta          map[string]string // metadata field (lower-cased) -> value
}

// FilterKeys are the fields ParseFilter knows; any other key is a
// metadata field. The REPL completes them.
var FilterKeys = []string{"vault", "status", "state", "resource_type", "type", "outcome", "decision", "apmid", "reason",
	"rule", "arn", "resource_arn", "created_before", "created_after"}

// GroupKeys are the fields group{by=...} knows besides metadata fields.
var GroupKeys = []string{"vault", "status", "resource_type", "outcome", "apmid", "reason", "rule", "created_month", "created_year"}

// RowStates are the values of RowStatus, in display order.
var RowStates = []string{state.CopyCompleted, state.CopyRunning, state.CopyIntent, state.CopyRetry, StatusQueued, state.CopyFailed,
	ReportExcluded, ReportIneligible, ReportUndecided}

// RowStatus is the one-word state of an RP: its copy record's state when
// it has one (completed, running, intent, retry, failed), otherwise
// what its decision makes it (queued, excluded, ineligible, undecided).
// It counts like `shuffle status` does.
func RowStatus(rp *state.RP, rec *state.CopyRecord) string { return FinalState(rp, rec) }

// ParseFilter builds a Filter from the REPL's table fields. Values are
// strings as written; several values are separated by commas.
func ParseFilter(fields map[string]string) (Filter, error) {
	var f Filter
	list := func(v string) []string {
		var out []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	for k, v := range fields {
		switch strings.ToLower(k) {
		case "vault":
			f.Vaults = list(v)
		case "status", "state":
			for _, s := range list(v) {
				s = strings.ToLower(s)
				if !contains(RowStates, s) {
					return f, fmt.Errorf("%s=%q: not a status; use one of %s", k, v, strings.Join(RowStates, ", "))
				}
				f.Statuses = append(f.Statuses, s)
			}
		case "resource_type", "type":
			f.Types = list(v)
		case "outcome", "decision":
			for _, s := range list(v) {
				s = strings.ToLower(s)
				if !contains([]string{state.Included, state.Excluded, state.Ineligible, state.Failed}, s) {
					return f, fmt.Errorf("%s=%q: not a decision outcome; use included, excluded, ineligible or failed", k, v)
				}
				f.Outcomes = append(f.Outcomes, s)
			}
		case "apmid":
			a := v
			f.APMID = &a
		case "reason":
			f.Reason = strings.ToLower(v)
		case "rule":
			f.Rule = strings.ToLower(v)
		case "arn":
			f.Arn = v
		case "resource_arn":
			f.ResourceArn = v
		case "created_before", "created_after":
			t, err := ParseTime(v)
			if err != nil {
				return f, fmt.Errorf("%s: %w", k, err)
			}
			if k == "created_before" {
				f.CreatedBefore = t
			} else {
				f.CreatedAfter = t
			}
		default:
			if f.Meta == nil {
				f.Meta = map[string]string{}
			}
			f.Meta[strings.ToLower(k)] = v
		}
	}
	return f, nil
}

// ParseTime reads a time as RFC 3339, a date (YYYY-MM-DD, local
// midnight), a local date and time (YYYY-MM-DD HH:MM) or Unix seconds.
func ParseTime(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2025-01-31T12:00:00Z), a date (2025-01-31) or Unix seconds", v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Match reports whether the RP (and its copy record, nil when none)
// passes f.
func (f *Filter) Match(rp *state.RP, rec *state.CopyRecord) bool {
	if len(f.Vaults) > 0 && !contains(f.Vaults, rp.Vault) {
		return false
	}
	if f.Arn != "" && rp.Arn != f.Arn {
		return false
	}
	if f.ResourceArn != "" && rp.ResourceArn != f.ResourceArn {
		return false
	}
	if len(f.Types) > 0 && !contains(f.Types, rp.ResourceType) {
		return false
	}
	if len(f.Statuses) > 0 && !contains(f.Statuses, RowStatus(rp, rec)) {
		return false
	}
	if len(f.Outcomes) > 0 && (rp.Decision == nil || !contains(f.Outcomes, rp.Decision.Outcome)) {
		return false
	}
	if !f.CreatedBefore.IsZero() && !rp.CreationDate.Before(f.CreatedBefore) {
		return false
	}
	if !f.CreatedAfter.IsZero() && rp.CreationDate.Before(f.CreatedAfter) {
		return false
	}
	if f.APMID != nil {
		v, ok := metaField(rp, "apmid")
		if !ok || v != *f.APMID {
			return false
		}
	}
	for k, want := range f.Meta {
		if v, ok := metaField(rp, k); !ok || v != want {
			return false
		}
	}
	if f.Reason != "" {
		r := ""
		if rp.Decision != nil {
			r = rp.Decision.Reason
		}
		if rec != nil {
			r += "\x00" + rec.Reason
		}
		if !strings.Contains(strings.ToLower(r), f.Reason) {
			return false
		}
	}
	if f.Rule != "" && (rp.Decision == nil || !strings.Contains(strings.ToLower(rp.Decision.Rule), f.Rule)) {
		return false
	}
	return true
}

func metaField(rp *state.RP, k string) (string, bool) {
	if rp.Meta == nil {
		return "", false
	}
	v, ok := rp.Meta.Fields[k]
	return v, ok
}

// Row is one RP with its copy record (nil when it has none).
type Row struct {
	RP     *state.RP
	Copy   *state.CopyRecord
	Status string
}

// Query calls fn for every RP that passes f, in vault and ARN order.
// Returning ErrStop from fn ends the scan without an error.
func Query(ctx context.Context, st *state.Store, f Filter, fn func(Row) error) error {
	vaults := []string{""}
	if len(f.Vaults) > 0 {
		vaults = append([]string(nil), f.Vaults...)
		sort.Strings(vaults)
	}
	n := 0
	// A metadata field no scanned RP has is most likely a typo of a
	// filter or column name: say so instead of matching nothing.
	unseen := map[string]bool{}
	for k := range f.Meta {
		unseen[k] = true
	}
	for _, v := range vaults {
		err := joinCopies(st, v, func(rp *state.RP, rec *state.CopyRecord) error {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if rp == nil {
				return nil
			}
			if len(unseen) > 0 && rp.Meta != nil {
				for k := range unseen {
					if _, ok := rp.Meta.Fields[k]; ok {
						delete(unseen, k)
					}
				}
			}
			if !f.Match(rp, rec) {
				return nil
			}
			return fn(Row{RP: rp, Copy: rec, Status: RowStatus(rp, rec)})
		})
		if errors.Is(err, ErrStop) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if n > 0 && len(unseen) > 0 {
		names := make([]string, 0, len(unseen))
		for k := range unseen {
			names = append(names, k)
		}
		sort.Strings(names)
		return fmt.Errorf("no recovery point has a metadata field %q, and it is not a filter (filters: %s, or a metadata column)",
			names[0], strings.Join(FilterKeys, ", "))
	}
	return nil
}

// ErrStop ends a Query early.
var ErrStop = errors.New("stop")

// Count counts the RPs that pass f.
func Count(ctx context.Context, st *state.Store, f Filter) (int64, error) {
	var n int64
	err := Query(ctx, st, f, func(Row) error { n++; return nil })
	return n, err
}

// Find returns at most limit rows that pass f (limit <= 0: all), and
// how many passed in all.
func Find(ctx context.Context, st *state.Store, f Filter, limit int) ([]Row, int64, error) {
	var out []Row
	var n int64
	err := Query(ctx, st, f, func(r Row) error {
		n++
		if limit <= 0 || len(out) < limit {
			out = append(out, r)
		}
		return nil
	})
	return out, n, err
}

// Group is one group of group{by=...}.
type Group struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
	Bytes int64  `json:"bytes"`
}

// GroupBy counts the RPs that pass f by the value of one field (a
// GroupKeys name or a metadata field), largest group first.
func GroupBy(ctx context.Context, st *state.Store, f Filter, by string) ([]Group, error) {
	by = strings.ToLower(by)
	if by == "" {
		return nil, fmt.Errorf("group needs by=FIELD: one of %s, or a metadata field", strings.Join(GroupKeys, ", "))
	}
	key := func(r Row) string {
		rp := r.RP
		switch by {
		case "vault":
			return rp.Vault
		case "status", "state":
			return r.Status
		case "resource_type", "type":
			return rp.ResourceType
		case "outcome", "decision":
			if rp.Decision == nil {
				return ReportUndecided
			}
			return rp.Decision.Outcome
		case "reason":
			if r.Copy != nil && r.Copy.Reason != "" && r.Copy.State != state.CopyCompleted {
				return r.Copy.Reason
			}
			if rp.Decision == nil {
				return ""
			}
			return rp.Decision.Reason
		case "rule":
			if rp.Decision == nil {
				return ""
			}
			return rp.Decision.Rule
		case "created_month":
			return rp.CreationDate.Local().Format("2006-01")
		case "created_year":
			return rp.CreationDate.Local().Format("2006")
		default:
			v, ok := metaField(rp, by)
			if !ok {
				return "(none)"
			}
			return v
		}
	}
	groups := map[string]*Group{}
	err := Query(ctx, st, f, func(r Row) error {
		k := key(r)
		g := groups[k]
		if g == nil {
			g = &Group{Key: k}
			groups[k] = g
		}
		g.Count++
		g.Bytes += r.RP.Size
		return nil
	})
	out := make([]Group, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out, err
}

// FindRP finds one RP by its ARN (in any vault), with its copy record.
func FindRP(ctx context.Context, st *state.Store, arn string) (*Row, error) {
	var found *Row
	err := Query(ctx, st, Filter{Arn: arn}, func(r Row) error {
		found = &r
		return ErrStop
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("no recovery point %q in the state", arn)
	}
	return found, nil
}

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

// EligibilityRules are the engine's rules in the order Ineligible checks
// them; the vault mapping's skip comes first.
var EligibilityRules = []string{ruleVaultSkip, ruleGone, ruleStatus, ruleContinuous, ruleCold, ruleNotCopyable, ruleManagedKey, ruleRetention}

// Explain traces the stored decision of one RP: every engine rule in
// order, which one made it ineligible or excluded it, or which policy
// decided, and what its copy did.
func Explain(ctx context.Context, st *state.Store, arn string) (*Explanation, error) {
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
	for _, rule := range EligibilityRules {
		switch {
		case engineRule && rule == decider:
			e.Steps = append(e.Steps, Step{Check: "engine:" + rule, Result: d.Outcome, Detail: d.Reason})
		case engineRule:
			// Rules after the deciding one were not reached.
			if stepsHave(e.Steps, d.Rule) {
				e.Steps = append(e.Steps, Step{Check: "engine:" + rule, Result: "not reached"})
			} else {
				e.Steps = append(e.Steps, Step{Check: "engine:" + rule, Result: "passed"})
			}
		default:
			e.Steps = append(e.Steps, Step{Check: "engine:" + rule, Result: "passed"})
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

func stepsHave(steps []Step, check string) bool {
	for _, s := range steps {
		if s.Check == check {
			return true
		}
	}
	return false
}

// RunHistory is one command of the run history with what it copied.
type RunHistory struct {
	state.Run
	Seconds   float64 `json:"seconds"`
	Completed int64   `json:"completed"` // copies that completed between its start and end
	Bytes     int64   `json:"bytes"`
	PerHour   float64 `json:"rps_per_hour"`
	BytesPerS float64 `json:"bytes_per_second"`
}

// History returns the run history, oldest first, with the copies that
// completed within each command's span and their rates. current, when
// not nil, is the command still running (its record is written when it
// ends); it is listed last, with no end.
func History(ctx context.Context, st *state.Store, now time.Time, current *state.Run) ([]RunHistory, error) {
	runs, err := st.Runs()
	if err != nil {
		return nil, err
	}
	if current != nil {
		runs = append(runs, *current)
	}
	out := make([]RunHistory, len(runs))
	for i, r := range runs {
		out[i].Run = r
	}
	err = st.ScanCopies(func(c *state.CopyRecord) error {
		if c.State != state.CopyCompleted || c.CompletedAt == nil {
			return nil
		}
		for i := range out {
			end := out[i].End
			if end.IsZero() {
				end = now
			}
			if !c.CompletedAt.Before(out[i].Start) && !c.CompletedAt.After(end) {
				out[i].Completed++
				out[i].Bytes += c.Size
				break
			}
		}
		return ctx.Err()
	})
	for i := range out {
		end := out[i].End
		if end.IsZero() {
			end = now
		}
		if s := end.Sub(out[i].Start).Seconds(); s > 0 {
			out[i].Seconds = s
			out[i].PerHour = float64(out[i].Completed) / s * 3600
			out[i].BytesPerS = float64(out[i].Bytes) / s
		}
	}
	return out, err
}

// Requeuer moves failed copies back to the queue. The running copy
// engine implements it (Session.Requeue) so that its schedule picks
// them up; without a run, StoreRequeuer writes the state directly.
type Requeuer interface {
	Requeue(ctx context.Context, keys []state.CopyKey) (int, error)
}

// StoreRequeuer requeues in the state alone: the next run loads them.
type StoreRequeuer struct {
	Store *state.Store
	Now   func() time.Time
}

// Requeue implements Requeuer.
func (r StoreRequeuer) Requeue(ctx context.Context, keys []state.CopyKey) (int, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	moved, err := r.Store.RequeueCopies(keys, now())
	return len(moved), err
}

// RequeueCandidates are the failed copies among the RPs that pass f.
// Only failed copy records can be requeued: a completed copy is never
// touched, and other states are already queued or in flight.
func RequeueCandidates(ctx context.Context, st *state.Store, f Filter) ([]Row, error) {
	var out []Row
	err := Query(ctx, st, f, func(r Row) error {
		// Held RPs (possibly copied already) too: the operator has checked.
		if r.Copy != nil && (r.Copy.State == state.CopyFailed || r.Copy.State == state.CopyHeld) {
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// Reset targets of reset{what=...}.
const (
	ResetDecisions = "decisions"
	ResetInventory = "inventory"
)

// ResetPreview counts what a reset would change: decisions of RPs not
// yet queued or copied (the only ones a reset clears), and for an
// inventory reset the vaults listed again.
type ResetPreview struct {
	What      string   `json:"what"`
	Vault     string   `json:"vault,omitempty"`
	Decisions int64    `json:"decisions"` // decisions that would be cleared
	Kept      int64    `json:"kept"`      // RPs queued or copied: their decisions and copy records stay
	Vaults    []string `json:"vaults,omitempty"`
}

// PreviewReset works out what Reset would change.
func PreviewReset(ctx context.Context, st *state.Store, what, vault string) (*ResetPreview, error) {
	switch what {
	case ResetDecisions, ResetInventory:
	default:
		return nil, fmt.Errorf("reset what=%q: use what=\"decisions\" or what=\"inventory\" (with vault=NAME for one vault)", what)
	}
	p := &ResetPreview{What: what, Vault: vault}
	if vault != "" {
		if _, ok, err := st.GetVault(state.Source, vault); err != nil {
			return nil, err
		} else if !ok {
			return nil, fmt.Errorf("vault %q is not in the state", vault)
		}
		p.Vaults = []string{vault}
	} else if what == ResetInventory {
		vs, err := st.Vaults(state.Source)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			p.Vaults = append(p.Vaults, v.Name)
		}
	}
	f := Filter{}
	if vault != "" {
		f.Vaults = []string{vault}
	}
	if what == ResetInventory && vault == "" {
		return p, nil // a new generation clears no decision
	}
	err := Query(ctx, st, f, func(r Row) error {
		switch {
		case r.RP.Copy != state.CopyPending:
			p.Kept++
		case r.RP.Decision != nil:
			p.Decisions++
		}
		return nil
	})
	return p, err
}

// Reset does what PreviewReset counted, like `shuffle reset`: decisions
// clears the decisions of RPs not yet queued or copied (of one vault,
// or all); inventory with a vault lists that vault again and clears its
// decisions, and without one starts a new inventory generation. Nothing
// that records a copy is removed.
func Reset(st *state.Store, what, vault string) (int, error) {
	switch what {
	case ResetDecisions:
		return st.ResetDecisions(vault)
	case ResetInventory:
		if vault == "" {
			_, err := st.NewGeneration()
			return 0, err
		}
		if err := st.ResetVaultInventory(vault); err != nil {
			return 0, err
		}
		return st.ResetDecisions(vault)
	}
	return 0, fmt.Errorf("reset what=%q: use decisions or inventory", what)
}
