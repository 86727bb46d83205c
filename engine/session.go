package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/metadata"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// Overrides are CLI flags that win over the script.
type Overrides struct {
	SourceProfile      string
	DestinationProfile string
}

// Session is one command's work on one state: it is the host the
// operator's script drives through the `shuffle` Lua module.
type Session struct {
	StateDir  string
	Overrides Overrides
	Fresh     bool // start a new inventory generation
	Now       func() time.Time
	Progress  *Progress
	// Clients, when set, replace the AWS clients built from profiles
	// (tests inject wrapped clients here).
	Clients func(cfg luabind.ScriptConfig) (src, dst AccountAPI, err error)
	// DecideWhileListing (plan): the inventory joins the metadata to and
	// decides each RP it adds or changes as it saves its page, so that
	// a cold run writes each RP once (prepareListed). Commands that may
	// stop after the inventory leave deciding to the decide step.
	DecideWhileListing bool
	// SplitAbove and PageSize tune the inventory's partitioning and page
	// size (Inventory); 0 keeps its defaults. Tests set small values to
	// partition small vaults.
	SplitAbove int64
	PageSize   int32
	// DryRun (plan): replication and copying only work out what they
	// would do; nothing is written to AWS.
	DryRun bool
	// ConfirmComplianceLock allows replication to apply compliance-mode
	// vault locks (--confirm-compliance-lock).
	ConfirmComplianceLock bool
	CopySettings          CopySettings
	APICounts             *APICounts
	// Log receives the session's notable events (steps, vaults created,
	// copy batches and failures); nil: none are logged.
	Log *slog.Logger
	// Guard, when set, reloads credentials and pauses on expiry for
	// every AWS client the session builds (docs/credentials-and-pause.md).
	Guard *awsclient.Guard

	Config   luabind.ScriptConfig
	Store    *state.Store
	Table    *metadata.Table
	Policies *luabind.Policies
	src, dst AccountAPI
	csvHash  string
	targets  map[string]CopyTarget
	// pendingVaults are the destination vaults the replicate step left
	// CREATING, for the copy step to watch.
	pendingVaults *PendingVaults
	// Replication is what the last replicate step did, by source vault.
	Replication map[string]*DestinationStatus

	enrichPending bool         // enrich counted; the join rides on the next decide
	predecided    atomic.Int64 // RPs the inventory decided as it listed them
	agg           *Aggregate   // plan counts from the last decide pass
	aggEpochs     state.Epochs
	pending       map[string]*[2]int64 // from the last decide step, as of aggEpochs
	tally         *listedTally         // what the current listing counts (prepareListed)
	listed        *listedTally         // the last listing's tally, complete: enrich and decide need no scan

	// live guards Store and copier for an attached REPL (LiveStore,
	// Requeue), which runs in another goroutine.
	live   sync.Mutex
	copier *Copier

	Inventoried, Enriched, Decided, Copied bool
	InventorySummary                       InventorySummary
	EnrichSummary                          EnrichSummary
	DecideSummary                          DecideSummary
	CopySummary                            CopySummary
}

var _ luabind.Host = (*Session)(nil)

