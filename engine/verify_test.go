package engine_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/verify"
)

// fakeDest lists destination vaults from memory, a few RPs per page.
type fakeDest struct {
	vaults map[string][]types.RecoveryPointByBackupVault
	calls  map[string]int
}

func (f *fakeDest) ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, _ ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error) {
	name := aws.ToString(in.BackupVaultName)
	f.calls[name]++
	rps, ok := f.vaults[name]
	if !ok {
		return nil, fmt.Errorf("ResourceNotFoundException: no vault %s", name)
	}
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	}
	end := min(start+7, len(rps))
	out := &backup.ListRecoveryPointsByBackupVaultOutput{RecoveryPoints: rps[start:end]}
	if end < len(rps) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

// destFor lays out the destination as a faithful copy of every completed
// record, plus unknown RPs.
func destFor(t *testing.T, st *state.Store, completed []*state.CopyRecord, unknown int) *fakeDest {
	t.Helper()
	f := &fakeDest{vaults: map[string][]types.RecoveryPointByBackupVault{}, calls: map[string]int{}}
	for i, rec := range completed {
		rp, ok, err := st.GetRP(rec.Vault, rec.Arn)
		if err != nil || !ok {
			t.Fatalf("no RP for %s: %v", rec.Arn, err)
		}
		name := strings.TrimPrefix(rec.DestVaultArn, "arn:aws:backup:us-east-1:"+fixtureDestAccount+":backup-vault:")
		d := types.RecoveryPointByBackupVault{RecoveryPointArn: aws.String(rec.DestRPArn), ResourceArn: aws.String(rp.ResourceArn),
			BackupSizeInBytes: aws.Int64(rp.Size)}
		switch {
		case rp.DeleteAfterDays != nil:
			d.Lifecycle = &types.Lifecycle{DeleteAfterDays: aws.Int64(*rp.DeleteAfterDays)}
		case i%2 == 0:
			d.Lifecycle = &types.Lifecycle{DeleteAfterDays: aws.Int64(-1)} // none, spelt -1
		}
		f.vaults[name] = append(f.vaults[name], d)
	}
	for i := range unknown {
		name := "ab-copy"
		f.vaults[name] = append(f.vaults[name], types.RecoveryPointByBackupVault{RecoveryPointArn: aws.String(fmt.Sprintf("arn:other-%d", i))})
	}
	for _, rps := range f.vaults {
		sort.Slice(rps, func(i, j int) bool {
			return aws.ToString(rps[i].RecoveryPointArn) < aws.ToString(rps[j].RecoveryPointArn)
		})
	}
	return f
}

