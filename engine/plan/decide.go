package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/metadata"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// DecideSummary is what one decide pass did.
type DecideSummary struct {
	Included   int64 `json:"included"`
	Excluded   int64 `json:"excluded"` // includes failed decisions
	Ineligible int64 `json:"ineligible"`
	Failed     int64 `json:"failed"`
	Redecided  int64 `json:"redecided"` // decisions (re)computed in this pass
	Kept       int64 `json:"kept"`      // RPs already queued or copied, never re-decided
}

// VaultPlan is where a source vault's RPs go.
type VaultPlan struct {
	Source  *state.Vault
	Mapping luabind.VaultMapping
	Dest    *state.Vault // nil when the destination vault does not exist yet
	Lock    *Lock        // the lock copies into it must satisfy
	// SourceKeyAliases are the customer aliases of the source vault's
	// key (KeyAliases), as map(vault) saw them.
	SourceKeyAliases []string
	// Key is the destination key the mapping names, once the engine
	// has resolved it (the zero value before, and when none is named).
	Key DestinationKey
	// Access is the source access policy translated for the
	// destination by the default rules and vaults.lua's
	// access_statement, once the engine has decided it; nil before
	// (replicate then applies the default rules).
	Access *AccessPlan
	// Proposed is the compliance policy's verdict on the destination
	// vault as replication would create it; nil when it was not judged
	// (no compliance module, the vault exists, or the mapping skips it).
	Proposed *ProposedVerdict
}

// KeyAliases are the customer aliases of the source account's keys
// (names without "alias/", sorted), by key ARN. The engine lists them
// once per run from KMS; nil when they are unknown.
type KeyAliases map[string][]string

// DestinationKey is the destination KMS key a vault mapping names, as
// KMS in the destination account resolved it.
type DestinationKey struct {
	// Named is the key as the mapping named it: alias/NAME, an alias
	// ARN or a key ARN ("" when the mapping names none).
	Named string `json:"named,omitempty"`
	// Arn is the key ARN Named resolved to; "" when it did not resolve.
	Arn string `json:"arn,omitempty"`
	// Problem says why Named did not resolve, or why the source key's
	// aliases could not be read, and what to do. With Arn set, it is a
	// note: a key ARN KMS could not check, used as given.
	Problem string `json:"problem,omitempty"`
}

// MapVaults runs the vault mapping policy over every source vault;
// aliases give each vault's key its aliases (nil: none known).
func MapVaults(ctx context.Context, st *state.Store, w *luabind.Worker, aliases KeyAliases) (map[string]*VaultPlan, error) {
	src, err := st.Vaults(state.Source)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*VaultPlan, len(src))
	for _, v := range src {
		vp, err := MapSourceVault(ctx, w, v, aliases)
		if err != nil {
			return nil, err
		}
		if d, ok, err := st.GetVault(state.Destination, vp.Mapping.Name); err != nil {
			return nil, err
		} else if ok {
			vp.Dest = d
		}
		// The lock a copy must satisfy: the destination's own if it
		// exists, else the one shuffle will replicate from the source.
		lockFrom := v
		if vp.Dest != nil {
			lockFrom = vp.Dest
		}
		switch l := vp.Mapping.Lock; {
		case lockFrom.Locked:
			vp.Lock = &Lock{Min: lockFrom.MinRetentionDays, Max: lockFrom.MaxRetentionDays}
		case vp.Dest == nil && l != nil:
			// The mapping's lock, which replication applies to a vault
			// it creates from an unlocked source.
			vp.Lock = &Lock{Min: l.MinRetentionDays, Max: l.MaxRetentionDays}
		}
		out[v.Name] = vp
	}
	return out, nil
}

// MapSourceVault runs the vault mapping policy on one source vault,
// without the state (the destination and the lock are left to the
// caller).
func MapSourceVault(ctx context.Context, w *luabind.Worker, v *state.Vault, aliases KeyAliases) (*VaultPlan, error) {
	in := vaultInput(v, aliases[v.EncryptionKeyArn])
	m, err := w.MapVault(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("vault mapping for %s: %w", v.Name, err)
	}
	return &VaultPlan{Source: v, Mapping: m, SourceKeyAliases: in.EncryptionKeyAliases}, nil
}

