package testenv_test

// The AWS CLI (botocore) against `shuffle testenv up --live --live-day 0`:
// after POST /_testenv/live/tick, list-recovery-points-by-backup-vault
// with --by-created-after shows exactly the recovery points the tick
// made, vault by vault, and the vault counts rose by as many.

import (
	"os/exec"
	"testing"
	"time"
)

func TestAWSCLILive(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("SKIP: the AWS CLI (`aws`) is not on PATH; CI installs it (pip install awscli)")
	}
	srv := cliStart(t, cliBuildShuffle(t), awsPath, t.TempDir(), "--recovery-points", "200", "--live", "--live-day", "0")
	type vault struct {
		BackupVaultName        string
		NumberOfRecoveryPoints int
	}
	counts := func() map[string]int {
		var out struct{ BackupVaultList []vault }
		srv.ok(t, &out, "backup", "list-backup-vaults", "--profile", "source")
		n := map[string]int{}
		for _, v := range out.BackupVaultList {
			n[v.BackupVaultName] = v.NumberOfRecoveryPoints
		}
		return n
	}
	before := counts()
	// Whole seconds, as the CLI sends them; every seeded recovery point
	// is hours older.
	after := time.Now().UTC().Add(-time.Second).Format(time.RFC3339)
	var res struct {
		Day, Created, Expired int
		Vaults                map[string]int
		CreatedArns           []string `json:"created_arns"`
	}
	srv.admin(t, "POST", "/_testenv/live/tick", "", &res)
	// With --live-day 0 lifecycle days are real days, and no seeded
	// delete date falls within an hour of the start.
	if res.Day != 1 || res.Created == 0 || len(res.CreatedArns) != res.Created || res.Expired != 0 {
		t.Fatalf("POST /_testenv/live/tick = %+v; want day 1, new recovery points and none expired", res)
	}
	made := map[string]bool{}
	for _, arn := range res.CreatedArns {
		made[arn] = true
	}
	now := counts()
	for name := range before {
		var out struct {
			RecoveryPoints []struct {
				RecoveryPointArn, Status string
				CreationDate             float64
			}
		}
		srv.ok(t, &out, "backup", "list-recovery-points-by-backup-vault", "--backup-vault-name", name,
			"--by-created-after", after, "--profile", "source")
		if len(out.RecoveryPoints) != res.Vaults[name] {
			t.Errorf("%s: --by-created-after %s lists %d recovery points, the tick made %d there", name, after, len(out.RecoveryPoints), res.Vaults[name])
		}
		for _, rp := range out.RecoveryPoints {
			if !made[rp.RecoveryPointArn] || rp.Status != "COMPLETED" {
				t.Errorf("%s lists %s (%s) as new; the tick did not make it, or made it twice", name, rp.RecoveryPointArn, rp.Status)
			}
			delete(made, rp.RecoveryPointArn)
		}
		if now[name]-before[name] != res.Vaults[name] {
			t.Errorf("%s: NumberOfRecoveryPoints went from %d to %d, the tick made %d there", name, before[name], now[name], res.Vaults[name])
		}
	}
	for arn := range made {
		t.Errorf("the tick made %s, but no listing with --by-created-after shows it", arn)
	}
	var second struct{ Day int }
	srv.admin(t, "POST", "/_testenv/live/tick", "", &second)
	if second.Day != 2 {
		t.Errorf("the second tick says day %d", second.Day)
	}
}
