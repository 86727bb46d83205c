package testenv_test

// Expiry and rotation of the token authority's credential kinds, through
// the real SDK providers: sessions last --token-ttl, and with rotation
// off every refresher stops (the source keys of an assumed role, the SSO
// token cache and its CreateToken refresh, the credential_process keys,
// the web identity token file) until rotation is back on.

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

var tokKinds = []string{testenv.ProfileSourceAssumed, testenv.ProfileSourceSSO, testenv.ProfileSourceProcess, testenv.ProfileSourceWebIdentity}

// tokWaitPast sleeps until t has passed by a margin.
func tokWaitPast(t time.Time) {
	if d := time.Until(t.Add(300 * time.Millisecond)); d > 0 {
		time.Sleep(d)
	}
}

// tokCallWith calls GetCallerIdentity with fixed credentials.
func tokCallWith(env *testenvtest.Env, c aws.Credentials) error {
	_, err := sts.NewFromConfig(aws.Config{Region: env.Region(), BaseEndpoint: aws.String(env.URL), Credentials: tokStatic(c)}).
		GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
	return err
}

func TestTokenKindsExpireAtTheTTL(t *testing.T) {
	const ttl = 3 * time.Second
	env := tokStart(t, testenv.Options{TokenTTL: ttl})
	got := map[string]aws.Credentials{}
	var last time.Time
	for _, profile := range tokKinds {
		cfg, err := tokLoad(t, env, profile)
		sdkNoErr(t, err, "load "+profile)
		before := time.Now()
		c, err := cfg.Credentials.Retrieve(sdkCtx)
		sdkNoErr(t, err, "retrieve "+profile)
		// The process keys were issued by the rotation, up to a TTL ago;
		// the others now.
		earliest := before.Add(ttl - time.Second)
		if profile == testenv.ProfileSourceProcess {
			earliest = before
		}
		if !c.CanExpire || c.Expires.Before(earliest) || c.Expires.After(time.Now().Add(ttl)) {
			t.Errorf("%s: credentials expire at %v (can expire: %v), want within %v of %v", profile, c.Expires, c.CanExpire, ttl, before)
			continue
		}
		sdkNoErr(t, tokCallWith(env, c), profile+" before expiry")
		got[profile] = c
		if c.Expires.After(last) {
			last = c.Expires
		}
	}
	tokWaitPast(last)
	for profile, c := range got {
		if err := tokCallWith(env, c); err == nil {
			t.Errorf("%s: the credentials still work after their expiry %v", profile, c.Expires)
		} else {
			sdkWantErr(t, err, "ExpiredToken", 403)
		}
	}
}

func TestTokenKindsStopWithRotationAndResume(t *testing.T) {
	const ttl = 3 * time.Second
	env, logs := tokStartLogged(t, testenv.Options{TokenTTL: ttl})
	cache := filepath.Join(env.Home, ".aws", "sso", "cache", testenv.SSOCacheFile())
	for _, p := range tokKinds {
		_, err := tokWho(t, env, p)
		sdkNoErr(t, err, p+" with rotation on")
	}

	env.SetRotation(false)
	sdkNoErr(t, env.Rotate(), "Rotate") // fresh keys, which now lapse
	cached, err := os.ReadFile(cache)
	sdkNoErr(t, err, "read the SSO cache")
	base, _ := env.Current(testenv.ProfileSourceBase)
	tokWaitPast(base.Expires)
	createsBefore := env.Counters().Snapshot().Calls["CreateToken"]
	for _, p := range tokKinds {
		if got, err := tokWho(t, env, p); err == nil {
			t.Errorf("%s still works (as %s) after its keys expired with rotation off", p, got)
		} else if strings.Contains(err.Error(), base.SecretAccessKey) {
			t.Errorf("%s: the error carries a secret: %v", p, err)
		} else {
			t.Logf("%s with rotation off: %v", p, err)
		}
	}
	if n := env.Counters().Snapshot().Calls["CreateToken"] - createsBefore; n < 1 {
		t.Errorf("the SDK did not try CreateToken on the expired SSO token (%d calls)", n)
	}
	if now, _ := os.ReadFile(cache); !bytes.Equal(now, cached) {
		t.Errorf("the SSO cache was rewritten while rotation was off")
	}

	env.SetRotation(true)
	sdkNoErr(t, env.Rotate(), "Rotate")
	if now, _ := os.ReadFile(cache); bytes.Equal(now, cached) {
		t.Errorf("Rotate did not rewrite the SSO cache")
	}
	for _, p := range tokKinds {
		_, err := tokWho(t, env, p)
		sdkNoErr(t, err, p+" with rotation back on")
	}
	c := tokCache(t, cache)
	proc, _ := env.Current(testenv.ProfileSourceProcess)
	tokNoSecrets(t, "the log", logs(), base.SecretAccessKey, base.SessionToken, proc.SecretAccessKey,
		c["accessToken"].(string), c["refreshToken"].(string), c["clientSecret"].(string))
}

