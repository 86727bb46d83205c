package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/engine/approval"
	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/events"
	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
	"github.com/shuffle-migrate/shuffle/engine/metadata"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/preflight"
	"github.com/shuffle-migrate/shuffle/engine/progress"
	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// Overrides are CLI flags that win over the script (ResolveProfiles).
type Overrides struct {
	SourceProfile      string
	DestinationProfile string
}

// Options are a Session's settings: the command sets them before the
// script runs, and the steps only read them (Configure fills in Now and
// Progress when they are unset).
type Options struct {
	StateDir  string
	Overrides Overrides
	Fresh     bool // start a new inventory generation
	// Delta tunes how vaults already listed are listed again (delta
	// listings and reconciliation); the zero value takes the defaults.
	Delta    inventory.DeltaOptions
	Now      func() time.Time
	Progress *progress.Progress
	// Clients, when set, replace the AWS clients built from profiles
	// (tests inject wrapped clients here).
	Clients func(cfg scriptconfig.Config) (src, dst AccountAPI, err error)
	// KMSClients, when set with Clients, gives the KMS clients of both
	// accounts (nil fields: KMS cannot be asked).
	KMSClients func(cfg scriptconfig.Config) kmskeys.Accounts
	// DecideWhileListing (plan): the inventory joins the metadata to and
	// decides each RP it adds or changes before it saves its page
	// (listingDecider), so that a cold run writes each RP once. Commands
	// that may stop after the inventory leave deciding to the decide step.
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
	APICounts             *copier.APICounts
	// Log receives the session's notable events (steps, vaults created,
	// copy batches and failures); nil: none are logged.
	Log *slog.Logger
	// Events, when set, gets the session's events as they happen:
	// vaults created or blocked, the change window's end, failure
	// bursts (session_events.go); nil: none are sent.
	Events events.Sink
	// Guard, when set, reloads credentials and pauses on expiry for
	// every AWS client the session builds (docs/credentials-and-pause.md).
	Guard *awsclient.Guard
	// AWS are the options the session builds its AWS clients with; the
	// command fills them from the environment it reads once. The
	// session counts its listing pages itself, whatever AWS.Listing says.
	AWS awsclient.Options
	// State tunes the state the session opens (its page-out periods);
	// the command fills it from the environment it reads once.
	State state.Options
	// Approval is the approved plan a run follows (session_approval.go).
	Approval ApprovalOptions
	// Notice, when set, is told what the operator should know at once
	// (e.g. that the run follows another approved plan than the last).
	Notice func(msg string)
}

// Session is one command's work on one state: it is the host the
// operator's script drives through the `shuffle` Lua module. Its
// Options are set by the command; shuffle.config fills in what the
// script configured; each step records what it did, and the pipeline
// carries what one step leaves for the next.
type Session struct {
	Options

	// Set by Configure (shuffle.config).
	Config   scriptconfig.Config
	Store    *state.Store
	Table    *metadata.Table
	Policies *luabind.Policies
	src, dst AccountAPI
	// kms are both accounts' KMS clients (kmskeys.Accounts).
	kms     kmskeys.Accounts
	keys    sessionKeys // what KMS said about keys in this run (session_keys.go)
	csvHash string

	pipeline

	targets map[string]copier.Target
	// pendingVaults are the destination vaults the replicate step left
	// CREATING, for the copy step to watch.
	pendingVaults *replicate.Pending
	// Replication is what the last replicate step did, by source vault.
	Replication map[string]*replicate.DestinationStatus

	// gated: the approval gate has run (session_approval.go); approved
	// is the approved plan the copier is held to (nil: none).
	gated    bool
	approved *approval.Comparison
	// ApprovalResult is what the comparison with the approved plan
	// found (nil: the run follows none, or did not get that far).
	ApprovalResult *ApprovalResult

	// live guards Store and copier for an attached REPL (LiveStore,
	// Requeue), which runs in another goroutine.
	live   sync.Mutex
	copier *copier.Copier

	// listing counts the recovery-point pages the session's Backup
	// clients decoded (accountClients), for the inventory's log line.
	listing awsclient.ListingStats

	// What the steps did, for the command to report.
	Inventoried, Enriched, Decided, Copied bool
	InventorySummary                       inventory.Summary
	EnrichSummary                          plan.EnrichSummary
	DecideSummary                          plan.DecideSummary
	CopySummary                            copier.Summary
}

