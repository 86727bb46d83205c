package awsclient

import (
	"context"
	"slices"
	"time"
)

// The guard's watch on the credentials: expiry warnings, and the
// auto-resume of a pause once the credentials changed and work.

// DefaultResumeRetry is how often a paused guard with --auto-resume
// tries credentials that no watched file announces (credential_process,
// the environment, an instance role): nothing says when they change.
const DefaultResumeRetry = 10 * time.Second

// ExpiryWarning is what Watch tells the operator ahead of an expiry.
type ExpiryWarning struct {
	Profile string
	Expires time.Time
	// Session says the expiry is of what the operator renews by hand
	// behind the credentials (the SSO token, the keys at the base of an
	// assume-role chain), not of the credentials in use.
	Session bool
	// Renews says shuffle gets fresh credentials by itself when these
	// expire (an assumed role, SSO role credentials, credential_process).
	Renews bool
	Chain  Chain
	Remedy string
	// Problem, when not nil, is an expiry in the shared files that could
	// not be read (it names file and line); Expires is then zero.
	Problem error
}

// Expiry is when the profile's credentials in use expire, as last known.
func (g *Guard) Expiry(profile string) time.Time {
	g.mu.Lock()
	p := g.profiles[profile]
	g.mu.Unlock()
	if p == nil {
		return time.Time{}
	}
	return p.expiry()
}

// Profiles describes every profile the guard holds: its chain and the
// expiry of its credentials, for `check` and the run's start.
func (g *Guard) Profiles() []ProfileInfo {
	g.mu.Lock()
	ps := g.sortedProfilesLocked()
	g.mu.Unlock()
	out := make([]ProfileInfo, 0, len(ps))
	for _, p := range ps {
		if len(p.sources) == 0 {
			continue
		}
		out = append(out, p.sources[0].Info())
	}
	return out
}

type bypassKey struct{}

// withoutGuard marks a call that goes straight through, paused or not
// (the auto-resume check).
func withoutGuard(ctx context.Context) context.Context {
	return context.WithValue(ctx, bypassKey{}, true)
}

// Watch warns ahead of expiry and, with autoResume, resumes a pause as
// soon as the credentials work again: it tries GetCallerIdentity for
// every profile when a file a profile depends on changed (the shared
// files, an SSO token cache, a web identity token), and every
// DefaultResumeRetry for credentials no file announces. It returns when
// ctx is done.
func (g *Guard) Watch(ctx context.Context, autoResume bool) {
	poll := g.Poll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	stamps := map[*Provider]string{}
	var lastTry time.Time
	for {
		g.mu.Lock()
		ps := g.sortedProfilesLocked()
		paused := g.paused
		g.mu.Unlock()
		g.warnExpiry(ps)
		changed, unannounced := false, false
		for _, p := range ps {
			for _, s := range p.sources {
				st := s.Stamp()
				if old, ok := stamps[s]; ok && old != st {
					changed = true
				}
				stamps[s] = st
				if k := s.Chain().Base; k == KindProcess || k == KindEnvironment || k == KindInstance {
					unannounced = true
				}
			}
		}
		if paused && autoResume && (changed || unannounced && g.now().Sub(lastTry) >= DefaultResumeRetry) {
			lastTry = g.now()
			if g.checkAll(ctx, ps) {
				g.ResumeBy(ResumeAuto)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (g *Guard) checkAll(ctx context.Context, ps []*profileState) bool {
	for _, p := range ps {
		g.refresh(p)
		for _, check := range p.checks {
			cctx, cancel := context.WithTimeout(withoutGuard(ctx), 30*time.Second)
			err := check(cctx)
			cancel()
			if err != nil {
				return false
			}
		}
	}
	return true
}

func (g *Guard) warnExpiry(ps []*profileState) {
	lead := g.WarnBefore
	if lead <= 0 {
		lead = 5 * time.Minute
	}
	now := g.now()
	for _, p := range ps {
		if len(p.sources) == 0 {
			continue
		}
		src := p.sources[0]
		chain := src.Chain()
		base := ExpiryWarning{Profile: p.name, Renews: chain.Renews(), Chain: chain, Remedy: src.Remedy()}
		var due []ExpiryWarning
		g.mu.Lock()
		if err := src.ExpiryProblem(); err != nil && !p.problems[err.Error()] {
			if p.problems == nil {
				p.problems = map[string]bool{}
			}
			p.problems[err.Error()] = true
			w := base
			w.Problem = err
			due = append(due, w)
		}
		if exp := p.expiry(); !exp.IsZero() && p.credAlarm.due(exp, now, lead, p.gen, !chain.Renews()) {
			w := base
			w.Expires = exp
			due = append(due, w)
		}
		if exp := src.SessionExpiry(); !exp.IsZero() && p.sessionAlarm.due(exp, now, lead, p.gen, true) {
			w := base
			w.Expires, w.Session, w.Renews = exp, true, false
			due = append(due, w)
		}
		fns := slices.Clone(g.onWarn)
		g.mu.Unlock()
		for _, w := range due {
			for _, f := range fns {
				f(w)
			}
		}
	}
}

// expiryAlarm decides when to warn of one expiry: once per credentials
// generation, when the expiry comes within the lead. A generation
// starts with the first expiry seen, with a reload or resume of the
// guard, and (when rearm is set: credentials someone else rewrites)
// with credentials that have more than the lead to live (you logged in
// again). Credentials written with less than the lead to live (a token
// lifetime shorter than the lead: every new token is "about to expire"
// from the start) belong to the generation already warned about;
// warning for each would repeat the same warning on every rotation.
// Credentials shuffle renews by itself (rearm false) are warned about
// once per guard generation, not once per renewal.
type expiryAlarm struct {
	seen  time.Time
	armed bool
	gen   uint64
}

func (a *expiryAlarm) due(exp, now time.Time, lead time.Duration, gen uint64, rearm bool) bool {
	if !exp.Equal(a.seen) {
		if a.seen.IsZero() || rearm && exp.Sub(now) > lead {
			a.armed = true
		}
		a.seen = exp
	}
	if gen != a.gen {
		a.armed, a.gen = true, gen
	}
	if !a.armed || exp.Sub(now) > lead || !exp.After(now) {
		return false
	}
	a.armed = false
	return true
}
