package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/testenv"
)

func newTestenvCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "testenv",
		Short: "Run the bundled AWS Backup/STS/IAM emulator",
	}
	cmd.AddCommand(newTestenvUpCmd(e), newTestenvProbeCmd(e), newTestenvCredentialProcessCmd(e))
	return cmd
}

func newTestenvUpCmd(e *env) *cobra.Command {
	var fl testenvUpFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Serve the emulator in the foreground until SIGINT or SIGTERM",
		Long: `Serve the emulator with representative data in the foreground until SIGINT
or SIGTERM. It holds a source account (111111111111) and a destination
account (222222222222) in one region, and writes into --dir:

  aws/config, aws/credentials  profiles source, destination, source-readonly,
                               destination-nolock and source-base (keys in
                               aws/credentials), source-assumed and
                               destination-assumed (role_arn with
                               source_profile = source-base), source-sso
                               (IAM Identity Center), source-process
                               (credential_process) and source-web-identity
                               (web_identity_token_file), each with region
                               and endpoint_url pointing at the emulator
  env                          exports AWS_CONFIG_FILE and
                               AWS_SHARED_CREDENTIALS_FILE; source it
  metadata.csv                 the external metadata, keyed by resourceArn
  web-identity-token           the OIDC token of source-web-identity

and the SSO token cache of session "testenv" into --sso-cache (default
~/.aws/sso/cache, the only place the SDKs and the AWS CLI read it), as
` + "`aws sso login`" + ` would.

With --token-ttl the credentials are session tokens of that lifetime,
rewritten into aws/credentials (and the SSO token cache and the web
identity token) before each expiry; sessions from STS and the SSO portal
last as long. The admin API under /_testenv/ (docs/testenv.md) changes
faults, quotas and rotation live; rotation off stops every refresher.

With --live the source account is a live estate (docs/testenv.md, "Live
estate"): every --live-day (default 60s of real time) a simulated day
passes, in which each source resource with a backup plan gets a new
recovery point and the recovery points whose lifecycle delete date has
passed are deleted. --live-day 0 lets days pass only on
POST /_testenv/live/tick.

With --variant the emulator takes one of the answers AWS leaves
undocumented (docs/testenv.md, "Variants"); several are comma-separated,
and "all" turns every one on. PUT /_testenv/variants switches them live.
  no-key-type     recovery points listed and described without EncryptionKeyType
  other-texts     LimitExceededException texts and FAILED StatusMessages in other
                  wordings, naming neither vault nor resource
  short-pages     random short pages; MaxResults above 1000 accepted
  nulls           null members and exponent-notation times in listings
  unknown-types   recovery points of types shuffle does not know (EKS, QuantumLedger)
  stale-counts    NumberOfRecoveryPoints above or below the real count
  forget-tokens   idempotency tokens forgotten after 24 h of simulated time
  busy-resources  the source account's own backup jobs make resources busy at random`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := fl.options(e)
			if err != nil {
				return err
			}
			// main's soft heap limit is sized for shuffle's own work. The
			// emulator's live heap (its whole world: about 450 MB at a
			// million RPs) is close to it, so under it the GC would run
			// almost without pause and take most of the emulator's CPU.
			if e.getenv("GOMEMLIMIT") == "" {
				setMemoryLimit(math.MaxInt64)
			}
			return serveTestenv(cmd.Context(), e, opts, fl.addr, fl.dir)
		},
	}
	fl.register(cmd)
	return cmd
}

// testenvUpFlags are the flags of `shuffle testenv up`.
type testenvUpFlags struct {
	dir, addr, region, faultsFile, idemMemory, lagCreate, jobRetention, ssoCache string
	variants                                                                     []string
	rps                                                                          int
	seed                                                                         int64
	ttl                                                                          time.Duration
	speed                                                                        float64

	// Live mode.
	live      bool
	liveDay   time.Duration
	liveShare float64
	// changed reports whether a flag was given on the command line.
	changed func(name string) bool
}

