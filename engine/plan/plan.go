package plan

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/engine/metadata"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// PlanSchema names the version of the plan JSON; docs/operator-guide.md
// documents it. Fields are only ever added within one version.
const PlanSchema = "shuffle.plan/v1"

// Counts are the per-scope numbers of a plan.
type Counts struct {
	RecoveryPoints     int64            `json:"recovery_points"`
	Bytes              int64            `json:"bytes"`
	Included           int64            `json:"included"`
	IncludedBytes      int64            `json:"included_bytes"`
	Excluded           int64            `json:"excluded"`
	Ineligible         int64            `json:"ineligible"`
	Failed             int64            `json:"failed"`
	Undecided          int64            `json:"undecided"`
	ExcludedByReason   map[string]int64 `json:"excluded_by_reason"`
	IneligibleByReason map[string]int64 `json:"ineligible_by_reason"`
}

func newCounts() Counts {
	return Counts{ExcludedByReason: map[string]int64{}, IneligibleByReason: map[string]int64{}}
}

func (c *Counts) add(rp *state.RP) {
	c.RecoveryPoints++
	c.Bytes += rp.Size
	d := rp.Decision
	switch {
	case d == nil:
		c.Undecided++
	case d.Outcome == state.Included:
		c.Included++
		c.IncludedBytes += rp.Size
	case d.Outcome == state.Ineligible:
		c.Ineligible++
		c.IneligibleByReason[d.Reason]++
	default: // excluded, or a failed policy (which excludes)
		c.Excluded++
		if d.Outcome == state.Failed {
			c.Failed++
		}
		c.ExcludedByReason[d.Reason]++
	}
}

// TypeCounts are the counts of one resource type in one vault.
type TypeCounts struct {
	ResourceType string `json:"resource_type"`
	Counts
}

// DestinationPlan says what happens to a source vault's destination.
type DestinationPlan struct {
	Name   string            `json:"name"`
	Action DestinationAction `json:"action"`
	// Settings are what a created vault would get (replicate.Vaults
	// applies them; docs/vault-replication.md).
	Settings DestinationSettings `json:"settings"`
	Drift    []string            `json:"drift,omitempty"`
	Reason   string              `json:"reason,omitempty"`
	// LockNeedsConfirmation is set when the vault to create gets a
	// compliance lock: the run needs --confirm-compliance-lock, or the
	// mapping compliance_lock = true, or the vault is not created.
	LockNeedsConfirmation bool `json:"lock_needs_confirmation,omitempty"`
	// AccessPolicyMissing is set when the existing destination vault's
	// access policy does not allow the source account
	// backup:CopyIntoBackupVault (copies would fail with AccessDenied).
	AccessPolicyMissing bool `json:"access_policy_missing,omitempty"`
	// ComplianceBlocked is set when the vault to create would fail a
	// blocking rule of the compliance policy: it is not created and its
	// recovery points wait (Blocking says which rules).
	ComplianceBlocked bool `json:"compliance_blocked,omitempty"`
	// Blocking are the problems that stop the vault from being created,
	// or copies into it, each with its fix.
	Blocking []string `json:"blocking,omitempty"`
	// Notes are settings that are not replicated, and why.
	Notes []string `json:"notes,omitempty"`
}

// DestinationAction is what replication would do to a destination
// vault, as the plan report shows it.
type DestinationAction string

// The DestinationPlan actions.
const (
	DestinationCreate DestinationAction = "create" // it does not exist: replication creates it
	DestinationExists DestinationAction = "exists" // it exists and matches its source
	DestinationDrift  DestinationAction = "drift"  // it exists and differs from its source
	DestinationSkip   DestinationAction = "skip"   // the vault mapping skips the source vault
)

