package copier

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// fakeAWS answers ListCopyJobs from jobs and the destination listing
// from dest; StartCopyJob must not be called.
type fakeAWS struct {
	t      *testing.T
	jobs   []types.CopyJob
	dest   []types.RecoveryPointByBackupVault
	lists  int
	starts int
}

func (f *fakeAWS) StartCopyJob(ctx context.Context, in *backup.StartCopyJobInput, _ ...func(*backup.Options)) (*backup.StartCopyJobOutput, error) {
	f.starts++
	return nil, fmt.Errorf("StartCopyJob called for %s", aws.ToString(in.RecoveryPointArn))
}

func (f *fakeAWS) ListCopyJobs(ctx context.Context, in *backup.ListCopyJobsInput, _ ...func(*backup.Options)) (*backup.ListCopyJobsOutput, error) {
	f.lists++
	var out []types.CopyJob
	for _, j := range f.jobs {
		if in.ByDestinationVaultArn != nil && aws.ToString(j.DestinationBackupVaultArn) != *in.ByDestinationVaultArn {
			continue
		}
		if in.ByCreatedAfter != nil && !j.CreationDate.After(*in.ByCreatedAfter) {
			continue
		}
		out = append(out, j)
	}
	return &backup.ListCopyJobsOutput{CopyJobs: out}, nil
}

func (f *fakeAWS) DescribeCopyJob(ctx context.Context, in *backup.DescribeCopyJobInput, _ ...func(*backup.Options)) (*backup.DescribeCopyJobOutput, error) {
	return nil, fmt.Errorf("not here")
}

func (f *fakeAWS) ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, _ ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error) {
	if aws.ToString(in.BackupVaultName) != "dest" {
		f.t.Errorf("listed destination vault %q, want dest", aws.ToString(in.BackupVaultName))
	}
	return &backup.ListRecoveryPointsByBackupVaultOutput{RecoveryPoints: f.dest}, nil
}

// The source vault "v" and destination vault "dest" of the sweep tests.
const srcArn, destArn = "arn:aws:backup:us-east-1:111111111111:backup-vault:v", "arn:aws:backup:us-east-1:222222222222:backup-vault:dest"

// sweepState is a new state that knows the source vault v.
func sweepState(t *testing.T) *state.Store {
	t.Helper()
	st, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.PutVault(&state.Vault{Side: state.Source, Name: "v", Arn: srcArn}); err != nil {
		t.Fatal(err)
	}
	return st
}

