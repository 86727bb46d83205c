package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// networkProfiles writes AWS config and credentials files whose source
// and destination profiles both point at endpoint, and points the CLI
// at them.
func networkProfiles(t *testing.T, endpoint string) {
	t.Helper()
	dir := t.TempDir()
	var cfg, creds strings.Builder
	for _, p := range []string{"source", "destination"} {
		cfg.WriteString("[profile " + p + "]\nregion = us-east-1\nendpoint_url = " + endpoint + "\n\n")
		creds.WriteString("[" + p + "]\naws_access_key_id = AKIDNETWORKTEST\naws_secret_access_key = secret\n\n")
	}
	cfgPath, credsPath := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credsPath, []byte(creds.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfgPath)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credsPath)
}

// closedPort is a local address nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestUnreachableEndpointExitsOne: an endpoint nobody listens on and
// one whose host name does not resolve are run-time errors (exit 1)
// naming the endpoint, from plan, check and run (its pre-flight), and
// nothing is written; usage errors (a misspelled flag, an unknown
// profile) still exit 2.
func TestUnreachableEndpointExitsOne(t *testing.T) {
	workspace(t, 10) // the scripts, policies and metadata; the profiles are replaced below
	for _, endpoint := range []string{"http://" + closedPort(t), "http://shuffle-no-such-host.invalid"} {
		networkProfiles(t, endpoint)
		for _, args := range [][]string{{"plan", "examples/migrate.lua"}, {"check", "examples/migrate.lua"}, {"run", "examples/migrate.lua"}} {
			stateDir := filepath.Join(t.TempDir(), "state")
			code, out, errs := shuffle(t, append(args, "--state", stateDir)...)
			if code != exitError {
				t.Errorf("%s against %s exited %d, want %d:\n%s%s", args[0], endpoint, code, exitError, out, errs)
			}
			if !strings.Contains(errs, "cannot reach the endpoint "+endpoint) {
				t.Errorf("%s against %s: the message does not name the endpoint:\n%s", args[0], endpoint, errs)
			}
			if _, err := os.Stat(stateDir); !os.IsNotExist(err) {
				t.Errorf("%s against %s: the state directory was created (%v)", args[0], endpoint, err)
			}
		}
		for _, args := range [][]string{
			{"plan", "examples/migrate.lua", "--stat", "x"},
			{"check", "examples/migrate.lua", "--skip-encryptio"},
			{"plan", "examples/migrate.lua", "--source-profile", "no-such-profile"},
			{"check", "examples/migrate.lua", "--destination-profile", "no-such-profile"},
		} {
			if code, _, errs := shuffle(t, args...); code != exitUsage {
				t.Errorf("%v with the endpoint %s exited %d, want %d (usage):\n%s", args, endpoint, code, exitUsage, errs)
			}
		}
	}
}
