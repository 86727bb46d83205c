package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/forecast"
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
	return query.Count(ctx, c.store, f)
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
	rows, n, err := query.Find(ctx, c.store, f, limit)
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
	groups, err := query.GroupBy(ctx, c.store, f, opts["by"])
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

func (c *console) Show(ctx context.Context, arn string) error {
	r, err := query.FindRP(ctx, c.store, arn)
	if err != nil {
		return err
	}
	if c.json {
		return c.emitJSON(map[string]any{"status": r.Status, "rp": r.RP, "copy": r.Copy})
	}
	rp := r.RP
	w := c.out
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	kv := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", k, v)
		}
	}
	fmt.Fprintf(tw, "%s\n", rp.Arn)
	kv("status", r.Status)
	kv("vault", rp.Vault)
	kv("resource", rp.ResourceArn)
	kv("resource type", rp.ResourceType)
	kv("resource name", rp.ResourceName)
	kv("AWS status", rp.Status+strings.TrimSuffix(" ("+rp.StatusMessage+")", " ()"))
	kv("created", shortTime(rp.CreationDate))
	kv("size", humanBytes(rp.Size))
	if rp.DeleteAfterDays != nil {
		kv("delete after", fmt.Sprintf("%d days", *rp.DeleteAfterDays))
	}
	if rp.ColdAfterDays != nil {
		kv("cold after", fmt.Sprintf("%d days", *rp.ColdAfterDays))
	}
	kv("encryption key", rp.EncryptionKeyArn)
	kv("first seen", shortTime(rp.FirstSeen))
	if rp.Gone {
		kv("gone", "no longer listed in the source")
	}
	tw.Flush()
	fmt.Fprintln(w, "metadata")
	switch {
	case !rp.Enriched:
		fmt.Fprintln(w, "  not joined yet")
	case rp.Meta == nil:
		fmt.Fprintln(w, "  no row in the metadata CSV")
	default:
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for _, k := range sortedKeys(rp.Meta.Fields) {
			fmt.Fprintf(tw, "  %s\t%s\n", k, rp.Meta.Fields[k])
		}
		if cf := rp.Meta.Conflict; cf != nil {
			fmt.Fprintf(tw, "  conflict\t%s: %s (lines %v)\n", cf.Field, strings.Join(cf.Values, " | "), cf.Lines)
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "decision")
	if d := rp.Decision; d == nil {
		fmt.Fprintln(w, "  none yet")
	} else {
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  outcome\t%s\n  rule\t%s\n  reason\t%s\n  policy revision\t%s\n  decided\t%s\n", d.Outcome, d.Rule, d.Reason, d.PolicyHash, shortTime(d.At))
		tw.Flush()
	}
	c.printCopy(r.Copy)
	return nil
}

func (c *console) printCopy(rec *state.CopyRecord) {
	w := c.out
	fmt.Fprintln(w, "copy")
	if rec == nil {
		fmt.Fprintln(w, "  no copy record")
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  state\t%s (attempt %d)\n", rec.State, rec.Attempt)
	for _, kv := range [][2]string{{"job", rec.JobID}, {"destination vault", rec.DestVaultArn}, {"destination RP", rec.DestRPArn},
		{"reason", rec.Reason}, {"tags", strings.TrimSpace(rec.TagState + " " + rec.TagError)}} {
		if kv[1] != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", kv[0], kv[1])
		}
	}
	if rec.NextAt != nil {
		fmt.Fprintf(tw, "  next attempt\t%s\n", shortTime(*rec.NextAt))
	}
	if rec.CompletedAt != nil {
		fmt.Fprintf(tw, "  completed\t%s\n", shortTime(*rec.CompletedAt))
	}
	if rec.Requeues > 0 {
		fmt.Fprintf(tw, "  requeued\t%d times, last %s\n", rec.Requeues, shortTimePtr(rec.RequeuedAt))
	}
	tw.Flush()
	if len(rec.Attempts) > 0 {
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  N\tJOB\tSTATE\tSTARTED\tENDED\tMESSAGE")
		for _, a := range rec.Attempts {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", a.N, orDash(a.JobID), a.State, shortTime(a.At), shortTimePtr(a.End), a.Message)
		}
		tw.Flush()
	}
}

func (c *console) Explain(ctx context.Context, arn string) error {
	e, err := engine.Explain(ctx, c.store, arn)
	if err != nil {
		return err
	}
	if c.json {
		return c.emitJSON(e)
	}
	w := c.out
	fmt.Fprintf(w, "%s (vault %s): %s\n", e.Arn, e.Vault, e.Status)
	if e.DecidedAt != nil {
		fmt.Fprintf(w, "decided %s under policy revision %s\n", shortTime(*e.DecidedAt), e.PolicyHash)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  CHECK\tRESULT\tDETAIL")
	for _, s := range e.Steps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Check, s.Result, s.Detail)
	}
	tw.Flush()
	fmt.Fprintln(w, e.Summary)
	return nil
}

