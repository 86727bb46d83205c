package engine

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/compliance"
	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/preflight"
	"github.com/shuffle-migrate/shuffle/engine/profiles"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// The pre-flight checks themselves are in engine/preflight; Check
// builds their AWS clients, adds the compliance evaluation and sorts
// the findings into one report.

// CheckReport is what Check found.
type CheckReport struct {
	Schema   string            `json:"schema"`
	Findings []finding.Finding `json:"findings"`
	// Compliance is set when a compliance policy was evaluated.
	Compliance *compliance.Report `json:"compliance,omitempty"`
}

// CheckSchema names the JSON form of a CheckReport.
const CheckSchema = "shuffle.check/v1"

// Blocking reports whether any finding blocks a run.
func (r *CheckReport) Blocking() bool {
	for _, f := range r.Findings {
		if f.Severity == finding.Blocking {
			return true
		}
	}
	return false
}

// CheckInput is what Check needs: the script's configuration and the
// AWS configuration of each account.
type CheckInput struct {
	Config              scriptconfig.Config
	Source, Destination aws.Config
	// SkipEncryption skips listing the source recovery points to count
	// those on AWS-managed keys (one full listing of the source).
	SkipEncryption bool
	// StateKeys, with FromState, are the included recovery points of
	// the state (IncludedKeys): the shared-key check reads their keys.
	// Without a state it reads the keys of the source RPs it lists.
	StateKeys []preflight.RPKey
	FromState bool
	// Compliance, when set, is the policy set whose compliance module
	// judges every vault of both accounts.
	Compliance *luabind.Policies
	Now        func() time.Time // nil: time.Now
	// SourceCredentials and DestinationCredentials, when set, describe
	// each side's credentials after the checks used them (kind, chain,
	// expiry), for findings of their own.
	SourceCredentials, DestinationCredentials func() awsclient.ProfileInfo
	// Sides, when set, says where each side's profile and region came
	// from (flags, script, environment, the profile's region).
	Sides *profiles.Sides
}

// Check runs the pre-flight checks for both accounts. It only reads.
// An account whose endpoint cannot be reached (refused, timed out, a
// host name that does not resolve) is an error, a
// *preflight.UnreachableError, not a finding.
func Check(ctx context.Context, in CheckInput) (*CheckReport, error) {
	r := &CheckReport{Schema: CheckSchema}
	var usable bool
	var err error
	r.Findings, usable, err = preflight.Run(ctx, preflight.Input{
		Config: in.Config, Source: preflightClients(in.Source), Destination: preflightClients(in.Destination),
		SkipEncryption: in.SkipEncryption, KeyRule: keyRule{}, StateKeys: in.StateKeys, FromState: in.FromState,
	})
	if err != nil {
		return nil, err
	}
	add := func(f finding.Finding) { r.Findings = append(r.Findings, f) }
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	if in.Sides != nil {
		for _, sd := range []struct {
			side finding.Side
			s    profiles.Side
		}{{finding.SideSource, in.Sides.Source}, {finding.SideDestination, in.Sides.Destination}} {
			add(finding.New(finding.Info, sd.side, "profile", "", fmt.Sprintf("profile %q (from %s), region %s (from %s)",
				sd.s.Profile, sd.s.ProfileFrom, sd.s.Region, sd.s.RegionFrom), "", ""))
		}
	}
	if in.SourceCredentials != nil {
		r.Findings = append(r.Findings, preflight.CredentialFindings(finding.SideSource, in.SourceCredentials(), now())...)
	}
	if in.DestinationCredentials != nil {
		r.Findings = append(r.Findings, preflight.CredentialFindings(finding.SideDestination, in.DestinationCredentials(), now())...)
	}
	if in.Compliance != nil && in.Compliance.HasCompliance() && usable {
		cr, err := compliance.Evaluate(ctx, in.Config, in.Compliance, backup.NewFromConfig(in.Source), backup.NewFromConfig(in.Destination), now())
		if err != nil {
			add(finding.New(finding.Blocking, finding.SideDestination, "compliance", "", "the compliance policy could not be evaluated: "+err.Error(),
				"the destination vaults' compliance is unknown", "fix the compliance module and run check again"))
		} else {
			r.Compliance = cr
			if err := proposeForCheck(ctx, in, cr, now); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				add(finding.New(finding.Blocking, finding.SideDestination, "compliance", "", "the destination vaults shuffle would create could not be judged: "+err.Error(),
					"whether they would comply with the policy is unknown", "fix the cause (the vaults or compliance policy, or KMS access) and run check again"))
			}
			cr.Findings(add)
		}
	}
	sort.SliceStable(r.Findings, func(i, j int) bool { return r.Findings[i].Severity.Rank() < r.Findings[j].Severity.Rank() })
	return r, nil
}

