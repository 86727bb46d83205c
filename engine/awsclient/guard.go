package awsclient

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// DefaultMaxAuthFailures is how many consecutive failed credential
// reloads pause the run.
const DefaultMaxAuthFailures = 3

// PauseInfo describes a pause: which profile's credentials stopped
// working, when they expire(d) and why.
type PauseInfo struct {
	Profile string
	// Expires is when the credentials in use expire(d), as their
	// provider knows it; zero when unknown.
	Expires time.Time
	// Chain is how the profile's credentials are obtained, and Remedy
	// what gets fresh ones (a command, a file to rewrite).
	Chain    Chain
	Remedy   string
	Since    time.Time
	Failures int
	Code     string // the last AWS error code
	// ResumedBy is what ended the pause; empty while paused.
	ResumedBy ResumeCause
}

// ResumeCause says what resumed a pause, for the run's log.
type ResumeCause string

// The ways a pause ends.
const (
	ResumeKey    ResumeCause = "keypress"    // a key on a terminal, or Enter on stdin
	ResumeSignal ResumeCause = "SIGUSR1"     // kill -USR1
	ResumeAuto   ResumeCause = "auto-resume" // --auto-resume: the file changed and works
	ResumeCall   ResumeCause = "call"        // Resume called directly (tests)
)

// Guard sits in front of every AWS call of a run (an SDK middleware,
// see Load). It reloads credentials once for all callers when AWS
// refuses them, counts consecutive failed reloads per profile, and after
// MaxFailures pauses every call of every profile until Resume.
//
// The Guard only holds state and calls back; the CLI decides how to
// tell the operator (OnPause, OnExpiryWarning) and when to Resume.
type Guard struct {
	// Stats counts every guarded call and its faults by operation (see
	// CallStats); the run report and log show it.
	Stats CallStats

	MaxFailures int           // 0: DefaultMaxAuthFailures
	WarnBefore  time.Duration // expiry warning lead; 0: 5 minutes
	Poll        time.Duration // Watch's interval; 0: 1 second
	Now         func() time.Time

	mu          sync.Mutex
	profiles    map[string]*profileState
	paused      bool
	info        PauseInfo
	resumed     chan struct{} // closed by Resume
	pausedTotal time.Duration
	reloads     int64
	onPause     []func(PauseInfo)
	onResume    []func(PauseInfo, time.Duration)
	onWarn      []func(ExpiryWarning)
}

type profileState struct {
	name      string
	sources   []*Provider
	caches    []*aws.CredentialsCache
	checks    []func(context.Context) error
	gen       uint64
	reloading chan struct{}
	failures  int
	counted   uint64 // the generation whose failure was last counted
	worked    bool   // a call succeeded: later auth errors are expiry, not misconfiguration
	lastCode  string
	// The expiry warnings: of the credentials in use, and of what the
	// operator renews by hand behind them (an SSO token, the keys at the
	// base of an assume-role chain); and the expiry problems already told.
	credAlarm, sessionAlarm expiryAlarm
	problems                map[string]bool
}

// NewGuard returns a Guard with the defaults.
func NewGuard() *Guard { return &Guard{profiles: map[string]*profileState{}} }

func (g *Guard) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func (g *Guard) maxFailures() int {
	if g.MaxFailures > 0 {
		return g.MaxFailures
	}
	return DefaultMaxAuthFailures
}

// OnPause registers f, called (in its own goroutine) when the guard pauses.
func (g *Guard) OnPause(f func(PauseInfo)) {
	g.mu.Lock()
	g.onPause = append(g.onPause, f)
	g.mu.Unlock()
}

// OnResume registers f, called with the pause and its length on Resume.
func (g *Guard) OnResume(f func(PauseInfo, time.Duration)) {
	g.mu.Lock()
	g.onResume = append(g.onResume, f)
	g.mu.Unlock()
}

// OnExpiryWarning registers f, called by Watch when a profile's
// credentials (or the SSO token or keys behind them) are less than
// WarnBefore from expiry: once per credentials generation (see
// expiryAlarm), not once per token; and once for each expiry in the
// shared files that cannot be read.
func (g *Guard) OnExpiryWarning(f func(ExpiryWarning)) {
	g.mu.Lock()
	g.onWarn = append(g.onWarn, f)
	g.mu.Unlock()
}

