package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// credKind is one way of getting credentials that a copy run is
// rehearsed through: both sides use it, so that the pause, whichever
// side it comes from, is that kind's.
type credKind struct {
	src, dst string
	// extra is appended to aws/config: the destination's profile of
	// this kind, where testenv writes only the source's.
	extra func(t *testing.T, env *testenvtest.Env) string
	// banner must be in the pause banner: the kind and what to do.
	banner []*regexp.Regexp
}

// profileLike is the [profile from] section of aws/config renamed to
// name, with each of the replacements applied (old, new pairs).
func profileLike(t *testing.T, env *testenvtest.Env, from, name string, repl ...string) string {
	t.Helper()
	b, err := os.ReadFile(env.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	head := "[profile " + from + "]\n"
	_, rest, ok := strings.Cut(string(b), head)
	if !ok {
		t.Fatalf("aws/config has no %s", head)
	}
	sec, _, _ := strings.Cut(rest, "\n[")
	sec = "\n[profile " + name + "]\n" + strings.TrimRight(sec, "\n") + "\n"
	r := strings.NewReplacer(repl...)
	return r.Replace(sec)
}

var credKinds = map[string]credKind{
	"assume-role": {
		src: testenv.ProfileSourceAssumed, dst: testenv.ProfileDestinationAssumed,
		banner: []*regexp.Regexp{
			regexp.MustCompile(`credentials: assume-role arn:aws:iam::\d{12}:role/ShuffleOperator <- keys in a shared file of profile "source-base"`),
			regexp.MustCompile(`to resume: rewrite the keys of profile "source-base" in \S+ \(.*\); shuffle then assumes arn:aws:iam::\d{12}:role/ShuffleOperator again`),
		},
	},
	"sso": {
		src: testenv.ProfileSourceSSO, dst: "destination-sso",
		extra: func(t *testing.T, env *testenvtest.Env) string {
			return profileLike(t, env, testenv.ProfileSourceSSO, "destination-sso", "sso_account_id = "+testenv.SourceAccount, "sso_account_id = "+testenv.DestinationAccount)
		},
		banner: []*regexp.Regexp{
			regexp.MustCompile(`credentials: IAM Identity Center \(sso_session "testenv"\)`),
			regexp.MustCompile("to resume: run `aws sso login --profile (source|destination)-sso`"),
		},
	},
	"process": {
		src: testenv.ProfileSourceProcess, dst: "destination-process",
		extra: func(t *testing.T, env *testenvtest.Env) string {
			return profileLike(t, env, testenv.ProfileSourceProcess, "destination-process", "--profile "+testenv.ProfileSourceProcess, "--profile "+testenv.ProfileDestination)
		},
		banner: []*regexp.Regexp{
			regexp.MustCompile(`credentials: credential_process \(.*testenv credential-process`),
			regexp.MustCompile(`to resume: make the credential_process of profile "(source|destination)-process" give fresh credentials`),
		},
	},
}

// kindWorkspace starts testenv with 3 s tokens for a slow copy, with
// the SSO token cache under a home directory of the test's own, and
// appends the kind's destination profile.
func kindWorkspace(t *testing.T, k credKind, rotations *atomic.Int64) (*testenvtest.Env, string) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home) // the SDK reads the SSO token cache under $HOME
	env, dir := workspaceWith(t, testenv.Options{RecoveryPoints: 300, TokenTTL: 3 * time.Second, CopySpeed: slowCopySpeed,
		SSOCacheDir: filepath.Join(home, ".aws", "sso", "cache"),
		Logf: func(f string, a ...any) {
			if strings.Contains(f, "credentials rotated") {
				rotations.Add(1)
			}
		}})
	if k.extra != nil {
		f, err := os.OpenFile(env.ConfigPath(), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(k.extra(t, env))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return env, dir
}

// stopRefresherAfterExpiries lets the run copy across at least 4 token
// rotations (every token lives 3 s and is renewed with 1 s left, so the
// run crosses 3 expiries or more), then stops every refresher and waits
// for the pause banner, which must name the kind and what to do.
func stopRefresherAfterExpiries(t *testing.T, env *testenvtest.Env, k credKind, rotations *atomic.Int64, done <-chan int, errb *syncBuffer) string {
	t.Helper()
	waitFor(t, "copying", 60*time.Second, func() bool { return env.Counters().Calls("StartCopyJob") > 0 }, done, errb)
	start := rotations.Load()
	waitFor(t, "4 token rotations while copying", 60*time.Second, func() bool { return rotations.Load()-start >= 4 }, done, errb)
	if strings.Contains(errb.String(), "PAUSED") {
		t.Fatalf("the run paused while the refresher was running\n%s", errb.String())
	}
	env.SetRotation(false)
	waitFor(t, "pause banner", 60*time.Second, func() bool { return strings.Contains(errb.String(), "to resume:") }, done, errb)
	time.Sleep(200 * time.Millisecond)
	banner := errb.String()
	banner = banner[strings.Index(banner, "PAUSED"):]
	for _, re := range k.banner {
		if !re.MatchString(banner) {
			t.Errorf("the banner lacks %s:\n%s", re, banner)
		}
	}
	if !strings.Contains(banner, "failed 3 times in a row") {
		t.Errorf("the banner does not say the run paused after 3 failures:\n%s", banner)
	}
	// Paused: no Backup or KMS call reaches AWS (the credential calls of
	// an auto-resume try may).
	before := workCalls(env)
	time.Sleep(1500 * time.Millisecond)
	if n := workCalls(env) - before; n != 0 {
		t.Errorf("%d AWS calls reached the emulator while paused", n)
	}
	return banner
}

// workCalls counts the calls that do the migration's work: all but the
// ones that get or check credentials.
func workCalls(env *testenvtest.Env) int64 {
	var n int64
	for op, v := range env.Counters().Snapshot().Calls {
		switch op {
		case "GetCallerIdentity", "AssumeRole", "GetRoleCredentials", "CreateToken":
		default:
			n += v
		}
	}
	return n
}

// restartRefresher puts the emulator's refreshers back (a new login, a
// rewritten file) and rotates at once.
func restartRefresher(t *testing.T, env *testenvtest.Env) {
	t.Helper()
	env.SetRotation(true)
	if err := env.Rotate(); err != nil {
		t.Fatal(err)
	}
}

// Through IAM Identity Center on both sides: role credentials that
// expire every 3 s, got again from the portal with the token the cache
// holds (refreshed by CreateToken while the refresher runs); with the
// refresher stopped, the run pauses naming `aws sso login`, and resumes
// on Enter once the token cache is rewritten.
func TestRunThroughSSOProfilesPausesAndResumesOnEnter(t *testing.T) {
	var rotations atomic.Int64
	k := credKinds["sso"]
	env, _ := kindWorkspace(t, k, &rotations)
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "sso.lua")
	pr, pw := io.Pipe()
	defer pw.Close()
	out, errb, done := runAsync(t, pr, "run", script, "--state", stateDir, "--source-profile", k.src, "--destination-profile", k.dst)
	stopRefresherAfterExpiries(t, env, k, &rotations, done, errb)
	restartRefresher(t, env)
	if _, err := pw.Write([]byte("\n")); err != nil {
		t.Fatal(err)
	}
	waitExit(t, done, out, errb)
	checkPauseLoggedFor(t, stateDir, "keypress", []string{k.src, k.dst}, "")
	checkAllCompleted(t, env, stateDir)
}

