package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// Side names an account of the migration.
type Side string

const (
	SideSource      Side = "source"
	SideDestination Side = "destination"
)

// Resource kinds of an Action: how its resource ARN is built.
const (
	ResAny      = "any"       // "*": the action has no resource, or its resources vary by type
	ResVault    = "vault"     // arn:aws:backup:REGION:ACCT:backup-vault:*
	ResCopyRole = "copy-role" // the script's copy_role
	ResKMSKey   = "kms-key"   // arn:aws:kms:REGION:ACCT:key/*: the keys vaults.lua maps destination vaults to
)

// Action is one IAM action shuffle needs in one account. The list below
// is the single source of truth: `shuffle check` simulates it and
// `shuffle iam-policy` prints it.
type Action struct {
	Side     Side
	Name     string // e.g. backup:StartCopyJob
	Resource string // ResAny, ResVault or ResCopyRole
	// Condition is the IAM condition the grant needs (StringEquals key → value).
	Condition map[string]string
	Why       string // what shuffle calls it for
}

// Actions is every IAM action shuffle calls, by account.
var Actions = []Action{
	// Source account: inventory, copying, pre-flight.
	{SideSource, "backup:ListBackupVaults", ResAny, nil, "inventory lists the source vaults"},
	{SideSource, "backup:DescribeBackupVault", ResVault, nil, "inventory reads each source vault's settings and lock"},
	{SideSource, "backup:GetBackupVaultAccessPolicy", ResVault, nil, "inventory reads the access policy replication translates"},
	{SideSource, "backup:GetBackupVaultNotifications", ResVault, nil, "inventory reads the notifications replication copies"},
	{SideSource, "backup:ListTags", ResAny, nil, "inventory reads vault tags"},
	{SideSource, "backup:ListRecoveryPointsByBackupVault", ResVault, nil, "inventory lists the recovery points"},
	{SideSource, "backup:StartCopyJob", ResAny, nil, "copying starts one copy job per recovery point (recovery point ARNs vary by resource type)"},
	{SideSource, "backup:ListCopyJobs", ResAny, nil, "copying finds jobs already started (exactly-once)"},
	{SideSource, "backup:DescribeCopyJob", ResAny, nil, "copying polls each job to completion"},
	{SideSource, "backup:DescribeGlobalSettings", ResAny, nil, "pre-flight checks that cross-account backup is enabled"},
	{SideSource, "iam:PassRole", ResCopyRole, map[string]string{"iam:PassedToService": "backup.amazonaws.com"}, "StartCopyJob passes the copy role to AWS Backup"},
	{SideSource, "iam:GetRole", ResCopyRole, nil, "pre-flight checks that the copy role exists"},
	{SideSource, "iam:SimulatePrincipalPolicy", ResAny, nil, "pre-flight simulates these permissions"},
	// Destination account: replication, tagging, pre-flight.
	{SideDestination, "backup:ListBackupVaults", ResAny, nil, "inventory lists the destination vaults"},
	{SideDestination, "backup:DescribeBackupVault", ResVault, nil, "replication compares destination vaults with their source"},
	{SideDestination, "backup:GetBackupVaultAccessPolicy", ResVault, nil, "replication checks the vault allows the source account to copy in"},
	{SideDestination, "backup:GetBackupVaultNotifications", ResVault, nil, "replication compares notifications"},
	{SideDestination, "backup:ListTags", ResAny, nil, "replication compares vault tags"},
	{SideDestination, "backup:ListRecoveryPointsByBackupVault", ResVault, nil, "before its first copy, a fresh state looks for copies already in the destination vaults; verify lists the copies"},
	{SideDestination, "backup:CreateBackupVault", ResVault, nil, "replication creates missing destination vaults"},
	{SideDestination, "backup:CreateLogicallyAirGappedBackupVault", ResVault, nil, "replication creates air-gapped vaults like their source"},
	{SideDestination, "backup-storage:MountCapsule", ResAny, nil, "creating a vault mounts its storage (AWS documents it as required by CreateBackupVault)"},
	{SideDestination, "kms:CreateGrant", ResKMSKey, nil, "creating a vault with a customer-managed key grants AWS Backup the use of the key"},
	{SideDestination, "kms:DescribeKey", ResKMSKey, nil, "creating a vault with a customer-managed key reads the key"},
	{SideDestination, "kms:RetireGrant", ResKMSKey, nil, "creating a vault with a customer-managed key (AWS lists it as required)"},
	{SideDestination, "kms:Decrypt", ResKMSKey, nil, "creating a vault with a customer-managed key (AWS lists it as required)"},
	{SideDestination, "kms:GenerateDataKey", ResKMSKey, nil, "creating a vault with a customer-managed key (AWS lists it as required)"},
	{SideDestination, "backup:PutBackupVaultAccessPolicy", ResVault, nil, "replication lets the source account copy into the vault"},
	{SideDestination, "backup:PutBackupVaultNotifications", ResVault, nil, "replication copies vault notifications"},
	{SideDestination, "backup:PutBackupVaultLockConfiguration", ResVault, nil, "replication locks vaults like their source"},
	{SideDestination, "backup:TagResource", ResAny, nil, "replication tags vaults; copying tags the copied recovery points"},
	{SideDestination, "backup:DescribeGlobalSettings", ResAny, nil, "pre-flight checks that cross-account backup is enabled"},
	{SideDestination, "iam:SimulatePrincipalPolicy", ResAny, nil, "pre-flight simulates these permissions"},
}

