package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/progress"
)

// pauseUI is the terminal side of the credential guard: the bell and
// banner when a run pauses, the operator's hook, and the ways to resume
// (a keypress or Enter on stdin, SIGUSR1, or --auto-resume; on Windows,
// Enter on stdin or --auto-resume: pause_unix.go, pause_windows.go).
type pauseUI struct {
	e      *env
	g      *awsclient.Guard
	hook   func() []string // the script's on_pause command, read when needed
	cancel context.CancelFunc

	mu      sync.Mutex
	keys    chan byte
	restore func()
}

// startPauseUI installs the callbacks and listeners; stop undoes them.
func startPauseUI(ctx context.Context, e *env, g *awsclient.Guard, hook func() []string, autoResume bool, cancel context.CancelFunc) (stop func()) {
	u := &pauseUI{e: e, g: g, hook: hook, cancel: cancel}
	g.OnPause(u.paused)
	g.OnResume(func(info awsclient.PauseInfo, d time.Duration) {
		u.rawOff()
		fmt.Fprintf(e.stderr, "shuffle: resumed after %s paused; AWS calls go on with the credentials of profile %q as now resolved (%s)\n",
			d.Round(time.Second), info.Profile, info.Chain.Describe())
	})
	g.OnExpiryWarning(func(w awsclient.ExpiryWarning) { fmt.Fprintln(e.stderr, expiryWarningText(w)) })
	wctx, wcancel := context.WithCancel(ctx)
	go g.Watch(wctx, autoResume)
	stopSignal := resumeOnSignal(wctx, e, g)
	return func() {
		stopSignal()
		wcancel()
		u.rawOff()
	}
}

// paused runs on the guard's pause: tell the operator, run the hook and
// wait for a key.
func (u *pauseUI) paused(info awsclient.PauseInfo) {
	exp := "unknown (neither the credentials nor the files say)"
	if !info.Expires.IsZero() {
		exp = fmt.Sprintf("%s (%s ago)", info.Expires.Local().Format(time.RFC3339), time.Since(info.Expires).Round(time.Second))
	}
	how := "press Enter"
	if u.rawKeys() {
		how = "press any key"
	}
	remedy := info.Remedy
	if remedy == "" {
		remedy = "refresh the credentials"
	}
	fmt.Fprintf(u.e.stderr, "\a\n"+
		"shuffle: PAUSED: the credentials of profile %q failed %d times in a row (%s)\n"+
		"shuffle:   credentials: %s\n"+
		"shuffle:   token expiry: %s\n"+
		"shuffle:   no AWS calls are made while paused; the state is saved and copy jobs already started go on in AWS\n"+
		"shuffle:   to resume: %s, then %s\n\n",
		info.Profile, info.Failures, info.Code, info.Chain.Describe(), exp, remedy, resumeHow(how))
	u.runHook(info)
	u.waitKey()
}