func (fl *testenvUpFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&fl.dir, "dir", "./testenv-run", "directory for aws/config, aws/credentials, env and metadata.csv")
	f.StringVar(&fl.addr, "addr", "127.0.0.1:4566", "loopback HOST:PORT to listen on; port 0 picks a free port")
	f.StringVar(&fl.region, "region", testenv.DefaultRegion, "the one region the emulator serves")
	f.IntVar(&fl.rps, "recovery-points", 2000, "recovery points to generate in the source account")
	f.Int64Var(&fl.seed, "seed", 1, "seed for the generated data")
	f.DurationVar(&fl.ttl, "token-ttl", 0, "issue session credentials with this lifetime and rotate them (0: long-lived keys)")
	f.Float64Var(&fl.speed, "copy-speed", 1000, "compress simulated copy-job time this many times (1 = real durations)")
	f.StringVar(&fl.faultsFile, "faults", "", "JSON or YAML file of faults to inject (docs/testenv.md)")
	f.StringVar(&fl.idemMemory, "idempotency-memory", "forever", "how long StartCopyJob remembers an idempotency token: forever, none, or a duration such as 24h")
	f.StringVar(&fl.lagCreate, "lag-create-time", "simulated", "how long a new air-gapped vault stays CREATING: simulated (two minutes at --copy-speed), a wall-clock duration such as 2m, or hold (until POST /_testenv/vaults/finish-creating)")
	f.StringSliceVar(&fl.variants, "variant", nil, "undocumented AWS behaviours to take: NAME[,NAME...] or all (see --help and docs/testenv.md)")
	f.StringVar(&fl.ssoCache, "sso-cache", "", "directory for the SSO token cache (default ~/.aws/sso/cache; the SDKs read only HOME/.aws/sso/cache)")
	f.StringVar(&fl.jobRetention, "copy-job-retention", "forever", "how long ListCopyJobs and DescribeCopyJob keep a copy job: forever, none, or a duration such as 720h")
	f.BoolVar(&fl.live, "live", false, "make the source account live: each simulated day its resources with a backup plan back up and its lifecycles delete old recovery points")
	f.DurationVar(&fl.liveDay, "live-day", 60*time.Second, "with --live, the real length of a simulated day (0: days pass only on POST /_testenv/live/tick)")
	f.Float64Var(&fl.liveShare, "live-share", 1, "with --live, the share of the source resources with a backup plan that back up each day, in (0, 1]")
	fl.changed = f.Changed
}

// liveOptions checks the live-mode flags and makes their options: nil
// without --live.
func (fl *testenvUpFlags) liveOptions() (*testenv.LiveOptions, error) {
	switch {
	case fl.liveDay < 0:
		return nil, usagef("--live-day must not be negative, got %v", fl.liveDay)
	case fl.liveDay > 0 && fl.liveDay < testenv.LiveMinDay:
		return nil, usagef("--live-day %v is too short: use at least %v, or 0 for days that pass only on POST /_testenv/live/tick", fl.liveDay, testenv.LiveMinDay)
	case fl.liveShare <= 0 || fl.liveShare > 1:
		return nil, usagef("--live-share must be more than 0 and at most 1, got %v", fl.liveShare)
	}
	if !fl.live {
		for _, name := range []string{"live-day", "live-share"} {
			if fl.changed != nil && fl.changed(name) {
				return nil, usagef("--%s needs --live", name)
			}
		}
		return nil, nil
	}
	return &testenv.LiveOptions{Day: fl.liveDay, Share: fl.liveShare}, nil
}

// options checks the flags and makes the emulator's options; a bad flag
// is a usage error.
func (fl *testenvUpFlags) options(e *env) (testenv.Options, error) {
	if fl.speed <= 0 {
		return testenv.Options{}, usagef("--copy-speed must be positive, got %v", fl.speed)
	}
	if fl.rps < 0 {
		return testenv.Options{}, usagef("--recovery-points must be at least 0, got %d", fl.rps)
	}
	mem, err := parseIdempotencyMemory(fl.idemMemory)
	if err != nil {
		return testenv.Options{}, usageError{err}
	}
	lagTime, err := parseLAGCreateTime(fl.lagCreate)
	if err != nil {
		return testenv.Options{}, usageError{err}
	}
	retention, err := testenv.ParseMemory(fl.jobRetention)
	if err != nil {
		return testenv.Options{}, usagef("--copy-job-retention %v", err)
	}
	variants, err := testenv.ParseVariants(fl.variants)
	if err != nil {
		return testenv.Options{}, usagef("--variant: %v", err)
	}
	live, err := fl.liveOptions()
	if err != nil {
		return testenv.Options{}, err
	}
	opts := testenv.Options{Region: fl.region, Variants: variants, RecoveryPoints: fl.rps, Seed: fl.seed, TokenTTL: fl.ttl, CopySpeed: fl.speed, Dir: fl.dir,
		IdempotencyMemory: mem, CopyJobRetention: retention, LAGCreateTime: lagTime, SSOCacheDir: fl.ssoCache,
		ProcessCommand: processExecutable(), Live: live,
		Logf: func(f string, a ...any) { fmt.Fprintf(e.stderr, f+"\n", a...) }}
	if fl.faultsFile != "" {
		f, err := testenv.LoadFaults(fl.faultsFile)
		if err != nil {
			return testenv.Options{}, usageError{err}
		}
		opts.Faults = f
	}
	if fl.rps == 0 {
		opts.RecoveryPoints = -1 // explicit zero: no data
	}
	return opts, nil
}

