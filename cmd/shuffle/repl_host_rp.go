package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// One recovery point (show, explain), the run history and the
// forecast, for the REPL.

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
	if rp.DeleteAt != nil {
		kv("deleted by its lifecycle", shortTime(*rp.DeleteAt))
	}
	if rp.Gone {
		g := "no longer listed in the source"
		if rp.GoneAt != nil && rp.LastSeen != nil {
			g += fmt.Sprintf(" (found gone %s; last seen %s)", shortTime(*rp.GoneAt), shortTime(*rp.LastSeen))
		}
		kv("gone", g)
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
	e, err := query.ExplainWith(ctx, c.store, arn, plan.EligibilityRules, plan.RuleNotes(kmskeys.Recorded{Cache: c.store}))
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%.0f\t%s\t%s\n", shortTime(r.Start), end, took, strings.TrimSpace(string(r.Command)+" "+r.Script),
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