func TestVerifyFindsMissingAndMismatchedCopies(t *testing.T) {
	st := openStore(t)
	completed := seedState(t, st, 200)
	dest := destFor(t, st, completed, 5)
	ctx := context.Background()

	rep, err := (&verify.Verifier{Store: st, Dest: dest}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(completed))
	if !rep.OK() || rep.Completed != n || rep.Verified != n || rep.Unknown != 5 || len(rep.Problems) != 0 {
		t.Fatalf("faithful destination: %+v, problems %v; want %d verified, 5 unknown", rep, rep.Problems, n)
	}
	if len(rep.Vaults) != 3 {
		t.Fatalf("want the 3 destination vaults with copies, got %d", len(rep.Vaults))
	}
	for name, c := range dest.calls {
		pages := (len(dest.vaults[name]) + 6) / 7
		if c != pages {
			t.Errorf("vault %s listed in %d calls, want %d pages once", name, c, pages)
		}
	}

	// Break three copies: one missing, one with the wrong size, one with
	// another lifecycle and resource.
	v := dest.vaults["abc-copy"]
	missing := v[0]
	dest.vaults["abc-copy"] = v[1:]
	v = dest.vaults["b-vault-copy"]
	v[0].BackupSizeInBytes = aws.Int64(*v[0].BackupSizeInBytes + 1)
	v[1].Lifecycle = &types.Lifecycle{DeleteAfterDays: aws.Int64(9999)}
	v[1].ResourceArn = aws.String("arn:aws:ec2:us-east-1:111111111111:volume/vol-elsewhere")
	clear(dest.calls)

	rep, err = (&verify.Verifier{Store: st, Dest: dest}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Missing != 1 || rep.Mismatched != 2 || rep.Verified != n-3 || len(rep.Problems) != 4 {
		t.Fatalf("after breaking 3 copies: completed %d verified %d missing %d mismatched %d, problems %d",
			rep.Completed, rep.Verified, rep.Missing, rep.Mismatched, len(rep.Problems))
	}
	fields := map[verify.Field]*verify.Problem{}
	for _, p := range rep.Problems {
		fields[p.Field] = p
		if p.SourceRPArn == "" || p.DestRPArn == "" {
			t.Errorf("problem without both ARNs: %+v", p)
		}
	}
	if p := fields[verify.Missing]; p == nil || p.DestRPArn != aws.ToString(missing.RecoveryPointArn) {
		t.Errorf("missing copy not named: %+v", p)
	}
	if p := fields[verify.Size]; p == nil || p.Want == p.Got {
		t.Errorf("size mismatch not reported: %+v", p)
	}
	if p := fields[verify.DeleteAfterDays]; p == nil || p.Got != "9999" {
		t.Errorf("lifecycle mismatch not reported: %+v", p)
	}
	if p := fields[verify.ResourceArn]; p == nil || !strings.HasSuffix(p.Got, "vol-elsewhere") {
		t.Errorf("resource mismatch not reported: %+v", p)
	}
	for _, vv := range rep.Vaults {
		if vv.Completed != vv.Verified+vv.Missing+vv.Mismatched {
			t.Errorf("vault %s: %d completed != %d verified + %d missing + %d mismatched", vv.Vault, vv.Completed, vv.Verified, vv.Missing, vv.Mismatched)
		}
	}
}

// hookDest runs a hook before its first listing: the state changing
// while a live verify lists the destination.
type hookDest struct {
	*fakeDest
	hook func()
}

func (h *hookDest) ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, o ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error) {
	if h.hook != nil {
		h.hook()
		h.hook = nil
	}
	return h.fakeDest.ListRecoveryPointsByBackupVault(ctx, in, o...)
}

// A live verify (a running run asked through its socket) reports a
// snapshot: copies that complete while it lists the destination are
// counted as running, not as completed and verified, so it never says
// more copies verified than completed.
func TestLiveVerifyIsASnapshot(t *testing.T) {
	st := openStore(t)
	completed := seedState(t, st, 200)
	var running []*state.CopyRecord
	err := st.ScanCopies(func(r *state.CopyRecord) error {
		if r.State == state.CopyRunning {
			c := *r
			running = append(running, &c)
		}
		return nil
	})
	if err != nil || len(running) == 0 {
		t.Fatalf("no running copies seeded: %v", err)
	}
	// The destination already lists the running copies (AWS made the
	// RPs; the run has not polled their jobs yet).
	for i, r := range running {
		r.State = state.CopyCompleted
		r.DestRPArn = fmt.Sprintf("arn:aws:ec2:us-east-1::image/ami-late-%d", i)
		at := r.IntentAt.Add(2 * time.Hour)
		r.CompletedAt = &at
	}
	dest := destFor(t, st, append(append([]*state.CopyRecord{}, completed...), running...), 5)
	for _, r := range running {
		r.State = state.CopyRunning // not yet in the state
	}
	hd := &hookDest{fakeDest: dest, hook: func() {
		for _, r := range running {
			r.State = state.CopyCompleted
		}
		if err := st.PutCopies(running, nil); err != nil {
			t.Error(err)
		}
	}}
	rep, err := (&verify.Verifier{Store: st, Dest: hd, Live: true}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(completed))
	if rep.Completed != n || rep.Verified != n || rep.Missing != 0 || rep.Mismatched != 0 || !rep.OK() {
		t.Errorf("live verify while %d copies complete: completed %d verified %d missing %d mismatched %d; want %d of %d verified",
			len(running), rep.Completed, rep.Verified, rep.Missing, rep.Mismatched, n, n)
	}
	if rep.Running != int64(len(running)) || rep.Unknown != 5 {
		t.Errorf("live verify: running %d, unknown %d; want the %d copies that completed meanwhile as running and the 5 others unknown",
			rep.Running, rep.Unknown, len(running))
	}
	// The next verify sees them completed and verified.
	rep, err = (&verify.Verifier{Store: st, Dest: dest, Live: true}).Run(context.Background())
	if err != nil || rep.Completed != n+int64(len(running)) || rep.Verified != rep.Completed {
		t.Errorf("the verify after: %v, %d of %d verified; want %d", err, rep.Verified, rep.Completed, n+int64(len(running)))
	}
}