// serveTestenv seeds and serves the emulator on addr until a signal,
// saying on stdout where it is and how to use it.
func serveTestenv(ctx context.Context, e *env, opts testenv.Options, addr, dir string) error {
	start := time.Now()
	srv, err := testenv.New(opts)
	if err != nil {
		return usageError{err}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (pick another with --addr, or port 0 for a free one)", addr, err)
	}
	ctx, cancel := e.notify(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// Serve sets the endpoint once the files are written.
	for srv.Endpoint() == "" {
		select {
		case err := <-errc:
			return err
		case <-time.After(time.Millisecond):
		}
	}
	abs, _ := filepath.Abs(dir)
	fmt.Fprintf(e.stdout, "testenv ready at %s (region %s, %d recovery points, seeded in %s); run: . %s\n",
		srv.Endpoint(), srv.Region(), srv.RecoveryPoints(), time.Since(start).Round(time.Millisecond), filepath.Join(abs, testenv.EnvFile))
	select {
	case <-ctx.Done():
		ln.Close()
		<-errc
		fmt.Fprintln(e.stderr, "testenv stopped")
		return nil
	case err := <-errc:
		return err
	}
}

// parseLAGCreateTime reads --lag-create-time: "simulated" (0), "hold"
// (testenv.LAGCreateHold) or a positive duration.
func parseLAGCreateTime(v string) (time.Duration, error) {
	switch v {
	case "simulated", "":
		return 0, nil
	case "hold":
		return testenv.LAGCreateHold, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--lag-create-time %q: want simulated, hold, or a positive duration such as 2m", v)
	}
	return d, nil
}

// parseIdempotencyMemory reads --idempotency-memory: "forever" (0),
// "none" (negative) or a positive duration.
func parseIdempotencyMemory(v string) (time.Duration, error) {
	switch v {
	case "forever", "":
		return 0, nil
	case "none":
		return -1, nil
	}
	d, err := testenv.ParseMemory(v)
	if err != nil {
		return 0, fmt.Errorf("--idempotency-memory %w", err)
	}
	return d, nil
}

// processExecutable is the executable source-process runs: this one,
// which surely has the credential-process command ("" when unknown:
// testenv then looks for shuffle on PATH).
func processExecutable() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return exe
}

func newTestenvCredentialProcessCmd(e *env) *cobra.Command {
	var profile, endpoint, dir string
	cmd := &cobra.Command{
		Use:   "credential-process",
		Short: "Print a testenv profile's current credentials, as a credential_process",
		Long: `Print the current credentials testenv holds for a profile, in the JSON a
credential_process prints (Version 1, AccessKeyId, SecretAccessKey,
SessionToken, Expiration). The source-process profile of aws/config runs
it. The emulator is found at --endpoint, or from the endpoint_url of
DIR/aws/config with --dir.

It fails (exit 1) when the emulator cannot be reached, and when the
credentials have expired: testenv's rotation is off, as a helper whose
own session lapsed would.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if profile == "" {
				return usagef("--profile is required")
			}
			if (endpoint == "") == (dir == "") {
				return usagef("give the emulator as --endpoint URL or --dir DIR (the directory of shuffle testenv up)")
			}
			if dir != "" {
				var err error
				if endpoint, err = testenvEndpointFromDir(dir); err != nil {
					return err
				}
			}
			return printProcessCredentials(cmd.Context(), e, endpoint, profile)
		},
	}
	f := cmd.Flags()
	f.StringVar(&profile, "profile", "", "the testenv profile (e.g. source-process)")
	f.StringVar(&endpoint, "endpoint", "", "the emulator's URL, e.g. http://127.0.0.1:4566")
	f.StringVar(&dir, "dir", "", "the --dir of shuffle testenv up, whose aws/config names the endpoint")
	return cmd
}

// testenvEndpointFromDir reads the emulator's URL from DIR/aws/config.
func testenvEndpointFromDir(dir string) (string, error) {
	path := filepath.Join(dir, testenv.ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the emulator's endpoint: %w (is --dir the directory of shuffle testenv up?)", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "endpoint_url" {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s names no endpoint_url", path)
}

// printProcessCredentials fetches a profile's credentials from the admin
// API and prints them. Errors never carry the keys.
func printProcessCredentials(ctx context.Context, e *env, endpoint, profile string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	url := strings.TrimRight(endpoint, "/") + "/_testenv/credentials/" + profile
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return usagef("--endpoint %q: %v", endpoint, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach testenv at %s: %v (is shuffle testenv up running?)", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read the answer of testenv at %s: %v", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		var msg struct{ Error string }
		_ = json.Unmarshal(body, &msg)
		return fmt.Errorf("testenv at %s: %s: %s", endpoint, resp.Status, msg.Error)
	}
	var pc testenv.ProcessCredentials
	if err := json.Unmarshal(body, &pc); err != nil || pc.Version != 1 || pc.AccessKeyId == "" {
		return fmt.Errorf("testenv at %s answered no credentials for profile %s (is it a testenv endpoint?)", endpoint, profile)
	}
	if pc.Expiration != "" {
		exp, err := time.Parse(time.RFC3339, pc.Expiration)
		if err != nil {
			return fmt.Errorf("testenv at %s: Expiration %q is not RFC 3339", endpoint, pc.Expiration)
		}
		if !time.Now().Before(exp) {
			return fmt.Errorf("the credentials of profile %s expired at %s and testenv renews them no more (its rotation is off; POST /_testenv/rotation {\"enabled\":true} turns it back on)",
				profile, pc.Expiration)
		}
	}
	out, _ := json.MarshalIndent(pc, "", "  ")
	_, err = fmt.Fprintf(e.stdout, "%s\n", out)
	return err
}