// ActionsFor returns the actions of one account.
func ActionsFor(side Side) []Action {
	var out []Action
	for _, a := range Actions {
		if a.Side == side {
			out = append(out, a)
		}
	}
	return out
}

// resourceARN is the ARN pattern a policy grants an action on.
func (a Action) resourceARN(cfg luabind.ScriptConfig) string {
	acct, region := cfg.Source.Account, cfg.Source.Region
	if a.Side == SideDestination {
		acct = cfg.Destination.Account
	}
	switch a.Resource {
	case ResVault:
		return "arn:" + partitionOf(region) + ":backup:" + region + ":" + acct + ":backup-vault:*"
	case ResCopyRole:
		return cfg.CopyRole
	case ResKMSKey:
		return "arn:" + partitionOf(region) + ":kms:" + region + ":" + acct + ":key/*"
	}
	return "*"
}

// simulationARN is a concrete resource the action is simulated on.
func (a Action) simulationARN(cfg luabind.ScriptConfig) string {
	r := a.resourceARN(cfg)
	if a.Resource == ResVault || a.Resource == ResKMSKey {
		return strings.TrimSuffix(r, "*") + "shuffle-preflight"
	}
	return r
}

func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// PolicyDocument is an IAM policy document.
type PolicyDocument struct {
	Version   string            `json:"Version"`
	Statement []PolicyStatement `json:"Statement"`
}

