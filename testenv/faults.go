package testenv

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"gopkg.in/yaml.v3"
)

// Faults are the failures testenv injects. They are read from a JSON or
// YAML file (--faults) and can be replaced live with PUT /_testenv/faults.
// Rates are fractions between 0 and 1.
type Faults struct {
	// Latency is added to every AWS call, e.g. "20ms".
	Latency Duration `json:"latency,omitempty" yaml:"latency,omitempty"`
	// ErrorRate answers that share of calls with a 5xx error.
	ErrorRate float64 `json:"error_rate,omitempty" yaml:"error_rate,omitempty"`
	// ResetRate drops that share of connections without an answer.
	ResetRate float64 `json:"reset_rate,omitempty" yaml:"reset_rate,omitempty"`
	// ThrottleRate answers that share of calls with ThrottlingException.
	ThrottleRate float64 `json:"throttle_rate,omitempty" yaml:"throttle_rate,omitempty"`
	// TPS caps the calls per second of named operations; over the cap
	// the call gets ThrottlingException, e.g. {"StartCopyJob": 10}.
	TPS map[string]float64 `json:"tps,omitempty" yaml:"tps,omitempty"`
	// Operations limits the rate faults above to these operations
	// (empty: all AWS operations).
	Operations []string `json:"operations,omitempty" yaml:"operations,omitempty"`
	// CopyFailRate makes that share of copy jobs end FAILED with a
	// retryable internal-error message.
	CopyFailRate float64 `json:"copy_fail_rate,omitempty" yaml:"copy_fail_rate,omitempty"`
	// CreatedDelayRate keeps that share of copy jobs in CREATED for most
	// of two (simulated) hours, as AWS does while it retries internally.
	CreatedDelayRate float64 `json:"copy_created_delay_rate,omitempty" yaml:"copy_created_delay_rate,omitempty"`
	// ShortPageRate returns that share of list pages with fewer items
	// than asked for (and a NextToken), as AWS sometimes does.
	ShortPageRate float64 `json:"short_page_rate,omitempty" yaml:"short_page_rate,omitempty"`
}

// Duration is a time.Duration written as a string ("250ms") in files.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("latency must be a duration string such as \"50ms\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("latency %q: %v", s, err)
	}
	*d = Duration(v)
	return nil
}

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: latency %q: %v", n.Line, n.Value, err)
	}
	*d = Duration(v)
	return nil
}

func (f Faults) validate() error {
	for name, r := range map[string]float64{"error_rate": f.ErrorRate, "reset_rate": f.ResetRate, "throttle_rate": f.ThrottleRate,
		"copy_fail_rate": f.CopyFailRate, "copy_created_delay_rate": f.CreatedDelayRate, "short_page_rate": f.ShortPageRate} {
		if r < 0 || r > 1 {
			return fmt.Errorf("%s must be between 0 and 1, got %v", name, r)
		}
	}
	for op, tps := range f.TPS {
		if tps <= 0 {
			return fmt.Errorf("tps for %s must be positive, got %v", op, tps)
		}
	}
	if f.Latency < 0 {
		return fmt.Errorf("latency must not be negative")
	}
	return nil
}

// LoadFaults reads a faults file; .yaml/.yml files are YAML, others JSON.
// Unknown fields are errors, so a typo does not silently disable a fault.
func LoadFaults(path string) (*Faults, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read faults file: %w", err)
	}
	var f Faults
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("faults file %s: %v", path, err)
		}
	default:
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("faults file %s: %v (see docs/testenv.md for the fields)", path, err)
		}
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("faults file %s: %v", path, err)
	}
	return &f, nil
}

type faultState struct {
	mu       sync.Mutex
	f        Faults
	rng      *rand.Rand
	limiters map[string]*rate.Limiter
}

func newFaultState(seed int64) *faultState {
	return &faultState{rng: rand.New(rand.NewPCG(uint64(seed), 0x5eed)), limiters: map[string]*rate.Limiter{}}
}

func (fs *faultState) set(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.f = f
	fs.limiters = map[string]*rate.Limiter{}
	for op, tps := range f.TPS {
		burst := int(tps)
		if burst < 1 {
			burst = 1
		}
		fs.limiters[op] = rate.NewLimiter(rate.Limit(tps), burst)
	}
	return nil
}

func (fs *faultState) get() Faults {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.f
}

func (fs *faultState) roll(p float64) bool {
	if p <= 0 {
		return false
	}
	return fs.rng.Float64() < p
}