// preflightClients builds the SDK clients the pre-flight checks read
// one account through.
func preflightClients(cfg aws.Config) preflight.Clients {
	ic := iam.NewFromConfig(cfg)
	return preflight.Clients{Identity: sts.NewFromConfig(cfg), Simulator: ic, Roles: ic, Backup: backup.NewFromConfig(cfg), KMS: kms.NewFromConfig(cfg)}
}

// keyRule is plan's aws-managed-key rule for the pre-flight key checks.
type keyRule struct{}

func (keyRule) KeyMatters(typ string) bool {
	return !plan.FullyManagedTypes[typ] && !plan.NotCopyableTypes[typ]
}

func (keyRule) NeedsManager(r preflight.RPKey) bool { return plan.NeedsKeyManager(rpOf(r)) }

func (keyRule) Refuses(r preflight.RPKey, a kmskeys.Answer) bool {
	_, bad := plan.RefusesKey(rpOf(r), oneKey(a))
	return bad
}

func rpOf(r preflight.RPKey) *state.RP {
	return &state.RP{Vault: r.Vault, ResourceType: r.ResourceType, EncryptionKeyArn: r.KeyArn, EncryptionKeyType: r.KeyType, IsEncrypted: r.Encrypted}
}

// oneKey answers a for every key.
type oneKey kmskeys.Answer

func (o oneKey) KeyManager(string) kmskeys.Answer { return kmskeys.Answer(o) }

// IncludedKeys are the keys of the state's included recovery points,
// for the shared-key check.
func IncludedKeys(st *state.Store) ([]preflight.RPKey, error) {
	var out []preflight.RPKey
	err := st.ScanRPs(func(rp *state.RP) error {
		if rp.Gone || rp.Decision == nil || rp.Decision.Outcome != state.Included {
			return nil
		}
		if rp.IsEncrypted && (keyRule{}).KeyMatters(rp.ResourceType) {
			out = append(out, preflight.RPKey{Vault: rp.Vault, ResourceType: rp.ResourceType, KeyArn: rp.EncryptionKeyArn, KeyType: rp.EncryptionKeyType, Encrypted: true})
		}
		return nil
	})
	return out, err
}

// proposeForCheck judges the destination vaults a run would create, as
// it would create them (proposed.go), from the vaults Evaluate read:
// the vault mapping of each source vault whose destination does not
// exist, its key resolved through KMS, its access policy translated.
// The judgements are added to the report as proposed vaults.
func proposeForCheck(ctx context.Context, in CheckInput, cr *compliance.Report, now func() time.Time) error {
	w, err := in.Compliance.NewWorker()
	if err != nil {
		return err
	}
	defer w.Close()
	src, dst := kms.NewFromConfig(in.Source), kms.NewFromConfig(in.Destination)
	as, aliasErr := kmskeys.ListAliases(ctx, src)
	aliases := kmskeys.ByKey(as)
	plans := map[string]*plan.VaultPlan{}
	for _, v := range cr.SourceVaults() {
		vp, err := plan.MapSourceVault(ctx, w, v, aliases)
		if err != nil {
			return err
		}
		if d, exists := cr.DestinationVault(vp.Mapping.Name); exists {
			if d == nil || !vp.Mapping.Reconcile {
				continue // judged as it is
			}
			vp.Dest = d // judged as reconciling it would leave it, too
		}
		plans[v.Name] = vp
	}
	if err := replicate.ResolveKeys(ctx, plans, kmskeys.NewResolver(dst), in.Config.Destination.Account, aliasErr); err != nil {
		return err
	}
	proposed, err := proposeVaults(ctx, in.Compliance, plans, replicate.Options{
		SourceAccount: in.Config.Source.Account, DestinationAccount: in.Config.Destination.Account, Region: in.Config.Source.Region, Now: now,
	})
	cr.Vaults = append(cr.Vaults, proposed...)
	return err
}
