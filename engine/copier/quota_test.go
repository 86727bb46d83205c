package copier

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Refusals in words shuffle cannot place, against a fake AWS that
// enforces the quotas (quota_fake_test.go). The run's cap decreases are
// what the tests read: a cap lowered by mistake is the failure.

func totalVaultCuts(c *Copier) (n int) {
	for _, k := range c.cuts.vault {
		n += k
	}
	return n
}

// Busy resources (the source account's own backup jobs) refuse one
// start in five, in unknown words, across many resources and vaults,
// with successes in between: each refused resource waits, and neither
// a vault's cap nor the global cap is lowered.
func TestUnknownLimitOnBusyResourcesLowersNoCap(t *testing.T) {
	f := newQuotaAWS(1)
	f.unknown, f.busyEvery = true, 5
	st, targets, _ := quotaEstate(t, f, 3, 30, 2)
	c, sum := runQuota(t, f, st, targets, 40)
	exactlyOnce(t, f, sum)
	if f.refusals["busy"] < 10 {
		t.Fatalf("%d busy refusals; the test proves nothing", f.refusals["busy"])
	}
	if c.cuts.account != 0 || totalVaultCuts(c) != 0 || c.s.cap != 40 {
		t.Errorf("global cap lowered %d times (now %v), vault caps %v, after %d busy-resource refusals in unknown words; want none",
			c.cuts.account, c.s.cap, c.cuts.vault, f.refusals["busy"])
	}
	for _, v := range c.s.vaults {
		if v.cap != v.maxCap {
			t.Errorf("vault %s cap %v of %v; want untouched", v.name, v.cap, v.maxCap)
		}
	}
}

// One destination vault takes 3 jobs at once and refuses the others in
// unknown words while the other vaults take everything: that vault's
// cap is lowered, no other cap is, and the refusals stay few.
func TestUnknownLimitOfOneVaultLowersThatVaultOnly(t *testing.T) {
	f := newQuotaAWS(2)
	f.unknown = true
	st, targets, _ := quotaEstate(t, f, 3, 20, 2)
	f.vaultCaps[targets["v1"].Arn] = 3
	c, sum := runQuota(t, f, st, targets, 60)
	t.Logf("refusals %v, starts %d, cuts %v / %d, v1 cap %v ceiling %v", f.refusals, f.starts, c.cuts.vault, c.cuts.account, c.s.byName["v1"].cap, c.s.byName["v1"].maxCap)
	exactlyOnce(t, f, sum)
	if f.refusals["vault"] == 0 {
		t.Fatal("no vault refusal; the test proves nothing")
	}
	if c.cuts.vault["v1"] == 0 || c.cuts.vault["v0"] != 0 || c.cuts.vault["v2"] != 0 || c.cuts.account != 0 {
		t.Errorf("cap decreases: vaults %v, global %d; want v1's only", c.cuts.vault, c.cuts.account)
	}
	// Hammering would refuse most starts into v1 (40 jobs); AWS's own
	// words cost about one refusal per job.
	if n := f.refusals["vault"]; n > 60 {
		t.Errorf("%d refusals for v1's cap for its 40 jobs; shuffle keeps hammering it", n)
	}
}

// The account takes 6 jobs at once and refuses the rest in unknown
// words, in every vault: the global cap is lowered.
func TestUnknownLimitOfTheAccountLowersTheGlobalCap(t *testing.T) {
	f := newQuotaAWS(3)
	f.unknown, f.accountCap = true, 6
	st, targets, _ := quotaEstate(t, f, 6, 8, 2)
	c, sum := runQuota(t, f, st, targets, 40)
	t.Logf("refusals %v, starts %d, cuts %v / %d, cap %v", f.refusals, f.starts, c.cuts.vault, c.cuts.account, c.s.cap)
	exactlyOnce(t, f, sum)
	if f.refusals["account"] == 0 {
		t.Fatal("no account refusal; the test proves nothing")
	}
	if c.cuts.account == 0 || c.s.cap >= 40 {
		t.Errorf("global cap lowered %d times (now %v) after %d account refusals; want lowered", c.cuts.account, c.s.cap, f.refusals["account"])
	}
	if n := f.refusals["account"]; n > 2*96 {
		t.Errorf("%d refusals for the account's cap for 96 jobs; shuffle keeps hammering it", n)
	}
}

