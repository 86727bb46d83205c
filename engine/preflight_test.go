package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/preflight"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

func preflightConfig() scriptconfig.Config {
	return scriptconfig.Config{
		Source:      scriptconfig.Endpoint{Profile: testenv.ProfileSource, Account: testenv.SourceAccount, Region: "us-east-1"},
		Destination: scriptconfig.Endpoint{Profile: testenv.ProfileDestination, Account: testenv.DestinationAccount, Region: "us-east-1"},
		CopyRole:    "arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole",
	}
}

func runCheck(t *testing.T, env *testenvtest.Env, srcProfile, dstProfile string) *CheckReport {
	t.Helper()
	r, err := Check(context.Background(), CheckInput{Config: preflightConfig(), Source: env.Config(t, srcProfile), Destination: env.Config(t, dstProfile)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func blockingActions(r *CheckReport) map[string]bool {
	m := map[string]bool{}
	for _, f := range r.Findings {
		if f.Severity == finding.Blocking {
			m[f.Action] = true
		}
	}
	return m
}

func dumpFindings(r *CheckReport) string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString(string(f.Severity) + " " + string(f.Account) + " " + f.Action + ": " + f.What + "\n")
	}
	return b.String()
}

func TestCheckDefaultProfilesPass(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	r := runCheck(t, env, testenv.ProfileSource, testenv.ProfileDestination)
	if r.Blocking() {
		t.Fatalf("default profiles have blocking findings:\n%s", dumpFindings(r))
	}
}

func TestCheckReadOnlySourceNamesStartCopyJobAndPassRole(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	r := runCheck(t, env, testenv.ProfileSourceReadOnly, testenv.ProfileDestination)
	b := blockingActions(r)
	for _, a := range []string{"backup:StartCopyJob", "iam:PassRole"} {
		if !b[a] {
			t.Errorf("no blocking finding names %s:\n%s", a, dumpFindings(r))
		}
	}
}

func TestCheckNoLockDestinationNamesLockAction(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	r := runCheck(t, env, testenv.ProfileSource, testenv.ProfileDestinationNoLock)
	if !blockingActions(r)["backup:PutBackupVaultLockConfiguration"] {
		t.Fatalf("no blocking finding names backup:PutBackupVaultLockConfiguration:\n%s", dumpFindings(r))
	}
}

func TestCheckCrossAccountDisabledBlocks(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	if err := env.SetCrossAccountBackup(testenv.DestinationAccount, false); err != nil {
		t.Fatal(err)
	}
	r := runCheck(t, env, testenv.ProfileSource, testenv.ProfileDestination)
	for _, f := range r.Findings {
		if f.Check == "global-settings" && f.Severity == finding.Blocking && f.Account == finding.SideDestination {
			return
		}
	}
	t.Fatalf("disabled cross-account backup not blocking:\n%s", dumpFindings(r))
}

func TestCheckFlagsDestinationVaultWithoutCopyStatement(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	bc := backup.NewFromConfig(env.Config(t, testenv.ProfileDestination))
	if _, err := bc.CreateBackupVault(context.Background(), &backup.CreateBackupVaultInput{BackupVaultName: aws.String("no-policy")}); err != nil {
		t.Fatal(err)
	}
	r := runCheck(t, env, testenv.ProfileSource, testenv.ProfileDestination)
	for _, f := range r.Findings {
		if f.Check == "vault-policy" && f.Action == "backup:CopyIntoBackupVault" && strings.Contains(f.What, "no-policy") {
			return
		}
	}
	t.Fatalf("no destination vault flagged for a missing CopyIntoBackupVault statement:\n%s", dumpFindings(r))
}

// TestCheckIAMPolicyMinimalAndSufficient loads the generated policies
// into the testenv principals: check passes, and removing any single
// action makes check fail naming it.
func TestCheckIAMPolicyMinimalAndSufficient(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	cfg := preflightConfig()
	profiles := map[finding.Side]string{finding.SideSource: testenv.ProfileSource, finding.SideDestination: testenv.ProfileDestination}
	set := func(side finding.Side, omit ...string) {
		b, err := json.Marshal(preflight.OperatorPolicy(cfg, side, omit...))
		if err != nil {
			t.Fatal(err)
		}
		if err := env.SetPolicies(profiles[side], []string{string(b)}); err != nil {
			t.Fatal(err)
		}
	}
	set(finding.SideSource)
	set(finding.SideDestination)
	if r := runCheck(t, env, testenv.ProfileSource, testenv.ProfileDestination); r.Blocking() {
		t.Fatalf("generated policies have blocking findings:\n%s", dumpFindings(r))
	}
	for _, side := range []finding.Side{finding.SideSource, finding.SideDestination} {
		for _, a := range preflight.ActionsFor(side) {
			set(side, a.Name)
			r := runCheck(t, env, testenv.ProfileSource, testenv.ProfileDestination)
			ok := false
			for _, f := range r.Findings {
				if f.Severity == finding.Blocking && f.Account == side && f.Action == a.Name {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s policy without %s: check does not block naming it:\n%s", side, a.Name, dumpFindings(r))
			}
			set(side)
		}
	}
}

func TestCheckCountsAWSManagedKeyRPs(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 300})
	r := runCheck(t, env, testenv.ProfileSource, testenv.ProfileDestination)
	n := 0
	for _, f := range r.Findings {
		if f.Check == "encryption" && f.Severity == finding.Warning && strings.Contains(f.What, "AWS-managed key") {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no RPs on AWS-managed keys counted:\n%s", dumpFindings(r))
	}
	r, err := Check(context.Background(), CheckInput{Config: preflightConfig(), Source: env.Config(t, testenv.ProfileSource),
		Destination: env.Config(t, testenv.ProfileDestination), SkipEncryption: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Findings {
		if f.Check == "encryption" {
			t.Fatalf("SkipEncryption still counted keys: %+v", f)
		}
	}
}
