// Package testenvtest starts the testenv emulator for Go tests: Start
// runs it on a loopback port for the life of a test and Env.Config loads
// an aws.Config from the files it writes.
//
// It is the only part of the emulator that imports package testing, so
// it must be imported by tests only, never by shuffle's binary or by
// testenv itself.
package testenvtest

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/shuffle-migrate/shuffle/testenv"
)

// Env is a running emulator for Go tests.
type Env struct {
	*testenv.Server
	URL string
	Dir string // holds aws/config, aws/credentials, env, metadata.csv
	// Home holds .aws/sso/cache with the SSO token cache, unless the
	// options named another SSOCacheDir; a test of the source-sso
	// profile points HOME here (the SDKs read the cache only there).
	Home string
}

// Start runs an emulator on a random loopback port for the life of tb
// and writes its client files into a temporary directory.
func Start(tb testing.TB, o testenv.Options) *Env {
	tb.Helper()
	if o.Dir == "" {
		o.Dir = tb.TempDir()
	}
	// Never the developer's own ~/.aws/sso/cache.
	home := ""
	if o.SSOCacheDir == "" {
		home = tb.TempDir()
		o.SSOCacheDir = filepath.Join(home, ".aws", "sso", "cache")
	}
	s, err := testenv.New(o)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testenv: listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	tb.Cleanup(func() {
		ln.Close()
		<-done
	})
	// Serve writes the files; wait until the endpoint is set.
	for s.Endpoint() == "" {
		select {
		case err := <-done:
			tb.Fatalf("testenv: serve: %v", err)
		default:
		}
	}
	env := &Env{Server: s, URL: s.Endpoint(), Dir: o.Dir, Home: home}
	return env
}

// ConfigPath returns the path of the written aws/config.
func (e *Env) ConfigPath() string { return filepath.Join(e.Dir, testenv.ConfigFile) }

// CredentialsPath returns the path of the written aws/credentials.
func (e *Env) CredentialsPath() string { return filepath.Join(e.Dir, testenv.CredentialsFile) }

// Config returns an aws.Config for a profile, loaded the way shuffle
// and the AWS CLI load it: from the written shared config files.
// Retries are off so tests see each error as the server sent it.
func (e *Env) Config(tb testing.TB, profile string) aws.Config {
	tb.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithSharedConfigFiles([]string{e.ConfigPath()}),
		config.WithSharedCredentialsFiles([]string{e.CredentialsPath()}),
		config.WithSharedConfigProfile(profile),
		config.WithRetryMaxAttempts(1),
	)
	if err != nil {
		tb.Fatalf("testenv: load config for profile %s: %v", profile, err)
	}
	return cfg
}
