package testenv_test

// The token authority through the AWS CLI v1 (botocore): the profiles
// source-assumed, destination-assumed, source-process, source-sso and
// source-web-identity,
// and sts assume-role, against `shuffle testenv up`, configured by the
// written files and a HOME holding the SSO token cache.

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestAWSCLITokenProfiles(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("SKIP: the AWS CLI (`aws`) is not on PATH, so the AWS CLI acceptance test cannot run here; CI installs it (pip install awscli)")
	}
	bin := cliBuildShuffle(t)
	home := t.TempDir()
	srv := cliStart(t, bin, awsPath, home, "--recovery-points", "0", "--token-ttl", "30s",
		"--sso-cache", filepath.Join(home, ".aws", "sso", "cache"))

	t.Run("AssumeRole", func(t *testing.T) {
		var out struct {
			Credentials     struct{ AccessKeyId, SecretAccessKey, SessionToken, Expiration string }
			AssumedRoleUser struct{ Arn, AssumedRoleId string }
		}
		srv.ok(t, &out, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+cliSource+":role/ShuffleOperator",
			"--role-session-name", "cli-session", "--duration-seconds", "900", "--profile", "source-base")
		if out.AssumedRoleUser.Arn != "arn:aws:sts::"+cliSource+":assumed-role/ShuffleOperator/cli-session" ||
			!strings.HasPrefix(out.Credentials.AccessKeyId, "ASIA") || out.Credentials.SessionToken == "" || out.Credentials.Expiration == "" {
			t.Errorf("assume-role answered %+v", out.AssumedRoleUser)
		}
		srv.fails(t, "AccessDenied", "sts", "assume-role", "--role-arn", "arn:aws:iam::"+cliDestination+":role/ShuffleOperatorNoLock",
			"--role-session-name", "cli-session", "--profile", "source-base")
		srv.fails(t, "ValidationError", "sts", "assume-role", "--role-arn", "arn:aws:iam::"+cliSource+":role/ShuffleOperator",
			"--role-session-name", "cli-session", "--duration-seconds", "7200", "--profile", "source-base")
	})
	for profile, want := range map[string]string{
		"source-assumed":      "arn:aws:sts::" + cliSource + ":assumed-role/ShuffleOperator/botocore-session-",
		"destination-assumed": "arn:aws:sts::" + cliDestination + ":assumed-role/ShuffleOperator/botocore-session-",
		"source-process":      "arn:aws:sts::" + cliSource + ":assumed-role/ShuffleOperator/credential-process",
		"source-sso":          "arn:aws:sts::" + cliSource + ":assumed-role/ShuffleOperator/operator@example.com",
		"source-web-identity": "arn:aws:sts::" + cliSource + ":assumed-role/ShuffleOperator/botocore-session-",
	} {
		t.Run(profile, func(t *testing.T) {
			var id struct{ Account, Arn string }
			srv.ok(t, &id, "sts", "get-caller-identity", "--profile", profile)
			if !strings.HasPrefix(id.Arn, want) {
				t.Errorf("--profile %s: caller %s, want %s...", profile, id.Arn, want)
			}
			// And a Backup call with the same credentials.
			srv.ok(t, nil, "backup", "list-backup-vaults", "--profile", profile)
		})
	}
	var snap struct {
		Calls map[string]int64 `json:"calls"`
	}
	srv.admin(t, "GET", "/_testenv/counters", "", &snap)
	// botocore refreshes an SSO token from 15 minutes before its expiry,
	// so with 30 s tokens it calls CreateToken too.
	if snap.Calls["AssumeRole"] < 3 || snap.Calls["GetRoleCredentials"] < 1 || snap.Calls["CreateToken"] < 1 || snap.Calls["AssumeRoleWithWebIdentity"] < 1 {
		t.Errorf("calls counted: %v; want AssumeRole, GetRoleCredentials, CreateToken and AssumeRoleWithWebIdentity from the CLI", snap.Calls)
	}
}
