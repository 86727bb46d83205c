package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSTS answers AssumeRole, recording which access key signed each
// call and for which role; the credentials it gives live for ttl.
type fakeSTS struct {
	mu    sync.Mutex
	calls []string // "ROLE by AKID"
	n     int
	ttl   time.Duration
	srv   *httptest.Server
}

func newFakeSTS(t *testing.T, ttl time.Duration) *fakeSTS {
	f := &fakeSTS{ttl: ttl}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("Action") != "AssumeRole" {
			http.Error(w, "unexpected "+r.Form.Get("Action"), 400)
			return
		}
		akid := accessKeyOf(r.Header.Get("Authorization"))
		f.mu.Lock()
		f.n++
		f.calls = append(f.calls, r.Form.Get("RoleArn")+" by "+akid)
		key := fmt.Sprintf("ASIAROLE%04d", f.n)
		f.mu.Unlock()
		exp := time.Now().Add(f.ttl).UTC().Format(time.RFC3339)
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>%s</Expiration></Credentials>
<AssumedRoleUser><Arn>%s/x</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>`, key, exp, r.Form.Get("RoleArn"))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSTS) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func accessKeyOf(auth string) string {
	_, rest, _ := strings.Cut(auth, "Credential=")
	akid, _, _ := strings.Cut(rest, "/")
	return akid
}

// chainFiles writes a config with a two-hop assume-role chain whose
// base keys are in the credentials file, and returns Options for it.
func chainFiles(t *testing.T, stsURL, baseKey string) Options {
	t.Helper()
	dir := t.TempDir()
	cfg := `[profile base]
region = us-east-1

[profile assumed]
role_arn = arn:aws:iam::111111111111:role/First
source_profile = base
region = us-east-1
services = fake

[profile top]
role_arn = arn:aws:iam::222222222222:role/Second
source_profile = assumed
region = us-east-1
services = fake

[services fake]
sts =
  endpoint_url = ` + stsURL + "\n"
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	o := Options{ConfigFile: filepath.Join(dir, "config"), CredentialsFile: filepath.Join(dir, "credentials")}
	writeBase(t, o, baseKey)
	return o
}

func writeBase(t testing.TB, o Options, key string) {
	t.Helper()
	body := "[base]\naws_access_key_id = " + key + " ; rotated by cron\naws_secret_access_key = secret-" + key + "\n"
	tmp := o.CredentialsFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, o.CredentialsFile); err != nil {
		t.Fatal(err)
	}
}

// The usual cross-account pattern: a role assumed with the keys of a
// source_profile that a refresher rewrites. Once the role's credentials
// expire, the next AssumeRole is signed with the keys now in the file,
// through every hop of the chain; the SDK alone keeps the keys it read
// first.
func TestAssumeRoleChainUsesRewrittenSourceKeys(t *testing.T) {
	f := newFakeSTS(t, 2*time.Second)
	o := chainFiles(t, f.srv.URL, "AKIAFIRST")
	ctx := context.Background()
	cfg, p, err := loadProvider(ctx, o, "top", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	ch := p.Chain()
	if ch.Kind != KindAssumeRole || ch.Base != KindStatic || ch.BaseProfile != "base" || len(ch.Roles) != 2 || !ch.Renews() {
		t.Fatalf("chain %+v", ch)
	}
	if d := ch.Describe(); !strings.Contains(d, "Second <- arn:aws:iam::111111111111:role/First <- keys in a shared file of profile \"base\"") {
		t.Errorf("Describe: %s", d)
	}
	c, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"arn:aws:iam::111111111111:role/First by AKIAFIRST", "arn:aws:iam::222222222222:role/Second by ASIAROLE0001"}
	if got := f.log(); fmt.Sprint(got) != fmt.Sprint(want) || c.AccessKeyID != "ASIAROLE0002" {
		t.Fatalf("first resolution: calls %v, key %s; want %v (the inline comment is not part of the key)", got, c.AccessKeyID, want)
	}
	if exp := p.Expiry(); exp.IsZero() || time.Until(exp) > 3*time.Second {
		t.Errorf("Expiry %v: want the assumed role's own expiry", exp)
	}
	writeBase(t, o, "AKIASECOND")
	deadline := time.Now().Add(30 * time.Second)
	for c.AccessKeyID == "ASIAROLE0002" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if c, err = cfg.Credentials.Retrieve(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := f.log()
	if len(got) < 4 || got[2] != "arn:aws:iam::111111111111:role/First by AKIASECOND" {
		t.Fatalf("after the source keys were rewritten and the role expired: calls %v; want First assumed with AKIASECOND", got)
	}
}

// A reload (what the guard does after AWS refuses the credentials)
// goes through the whole chain again at once, without waiting for the
// role's credentials to expire.
func TestReloadResolvesTheWholeChainAgain(t *testing.T) {
	f := newFakeSTS(t, time.Hour)
	o := chainFiles(t, f.srv.URL, "AKIAFIRST")
	ctx := context.Background()
	cfg, p, err := loadProvider(ctx, o, "assumed", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	writeBase(t, o, "AKIASECOND")
	if err := p.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	cfg.Credentials.(interface{ Invalidate() }).Invalidate()
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.log(); len(got) != 2 || got[1] != "arn:aws:iam::111111111111:role/First by AKIASECOND" {
		t.Fatalf("calls %v; want the role assumed again with the rewritten keys", got)
	}
}

// credential_process: the expiry is the process's Expiration; a
// process that fails is a CredentialsError, classified Auth, naming the
// profile and what to do.
func TestCredentialProcessExpiryAndFailure(t *testing.T) {
	dir := t.TempDir()
	exp := time.Now().Add(40 * time.Minute).UTC().Truncate(time.Second)
	script := filepath.Join(dir, "helper.sh")
	body := fmt.Sprintf("#!/bin/sh\nif [ -e %s/fail ]; then echo 'token gone' >&2; exit 3; fi\n"+
		`echo '{"Version":1,"AccessKeyId":"ASIAPROC","SecretAccessKey":"s","SessionToken":"t","Expiration":"%s"}'`+"\n",
		dir, exp.Format(time.RFC3339))
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	cfgText := "[profile proc]\nregion = us-east-1\ncredential_process = " + script + "\n"
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	o := Options{ConfigFile: filepath.Join(dir, "config"), CredentialsFile: filepath.Join(dir, "credentials")}
	info, err := Inspect(context.Background(), o, "proc", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if info.Chain.Kind != KindProcess || !info.Expires.Equal(exp) || info.Chain.Process != script {
		t.Fatalf("info %+v; want credential_process expiring %v", info, exp)
	}
	if err := os.WriteFile(filepath.Join(dir, "fail"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Inspect(context.Background(), o, "proc", "us-east-1")
	var ce *CredentialsError
	if !errors.As(err, &ce) || !IsAuthError(err) || !strings.Contains(err.Error(), `profile "proc"`) ||
		!strings.Contains(ce.Remedy, "credential_process of profile \"proc\"") {
		t.Fatalf("a failing process: %v (auth %v)", err, IsAuthError(err))
	}
}

// A missing or expired SSO token names the exact login command.
func TestSSOWithoutTokenSaysHowToLogIn(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir) // the SDK finds the token cache under the home directory
	cfgText := `[profile admin]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Admin
region = us-east-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
`
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	o := Options{ConfigFile: filepath.Join(dir, "config"), CredentialsFile: filepath.Join(dir, "credentials")}
	info, err := Inspect(context.Background(), o, "admin", "us-east-1")
	if info.Chain.Kind != KindSSO || info.Chain.SSOSession != "corp" || !strings.HasPrefix(info.Chain.SSOCache, dir) {
		t.Errorf("chain %+v", info.Chain)
	}
	if err == nil || !IsAuthError(err) || !strings.Contains(err.Error(), "run `aws sso login --profile admin`") {
		t.Fatalf("no token: %v", err)
	}
}

// Chains of each kind are told apart as the SDK resolves them.
func TestDetectChainKinds(t *testing.T) {
	dir := t.TempDir()
	cfgText := `[default]
region = us-east-1

[profile keys]
region = us-east-1

[profile web]
role_arn = arn:aws:iam::111111111111:role/Web
web_identity_token_file = /var/run/token

[profile ec2]
role_arn = arn:aws:iam::111111111111:role/FromInstance
credential_source = Ec2InstanceMetadata

[profile legacy]
sso_start_url = https://x.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111111111111
sso_role_name = R

[profile self]
role_arn = arn:aws:iam::111111111111:role/Self
source_profile = self
aws_access_key_id = AKIASELF
aws_secret_access_key = s
`
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "credentials"), []byte("[keys]\naws_access_key_id = AKIAK\naws_secret_access_key = s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := Options{ConfigFile: filepath.Join(dir, "config"), CredentialsFile: filepath.Join(dir, "credentials")}
	cases := []struct {
		profile    string
		env        bool
		kind, base Kind
		roles      int
	}{
		{"keys", false, KindStatic, KindStatic, 0},
		{"web", false, KindWebIdentity, KindWebIdentity, 0},
		{"ec2", false, KindAssumeRole, KindInstance, 1},
		{"legacy", false, KindSSO, KindSSO, 0},
		{"self", false, KindAssumeRole, KindStatic, 1},
		{"", true, KindEnvironment, KindEnvironment, 0},
	}
	for _, c := range cases {
		oo := o
		oo.EnvCredentials = c.env
		ch, err := DetectChain(context.Background(), oo, c.profile)
		if err != nil {
			t.Errorf("%q: %v", c.profile, err)
			continue
		}
		if ch.Kind != c.kind || ch.Base != c.base || len(ch.Roles) != c.roles {
			t.Errorf("%q: kind %v base %v roles %v; want %v %v %d", c.profile, ch.Kind, ch.Base, ch.Roles, c.kind, c.base, c.roles)
		}
	}
}

// BenchmarkProviderReload is what a reload costs: the profile resolved
// again through the SDK's loader (a two-hop assume-role chain's files;
// the AssumeRole calls are not part of it).
func BenchmarkProviderReload(b *testing.B) {
	dir := b.TempDir()
	o := Options{ConfigFile: filepath.Join(dir, "config"), CredentialsFile: filepath.Join(dir, "credentials")}
	cfg := "[profile base]\nregion = us-east-1\n\n[profile top]\nrole_arn = arn:aws:iam::1:role/A\nsource_profile = base\nregion = us-east-1\n"
	if err := os.WriteFile(o.ConfigFile, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	writeBase(b, o, "AKIABENCH")
	_, p, err := loadProvider(context.Background(), o, "top", "us-east-1")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Reload(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProviderFileCheck is what every Retrieve adds when no file
// changed: one stat of each watched file.
func BenchmarkProviderFileCheck(b *testing.B) {
	dir := b.TempDir()
	files := []string{filepath.Join(dir, "config"), filepath.Join(dir, "credentials")}
	for _, f := range files {
		if err := os.WriteFile(f, []byte("[default]\n"), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		_ = stampOf(files)
	}
}
