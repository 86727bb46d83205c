package query

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// The engine's eligibility rule names, in engine.EligibilityRules' order.
const (
	ruleGone        = "gone"
	ruleStatus      = "status"
	ruleContinuous  = "continuous"
	ruleCold        = "cold-storage"
	ruleManagedKey  = "aws-managed-key"
	ruleNotCopyable = "type-not-copyable"
	ruleRetention   = "retention-vs-lock"
	ruleVaultSkip   = "vault-skipped"
)

var testRules = []string{ruleVaultSkip, ruleGone, ruleStatus, ruleContinuous, ruleCold, ruleNotCopyable, ruleManagedKey, ruleRetention}

// queryStore holds four RPs in two vaults: one copied, one failed, one
// excluded by a policy, one ineligible.
func queryStore(t *testing.T) *state.Store {
	t.Helper()
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	mk := func(vault, arn, typ, apmid string, created time.Time, d *state.Decision) *state.RP {
		rp := &state.RP{Arn: arn, Vault: vault, ResourceArn: "res-" + arn, ResourceType: typ, Status: "COMPLETED", CreationDate: created, Size: 1 << 30, Decision: d}
		if apmid != "" {
			rp.Enriched, rp.Meta = true, &state.Meta{Fields: map[string]string{"apmid": apmid, "owner": "ops"}}
		}
		return rp
	}
	inc := &state.Decision{Outcome: state.Included, Rule: "policy:apmid", Reason: "APMID present", PolicyHash: "h1", At: now}
	rps := map[string][]*state.RP{
		"a": {
			mk("a", "rp-copied", "EBS", "APM1", now.AddDate(0, -2, 0), inc),
			mk("a", "rp-failed", "RDS", "APM1", now.AddDate(0, -1, 0), inc),
		},
		"b": {
			mk("b", "rp-excluded", "EBS", "", now.AddDate(0, 0, -1), &state.Decision{Outcome: state.Excluded, Rule: "policy:apmid", Reason: "APMID missing", PolicyHash: "h1", At: now}),
			mk("b", "rp-ineligible", "EBS", "APM2", now, &state.Decision{Outcome: state.Ineligible, Rule: "engine:" + ruleCold, Reason: "in cold storage", PolicyHash: "h1", At: now}),
		},
	}
	for vault, list := range rps {
		if _, err := st.SavePage(&state.Partition{Vault: vault, ID: state.PartitionID("", 0), Generation: 1}, list, now); err != nil {
			t.Fatal(err)
		}
	}
	recs := []*state.CopyRecord{
		{Vault: "a", Arn: "rp-copied", State: state.CopyIntent, Token: "t1", Attempt: 1},
		{Vault: "a", Arn: "rp-failed", State: state.CopyIntent, Token: "t2", Attempt: 1},
	}
	if err := st.PutIntents(recs); err != nil {
		t.Fatal(err)
	}
	recs[0].State, recs[0].JobID = state.CopyCompleted, "job-1"
	recs[1].State, recs[1].JobID, recs[1].Reason = state.CopyFailed, "job-2", "InternalError: boom"
	recs[1].Attempts = []state.Attempt{{N: 1, JobID: "job-2", State: "FAILED", At: now}}
	if err := st.PutCopies(recs, nil); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestQueryFiltersCountAndGroup(t *testing.T) {
	st := queryStore(t)
	ctx := context.Background()
	for _, c := range []struct {
		fields map[string]string
		want   int64
	}{
		{nil, 4},
		{map[string]string{"vault": "a"}, 2},
		{map[string]string{"vault": "a,b"}, 4},
		{map[string]string{"status": "failed"}, 1},
		{map[string]string{"state": "completed,failed"}, 2},
		{map[string]string{"status": "excluded"}, 1},
		{map[string]string{"outcome": "ineligible"}, 1},
		{map[string]string{"resource_type": "EBS"}, 3},
		{map[string]string{"apmid": "APM1"}, 2},
		{map[string]string{"owner": "ops"}, 3},
		{map[string]string{"reason": "internalerror"}, 1},
		{map[string]string{"rule": "engine:"}, 1},
		{map[string]string{"created_before": "2025-12-01"}, 1},
		{map[string]string{"created_after": "2026-01-09T00:00:00Z"}, 2},
		{map[string]string{"status": "failed", "vault": "b"}, 0},
	} {
		f, err := ParseFilter(c.fields)
		if err != nil {
			t.Fatalf("%v: %v", c.fields, err)
		}
		if n, err := Count(ctx, st, f); err != nil || n != c.want {
			t.Errorf("count %v = %d, %v; want %d", c.fields, n, err, c.want)
		}
	}
	for _, bad := range []map[string]string{{"status": "bogus"}, {"outcome": "maybe"}, {"created_after": "yesterday"}} {
		if _, err := ParseFilter(bad); err == nil {
			t.Errorf("ParseFilter(%v) accepted it", bad)
		}
	}
	// A field that is neither a filter nor any RP's metadata column is
	// an error naming it, not a silent 0.
	if f, _ := ParseFilter(map[string]string{"ownr": "ops"}); true {
		if n, err := Count(ctx, st, f); err == nil || !strings.Contains(err.Error(), `metadata field "ownr"`) {
			t.Errorf("count{ownr=...} = %d, %v; want an error naming ownr", n, err)
		}
	}
	g, err := GroupBy(ctx, st, Filter{}, "vault")
	if err != nil || len(g) != 2 || g[0].Count != 2 || g[0].Bytes != 2<<30 {
		t.Errorf("group by vault = %+v, %v", g, err)
	}
	if _, err := GroupBy(ctx, st, Filter{}, ""); err == nil {
		t.Error("group without by= accepted")
	}
}

func TestExplainNamesTheDecidingRule(t *testing.T) {
	st := queryStore(t)
	ctx := context.Background()
	e, err := Explain(ctx, st, "rp-excluded", testRules)
	if err != nil {
		t.Fatal(err)
	}
	last := e.Steps[len(e.Steps)-1]
	if last.Check != "policy:apmid" || last.Result != state.Excluded || e.Summary != "excluded by policy:apmid: APMID missing" {
		t.Errorf("explain of an excluded RP: %+v", e)
	}
	e, err = Explain(ctx, st, "rp-ineligible", testRules)
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]string{}
	for _, s := range e.Steps {
		results[s.Check] = s.Result
	}
	if results["engine:"+ruleStatus] != "passed" || results["engine:"+ruleCold] != state.Ineligible ||
		results["engine:"+ruleRetention] != "not reached" || results["policies"] != "not reached" {
		t.Errorf("explain of an ineligible RP: %v", results)
	}
	if _, err := Explain(ctx, st, "nope", testRules); err == nil {
		t.Error("explain of an unknown ARN gave no error")
	}
}