// A vault with fewer chains left than the evidence for its cap needs,
// full, refusing in unknown words: the refused chains back off as busy
// resources (here for 5 s), and the jobs that end wake them, so the
// copies do not wait out the backoff.
func TestUnknownLimitWithFewChainsDoesNotWaitOutTheBackoff(t *testing.T) {
	f := newQuotaAWS(6)
	f.unknown = true
	st, targets, _ := quotaEstate(t, f, 1, 3, 4)
	f.vaultCaps[targets["v0"].Arn] = 2
	c := &Copier{Store: st, Jobs: f, Dest: f, Targets: targets, CopyRole: "arn:aws:iam::111111111111:role/copy",
		Opts: Options{MaxInFlight: 10, PollMin: 3 * time.Millisecond, PollMax: 20 * time.Millisecond, BusyBackoff: 5 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sum, err := c.Run(ctx, Bounds{})
	if err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, f, sum)
	if f.refusals["vault"] == 0 {
		t.Fatal("no refusal; the test proves nothing")
	}
	// 12 jobs of 30 ms, 2 at a time: well under a second; waiting out
	// the backoff takes 5 s or more.
	if sum.Elapsed > 4*time.Second {
		t.Errorf("the copy took %v after %d refusals; the refused chains waited out their backoff", sum.Elapsed, f.refusals["vault"])
	}
}

// AWS's own words for the vault and the account still work, and so do
// they when they come for the other scope's refusal: a text naming the
// account never collapses the global cap on its own.
func TestKnownLimitTextsAreCorroborated(t *testing.T) {
	f := newQuotaAWS(4)
	st, targets, _ := quotaEstate(t, f, 3, 20, 2)
	f.vaultCaps[targets["v1"].Arn] = 3
	c, sum := runQuota(t, f, st, targets, 60)
	t.Logf("refusals %v, starts %d, cuts %v / %d", f.refusals, f.starts, c.cuts.vault, c.cuts.account)
	exactlyOnce(t, f, sum)
	if c.cuts.vault["v1"] == 0 || c.cuts.account != 0 || c.s.byName["v1"].maxCap > 4 {
		t.Errorf("known vault text: cuts %v / %d, v1 ceiling %v; want v1's cap learnt", c.cuts.vault, c.cuts.account, c.s.byName["v1"].maxCap)
	}
}

// The account's own words, from the account's cap, lower the global
// cap; the same words for busy resources (with successes between them)
// do not collapse it: the wording shortens the evidence, it does not
// replace it.
func TestAccountTextsAreCorroborated(t *testing.T) {
	f := newQuotaAWS(7)
	f.accountCap = 6
	st, targets, _ := quotaEstate(t, f, 6, 8, 2)
	c, sum := runQuota(t, f, st, targets, 40)
	exactlyOnce(t, f, sum)
	if f.refusals["account"] == 0 || c.cuts.account == 0 {
		t.Errorf("%d account refusals in its own words, global cap lowered %d times; want lowered", f.refusals["account"], c.cuts.account)
	}
	f = newQuotaAWS(8)
	f.misworded, f.busyEvery = true, 5
	st, targets, _ = quotaEstate(t, f, 3, 30, 2)
	c, sum = runQuota(t, f, st, targets, 40)
	exactlyOnce(t, f, sum)
	if f.refusals["busy"] < 10 {
		t.Fatalf("%d busy refusals; the test proves nothing", f.refusals["busy"])
	}
	// A chance cluster of busy resources in the first burst of starts
	// (all sent before any answer) may cost one 30% cut; a collapse
	// would take several. One cut lands at 70% of the jobs in flight at
	// that moment, which on a busy machine may be well under 40: the
	// floor only tells one cut from a collapse.
	if c.cuts.account > 1 || c.s.cap < 10 {
		t.Errorf("busy resources refused in the account's words lowered the global cap %d times (now %v); want at most once, never collapsed", c.cuts.account, c.s.cap)
	}
}

// A FAILED job with no category and a message in unknown words is
// retried with a new attempt until the attempt limit: one job per
// attempt, never two at once; one that fails once then completes. A
// category AWS gives as a configuration problem fails at once, whatever
// the words; the wording only adds a hint.
func TestFailedJobsInUnknownWordsAreRetried(t *testing.T) {
	f := newQuotaAWS(5)
	st, targets, _ := quotaEstate(t, f, 1, 4, 1)
	always, once, denied := "arn:aws:ec2:us-east-1::snapshot/snap-0-0-0", "arn:aws:ec2:us-east-1::snapshot/snap-0-1-0", "arn:aws:ec2:us-east-1::snapshot/snap-0-2-0"
	f.failing[always] = &failSpec{n: 99, msg: "Copy job failed because of an unexpected condition (ref 7e1)"}
	f.failing[once] = &failSpec{n: 1, msg: "The source recovery point does not exist"}
	f.failing[denied] = &failSpec{n: 99, msg: "Something went wrong", cat: "ACCESS_DENIED"}
	_, sum := runQuota(t, f, st, targets, 10)
	jobs := map[string][]*fakeJob{}
	for _, j := range f.jobs {
		jobs[j.rp] = append(jobs[j.rp], j)
	}
	for rp, want := range map[string]int{always: 3, once: 2, denied: 1} {
		js := jobs[rp]
		if len(js) != want {
			t.Errorf("%s: %d jobs; want %d (one per attempt)", rp, len(js), want)
		}
		for i := 1; i < len(js); i++ {
			if js[i].created.Before(js[i-1].end) {
				t.Errorf("%s: job %d started before job %d ended", rp, i+1, i)
			}
		}
	}
	if f.doubles != 0 {
		t.Errorf("%d starts for an RP whose job was running", f.doubles)
	}
	check := func(rp, wantState, wantCat string, wantAttempt int, reasonHas ...string) {
		t.Helper()
		rec, _, err := st.GetCopy("v0", rp)
		if err != nil || rec == nil {
			t.Fatalf("%s: no record (%v)", rp, err)
		}
		if rec.State != wantState || rec.Category != wantCat || rec.Attempt != wantAttempt {
			t.Errorf("%s: %s, category %q, attempt %d; want %s, %q, %d", rp, rec.State, rec.Category, rec.Attempt, wantState, wantCat, wantAttempt)
		}
		for _, s := range reasonHas {
			if !strings.Contains(rec.Reason, s) {
				t.Errorf("%s: reason %q does not say %q", rp, rec.Reason, s)
			}
		}
	}
	check(always, state.CopyFailed, uncategorized, 3, "unexpected condition (ref 7e1)", "gave up after 3 attempts")
	check(once, state.CopyCompleted, "", 2)
	check(denied, state.CopyFailed, "ACCESS_DENIED", 1, "ACCESS_DENIED: Something went wrong")
	if sum.Completed != 2 || sum.Failed != 2 {
		t.Errorf("summary: %d completed, %d failed; want 2 and 2", sum.Completed, sum.Failed)
	}
}

// The reading of a FAILED job: the category decides, the wording only
// adds a hint.
func TestReadJobFailure(t *testing.T) {
	for _, tc := range []struct {
		cat, msg string
		retry    bool
		category string
		hint     bool
	}{
		{"", "Copy job failed because the destination backup vault x does not exist.", true, uncategorized, true},
		{"", "The recovery point retention of 3 days is less than the vault lock minimum", true, uncategorized, true},
		{"", "Something unexpected", true, uncategorized, false},
		{"InternalError", "Copy job failed because of an internal service error. Retry the copy job.", true, "InternalError", false},
		{"SomeFutureCategory", "access policy does not allow", true, "SomeFutureCategory", true},
		{"AccessDenied", "whatever", false, "AccessDenied", false},
		{"ACCESS_DENIED", "", false, "ACCESS_DENIED", false},
		{"InvalidParameters", "x", false, "InvalidParameters", false},
		{"ResourceNotFound", "x", false, "ResourceNotFound", false},
	} {
		f := readJobFailure(tc.cat, tc.msg)
		if f.Retry != tc.retry || f.Category != tc.category || (f.Hint != "") != tc.hint {
			t.Errorf("readJobFailure(%q, %q) = %+v; want retry %v, category %q, hint %v", tc.cat, tc.msg, f, tc.retry, tc.category, tc.hint)
		}
	}
	if r := readJobFailure("", "x").reason("FAILED", "", "x"); r != "FAILED without a category: x" {
		t.Errorf("reason %q", r)
	}
}

// The evidence rule itself, refusal by refusal (K is minSpread here:
// no busy resource was seen).
func TestLimitEvidence(t *testing.T) {
	const k = minSpread
	a := &vaultSched{name: "a"}
	var e limitEvidence
	at := level{acct: 10, vault: 5}
	refuse := func(prefix string, n int, vs []*vaultSched, class awsclient.Class) limitScope {
		t.Helper()
		for i := 0; i < n-1; i++ {
			if s := e.refused(fmt.Sprint(prefix, i), vs[i%len(vs)], class, at); s != scopeResource {
				t.Fatalf("%s: refusal %d of %d read as %v", prefix, i+1, n, s)
			}
		}
		return e.refused(fmt.Sprint(prefix, n-1), vs[(n-1)%len(vs)], class, at)
	}
	// One resource refused again and again is that resource.
	for i := 0; i < 20; i++ {
		if s := e.refused("r1", a, awsclient.LimitUnknown, at); s != scopeResource {
			t.Fatalf("refusal %d of one resource read as %v", i+1, s)
		}
	}
	// Distinct resources with a success into the vault between them.
	e = limitEvidence{}
	for i := 0; i < 40; i++ {
		if s := e.refused(fmt.Sprint("s", i), a, awsclient.LimitUnknown, at); s != scopeResource {
			t.Fatalf("busy resource %d read as %v", i, s)
		}
		if i%(k-1) == k-2 {
			e.started(a, ^uint64(0))
		}
	}
	// K resources of one vault in a row: its cap.
	e = limitEvidence{}
	if s := refuse("v", k, []*vaultSched{a}, awsclient.LimitUnknown); s != scopeVault {
		t.Fatalf("%d refusals in one vault read as %v, want vault", k, s)
	}
	// Once a vault was found full, a refusal there at that level needs
	// two resources only.
	if a.fullAt != 5 {
		t.Fatalf("vault a found full at %d jobs, want 5", a.fullAt)
	}
	if s := refuse("f", namedSpread, []*vaultSched{a}, awsclient.LimitUnknown); s != scopeVault {
		t.Fatalf("%d refusals at the full level read as %v", namedSpread, s)
	}
	// 2K resources over four vaults, none refusing K: the account.
	vs := []*vaultSched{{name: "a"}, {name: "b"}, {name: "c"}, {name: "d"}}
	e = limitEvidence{}
	if s := refuse("x", 2*k, vs, awsclient.LimitUnknown); s != scopeAccount {
		t.Fatalf("%d resources in 4 vaults read as %v, want account", 2*k, s)
	}
	// A text naming the account needs K resources (in two vaults), not 2K.
	vs = []*vaultSched{{name: "a"}, {name: "b"}}
	e = limitEvidence{}
	if s := refuse("k", k, vs, awsclient.LimitAccount); s != scopeAccount {
		t.Fatalf("%d account-worded refusals in two vaults read as %v, want account", k, s)
	}
	// A text naming the vault needs two of its resources; one is not enough.
	vs = []*vaultSched{{name: "a"}}
	e = limitEvidence{}
	if s := refuse("w", namedSpread, vs, awsclient.LimitVault); s != scopeVault {
		t.Fatalf("%d vault-worded refusals read as %v, want vault", namedSpread, s)
	}
	// Busy resources seen often raise K.
	a, e = &vaultSched{name: "fresh"}, limitEvidence{}
	for i := 0; i < 400; i++ {
		e.refused(fmt.Sprint("b", i), a, awsclient.LimitUnknown, at)
		if i%2 != 0 {
			e.started(a, ^uint64(0))
		}
	}
	if got := e.spread(); got <= minSpread || got > maxSpread {
		t.Errorf("K %d after a busy share of %.2f; want above %d, at most %d", got, e.busy, minSpread, maxSpread)
	}
}
