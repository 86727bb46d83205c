// Package testenv is an in-process emulator of the parts of AWS Backup,
// STS, IAM and KMS that shuffle uses. One http.Handler serves them all on
// one listener: Backup speaks REST-JSON, STS and IAM speak the query
// protocol with XML answers, KMS speaks JSON 1.1. Every request is
// SigV4-verified, every call is authorised against the caller's IAM
// policies (and, for KMS keys, the key policy), and copy jobs move
// through their states on a simulated clock.
//
// docs/testenv.md describes what is emulated and what is not.
//
// testenv must not import shuffle's engine, state or Lua packages: it
// stands in for AWS, so it knows only the AWS wire protocols, and shuffle
// reaches it only through the AWS SDK. Its test helper lives in
// testenv/testenvtest so that the binary, which serves the emulator,
// does not link package testing; this package must not import testing.
package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server.
type Options struct {
	Region         string        // default us-east-1
	RecoveryPoints int           // RPs to seed in the source account (0: 2000; negative: none)
	Seed           int64         // seed for the generated data (default 1)
	TokenTTL       time.Duration // 0: long-lived keys; >0: session credentials rotated before expiry
	CopySpeed      float64       // simulated-time compression; 1 = real durations (default 1000)
	Faults         *Faults       // initial faults; nil for none
	Quotas         Quotas        // zero values take the AWS defaults
	Dir            string        // where to write aws/config, aws/credentials, env, metadata.csv ("" = nowhere)
	Now            func() time.Time
	// IdempotencyMemory is how long StartCopyJob remembers an
	// IdempotencyToken. AWS does not document it, so the emulator can
	// give every plausible answer: 0 remembers forever (the default),
	// a positive duration forgets a token that long after its job was
	// created, and a negative one never remembers (each call is new).
	IdempotencyMemory time.Duration
	// LAGCreateTime is how long a new logically air-gapped vault stays
	// CREATING, in wall-clock time: 0 is two simulated minutes (scaled
	// by CopySpeed), LAGCreateHold keeps it CREATING until
	// FinishCreatingVaults.
	LAGCreateTime time.Duration
	// CopyJobRetention is how long ListCopyJobs and DescribeCopyJob keep
	// a copy job after its creation. AWS documents a 30-day window for
	// ListBackupJobs and none for copy jobs, so this too can take every
	// answer: 0 keeps jobs forever (the default), a positive duration
	// forgets a job that long after it was created, and a negative one
	// lists no job at all (StartCopyJob still works; the destination
	// recovery points remain).
	CopyJobRetention time.Duration
	// Variants switch on undocumented AWS behaviours (variants.go,
	// AllVariants; "all" for every one). Unknown names are an error.
	Variants []string
	// SSOCacheDir is where the SSO token cache is written ("" =
	// $HOME/.aws/sso/cache, the only place the SDKs read).
	SSOCacheDir string
	// ProcessCommand is the executable written into the credential_process
	// of the source-process profile ("" = shuffle found on PATH, else
	// this executable).
	ProcessCommand string
	// Live, when set, makes the source account a live estate that keeps
	// backing up and expiring recovery points, one simulated day at a
	// time (live.go); nil keeps the seeded estate as it is.
	Live *LiveOptions
	// Logf, when set, receives one line per notable event (rotation, faults).
	Logf func(format string, args ...any)
}

// Quotas are the copy-job concurrency limits the emulator enforces.
type Quotas struct {
	// AccountCopyJobs is the per-account in-flight copy job cap (AWS: 100).
	AccountCopyJobs int `json:"account_copy_jobs"`
	// VaultCopyJobs is the per-destination-vault cap (AWS: 5) that
	// applies while the account is over its limit; see OverLimit.
	VaultCopyJobs int `json:"vault_copy_jobs"`
	// OverLimit makes the per-vault cap apply at all times, modelling an
	// account that is already past its account-level quota.
	OverLimit bool `json:"over_limit"`
	// ResourceJobs is the per-resource cap on concurrent jobs (AWS: 1).
	ResourceJobs int `json:"resource_jobs"`
}

func (q *Quotas) defaults() {
	if q.AccountCopyJobs == 0 {
		q.AccountCopyJobs = 100
	}
	if q.VaultCopyJobs == 0 {
		q.VaultCopyJobs = 5
	}
	if q.ResourceJobs == 0 {
		q.ResourceJobs = 1
	}
}

