package testenv_test

// The AWS CLI (botocore) against `shuffle testenv up --variant
// short-pages,nulls`: short pages, MaxResults above 1000, null members
// and exponent-notation times all read as the default answers do.

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestAWSCLIVariants(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("SKIP: the AWS CLI (`aws`) is not on PATH; CI installs it (pip install awscli)")
	}
	srv := cliStart(t, cliBuildShuffle(t), awsPath, t.TempDir(), "--recovery-points", "1500", "--variant", "short-pages,nulls")
	type rp struct {
		RecoveryPointArn, ResourceArn, Status string
		CreationDate, CompletionDate          float64
		SourceBackupVaultArn                  *string
	}
	list := func(args ...string) ([]rp, cliResult) {
		var out struct{ RecoveryPoints []rp }
		res := srv.ok(t, &out, append([]string{"backup", "list-recovery-points-by-backup-vault", "--backup-vault-name", "prod-ebs-daily", "--profile", "source"}, args...)...)
		return out.RecoveryPoints, res
	}
	var vs map[string][]string
	srv.admin(t, "GET", "/_testenv/variants", "", &vs)
	if !slices.Equal(vs["variants"], []string{"short-pages", "nulls"}) {
		t.Fatalf("GET /_testenv/variants = %v after --variant short-pages,nulls", vs)
	}

	paged, res := list("--page-size", "50", "--debug")
	if !strings.Contains(res.stderr, `"NextToken":null`) || !strings.Contains(res.stderr, "E9,") {
		t.Errorf("the CLI's debug log shows no null NextToken or exponent-notation time:\n%s", cliTail(res.stderr))
	}
	requests := strings.Count(res.stderr, "recovery-points/?maxResults=50")
	wide, _ := list("--page-size", "2000") // MaxResults above 1000
	srv.admin(t, "PUT", "/_testenv/variants", `{"variants":[]}`, nil)
	plain, _ := list()

	if len(plain) < 100 {
		t.Fatalf("prod-ebs-daily holds %d RPs; the test needs more than 100", len(plain))
	}
	if want := (len(plain) + 49) / 50; requests <= want {
		t.Errorf("--page-size 50 took %d requests for %d RPs; short pages need more than %d", requests, len(plain), want)
	}
	for name, got := range map[string][]rp{"--page-size 50": paged, "--page-size 2000": wide} {
		if len(got) != len(plain) {
			t.Errorf("%s under short-pages,nulls lists %d RPs, the default %d", name, len(got), len(plain))
			continue
		}
		for i := range plain {
			p, g := plain[i], got[i]
			if g.RecoveryPointArn != p.RecoveryPointArn || g.CreationDate != p.CreationDate || g.CompletionDate != p.CompletionDate ||
				g.ResourceArn != p.ResourceArn || g.Status != p.Status || g.SourceBackupVaultArn != nil {
				t.Fatalf("%s: RP %d reads %+v, by default %+v", name, i, g, p)
			}
		}
	}
}
