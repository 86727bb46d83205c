package state

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Badger does not return an error when it cannot read a value from the
// value log (a checksum mismatch, a missing file): it logs "Unable to
// read" and hands back an empty value, which a caller would take for a
// garbled record. readFailures is the Logger that notices those lines;
// Store.Damage turns them into a DamagedError, and Close records it in
// the marker so that the next command refuses the state at once.
type readFailures struct {
	mu    sync.Mutex
	first string // the first "Unable to read" line
	vp    string // the value pointer Badger logs after it
	count int
}

func (r *readFailures) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case strings.HasPrefix(format, "Unable to read"):
		r.count++
		if r.first == "" {
			r.first = fmt.Sprintf(format, args...)
		}
	case strings.HasPrefix(format, "Key: ") && strings.Contains(format, "valuePointer") && r.count == 1 && r.vp == "":
		// Badger lists the key's versions after the failed read.
		r.vp = fmt.Sprintf(format, args...)
	}
}
func (*readFailures) Warningf(string, ...any) {}
func (*readFailures) Infof(string, ...any)    {}
func (*readFailures) Debugf(string, ...any)   {}

var (
	vpKey    = regexp.MustCompile(`Key: \[([0-9 ]*)\]`)
	vpFid    = regexp.MustCompile(`Fid:([0-9]+)`)
	vpOffset = regexp.MustCompile(`Offset:([0-9]+)`)
	vpError  = regexp.MustCompile(`Error: (.*)$`)
)

// damage is what the failures say, as a DamagedError, or nil.
func (r *readFailures) damage(dir string) *DamagedError {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.count == 0 {
		return nil
	}
	file, problem := "", "has values Badger cannot read"
	if m := vpFid.FindStringSubmatch(r.first + " " + r.vp); m != nil {
		id, _ := strconv.ParseUint(m[1], 10, 32)
		file = "badger/" + valueLogName(uint32(id))
	}
	var where []string
	if m := vpKey.FindStringSubmatch(r.first); m != nil {
		var key []byte
		for _, f := range strings.Fields(m[1]) {
			b, _ := strconv.ParseUint(f, 10, 8)
			key = append(key, byte(b))
		}
		where = append(where, fmt.Sprintf("the value of %q", printableKey(key)))
	}
	if m := vpOffset.FindStringSubmatch(r.first + " " + r.vp); m != nil {
		where = append(where, "at offset "+m[1])
	}
	if e := vpError.FindStringSubmatch(r.first); e != nil {
		where = append(where, e[1])
	}
	if len(where) > 0 {
		problem += " (" + strings.Join(where, ", ") + ")"
	}
	if r.count > 1 {
		problem += fmt.Sprintf("; %d reads failed", r.count)
	}
	return &DamagedError{Dir: dir, File: file, Problem: problem, Snapshot: latestSnapshot(dir), OnRead: true}
}

// Damage is a *DamagedError when Badger failed to read a value since
// the state was opened (a command's own error is then only a symptom),
// else nil.
func (s *Store) Damage() error {
	if s.reads == nil {
		return nil
	}
	if d := s.reads.damage(s.Dir); d != nil {
		return d
	}
	return nil
}

// recordDamage writes the damage into the marker (not clean), so that
// every later open refuses the state until it is restored.
func (s *Store) recordDamage(d *DamagedError) error {
	s.marker.Clean = false
	s.marker.Damaged = &DamageNote{At: time.Now().UTC(), File: d.File, Problem: d.Problem}
	return writeMarker(s.Dir, s.marker)
}
