package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
	"github.com/shuffle-migrate/shuffle/engine/metadata"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// The plan counted during the decide pass must equal the plan built by
// scanning the state afterwards.
func TestDecidePassAggregateEqualsScannedPlan(t *testing.T) {
	for _, fused := range []bool{false, true} {
		t.Run(map[bool]string{false: "enrich-then-decide", true: "join-in-decide"}[fused], func(t *testing.T) {
			testAggregate(t, fused)
		})
	}
}

func testAggregate(t *testing.T, fused bool) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 1200})
	src := backup.NewFromConfig(env.Config(t, testenv.ProfileSource))
	dst := backup.NewFromConfig(env.Config(t, testenv.ProfileDestination))
	st := openStore(t)
	ctx := context.Background()
	if _, err := (&inventory.Inventory{Store: st, Source: src, Destination: dst}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	table, err := metadata.Read("metadata.csv", bytes.NewReader(env.Metadata()))
	if err != nil {
		t.Fatal(err)
	}
	if !fused {
		if _, err := plan.Enrich(ctx, st, table, "h1"); err != nil {
			t.Fatal(err)
		}
	}
	_, file, _, _ := runtime.Caller(0)
	pol, err := luabind.LoadPolicies(scriptconfig.PolicyConfig{Dir: filepath.Join(filepath.Dir(file), "..", "policies"), Decide: []string{"apmid"}, Vaults: "vaults", Tags: "tags"})
	if err != nil {
		t.Fatal(err)
	}
	d := &plan.Decider{Store: st, Policies: pol}
	if fused {
		d.Table = table
	}
	sum, err := d.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Agg == nil || sum.Redecided == 0 {
		t.Fatalf("a first decide pass must decide and aggregate: %+v", sum)
	}
	w, err := pol.NewWorker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	plans, err := plan.MapVaults(ctx, st, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	fromAgg, err := d.Agg.Plan(ctx, plans, replicate.PlanDestination, table, now)
	if err != nil {
		t.Fatal(err)
	}
	scanned, err := plan.BuildPlan(ctx, st, plans, replicate.PlanDestination, table, now)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromAgg)
	b, _ := json.Marshal(scanned)
	if !bytes.Equal(a, b) {
		t.Fatalf("aggregate plan differs from scanned plan:\n%s\n%s", a, b)
	}
	if scanned.Warnings.RPsWithoutMetadata == 0 || len(scanned.Warnings.Conflicts) == 0 {
		t.Fatalf("the join did not reach the RPs: %+v", scanned.Warnings)
	}
	if scanned.Totals.Included != sum.Included || scanned.Totals.RecoveryPoints == 0 {
		t.Fatalf("plan totals %+v disagree with the decide summary %+v", scanned.Totals, sum)
	}
}

// sessionConfig is a script configuration for env (the repository's
// policies, env's metadata) and the clients a Session uses for it.
func sessionConfig(t *testing.T, env *testenvtest.Env) (scriptconfig.Config, func(scriptconfig.Config) (engine.AccountAPI, engine.AccountAPI, error)) {
	t.Helper()
	csv := filepath.Join(t.TempDir(), "metadata.csv")
	if err := os.WriteFile(csv, env.Metadata(), 0o600); err != nil {
		t.Fatal(err)
	}
	_, file, _, _ := runtime.Caller(0)
	cfg := scriptconfig.Config{
		Source:      scriptconfig.Endpoint{Profile: testenv.ProfileSource, Account: "111111111111", Region: "us-east-1"},
		Destination: scriptconfig.Endpoint{Profile: testenv.ProfileDestination, Account: "222222222222", Region: "us-east-1"},
		Metadata:    csv,
		Policies:    scriptconfig.PolicyConfig{Dir: filepath.Join(filepath.Dir(file), "..", "policies"), Decide: []string{"apmid"}, Vaults: "vaults", Tags: "tags"},
	}
	clients := func(scriptconfig.Config) (engine.AccountAPI, engine.AccountAPI, error) {
		return backup.NewFromConfig(env.Config(t, testenv.ProfileSource)), backup.NewFromConfig(env.Config(t, testenv.ProfileDestination)), nil
	}
	return cfg, clients
}