// MapVaultsWith runs the vault mapping policy over every source vault
// with a policy worker of its own.
func MapVaultsWith(ctx context.Context, st *state.Store, pol *luabind.Policies, aliases KeyAliases) (map[string]*VaultPlan, error) {
	w, err := pol.NewWorker()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	return MapVaults(ctx, st, w, aliases)
}

// revisions is each vault's decision revision (Revision).
func revisions(policyHash string, plans map[string]*VaultPlan) map[string]string {
	revs := make(map[string]string, len(plans))
	for name, vp := range plans {
		revs[name] = Revision(policyHash, vp)
	}
	return revs
}

// VaultInput is the view of a source vault that the vaults policy
// sees (map and access_statement).
func VaultInput(v *state.Vault, aliases []string) *luabind.VaultInput { return vaultInput(v, aliases) }

func vaultInput(v *state.Vault, aliases []string) *luabind.VaultInput {
	var first string
	if len(aliases) > 0 {
		first = aliases[0]
	}
	return &luabind.VaultInput{
		Name: v.Name, Arn: v.Arn, VaultType: v.VaultType, EncryptionKeyArn: v.EncryptionKeyArn, Locked: v.Locked,
		EncryptionKeyAlias: first, EncryptionKeyAliases: aliases,
		MinRetentionDays: v.MinRetentionDays, MaxRetentionDays: v.MaxRetentionDays, LockDate: v.LockDate,
		Tags: v.Tags, SNSTopicArn: v.SNSTopicArn, Events: v.Events, AccessPolicy: v.AccessPolicy,
	}
}

// RPInput is the view of an RP that policies see.
func RPInput(rp *state.RP) *luabind.RPInput {
	in := &luabind.RPInput{
		Arn: rp.Arn, Vault: rp.Vault, ResourceArn: rp.ResourceArn, ResourceType: rp.ResourceType, ResourceName: rp.ResourceName,
		Status: rp.Status, CreationDate: rp.CreationDate, SizeBytes: rp.Size, DeleteAfterDays: rp.DeleteAfterDays,
		ColdAfterDays: rp.ColdAfterDays, EncryptionKeyArn: rp.EncryptionKeyArn,
	}
	if m := rp.Meta; m != nil {
		in.HasMetadata, in.Metadata, in.Blank = true, m.Fields, m.Blank
		if c := m.Conflict; c != nil {
			in.Conflict = &luabind.ConflictInput{Field: c.Field, Values: c.Values, Lines: c.Lines}
		}
	}
	return in
}

// Decider decides every pending RP with the engine's rules and the
// policies, recording each decision with the revision that made it.
type Decider struct {
	Store    *state.Store
	Policies *luabind.Policies
	Workers  int
	Now      func() time.Time
	// Table, when set, is joined to every RP in the same pass (see
	// EnrichCounts): each RP is then written once, not twice.
	Table *metadata.Table
	// Listed, when set, is what the listing of a cold plan counted: a
	// complete tally stands in for the pass (ListedTally).
	Listed *ListedTally
	// Aliases give the vault mapping each source key's aliases; the
	// session passes the same ones to every mapping of a run.
	Aliases KeyAliases
	// Keys, when set, is asked who manages an RP's KMS key before the
	// aws-managed-key rule decides on it (nil: every answer unknown).
	Keys KeyLearner

	// Agg, after a Run that visited every RP, holds the plan counts of
	// the state as it left it, and AggEpochs the epochs at that moment.
	// Nil when Run answered from its cache.
	Agg       *Aggregate
	AggEpochs state.Epochs
	// Pending, after any Run (from its cache too, when the cache has
	// them), are the included RPs not queued or copied yet, as count and
	// bytes by vault (Copier.Pending), as of AggEpochs. Nil when unknown.
	Pending map[string]*[2]int64
}