func (c *console) History(ctx context.Context) error {
	runs, err := query.History(ctx, c.store, time.Now(), c.liveRun)
	if err != nil {
		return err
	}
	if c.json {
		return c.emitJSON(runs)
	}
	if len(runs) == 0 {
		fmt.Fprintln(c.out, "no commands in the run history yet")
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tENDED\tTOOK\tCOMMAND\tWINDOW\tEXIT\tCOPIED\tSIZE\tRPS/HOUR\tRATE\tERROR")
	for _, r := range runs {
		end, took, exit := "running", "-", "-"
		if !r.End.IsZero() {
			end, took, exit = shortTime(r.End), forecast.HumanDuration(r.End.Sub(r.Start)), strconv.Itoa(r.Exit)
		}
		window := "-"
		if d, err := time.Parse(time.RFC3339, r.Flags["deadline"]); err == nil {
			window = "until " + shortTime(d) + " (" + r.Flags["cutoff"] + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%.0f\t%s\t%s\n", shortTime(r.Start), end, took, strings.TrimSpace(r.Command+" "+r.Script),
			window, exit, r.Completed, humanBytes(r.Bytes), r.PerHour, perSecond(r.BytesPerS), clip(r.Error, 60))
	}
	return tw.Flush()
}

func (c *console) Forecast(ctx context.Context, args luabind.ReplArgs) error {
	_, opts, err := splitArgs(args)
	if err != nil {
		return err
	}
	o := forecast.Options{}
	if o.MaxInFlight, err = intOpt(opts, "max_in_flight", 100); err != nil {
		return err
	}
	if v := opts["window"]; v != "" {
		if o.Window, err = time.ParseDuration(v); err != nil {
			return fmt.Errorf("window=%q: want a duration such as \"8h\"", v)
		}
	}
	f, err := forecast.Make(ctx, c.store, o)
	if err != nil {
		return err
	}
	if c.json {
		return c.emitJSON(f)
	}
	printForecast(c.out, c.dir, f)
	return nil
}

// exportColumns are export's CSV columns.
var exportColumns = []string{"vault", "arn", "resource_arn", "resource_type", "status", "size", "created", "apmid",
	"outcome", "rule", "reason", "copy_state", "attempts", "job_id", "dest_rp_arn", "copy_reason"}

func (c *console) Export(ctx context.Context, args luabind.ReplArgs) (int64, error) {
	f, opts, err := splitArgs(args)
	if err != nil {
		return 0, err
	}
	file := opts["file"]
	if file == "" {
		return 0, errors.New(`export needs file="NAME.csv"`)
	}
	tmp := file + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp)
	cw := csv.NewWriter(out)
	_ = cw.Write(exportColumns)
	var n int64
	err = query.Query(ctx, c.store, f, func(r query.Row) error {
		n++
		rp := r.RP
		row := []string{rp.Vault, rp.Arn, rp.ResourceArn, rp.ResourceType, r.Status, strconv.FormatInt(rp.Size, 10),
			rp.CreationDate.UTC().Format(time.RFC3339), apmidOf(rp), "", "", "", "", "", "", "", ""}
		if d := rp.Decision; d != nil {
			row[8], row[9], row[10] = d.Outcome, d.Rule, d.Reason
		}
		if rc := r.Copy; rc != nil {
			row[11], row[12], row[13], row[14], row[15] = rc.State, strconv.Itoa(rc.Attempt), rc.JobID, rc.DestRPArn, rc.Reason
		}
		return cw.Write(row)
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, file)
	}
	if err != nil {
		return 0, err
	}
	if !c.json {
		fmt.Fprintf(c.out, "wrote %d recovery points to %s\n", n, file)
	}
	return n, nil
}

// confirmed says whether a mutation may go ahead: confirm=true, or the
// operator typed yes. Otherwise it prints how to confirm.
func (c *console) confirmed(opts map[string]string, what string) (bool, error) {
	switch strings.ToLower(opts["confirm"]) {
	case "true", "yes":
		return true, nil
	}
	if c.ask != nil {
		ans, err := c.ask(fmt.Sprintf("type yes to %s: ", what))
		if err != nil {
			return false, err
		}
		if strings.TrimSpace(strings.ToLower(ans)) == "yes" {
			return true, nil
		}
		if !c.json {
			fmt.Fprintln(c.out, "not confirmed; nothing changed")
		}
		return false, nil
	}
	if !c.json { // the JSON answer says "confirmed": false
		fmt.Fprintf(c.out, "nothing changed: add confirm=true to %s\n", what)
	}
	return false, nil
}

