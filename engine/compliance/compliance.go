// Package compliance judges every vault of both accounts against the
// security team's compliance policy (policies/compliance.lua, run
// through luabind), and the destination vaults a run would create as
// they would be created (JudgeProposed), and turns the destination
// vaults that fail it into pre-flight findings.
//
// It only reads: it must not change a vault, decide recovery points,
// or know how replication would fix a vault. Source vaults are judged
// for comparison and never block.
package compliance

import (
	"context"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// VaultReader is the narrow, read-only AWS Backup API that judging every
// vault of an account needs (the *backup.Client satisfies it).
type VaultReader interface {
	ListBackupVaults(ctx context.Context, in *backup.ListBackupVaultsInput, opts ...func(*backup.Options)) (*backup.ListBackupVaultsOutput, error)
	inventory.SettingsReader
}

var _ VaultReader = (*backup.Client)(nil)

// accessSummary works out what an access policy's Allow statements
// grant, in the form the compliance policy reads.
func accessSummary(doc string) luabind.AccessSummary {
	return luabind.AccessSummary(vaultpolicy.Summarize(doc))
}

// Report is how every vault of both accounts fares against the
// compliance policy.
type Report struct {
	Module string `json:"module"` // e.g. policies/compliance.lua
	// PolicyHash identifies the revision of the policies directory.
	PolicyHash string  `json:"policy_hash"`
	Vaults     []Vault `json:"vaults"`

	// What Evaluate read, for judging the proposed vaults (Propose).
	sources []*state.Vault
	dests   map[string]*state.Vault // nil value: listed, not read
}

// SourceVaults are the source vaults Evaluate read.
func (r *Report) SourceVaults() []*state.Vault { return r.sources }

// DestinationVault is the destination vault named name as Evaluate read
// it; exists is false when it was not listed (a vault listed but not
// read gives nil, true).
func (r *Report) DestinationVault(name string) (v *state.Vault, exists bool) {
	v, exists = r.dests[name]
	return v, exists
}

// Vault is one vault's results.
type Vault struct {
	Account finding.Side               `json:"account"`
	Name    string                     `json:"name"`
	Arn     string                     `json:"arn,omitempty"`
	Pass    bool                       `json:"pass"`            // every rule passed
	Error   string                     `json:"error,omitempty"` // the vault could not be read or judged
	Results []luabind.ComplianceResult `json:"results"`
	// Proposed: the vault does not exist; it is judged as shuffle would
	// create it from SourceVault, and OnFailure says what a blocking
	// failure does (hold its recovery points, or stop the run).
	Proposed    bool                    `json:"proposed,omitempty"`
	SourceVault string                  `json:"source_vault,omitempty"`
	OnFailure   luabind.ProposedFailure `json:"on_failure,omitempty"`
	// Reconcile: a proposed vault that exists, judged as reconcile =
	// true would leave it.
	Reconcile bool `json:"reconcile,omitempty"`
}

// Blocking reports whether v has a failure that blocks: a blocking rule
// failed on a destination vault, or a destination vault could not be
// judged. Source vaults are shown for comparison and never block.
func (v Vault) Blocking() bool {
	if v.Account != finding.SideDestination {
		return false
	}
	if v.Error != "" {
		return true
	}
	for _, r := range v.Results {
		if !r.Pass && r.Severity == luabind.ComplianceBlocking {
			return true
		}
	}
	return false
}

// Evaluate reads every vault of both accounts and runs the
// compliance policy's check on each. It only reads. An account whose
// vaults cannot be listed gives an error entry, not a failed call.
func Evaluate(ctx context.Context, cfg scriptconfig.Config, pol *luabind.Policies, source, destination VaultReader, now time.Time) (*Report, error) {
	w, err := pol.NewWorker()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	pc := pol.Config()
	r := &Report{Module: pc.Dir + "/" + pc.Compliance + ".lua", PolicyHash: pol.Hash, dests: map[string]*state.Vault{}}
	for _, acct := range []account{{finding.SideSource, state.Source, cfg.Source.Account, source}, {finding.SideDestination, state.Destination, cfg.Destination.Account, destination}} {
		names, lerr := vaultNames(ctx, acct.api)
		if lerr != nil {
			r.Vaults = append(r.Vaults, Vault{Account: acct.side, Name: "*", Error: "ListBackupVaults: " + finding.ErrorText(lerr)})
		}
		for _, name := range names {
			vc, v, ok := judge(ctx, w, acct, name, cfg, now)
			switch {
			case v != nil && acct.side == finding.SideSource:
				r.sources = append(r.sources, v)
			case acct.side == finding.SideDestination:
				r.dests[name] = v
			}
			if !ok {
				continue // deleted since it was listed
			}
			vc.Pass = vc.Error == ""
			for _, res := range vc.Results {
				vc.Pass = vc.Pass && res.Pass
			}
			r.Vaults = append(r.Vaults, vc)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	return r, nil
}

// account is one side Evaluate judges.
type account struct {
	side  finding.Side
	sside state.Side
	id    string
	api   VaultReader
}

// vaultNames lists an account's vault names, sorted; none when the
// listing fails.
func vaultNames(ctx context.Context, api VaultReader) ([]string, error) {
	var names []string
	p := backup.NewListBackupVaultsPaginator(api, &backup.ListBackupVaultsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range out.BackupVaultList {
			names = append(names, aws.ToString(v.BackupVaultName))
		}
	}
	sort.Strings(names)
	return names, nil
}

// judge reads one vault and runs the compliance check on it; ok is
// false when the vault no longer exists.
func judge(ctx context.Context, w *luabind.Worker, acct account, name string, cfg scriptconfig.Config, now time.Time) (vc Vault, v *state.Vault, ok bool) {
	vc = Vault{Account: acct.side, Name: name}
	v, _, err := inventory.DescribeVault(ctx, acct.api, acct.sside, name, now)
	switch {
	case err != nil:
		vc.Error = "cannot read the vault: " + finding.ErrorText(err)
	case v == nil:
		return vc, nil, false
	default:
		vc.Arn = v.Arn
		vc.Results, err = w.Compliance(ctx, &luabind.ComplianceVault{
			Account: string(acct.side), AccountID: acct.id, Name: v.Name, Arn: v.Arn, VaultType: v.VaultType,
			EncryptionKeyArn: v.EncryptionKeyArn, EncryptionKeyType: v.EncryptionKeyType,
			Locked: v.Locked, LockMode: luabind.LockMode(v.Locked, v.LockDate, v.VaultType),
			MinRetentionDays: v.MinRetentionDays, MaxRetentionDays: v.MaxRetentionDays, LockDate: v.LockDate,
			Tags: v.Tags, SNSTopicArn: v.SNSTopicArn, Events: v.Events, AccessPolicy: v.AccessPolicy,
			Access:          accessSummary(v.AccessPolicy),
			SourceAccountID: cfg.Source.Account, DestinationAccountID: cfg.Destination.Account,
		})
		if err != nil {
			vc.Error = err.Error()
		}
	}
	return vc, v, true
}