// A session's inventory joins and decides each RP as it lists it, so
// that a cold run writes every RP once. The decisions and the plan must
// be the ones the separate enrich and decide passes make.
func TestListingDecidesLikeTheDecidePass(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 1200})
	cfg, clients := sessionConfig(t, env)
	ctx := context.Background()
	s := &engine.Session{Options: engine.Options{StateDir: filepath.Join(t.TempDir(), "state"), Clients: clients, DryRun: true, DecideWhileListing: true}}
	if err := s.Configure(cfg); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Inventory(ctx); err != nil {
		t.Fatal(err)
	}
	decided := map[string]string{}
	if err := s.Store.ScanRPs(func(rp *state.RP) error {
		if rp.Decision == nil || !rp.Enriched {
			t.Fatalf("RP %s was listed without its decision or metadata", rp.Arn)
		}
		decided[rp.Arn] = rp.Decision.Outcome + "/" + rp.Decision.Reason + "/" + rp.Decision.PolicyHash + "/" + rp.MetaHash
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	before, err := s.Store.Epochs()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enrich(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := s.Decide(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after, err := s.Store.Epochs(); err != nil || after != before {
		t.Fatalf("the enrich and decide steps after a deciding listing wrote records: epochs %+v, then %+v (%v)", before, after, err)
	}
	if s.DecideSummary.Redecided != int64(len(decided)) {
		t.Fatalf("decided in this run: %d, want the %d RPs listed (%v)", s.DecideSummary.Redecided, len(decided), out)
	}
	// The same state decided from scratch by the passes gives the same
	// decisions.
	if _, err := s.Store.ResetDecisions(""); err != nil {
		t.Fatal(err)
	}
	d := &plan.Decider{Store: s.Store, Policies: s.Policies, Table: s.Table}
	sum, err := d.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Redecided != int64(len(decided)) || sum.Included != s.DecideSummary.Included || sum.Ineligible != s.DecideSummary.Ineligible {
		t.Fatalf("decide pass %+v, listing %+v", sum, s.DecideSummary)
	}
	if err := s.Store.ScanRPs(func(rp *state.RP) error {
		got := rp.Decision.Outcome + "/" + rp.Decision.Reason + "/" + rp.Decision.PolicyHash + "/" + rp.MetaHash
		if got != decided[rp.Arn] {
			t.Fatalf("RP %s: decide pass %q, listing %q", rp.Arn, got, decided[rp.Arn])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// A plan on an empty state counts as it lists: the enrich and decide
// steps and the report then read no RP record, and what they report is
// what scanning the state reports. The vaults are split into partitions
// (by type and by year) as a large vault's would be.
func TestColdPlanCountsWhileListing(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 3000})
	cfg, clients := sessionConfig(t, env)
	ctx := context.Background()
	s := &engine.Session{Options: engine.Options{StateDir: filepath.Join(t.TempDir(), "state"), Clients: clients, DryRun: true, DecideWhileListing: true,
		SplitAbove: 30, PageSize: 25}}
	if err := s.Configure(cfg); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Inventory(ctx); err != nil {
		t.Fatal(err)
	}
	scans := s.Store.FullScans()
	if _, err := s.Enrich(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Plan(ctx, "x.lua")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Store.FullScans(); n != 0 || scans != 0 {
		t.Errorf("a cold plan read every RP record %d times while listing and %d times after it; want none", scans, n-scans)
	}
	if s.InventorySummary.Partitions <= 14 {
		t.Fatalf("only %d partitions: the vaults were not split", s.InventorySummary.Partitions)
	}

	// What the scans would have said.
	live, err := s.Store.CountLive()
	if err != nil {
		t.Fatal(err)
	}
	if live == 0 || s.InventorySummary.RecoveryPoints != live {
		t.Errorf("inventory counted %d recovery points, the state holds %d", s.InventorySummary.RecoveryPoints, live)
	}
	enr, err := plan.EnrichCounts(ctx, s.Store, s.Table)
	if err != nil {
		t.Fatal(err)
	}
	if s.EnrichSummary != enr {
		t.Errorf("enrich summary %+v, a scan counts %+v", s.EnrichSummary, enr)
	}
	var want plan.DecideSummary
	if err := s.Store.ScanRPs(func(rp *state.RP) error {
		switch rp.Decision.Outcome {
		case state.Included:
			want.Included++
		case state.Excluded:
			want.Excluded++
		case state.Ineligible:
			want.Ineligible++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want.Redecided = live
	if s.DecideSummary != want {
		t.Errorf("decide summary %+v, a scan counts %+v", s.DecideSummary, want)
	}
	w, err := s.Policies.NewWorker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// As the session maps vaults: without KMS clients, no alias is known
	// and none resolves.
	_, aliasErr := kmskeys.ListAliases(ctx, nil)
	plans, err := plan.MapVaults(ctx, s.Store, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := replicate.ResolveKeys(ctx, plans, kmskeys.NewResolver(nil), testenv.DestinationAccount, aliasErr); err != nil {
		t.Fatal(err)
	}
	scanned, err := plan.BuildPlan(ctx, s.Store, plans, replicate.PlanDestination, s.Table, got.GeneratedAt)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(struct {
		T plan.Counts
		V []plan.VaultReport
		W any
	}{got.Totals, got.Vaults, got.Warnings})
	b, _ := json.Marshal(struct {
		T plan.Counts
		V []plan.VaultReport
		W any
	}{scanned.Totals, scanned.Vaults, scanned.Warnings})
	if !bytes.Equal(a, b) {
		t.Fatalf("plan counted while listing differs from the scanned plan:\n%s\n%s", a, b)
	}

	// A second plan on the same state is not cold: it answers from the
	// caches, and lists only each vault's delta (one page each, nothing
	// new).
	s2 := &engine.Session{Options: engine.Options{StateDir: s.StateDir, Clients: clients, DryRun: true, DecideWhileListing: true, SplitAbove: 30, PageSize: 25}}
	s.Close()
	if err := s2.Configure(cfg); err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := s2.Plan(ctx, "x.lua")
	if err != nil {
		t.Fatal(err)
	}
	if inv := s2.InventorySummary; again.Totals.RecoveryPoints != live || again.Totals.Included != want.Included || inv.ListedPages != int64(inv.Vaults) || inv.Deltas != inv.Vaults || inv.New != 0 {
		t.Errorf("resumed plan: totals %+v, %d pages listed", again.Totals, s2.InventorySummary.ListedPages)
	}
}

// A decision made before an RP's cold storage date is made again once
// the date has passed, even when nothing else changed.
func TestDecisionRedoneAfterColdDate(t *testing.T) {
	st := openStore(t)
	_, file, _, _ := runtime.Caller(0)
	pol, err := luabind.LoadPolicies(scriptconfig.PolicyConfig{Dir: filepath.Join(filepath.Dir(file), "..", "policies"), Decide: []string{"apmid"}, Vaults: "vaults", Tags: "tags"})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if err := st.PutVault(&state.Vault{Side: state.Source, Name: "vault-1", Arn: "arn:aws:backup:us-east-1:111111111111:backup-vault:vault-1", VaultType: "BACKUP_VAULT"}); err != nil {
		t.Fatal(err)
	}
	cold := t0.Add(48 * time.Hour)
	rp := &state.RP{Arn: "arn:aws:ec2:us-east-1::snapshot/snap-1", Vault: "vault-1", ResourceArn: "arn:aws:ec2:us-east-1:111111111111:volume/vol-1",
		ResourceType: "EBS", Status: "COMPLETED", CreationDate: t0.Add(-time.Hour), MoveToColdAt: &cold,
		EncryptionKeyArn: "arn:aws:kms:us-east-1:111111111111:key/k", IsEncrypted: true}
	if _, err := st.SavePage(&state.Partition{Vault: "vault-1", ID: state.PartitionID("", 0), Generation: 1}, []*state.RP{rp}, t0); err != nil {
		t.Fatal(err)
	}
	outcome := func(now time.Time) string {
		t.Helper()
		if _, err := (&plan.Decider{Store: st, Policies: pol, Now: func() time.Time { return now }}).Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, _, err := st.GetRP("vault-1", rp.Arn)
		if err != nil || got.Decision == nil {
			t.Fatalf("no decision: %v", err)
		}
		return got.Decision.Outcome + " " + got.Decision.Rule
	}
	before := outcome(t0)
	if before == state.Ineligible+" engine:cold-storage" {
		t.Fatalf("decided cold before its date: %s", before)
	}
	if after := outcome(cold.Add(time.Hour)); after != state.Ineligible+" engine:cold-storage" {
		t.Fatalf("after its cold date the RP is %s (before: %s)", after, before)
	}
}

func openStore(t *testing.T) *state.Store {
	t.Helper()
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Copies change no decision: after intents are written, the decide step
// stands on its cache, reads no RP record, and counts the RPs now kept
// from the counters, as a full pass counts them.
func TestDecideStandsAcrossCopies(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 1500})
	cfg, clients := sessionConfig(t, env)
	ctx := context.Background()
	// testenv's KMS describes the keys, so the decisions are final.
	keys := kmskeys.Accounts{Source: kms.NewFromConfig(env.Config(t, testenv.ProfileSource)), Destination: kms.NewFromConfig(env.Config(t, testenv.ProfileDestination))}
	s := &engine.Session{Options: engine.Options{StateDir: filepath.Join(t.TempDir(), "state"), Clients: clients, DryRun: true, DecideWhileListing: true,
		KMSClients: func(scriptconfig.Config) kmskeys.Accounts { return keys }}}
	if err := s.Configure(cfg); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Inventory(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx); err != nil {
		t.Fatal(err)
	}
	var recs []*state.CopyRecord
	err := s.Store.ScanRPs(func(rp *state.RP) error {
		if rp.Decision != nil && rp.Decision.Outcome == state.Included && len(recs) < 40 {
			recs = append(recs, &state.CopyRecord{Vault: rp.Vault, Arn: rp.Arn, State: state.CopyIntent, Token: "t-" + rp.Arn, Size: rp.Size})
		}
		return nil
	})
	if err != nil || len(recs) == 0 {
		t.Fatalf("no included RP to copy: %v", err)
	}
	if err := s.Store.PutIntents(recs); err != nil {
		t.Fatal(err)
	}
	scans := s.Store.FullScans()
	if _, err := s.Decide(ctx); err != nil {
		t.Fatal(err)
	}
	cached := s.DecideSummary
	if n := s.Store.FullScans() - scans; n != 0 {
		t.Errorf("after copies the decide step read every RP %d times; want its cache", n)
	}
	if cached.Kept != int64(len(recs)) {
		t.Errorf("kept %d after %d intents", cached.Kept, len(recs))
	}
	// A full pass (forced by a new decision epoch) counts the same.
	if err := s.Store.MarkDirty(state.EpochDecision); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx); err != nil {
		t.Fatal(err)
	}
	full := s.DecideSummary
	if s.Store.FullScans() == scans {
		t.Fatal("the forced pass read nothing; the test proves nothing")
	}
	if full != cached {
		t.Errorf("decide from the cache %+v, a full pass %+v", cached, full)
	}
}