// Revision fingerprints everything a decision for one vault depends on:
// the policy hash and the vault's mapping and lock.
func Revision(policyHash string, vp *VaultPlan) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%v", policyHash, vp.Mapping.Name, vp.Mapping.Skip)
	if vp.Lock != nil {
		fmt.Fprintf(h, "\x00%v\x00%v", Deref(vp.Lock.Min), Deref(vp.Lock.Max))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Deref is *p, or -1 for nil (no bound).
func Deref(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// written is an RP on its way to the batch; count says whether its
// (new) decision still has to be tallied.
type written struct {
	rp    *state.RP
	count bool
}

type decideJob struct {
	rp   *state.RP
	rev  string
	vp   *VaultPlan
	keys KeyManagers // nil: no key answers
}

// decideCache is the last pass's result with what it was computed from.
type decideCache struct {
	Revs       string        `json:"revs"`
	Epochs     state.Epochs  `json:"epochs"`
	ValidUntil time.Time     `json:"valid_until"`
	Summary    DecideSummary `json:"summary"`
	// Pending by vault: count and bytes (older caches lack it).
	Pending map[string]*[2]int64 `json:"pending,omitempty"`
	// KeysUnknown: the pass decided an RP without knowing who manages
	// its key; the next command's pass asks KMS again, so the cache
	// does not stand for it.
	KeysUnknown bool `json:"keys_unknown,omitempty"`
}

// wentCold reports whether rp reached its cold storage date between
// decision d and now: the cold-storage rule may now answer otherwise.
func wentCold(rp *state.RP, d *state.Decision, now time.Time) bool {
	t := rp.MoveToColdAt
	return t != nil && t.After(d.At) && !t.After(now)
}

// RevisionsKey fingerprints every vault's decision revision.
func RevisionsKey(revs map[string]string) string {
	names := make([]string, 0, len(revs))
	for n := range revs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s=%s\x00", n, revs[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// count adds one RP's current decision to the tallies.
func (s *DecideSummary) count(rp *state.RP) {
	if rp.Decision == nil || rp.Gone {
		return
	}
	switch rp.Decision.Outcome {
	case state.Included:
		s.Included++
	case state.Excluded:
		s.Excluded++
	case state.Failed:
		s.Excluded++
		s.Failed++
	case state.Ineligible:
		s.Ineligible++
	}
}

// decideOne decides one RP. A policy call is counted by g (when not
// nil), whose error stops the pass.
func decideOne(ctx context.Context, w *luabind.Worker, j decideJob, now time.Time, g *budgetGuard) (*state.Decision, error) {
	dec := &state.Decision{PolicyHash: j.rev, MetaHash: j.rp.MetaHash, At: now}
	if j.vp.Mapping.Skip {
		dec.Outcome, dec.Rule = state.Excluded, "engine:"+RuleVaultSkip
		dec.Reason = "the vault mapping skips vault " + j.rp.Vault
		if j.vp.Mapping.Reason != "" {
			dec.Reason += ": " + j.vp.Mapping.Reason
		}
		return dec, nil
	}
	if rule, reason, bad := Ineligible(j.rp, j.vp.Lock, now, j.keys); bad {
		dec.Outcome, dec.Rule, dec.Reason = state.Ineligible, "engine:"+rule, reason
		return dec, nil
	}
	pd := w.Decide(ctx, RPInput(j.rp))
	var stop error
	if g != nil && ctx.Err() == nil {
		if e := g.record(j.rp.Arn, pd.Policy, pd.Budget, pd.Reason); e != nil {
			stop = e
		}
	}
	dec.Rule, dec.Reason = "policy:"+pd.Policy, pd.Reason
	switch {
	case pd.Failed:
		dec.Outcome = state.Failed
	case pd.Include:
		dec.Outcome, dec.Priority = state.Included, pd.Priority
	default:
		dec.Outcome = state.Excluded
	}
	return dec, stop
}
