package engine

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Progress holds counters the UI reads; the engine only adds to them.
// Every method is safe for concurrent use.
type Progress struct {
	mu     sync.Mutex
	vaults map[string]*vaultProgress
	copy   CopySnapshot
}

type vaultProgress struct {
	expected atomic.Int64
	listed   atomic.Int64
}

// VaultProgress is a snapshot of one vault's inventory progress.
type VaultProgress struct {
	Vault    string
	Listed   int64
	Expected int64
}

// NewProgress makes empty counters.
func NewProgress() *Progress { return &Progress{vaults: map[string]*vaultProgress{}} }

func (p *Progress) vault(name string) *vaultProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.vaults[name]
	if v == nil {
		v = &vaultProgress{}
		p.vaults[name] = v
	}
	return v
}

func (p *Progress) setExpected(vault string, n int64) { p.vault(vault).expected.Store(n) }
func (p *Progress) addListed(vault string, n int64)   { p.vault(vault).listed.Add(n) }

// Inventory returns per-vault listing progress, by vault name.
func (p *Progress) Inventory() []VaultProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]VaultProgress, 0, len(p.vaults))
	for name, v := range p.vaults {
		out = append(out, VaultProgress{Vault: name, Listed: v.listed.Load(), Expected: v.expected.Load()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Vault < out[j].Vault })
	return out
}

// CopySnapshot is the copy engine's state at one moment.
type CopySnapshot struct {
	InFlight     int   // jobs in flight or being started
	Cap          int   // the current in-flight cap (AIMD)
	Started      int64 // jobs started by this run
	Completed    int64 // completed copies, all runs
	CompletedNow int64 // completed by this run
	Failed       int64 // failed permanently, all runs
	BytesNow     int64
	Ready        int   // resources that could start a copy now
	Waiting      int   // resources waiting for a retry time
	APICalls     int64 // calls made by the copy engine
}

func (p *Progress) setCopy(s CopySnapshot) {
	p.mu.Lock()
	p.copy = s
	p.mu.Unlock()
}

// Copy returns the latest copy snapshot.
func (p *Progress) Copy() CopySnapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.copy
}