// Through credential_process on both sides: the process gives 3 s
// credentials with their Expiration and is run again as they lapse;
// with the refresher stopped it gives only expired ones, the run pauses
// naming the process, and --auto-resume resumes it once the process
// gives fresh credentials again (nothing announces that but trying).
func TestRunThroughCredentialProcessAutoResumes(t *testing.T) {
	var rotations atomic.Int64
	k := credKinds["process"]
	env, _ := kindWorkspace(t, k, &rotations)
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "process.lua")
	out, errb, done := runAsync(t, strings.NewReader(""), "run", script, "--state", stateDir, "--auto-resume",
		"--source-profile", k.src, "--destination-profile", k.dst)
	stopRefresherAfterExpiries(t, env, k, &rotations, done, errb)
	restartRefresher(t, env)
	waitExit(t, done, out, errb)
	checkPauseLoggedFor(t, stateDir, "auto-resume", []string{k.src, k.dst}, "")
	checkAllCompleted(t, env, stateDir)
}

// `shuffle check` says each side's kind of credentials, its chain and
// its expiry; an SSO profile without a token blocks with the exact
// login command as the fix.
func TestCheckReportsCredentialKindsAndExpiry(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	workspaceWith(t, testenv.Options{RecoveryPoints: 50, CopySpeed: 1e6, TokenTTL: 2 * time.Hour,
		SSOCacheDir: filepath.Join(home, ".aws", "sso", "cache")})
	code, out, errs := shuffle(t, "check", "examples/migrate.lua", "--source-profile", testenv.ProfileSourceSSO,
		"--destination-profile", testenv.ProfileDestinationAssumed)
	if code != exitOK {
		t.Fatalf("check exited %d:\n%s\n%s", code, out, errs)
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`source\s+profile\s+profile "source-sso" \(from --source-profile\), region us-east-1 \(from script source.region\)`),
		regexp.MustCompile(`profile "source-sso": IAM Identity Center \(sso_session "testenv"\); credentials expire at 20\S+ \(in (1h5\dm\d+s|2h0m0s)\) \(shuffle renews them through the chain\)`),
		regexp.MustCompile(`profile "destination-assumed": assume-role arn:aws:iam::222222222222:role/ShuffleOperator <- keys in a shared file of profile "source-base"; credentials expire at 20\S+ \(in 1[45]m\d+s\); behind them, the source keys expire at 20\S+ \(in (1h5\dm\d+s|2h0m0s)\)`),
	} {
		if !re.MatchString(out) {
			t.Errorf("check output lacks %s:\n%s", re, out)
		}
	}
	code, out, errs = shuffle(t, "check", "examples/migrate.lua", "--source-profile", testenv.ProfileSourceWebIdentity,
		"--destination-profile", testenv.ProfileDestinationAssumed)
	webID := regexp.MustCompile(`profile "source-web-identity": web identity token \(\S+\); credentials expire at 20\S+ \(in (1h0m0s|5\dm\d+s)\) \(shuffle renews them through the chain\)`)
	if code != exitOK || !webID.MatchString(out) {
		t.Errorf("check through a web identity profile exited %d; want 0 and %s:\n%s\n%s", code, webID, out, errs)
	}
	if err := os.RemoveAll(filepath.Join(home, ".aws", "sso", "cache")); err != nil {
		t.Fatal(err)
	}
	code, out, errs = shuffle(t, "check", "examples/migrate.lua", "--source-profile", testenv.ProfileSourceSSO,
		"--destination-profile", testenv.ProfileDestinationAssumed)
	if code != exitBlocking || !strings.Contains(out+errs, "run `aws sso login --profile source-sso`") {
		t.Fatalf("check without an SSO token exited %d (want %d) and must say to run aws sso login:\n%s\n%s", code, exitBlocking, out, errs)
	}
}