// DestinationSettings describe a destination vault.
type DestinationSettings struct {
	VaultType string `json:"vault_type"`
	// EncryptionKey is the destination key as the vault mapping named
	// it (alias/NAME, an alias ARN or a key ARN), and EncryptionKeyArn
	// the key ARN KMS resolved it to ("" when it did not resolve).
	EncryptionKey    string            `json:"encryption_key,omitempty"`
	EncryptionKeyArn string            `json:"encryption_key_arn,omitempty"`
	LockMode         string            `json:"lock_mode"` // none, governance, compliance
	MinRetentionDays *int64            `json:"min_retention_days,omitempty"`
	MaxRetentionDays *int64            `json:"max_retention_days,omitempty"`
	SNSTopicArn      string            `json:"sns_topic_arn,omitempty"`
	Events           []string          `json:"events,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	// Lock describes the lock in words: its mode, its retention bounds
	// and how it is applied (e.g. "air-gapped: compliance lock with
	// retention 90-3650 days, set at creation").
	Lock string `json:"lock,omitempty"`
}

// VaultReport is one source vault in a plan.
type VaultReport struct {
	Name string `json:"name"`
	Counts
	ByType      []TypeCounts    `json:"by_type"`
	Destination DestinationPlan `json:"destination"`
}

// ConflictWarning is a resource with disagreeing metadata rows.
type ConflictWarning struct {
	ResourceArn string   `json:"resource_arn"`
	Field       string   `json:"field"`
	Values      []string `json:"values"`
	Lines       []int    `json:"lines"`
}

// Warnings are problems the operator should look at before copying.
type Warnings struct {
	RPsWithoutMetadata       int64             `json:"rps_without_metadata"`
	ResourcesWithoutMetadata []string          `json:"resources_without_metadata"` // up to 20, sorted
	Conflicts                []ConflictWarning `json:"conflicts"`
	MetadataRowsWithoutRPs   int               `json:"metadata_rows_without_rps"`
}

// Plan is the report of `shuffle plan`.
type Plan struct {
	Schema      string    `json:"schema"`
	GeneratedAt time.Time `json:"generated_at"`
	Script      string    `json:"script"`
	PolicyHash  string    `json:"policy_hash"`
	// Inventory is what this command's inventory pass did (listed_pages
	// is 0 when a finished inventory was resumed).
	Inventory inventory.Summary `json:"inventory"`
	Totals    Counts            `json:"totals"`
	Vaults    []VaultReport     `json:"vaults"`
	Warnings  Warnings          `json:"warnings"`
}

// Aggregate accumulates the per-vault and per-type counts of a plan. The
// decide pass fills one as it visits every RP, so that the plan report
// needs no scan of its own.
type Aggregate struct {
	totals    Counts
	vaults    map[string]*VaultReport
	types     map[string]map[string]*TypeCounts
	noMeta    map[string]bool
	used      map[string]bool
	rpsNoMeta int64
	// pending are the RPs included and not queued or copied yet, with
	// their bytes, by vault: what a copy preview counts.
	pending map[string]*[2]int64
}

// NewAggregate makes an empty aggregate.
func NewAggregate() *Aggregate {
	return &Aggregate{totals: newCounts(), vaults: map[string]*VaultReport{}, types: map[string]map[string]*TypeCounts{},
		noMeta: map[string]bool{}, used: map[string]bool{}, pending: map[string]*[2]int64{}}
}

// Add counts one RP with its current decision.
func (a *Aggregate) Add(rp *state.RP) {
	setKey(a.used, rp.ResourceArn)
	if rp.Copy == state.CopyPending && rp.Decision != nil && rp.Decision.Outcome == state.Included {
		p := a.pending[rp.Vault]
		if p == nil {
			p = &[2]int64{}
			a.pending[rp.Vault] = p
		}
		p[0]++
		p[1] += rp.Size
	}
	if rp.Gone {
		return
	}
	v := a.vaults[rp.Vault]
	if v == nil {
		v = &VaultReport{Name: rp.Vault, Counts: newCounts()}
		a.vaults[rp.Vault] = v
		a.types[rp.Vault] = map[string]*TypeCounts{}
	}
	tc := a.types[rp.Vault][rp.ResourceType]
	if tc == nil {
		tc = &TypeCounts{ResourceType: rp.ResourceType, Counts: newCounts()}
		a.types[rp.Vault][rp.ResourceType] = tc
	}
	a.totals.add(rp)
	v.Counts.add(rp)
	tc.Counts.add(rp)
	if rp.Enriched && rp.Meta == nil {
		a.rpsNoMeta++
		setKey(a.noMeta, rp.ResourceArn)
	}
}

// setKey sets m[k], keeping a copy of k when it is new. An RP's strings
// may be slices of one larger string (the listing decoder gives each RP
// one string for all its fields), which a map key would otherwise keep
// alive for the whole run.
func setKey(m map[string]bool, k string) {
	if !m[k] {
		m[strings.Clone(k)] = true
	}
}

func (c *Counts) merge(o Counts) {
	c.RecoveryPoints += o.RecoveryPoints
	c.Bytes += o.Bytes
	c.Included += o.Included
	c.IncludedBytes += o.IncludedBytes
	c.Excluded += o.Excluded
	c.Ineligible += o.Ineligible
	c.Failed += o.Failed
	c.Undecided += o.Undecided
	for k, v := range o.ExcludedByReason {
		c.ExcludedByReason[k] += v
	}
	for k, v := range o.IneligibleByReason {
		c.IneligibleByReason[k] += v
	}
}

// Merge adds b's counts into a.
func (a *Aggregate) Merge(b *Aggregate) {
	a.totals.merge(b.totals)
	for name, bv := range b.vaults {
		v := a.vaults[name]
		if v == nil {
			v = &VaultReport{Name: name, Counts: newCounts()}
			a.vaults[name] = v
			a.types[name] = map[string]*TypeCounts{}
		}
		v.Counts.merge(bv.Counts)
		for t, btc := range b.types[name] {
			tc := a.types[name][t]
			if tc == nil {
				tc = &TypeCounts{ResourceType: t, Counts: newCounts()}
				a.types[name][t] = tc
			}
			tc.Counts.merge(btc.Counts)
		}
	}
	for k := range b.noMeta {
		a.noMeta[k] = true
	}
	for k := range b.used {
		a.used[k] = true
	}
	for k, bp := range b.pending {
		p := a.pending[k]
		if p == nil {
			p = &[2]int64{}
			a.pending[k] = p
		}
		p[0] += bp[0]
		p[1] += bp[1]
	}
	a.rpsNoMeta += b.rpsNoMeta
}

// Pending returns the included RPs not queued or copied yet, as count and
// bytes by vault (Copier.Pending).
func (a *Aggregate) Pending() map[string]*[2]int64 { return a.pending }

// BuildPlan aggregates the state into a plan with one scan.
func BuildPlan(ctx context.Context, st *state.Store, plans map[string]*VaultPlan, dest func(*VaultPlan) DestinationPlan, table *metadata.Table, now time.Time) (*Plan, error) {
	a := NewAggregate()
	if err := st.ScanRPs(func(rp *state.RP) error { a.Add(rp); return nil }); err != nil {
		return nil, err
	}
	return a.Plan(ctx, plans, dest, table, now)
}

// Plan turns the aggregate into the report; dest says what happens to
// each vault's destination.
func (a *Aggregate) Plan(ctx context.Context, plans map[string]*VaultPlan, dest func(*VaultPlan) DestinationPlan, table *metadata.Table, now time.Time) (*Plan, error) {
	p := &Plan{Schema: PlanSchema, GeneratedAt: now.UTC(), Totals: a.totals}
	p.Warnings.RPsWithoutMetadata = a.rpsNoMeta
	vaults, types, noMeta, used := map[string]*VaultReport{}, a.types, a.noMeta, a.used
	for name, v := range a.vaults {
		c := *v
		vaults[name] = &c
	}
	for name, vp := range plans {
		v := vaults[name]
		if v == nil {
			v = &VaultReport{Name: name, Counts: newCounts()}
			vaults[name] = v
		}
		v.Destination = dest(vp)
	}
	for name, v := range vaults {
		for _, tc := range types[name] {
			v.ByType = append(v.ByType, *tc)
		}
		sort.Slice(v.ByType, func(i, j int) bool { return v.ByType[i].ResourceType < v.ByType[j].ResourceType })
		if v.ByType == nil {
			v.ByType = []TypeCounts{}
		}
		p.Vaults = append(p.Vaults, *v)
	}
	sort.Slice(p.Vaults, func(i, j int) bool { return p.Vaults[i].Name < p.Vaults[j].Name })
	for arn := range noMeta {
		p.Warnings.ResourcesWithoutMetadata = append(p.Warnings.ResourcesWithoutMetadata, arn)
	}
	sort.Strings(p.Warnings.ResourcesWithoutMetadata)
	if len(p.Warnings.ResourcesWithoutMetadata) > 20 {
		p.Warnings.ResourcesWithoutMetadata = p.Warnings.ResourcesWithoutMetadata[:20]
	}
	if p.Warnings.ResourcesWithoutMetadata == nil {
		p.Warnings.ResourcesWithoutMetadata = []string{}
	}
	p.Warnings.Conflicts = []ConflictWarning{}
	if table != nil {
		for _, c := range table.Conflicts {
			p.Warnings.Conflicts = append(p.Warnings.Conflicts, ConflictWarning{ResourceArn: c.ResourceArn, Field: c.Field, Values: c.Values, Lines: c.Lines})
		}
		for e := range table.All() {
			if !used[e.ResourceArn] {
				p.Warnings.MetadataRowsWithoutRPs++
			}
		}
	}
	return p, ctx.Err()
}