func TestRequeueMovesOnlyFailedCopies(t *testing.T) {
	st := queryStore(t)
	ctx := context.Background()
	rows, err := RequeueCandidates(ctx, st, Filter{})
	if err != nil || len(rows) != 1 || rows[0].RP.Arn != "rp-failed" {
		t.Fatalf("candidates = %v, %v; want only the failed copy", rows, err)
	}
	keys := []state.CopyKey{{Vault: "a", Arn: "rp-failed"}, {Vault: "a", Arn: "rp-copied"}, {Vault: "b", Arn: "rp-excluded"}}
	n, err := StoreRequeuer{Store: st}.Requeue(ctx, keys)
	if err != nil || n != 1 {
		t.Fatalf("requeue = %d, %v; want 1", n, err)
	}
	c, _, _ := st.GetCopy("a", "rp-failed")
	if c.State != state.CopyRetry || c.NextAt != nil || c.Requeues != 1 || len(c.Attempts) != 1 || c.JobID != "job-2" {
		t.Errorf("requeued record %+v: want retry now, history and job id kept (the next attempt gets a new token)", c)
	}
	if c, _, _ := st.GetCopy("a", "rp-copied"); c.State != state.CopyCompleted || c.JobID != "job-1" {
		t.Errorf("a completed copy was touched: %+v", c)
	}
	if n, _ := (StoreRequeuer{Store: st}).Requeue(ctx, keys); n != 0 {
		t.Errorf("a second requeue moved %d", n)
	}
}

func TestResetPreviewAndReset(t *testing.T) {
	st := queryStore(t)
	ctx := context.Background()
	p, err := PreviewReset(ctx, st, ResetDecisions, "")
	if err != nil || p.Decisions != 2 || p.Kept != 2 {
		t.Fatalf("preview = %+v, %v; want 2 decisions cleared, the 2 copied RPs kept", p, err)
	}
	if _, err := PreviewReset(ctx, st, "everything", ""); err == nil {
		t.Error("unknown reset target accepted")
	}
	if n, err := Reset(st, ResetDecisions, "b"); err != nil || n != 2 {
		t.Fatalf("reset = %d, %v", n, err)
	}
	if n, _ := Count(ctx, st, Filter{Statuses: []string{Undecided}}); n != 2 {
		t.Errorf("%d undecided after the reset, want 2", n)
	}
	if c, _, _ := st.GetCopy("a", "rp-copied"); c == nil || c.State != state.CopyCompleted {
		t.Error("reset lost a copy record")
	}
}