// Paused reports whether calls are held, and why.
func (g *Guard) Paused() (bool, PauseInfo) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.paused, g.info
}

// PausedFor is the time spent paused so far, the current pause included.
func (g *Guard) PausedFor() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.pausedTotal
	if g.paused {
		d += g.now().Sub(g.info.Since)
	}
	return d
}

// Reloads is the number of credential reloads done after auth errors.
func (g *Guard) Reloads() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reloads
}

// Pause holds every call until Resume (also used by tests).
func (g *Guard) Pause(info PauseInfo) {
	g.mu.Lock()
	fns := g.pauseLocked(info)
	g.mu.Unlock()
	fns()
}

func (g *Guard) pauseLocked(info PauseInfo) func() {
	if g.paused {
		return func() {}
	}
	if info.Since.IsZero() {
		info.Since = g.now()
	}
	g.paused, g.info, g.resumed = true, info, make(chan struct{})
	fns := slices.Clone(g.onPause)
	return func() {
		for _, f := range fns {
			go f(info)
		}
	}
}

// Resume lets calls through again. Failure counts start from zero and
// every profile's credentials are read again before the next call.
func (g *Guard) Resume() { g.ResumeBy(ResumeCall) }

// ResumeBy is Resume, saying what resumed the pause (PauseInfo.ResumedBy
// for the OnResume callbacks).
func (g *Guard) ResumeBy(how ResumeCause) {
	g.mu.Lock()
	if !g.paused {
		g.mu.Unlock()
		return
	}
	d := g.now().Sub(g.info.Since)
	info, ch := g.info, g.resumed
	info.ResumedBy = how
	g.pausedTotal += d
	g.paused = false
	for _, p := range g.profiles {
		p.failures = 0
	}
	ps := g.sortedProfilesLocked()
	fns := slices.Clone(g.onResume)
	g.mu.Unlock()
	for _, p := range ps {
		g.refresh(p)
	}
	close(ch)
	for _, f := range fns {
		f(info, d)
	}
}

