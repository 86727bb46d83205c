package testenv_test

// KMS through the real AWS CLI (botocore's JSON 1.1 client), against an
// in-process emulator configured by the files it writes.

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

func TestAWSCLIKMS(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("SKIP: the AWS CLI (`aws`) is not on PATH, so the AWS CLI KMS test cannot run here; CI installs it (pip install awscli)")
	}
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	s := &cliServer{url: env.URL, dir: env.Dir, awsPath: awsPath, home: t.TempDir(),
		configFile: env.ConfigPath(), credFile: env.CredentialsPath()}

	type alias struct{ AliasName, AliasArn, TargetKeyId string }
	names := func(l []alias) []string {
		var out []string
		for _, a := range l {
			out = append(out, a.AliasName+"="+a.TargetKeyId)
		}
		slices.Sort(out)
		return out
	}
	var full, paged struct{ Aliases []alias }
	s.ok(t, &full, "kms", "list-aliases", "--profile", "source")
	res := s.ok(t, &paged, "kms", "list-aliases", "--page-size", "3", "--profile", "source", "--debug")
	if !slices.Equal(names(full.Aliases), names(paged.Aliases)) || len(full.Aliases) < 11 {
		t.Errorf("list-aliases %v\n--page-size 3: %v", names(full.Aliases), names(paged.Aliases))
	}
	if n := strings.Count(res.stderr, "TrentService.ListAliases"); n < (len(full.Aliases)+2)/3 {
		t.Errorf("--page-size 3 made %d ListAliases requests for %d aliases", n, len(full.Aliases))
	}

	type meta struct{ KeyId, Arn, KeyManager, KeyState, KeySpec, AWSAccountId string }
	var cmk, managed struct{ KeyMetadata meta }
	s.ok(t, &cmk, "kms", "describe-key", "--key-id", "alias/ebs-data", "--profile", "source")
	s.ok(t, &managed, "kms", "describe-key", "--key-id", "alias/aws/ebs", "--profile", "source")
	if m := cmk.KeyMetadata; m.KeyManager != "CUSTOMER" || m.KeyState != "Enabled" || m.KeySpec != "SYMMETRIC_DEFAULT" || m.AWSAccountId != cliSource ||
		!slices.Contains(names(full.Aliases), "alias/ebs-data="+m.KeyId) {
		t.Errorf("describe-key alias/ebs-data = %+v", m)
	}
	if m := managed.KeyMetadata; m.KeyManager != "AWS" || m.KeyId == cmk.KeyMetadata.KeyId {
		t.Errorf("describe-key alias/aws/ebs = %+v", m)
	}
	var fromDest struct{ KeyMetadata meta }
	s.ok(t, &fromDest, "kms", "describe-key", "--key-id", "arn:aws:kms:"+cliRegion+":"+cliSource+":alias/ebs-data", "--profile", "destination")
	if fromDest.KeyMetadata.Arn != cmk.KeyMetadata.Arn {
		t.Errorf("destination describe-key of the source alias ARN = %+v, want %s", fromDest.KeyMetadata, cmk.KeyMetadata.Arn)
	}
	s.fails(t, "AccessDeniedException", "kms", "describe-key", "--key-id", "arn:aws:kms:"+cliRegion+":"+cliSource+":alias/redshift-data", "--profile", "destination")
	s.fails(t, "NotFoundException", "kms", "describe-key", "--key-id", "alias/redshift-data", "--profile", "destination")

	var pol struct{ Policy, PolicyName string }
	s.ok(t, &pol, "kms", "get-key-policy", "--key-id", cmk.KeyMetadata.Arn, "--policy-name", "default", "--profile", "source")
	if !strings.Contains(pol.Policy, "arn:aws:iam::"+cliDestination+":root") || !strings.Contains(pol.Policy, "kms:CreateGrant") {
		t.Errorf("get-key-policy of ebs-data does not share it with the destination: %s", pol.Policy)
	}
	s.fails(t, "AccessDeniedException", "kms", "get-key-policy", "--key-id", cmk.KeyMetadata.Arn, "--policy-name", "default", "--profile", "destination")
	s.fails(t, "AccessDeniedException", "kms", "list-keys", "--profile", "source")
}
