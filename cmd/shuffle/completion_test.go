package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// completions runs cobra's hidden __complete command in-process and
// returns the values it offers (descriptions cut) and its directive line.
func completions(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	code, out, errs := shuffle(t, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %q exited %d: %s", args, code, errs)
	}
	var values []string
	directive := ""
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, ":") {
			directive = line
			continue
		}
		if line != "" {
			values = append(values, strings.SplitN(line, "\t", 2)[0])
		}
	}
	return values, directive
}

func TestCompletionOfProfilesCutoffAndState(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	credentials := filepath.Join(dir, "credentials")
	if err := os.WriteFile(config, []byte("[default]\nregion = eu-west-1\n[profile src-admin]\nregion = eu-west-1\n[profile dst-ops]\nregion = eu-central-1\n[sso-session corp]\nsso_region = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credentials, []byte("[keys-only]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", config)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credentials)

	all := []string{"default", "dst-ops", "keys-only", "src-admin"}
	for _, args := range [][]string{
		{"run", "x.lua", "--source-profile", ""},
		{"plan", "x.lua", "--destination-profile", ""},
		{"check", "x.lua", "--source-profile", ""},
		{"iam-policy", "x.lua", "--destination-profile", ""},
	} {
		got, directive := completions(t, args...)
		if !slices.Equal(got, all) || directive != ":4" {
			t.Errorf("%q: offered %q (%s), want %q (:4, no files)", args, got, directive, all)
		}
	}
	if got, _ := completions(t, "run", "x.lua", "--source-profile", "d"); !slices.Equal(got, []string{"default", "dst-ops"}) {
		t.Errorf("--source-profile d: offered %q", got)
	}

	if got, directive := completions(t, "run", "x.lua", "--cutoff", ""); !slices.Equal(got, []string{"soft", "cautious", "drain"}) || directive != ":4" {
		t.Errorf("--cutoff: offered %q (%s), want soft, cautious, drain", got, directive)
	}
	if got, _ := completions(t, "run", "x.lua", "--cutoff", "c"); !slices.Equal(got, []string{"cautious"}) {
		t.Errorf("--cutoff c: offered %q", got)
	}

	// --metrics-addr is an address: no file names (ShellCompDirectiveNoFileComp is 4).
	if got, directive := completions(t, "run", "x.lua", "--metrics-addr", ""); len(got) != 0 || directive != ":4" {
		t.Errorf("--metrics-addr: offered %q, directive %s; want nothing, :4", got, directive)
	}
	// --allow-drift: the drift kinds, after those already typed.
	if got, directive := completions(t, "run", "x.lua", "--allow-drift", ""); !slices.Equal(got, []string{"added", "removed", "changed", "vaults", "all"}) || directive != ":6" {
		t.Errorf("--allow-drift: offered %q (%s), want added, removed, changed, vaults, all (:6, no files, no space)", got, directive)
	}
	if got, _ := completions(t, "run", "x.lua", "--allow-drift", "added,"); !slices.Equal(got, []string{"added,removed", "added,changed", "added,vaults", "added,all"}) {
		t.Errorf("--allow-drift added,: offered %q", got)
	}

	// --state: directories (ShellCompDirectiveFilterDirs is 16).
	for _, cmd := range [][]string{{"run", "x.lua"}, {"status"}, {"forecast"}, {"state", "check"}, {"state", "backup", "f"}, {"reset", "vault", "v"}, {"check", "x.lua"}} {
		if _, directive := completions(t, append(cmd, "--state", "")...); directive != ":16" {
			t.Errorf("%q --state: directive %s, want :16 (directories)", cmd, directive)
		}
	}
}
