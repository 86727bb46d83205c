package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// console runs the REPL's functions over one state and formats their
// results for people (aligned tables, human sizes, local times) or, with
// --json, as JSON. It implements luabind.ReplHost.
type console struct {
	store    *state.Store
	requeuer query.Requeuer
	out      io.Writer
	json     bool
	dir      string
	// ask asks the operator to confirm a mutation and returns the
	// answer; nil when nobody can answer (-e, a script, a pipe).
	ask func(prompt string) (string, error)
	// live: the functions run inside a running `shuffle run`, liveRun.
	live    bool
	liveRun *state.Run
	// progress hears that a question scans, and how far it is (nil:
	// nobody).
	progress io.Writer
}

// scanNotice tells the operator that a question is answered by reading
// every RP, and how far the scan is, at most once a second.
type scanNotice struct {
	w     io.Writer
	total int64
	last  time.Time
}

func (s *scanNotice) ScanStart(why string, total int64) {
	s.total, s.last = total, time.Now()
	about := ""
	if total > 0 {
		about = fmt.Sprintf(" (about %d)", total)
	}
	fmt.Fprintf(s.w, "this scans: %s, so every recovery point%s is read\n", why, about)
}

func (s *scanNotice) Scanned(n int64) {
	if time.Since(s.last) < time.Second {
		return
	}
	s.last = time.Now()
	if s.total > 0 {
		fmt.Fprintf(s.w, "  scanned %d of about %d\n", n, s.total)
	} else {
		fmt.Fprintf(s.w, "  scanned %d\n", n)
	}
}

// queryCtx carries the scan notice, when someone is there to read it.
func (c *console) queryCtx(ctx context.Context) context.Context {
	if c.progress == nil || (c.json && c.progress == c.out) {
		return ctx
	}
	return query.WithScanReporter(ctx, &scanNotice{w: c.progress})
}

var _ luabind.ReplHost = (*console)(nil)

// optionKeys are the fields that are options, not filters.
var optionKeys = map[string]bool{"limit": true, "by": true, "file": true, "confirm": true, "what": true, "max_in_flight": true, "window": true}

func splitArgs(args luabind.ReplArgs) (query.Filter, map[string]string, error) {
	fields := map[string]string{}
	opts := map[string]string{}
	for k, v := range args {
		if optionKeys[strings.ToLower(k)] {
			opts[strings.ToLower(k)] = v
		} else {
			fields[k] = v
		}
	}
	f, err := query.ParseFilter(fields)
	return f, opts, err
}

func intOpt(opts map[string]string, k string, def int) (int, error) {
	v, ok := opts[k]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a whole number, 0 or more", k, v)
	}
	return n, nil
}

func (c *console) emitJSON(v any) error {
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func shortTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func shortTimePtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return shortTime(*t)
}

func apmidOf(rp *state.RP) string {
	if rp.Meta == nil {
		return ""
	}
	return rp.Meta.Fields["apmid"]
}