// apply injects latency, resets, 5xx errors and throttling. It reports
// whether it answered the request.
func (fs *faultState) apply(c *call, query bool) bool {
	fs.mu.Lock()
	f := fs.f
	applies := len(f.Operations) == 0 || slices.Contains(f.Operations, c.op)
	reset := applies && fs.roll(f.ResetRate)
	fail := applies && !reset && fs.roll(f.ErrorRate)
	throttle := applies && !reset && !fail && fs.roll(f.ThrottleRate)
	if lim := fs.limiters[c.op]; lim != nil && !lim.Allow() {
		throttle = true
	}
	fs.mu.Unlock()
	if f.Latency > 0 {
		time.Sleep(time.Duration(f.Latency))
	}
	switch {
	case reset:
		c.s.counters.fault("reset", c.op)
		if hj, ok := c.w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				_ = conn.Close()
				return true
			}
		}
		c.fail(apiErr(503, "ServiceUnavailable", "connection reset (injected)"), query)
		return true
	case fail:
		c.s.counters.fault("5xx", c.op)
		code := "ServiceUnavailableException"
		if query {
			code = "ServiceFailure"
		}
		c.fail(apiErr(500, code, "An internal error occurred. Try again. (injected)"), query)
		return true
	case throttle:
		c.s.counters.fault("throttle", c.op)
		code := "ThrottlingException"
		if query {
			code = "Throttling"
		}
		c.fail(apiErr(400, code, "Rate exceeded"), query)
		return true
	}
	return false
}

func (fs *faultState) copyFails() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.roll(fs.f.CopyFailRate)
}

func (fs *faultState) createdDelay() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.roll(fs.f.CreatedDelayRate)
}

func (fs *faultState) shortPage() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.roll(fs.f.ShortPageRate)
}

// Counters count calls and copy jobs so tests can prove exactly-once.
type Counters struct {
	mu          sync.Mutex
	calls       map[string]int64
	startCopies map[string]int64
	created     map[string]int64
	faults      map[string]int64
	faultsByOp  map[string]int64 // "OPERATION KIND"
	refusals    map[string]int64 // by Refusal kind
}

// CountersSnapshot is the JSON form of Counters (GET /_testenv/counters).
type CountersSnapshot struct {
	Calls          map[string]int64 `json:"calls"`
	StartCopyCalls map[string]int64 `json:"start_copy_calls"`
	// JobsCreated is keyed by "SOURCE_RP_ARN DESTINATION_VAULT_ARN".
	JobsCreated map[string]int64 `json:"jobs_created"`
	Faults      map[string]int64 `json:"faults"`
	// FaultsByOperation is keyed by "OPERATION KIND", e.g.
	// "StartCopyJob throttle".
	FaultsByOperation map[string]int64 `json:"faults_by_operation"`
	// Refusals counts StartCopyJob's LimitExceededException answers by
	// kind (RefusalResource, RefusalAccount, RefusalVault, RefusalBusy).
	Refusals map[string]int64 `json:"refusals"`
}

func newCounters() *Counters {
	c := &Counters{}
	c.Reset()
	return c
}

// Reset zeroes every counter.
func (c *Counters) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls, c.startCopies, c.created, c.faults = map[string]int64{}, map[string]int64{}, map[string]int64{}, map[string]int64{}
	c.faultsByOp, c.refusals = map[string]int64{}, map[string]int64{}
}

func (c *Counters) call(op string) {
	c.mu.Lock()
	c.calls[op]++
	c.mu.Unlock()
}

func (c *Counters) fault(kind, op string) {
	c.mu.Lock()
	c.faults[kind]++
	c.faultsByOp[op+" "+kind]++
	c.mu.Unlock()
}

func (c *Counters) refuse(kind string) {
	c.mu.Lock()
	c.refusals[kind]++
	c.mu.Unlock()
}

// Refusals returns how many StartCopyJob calls were refused for kind
// (RefusalResource, RefusalAccount, RefusalVault, RefusalBusy).
func (c *Counters) Refusals(kind string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refusals[kind]
}

func (c *Counters) startCopy(rp string) {
	c.mu.Lock()
	c.startCopies[rp]++
	c.mu.Unlock()
}

func (c *Counters) jobCreated(rp, vault string) {
	c.mu.Lock()
	c.created[rp+" "+vault]++
	c.mu.Unlock()
}

// Calls returns how many requests named op arrived.
func (c *Counters) Calls(op string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// StartCopyCalls returns how many StartCopyJob calls named rp.
func (c *Counters) StartCopyCalls(rp string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.startCopies[rp]
}

// JobsCreated returns how many copy jobs were created for (rp, vault).
func (c *Counters) JobsCreated(rp, vaultArn string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.created[rp+" "+vaultArn]
}

// Snapshot copies every counter.
func (c *Counters) Snapshot() CountersSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CountersSnapshot{Calls: clone(c.calls), StartCopyCalls: clone(c.startCopies), JobsCreated: clone(c.created), Faults: clone(c.faults), FaultsByOperation: clone(c.faultsByOp), Refusals: clone(c.refusals)}
}

func clone(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
