package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/copier"
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
		code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--progress-interval", "50ms")
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
	// The progress total counts the waiting vault's RPs from the start,
	// as the run means to copy them: it is the included set throughout.
	lines := regexp.MustCompile(`progress: copy (\d+)/(\d+) `).FindAllStringSubmatch(r.errs, -1)
	if len(lines) == 0 {
		t.Errorf("no progress line:\n%s", r.errs)
	}
	for _, l := range lines {
		if l[2] != strconv.Itoa(len(included)) {
			t.Errorf("progress total %s, want the %d included RPs: %s", l[2], len(included), l[0])
			break
		}
	}
	if !strings.Contains(r.errs, "ready   "+lag) {
		t.Errorf("closing lines do not say %s became ready during the run:\n%s", lag, r.errs)
	}
}

// A destination vault whose access policy explicitly denies the source
// account copies: check rates it blocking (exit 3), plan names it
// blocked, and a run (past the check) holds back only its RPs, counted
// as blocked per vault with the typed reason in the closing lines and
// the run report.
func TestVaultDenyingCopiesIsBlocked(t *testing.T) {
	const vault = "prod-rds-monthly" // exists in the destination, mapped to itself
	env, _ := workspace(t, 400)
	dst := backup.NewFromConfig(env.Config(t, testenv.ProfileDestination))
	deny := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"AllowCopy","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"backup:CopyIntoBackupVault","Resource":"*"},` +
		`{"Sid":"NoCopiesHere","Effect":"Deny","Principal":{"AWS":"111111111111"},"Action":"backup:CopyIntoBackupVault","Resource":"*"}]}`
	if _, err := dst.PutBackupVaultAccessPolicy(context.Background(), &backup.PutBackupVaultAccessPolicyInput{
		BackupVaultName: aws.String(vault), Policy: aws.String(deny)}); err != nil {
		t.Fatal(err)
	}

	code, out, errs := shuffle(t, "check", "examples/migrate.lua", "--skip-encryption", "--skip-compliance")
	if code != exitBlocking {
		t.Errorf("check exited %d, want %d (blocking)\n%s%s", code, exitBlocking, out, errs)
	}
	if !regexp.MustCompile(`(?s)\[blocking\] destination: destination vault ` + vault + `: .*NoCopiesHere`).MatchString(out) {
		t.Errorf("check does not rate the Deny of %s blocking:\n%s", vault, out)
	}

	stateDir := filepath.Join(t.TempDir(), "state")
	plan := planJSON(t, "--state", stateDir)
	for _, v := range plan.Vaults {
		if v.Name == vault && !strings.Contains(strings.Join(v.Destination.Blocking, "\n"), "NoCopiesHere") {
			t.Errorf("plan does not block %s on its Deny: %v", vault, v.Destination.Blocking)
		}
	}

	script := fastCopyScript(t, "fast.lua")
	code, out, errs = shuffle(t, "run", script, "--state", stateDir, "--skip-check")
	if code != 0 {
		t.Fatalf("run exited %d\n%s%s", code, out, errs)
	}
	var want int64
	for k := range includedSet(t, stateDir) {
		if strings.HasPrefix(k, vault+"|") {
			want++
		}
	}
	if want == 0 {
		t.Fatalf("no included RP in %s: the test proves nothing", vault)
	}
	if n := jobsByDestination(t, backup.NewFromConfig(env.Config(t, testenv.ProfileSource)))[vault]; n != 0 {
		t.Errorf("%d copy jobs into %s, whose policy denies copies", n, vault)
	}
	line := regexp.MustCompile(`(?m)^  blocked +(\d+)  ` + vault + ` \(access-policy\): .*NoCopiesHere`).FindStringSubmatch(errs)
	if line == nil || line[1] != strconv.FormatInt(want, 10) {
		t.Errorf("closing lines do not count %d RPs of %s blocked by its access policy:\n%s", want, vault, errs)
	}
	code, stOut, stErrs := shuffle(t, "status", "--state", stateDir)
	if code != 0 {
		t.Fatalf("status exited %d: %s", code, stErrs)
	}
	if st := regexp.MustCompile(`(?m)^  blocked +(\d+)  ` + vault + ` \(access-policy\): `).FindStringSubmatch(stOut); st == nil || st[1] != strconv.FormatInt(want, 10) {
		t.Errorf("status does not count the %d RPs of %s blocked by its access policy:\n%s", want, vault, stOut)
	}
	m := regexp.MustCompile(`run reports: (\S+\.json), `).FindStringSubmatch(errs)
	if m == nil {
		t.Fatalf("no run report named:\n%s", errs)
	}
	rep := readRunReport(t, m[1])
	found := false
	for _, w := range rep.Waiting {
		if w.Vault == vault {
			found = true
			if w.RecoveryPoints != want || w.Wait != copier.WaitAccessPolicy || !w.Blocked {
				t.Errorf("run report: %s waiting %+v, want %d RPs blocked by access-policy", vault, w, want)
			}
		}
	}
	if !found {
		t.Errorf("run report does not list %s as waiting: %+v", vault, rep.Waiting)
	}
}

// A change window that ends while an air-gapped vault is still CREATING:
// the other vaults' copies are done, the run exits 10 (work left), and
// the vault's RPs are counted as waiting for it (creating), not blocked.
func TestWindowEndsWhileAirGappedVaultIsCreating(t *testing.T) {
	const lag = "legal-hold-airgapped"
	workspaceWith(t, testenv.Options{RecoveryPoints: 200, CopySpeed: 1e6, LAGCreateTime: testenv.LAGCreateHold})
	stateDir := filepath.Join(t.TempDir(), "state")
	script := writeScript(t, "fast.lua", "shuffle.copy({ max_in_flight = 100 })",
		"shuffle.copy({ max_in_flight = 100, poll_min = 0.01, poll_max = 0.2, retry_base = 0.05 })")
	code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--window", "8s")
	if code != exitWindow {
		t.Fatalf("run exited %d, want %d (window ended with work left)\n%s%s", code, exitWindow, out, errs)
	}
	var want int
	for k := range includedSet(t, stateDir) {
		if strings.HasPrefix(k, lag+"|") {
			want++
		}
	}
	// Either side may see the end first: the vault watcher ("when the
	// change window ended") or the copy step ("when the copy step ended").
	line := regexp.MustCompile(`(?m)^  waiting +(\d+)  ` + lag + ` \(creating\): .*still CREATING when the (?:copy step|change window) ended`).FindStringSubmatch(errs)
	if want == 0 || line == nil || line[1] != strconv.Itoa(want) {
		t.Errorf("closing lines do not count the %d RPs of %s waiting for it to be created:\n%s", want, lag, errs)
	}
	if !strings.Contains(errs, fmt.Sprintf("%d waiting for a vault AWS is still creating", want)) {
		t.Errorf("the window error does not count the RPs waiting for %s:\n%s", lag, errs)
	}
	if !regexp.MustCompile(`(?m)^copy: [1-9]\d* started`).MatchString(errs) {
		t.Errorf("no copy started into the other vaults:\n%s", errs)
	}
}