// reasonOf is why a row is where it is: the copy's failure or wait
// reason when it has one, otherwise the decision's.
func reasonOf(r query.Row) string {
	if r.Copy != nil && r.Copy.Reason != "" && r.Copy.State != state.CopyCompleted {
		return r.Copy.Reason
	}
	if r.RP.Decision != nil {
		return r.RP.Decision.Reason
	}
	return ""
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

func (c *console) Count(ctx context.Context, args luabind.ReplArgs) (int64, error) {
	f, _, err := splitArgs(args)
	if err != nil {
		return 0, err
	}
	return query.Count(c.queryCtx(ctx), c.store, f)
}

type rowJSON struct {
	Arn          string    `json:"arn"`
	Vault        string    `json:"vault"`
	Status       string    `json:"status"`
	ResourceType string    `json:"resource_type"`
	ResourceArn  string    `json:"resource_arn"`
	Size         int64     `json:"size"`
	Created      time.Time `json:"created"`
	APMID        string    `json:"apmid,omitempty"`
	Outcome      string    `json:"outcome,omitempty"`
	Rule         string    `json:"rule,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Attempts     int       `json:"attempts,omitempty"`
}

func toRowJSON(r query.Row) rowJSON {
	j := rowJSON{Arn: r.RP.Arn, Vault: r.RP.Vault, Status: r.Status, ResourceType: r.RP.ResourceType, ResourceArn: r.RP.ResourceArn,
		Size: r.RP.Size, Created: r.RP.CreationDate, APMID: apmidOf(r.RP), Reason: reasonOf(r)}
	if d := r.RP.Decision; d != nil {
		j.Outcome, j.Rule = d.Outcome, d.Rule
	}
	if r.Copy != nil {
		j.Attempts = r.Copy.Attempt
	}
	return j
}

func (c *console) Find(ctx context.Context, args luabind.ReplArgs) error {
	f, opts, err := splitArgs(args)
	if err != nil {
		return err
	}
	limit, err := intOpt(opts, "limit", 20)
	if err != nil {
		return err
	}
	rows, n, err := query.Find(c.queryCtx(ctx), c.store, f, limit)
	if err != nil {
		return err
	}
	if c.json {
		out := make([]rowJSON, 0, len(rows))
		for _, r := range rows {
			out = append(out, toRowJSON(r))
		}
		return c.emitJSON(map[string]any{"matched": n, "rows": out})
	}
	c.printRows(rows)
	if int64(len(rows)) < n {
		fmt.Fprintf(c.out, "%d of %d matching recovery points shown; limit=0 shows all\n", len(rows), n)
	} else {
		fmt.Fprintf(c.out, "%d matching recovery points\n", n)
	}
	return nil
}

func (c *console) printRows(rows []query.Row) {
	if len(rows) == 0 {
		return
	}
	tw := tabwriter.NewWriter(c.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VAULT\tSTATUS\tTYPE\tSIZE\tCREATED\tAPMID\tREASON\tARN")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.RP.Vault, r.Status, r.RP.ResourceType, humanBytes(r.RP.Size),
			shortTime(r.RP.CreationDate), apmidOf(r.RP), clip(reasonOf(r), 50), r.RP.Arn)
	}
	tw.Flush()
}

func (c *console) Group(ctx context.Context, args luabind.ReplArgs) error {
	f, opts, err := splitArgs(args)
	if err != nil {
		return err
	}
	groups, err := query.GroupBy(c.queryCtx(ctx), c.store, f, opts["by"])
	if err != nil {
		return err
	}
	if c.json {
		return c.emitJSON(groups)
	}
	tw := tabwriter.NewWriter(c.out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tRPS\tSIZE\n", strings.ToUpper(opts["by"]))
	var n, b int64
	for _, g := range groups {
		k := g.Key
		if k == "" {
			k = "(empty)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", clip(k, 70), g.Count, humanBytes(g.Bytes))
		n += g.Count
		b += g.Bytes
	}
	fmt.Fprintf(tw, "TOTAL\t%d\t%s\n", n, humanBytes(b))
	return tw.Flush()
}

type jobJSON struct {
	Vault string `json:"vault"`
	Arn   string `json:"arn"`
	State string `json:"copy_state"`
	state.Attempt
}

func (c *console) Jobs(ctx context.Context, args luabind.ReplArgs) error {
	f, opts, err := splitArgs(args)
	if err != nil {
		return err
	}
	limit, err := intOpt(opts, "limit", 20)
	if err != nil {
		return err
	}
	var jobs []jobJSON
	var total int
	err = query.Query(ctx, c.store, f, func(r query.Row) error {
		if r.Copy == nil {
			return nil
		}
		for _, a := range r.Copy.Attempts {
			total++
			if limit == 0 || len(jobs) < limit {
				jobs = append(jobs, jobJSON{Vault: r.RP.Vault, Arn: r.RP.Arn, State: r.Copy.State, Attempt: a})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if c.json {
		return c.emitJSON(map[string]any{"attempts": total, "jobs": jobs})
	}
	if len(jobs) > 0 {
		tw := tabwriter.NewWriter(c.out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VAULT\tCOPY\tN\tJOB\tJOB STATE\tSTARTED\tENDED\tMESSAGE\tARN")
		for _, j := range jobs {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", j.Vault, j.State, j.N, orDash(j.JobID), j.Attempt.State,
				shortTime(j.At), shortTimePtr(j.End), clip(j.Message, 50), j.Arn)
		}
		tw.Flush()
	}
	if len(jobs) < total {
		fmt.Fprintf(c.out, "%d of %d attempts shown; limit=0 shows all\n", len(jobs), total)
	} else {
		fmt.Fprintf(c.out, "%d attempts\n", total)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