// ConfigError is a problem with the script's configuration or the
// environment it names (profiles, accounts, regions, files).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Configure validates everything the script declared before anything is
// written: regions, the metadata CSV, the policies, the profiles and
// their accounts. Only then is the state opened.
func (s *Session) Configure(cfg luabind.ScriptConfig) error {
	if s.Store != nil {
		return errors.New("shuffle.config was already called; call it once")
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Progress == nil {
		s.Progress = NewProgress()
	}
	if s.Overrides.SourceProfile != "" {
		cfg.Source.Profile = s.Overrides.SourceProfile
	}
	if s.Overrides.DestinationProfile != "" {
		cfg.Destination.Profile = s.Overrides.DestinationProfile
	}
	if cfg.Source.Region != cfg.Destination.Region {
		return &ConfigError{fmt.Errorf("source region %s and destination region %s differ; shuffle copies within one region, so set both to the same region", cfg.Source.Region, cfg.Destination.Region)}
	}
	if cfg.Source.Account == cfg.Destination.Account {
		return &ConfigError{fmt.Errorf("source and destination are both account %s; shuffle copies between two accounts", cfg.Source.Account)}
	}
	table, csvHash, err := loadMetadata(cfg.Metadata)
	if err != nil {
		return &ConfigError{fmt.Errorf("metadata: %w", err)}
	}
	s.csvHash = csvHash
	pol, err := luabind.LoadPolicies(cfg.Policies)
	if err != nil {
		return &ConfigError{fmt.Errorf("policies: %w", err)}
	}
	if err := RequireColumns(table, pol); err != nil {
		return &ConfigError{fmt.Errorf("metadata: %w", err)}
	}
	ctx := context.Background()
	if s.APICounts == nil {
		s.APICounts = &APICounts{}
	}
	var src, dst AccountAPI
	if s.Clients != nil {
		if src, dst, err = s.Clients(cfg); err != nil {
			return err
		}
	} else {
		scfg, err := awsclient.Load(ctx, AWSOptions(), cfg.Source.Profile, cfg.Source.Region, s.Guard)
		if err != nil {
			return &ConfigError{fmt.Errorf("source: %w", err)}
		}
		dcfg, err := awsclient.Load(ctx, AWSOptions(), cfg.Destination.Profile, cfg.Destination.Region, s.Guard)
		if err != nil {
			return &ConfigError{fmt.Errorf("destination: %w", err)}
		}
		if err := awsclient.CheckAccount(ctx, scfg, cfg.Source.Profile, cfg.Source.Account); err != nil {
			return &ConfigError{fmt.Errorf("source: %w", err)}
		}
		if err := awsclient.CheckAccount(ctx, dcfg, cfg.Destination.Profile, cfg.Destination.Account); err != nil {
			return &ConfigError{fmt.Errorf("destination: %w", err)}
		}
		src, dst = backup.NewFromConfig(scfg, AWSOptions().BackupOptions), backup.NewFromConfig(dcfg, AWSOptions().BackupOptions)
	}
	st, err := state.Open(s.StateDir)
	if err != nil {
		return err
	}
	if err := st.CheckIdentity(state.Identity{SourceAccount: cfg.Source.Account, DestinationAccount: cfg.Destination.Account, Region: cfg.Source.Region}); err != nil {
		st.Close()
		return &ConfigError{err}
	}
	if s.Fresh {
		if _, err := st.NewGeneration(); err != nil {
			st.Close()
			return err
		}
	}
	s.live.Lock()
	s.Config, s.Table, s.Policies, s.Store, s.src, s.dst = cfg, table, pol, st, src, dst
	s.live.Unlock()
	s.logger().Info("configured", "source_account", cfg.Source.Account, "destination_account", cfg.Destination.Account,
		"region", cfg.Source.Region, "state_dir", s.StateDir, "fresh", s.Fresh, "dry_run", s.DryRun)
	return nil
}

// Close releases the state.
func (s *Session) Close() error {
	if s.Store == nil {
		return nil
	}
	s.live.Lock()
	defer s.live.Unlock()
	err := s.Store.Close()
	s.Store = nil
	return err
}

// LiveStore is the open state, or nil before shuffle.config opens it;
// safe to call from another goroutine (the REPL server).
func (s *Session) LiveStore() *state.Store {
	s.live.Lock()
	defer s.live.Unlock()
	return s.Store
}

// Requeue moves failed copies back to the queue: through the copy
// engine while shuffle.copy runs, so its schedule starts them without a
// restart; otherwise in the state, for the copy step to load. Safe to
// call from another goroutine.
func (s *Session) Requeue(ctx context.Context, keys []state.CopyKey) (int, error) {
	s.live.Lock()
	c, st := s.copier, s.Store
	s.live.Unlock()
	switch {
	case c != nil:
		return c.Requeue(ctx, keys)
	case st != nil:
		return StoreRequeuer{Store: st, Now: s.Now}.Requeue(ctx, keys)
	}
	return 0, errors.New("the run has not opened its state yet")
}

func (s *Session) setCopier(c *Copier) {
	s.live.Lock()
	s.copier = c
	s.live.Unlock()
}

func (s *Session) ready() error {
	if s.Store == nil {
		return errors.New("call shuffle.config{...} first")
	}
	return nil
}

// Inventory lists the source (and destination vaults) into the state.
func (s *Session) Inventory(ctx context.Context) (map[string]any, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	inv := &Inventory{Store: s.Store, Source: s.src, Destination: s.dst, Now: s.Now, Progress: s.Progress, SplitAbove: s.SplitAbove, PageSize: s.PageSize}
	s.tally, s.listed = nil, nil
	if s.DecideWhileListing {
		inv.Prepare = s.prepareListed
		inv.LiveCount = func() (int64, bool) {
			if t := s.tally; t != nil && t.complete() {
				s.listed = t
				return t.n, true
			}
			return 0, false
		}
	}
	done := s.step(PhaseInventory)
	fast0, sdk0 := AWSOptions().Listing.Pages()
	sum, err := inv.Run(ctx)
	if fast, sdk := AWSOptions().Listing.Pages(); fast+sdk > fast0+sdk0 {
		// Pages the listing decoder took, and those it left to the SDK's
		// (awsclient.FastListing); none are counted with SHUFFLE_SDK_DECODER=1.
		s.logger().Info("listing pages decoded", "fast", fast-fast0, "sdk", sdk-sdk0)
	}
	done(sum, err)
	if err != nil {
		return nil, err
	}
	s.Inventoried, s.InventorySummary = true, sum
	return toMap(sum), nil
}

// prepareListed makes the inventory join the metadata to each RP it
// lists new (or changed) and decide it with the vault's revision, as
// the decide pass would, just before the transaction that saves its
// page (never inside it: SavePageWith). A cold
// run then writes every RP once: the enrich and decide steps that follow
// find every decision current and only count. The RPs decided here are
// reported by the next decide step as decided in this run.
//
// When the state was empty, the listing also counts what the enrich and
// decide steps would (listedTally), and they skip their scans.
func (s *Session) prepareListed(ctx context.Context, empty bool) (func() (func(*state.RP, bool) error, func(), error), error) {
	w0, err := s.Policies.NewWorker()
	if err != nil {
		return nil, err
	}
	plans, err := MapVaults(ctx, s.Store, w0)
	w0.Close()
	if err != nil {
		return nil, err
	}
	revs := make(map[string]string, len(plans))
	for name, vp := range plans {
		revs[name] = revision(s.Policies.Hash, vp)
	}
	now := s.Now().UTC()
	var join *joiner // shared by the workers
	if s.Table != nil {
		join = newJoiner(s.Table)
	}
	if empty {
		s.tally = newListedTally(s.Table, now)
		s.tally.revsKey = revisionsKey(revs)
	}
	// A policy that goes over its budgets too often is left to the
	// decide step, which stops on it with the error.
	guard := &budgetGuard{}
	return func() (func(*state.RP, bool) error, func(), error) {
		w, err := s.Policies.NewWorker()
		if err != nil {
			return nil, nil, err
		}
		var lw *listedWorker
		if s.tally != nil {
			lw = s.tally.worker()
		}
		release := func() {
			w.Close()
			if lw != nil {
				lw.merge()
			}
		}
		return func(rp *state.RP, lookedUp bool) error {
			if join != nil {
				join.apply(rp)
			}
			vp := plans[rp.Vault]
			if vp == nil {
				if lw != nil {
					lw.fail()
				}
				return nil
			}
			if guard.stopped() {
				if lw != nil {
					lw.fail()
				}
				return nil
			}
			dec, stop := decideOne(ctx, w, decideJob{rp: rp, rev: revs[rp.Vault], vp: vp}, now, guard)
			if stop != nil {
				s.logger().Warn("policy over its budgets while listing; left to the decide step", "error", stop.Error())
			}
			// A decision made while the run is being interrupted may be a
			// policy call cut short: save nothing of this page.
			if err := ctx.Err(); err != nil {
				return err
			}
			if dec.Outcome == state.Failed {
				// The listing shares the machine with the emulator or AWS
				// client work and the page writes, so a policy call can
				// hit its time limit here for want of CPU alone: leave the
				// RP to the decide pass, which records a failure that is
				// the policy's own.
				if lw != nil {
					lw.fail()
				}
				return nil
			}
			rp.Decision = dec
			s.predecided.Add(1)
			if lw != nil {
				lw.add(rp, lookedUp)
			}
			return nil
		}, release, nil
	}, nil
}

// Enrich joins the metadata CSV.
func (s *Session) Enrich(ctx context.Context) (map[string]any, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	// Unchanged CSV and inventory: the last join stands. Otherwise count
	// now and let the next decide pass do the join, so that every RP is
	// written once; Finish joins if no decide follows.
	done := s.step(PhaseEnrich)
	sum, ok, err := EnrichCached(s.Store, s.csvHash)
	if err != nil {
		done(nil, err)
		return nil, err
	}
	switch {
	case ok:
	case s.listed != nil && s.Table != nil:
		// The listing joined every RP and counted as it went.
		sum = s.listed.enrichSummary()
		if err := PutEnrichCache(s.Store, s.csvHash, sum); err != nil {
			done(nil, err)
			return nil, err
		}
	default:
		if sum, err = EnrichCounts(ctx, s.Store, s.Table); err != nil {
			done(nil, err)
			return nil, err
		}
		s.enrichPending = true
	}
	done(sum, nil)
	s.Enriched, s.EnrichSummary = true, sum
	return toMap(sum), nil
}

// Decide runs the engine rules and the policies.
func (s *Session) Decide(ctx context.Context) (map[string]any, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	d := &Decider{Store: s.Store, Policies: s.Policies, Now: s.Now, Listed: s.listed}
	s.listed = nil // it counts the state as the listing left it, once
	if s.enrichPending {
		d.Table = s.Table
	}
	done := s.step(PhaseDecide)
	sum, err := d.Run(ctx)
	if err == nil {
		sum.Redecided += s.predecided.Swap(0)
	}
	done(sum, err)
	if err != nil {
		return nil, err
	}
	if s.enrichPending {
		if err := PutEnrichCache(s.Store, s.csvHash, s.EnrichSummary); err != nil {
			return nil, err
		}
		s.enrichPending = false
	}
	s.Decided, s.DecideSummary = true, sum
	s.agg, s.aggEpochs, s.pending = d.Agg, d.AggEpochs, d.Pending
	return toMap(sum), nil
}

// Finish completes work the script left half-done: a join that was
// counted but never ridden by a decide pass is written now.
func (s *Session) Finish(ctx context.Context) error {
	defer s.progress().SetPhase(PhaseDone)
	if s.Store == nil || !s.enrichPending {
		return nil
	}
	sum, err := Enrich(ctx, s.Store, s.Table, s.csvHash)
	if err != nil {
		return err
	}
	s.enrichPending, s.EnrichSummary = false, sum
	return nil
}

// Complete runs whichever of inventory, enrich and decide the script
// did not, in order (plan needs all three).
func (s *Session) Complete(ctx context.Context) error {
	if err := s.ready(); err != nil {
		return err
	}
	if !s.Inventoried {
		if _, err := s.Inventory(ctx); err != nil {
			return err
		}
	}
	if !s.Enriched {
		if _, err := s.Enrich(ctx); err != nil {
			return err
		}
	}
	if !s.Decided {
		if _, err := s.Decide(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Plan builds the plan report from the state. The aggregate is cached
// with the epochs and inputs it was built from, so an unchanged state
// reports without a scan.
func (s *Session) Plan(ctx context.Context, script string) (*Plan, error) {
	plans, err := s.mapVaults(ctx)
	if err != nil {
		return nil, err
	}
	type cache struct {
		Key    string       `json:"key"`
		Epochs state.Epochs `json:"epochs"`
		Plan   *Plan        `json:"plan"`
	}
	revs := make(map[string]string, len(plans))
	for name, vp := range plans {
		revs[name] = revision(s.Policies.Hash, vp) + destinationKey(vp)
	}
	key := revisionsKey(revs) + s.csvHash
	ep, err := s.Store.Epochs()
	if err != nil {
		return nil, err
	}
	var c cache
	var p *Plan
	if ok, err := s.Store.GetCache("plan", &c); err != nil {
		return nil, err
	} else if ok && c.Key == key && c.Epochs == ep && c.Plan != nil {
		p = c.Plan
	} else {
		if s.agg != nil && s.aggEpochs == ep {
			// The decide pass just counted everything: no scan needed.
			p, err = s.agg.Plan(ctx, plans, s.Table, s.Now())
		} else {
			p, err = BuildPlan(ctx, s.Store, plans, s.Table, s.Now())
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

// mapVaults runs the vault mapping policy over the source vaults.
func (s *Session) mapVaults(ctx context.Context) (map[string]*VaultPlan, error) {
	w, err := s.Policies.NewWorker()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	return MapVaults(ctx, s.Store, w)
}

// destinationKey fingerprints what the plan shows of a destination vault.
func destinationKey(vp *VaultPlan) string {
	var d *state.Vault
	if vp.Dest != nil {
		c := *vp.Dest
		c.ListedAt = time.Time{} // when it was listed is not what it is
		d = &c
	}
	b, _ := json.Marshal(struct {
		M luabind.VaultMapping
		D *state.Vault
	}{vp.Mapping, d})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// loadMetadata parses the CSV and fingerprints it in the same read.
func loadMetadata(path string) (*metadata.Table, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	h := sha256.New()
	t, err := metadata.Read(path, io.TeeReader(f, h))
	if err != nil {
		return nil, "", err
	}
	// Read may stop before EOF (trailing blank lines); hash the rest too.
	if _, err := io.Copy(h, f); err != nil {
		return nil, "", err
	}
	return t, hex.EncodeToString(h.Sum(nil)), nil
}

// toMap turns a summary struct into the table a script sees.
func toMap(v any) map[string]any {
	m := map[string]any{}
	switch s := v.(type) {
	case InventorySummary:
		m["vaults"], m["recovery_points"], m["partitions"], m["listed_pages"] = s.Vaults, s.RecoveryPoints, s.Partitions, s.ListedPages
		m["new"], m["changed"], m["gone"], m["resumed"] = s.New, s.Changed, s.Gone, s.Resumed
	case EnrichSummary:
		m["matched"], m["unmatched"], m["conflicts"], m["updated"] = s.Matched, s.Unmatched, s.Conflicts, s.Updated
		m["rows"], m["resources"], m["rows_without_rps"] = s.Rows, s.Resources, s.RowsWithoutRPs
	case DecideSummary:
		m["included"], m["excluded"], m["ineligible"], m["failed"] = s.Included, s.Excluded, s.Ineligible, s.Failed
		m["redecided"], m["kept"] = s.Redecided, s.Kept
	}
	return m
}
