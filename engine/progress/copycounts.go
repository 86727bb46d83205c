package progress

import (
	"sort"
	"time"
)

// The copy engine's events by source vault and resource type, counted
// since the process started (a metrics scrape reads them as counters).

// CopyEvent is one thing that happened to a copy job.
type CopyEvent int

// The copy events CountCopy counts.
const (
	// CopyStarted: a StartCopyJob was sent (its intent written).
	CopyStarted CopyEvent = iota
	// CopyCompleted: a job ended COMPLETED; bytes are the source size.
	CopyCompleted
	// CopyFailed: a recovery point failed for good (needs a requeue).
	CopyFailed
	// CopyRetried: a start or a job failed and will be tried again.
	CopyRetried
)

// CopyKey is a source vault and resource type.
type CopyKey struct {
	Vault, ResourceType string
}

// CopyCounts are the events of one CopyKey since the process started.
type CopyCounts struct {
	CopyKey
	Started, Completed, Failed, Retried int64
	// Bytes are the source bytes of the completed copies.
	Bytes int64
}

// CountCopy counts one event of a copy of a recovery point of the vault
// and type; bytes count only for CopyCompleted. A completion also moves
// LastCompletion to now.
func (p *Progress) CountCopy(ev CopyEvent, vault, resourceType string, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counts == nil {
		p.counts = map[CopyKey]*CopyCounts{}
	}
	k := CopyKey{Vault: vault, ResourceType: resourceType}
	c := p.counts[k]
	if c == nil {
		c = &CopyCounts{CopyKey: k}
		p.counts[k] = c
	}
	switch ev {
	case CopyStarted:
		c.Started++
	case CopyCompleted:
		c.Completed++
		c.Bytes += bytes
		p.lastCompletion = p.clock()
	case CopyFailed:
		c.Failed++
	case CopyRetried:
		c.Retried++
	}
}

// CopyCounts returns the counts by vault and type, sorted, and when this
// process last saw a copy complete (zero: not yet).
func (p *Progress) CopyCounts() ([]CopyCounts, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]CopyCounts, 0, len(p.counts))
	for _, c := range p.counts {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Vault != out[j].Vault {
			return out[i].Vault < out[j].Vault
		}
		return out[i].ResourceType < out[j].ResourceType
	})
	return out, p.lastCompletion
}
