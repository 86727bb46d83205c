package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/testenv"
)

// The endpoints of examples/migrate.lua, which these tests rewrite.
const migrateEndpoints = `  source = { profile = "source", account = "111111111111", region = "us-east-1" },
  destination = { profile = "destination", account = "222222222222", region = "us-east-1" },`

// profilesWorkspace is workspace with no profile or region in the
// environment; each test sets what it needs.
func profilesWorkspace(t *testing.T) {
	t.Helper()
	workspace(t, 40)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
}

// dirListing is every file under dir with its size and modification
// time, to show that a refused command left a state as it was.
func dirListing(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = fmt.Sprint(info.ModTime(), info.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestProfilesFromTheEnvironmentPlan: a script that names no source
// profile and no region plans with AWS_PROFILE and the profiles'
// region, and the state is pinned to that region.
func TestProfilesFromTheEnvironmentPlan(t *testing.T) {
	profilesWorkspace(t)
	t.Setenv("AWS_PROFILE", testenv.ProfileSource)
	script := writeScript(t, "envprofile.lua", migrateEndpoints, `  source = { account = "111111111111" },
  destination = { profile = "destination", account = "222222222222" },`)
	stateDir := filepath.Join(t.TempDir(), "state")
	code, out, errs := shuffle(t, "plan", script, "--json", "--state", stateDir)
	if code != exitOK {
		t.Fatalf("plan exited %d:\n%s", code, errs)
	}
	var p plan.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Totals.RecoveryPoints == 0 {
		t.Fatalf("plan --json: %v, %d RPs\n%s", err, p.Totals.RecoveryPoints, out)
	}
	st, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id := state.Identity{SourceAccount: testenv.SourceAccount, DestinationAccount: testenv.DestinationAccount, Region: "us-east-1"}
	if err := st.CheckIdentity(id); err != nil {
		t.Errorf("the state is not pinned to the profiles' region us-east-1: %v", err)
	}
	id.Region = "eu-west-1"
	if err := st.CheckIdentity(id); err == nil {
		t.Errorf("the state took region eu-west-1 too: it recorded no region")
	}
}

// TestProfilesDestinationFromTheFlag: neither side names a profile or a
// region in the script; --destination-profile and AWS_PROFILE give them,
// to check and to iam-policy alike.
func TestProfilesDestinationFromTheFlag(t *testing.T) {
	profilesWorkspace(t)
	t.Setenv("AWS_PROFILE", testenv.ProfileSource)
	script := writeScript(t, "flagprofile.lua", migrateEndpoints, `  source = { account = "111111111111" },
  destination = { account = "222222222222" },`)
	code, out, errs := shuffle(t, "check", script, "--destination-profile", testenv.ProfileDestination)
	if code != exitOK {
		t.Fatalf("check exited %d:\n%s\n%s", code, out, errs)
	}
	// iam-policy's ARNs name the region the profiles resolve to.
	code, out, errs = shuffle(t, "iam-policy", script, "--destination-profile", testenv.ProfileDestination, "--only", "source")
	if code != exitOK || !strings.Contains(out, "arn:aws:backup:us-east-1:111111111111:backup-vault:*") {
		t.Fatalf("iam-policy exited %d:\n%s\n%s", code, out, errs)
	}
	if code, _, errs := shuffle(t, "iam-policy", script); code != exitUsage || !strings.Contains(errs, "--destination-profile") {
		t.Fatalf("iam-policy without a destination profile exited %d:\n%s", code, errs)
	}
}

// TestProfilesRegionMismatchRefusedBeforeAnythingIsWritten: the script
// says eu-west-1, the profiles resolve to us-east-1: plan, run and check
// exit 2 naming both values and where each came from, and the state is
// neither created nor changed.
func TestProfilesRegionMismatchRefusedBeforeAnythingIsWritten(t *testing.T) {
	env, _ := workspace(t, 40)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	script := writeScript(t, "euwest.lua", migrateEndpoints, `  source = { profile = "source", account = "111111111111", region = "eu-west-1" },
  destination = { profile = "destination", account = "222222222222" },`)
	want := []string{
		"the script says region eu-west-1 (script source.region)",
		`the source profile "source" resolves to us-east-1 (region of profile "source", ` + env.ConfigPath() + " line ",
		`the destination profile "destination" resolves to us-east-1`,
		`set region = eu-west-1 in profile "source"`,
	}
	for _, args := range [][]string{{"plan", script}, {"run", script}, {"check", script}} {
		stateDir := filepath.Join(t.TempDir(), "state")
		code, _, errs := shuffle(t, append(args, "--state", stateDir)...)
		if code != exitUsage {
			t.Fatalf("%s exited %d, want %d:\n%s", args[0], code, exitUsage, errs)
		}
		for _, w := range want {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: the message does not say %q:\n%s", args[0], w, errs)
			}
		}
		if _, err := os.Stat(stateDir); !os.IsNotExist(err) {
			t.Errorf("%s: the state directory was created (%v)", args[0], err)
		}
	}

	// A state made with the right region is left as it was.
	stateDir := filepath.Join(t.TempDir(), "state")
	if code, _, errs := shuffle(t, "plan", "examples/migrate.lua", "--state", stateDir); code != exitOK {
		t.Fatalf("plan exited %d:\n%s", code, errs)
	}
	before := dirListing(t, stateDir)
	if code, _, errs := shuffle(t, "plan", script, "--state", stateDir); code != exitUsage || !strings.Contains(errs, want[0]) {
		t.Fatalf("plan on an existing state exited %d:\n%s", code, errs)
	}
	after := dirListing(t, stateDir)
	for p, v := range before {
		if after[p] != v {
			t.Errorf("%s changed", p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s was created", p)
		}
	}
}

// TestProfilesMissingDestinationProfile: AWS_PROFILE gives the source
// only; a script that names no destination profile exits 2 saying what
// to set and why, and writes nothing.
func TestProfilesMissingDestinationProfile(t *testing.T) {
	profilesWorkspace(t)
	t.Setenv("AWS_PROFILE", testenv.ProfileSource)
	script := writeScript(t, "nodest.lua", migrateEndpoints, `  source = { account = "111111111111", region = "us-east-1" },
  destination = { account = "222222222222", region = "us-east-1" },`)
	for _, cmd := range []string{"plan", "check"} {
		stateDir := filepath.Join(t.TempDir(), "state")
		code, _, errs := shuffle(t, cmd, script, "--state", stateDir)
		if code != exitUsage {
			t.Fatalf("%s exited %d, want %d:\n%s", cmd, code, exitUsage, errs)
		}
		for _, w := range []string{"no AWS profile for the destination account", "destination.profile", "--destination-profile",
			`AWS_PROFILE ("source") is taken for the source only`, "one profile cannot be both accounts", "nodest.lua:"} {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: the message does not say %q:\n%s", cmd, w, errs)
			}
		}
		if _, err := os.Stat(stateDir); !os.IsNotExist(err) {
			t.Errorf("%s: the state directory was created (%v)", cmd, err)
		}
	}
}
