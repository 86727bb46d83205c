package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// Plan builds the plan report from the state. The aggregate is cached
// with the epochs and inputs it was built from, so an unchanged state
// reports without a scan.
func (s *Session) Plan(ctx context.Context, script string) (*plan.Plan, error) {
	plans, err := s.mapVaults(ctx)
	if err != nil {
		return nil, err
	}
	type cache struct {
		Key    string       `json:"key"`
		Epochs state.Epochs `json:"epochs"`
		Plan   *plan.Plan   `json:"plan"`
	}
	revs := make(map[string]string, len(plans))
	for name, vp := range plans {
		revs[name] = plan.Revision(s.Policies.Hash, vp) + destinationKey(vp)
	}
	key := plan.RevisionsKey(revs) + s.csvHash
	ep, err := s.Store.Epochs()
	if err != nil {
		return nil, err
	}
	var c cache
	var p *plan.Plan
	if ok, err := s.Store.GetCache("plan", &c); err != nil {
		return nil, err
	} else if ok && c.Key == key && c.Epochs == ep && c.Plan != nil {
		p = c.Plan
	} else {
		if s.agg != nil && s.aggEpochs == ep {
			// The decide pass just counted everything: no scan needed.
			p, err = s.agg.Plan(ctx, plans, replicate.PlanDestination, s.Table, s.Now())
		} else {
			p, err = plan.BuildPlan(ctx, s.Store, plans, replicate.PlanDestination, s.Table, s.Now())
		}
		if err != nil {
			return nil, err
		}
		if err := s.Store.PutCache("plan", cache{Key: key, Epochs: ep, Plan: p}); err != nil {
			return nil, err
		}
	}
	p.GeneratedAt = s.Now().UTC()
	p.Script, p.PolicyHash, p.Inventory = script, s.Policies.Hash, s.InventorySummary
	return p, nil
}

// mapVaults runs the vault mapping policy over the source vaults and
// resolves the destination keys it names (session_keys.go).
func (s *Session) mapVaults(ctx context.Context) (map[string]*plan.VaultPlan, error) {
	plans, err := plan.MapVaultsWith(ctx, s.Store, s.Policies, s.sourceKeyAliases(ctx))
	if err != nil {
		return nil, err
	}
	if err := s.resolveKeys(ctx, plans); err != nil {
		return nil, err
	}
	// The access translation, and the compliance policy's verdict on
	// each vault to create, as check and run's pre-flight work them out
	// (proposed.go).
	_, err = proposeVaults(ctx, s.Policies, plans, replicate.Options{
		SourceAccount: s.Config.Source.Account, DestinationAccount: s.Config.Destination.Account, Region: s.Config.Source.Region, Now: s.Now,
	})
	return plans, err
}

// destinationKey fingerprints what the plan shows of a destination vault.
func destinationKey(vp *plan.VaultPlan) string {
	var d *state.Vault
	if vp.Dest != nil {
		c := *vp.Dest
		c.ListedAt = time.Time{} // when it was listed is not what it is
		d = &c
	}
	b, _ := json.Marshal(struct {
		M luabind.VaultMapping
		D *state.Vault
		K plan.DestinationKey
		A []string
		T *plan.AccessPlan
		P *plan.ProposedVerdict
	}{vp.Mapping, d, vp.Key, vp.SourceKeyAliases, vp.Access, vp.Proposed})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}