// tokCache reads the SSO token cache as JSON.
func tokCache(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	sdkNoErr(t, err, "read the SSO cache")
	var m map[string]any
	sdkNoErr(t, json.Unmarshal(b, &m), "parse the SSO cache")
	return m
}

func tokWriteCache(t *testing.T, path string, m map[string]any) {
	t.Helper()
	b, err := json.Marshal(m)
	sdkNoErr(t, err, "encode the SSO cache")
	sdkNoErr(t, os.WriteFile(path, b, 0o600), "write the SSO cache")
}

func TestSSOTokenCacheAndCreateToken(t *testing.T) {
	env := tokStart(t, testenv.Options{})
	path := filepath.Join(env.Home, ".aws", "sso", "cache", testenv.SSOCacheFile())
	if sum := sha1.Sum([]byte("testenv")); testenv.SSOCacheFile() != hex.EncodeToString(sum[:])+".json" {
		t.Fatalf("cache file name %s is not the sha1 hex of the session name", testenv.SSOCacheFile())
	}
	st, err := os.Stat(path)
	sdkNoErr(t, err, "stat the SSO cache")
	if st.Mode().Perm() != 0o600 {
		t.Errorf("the SSO cache has mode %v, want 0600", st.Mode().Perm())
	}
	m := tokCache(t, path)
	for _, k := range []string{"startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret", "registrationExpiresAt", "refreshToken"} {
		if s, _ := m[k].(string); s == "" {
			t.Errorf("the SSO cache lacks %s: %v", k, m)
		}
	}
	for _, k := range []string{"expiresAt", "registrationExpiresAt"} {
		if v, _ := m[k].(string); !strings.HasSuffix(v, "Z") {
			t.Errorf("%s = %q, want RFC 3339 UTC", k, v)
		} else if _, err := time.Parse(time.RFC3339, v); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}

	// An access token the portal never issued: UnauthorizedException.
	bad := tokCache(t, path)
	bad["accessToken"] = "not-a-token"
	tokWriteCache(t, path, bad)
	_, err = tokWho(t, env, testenv.ProfileSourceSSO)
	if err == nil || !strings.Contains(err.Error(), "UnauthorizedException") {
		t.Errorf("with an unknown access token: %v, want UnauthorizedException", err)
	}

	// An expired token: the SDK refreshes it with CreateToken and writes
	// the new one back.
	m["expiresAt"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	tokWriteCache(t, path, m)
	got, err := tokWho(t, env, testenv.ProfileSourceSSO)
	sdkNoErr(t, err, "GetCallerIdentity through an expired, refreshable SSO token")
	if !strings.HasSuffix(got, ":assumed-role/ShuffleOperator/operator@example.com") {
		t.Errorf("caller %s", got)
	}
	if n := env.Counters().Snapshot().Calls["CreateToken"]; n != 1 {
		t.Errorf("%d CreateToken calls, want 1", n)
	}
	after := tokCache(t, path)
	exp, _ := time.Parse(time.RFC3339, after["expiresAt"].(string))
	if after["accessToken"] == m["accessToken"] || !exp.After(time.Now()) {
		t.Errorf("the SDK did not write the refreshed token back: %v", after["expiresAt"])
	}
	// A refresh token testenv never issued is refused.
	m["refreshToken"] = "not-a-refresh-token"
	tokWriteCache(t, path, m)
	if _, err := tokWho(t, env, testenv.ProfileSourceSSO); err == nil || !strings.Contains(err.Error(), "InvalidGrantException") {
		t.Errorf("with an unknown refresh token: %v, want InvalidGrantException", err)
	}
}

func TestProcessCredentialsCommand(t *testing.T) {
	env := tokStart(t, testenv.Options{TokenTTL: 3 * time.Second})
	bin := tokShuffle(t)
	run := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"testenv", "credential-process"}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	var cur testenv.Credentials
	for _, args := range [][]string{{"--endpoint", env.URL}, {"--dir", env.Dir}} {
		before, _ := env.Current(testenv.ProfileSourceProcess)
		out, stderr, code := run(append(args, "--profile", testenv.ProfileSourceProcess)...)
		cur, _ = env.Current(testenv.ProfileSourceProcess)
		var pc testenv.ProcessCredentials
		if code != 0 || json.Unmarshal([]byte(out), &pc) != nil {
			t.Fatalf("credential-process %v: exit %d, stdout %q, stderr %q", args, code, out, stderr)
		}
		if pc.Version != 1 || pc.AccessKeyId == "" || pc.SessionToken == "" || pc.Expiration == "" {
			t.Errorf("credential-process %v printed %+v", args, pc)
		}
		if pc.AccessKeyId != before.AccessKeyID && pc.AccessKeyId != cur.AccessKeyID {
			t.Errorf("printed key %s, testenv holds %s", pc.AccessKeyId, cur.AccessKeyID)
		}
	}
	// The process keys are its own, and not in aws/credentials.
	if b, _ := os.ReadFile(env.CredentialsPath()); bytes.Contains(b, []byte(cur.AccessKeyID)) || bytes.Contains(b, []byte("[source-process]")) {
		t.Errorf("aws/credentials holds the source-process keys")
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--endpoint", "http://127.0.0.1:1", "--profile", "source-process"}, 1, "cannot reach testenv at http://127.0.0.1:1"},
		{[]string{"--endpoint", env.URL, "--profile", "source-sso"}, 1, "issues no keys of its own for profile \"source-sso\""},
		{[]string{"--profile", "source-process"}, 2, "--endpoint URL or --dir DIR"},
		{[]string{"--endpoint", env.URL}, 2, "--profile is required"},
	} {
		out, stderr, code := run(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || out != "" {
			t.Errorf("credential-process %v: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, out, stderr, c.code, c.want)
		}
	}
	// Expired with rotation off: exit 1 saying so, without the keys.
	env.SetRotation(false)
	cur, _ = env.Current(testenv.ProfileSourceProcess)
	tokWaitPast(cur.Expires)
	out, stderr, code := run("--endpoint", env.URL, "--profile", testenv.ProfileSourceProcess)
	if code != 1 || out != "" || !strings.Contains(stderr, "expired") || !strings.Contains(stderr, "rotation is off") ||
		strings.Contains(stderr, cur.SecretAccessKey) || strings.Contains(stderr, cur.AccessKeyID) {
		t.Errorf("expired: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

func TestSSOCacheWithoutHome(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-home")
	t.Setenv("HOME", missing)
	var logs []string
	srv, err := testenv.New(testenv.Options{RecoveryPoints: -1, Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }})
	sdkNoErr(t, err, "New")
	// The default cache cannot be written: a warning, and no home made.
	sdkNoErr(t, srv.WriteFiles(t.TempDir()), "WriteFiles without a home directory")
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the emulator made the missing home directory %s (%v)", missing, err)
	}
	if got := strings.Join(logs, "\n"); !strings.Contains(got, "SSO token cache not written") || !strings.Contains(got, "--sso-cache") {
		t.Errorf("no warning about the SSO cache; log:\n%s", got)
	}
	sdkNoErr(t, srv.Rotate(), "Rotate without a cache")
	// A cache directory the options name must be written.
	file := filepath.Join(t.TempDir(), "a-file")
	sdkNoErr(t, os.WriteFile(file, nil, 0o600), "write a file")
	srv, err = testenv.New(testenv.Options{RecoveryPoints: -1, SSOCacheDir: filepath.Join(file, "cache")})
	sdkNoErr(t, err, "New")
	if err := srv.WriteFiles(t.TempDir()); err == nil || !strings.Contains(err.Error(), "SSO token cache") {
		t.Errorf("WriteFiles with an unwritable --sso-cache: %v, want an error naming the SSO token cache", err)
	}
}

func TestAdminCredentialsEndpoint(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
	get := func(profile string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(env.URL + "/_testenv/credentials/" + profile)
		sdkNoErr(t, err, "GET credentials")
		defer resp.Body.Close()
		var m map[string]any
		sdkNoErr(t, json.NewDecoder(resp.Body).Decode(&m), "decode")
		return resp.StatusCode, m
	}
	// Long-lived keys: no session token, no expiry.
	cur, _ := env.Current(testenv.ProfileSourceProcess)
	st, m := get(testenv.ProfileSourceProcess)
	if st != 200 || m["Version"] != 1.0 || m["AccessKeyId"] != cur.AccessKeyID || m["SecretAccessKey"] != cur.SecretAccessKey {
		t.Errorf("GET source-process: %d %v", st, m["AccessKeyId"])
	}
	if _, ok := m["SessionToken"]; ok {
		t.Errorf("long-lived keys printed with a SessionToken")
	}
	if _, ok := m["Expiration"]; ok {
		t.Errorf("long-lived keys printed with an Expiration")
	}
	// Any profile the authority issues keys for; not the others.
	if st, m := get(testenv.ProfileSourceBase); st != 200 || m["AccessKeyId"] == "" {
		t.Errorf("GET source-base: %d", st)
	}
	if st, m := get(testenv.ProfileSourceAssumed); st != 404 || !strings.Contains(m["error"].(string), "source-process") {
		t.Errorf("GET source-assumed: %d %v, want 404 naming the profiles with keys", st, m)
	}
}

func TestSSOLegacyProfile(t *testing.T) {
	env := tokStart(t, testenv.Options{})
	f, err := os.OpenFile(env.ConfigPath(), os.O_APPEND|os.O_WRONLY, 0)
	sdkNoErr(t, err, "open aws/config")
	_, err = f.WriteString("\n[profile legacy-sso]\nsso_start_url = " + testenv.SSOStartURL + "\nsso_region = us-east-1\n" +
		"sso_account_id = 222222222222\nsso_role_name = ShuffleOperator\nregion = us-east-1\nservices = testenv\n")
	sdkNoErr(t, err, "append a profile")
	sdkNoErr(t, f.Close(), "close aws/config")
	got, err := tokWho(t, env, "legacy-sso")
	sdkNoErr(t, err, "GetCallerIdentity through a legacy SSO profile")
	if want := "arn:aws:sts::222222222222:assumed-role/ShuffleOperator/operator@example.com"; got != want {
		t.Errorf("caller %s, want %s", got, want)
	}
	// The legacy token is never refreshed: expired, it fails.
	path := filepath.Join(env.Home, ".aws", "sso", "cache", testenv.SSOLegacyCacheFile())
	m := tokCache(t, path)
	m["expiresAt"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	tokWriteCache(t, path, m)
	if _, err := tokWho(t, env, "legacy-sso"); err == nil {
		t.Errorf("a legacy profile works with an expired token")
	}
	if n := env.Counters().Snapshot().Calls["CreateToken"]; n != 0 {
		t.Errorf("%d CreateToken calls for a legacy profile", n)
	}
}

func TestWebIdentityToken(t *testing.T) {
	env := tokStart(t, testenv.Options{})
	path := filepath.Join(env.Dir, testenv.WebIdentityTokenFile)
	tok, err := os.ReadFile(path)
	sdkNoErr(t, err, "read the web identity token")
	if len(strings.Split(string(tok), ".")) != 3 {
		t.Errorf("the token is not shaped like a JWT")
	}
	sdkNoErr(t, os.WriteFile(path, []byte("eyJhbGciOiJub25lIn0.e30.forged"), 0o600), "write a forged token")
	_, err = tokWho(t, env, testenv.ProfileSourceWebIdentity)
	if err == nil || !strings.Contains(err.Error(), "InvalidIdentityToken") {
		t.Errorf("with a token testenv never issued: %v, want InvalidIdentityToken", err)
	}
	sdkNoErr(t, env.Rotate(), "Rotate")
	got, err := tokWho(t, env, testenv.ProfileSourceWebIdentity)
	sdkNoErr(t, err, "GetCallerIdentity with the rewritten token")
	if !strings.HasPrefix(got, "arn:aws:sts::111111111111:assumed-role/ShuffleOperator/") {
		t.Errorf("caller %s", got)
	}
	if n := env.Counters().Snapshot().Calls["AssumeRoleWithWebIdentity"]; n != 2 {
		t.Errorf("%d AssumeRoleWithWebIdentity calls counted, want 2", n)
	}
}