// Server is the emulator. It is safe for concurrent use.
type Server struct {
	opts     Options
	w        *world
	iam      *iamState
	creds    *credAuthority
	sso      *ssoState
	webID    *webIdentityState
	faults   *faultState
	counters *Counters
	variants variantState
	// unknownSeeded: the unknown-types RPs exist; guarded by w.mu.
	unknownSeeded bool
	backup        *http.ServeMux
	admin         *http.ServeMux
	adminOnce     sync.Once
	backupOps     map[string]string
	metadata      []byte
	// inflight holds copy jobs in CREATED or RUNNING; guarded by w.mu.
	inflight []*CopyJob
	// live is live mode's state, nil when it is off (live.go).
	live *liveState

	endpoint atomic.Value // string
	filesMu  sync.Mutex
	// ssoCacheOff: the default SSO cache could not be written; guarded by filesMu.
	ssoCacheOff bool
}

// New builds a server with seeded data. It does not listen.
func New(o Options) (*Server, error) {
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.RecoveryPoints == 0 {
		o.RecoveryPoints = 2000
	}
	if o.RecoveryPoints < 0 {
		o.RecoveryPoints = 0 // negative asks for no recovery points at all
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.CopySpeed == 0 {
		o.CopySpeed = 1000
	}
	if o.CopySpeed < 0 {
		return nil, fmt.Errorf("copy speed must be positive, got %v", o.CopySpeed)
	}
	if o.TokenTTL < 0 {
		return nil, fmt.Errorf("token TTL must be positive, got %v", o.TokenTTL)
	}
	if o.TokenTTL > 0 && o.TokenTTL < 2*time.Second {
		return nil, fmt.Errorf("token TTL %v is too short: use at least 2s so clients can finish a request", o.TokenTTL)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Quotas.defaults()
	s := &Server{opts: o, counters: newCounters()}
	s.w = newWorld(o.Region)
	// Dates are relative to the start of the current UTC day, so one seed
	// gives the same data all day.
	res := seedWorld(s.w, SeedOptions{Seed: o.Seed, RecoveryPoints: o.RecoveryPoints, Region: o.Region, Now: o.Now().UTC().Truncate(24 * time.Hour)})
	s.metadata = res.Metadata
	s.iam = newIAMState(o.Region)
	s.creds = newCredAuthority(s, o.TokenTTL)
	s.sso = newSSOState(o.TokenTTL, o.Now())
	s.webID = newWebIdentityState(o.TokenTTL, o.Now())
	s.faults = newFaultState(o.Seed)
	if o.Faults != nil {
		if err := s.faults.set(*o.Faults); err != nil {
			return nil, err
		}
	}
	s.endpoint.Store("")
	s.variants.init(o.Seed, o.Now())
	if err := s.SetVariants(o.Variants); err != nil {
		return nil, err
	}
	if o.Live != nil {
		if err := s.startLive(*o.Live); err != nil {
			return nil, err
		}
	}
	s.backup, s.backupOps = s.backupRoutes()
	return s, nil
}

func (s *Server) now() time.Time { return s.opts.Now() }

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// Region is the one region the emulator serves.
func (s *Server) Region() string { return s.opts.Region }

// RecoveryPoints is how many recovery points the server seeded.
func (s *Server) RecoveryPoints() int { return s.opts.RecoveryPoints }

// Endpoint is the base URL clients use, once the server is listening.
func (s *Server) Endpoint() string { return s.endpoint.Load().(string) }

// Counters exposes the call and job counters tests use.
func (s *Server) Counters() *Counters { return s.counters }

// Metadata returns the generated metadata.csv bytes.
func (s *Server) Metadata() []byte { return s.metadata }

// Serve serves on ln until it is closed. It writes the client files when
// Options.Dir is set, then sets the endpoint from ln's address, and starts
// credential rotation when Options.TokenTTL is set, and live mode's ticks
// when Options.Live.Day is positive; it stops the ticks before it returns.
func (s *Server) Serve(ln net.Listener) error {
	endpoint := "http://" + ln.Addr().String()
	if s.opts.Dir != "" {
		if err := s.writeFiles(s.opts.Dir, endpoint); err != nil {
			return err
		}
	}
	// Set last: whoever waits for Endpoint then finds the files written.
	s.endpoint.Store(endpoint)
	stop := make(chan struct{})
	var ticks sync.WaitGroup
	defer ticks.Wait() // after close(stop): deferred calls run last first
	defer close(stop)
	if s.opts.TokenTTL > 0 {
		go s.creds.rotateLoop(stop)
	}
	if s.live != nil && s.live.day > 0 {
		ticks.Add(1)
		go func() {
			defer ticks.Done()
			s.liveLoop(stop)
		}()
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	err := srv.Serve(ln)
	if err == http.ErrServerClosed || isClosedErr(err) {
		return nil
	}
	return err
}

func isClosedErr(err error) bool {
	return err != nil && strings.Contains(err.Error(), "use of closed network connection")
}

// call is one request being served.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	body  []byte
	p     *principal
	op    string
	reqID string
}

type callKey struct{}

// ServeHTTP routes admin, query (STS/IAM) and REST-JSON (Backup) requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := s.newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))

	if strings.HasPrefix(r.URL.Path, "/_testenv/") {
		s.serveAdmin(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	c := &call{s: s, w: w, r: r, body: body, reqID: reqID}
	service := scopeService(r.Header.Get("Authorization"))
	isQuery := service == "sts" || service == "iam" ||
		(service == "" && r.Method == http.MethodPost && r.URL.Path == "/" &&
			strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"))
	target := r.Header.Get("X-Amz-Target")
	isKMS := !isQuery && (service == "kms" || strings.HasPrefix(target, kmsTarget))
	// The SSO portal and OIDC calls are unsigned.
	sso := ssoOp(r)
	var op string
	switch {
	case sso != "":
		op = sso
	case isQuery:
		op = queryAction(body)
	case isKMS:
		op = strings.TrimPrefix(target, kmsTarget)
	default:
		op = s.backupOpName(r)
	}
	c.op = op
	s.counters.call(op)

	// Faults come before authentication, as a network or front-end
	// failure would.
	if s.faults.apply(c, isQuery) {
		return
	}
	if sso != "" {
		s.serveSSO(c)
		return
	}
	if isQuery && unsignedQuery(op) {
		s.serveQuery(c, "sts")
		return
	}
	if aerr := s.authenticate(c, isQuery); aerr != nil {
		c.fail(*aerr, isQuery)
		return
	}
	if isQuery {
		s.serveQuery(c, service)
		return
	}
	if isKMS {
		s.serveKMS(c)
		return
	}
	s.w.mu.Lock()
	s.advanceLocked()
	s.w.mu.Unlock()
	if op == "Unknown" {
		c.fail(apiErr(404, "UnknownOperationException", "no AWS Backup operation matches "+r.Method+" "+r.URL.EscapedPath()), false)
		return
	}
	s.backup.ServeHTTP(w, r.WithContext(withCall(r.Context(), c)))
}

func (s *Server) newRequestID() string { return newUUID() }

// newUUID returns a random version-4 UUID string.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// scopeService returns the service of a SigV4 credential scope, or "".
func scopeService(auth string) string {
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return ""
	}
	rest := auth[i+len("Credential="):]
	if j := strings.IndexAny(rest, ", "); j >= 0 {
		rest = rest[:j]
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// apiError is an error the emulator answers with.
type apiError struct {
	Status  int
	Code    string
	Message string
	Type    string // "User" / "Sender" or "Server"
}

func apiErr(status int, code, msg string) apiError {
	t := "User"
	if status >= 500 {
		t = "Server"
	}
	return apiError{Status: status, Code: code, Message: msg, Type: t}
}

func notFound(msg string) apiError       { return apiErr(400, "ResourceNotFoundException", msg) }
func invalidParam(msg string) apiError   { return apiErr(400, "InvalidParameterValueException", msg) }
func missingParam(msg string) apiError   { return apiErr(400, "MissingParameterValueException", msg) }
func invalidRequest(msg string) apiError { return apiErr(400, "InvalidRequestException", msg) }

// ptr is e as the *apiError that checks return.
func (e apiError) ptr() *apiError { return &e }

// fail writes e in the call's protocol.
func (c *call) fail(e apiError, query bool) {
	if query {
		writeQueryError(c.w, e, c.reqID)
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", e.Code)
	c.w.WriteHeader(e.Status)
	b, _ := json.Marshal(map[string]string{"__type": e.Code, "Message": e.Message, "message": e.Message, "Type": e.Type})
	_, _ = c.w.Write(b)
}

// reply writes a 200 JSON answer.
func (c *call) reply(v any) {
	c.w.Header().Set("Content-Type", "application/json")
	if v == nil {
		c.w.WriteHeader(200)
		_, _ = c.w.Write([]byte("{}"))
		return
	}
	if a, ok := v.(jsonAppender); ok {
		buf := replyBuffers.Get().(*[]byte)
		*buf = append(a.appendJSON((*buf)[:0]), '\n') // as json.Encoder ends it
		c.w.WriteHeader(200)
		_, _ = c.w.Write(*buf)
		replyBuffers.Put(buf)
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		c.fail(apiErr(500, "InternalFailure", "encode response: "+err.Error()), false)
		return
	}
	c.w.WriteHeader(200)
	_, _ = c.w.Write(buf.Bytes())
}

// decode reads the JSON body into v; an empty body is an empty object.
func (c *call) decode(v any) *apiError {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		e := apiErr(400, "SerializationException", "could not parse the request body as JSON: "+err.Error())
		return &e
	}
	return nil
}