func (c *console) Requeue(ctx context.Context, args luabind.ReplArgs) (int64, error) {
	f, opts, err := splitArgs(args)
	if err != nil {
		return 0, err
	}
	rows, err := query.RequeueCandidates(ctx, c.store, f)
	if err != nil {
		return 0, err
	}
	byReason := map[string]int64{}
	for _, r := range rows {
		byReason[r.Copy.Reason]++
	}
	if len(rows) == 0 {
		if !c.json {
			fmt.Fprintln(c.out, "requeue: no failed copy matches; nothing to do")
		}
		return 0, nil
	}
	if !c.json {
		fmt.Fprintf(c.out, "requeue: %d failed copies match:\n", len(rows))
		keys := sortedKeys(byReason)
		sort.SliceStable(keys, func(i, j int) bool { return byReason[keys[i]] > byReason[keys[j]] })
		for _, k := range keys {
			fmt.Fprintf(c.out, "  %6d  %s\n", byReason[k], clip(k, 100))
		}
		c.printRows(rows[:min(len(rows), 10)])
		if len(rows) > 10 {
			fmt.Fprintf(c.out, "... and %d more\n", len(rows)-10)
		}
	}
	ok, err := c.confirmed(opts, fmt.Sprintf("requeue %d recovery points", len(rows)))
	if err != nil || !ok {
		if c.json && err == nil {
			return 0, c.emitJSON(map[string]any{"matched": len(rows), "requeued": 0, "confirmed": false})
		}
		return 0, err
	}
	keys := make([]state.CopyKey, len(rows))
	for i, r := range rows {
		keys[i] = state.CopyKey{Vault: r.RP.Vault, Arn: r.RP.Arn}
	}
	n, err := c.requeuer.Requeue(ctx, keys)
	if err != nil {
		return int64(n), err
	}
	if c.json {
		return int64(n), c.emitJSON(map[string]any{"matched": len(rows), "requeued": n, "confirmed": true, "live": c.live})
	}
	if c.live {
		fmt.Fprintf(c.out, "requeued %d recovery points; the running copy starts them now\n", n)
	} else {
		fmt.Fprintf(c.out, "requeued %d recovery points; the next 'shuffle run' copies them\n", n)
	}
	return int64(n), nil
}

func (c *console) Reset(ctx context.Context, args luabind.ReplArgs) (int64, error) {
	_, opts, err := splitArgs(args)
	if err != nil {
		return 0, err
	}
	for k := range args {
		if k != "what" && k != "vault" && k != "confirm" {
			return 0, fmt.Errorf("reset takes what=, vault= and confirm=, not %s=", k)
		}
	}
	what, vault := opts["what"], args["vault"]
	if c.live {
		return 0, errors.New("reset changes what a running 'shuffle run' works from; stop the run first (requeue works during a run)")
	}
	p, err := query.PreviewReset(ctx, c.store, what, vault)
	if err != nil {
		return 0, err
	}
	var desc string
	switch {
	case what == query.ResetInventory && vault == "":
		desc = fmt.Sprintf("start a new inventory generation: the next run lists all %d vaults again (RPs it no longer sees are marked gone, never deleted)", len(p.Vaults))
	case what == query.ResetInventory:
		desc = fmt.Sprintf("list vault %s again on the next run and clear %d decisions", vault, p.Decisions)
	case vault != "":
		desc = fmt.Sprintf("clear %d decisions in vault %s", p.Decisions, vault)
	default:
		desc = fmt.Sprintf("clear %d decisions", p.Decisions)
	}
	if !c.json {
		fmt.Fprintf(c.out, "reset: would %s; %d queued or copied recovery points and every copy record are kept\n", desc, p.Kept)
	}
	ok, err := c.confirmed(opts, "reset")
	if err != nil || !ok {
		if c.json && err == nil {
			return 0, c.emitJSON(map[string]any{"preview": p, "confirmed": false})
		}
		return 0, err
	}
	n, err := query.Reset(c.store, what, vault)
	if err != nil {
		return int64(n), err
	}
	if c.json {
		return int64(n), c.emitJSON(map[string]any{"preview": p, "confirmed": true, "cleared": n})
	}
	fmt.Fprintf(c.out, "reset done: cleared %d decisions; the next run decides them again\n", n)
	return int64(n), nil
}
