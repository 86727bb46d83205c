package engine_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

const fixtureDestAccount = "222222222222"

func destVaultArn(src string) string {
	return "arn:aws:backup:us-east-1:" + fixtureDestAccount + ":backup-vault:" + src + "-copy"
}

// seedState writes RPs into vaults whose names are prefixes of each
// other ("ab", "abc"), so the vault+ARN merge of rp/ and copy/ keys is
// exercised where a naive string join would mis-order. Decisions and
// copy states cycle through every case. It returns the completed copy
// records.
func seedState(t *testing.T, st *state.Store, perVault int) []*state.CopyRecord {
	t.Helper()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	type copyPlan struct {
		rp    *state.RP
		state string
	}
	var copies []copyPlan
	for _, vault := range []string{"ab", "abc", "b-vault", "zz-nocopies"} {
		part := &state.Partition{Vault: vault, ID: state.PartitionID("", 0), Generation: 1}
		var rps []*state.RP
		for i := range perVault {
			rp := &state.RP{
				Arn: fmt.Sprintf("arn:aws:ec2:us-east-1::image/ami-%s-%04d", vault, i), Vault: vault,
				ResourceArn: fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:volume/vol-%s-%d", vault, i%7), ResourceType: "EBS",
				Status: "COMPLETED", CreationDate: now.Add(time.Duration(i) * time.Hour), Size: int64(1000 + i),
			}
			if i%3 != 0 {
				d := int64(30 + i%5)
				rp.DeleteAfterDays = &d
			}
			rps = append(rps, rp)
		}
		for i := 0; i < len(rps); i += 1000 {
			if _, err := st.SavePage(part, rps[i:min(i+1000, len(rps))], now); err != nil {
				t.Fatal(err)
			}
		}
		b := st.NewBatch(state.EpochDecision)
		for i, rp := range rps {
			switch i % 10 {
			case 0:
				// undecided
			case 1:
				rp.Decision = &state.Decision{Outcome: state.Excluded, Reason: "APMID not allowed", Rule: "policy:apmid"}
			case 2:
				rp.Decision = &state.Decision{Outcome: state.Ineligible, Reason: "status PARTIAL", Rule: "engine:status"}
			case 3:
				rp.Decision = &state.Decision{Outcome: state.Failed, Reason: "policy apmid failed", Rule: "policy:apmid"}
			default:
				rp.Decision = &state.Decision{Outcome: state.Included, Reason: "APMID allowed", Rule: "policy:apmid"}
			}
			if err := b.Put(rp); err != nil {
				t.Fatal(err)
			}
			if vault == "zz-nocopies" || rp.Decision == nil || rp.Decision.Outcome != state.Included {
				continue
			}
			switch i % 10 {
			case 4, 5, 6:
				copies = append(copies, copyPlan{rp, state.CopyCompleted})
			case 7:
				copies = append(copies, copyPlan{rp, state.CopyFailed})
			case 8:
				copies = append(copies, copyPlan{rp, []string{state.CopyRunning, state.CopyRetry, state.CopyIntent}[i%3]})
			} // 9: queued
		}
		if err := b.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	var intents, final []*state.CopyRecord
	var completed []*state.CopyRecord
	for n, c := range copies {
		rec := &state.CopyRecord{Vault: c.rp.Vault, Arn: c.rp.Arn, State: state.CopyIntent, Attempt: 1,
			DestVaultArn: destVaultArn(c.rp.Vault), ResourceArn: c.rp.ResourceArn, ResourceType: c.rp.ResourceType,
			Size: c.rp.Size, Created: c.rp.CreationDate, IntentAt: now}
		rec.Token = state.CopyToken(rec.Arn, rec.DestVaultArn, 1)
		intents = append(intents, rec)
		f := *rec
		f.State = c.state
		switch c.state {
		case state.CopyCompleted:
			at := now.Add(time.Hour)
			f.JobID, f.CompletedAt = fmt.Sprintf("job-%d", n), &at
			f.DestRPArn = fmt.Sprintf("arn:aws:ec2:us-east-1::image/ami-copy-%d", n)
			f.TagState = string(copier.TagApplied)
			completed = append(completed, &f)
		case state.CopyFailed:
			f.JobID, f.Reason, f.Category = fmt.Sprintf("job-%d", n), "InvalidParameterValueException: nope", "InvalidParameterValueException"
		case state.CopyRetry:
			f.Reason = "ThrottlingException: slow down"
		case state.CopyRunning:
			f.JobID = fmt.Sprintf("job-%d", n)
		}
		final = append(final, &f)
	}
	for i := 0; i < len(intents); i += 500 {
		if err := st.PutIntents(intents[i:min(i+500, len(intents))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutCopies(final, nil); err != nil {
		t.Fatal(err)
	}
	return completed
}

// expectedStates counts final states by scanning the RPs and looking up
// each copy record on its own: independent of the report's merge.
func expectedStates(t *testing.T, st *state.Store) (map[string]int64, int64) {
	t.Helper()
	want := map[string]int64{}
	var n int64
	err := st.ScanRPs(func(rp *state.RP) error {
		n++
		rec, ok, err := st.GetCopy(rp.Vault, rp.Arn)
		if err != nil {
			return err
		}
		switch {
		case ok:
			want[rec.State]++
		case rp.Decision == nil:
			want["undecided"]++
		case rp.Decision.Outcome == state.Included:
			want["queued"]++
		case rp.Decision.Outcome == state.Ineligible:
			want["ineligible"]++
		default:
			want["excluded"]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return want, n
}

func TestWriteReportsCountsAgreeWithStateAndCSV(t *testing.T) {
	st := openStore(t)
	seedState(t, st, 300)
	dir := filepath.Join(t.TempDir(), "reports")
	start := time.Date(2026, 11, 27, 13, 4, 5, 0, time.FixedZone("CET", 3600))
	sum := copier.Summary{CompletedNow: 90, BytesNow: 90 << 20, Elapsed: 30 * time.Minute, APICalls: map[string]int64{"StartCopyJob": 95}}
	jp, cp, err := engine.WriteReports(st, dir, start, sum)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(jp) != "run-20261127T120405Z.json" || filepath.Base(cp) != "run-20261127T120405Z.csv" {
		t.Fatalf("report names %s, %s; want the UTC run start", jp, cp)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("reports dir: %v, %v; want mode 0700", fi, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}

	var rep engine.RunReport
	b, err := os.ReadFile(jp)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	want, total := expectedStates(t, st)
	if rep.Schema != engine.RunReportSchema || rep.RecoveryPoints != total || total != 4*300 {
		t.Fatalf("report: schema %q, %d RPs; state has %d", rep.Schema, rep.RecoveryPoints, total)
	}
	var sumStates int64
	for _, s := range engine.ReportStates {
		if rep.States[s] != want[s] {
			t.Errorf("state %s: report %d, state scan %d", s, rep.States[s], want[s])
		}
		sumStates += rep.States[s]
	}
	if sumStates != total {
		t.Errorf("states add up to %d, want %d", sumStates, total)
	}
	for _, s := range []string{"completed", "failed", "running", "retry", "intent", "queued", "excluded", "ineligible", "undecided"} {
		if want[s] == 0 {
			t.Errorf("the fixture has no RP in state %s", s)
		}
	}
	if rep.FailedByReason["InvalidParameterValueException"] != want["failed"] || rep.RetryByReason["ThrottlingException"] != want["retry"] {
		t.Errorf("reasons: failed %v, retry %v", rep.FailedByReason, rep.RetryByReason)
	}
	if rep.ExcludedByReason["APMID not allowed"]+rep.ExcludedByReason["policy apmid failed"] != want["excluded"] ||
		rep.IneligibleByReason["status PARTIAL"] != want["ineligible"] {
		t.Errorf("decision reasons: excluded %v, ineligible %v", rep.ExcludedByReason, rep.IneligibleByReason)
	}
	var vaultRPs int64
	for _, v := range rep.Vaults {
		vaultRPs += v.RecoveryPoints
	}
	if len(rep.Vaults) != 4 || vaultRPs != total || rep.Vaults["zz-nocopies"].States["completed"] != 0 {
		t.Errorf("per-vault counts: %d vaults, %d RPs", len(rep.Vaults), vaultRPs)
	}
	if rep.RPsPerHour != 180 || rep.APICalls["StartCopyJob"] != 95 || rep.OrphanCopies != 0 {
		t.Errorf("rates and calls: %v/h, %v, %d orphans", rep.RPsPerHour, rep.APICalls, rep.OrphanCopies)
	}

	// The CSV: one row per RP, and its copy_state column agrees.
	f, err := os.Open(cp)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(engine.ReportCSVHeader, ",") {
		t.Fatalf("header %v", rows[0])
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if int64(len(rows)-1) != total {
		t.Fatalf("CSV has %d data rows; state has %d RPs", len(rows)-1, total)
	}
	seen := map[string]bool{}
	csvStates := map[string]int64{}
	for _, r := range rows[1:] {
		key := r[col["vault"]] + " " + r[col["recovery_point_arn"]]
		if seen[key] {
			t.Fatalf("RP %s appears twice", key)
		}
		seen[key] = true
		csvStates[r[col["copy_state"]]]++
		if r[col["copy_state"]] == "completed" && (r[col["destination_rp_arn"]] == "" || r[col["completed_at"]] == "" || r[col["tag_state"]] != "applied") {
			t.Errorf("completed row lacks its copy: %v", r)
		}
		if r[col["copy_state"]] == "failed" && r[col["error"]] == "" {
			t.Errorf("failed row without an error: %v", r)
		}
	}
	for _, s := range []string{"completed", "failed", "running", "retry", "intent", "queued"} {
		if csvStates[s] != rep.States[s] {
			t.Errorf("copy_state %s: CSV %d, JSON %d", s, csvStates[s], rep.States[s])
		}
	}
	if csvStates[""] != rep.States["excluded"]+rep.States["ineligible"]+rep.States["undecided"] {
		t.Errorf("rows with no copy state: %d; JSON excluded+ineligible+undecided %d", csvStates[""],
			rep.States["excluded"]+rep.States["ineligible"]+rep.States["undecided"])
	}
}

// Larger than one scan chunk (4,096 records): the merge must hold across
// the chunked read transactions of both scans.
func TestWriteReportsAcrossScanChunks(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10,000 RPs")
	}
	st := openStore(t)
	seedState(t, st, 2500)
	jp, cp, err := engine.WriteReports(st, t.TempDir(), time.Now(), copier.Summary{})
	if err != nil {
		t.Fatal(err)
	}
	var rep engine.RunReport
	b, _ := os.ReadFile(jp)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	want, total := expectedStates(t, st)
	for _, s := range engine.ReportStates {
		if rep.States[s] != want[s] {
			t.Errorf("state %s: report %d, state scan %d", s, rep.States[s], want[s])
		}
	}
	cb, _ := os.ReadFile(cp)
	if n := strings.Count(string(cb), "\n") - 1; int64(n) != total {
		t.Errorf("CSV has %d data rows, want %d", n, total)
	}
}