func (g *Guard) sortedProfilesLocked() []*profileState {
	out := make([]*profileState, 0, len(g.profiles))
	for _, p := range g.profiles {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// register adds a config's credentials to the profile's state.
func (g *Guard) register(profile string, src *Provider, cache *aws.CredentialsCache, check func(context.Context) error) *profileState {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.profiles == nil {
		g.profiles = map[string]*profileState{}
	}
	p := g.profiles[profile]
	if p == nil {
		p = &profileState{name: profile}
		g.profiles[profile] = p
	}
	if src != nil {
		p.sources = append(p.sources, src)
	}
	if cache != nil {
		p.caches = append(p.caches, cache)
	}
	if check != nil {
		p.checks = append(p.checks, check)
	}
	return p
}

// wait blocks while the guard is paused.
func (g *Guard) wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		if !g.paused {
			g.mu.Unlock()
			return nil
		}
		ch := g.resumed
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (g *Guard) generation(p *profileState) uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return p.gen
}

// reload reads the profile's credentials again, once for all callers:
// a caller whose failed call began before the last reload just retries,
// and callers that fail during a reload wait for it.
func (g *Guard) reload(p *profileState, seen uint64) {
	g.mu.Lock()
	if p.gen != seen {
		g.mu.Unlock()
		return
	}
	if ch := p.reloading; ch != nil {
		g.mu.Unlock()
		<-ch
		return
	}
	// A failure on a generation that a reload made, while earlier reloads
	// have not helped, is that generation's failure whichever call saw it
	// first: count it here, so that a call racing the one that would
	// count it cannot start a reload past MaxFailures. While paused there
	// is nothing to reload: Resume rereads every profile.
	if p.failures > 0 && seen > p.counted {
		p.failures++
		p.counted = seen
	}
	if fns := g.pauseIfExhaustedLocked(p); g.paused {
		g.mu.Unlock()
		fns()
		return
	}
	ch := make(chan struct{})
	p.reloading = ch
	g.reloads++
	g.mu.Unlock()
	g.refresh(p)
	g.mu.Lock()
	p.reloading = nil
	g.mu.Unlock()
	close(ch)
}

// refresh resolves the profile's chain again (the files, the source
// keys, the SSO token), empties the caches and starts a new generation.
func (g *Guard) refresh(p *profileState) {
	for _, s := range p.sources {
		_ = s.Reload(context.Background()) // a broken chain fails the next call, which is counted
	}
	for _, c := range p.caches {
		c.Invalidate()
	}
	g.mu.Lock()
	p.gen++
	g.mu.Unlock()
}

func (g *Guard) success(p *profileState) {
	g.mu.Lock()
	p.failures, p.worked = 0, true
	g.mu.Unlock()
}

// failure counts a call that failed on credentials read at generation
// gen; calls failing on the same generation count once. It reports
// whether the profile has worked before (so the caller should wait and
// retry rather than give up).
func (g *Guard) failure(p *profileState, gen uint64, err error) bool {
	code := Classify(err).Code
	if code == "" {
		code = "no credentials" // the chain gave none: no token, a failing process
	}
	g.mu.Lock()
	if p.failures == 0 || gen > p.counted {
		p.failures++
		p.counted = gen
	}
	p.lastCode = code
	worked := p.worked
	fns := g.pauseIfExhaustedLocked(p)
	g.mu.Unlock()
	fns()
	return worked
}

// pauseIfExhaustedLocked pauses the guard once a profile that worked
// before has failed MaxFailures times; call the result after unlocking.
func (g *Guard) pauseIfExhaustedLocked(p *profileState) func() {
	if p.failures >= g.maxFailures() && p.worked {
		info := PauseInfo{Profile: p.name, Expires: p.expiry(), Failures: p.failures, Code: p.lastCode}
		if len(p.sources) > 0 {
			info.Chain, info.Remedy = p.sources[0].Chain(), p.sources[0].Remedy()
		}
		return g.pauseLocked(info)
	}
	return func() {}
}

// expiry is when the profile's credentials in use expire, as their
// provider knows it.
func (p *profileState) expiry() time.Time {
	for _, s := range p.sources {
		if t := s.Expiry(); !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// middleware returns the API option that puts the guard in front of a
// client's calls.
//
// It sits at the head of the Finalize step, before the SDK's Retry
// middleware, that is outside the retry loop, for three reasons: the
// SDK's retryer never retries credential errors, so the loop ends at
// once on one; a reload and its single retry belong to the operation,
// not to each attempt; and the pause gate must hold the whole operation
// (including its retries) rather than one attempt. The identity is
// resolved inside the loop (GetIdentity follows Retry), so calling the
// rest of the stack again signs with the reloaded credentials.
func (g *Guard) middleware(p *profileState) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		m := &guardMiddleware{g: g, p: p}
		if err := st.Finalize.Insert(m, "Retry", middleware.Before); err != nil {
			return st.Finalize.Add(m, middleware.Before)
		}
		return nil
	}
}

type guardMiddleware struct {
	g *Guard
	p *profileState
}

func (*guardMiddleware) ID() string { return "ShuffleCredentialGuard" }

func (m *guardMiddleware) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	out middleware.FinalizeOutput, md middleware.Metadata, err error,
) {
	if ctx.Value(bypassKey{}) != nil {
		return next.HandleFinalize(ctx, in)
	}
	g, p := m.g, m.p
	for {
		if err := g.wait(ctx); err != nil {
			return out, md, err
		}
		gen := g.generation(p)
		out, md, err = next.HandleFinalize(ctx, rewound(in))
		if err == nil {
			g.success(p)
			return out, md, nil
		}
		if !IsAuthError(err) || ctx.Err() != nil {
			return out, md, err
		}
		g.reload(p, gen)
		gen = g.generation(p)
		out, md, err = next.HandleFinalize(ctx, rewound(in))
		if err == nil {
			g.success(p)
			return out, md, nil
		}
		if !IsAuthError(err) || ctx.Err() != nil {
			return out, md, err
		}
		if !g.failure(p, gen, err) {
			// Never worked: a wrong profile, not an expiry. Say so now.
			return out, md, err
		}
		// It worked before: wait (paused after MaxFailures) and try again.
		select {
		case <-ctx.Done():
			return out, md, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func rewound(in middleware.FinalizeInput) middleware.FinalizeInput {
	if r, ok := in.Request.(*smithyhttp.Request); ok {
		_ = r.RewindStream()
	}
	return in
}
