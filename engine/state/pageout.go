package state

import (
	"path/filepath"
	"time"
)

// Options tune a read-write Store (OpenWith). The caller chooses them
// (cmd/shuffle from the environment); this package reads no environment
// variable itself. The zero value is the defaults.
type Options struct {
	// PageOut is how often the state's memory-mapped table files are
	// paged out (pageOutEvery when 0; negative turns paging out off).
	PageOut time.Duration
	// ClosePageOut is the page-out period during Close
	// (closePageOutEvery when 0; negative, or longer than PageOut: the
	// PageOut period).
	ClosePageOut time.Duration
	// Notice, when set, hears about slow one-off work at open (building
	// the counters of a state made before them), for the operator.
	Notice func(string)
}

// pageOutEvery is how often the state's memory-mapped table files are
// paged out (pageOut, Linux only): without it a million-RP plan keeps
// about 800 MB of them resident. Options.PageOut overrides it. At
// 500 ms rather than 1 s a cold million-RP plan peaked at 334-343 MiB
// instead of 342-358 MiB, with no more CPU (docs/performance.md).
const pageOutEvery = 500 * time.Millisecond

// closePageOutEvery is the page-out period during Close
// (Options.ClosePageOut overrides it).
const closePageOutEvery = 50 * time.Millisecond

// pageOutPeriods are the page-out periods o chooses: every, and
// closeEvery during Close; every <= 0 turns paging out off.
func (o Options) pageOutPeriods() (every, closeEvery time.Duration) {
	every, closeEvery = pageOutEvery, closePageOutEvery
	if o.PageOut != 0 {
		every = o.PageOut
	}
	if o.ClosePageOut != 0 {
		closeEvery = o.ClosePageOut
	}
	if closeEvery <= 0 || closeEvery > every {
		closeEvery = every
	}
	return every, closeEvery
}

// startPageOut pages the state's mapped files out every period o
// chooses, until Close.
func (s *Store) startPageOut(o Options) {
	every, closeEvery := o.pageOutPeriods()
	if every <= 0 {
		return
	}
	s.stop, s.done, s.closing = make(chan struct{}), make(chan struct{}), make(chan struct{})
	dir := mapsDir(filepath.Join(s.Dir, "badger"))
	pageOut(dir) // advise the value log files Open mapped before any read
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		closing := s.closing
		for {
			select {
			case <-s.stop:
				return
			case <-closing:
				// Close compacts the first level in a second or two; at
				// once a second the tables it reads and writes pile up.
				closing = nil
				t.Reset(closeEvery)
			case <-t.C:
				pageOut(dir)
			}
		}
	}()
}
