package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// The REPL's functions that write: export to a file, and requeue and
// reset, which change the state after the operator confirms.

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
	what, vault := query.ResetTarget(opts["what"]), args["vault"]
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