// The sweep adopts a completed job, a running job and a unique copy in
// the destination; holds two RPs one copy could belong to, and one
// whose copy is unfinished; leaves the RP with nothing in AWS queued;
// and commits all of it with the mark, so the next run does not sweep
// again for the RPs it settled.
func TestAdoptSweep(t *testing.T) {
	st := sweepState(t)
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	rps := map[string]*state.RP{}
	b := st.NewBatch(state.EpochDecision)
	for i, spec := range []struct {
		name, res string
		at        time.Duration
	}{
		{"jobdone", "r1", 0}, {"jobrunning", "r2", time.Hour}, {"destcopy", "r3", 2 * time.Hour},
		{"twin1", "r4", 3 * time.Hour}, {"twin2", "r4", 3*time.Hour + 100*time.Millisecond},
		{"nothing", "r5", 4 * time.Hour}, {"unfinished", "r6", 5 * time.Hour},
	} {
		rp := &state.RP{Arn: "arn:rp:" + spec.name, Vault: "v", ResourceArn: "arn:res:" + spec.res, ResourceType: "EBS",
			Status: "COMPLETED", CreationDate: t0.Add(spec.at), Size: int64(i+1) * 1e9,
			Decision: &state.Decision{Outcome: state.Included, Reason: "ok"}}
		rps[spec.name] = rp
		if err := b.Put(rp); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	job := func(rp, id string, s types.CopyJobState, destRP string) types.CopyJob {
		created := rps[rp].CreationDate.Add(24 * time.Hour)
		j := types.CopyJob{CopyJobId: aws.String(id), SourceRecoveryPointArn: aws.String(rps[rp].Arn), DestinationBackupVaultArn: aws.String(destArn),
			State: s, CreationDate: &created}
		if destRP != "" {
			j.DestinationRecoveryPointArn, j.CompletionDate = aws.String(destRP), aws.Time(created.Add(time.Hour))
		}
		return j
	}
	dest := func(rp string, shift time.Duration, status types.RecoveryPointStatus, arn string) types.RecoveryPointByBackupVault {
		return types.RecoveryPointByBackupVault{RecoveryPointArn: aws.String(arn), SourceBackupVaultArn: aws.String(srcArn),
			ResourceArn: aws.String(rps[rp].ResourceArn), CreationDate: aws.Time(rps[rp].CreationDate.Add(shift)), Status: status}
	}
	f := &fakeAWS{t: t,
		jobs: []types.CopyJob{
			job("jobdone", "J1", types.CopyJobStateFailed, ""), job("jobdone", "J2", types.CopyJobStateCompleted, "arn:dest:1"),
			job("jobrunning", "J3", types.CopyJobStateRunning, ""),
		},
		dest: []types.RecoveryPointByBackupVault{
			dest("jobdone", 0, types.RecoveryPointStatusCompleted, "arn:dest:1"),
			dest("destcopy", 300*time.Millisecond, types.RecoveryPointStatusCompleted, "arn:dest:3"),
			dest("twin1", 0, types.RecoveryPointStatusCompleted, "arn:dest:4"),
			dest("unfinished", 0, types.RecoveryPointStatusCreating, "arn:dest:6"),
			// A copy from another source vault, same resource and date: not ours.
			{RecoveryPointArn: aws.String("arn:dest:other"), SourceBackupVaultArn: aws.String(srcArn + "-other"),
				ResourceArn: aws.String(rps["nothing"].ResourceArn), CreationDate: aws.Time(rps["nothing"].CreationDate), Status: types.RecoveryPointStatusCompleted},
		}}
	newCopier := func() *Copier {
		c := &Copier{Store: st, Jobs: f, Dest: f, Targets: map[string]Target{"v": {Arn: destArn, Ready: true}},
			Now: func() time.Time { return t0.Add(30 * 24 * time.Hour) }}
		c.init()
		c.api = newPacedJobs(c.Jobs, c.Counts, 0)
		return c
	}
	c := newCopier()
	if err := c.adoptExisting(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct{ state, job, dest, category string }{
		"jobdone":    {state.CopyCompleted, "J2", "arn:dest:1", ""},
		"jobrunning": {state.CopyRunning, "J3", "", ""},
		"destcopy":   {state.CopyCompleted, "", "arn:dest:3", ""},
		"twin1":      {state.CopyHeld, "", "", HoldAmbiguous},
		"twin2":      {state.CopyHeld, "", "", HoldAmbiguous},
		"unfinished": {state.CopyHeld, "", "", HoldDestState},
	}
	check := func() {
		t.Helper()
		for name, rp := range rps {
			rec, ok, err := st.GetCopy("v", rp.Arn)
			if err != nil {
				t.Fatal(err)
			}
			w, adopted := want[name]
			if !adopted {
				if ok {
					t.Errorf("%s: record %+v; want none (nothing in AWS: it stays queued)", name, rec)
				}
				continue
			}
			if !ok || rec.State != w.state || rec.JobID != w.job || rec.DestRPArn != w.dest || rec.Category != w.category || rec.Token == "" || rec.Attempt != 1 {
				t.Errorf("%s: record %+v; want state %s, job %q, destination %q, category %q, attempt 1 with its token", name, rec, w.state, w.job, w.dest, w.category)
			}
			got, _, _ := st.GetRP("v", rp.Arn)
			if got.Copy != state.CopyingRP {
				t.Errorf("%s: RP copy field %q; want %q so no decision touches it", name, got.Copy, state.CopyingRP)
			}
		}
	}
	check()
	if a := c.sum.Adopt; a.Completed != 2 || a.Running != 1 || a.HeldNow != 3 || !a.Swept {
		t.Errorf("summary %+v; want 2 completed, 1 running, 3 held", a)
	}
	if m, ok, err := st.Adoption(); err != nil || !ok || m.Adopted != 3 || m.Held != 3 {
		t.Errorf("adoption mark %+v (%v, %v); want 3 adopted, 3 held", m, ok, err)
	}
	// The next run looks again only for the held RPs, and changes nothing.
	c = newCopier()
	if err := c.adoptExisting(context.Background()); err != nil {
		t.Fatal(err)
	}
	check()
	if c.sum.Adopt.HeldNow != 0 || c.sum.Adopt.Completed != 0 {
		t.Errorf("second sweep %+v; want nothing new", c.sum.Adopt)
	}
	if f.starts != 0 {
		t.Errorf("StartCopyJob called %d times", f.starts)
	}
	// Once the unfinished copy completes, the next look adopts it.
	f.dest[3].Status = types.RecoveryPointStatusCompleted
	c = newCopier()
	if err := c.adoptExisting(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec, _, _ := st.GetCopy("v", rps["unfinished"].Arn); rec.State != state.CopyCompleted || rec.DestRPArn != "arn:dest:6" {
		t.Errorf("unfinished after its copy completed: %+v; want completed with arn:dest:6", rec)
	}
	// An RP decided after the last sweep began (a new backup) is swept on
	// the next run, its vault's earlier RPs are not listed again.
	late := &state.RP{Arn: "arn:rp:late", Vault: "v", ResourceArn: "arn:res:r7", ResourceType: "EBS", Status: "COMPLETED",
		CreationDate: t0.Add(10 * 24 * time.Hour), Size: 1e9,
		Decision: &state.Decision{Outcome: state.Included, Reason: "ok", At: t0.Add(31 * 24 * time.Hour)}}
	rps["late"] = late
	b = st.NewBatch(state.EpochDecision)
	if err := b.Put(late); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	f.dest = append(f.dest, dest("late", 0, types.RecoveryPointStatusCompleted, "arn:dest:late"))
	c = newCopier()
	if err := c.adoptExisting(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec, _, _ := st.GetCopy("v", late.Arn); rec == nil || rec.State != state.CopyCompleted || rec.DestRPArn != "arn:dest:late" {
		t.Errorf("an RP decided after the sweep, whose copy exists: %+v; want completed with arn:dest:late", rec)
	}
	// A requeue releases a held RP.
	moved, err := st.RequeueCopies([]state.CopyKey{{Vault: "v", Arn: rps["twin1"].Arn}}, t0)
	if err != nil || len(moved) != 1 || moved[0].State != state.CopyRetry {
		t.Errorf("requeue of a held RP moved %+v (%v); want it in retry", moved, err)
	}
}

// Once every destination vault was swept and nothing has been listed or
// decided since, and no record is held, a run's sweep reads no RP and
// calls AWS for nothing; a new decision makes it look again.
func TestAdoptSweepSkipsWhenNothingChanged(t *testing.T) {
	st := sweepState(t)
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	put := func(name string, decided time.Time) {
		b := st.NewBatch(state.EpochDecision)
		if err := b.Put(&state.RP{Arn: "arn:rp:" + name, Vault: "v", ResourceArn: "arn:res:" + name, ResourceType: "EBS", Status: "COMPLETED",
			CreationDate: t0, Size: 1e9, Decision: &state.Decision{Outcome: state.Included, Reason: "ok", At: decided}}); err != nil {
			t.Fatal(err)
		}
		if err := b.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	put("a", t0)
	put("b", t0)
	f := &fakeAWS{t: t}
	sweep := func(now time.Time) {
		t.Helper()
		c := &Copier{Store: st, Jobs: f, Dest: f, Targets: map[string]Target{"v": {Arn: destArn, Ready: true}}, Now: func() time.Time { return now }}
		c.init()
		c.api = newPacedJobs(c.Jobs, c.Counts, 0)
		if err := c.adoptExisting(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	sweep(t0.Add(time.Hour))
	if f.lists == 0 {
		t.Fatal("the first sweep listed nothing")
	}
	lists, scans := f.lists, st.FullScans()
	sweep(t0.Add(2 * time.Hour))
	if f.lists != lists || st.FullScans() != scans {
		t.Errorf("a sweep with nothing new listed %d times and read every RP %d times; want neither", f.lists-lists, st.FullScans()-scans)
	}
	put("c", t0.Add(3*time.Hour)) // a new decision
	sweep(t0.Add(4 * time.Hour))
	if st.FullScans() == scans || f.lists == lists {
		t.Error("after a new decision the sweep did not look again")
	}
}
