package copier

import (
	"math"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Reading LimitExceededException. AWS Backup documents the code, not
// its texts, and refuses StartCopyJob with it for three quotas: one job
// per resource (the source account's own backup jobs hold resources
// too), the destination vault's concurrent copies, and the account's.
// Whichever it is, shuffle reads a refusal as the narrowest scope first
// and widens only on evidence:
//
//   - Every refusal backs off its own resource first (its chain waits,
//     with an exponential backoff), whatever its text. One whose text
//     does not say the resource is busy may have met a full cap instead,
//     so each job that ends wakes one such chain, the one refused
//     longest ago.
//   - A vault's cap is lowered once refusals hit K distinct resources of
//     that vault with no start into it, sent after them, succeeding: a
//     busy resource is one resource, a full vault refuses all.
//   - The global cap is lowered once refusals hit 2K distinct resources
//     in at least two vaults with no start sent after them succeeding.
//   - K is at least 6, and grows with the share of starts that busy
//     resources refuse (refusals a later success in their vault showed
//     to be the resource's), so that K busy resources in a row happen
//     by chance less than once in a million starts (at most 8).
//   - A text shuffle knows that names the vault needs two resources of
//     that vault; one that names the account needs K, not 2K (still in
//     two vaults). The wording shortens the evidence, never replaces
//     it, so a text worded another way costs a few refusals, never a
//     collapse of the global cap.
//   - Once a cap was lowered, the level it was found full at is
//     evidence too: a vault refused again while it holds at least as
//     many jobs needs only two resources, the account only K.
//   - A cap lowered on evidence grows back with completions (AIMD). A
//     vault's ceiling is set (and probed just above) only when AWS's
//     words name the vault at a level where it was found full before.
//   - With a single destination vault, a full account reads as that
//     vault's cap, which bounds the same jobs.
//
// docs/adr/0002-copy-queue.md ("Quotas") documents the rule.

// limitScope is what a refusal was read as.
type limitScope int

const (
	scopeResource limitScope = iota // that resource is busy
	scopeVault                      // the destination vault is full
	scopeAccount                    // the account is full
)

func (s limitScope) String() string {
	return [...]string{"resource", "vault", "account"}[s]
}

// The evidence a wider scope needs: distinct resources refused with no
// success between them.
const (
	minSpread   = 6
	maxSpread   = 8
	namedSpread = 2
	// busyAlpha weighs each start in the busy share's moving average.
	busyAlpha = 0.01
)

// limitEvidence is the refusals no later start has refuted: by vault
// (no start into that vault sent after them succeeded) and across the
// account (no start sent after them succeeded), by resource ARN. "After"
// is in the order the calls were sent, not answered: a burst of calls
// is answered in any order, and a success sent before a refusal says
// nothing about the cap the refusal met.
type limitEvidence struct {
	byVault map[*vaultSched]map[string]level
	acct    map[string]level
	// busy is the moving share of starts refused for a busy resource.
	busy float64
	// fullAcct is the account's jobs running when it was last read as
	// full (0: never); a vault's is its fullAt.
	fullAcct int
	// oneVault: the schedule has a single destination vault, so a
	// refusal's spread cannot tell the account from the vault.
	oneVault bool
	// waiters are, by vault, the chains refused in words that did not
	// say the resource is busy, backing off as busy, oldest first
	// (wakeRefused).
	waiters map[*vaultSched][]*chain
}

// maxWaiters bounds each vault's waiters (the oldest are dropped: they
// are tried at the end of their backoff anyway).
const maxWaiters = 1024

// level is a refusal: the start's vault, its place in the order calls
// were sent, and how full the account and the vault were (their jobs
// running).
type level struct {
	v           *vaultSched
	sent        uint64
	acct, vault int
}

// started clears the evidence a successful start into v, sent as call
// number sent, refutes: the refusals of calls sent before it. Those in
// v were busy resources; the ones made where a cap was found full
// before are left out of the busy share (they may have been the cap's).
func (e *limitEvidence) started(v *vaultSched, sent uint64) {
	for r, l := range e.byVault[v] {
		if l.sent >= sent {
			continue
		}
		if (e.fullAcct == 0 || l.acct < e.fullAcct) && (v.fullAt == 0 || l.vault < v.fullAt) {
			e.busy += busyAlpha * (1 - e.busy)
		}
		delete(e.byVault[v], r)
	}
	e.busy -= busyAlpha * e.busy
	for r, l := range e.acct {
		if l.sent < sent {
			delete(e.acct, r)
		}
	}
}

// spread is K: how many distinct resources of one vault refused in a
// row make its cap the likelier reading than busy resources.
func (e *limitEvidence) spread() int {
	if e.busy <= 0 {
		return minSpread
	}
	k := math.Ceil(math.Log(1e-6) / math.Log(min(e.busy, 0.5)))
	return int(min(maxSpread, max(minSpread, k)))
}

// refused adds a refusal of resource into v, whose text named the
// class's scope, and returns the scope the evidence now supports. at is
// how full the account and the vault were: the jobs AWS accepted and
// shuffle has seen running (start calls still out are not counted: AWS
// may refuse them). The evidence used for a wider reading is spent: the
// next widening needs new refusals.
func (e *limitEvidence) refused(resource string, v *vaultSched, named awsclient.Class, at level) limitScope {
	if e.byVault == nil {
		e.byVault, e.acct = map[*vaultSched]map[string]level{}, map[string]level{}
	}
	if e.byVault[v] == nil {
		e.byVault[v] = map[string]level{}
	}
	at.v = v
	e.byVault[v][resource] = at
	e.acct[resource] = at
	needVault := e.spread()
	needAcct := 2 * needVault
	if e.fullAcct > 0 && at.acct >= e.fullAcct {
		needAcct = needVault
	}
	if v.fullAt > 0 && at.vault >= v.fullAt {
		needVault = namedSpread
	}
	switch named {
	case awsclient.LimitAccount:
		needAcct = min(needAcct, e.spread())
	case awsclient.LimitVault:
		needVault = namedSpread
	}
	if len(e.acct) >= needAcct && (e.oneVault || e.vaults() >= 2) {
		e.fullAcct = at.acct
		clear(e.acct)
		clear(e.byVault)
		return scopeAccount
	}
	if len(e.byVault[v]) >= needVault {
		v.fullAt = at.vault
		for r := range e.byVault[v] {
			delete(e.acct, r) // explained by the vault's cap
		}
		delete(e.byVault, v)
		return scopeVault
	}
	return scopeResource
}

// vaults is the number of vaults among the account-wide evidence.
func (e *limitEvidence) vaults() int {
	seen := map[*vaultSched]bool{}
	for _, l := range e.acct {
		seen[l.v] = true
	}
	return len(seen)
}

// limitRefused reacts to a LimitExceededException for it: back off its
// resource, or lower the vault's or the global cap, as the evidence
// reads it (above).
func (c *Copier) limitRefused(it *copyItem, class awsclient.Class, now time.Time, reason string) {
	at := level{sent: it.sent, acct: len(c.inflight), vault: c.runningIn(it.dest)}
	repeat := it.dest.fullAt > 0 && at.vault <= it.dest.fullAt
	c.limits.oneVault = len(c.s.vaults) == 1
	scope := c.limits.refused(it.chain.resource, it.dest, class, at)
	if class == awsclient.LimitUnknown {
		reason += " (wording not recognised; read as " + scope.String() + " limit from how refusals spread)"
	}
	switch {
	case scope == scopeAccount:
		c.shrinkAccount(now)
	case scope == scopeVault:
		c.shrinkVault(it.dest, class == awsclient.LimitVault && repeat)
	default:
		// Not corroborated, whatever the text says: the resource waits
		// as if busy, and a job that ends wakes it unless the text said
		// the resource is busy.
		ch := it.chain
		ch.resBusy++
		backoff := min(30*c.Opts.BusyBackoff, c.Opts.BusyBackoff<<min(ch.resBusy-1, 5))
		c.retryLater(it, now.Add(backoff), reason)
		if class != awsclient.LimitResource {
			c.limits.waitFor(it.dest, ch)
		}
		return
	}
	c.retryLater(it, now.Add(jitter(c.Opts.LimitBackoff)), reason)
}

// waitFor adds ch to v's waiters.
func (e *limitEvidence) waitFor(v *vaultSched, ch *chain) {
	if e.waiters == nil {
		e.waiters = map[*vaultSched][]*chain{}
	}
	q := append(e.waiters[v], ch)
	if len(q) > maxWaiters {
		q = q[len(q)-maxWaiters:]
	}
	e.waiters[v] = q
}

// wakeRefused is called when a job of v ends: a slot of v's cap and of
// the account's is free. A refusal in unknown words read as a busy
// resource may have been a full cap, so the chain refused longest ago
// (of v, else of any vault) is tried now rather than at the end of its
// backoff: under a cap that is the start the free slot allows, and
// under a busy resource it costs one call per job that ends.
func (c *Copier) wakeRefused(v *vaultSched) {
	now := c.Now()
	if c.wakeOne(v, now) {
		return
	}
	for w := range c.limits.waiters {
		if c.wakeOne(w, now) {
			return
		}
	}
}

// wakeOne wakes the oldest of v's waiters still backing off, dropping
// those that are not; it says whether it woke one.
func (c *Copier) wakeOne(v *vaultSched, now time.Time) bool {
	q := c.limits.waiters[v]
	defer func() {
		if len(q) == 0 {
			delete(c.limits.waiters, v)
		} else {
			c.limits.waiters[v] = q
		}
	}()
	for len(q) > 0 {
		ch := q[0]
		q = q[1:]
		it := ch.head()
		if ch.busy || ch.waitIdx < 0 || it == nil || it.rec == nil || it.rec.State != state.CopyRetry || !ch.notBefore.After(now) {
			continue
		}
		ch.notBefore, it.rec.NextAt = now, &now
		c.dirty[it.rec] = true
		c.s.park(ch, now)
		return true
	}
	return false
}

// runningIn is the number of v's jobs AWS accepted that have not ended.
func (c *Copier) runningIn(v *vaultSched) int {
	n := 0
	for _, it := range c.inflight {
		if it.dest == v {
			n++
		}
	}
	return n
}

// shrinkVault lowers v's cap below the jobs it has in flight (this
// refusal included). With ceiling (AWS's words named the vault, at a
// level where it was found full before) the cap becomes its ceiling,
// probed just above; otherwise it grows back with completions like any
// AIMD cap, so a false reading costs a little time, never a ceiling.
func (c *Copier) shrinkVault(v *vaultSched, ceiling bool) {
	v.cap = max(1, float64(v.inflight-1))
	if ceiling && (v.maxCap > v.cap || math.IsInf(v.maxCap, 1)) {
		v.maxCap = v.cap + 1
	}
	c.cuts.vault[v.name]++
	c.logger().Info("copy vault cap lowered", "vault", v.name, "cap", v.cap, "ceiling", ceiling)
}

// shrinkAccount is the multiplicative decrease of the global cap: to
// 70% of the jobs in flight (this refusal included), held for CapHold.
func (c *Copier) shrinkAccount(now time.Time) {
	c.s.cap = max(1, math.Floor(float64(len(c.inflight)+c.pending+1)*0.7))
	c.s.capHoldUntil = now.Add(c.Opts.CapHold)
	c.cuts.account++
	c.logger().Info("copy global cap lowered", "cap", c.s.cap)
}

// capCuts counts the cap decreases of a run (for its log and tests).
type capCuts struct {
	account int
	vault   map[string]int // by source vault
}
