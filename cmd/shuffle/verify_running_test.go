package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// TestVerifyCountsCopiesUnderWayAsRunning: destination RPs of copies
// the state does not record as completed yet are counted as running,
// not as foreign (not shuffle's). The state is the one a run leaves
// when it stops after AWS finished some copies and before its poll saw
// them end: their records say running (or retry, or intent), name no
// destination RP, and their destination RPs are listed.
func TestVerifyCountsCopiesUnderWayAsRunning(t *testing.T) {
	workspace(t, 300)
	stateDir := filepath.Join(t.TempDir(), "state")
	if code, out, errs := shuffle(t, "run", "examples/migrate.lua", "--state", stateDir); code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	done := completedCopies(t, stateDir)
	before := verifyJSON(t, stateDir, 0)
	if before.Running != 0 {
		t.Fatalf("verify after a finished run counts %d copies running", before.Running)
	}

	// Three completed copies into the vault with the most go back to
	// being under way; the vault keeps completed ones, so it is listed.
	byVault := map[string][]*state.CopyRecord{}
	var most string
	for _, c := range done {
		byVault[c.DestVaultArn] = append(byVault[c.DestVaultArn], c)
		if len(byVault[c.DestVaultArn]) > len(byVault[most]) {
			most = c.DestVaultArn
		}
	}
	if len(byVault[most]) < 5 {
		t.Fatalf("no destination vault with 5 completed copies (most: %d in %s)", len(byVault[most]), most)
	}
	var back []*state.CopyRecord
	for i, st := range []string{state.CopyRunning, state.CopyRetry, state.CopyIntent} {
		r := *byVault[most][i]
		r.State, r.DestRPArn, r.CompletedAt, r.DestSize, r.TagState = st, "", nil, 0, ""
		back = append(back, &r)
	}
	st, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutCopies(back, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()

	rep := verifyJSON(t, stateDir, 0)
	if rep.Running != 3 || rep.Unknown != before.Unknown || rep.Completed != before.Completed-3 || rep.Verified != before.Verified-3 {
		t.Fatalf("verify with 3 copies under way: completed %d verified %d running %d unknown %d; want %d, %d, 3 running, %d unknown as before",
			rep.Completed, rep.Verified, rep.Running, rep.Unknown, before.Completed-3, before.Verified-3, before.Unknown)
	}
	var sum int64
	for _, v := range rep.Vaults {
		sum += v.Running
		if v.Arn == most && v.Running != 3 {
			t.Errorf("vault %s: running %d, want 3", v.Vault, v.Running)
		}
	}
	if sum != rep.Running {
		t.Errorf("the vaults' running add up to %d, the total says %d", sum, rep.Running)
	}

	code, out, errs := shuffle(t, "verify", "examples/migrate.lua", "--state", stateDir)
	if code != 0 || !strings.Contains(out, "RUNNING") {
		t.Fatalf("verify: exit %d, no RUNNING column\n%s%s", code, out, errs)
	}
	if !regexp.MustCompile(`(?m)^TOTAL\s+\d+\s+\d+\s+0\s+0\s+3\s+\d+\s*$`).MatchString(out) {
		t.Fatalf("the TOTAL line does not count 3 running:\n%s", out)
	}
}