// pipeline is what the inventory, enrich and decide steps leave for the
// steps after them, so that a step the state already answers needs no
// scan.
type pipeline struct {
	enrichPending bool         // enrich counted; the join rides on the next decide
	predecided    atomic.Int64 // RPs the inventory decided as it listed them
	// listed is the last listing's tally, complete: the enrich and
	// decide steps that follow it need no scan.
	listed    *plan.ListedTally
	agg       *plan.Aggregate // plan counts from the last decide pass
	aggEpochs state.Epochs
	pending   map[string]*[2]int64 // from the last decide step, as of aggEpochs
	describer *kmskeys.Describer   // the command's source-key answers (keyDescriber)
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
func (s *Session) Configure(cfg scriptconfig.Config) error {
	if s.Store != nil {
		return errors.New("shuffle.config was already called; call it once")
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Progress == nil {
		s.Progress = progress.New()
	}
	cfg, _, err := ResolveProfiles(cfg, s.Overrides, s.AWS)
	if err != nil {
		return err
	}
	if err := checkAccounts(cfg); err != nil {
		return err
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
	if err := plan.RequireColumns(table, pol); err != nil {
		return &ConfigError{fmt.Errorf("metadata: %w", err)}
	}
	if s.APICounts == nil {
		s.APICounts = &copier.APICounts{}
	}
	src, dst, kc, err := s.accountClients(context.Background(), cfg)
	if err != nil {
		return err
	}
	st, err := s.openState(cfg)
	if err != nil {
		return err
	}
	s.live.Lock()
	s.Config, s.Table, s.Policies, s.Store, s.src, s.dst, s.kms = cfg, table, pol, st, src, dst, kc
	s.live.Unlock()
	s.logger().Info("configured", "source_account", cfg.Source.Account, "destination_account", cfg.Destination.Account,
		"region", cfg.Source.Region, "state_dir", s.StateDir, "fresh", s.Fresh, "dry_run", s.DryRun)
	s.emitStarted(cfg)
	return nil
}

// checkAccounts checks that the script copies within one region
// between two accounts.
func checkAccounts(cfg scriptconfig.Config) error {
	if cfg.Source.Region != cfg.Destination.Region {
		return &ConfigError{fmt.Errorf("source region %s and destination region %s differ; shuffle copies within one region, so set both to the same region", cfg.Source.Region, cfg.Destination.Region)}
	}
	if cfg.Source.Account == cfg.Destination.Account {
		return &ConfigError{fmt.Errorf("source and destination are both account %s; shuffle copies between two accounts", cfg.Source.Account)}
	}
	return nil
}

// accountClients builds the AWS Backup and KMS clients of both
// accounts from their profiles, checking that each profile is the
// account the script names (or takes them from Options.Clients and
// Options.KMSClients).
func (s *Session) accountClients(ctx context.Context, cfg scriptconfig.Config) (src, dst AccountAPI, kc kmskeys.Accounts, err error) {
	if s.Clients != nil {
		if s.KMSClients != nil {
			kc = s.KMSClients(cfg)
		}
		src, dst, err = s.Clients(cfg)
		return src, dst, kc, err
	}
	opts := s.AWS
	opts.Listing = &s.listing
	scfg, err := awsclient.Load(ctx, opts, cfg.Source.Profile, cfg.Source.Region, s.Guard)
	if err != nil {
		return nil, nil, kc, &ConfigError{fmt.Errorf("source: %w", err)}
	}
	dcfg, err := awsclient.Load(ctx, opts, cfg.Destination.Profile, cfg.Destination.Region, s.Guard)
	if err != nil {
		return nil, nil, kc, &ConfigError{fmt.Errorf("destination: %w", err)}
	}
	if err := awsclient.CheckAccount(ctx, scfg, opts.ProfileName(cfg.Source.Profile), cfg.Source.Account); err != nil {
		return nil, nil, kc, accountError(finding.SideSource, opts.ProfileName(cfg.Source.Profile), err)
	}
	if err := awsclient.CheckAccount(ctx, dcfg, cfg.Destination.Profile, cfg.Destination.Account); err != nil {
		return nil, nil, kc, accountError(finding.SideDestination, cfg.Destination.Profile, err)
	}
	kc = kmskeys.Accounts{Source: kms.NewFromConfig(scfg), Destination: kms.NewFromConfig(dcfg)}
	return backup.NewFromConfig(scfg, opts.BackupOptions), backup.NewFromConfig(dcfg, opts.BackupOptions), kc, nil
}

// accountError is what a failed account check (CheckAccount) is: a
// *ConfigError (exit 2) when the profile is another account than the
// script says; when the call itself failed (the endpoint unreachable,
// AWS or the credentials refusing it), a run-time error (exit 1), since
// nothing in the script or its flags is wrong.
func accountError(side finding.Side, profile string, err error) error {
	if ue := preflight.Unreachable(side, profile, err); ue != nil {
		return ue
	}
	var oe *smithy.OperationError
	var ce *awsclient.CredentialsError
	if errors.As(err, &oe) || errors.As(err, &ce) {
		return fmt.Errorf("%s: %w", side, err)
	}
	return &ConfigError{fmt.Errorf("%s: %w", side, err)}
}

// openState opens the state directory, checks it belongs to the
// script's accounts and region, and starts a new generation for Fresh.
func (s *Session) openState(cfg scriptconfig.Config) (*state.Store, error) {
	st, err := state.OpenWith(s.StateDir, s.State)
	if err != nil {
		return nil, err
	}
	if err := st.CheckIdentity(state.Identity{SourceAccount: cfg.Source.Account, DestinationAccount: cfg.Destination.Account, Region: cfg.Source.Region}); err != nil {
		st.Close()
		return nil, &ConfigError{err}
	}
	if s.Fresh {
		if _, err := st.NewGeneration(); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
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
		return query.StoreRequeuer{Store: st, Now: s.Now}.Requeue(ctx, keys)
	}
	return 0, errors.New("the run has not opened its state yet")
}

func (s *Session) setCopier(c *copier.Copier) {
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
