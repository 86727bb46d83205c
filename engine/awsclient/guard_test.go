package awsclient

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
)

func writeCreds(t *testing.T, path, key, expires string) {
	t.Helper()
	body := fmt.Sprintf("[other]\naws_access_key_id = OTHER\naws_secret_access_key = x\n\n[p]\naws_access_key_id = %s\naws_secret_access_key = secret-%s\naws_session_token = token-%s\n", key, key, key)
	if expires != "" {
		body += "x_security_token_expires = " + expires + "\n"
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// fileProvider is the Provider of a profile whose keys are in the
// credentials file at path (no config file).
func fileProvider(t *testing.T, path, profile string) *Provider {
	t.Helper()
	o := Options{ConfigFile: filepath.Join(filepath.Dir(path), "no-config"), CredentialsFile: path}
	_, p, err := loadProvider(context.Background(), o, profile, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileProviderRereadsTheFileWhenItChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	writeCreds(t, path, "KEY1", "2030-01-02T03:04:05Z")
	fp := fileProvider(t, path, "p")
	c, err := fp.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if c.AccessKeyID != "KEY1" || c.SecretAccessKey != "secret-KEY1" || c.SessionToken != "token-KEY1" || !c.CanExpire {
		t.Fatalf("got %+v", c)
	}
	// Expires is the recheck time unless the token expires sooner.
	if !fp.Expiry().Equal(want) || c.Expires.After(time.Now().Add(DefaultRecheck+time.Second)) {
		t.Fatalf("expiry %v, Expires %v", fp.Expiry(), c.Expires)
	}
	soon := time.Now().Add(10 * time.Second).UTC().Truncate(time.Second)
	writeCreds(t, path, "KEY2-LONGER", soon.Format(time.RFC3339))
	c, err = fp.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != "KEY2-LONGER" || !c.Expires.Equal(soon) {
		t.Fatalf("after the rewrite got %s expiring %v, want KEY2-LONGER expiring %v", c.AccessKeyID, c.Expires, soon)
	}
	// Same size, new mtime: still seen.
	writeCreds(t, path, "KEY3-LONGER", "")
	_ = os.Chtimes(path, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	c, _ = fp.Retrieve(context.Background())
	if c.AccessKeyID != "KEY3-LONGER" || !fp.Expiry().IsZero() {
		t.Fatalf("got %s, expiry %v", c.AccessKeyID, fp.Expiry())
	}
	if d := time.Until(c.Expires); d <= 0 || d > DefaultRecheck {
		t.Fatalf("without an expiry the credentials are cached for %v, want at most %v", d, DefaultRecheck)
	}
	// The profile gone from the file: the next Retrieve fails, naming
	// the profile and what to do, never quoting a secret.
	if err := os.WriteFile(path, []byte("[other]\naws_access_key_id = OTHER\naws_secret_access_key = secret-OTHER\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fp.Retrieve(context.Background()); err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), `profile "p"`) {
		t.Fatalf("profile removed from the file: %v", err)
	}
}

// fakeBackup answers ListBackupVaults, refusing any access key not in valid.
type fakeBackup struct {
	mu    sync.Mutex
	valid map[string]bool
	calls atomic.Int64
	srv   *httptest.Server
}

func newFakeBackup(t *testing.T, keys ...string) *fakeBackup {
	f := &fakeBackup{}
	f.setValid(keys...)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		auth := r.Header.Get("Authorization")
		key := ""
		if _, rest, ok := strings.Cut(auth, "Credential="); ok {
			key, _, _ = strings.Cut(rest, "/")
		}
		f.mu.Lock()
		ok := f.valid[key]
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.Header().Set("X-Amzn-ErrorType", "ExpiredTokenException")
			w.WriteHeader(403)
			fmt.Fprint(w, `{"__type":"ExpiredTokenException","message":"The security token included in the request is expired"}`)
			return
		}
		fmt.Fprint(w, `{"BackupVaultList":[]}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBackup) setValid(keys ...string) {
	f.mu.Lock()
	f.valid = map[string]bool{}
	for _, k := range keys {
		f.valid[k] = true
	}
	f.mu.Unlock()
}

func guardedClient(t *testing.T, g *Guard, url, path string) *backup.Client {
	fp := fileProvider(t, path, "p")
	cache := aws.NewCredentialsCache(fp)
	cfg := aws.Config{Region: "us-east-1", Credentials: cache, BaseEndpoint: aws.String(url), Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	p := g.register("p", fp, cache, nil)
	cfg.APIOptions = append(cfg.APIOptions, g.middleware(p))
	return backup.NewFromConfig(cfg)
}

func list(c *backup.Client, ctx context.Context) error {
	_, err := c.ListBackupVaults(ctx, &backup.ListBackupVaultsInput{})
	return err
}

func TestGuardReloadsOnceForConcurrentAuthFailures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	writeCreds(t, path, "OLD", "")
	f := newFakeBackup(t, "OLD")
	g := NewGuard()
	c := guardedClient(t, g, f.srv.URL, path)
	if err := list(c, context.Background()); err != nil {
		t.Fatal(err)
	}
	// The token refresher rewrites the file and the old key dies; the
	// cached credentials still hold OLD.
	writeCreds(t, path, "NEW", "")
	f.setValid("NEW")
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- list(c, context.Background())
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("call failed: %v", err)
		}
	}
	if r := g.Reloads(); r != 1 {
		t.Errorf("%d concurrent failing calls caused %d reloads, want 1", n, r)
	}
	if p, _ := g.Paused(); p {
		t.Error("paused, though the reload fixed it")
	}
}

func TestGuardPausesAfterThreeFailuresAndHoldsCallsUntilResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	writeCreds(t, path, "OLD", "2030-01-01T00:00:00Z")
	f := newFakeBackup(t, "OLD")
	g := NewGuard()
	paused := make(chan PauseInfo, 1)
	g.OnPause(func(i PauseInfo) { paused <- i })
	c := guardedClient(t, g, f.srv.URL, path)
	if err := list(c, context.Background()); err != nil {
		t.Fatal(err)
	}
	f.setValid() // expired, and nobody refreshes the file
	done := make(chan error, 5)
	for range 5 {
		go func() { done <- list(c, context.Background()) }()
	}
	var info PauseInfo
	select {
	case info = <-paused:
	case <-time.After(10 * time.Second):
		t.Fatal("no pause after repeated auth failures")
	}
	if info.Profile != "p" || info.Failures != 3 || info.Code != "ExpiredTokenException" || !info.Expires.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("pause info %+v", info)
	}
	if r := g.Reloads(); r != 3 {
		t.Errorf("%d reloads before the pause, want 3", r)
	}
	time.Sleep(150 * time.Millisecond) // let calls that were in flight settle
	before := f.calls.Load()
	time.Sleep(500 * time.Millisecond)
	if n := f.calls.Load() - before; n != 0 {
		t.Fatalf("%d calls reached AWS while paused", n)
	}
	select {
	case err := <-done:
		t.Fatalf("a call returned while paused: %v", err)
	default:
	}
	// A paused call still honours its context.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := list(c, ctx); err == nil {
		t.Fatal("a call with a cancelled context went through while paused")
	}
	writeCreds(t, path, "FRESH", "2031-01-01T00:00:00Z")
	f.setValid("FRESH")
	g.Resume()
	for range 5 {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("call after resume: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("calls still held after Resume")
		}
	}
	if g.PausedFor() < 500*time.Millisecond {
		t.Errorf("paused for %v", g.PausedFor())
	}
}

func TestGuardDoesNotPauseForCredentialsThatNeverWorked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	writeCreds(t, path, "WRONG", "")
	f := newFakeBackup(t, "RIGHT")
	g := NewGuard()
	c := guardedClient(t, g, f.srv.URL, path)
	for range 4 {
		if err := list(c, context.Background()); !IsAuthError(err) {
			t.Fatalf("got %v, want the auth error", err)
		}
	}
	if p, _ := g.Paused(); p {
		t.Fatal("paused on a profile that never worked; a wrong profile should fail at once")
	}
}

func TestGuardAutoResumeAfterTheFileChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	writeCreds(t, path, "OLD", "")
	f := newFakeBackup(t, "OLD")
	g := NewGuard()
	g.Poll = 20 * time.Millisecond
	fp := fileProvider(t, path, "p")
	cache := aws.NewCredentialsCache(fp)
	cfg := aws.Config{Region: "us-east-1", Credentials: cache, BaseEndpoint: aws.String(f.srv.URL), Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	client := backup.NewFromConfig(cfg, func(o *backup.Options) {})
	p := g.register("p", fp, cache, func(ctx context.Context) error { return list(client, ctx) })
	cfg.APIOptions = append(cfg.APIOptions, g.middleware(p))
	client = backup.NewFromConfig(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Watch(ctx, true)
	if err := list(client, ctx); err != nil {
		t.Fatal(err)
	}
	f.setValid()
	done := make(chan error, 1)
	go func() { done <- list(client, ctx) }()
	for p, _ := g.Paused(); !p; p, _ = g.Paused() {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if p, _ := g.Paused(); !p {
		t.Fatal("resumed although the file did not change")
	}
	f.setValid("NEW")
	writeCreds(t, path, "NEW", "")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no auto-resume after the file changed")
	}
}