func (u *pauseUI) runHook(info awsclient.PauseInfo) {
	cmd := u.hook()
	if len(cmd) == 0 {
		return
	}
	exp := ""
	if !info.Expires.IsZero() {
		exp = info.Expires.UTC().Format(time.RFC3339)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
	c.Env = append(os.Environ(), "SHUFFLE_PAUSED_PROFILE="+info.Profile, "SHUFFLE_TOKEN_EXPIRES="+exp,
		"SHUFFLE_CREDENTIALS_KIND="+info.Chain.Kind.String(), "SHUFFLE_REMEDY="+info.Remedy)
	c.Stdout, c.Stderr = u.e.stderr, u.e.stderr
	if err := c.Run(); err != nil {
		fmt.Fprintf(u.e.stderr, "shuffle: on_pause %s: %v\n", strings.Join(cmd, " "), err)
	}
}

// tty reports whether stdin is a terminal.
func (u *pauseUI) tty() bool {
	f, ok := u.e.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// rawKeys reports whether a pause puts the terminal in raw mode and
// resumes on any key; otherwise it resumes on Enter. Always Enter where
// rawKeypress is false (Windows).
func (u *pauseUI) rawKeys() bool {
	return rawKeypress && u.tty()
}

// waitKey resumes the guard on a key: a raw keypress on a terminal,
// else a line (Enter). One reader goroutine serves every pause; what it
// reads while not paused is dropped.
func (u *pauseUI) waitKey() {
	u.mu.Lock()
	if u.keys == nil {
		u.keys = make(chan byte, 16)
		go func(r io.Reader, keys chan<- byte) {
			b := make([]byte, 1)
			for {
				if n, err := r.Read(b); n == 1 {
					select {
					case keys <- b[0]:
					default:
					}
				} else if err != nil {
					close(keys)
					return
				}
			}
		}(u.e.stdin, u.keys)
	}
	keys := u.keys
	u.mu.Unlock()
	for drained := false; !drained; { // keys typed before the pause do not count
		select {
		case _, ok := <-keys:
			if !ok {
				return // stdin closed: SIGUSR1 (not on Windows) or --auto-resume
			}
		default:
			drained = true
		}
	}
	u.rawOn()
	for {
		if p, _ := u.g.Paused(); !p {
			return
		}
		select {
		case k, ok := <-keys:
			if !ok {
				u.rawOff()
				return
			}
			if k == 3 { // Ctrl-C in raw mode: interrupt as usual
				u.rawOff()
				u.cancel()
				return
			}
			if !u.rawKeys() && k != '\n' {
				continue
			}
			u.g.ResumeBy(awsclient.ResumeKey)
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (u *pauseUI) rawOn() {
	if !u.rawKeys() {
		return
	}
	fd := int(u.e.stdin.(*os.File).Fd())
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.restore != nil {
		return
	}
	if st, err := term.MakeRaw(fd); err == nil {
		u.restore = func() { _ = term.Restore(fd, st) }
	}
}

func (u *pauseUI) rawOff() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.restore != nil {
		u.restore()
		u.restore = nil
	}
}

// recordPauses puts the guard's pauses and resumes in the run's JSON log
// (docs/progress-and-logs.md) and in its progress (the PAUSED mark, and
// the rate leaves the time out), and logs each expiry warning.
func recordPauses(g *awsclient.Guard, log *slog.Logger, p *progress.Progress) {
	var mu sync.Mutex // a pause's callback runs in its own goroutine: keep it from marking a pause already over
	g.OnPause(func(info awsclient.PauseInfo) {
		mu.Lock()
		defer mu.Unlock()
		log.Warn("run paused", "profile", info.Profile, "code", info.Code, "failures", info.Failures,
			"token_expires", rfc3339(info.Expires), "since", info.Since.UTC().Format(time.RFC3339Nano))
		if paused, now := g.Paused(); paused && now.Since.Equal(info.Since) {
			p.SetPaused(true, fmt.Sprintf("credentials of profile %q refused", info.Profile))
		}
	})
	g.OnResume(func(info awsclient.PauseInfo, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		log.Info("run resumed", "profile", info.Profile, "resumed_by", string(info.ResumedBy),
			"paused_s", d.Seconds(), "paused_total_s", g.PausedFor().Seconds())
		p.SetPaused(false, "")
	})
	g.OnExpiryWarning(func(w awsclient.ExpiryWarning) {
		if w.Problem != nil {
			log.Warn("credentials expiry unreadable", "profile", w.Profile, "error", w.Problem.Error())
			return
		}
		what := "credentials"
		if w.Session {
			what = "session"
		}
		log.Warn("credentials expiring", "profile", w.Profile, "token_expires", rfc3339(w.Expires), "what", what,
			"kind", w.Chain.Kind.String(), "renews", w.Renews)
	})
}

// expiryWarningText is the line that warns the operator ahead of an
// expiry, worded by what renews the credentials.
func expiryWarningText(w awsclient.ExpiryWarning) string {
	if w.Problem != nil {
		return fmt.Sprintf("shuffle: warning: profile %q: %v; shuffle cannot warn before these credentials expire", w.Profile, w.Problem)
	}
	at := fmt.Sprintf("%s (in %s)", w.Expires.Local().Format(time.RFC3339), time.Until(w.Expires).Round(time.Second))
	switch {
	case w.Session && w.Chain.Base == awsclient.KindSSO:
		return fmt.Sprintf("shuffle: warning: the IAM Identity Center session of profile %q ends at %s; %s before then, or the run pauses when it lapses", w.Profile, at, w.Remedy)
	case w.Session:
		return fmt.Sprintf("shuffle: warning: the keys behind profile %q (%s) expire at %s; %s before then, or the run pauses when the role is next assumed", w.Profile, w.Chain.Describe(), at, w.Remedy)
	case w.Renews:
		return fmt.Sprintf("shuffle: note: the credentials of profile %q (%s) expire at %s; shuffle gets fresh ones through the chain then, and pauses only if that fails", w.Profile, w.Chain.Describe(), at)
	}
	return fmt.Sprintf("shuffle: warning: the credentials of profile %q expire at %s; refresh them before then (%s), or the run pauses when they lapse", w.Profile, at, w.Remedy)
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