// PolicyStatement is one statement of a PolicyDocument.
type PolicyStatement struct {
	Sid       string                       `json:"Sid,omitempty"`
	Effect    string                       `json:"Effect"`
	Principal map[string]any               `json:"Principal,omitempty"`
	Action    []string                     `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// OperatorPolicy builds the minimal identity policy for one account's
// operator role from Actions, leaving out the actions in omit (tests
// use it to prove every action is needed).
func OperatorPolicy(cfg luabind.ScriptConfig, side Side, omit ...string) PolicyDocument {
	type key struct{ res, cond string }
	groups := map[key]*PolicyStatement{}
	var order []key
	for _, a := range ActionsFor(side) {
		if slices.Contains(omit, a.Name) {
			continue
		}
		var cond map[string]map[string]string
		ck := ""
		if len(a.Condition) > 0 {
			cond = map[string]map[string]string{"StringEquals": a.Condition}
			b, _ := json.Marshal(cond)
			ck = a.Name + string(b) // conditions are action-specific: keep them apart
		}
		k := key{a.resourceARN(cfg), ck}
		st, ok := groups[k]
		if !ok {
			st = &PolicyStatement{Effect: "Allow", Resource: k.res, Condition: cond}
			groups[k] = st
			order = append(order, k)
		}
		st.Action = append(st.Action, a.Name)
	}
	doc := PolicyDocument{Version: "2012-10-17"}
	for i, k := range order {
		st := groups[k]
		st.Sid = fmt.Sprintf("Shuffle%s%d", strings.ToUpper(string(side[:1]))+string(side[1:]), i+1)
		doc.Statement = append(doc.Statement, *st)
	}
	return doc
}

// VaultAccessPolicy is the destination vault access policy statement
// that lets the source account copy into a vault (the one replication
// adds).
func VaultAccessPolicy(cfg luabind.ScriptConfig) PolicyDocument {
	return PolicyDocument{Version: "2012-10-17", Statement: []PolicyStatement{{
		Sid: vaultpolicy.CopyStatementSid, Effect: "Allow",
		Principal: map[string]any{"AWS": "arn:" + partitionOf(cfg.Source.Region) + ":iam::" + cfg.Source.Account + ":root"},
		Action:    []string{"backup:CopyIntoBackupVault"}, Resource: "*",
	}}}
}

// Severity of a Finding.
type Severity string

const (
	Blocking Severity = "blocking"
	Warning  Severity = "warning"
	Info     Severity = "info"
)

// Finding is one result of the pre-flight check.
type Finding struct {
	Severity Severity `json:"severity"`
	Account  Side     `json:"account"`
	Check    string   `json:"check"`
	Action   string   `json:"action,omitempty"` // the IAM action concerned, if any
	What     string   `json:"what"`
	Why      string   `json:"why"`
	Fix      string   `json:"fix"`
}

// CheckReport is what Check found.
type CheckReport struct {
	Schema   string    `json:"schema"`
	Findings []Finding `json:"findings"`
	// Compliance is set when a compliance policy was evaluated.
	Compliance *ComplianceReport `json:"compliance,omitempty"`
}

// CheckSchema names the JSON form of a CheckReport.
const CheckSchema = "shuffle.check/v1"

// Blocking reports whether any finding blocks a run.
func (r *CheckReport) Blocking() bool {
	for _, f := range r.Findings {
		if f.Severity == Blocking {
			return true
		}
	}
	return false
}

// CheckInput is what Check needs: the script's configuration and the
// AWS configuration of each account.
type CheckInput struct {
	Config              luabind.ScriptConfig
	Source, Destination aws.Config
	// SkipEncryption skips listing the source recovery points to count
	// those on AWS-managed keys (one full listing of the source).
	SkipEncryption bool
	// Compliance, when set, is the policy set whose compliance module
	// judges every vault of both accounts.
	Compliance *luabind.Policies
	Now        func() time.Time // nil: time.Now
}

// Check runs the pre-flight checks for both accounts. It only reads.
func Check(ctx context.Context, in CheckInput) *CheckReport {
	r := &CheckReport{Schema: CheckSchema}
	add := func(f Finding) { r.Findings = append(r.Findings, f) }
	cfg := in.Config
	if cfg.Source.Region != cfg.Destination.Region {
		add(Finding{Blocking, SideSource, "region", "", fmt.Sprintf("source region %s and destination region %s differ", cfg.Source.Region, cfg.Destination.Region),
			"shuffle copies within one region", "set both regions in shuffle.config to the same region"})
	}
	sides := []struct {
		side Side
		ep   luabind.Endpoint
		cfg  aws.Config
	}{{SideSource, cfg.Source, in.Source}, {SideDestination, cfg.Destination, in.Destination}}
	usable := 0
	for _, s := range sides {
		if !checkAccount(ctx, cfg, s.side, s.ep, s.cfg, add) {
			continue
		}
		usable++
		if s.side == SideSource && !in.SkipEncryption {
			checkKeys(ctx, backup.NewFromConfig(s.cfg), add)
		}
	}
	if in.Compliance != nil && in.Compliance.HasCompliance() && usable == len(sides) {
		now := time.Now
		if in.Now != nil {
			now = in.Now
		}
		cr, err := EvaluateCompliance(ctx, cfg, in.Compliance, backup.NewFromConfig(in.Source), backup.NewFromConfig(in.Destination), now())
		if err != nil {
			add(Finding{Blocking, SideDestination, "compliance", "", "the compliance policy could not be evaluated: " + err.Error(),
				"the destination vaults' compliance is unknown", "fix the compliance module and run check again"})
		} else {
			r.Compliance = cr
			complianceFindings(cr, add)
		}
	}
	sort.SliceStable(r.Findings, func(i, j int) bool { return sevRank(r.Findings[i].Severity) < sevRank(r.Findings[j].Severity) })
	return r
}

// complianceFindings turns each destination vault that fails the
// compliance policy into one finding; source vaults are only shown in the
// table, since shuffle cannot change them.
func complianceFindings(cr *ComplianceReport, add func(Finding)) {
	for _, v := range cr.Vaults {
		if v.Account != SideDestination || v.Pass {
			continue
		}
		sev := Warning
		if v.Blocking() {
			sev = Blocking
		}
		if v.Error != "" {
			add(Finding{sev, SideDestination, "compliance", "", fmt.Sprintf("destination vault %s: %s", v.Name, v.Error),
				"its compliance cannot be judged", "fix the cause (" + cr.Module + " or access to the vault) and run check again"})
			continue
		}
		var failed []string
		for _, res := range v.Results {
			if !res.Pass {
				failed = append(failed, fmt.Sprintf("%s (expected %s, actual %s)", res.Rule, orDash(res.Expected), orDash(res.Actual)))
			}
		}
		add(Finding{sev, SideDestination, "compliance", "", fmt.Sprintf("destination vault %s fails %s", v.Name, strings.Join(failed, "; ")),
			"the security team's compliance policy (" + cr.Module + ") requires it of destination vaults",
			"change the vault to meet the rule (for settings copied from the source vault, fix the source and replicate with reconcile = true), or change the policy"})
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sevRank(s Severity) int {
	switch s {
	case Blocking:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// checkAccount checks one account; false when its identity is unusable.
func checkAccount(ctx context.Context, cfg luabind.ScriptConfig, side Side, ep luabind.Endpoint, acfg aws.Config, add func(Finding)) bool {
	id, err := sts.NewFromConfig(acfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		add(Finding{Blocking, side, "credentials", "sts:GetCallerIdentity", fmt.Sprintf("profile %q: the credentials do not work: %v", ep.Profile, err),
			"every call in this account would fail", "log in again (refresh the profile's credentials) or pick another profile with --" + string(side) + "-profile"})
		return false
	}
	if got := aws.ToString(id.Account); got != ep.Account {
		add(Finding{Blocking, side, "account", "", fmt.Sprintf("profile %q belongs to account %s (%s), the script says %s", ep.Profile, got, aws.ToString(id.Arn), ep.Account),
			"shuffle would read or write the wrong account", "fix the account id in the script or pick the right profile"})
		return false
	}
	principal := PrincipalARN(aws.ToString(id.Arn))
	add(Finding{Info, side, "identity", "", fmt.Sprintf("profile %q is %s in account %s", ep.Profile, principal, ep.Account), "", ""})

	bc := backup.NewFromConfig(acfg)
	ic := iam.NewFromConfig(acfg)
	simulatePermissions(ctx, cfg, side, principal, ic, bc, add)

	gs, err := bc.DescribeGlobalSettings(ctx, &backup.DescribeGlobalSettingsInput{})
	switch {
	case err != nil:
		add(Finding{Warning, side, "global-settings", "backup:DescribeGlobalSettings", "could not read the account's AWS Backup global settings: " + errMsg(err),
			"cross-account copies fail when cross-account backup is disabled", "allow backup:DescribeGlobalSettings, or confirm in the console that cross-account backup is enabled"})
	case gs.GlobalSettings["isCrossAccountBackupEnabled"] != "true":
		add(Finding{Blocking, side, "global-settings", "", "cross-account backup is disabled in account " + ep.Account,
			"every copy job would fail", "enable cross-account backup (AWS Backup settings, from the organization's management account)"})
	default:
		add(Finding{Info, side, "global-settings", "", "cross-account backup is enabled", "", ""})
	}

	if side == SideSource {
		name := cfg.CopyRole[strings.LastIndex(cfg.CopyRole, "/")+1:]
		_, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		switch {
		case err == nil:
			add(Finding{Info, side, "copy-role", "", "copy role " + cfg.CopyRole + " exists", "", ""})
		case apiCode(err) == "NoSuchEntity":
			add(Finding{Blocking, side, "copy-role", "", "copy role " + cfg.CopyRole + " does not exist",
				"StartCopyJob is refused when its role does not exist", "create the role (AWS Backup's default service role) or fix copy_role in the script"})
		case !isDenied(err):
			add(Finding{Warning, side, "copy-role", "iam:GetRole", "could not check the copy role: " + errMsg(err), "", "run check again"})
		} // denied: reported by the simulation (or the probes)
	} else {
		checkVaultPolicies(ctx, cfg, bc, add)
	}
	return true
}

// checkKeys counts, per source vault and resource type, the recovery
// points encrypted with an AWS-managed key on a type that is not fully
// managed: their cross-account copies would fail, so shuffle leaves them
// out (rule aws-managed-key).
func checkKeys(ctx context.Context, bc *backup.Client, add func(Finding)) {
	type key struct{ vault, typ string }
	counts := map[key]int{}
	vp := backup.NewListBackupVaultsPaginator(bc, &backup.ListBackupVaultsInput{})
	for vp.HasMorePages() {
		out, err := vp.NextPage(ctx)
		if err != nil {
			add(Finding{Warning, SideSource, "encryption", "backup:ListBackupVaults", "could not list source vaults to count AWS-managed keys: " + errMsg(err), "", "run check again"})
			return
		}
		for _, v := range out.BackupVaultList {
			name := aws.ToString(v.BackupVaultName)
			rp := backup.NewListRecoveryPointsByBackupVaultPaginator(bc, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(name), MaxResults: aws.Int32(1000)})
			for rp.HasMorePages() {
				page, err := rp.NextPage(ctx)
				if err != nil {
					add(Finding{Warning, SideSource, "encryption", "backup:ListRecoveryPointsByBackupVault", "could not list recovery points of " + name + ": " + errMsg(err), "", "run check again"})
					break
				}
				for _, r := range page.RecoveryPoints {
					typ := aws.ToString(r.ResourceType)
					if r.IsEncrypted && !FullyManagedTypes[typ] && r.EncryptionKeyType != "CUSTOMER_MANAGED_KMS_KEY" {
						counts[key{name, typ}]++
					}
				}
			}
		}
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].vault < keys[j].vault || (keys[i].vault == keys[j].vault && keys[i].typ < keys[j].typ)
	})
	for _, k := range keys {
		add(Finding{Warning, SideSource, "encryption", "",
			fmt.Sprintf("vault %s: %d %s recovery points are encrypted with an AWS-managed key", k.vault, counts[k], k.typ),
			"cross-account copies of types that are not fully managed need a customer-managed key shared with the destination; shuffle leaves these out (ineligible: aws-managed-key)",
			"back these resources up with a customer-managed KMS key shared with the destination account, or accept that they are not copied"})
	}
	if len(keys) == 0 {
		add(Finding{Info, SideSource, "encryption", "", "no recovery points on AWS-managed keys that would fail to copy", "", ""})
	}
}

// simulatePermissions runs iam:SimulatePrincipalPolicy over the account's actions,
// one call per resource and context; when simulation itself is denied it
// falls back to read-only probes.
func simulatePermissions(ctx context.Context, cfg luabind.ScriptConfig, side Side, principal string, ic *iam.Client, bc *backup.Client, add func(Finding)) {
	type group struct {
		res  string
		cond map[string]string
		acts []Action
	}
	var groups []*group
	for _, a := range ActionsFor(side) {
		res := a.simulationARN(cfg)
		var g *group
		for _, x := range groups {
			if x.res == res && fmt.Sprint(x.cond) == fmt.Sprint(a.Condition) {
				g = x
			}
		}
		if g == nil {
			g = &group{res: res, cond: a.Condition}
			groups = append(groups, g)
		}
		g.acts = append(g.acts, a)
	}
	for _, g := range groups {
		in := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(principal), ResourceArns: []string{g.res}}
		for _, a := range g.acts {
			in.ActionNames = append(in.ActionNames, a.Name)
		}
		for k, v := range g.cond {
			in.ContextEntries = append(in.ContextEntries, iamtypes.ContextEntry{ContextKeyName: aws.String(k), ContextKeyType: iamtypes.ContextKeyTypeEnumString, ContextKeyValues: []string{v}})
		}
		decided := map[string]string{}
		p := iam.NewSimulatePrincipalPolicyPaginator(ic, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				if isDenied(err) {
					add(Finding{Blocking, side, "permissions", "iam:SimulatePrincipalPolicy",
						fmt.Sprintf("%s may not call iam:SimulatePrincipalPolicy, so its permissions cannot be verified; fell back to read-only probes", principal),
						"without simulation, write permissions (copying, vault creation, locks) are only found out during the run",
						"allow iam:SimulatePrincipalPolicy on the operator role (see `shuffle iam-policy`)"})
					probe(ctx, side, bc, add)
					return
				}
				add(Finding{Warning, side, "permissions", "iam:SimulatePrincipalPolicy", "simulation failed: " + errMsg(err), "permissions were not verified", "run check again"})
				return
			}
			for _, ev := range out.EvaluationResults {
				decided[aws.ToString(ev.EvalActionName)] = string(ev.EvalDecision)
			}
		}
		for _, a := range g.acts {
			d := decided[a.Name]
			if d == "allowed" {
				continue
			}
			what := fmt.Sprintf("%s is not allowed %s on %s", principal, a.Name, g.res)
			for k, v := range a.Condition {
				what += fmt.Sprintf(" with %s=%s", k, v)
			}
			if d != "" {
				what += " (" + d + ")"
			}
			add(Finding{Blocking, side, "permissions", a.Name, what, "shuffle needs it: " + a.Why,
				fmt.Sprintf("grant %s on %s to the %s operator role (see `shuffle iam-policy`)", a.Name, a.resourceARN(cfg), side)})
		}
	}
	add(Finding{Info, side, "permissions", "", fmt.Sprintf("simulated %d actions for %s", len(ActionsFor(side)), principal), "", ""})
}

// probe makes safe read-only calls when simulation is not available.
func probe(ctx context.Context, side Side, bc *backup.Client, add func(Finding)) {
	calls := []struct {
		action string
		call   func() error
	}{
		{"backup:ListBackupVaults", func() error {
			_, err := bc.ListBackupVaults(ctx, &backup.ListBackupVaultsInput{MaxResults: aws.Int32(1)})
			return err
		}},
		{"backup:ListCopyJobs", func() error {
			if side != SideSource {
				return nil
			}
			_, err := bc.ListCopyJobs(ctx, &backup.ListCopyJobsInput{MaxResults: aws.Int32(1)})
			return err
		}},
	}
	for _, c := range calls {
		if err := c.call(); err != nil {
			sev := Warning
			if isDenied(err) {
				sev = Blocking
			}
			add(Finding{sev, side, "probe", c.action, "read-only probe " + c.action + " failed: " + errMsg(err), "shuffle calls it", "grant " + c.action})
		} else {
			add(Finding{Info, side, "probe", c.action, "read-only probe " + c.action + " succeeded", "", ""})
		}
	}
}

// checkVaultPolicies checks that each existing destination vault lets the
// source account copy in.
func checkVaultPolicies(ctx context.Context, cfg luabind.ScriptConfig, bc *backup.Client, add func(Finding)) {
	p := backup.NewListBackupVaultsPaginator(bc, &backup.ListBackupVaultsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			if !isDenied(err) { // denied: the simulation names it
				add(Finding{Warning, SideDestination, "vault-policy", "backup:ListBackupVaults", "could not list destination vaults: " + errMsg(err), "", "run check again"})
			}
			return
		}
		for _, v := range out.BackupVaultList {
			name, arn := aws.ToString(v.BackupVaultName), aws.ToString(v.BackupVaultArn)
			pol, err := bc.GetBackupVaultAccessPolicy(ctx, &backup.GetBackupVaultAccessPolicyInput{BackupVaultName: aws.String(name)})
			doc := ""
			switch {
			case err == nil:
				doc = aws.ToString(pol.Policy)
			case apiCode(err) == "ResourceNotFoundException":
			default:
				if !isDenied(err) {
					add(Finding{Warning, SideDestination, "vault-policy", "backup:GetBackupVaultAccessPolicy", "could not read the access policy of " + name + ": " + errMsg(err), "", "run check again"})
				}
				continue
			}
			vp, err := vaultpolicy.Parse(doc)
			if err == nil && vp.AllowsCopy(cfg.Source.Account, arn) {
				continue
			}
			if err == nil {
				if stmt := vp.DeniesCopy(cfg.Source.Account, arn); stmt != "" {
					// No replication setting can fix it: run holds the
					// vault's RPs back as blocked, so check blocks too.
					add(Finding{Blocking, SideDestination, "vault-policy", "backup:CopyIntoBackupVault",
						"destination vault " + name + ": " + vaultpolicy.CopyDeniedReason(name, stmt, cfg.Source.Account),
						"copies into this vault fail with AccessDenied whatever shuffle does; its recovery points are counted as blocked",
						"remove or narrow statement " + stmt + " of the vault's access policy"})
					continue
				}
			}
			add(Finding{Warning, SideDestination, "vault-policy", "backup:CopyIntoBackupVault",
				fmt.Sprintf("destination vault %s: the access policy does not allow account %s backup:CopyIntoBackupVault", name, cfg.Source.Account),
				"copies into this vault fail with AccessDenied unless replication adds the statement (reconcile = true for the vault); until then run counts its recovery points as blocked",
				"add the statement printed by `shuffle iam-policy` (vault access policy) to the vault's access policy"})
		}
	}
}

// PrincipalARN turns a caller ARN into the principal to simulate: an
// assumed-role session becomes its role.
func PrincipalARN(arn string) string {
	f := strings.SplitN(arn, ":", 6)
	if len(f) == 6 && f[2] == "sts" && strings.HasPrefix(f[5], "assumed-role/") {
		parts := strings.Split(f[5], "/")
		if len(parts) >= 2 {
			return "arn:" + f[1] + ":iam::" + f[4] + ":role/" + parts[1]
		}
	}
	return arn
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func isDenied(err error) bool {
	c := apiCode(err)
	return c == "AccessDenied" || c == "AccessDeniedException" || c == "UnauthorizedOperation"
}

func errMsg(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}
