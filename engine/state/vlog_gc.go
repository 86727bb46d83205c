package state

import (
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// RP records live in Badger's value log (ADR 0001), and every rewrite of
// one (a decision, a copy transition) leaves the old value behind as
// garbage. Over a migration that would grow the log to a few times the
// live data. A long-lived process therefore collects it: every
// valueLogGCEvery it rewrites the value log files that are at least
// valueLogGCRatio garbage, one after another, until none is.

// valueLogGCEvery is how often an open Store collects its value log.
// Commands that finish sooner (plan, status) never do.
var valueLogGCEvery = 10 * time.Minute

// valueLogGCRatio is the share of a value log file that must be garbage
// (by the discard statistics compactions keep) for it to be rewritten.
const valueLogGCRatio = 0.5

// valueLogFileSize is the size at which Badger starts a new value log
// file (a variable so that tests can make files small enough to fill).
var valueLogFileSize int64 = 256 << 20

func (s *Store) startValueLogGC() {
	s.gcStop, s.gcDone = make(chan struct{}), make(chan struct{})
	every := valueLogGCEvery
	go func() {
		defer close(s.gcDone)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.gcStop:
				return
			case <-t.C:
				// An error here is Badger's own trouble reading its log; the
				// next round tries again, and reads report it if it persists.
				_, _ = s.CollectValueLog(s.gcStop)
			}
		}
	}()
}

func (s *Store) stopValueLogGC() {
	if s.gcStop != nil {
		close(s.gcStop)
		<-s.gcDone
		s.gcStop = nil
	}
}

// CollectValueLog rewrites the value log files that are mostly garbage,
// one at a time, until none is or stop is closed (nil: never). It
// returns how many files it rewrote.
func (s *Store) CollectValueLog(stop <-chan struct{}) (int, error) {
	n := 0
	for {
		select {
		case <-stop:
			return n, nil
		default:
		}
		err := s.db.RunValueLogGC(valueLogGCRatio)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}
