package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/shuffle-migrate/shuffle/engine/compliance"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// Compliance before creation (docs/vault-replication.md): before a
// destination vault is created, its source access policy is translated
// (the default rules, or vaults.lua's access_statement) and the vault,
// as replication would create it, is judged by the compliance policy.
// plan, check, run's pre-flight and the run's replication all go through
// proposeVaults, so they agree.

// proposeVaults decides each mapped vault's access translation
// (vp.Access) and judges each vault replication would create by the
// compliance policy (vp.Proposed); it returns those judgements, sorted
// by source vault. An access_statement that fails or answers something
// that is not a decision is an error naming the file, the vault and the
// statement.
func proposeVaults(ctx context.Context, pol *luabind.Policies, plans map[string]*plan.VaultPlan, opt replicate.Options) ([]compliance.Vault, error) {
	w, err := pol.NewWorker()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	var onFailure luabind.ProposedFailure
	if pol.HasCompliance() {
		if onFailure, err = w.OnProposedFailure(); err != nil {
			return nil, err
		}
	}
	module := pol.Config().Dir + "/" + pol.Config().Compliance + ".lua"
	var out []compliance.Vault
	for _, name := range slices.Sorted(maps.Keys(plans)) {
		vp := plans[name]
		if vp.Mapping.Skip {
			continue
		}
		if err := translateAccess(ctx, w, pol, vp, opt); err != nil {
			return nil, err
		}
		if !pol.HasCompliance() {
			continue
		}
		p, ok := replicate.Propose(vp, opt)
		if !ok {
			continue
		}
		v := compliance.JudgeProposed(ctx, w, &luabind.ComplianceVault{
			AccountID: opt.DestinationAccount, Name: p.Name, Arn: p.Arn, VaultType: p.VaultType,
			EncryptionKeyArn: p.EncryptionKeyArn, EncryptionKeyType: p.EncryptionKeyType,
			Locked: p.Locked, LockDate: p.LockDate, MinRetentionDays: p.MinRetentionDays, MaxRetentionDays: p.MaxRetentionDays,
			Tags: p.Tags, SNSTopicArn: p.SNSTopicArn, Events: p.Events, AccessPolicy: p.AccessPolicy,
			SourceAccountID: opt.SourceAccount, DestinationAccountID: opt.DestinationAccount, SourceVault: vp.Source.Name,
		}, onFailure)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v.Reconcile = p.Reconciled
		vp.Proposed = &plan.ProposedVerdict{Module: module, Error: v.Error, Failed: v.BlockingFailures(), OnFailure: onFailure, Reconcile: p.Reconciled}
		out = append(out, v)
	}
	return out, nil
}

// translateAccess decides vp's access translation: each statement of
// the source policy by vaults.lua's access_statement when it has one,
// else by the default rules (vaultpolicy.Translator.Default).
func translateAccess(ctx context.Context, w *luabind.Worker, pol *luabind.Policies, vp *plan.VaultPlan, opt replicate.Options) error {
	destArn := "arn:" + vaultpolicy.Partition(vp.Source.Arn) + ":backup:" + opt.Region + ":" + opt.DestinationAccount + ":backup-vault:" + vp.Mapping.Name
	if vp.Dest != nil && vp.Dest.Arn != "" {
		destArn = vp.Dest.Arn
	}
	tr := vaultpolicy.Translator{SourceAccount: opt.SourceAccount, DestinationAccount: opt.DestinationAccount, SourceVault: vp.Source.Arn, DestinationVault: destArn}
	var hook vaultpolicy.Hook
	if w.HasAccessRule() {
		file := pol.VaultsFile()
		in := plan.VaultInput(vp.Source, vp.SourceKeyAliases)
		hook = func(ctx context.Context, st vaultpolicy.Statement, d vaultpolicy.Decision) (vaultpolicy.Decision, error) {
			a, err := w.AccessStatement(ctx, &luabind.AccessInput{Vault: in, Statement: st, Translated: d.Translated, Index: d.Index + 1, Name: d.Name,
				Default: string(d.Verdict), DefaultReason: d.Why, DestinationName: vp.Mapping.Name, DestinationArn: destArn,
				SourceAccountID: opt.SourceAccount, DestinationAccountID: opt.DestinationAccount})
			if err != nil {
				return d, err
			}
			switch a.Verdict {
			case luabind.AccessDefault:
				return d, nil
			case luabind.AccessKeep:
				d.Verdict, d.Statement = vaultpolicy.Keep, d.Translated
			case luabind.AccessDrop:
				d.Verdict, d.Statement = vaultpolicy.Drop, nil
			case luabind.AccessRewrite:
				if problem := vaultpolicy.Validate(a.Statement); problem != "" {
					return d, fmt.Errorf("%s: access_statement for vault %s, statement %s returned a statement that is not a valid vault access-policy statement: %s", file, vp.Source.Name, d.Name, problem)
				}
				d.Verdict, d.Statement = vaultpolicy.Rewrite, a.Statement
			}
			d.By, d.Why = file, a.Reason
			return d, nil
		}
	}
	ds, notes, err := tr.Decide(ctx, vp.Source.AccessPolicy, hook)
	if err != nil {
		return fmt.Errorf("access translation for vault %s: %w", vp.Source.Name, err)
	}
	vp.Access = &plan.AccessPlan{Notes: notes}
	for _, st := range vaultpolicy.Written(ds) {
		vp.Access.Statements = append(vp.Access.Statements, st)
	}
	return nil
}
