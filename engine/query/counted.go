package query

import (
	"context"
	"strings"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Answering from the counters (ADR 0001, "counters kept with the
// records"): a question whose filter and grouping use only the fields of
// one cube is summed from its cells, without reading an RP. Any other is
// a scan, which the caller hears about through a ScanReporter.

// scanOnly turns the counters off, so that tests can compare their
// answers with a scan's.
var scanOnly bool

// ScanReporter hears that a question is answered by a scan (why, and
// about how many RPs it reads; 0 when unknown), then its progress.
type ScanReporter interface {
	ScanStart(why string, total int64)
	Scanned(n int64)
}

type reporterKey struct{}

// WithScanReporter returns ctx carrying r for the queries run under it.
func WithScanReporter(ctx context.Context, r ScanReporter) context.Context {
	return context.WithValue(ctx, reporterKey{}, r)
}

func reporterOf(ctx context.Context) ScanReporter {
	r, _ := ctx.Value(reporterKey{}).(ScanReporter)
	return r
}

// cubeFor picks the cube that holds every field f filters on and by
// groups by ("" for none), or why none does.
func cubeFor(f Filter, by string) (state.Cube, string) {
	// The fields each cube lacks.
	need := map[state.Cube]bool{state.CubeReasons: true, state.CubeTime: true, state.CubeAPMID: true}
	drop := func(why string, keep ...state.Cube) string {
		for c := range need {
			if !containsCube(keep, c) {
				delete(need, c)
			}
		}
		if len(need) == 0 {
			return why
		}
		return ""
	}
	var why string
	note := func(w string) {
		if why == "" {
			why = w
		}
	}
	switch {
	case f.Arn != "":
		return 0, "arn is not counted"
	case f.ResourceArn != "":
		return 0, "resource_arn is not counted"
	case len(f.Meta) > 0:
		for k := range f.Meta {
			return 0, "metadata field " + k + " is not counted"
		}
	}
	if f.Reason != "" {
		note(drop("reason with "+otherOf(f, by, "reason"), state.CubeReasons))
	}
	if f.Rule != "" {
		note(drop("rule with "+otherOf(f, by, "rule"), state.CubeReasons, state.CubeTime))
	}
	if !f.CreatedBefore.IsZero() || !f.CreatedAfter.IsZero() {
		if !onHour(f.CreatedBefore) || !onHour(f.CreatedAfter) {
			return 0, "created_before/created_after is not on a whole hour"
		}
		note(drop("created_before/after with "+otherOf(f, by, "created"), state.CubeTime))
	}
	if f.APMID != nil {
		note(drop("apmid with "+otherOf(f, by, "apmid"), state.CubeAPMID))
	}
	switch strings.ToLower(by) {
	case "", "vault", "status", "state", "resource_type", "type", "outcome", "decision":
	case "reason":
		note(drop("group by reason with "+otherOf(f, "", "reason"), state.CubeReasons))
	case "rule":
		note(drop("group by rule with "+otherOf(f, "", "rule"), state.CubeReasons, state.CubeTime))
	case "created_month", "created_year":
		note(drop("group by "+by+" with "+otherOf(f, "", "created"), state.CubeTime))
	case "apmid":
		note(drop("group by apmid with "+otherOf(f, "", "apmid"), state.CubeAPMID))
	default:
		return 0, "metadata field " + by + " is not counted"
	}
	if why != "" {
		return 0, why + ": no counter holds both"
	}
	for _, c := range []state.Cube{state.CubeReasons, state.CubeTime, state.CubeAPMID} {
		if need[c] {
			return c, ""
		}
	}
	return 0, "no counter holds these fields"
}

// otherOf names the filter or grouping fields other than skip, for the
// reason a question has no cube.
func otherOf(f Filter, by, skip string) string {
	var out []string
	add := func(name string, set bool) {
		if set && name != skip {
			out = append(out, name)
		}
	}
	add("reason", f.Reason != "" || by == "reason")
	add("rule", f.Rule != "" || by == "rule")
	add("created", !f.CreatedBefore.IsZero() || !f.CreatedAfter.IsZero() || strings.HasPrefix(by, "created_"))
	add("apmid", f.APMID != nil || by == "apmid")
	if len(out) == 0 {
		return "the other fields"
	}
	return strings.Join(out, ", ")
}

func containsCube(list []state.Cube, c state.Cube) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

func onHour(t time.Time) bool { return t.IsZero() || (t.Nanosecond() == 0 && t.Unix()%3600 == 0) }

// isCopyState reports whether a row status comes from a copy record.
func isCopyState(s string) bool {
	switch s {
	case state.CopyIntent, state.CopyRunning, state.CopyRetry, state.CopyCompleted, state.CopyFailed, state.CopyHeld:
		return true
	}
	return false
}

// matchCell is Filter.Match for every RP of one cell (of a cube that
// holds the filter's fields).
func (f *Filter) matchCell(c *state.Cell) bool {
	if c.Orphan {
		return false
	}
	if len(f.Vaults) > 0 && !contains(f.Vaults, c.Vault) {
		return false
	}
	if len(f.Types) > 0 && !contains(f.Types, c.Type) {
		return false
	}
	if len(f.Statuses) > 0 && !contains(f.Statuses, c.Status) {
		return false
	}
	if len(f.Outcomes) > 0 && (c.Outcome == "" || !contains(f.Outcomes, c.Outcome)) {
		return false
	}
	if !f.CreatedBefore.IsZero() && c.Hour >= f.CreatedBefore.Unix()/3600 {
		return false
	}
	if !f.CreatedAfter.IsZero() && c.Hour < f.CreatedAfter.Unix()/3600 {
		return false
	}
	if f.APMID != nil && (!c.HasAPMID || c.APMID != *f.APMID) {
		return false
	}
	if f.Reason != "" {
		r := c.DReason
		if isCopyState(c.Status) {
			r += "\x00" + c.CReason
		}
		if !strings.Contains(strings.ToLower(r), f.Reason) {
			return false
		}
	}
	if f.Rule != "" && (c.Outcome == "" || !strings.Contains(strings.ToLower(c.Rule), f.Rule)) {
		return false
	}
	return true
}

// cellKey is GroupBy's key for the RPs of one cell; ok is false when
// the cell cannot give it (a month in a zone off the hour).
func cellKey(c *state.Cell, by string) (string, bool) {
	switch by {
	case "vault":
		return c.Vault, true
	case "status", "state":
		return c.Status, true
	case "resource_type", "type":
		return c.Type, true
	case "outcome", "decision":
		if c.Outcome == "" {
			return Undecided, true
		}
		return c.Outcome, true
	case "reason":
		if isCopyState(c.Status) && c.CReason != "" && c.Status != state.CopyCompleted {
			return c.CReason, true
		}
		return c.DReason, true
	case "rule":
		return c.Rule, true
	case "apmid":
		if !c.HasAPMID {
			return "(none)", true
		}
		return c.APMID, true
	case "created_month", "created_year":
		t := time.Unix(c.Hour*3600, 0).Local()
		if _, off := t.Zone(); off%3600 != 0 {
			return "", false
		}
		if by == "created_year" {
			return t.Format("2006"), true
		}
		return t.Format("2006-01"), true
	}
	return "", false
}

// counted sums the counters for f grouped by by ("" for one total). ok
// is false, with why, when the question needs a scan.
func counted(st *state.Store, f Filter, by string) (groups map[string]*Group, why string, err error) {
	if scanOnly {
		return nil, "counters turned off", nil
	}
	cube, why := cubeFor(f, by)
	if why != "" {
		return nil, why, nil
	}
	sum, err := st.Summary(cube)
	if err != nil {
		if err == state.ErrNoSummary {
			return nil, "this state keeps no counters yet (a read-write command builds them)", nil
		}
		return nil, "", err
	}
	groups = map[string]*Group{}
	by = strings.ToLower(by)
	for c, m := range sum.Cells {
		if c.Cube != cube || !f.matchCell(&c) {
			continue
		}
		k := ""
		if by != "" {
			var ok bool
			if k, ok = cellKey(&c, by); !ok {
				return nil, "the local time zone's months do not start on a whole hour", nil
			}
		}
		g := groups[k]
		if g == nil {
			g = &Group{Key: k}
			groups[k] = g
		}
		g.Count += m.N
		g.Bytes += m.Bytes
	}
	return groups, "", nil
}

// scanTotal is about how many RPs a scan of f's vaults reads.
func scanTotal(st *state.Store, f Filter) int64 {
	sum, err := st.Summary(state.CubeReasons)
	if err != nil {
		return 0
	}
	var n int64
	for c, m := range sum.Cells {
		if c.Cube == state.CubeReasons && !c.Orphan && (len(f.Vaults) == 0 || contains(f.Vaults, c.Vault)) {
			n += m.N
		}
	}
	return n
}
