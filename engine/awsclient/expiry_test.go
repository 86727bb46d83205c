package awsclient

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A refresher that rotates tokens shorter-lived than the warning lead
// gets one warning, not one per token; credentials written with more
// than the lead to live, and a reload after a refusal, each start a new
// generation that is warned about once.
func TestExpiryWarningOncePerCredentialsGeneration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	g := NewGuard()
	g.WarnBefore = 5 * time.Minute
	g.Now = func() time.Time { return now }
	var warned []time.Time
	g.OnExpiryWarning(func(w ExpiryWarning) {
		if w.Profile != "p" || w.Problem != nil || w.Session || w.Renews {
			t.Errorf("warning %+v", w)
		}
		warned = append(warned, w.Expires)
	})
	writeCreds(t, path, "KEY000", now.Add(3*time.Minute).Format(time.RFC3339))
	fp := fileProvider(t, path, "p")
	p := g.register("p", fp, nil, nil)
	watch := func() {
		g.mu.Lock()
		ps := g.sortedProfilesLocked()
		g.mu.Unlock()
		g.warnExpiry(ps)
	}

	// 3-minute tokens, rotated every 2 minutes, watched every second.
	for i := 0; i < 60; i++ {
		for s := 0; s < 120; s += 10 {
			watch()
			now = now.Add(10 * time.Second)
		}
		writeCreds(t, path, fmt.Sprintf("KEY%03d", i), now.Add(3*time.Minute).Format(time.RFC3339))
	}
	if len(warned) != 1 {
		t.Fatalf("60 rotations of tokens shorter-lived than the lead: %d warnings, want 1", len(warned))
	}

	// An operator logs in again for an hour: a new generation, warned
	// about once, 5 minutes before its end.
	exp := now.Add(time.Hour)
	writeCreds(t, path, "KEYNEW", exp.Format(time.RFC3339))
	for now.Before(exp.Add(-6 * time.Minute)) {
		watch()
		now = now.Add(30 * time.Second)
	}
	if len(warned) != 1 {
		t.Fatalf("an hour-long token warned %d times more an hour ahead", len(warned)-1)
	}
	for now.Before(exp.Add(-time.Second)) {
		watch()
		now = now.Add(10 * time.Second)
	}
	if len(warned) != 2 || !warned[1].Equal(exp) {
		t.Fatalf("the hour-long token: warnings %v, want one more for %s", warned, exp)
	}

	// A reload after a refusal starts a generation too.
	writeCreds(t, path, "KEYREL", now.Add(2*time.Minute).Format(time.RFC3339))
	g.refresh(p)
	watch()
	watch()
	if len(warned) != 3 {
		t.Fatalf("after a reload: %d warnings, want 3", len(warned))
	}
}

// Expiries as refreshers write them are read (any offset, a space for
// the T, epoch seconds); one that cannot be read is a warning naming
// file and line, once, never a silent fallback.
func TestExpiryFormatsAndUnreadableExpiry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	want := time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)
	for _, v := range []string{"2026-12-06 18:00:00+01:00", "2026-12-06T12:00:00-05:00", "1796576400"} {
		writeCreds(t, path, "KEY", v)
		fp := fileProvider(t, path, "p")
		if got := fp.Expiry(); !got.Equal(want) || fp.ExpiryProblem() != nil {
			t.Errorf("x_security_token_expires = %s: expiry %v (%v), want %v", v, got, fp.ExpiryProblem(), want)
		}
	}
	writeCreds(t, path, "KEY", "next tuesday")
	fp := fileProvider(t, path, "p")
	err := fp.ExpiryProblem()
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 9") {
		t.Fatalf("an unreadable expiry: %v; want a problem naming %s line 9", err, path)
	}
	g := NewGuard()
	var problems int
	g.OnExpiryWarning(func(w ExpiryWarning) {
		if w.Problem != nil {
			problems++
		}
	})
	p := g.register("p", fp, nil, nil)
	for i := 0; i < 3; i++ {
		g.warnExpiry([]*profileState{p})
	}
	if problems != 1 {
		t.Errorf("%d warnings of the unreadable expiry over 3 watches, want 1", problems)
	}
}
