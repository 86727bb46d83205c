package awsclient

import (
	"context"
	"slices"
	"time"
)

// The guard's watch on the credentials files: expiry warnings, and the
// auto-resume of a pause once the file changed and works.

// Expiry is the profile's x_security_token_expires as last read.
func (g *Guard) Expiry(profile string) time.Time {
	g.mu.Lock()
	p := g.profiles[profile]
	g.mu.Unlock()
	if p == nil {
		return time.Time{}
	}
	return p.expiry()
}

type bypassKey struct{}

// withoutGuard marks a call that goes straight through, paused or not
// (the auto-resume check).
func withoutGuard(ctx context.Context) context.Context {
	return context.WithValue(ctx, bypassKey{}, true)
}

// Watch warns ahead of expiry and, with autoResume, resumes a pause as
// soon as the credentials file has changed and GetCallerIdentity
// succeeds for every profile. It returns when ctx is done.
func (g *Guard) Watch(ctx context.Context, autoResume bool) {
	poll := g.Poll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	stamps := map[*FileProvider][2]int64{}
	for {
		g.mu.Lock()
		ps := g.sortedProfilesLocked()
		paused := g.paused
		g.mu.Unlock()
		g.warnExpiry(ps)
		if paused && autoResume {
			changed := false
			for _, p := range ps {
				for _, f := range p.files {
					size, mt, err := f.stamp()
					if err != nil {
						continue
					}
					s := [2]int64{size, mt.UnixNano()}
					if old, ok := stamps[f]; ok && old != s {
						changed = true
					}
					stamps[f] = s
				}
			}
			if changed && g.checkAll(ctx, ps) {
				g.ResumeBy(ResumeAuto)
			}
		} else if autoResume {
			for _, p := range ps {
				for _, f := range p.files {
					if size, mt, err := f.stamp(); err == nil {
						stamps[f] = [2]int64{size, mt.UnixNano()}
					}
				}
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
		exp := p.expiry()
		if exp.IsZero() {
			continue
		}
		g.mu.Lock()
		due := p.expiryDueLocked(exp, now, lead)
		fns := slices.Clone(g.onWarn)
		g.mu.Unlock()
		if due {
			for _, f := range fns {
				f(p.name, exp)
			}
		}
	}
}

// expiryDueLocked says whether to warn now that the profile's
// credentials expire at exp: once per credentials generation, when exp
// comes within the lead. A generation starts with the first credentials
// seen, with credentials written to the file with more than the lead to
// live, and with a reload or resume of the guard. Credentials a refresher
// writes with less than the lead to live (a token lifetime shorter than
// the lead: every new token is "about to expire" from the start) belong
// to the generation already warned about; warning for each of them would
// repeat the same warning on every rotation.
func (p *profileState) expiryDueLocked(exp, now time.Time, lead time.Duration) bool {
	if !exp.Equal(p.seenExp) {
		if p.seenExp.IsZero() || exp.Sub(now) > lead {
			p.armed = true
		}
		p.seenExp = exp
	}
	if p.gen != p.warnGen {
		p.armed, p.warnGen = true, p.gen
	}
	if !p.armed || exp.Sub(now) > lead || !exp.After(now) {
		return false
	}
	p.armed = false
	return true
}
