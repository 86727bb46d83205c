package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/testenv"
)

// jobsByDestination counts the source account's copy jobs by destination
// vault name.
func jobsByDestination(t *testing.T, client *backup.Client) map[string]int {
	t.Helper()
	n := map[string]int{}
	p := backup.NewListCopyJobsPaginator(client, &backup.ListCopyJobsInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range out.CopyJobs {
			arn := aws.ToString(j.DestinationBackupVaultArn)
			n[arn[strings.LastIndex(arn, ":")+1:]]++
		}
	}
	return n
}

// An air-gapped destination vault that AWS keeps CREATING holds back
// only its own recovery points: the other vaults' copies start and
// finish while it is CREATING, and its own are copied in the same run
// once it is AVAILABLE.
func TestRunCopiesOtherVaultsWhileAirGappedVaultIsCreating(t *testing.T) {
	const lag = "legal-hold-airgapped"
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 400, CopySpeed: 1e6, LAGCreateTime: testenv.LAGCreateHold})
	stateDir := filepath.Join(t.TempDir(), "state")
	script := writeScript(t, "fast.lua", "shuffle.copy({ max_in_flight = 100 })",
		"shuffle.copy({ max_in_flight = 100, poll_min = 0.01, poll_max = 0.2, retry_base = 0.05 })")
	type result struct {
		code      int
		out, errs string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errs := shuffle(t, "run", script, "--state", stateDir)
		done <- result{code, out, errs}
	}()

	src := backup.NewFromConfig(env.Config(t, testenv.ProfileSource))
	dst := backup.NewFromConfig(env.Config(t, testenv.ProfileDestination))
	// Wait (generously) until copies into other vaults have started
	// while the air-gapped vault is still CREATING.
	var before map[string]int
	for limit := time.Now().Add(90 * time.Second); ; {
		select {
		case r := <-done:
			t.Fatalf("run ended (exit %d) while the air-gapped vault was held CREATING\n%s%s", r.code, r.out, r.errs)
		default:
		}
		d, err := dst.DescribeBackupVault(context.Background(), &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(lag)})
		if err == nil && d.VaultState == types.VaultStateCreating {
			before = jobsByDestination(t, src)
			others := 0
			for v, n := range before {
				if v != lag {
					others += n
				}
			}
			if others >= 20 {
				break
			}
		}
		if time.Now().After(limit) {
			t.Fatalf("no copy into another vault started in 90 s while %s was CREATING (jobs by destination: %v)", lag, before)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if before[lag] != 0 {
		t.Fatalf("%d copy jobs into %s while it was CREATING", before[lag], lag)
	}
	if n := env.FinishCreatingVaults(); n != 1 {
		t.Fatalf("FinishCreatingVaults changed %d vaults, want 1", n)
	}

	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Minute):
		t.Fatal("run did not finish within 5 minutes of the air-gapped vault becoming AVAILABLE")
	}
	if r.code != 0 {
		t.Fatalf("run exited %d\n%s%s", r.code, r.out, r.errs)
	}
	included := includedSet(t, stateDir)
	wantLAG := 0
	for k := range included {
		if strings.HasPrefix(k, lag+"|") {
			wantLAG++
		}
	}
	if wantLAG == 0 {
		t.Fatalf("no included RP in %s: the test proves nothing", lag)
	}
	after := jobsByDestination(t, src)
	if after[lag] != wantLAG {
		t.Errorf("%d copy jobs into %s after it became AVAILABLE, want %d (its included RPs)", after[lag], lag, wantLAG)
	}
	checkJobs(t, env, included)
	if !strings.Contains(r.out, "0 queued, 0 waiting for their vault") {
		t.Errorf("run output does not say nothing is left waiting:\n%s", r.out)
	}
	if !strings.Contains(r.errs, "ready   "+lag) {
		t.Errorf("closing lines do not say %s became ready during the run:\n%s", lag, r.errs)
	}
}
