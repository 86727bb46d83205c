package preflight

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
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
	Side     finding.Side
	Name     string // e.g. backup:StartCopyJob
	Resource string // ResAny, ResVault, ResCopyRole or ResKMSKey
	// Condition is the IAM condition the grant needs (StringEquals key → value).
	Condition map[string]string
	Why       string // what shuffle calls it for
}

// Actions is every IAM action shuffle calls, by account.
var Actions = []Action{
	// Source account: inventory, copying, pre-flight.
	{finding.SideSource, "backup:ListBackupVaults", ResAny, nil, "inventory lists the source vaults"},
	{finding.SideSource, "backup:DescribeBackupVault", ResVault, nil, "inventory reads each source vault's settings and lock"},
	{finding.SideSource, "backup:GetBackupVaultAccessPolicy", ResVault, nil, "inventory reads the access policy replication translates"},
	{finding.SideSource, "backup:GetBackupVaultNotifications", ResVault, nil, "inventory reads the notifications replication copies"},
	{finding.SideSource, "backup:ListTags", ResAny, nil, "inventory reads vault tags"},
	{finding.SideSource, "backup:ListRecoveryPointsByBackupVault", ResVault, nil, "inventory lists the recovery points"},
	{finding.SideSource, "backup:StartCopyJob", ResAny, nil, "copying starts one copy job per recovery point (recovery point ARNs vary by resource type)"},
	{finding.SideSource, "backup:ListCopyJobs", ResAny, nil, "copying finds jobs already started (exactly-once)"},
	{finding.SideSource, "backup:DescribeCopyJob", ResAny, nil, "copying polls each job to completion"},
	{finding.SideSource, "backup:DescribeGlobalSettings", ResAny, nil, "pre-flight checks that cross-account backup is enabled"},
	{finding.SideSource, "iam:PassRole", ResCopyRole, map[string]string{"iam:PassedToService": "backup.amazonaws.com"}, "StartCopyJob passes the copy role to AWS Backup"},
	{finding.SideSource, "iam:GetRole", ResCopyRole, nil, "pre-flight checks that the copy role exists"},
	{finding.SideSource, "iam:SimulatePrincipalPolicy", ResAny, nil, "pre-flight simulates these permissions"},
	{finding.SideSource, "kms:DescribeKey", ResAny, nil, "eligibility asks who manages a recovery point's key when EncryptionKeyType does not say; the vault mapping reads source keys"},
	{finding.SideSource, "kms:ListAliases", ResAny, nil, "the vault mapping names each source vault's key by its alias (ListAliases has no resource-level permission)"},
	{finding.SideSource, "kms:GetKeyPolicy", ResAny, nil, "pre-flight checks that each source key is shared with the destination account"},
	// Destination account: replication, tagging, pre-flight.
	{finding.SideDestination, "backup:ListBackupVaults", ResAny, nil, "inventory lists the destination vaults"},
	{finding.SideDestination, "backup:DescribeBackupVault", ResVault, nil, "replication compares destination vaults with their source"},
	{finding.SideDestination, "backup:GetBackupVaultAccessPolicy", ResVault, nil, "replication checks the vault allows the source account to copy in"},
	{finding.SideDestination, "backup:GetBackupVaultNotifications", ResVault, nil, "replication compares notifications"},
	{finding.SideDestination, "backup:ListTags", ResAny, nil, "replication compares vault tags"},
	{finding.SideDestination, "backup:ListRecoveryPointsByBackupVault", ResVault, nil, "before its first copy, a fresh state looks for copies already in the destination vaults; verify lists the copies"},
	{finding.SideDestination, "backup:CreateBackupVault", ResVault, nil, "replication creates missing destination vaults"},
	{finding.SideDestination, "backup:CreateLogicallyAirGappedBackupVault", ResVault, nil, "replication creates air-gapped vaults like their source"},
	{finding.SideDestination, "backup-storage:MountCapsule", ResAny, nil, "creating a vault mounts its storage (AWS documents it as required by CreateBackupVault)"},
	{finding.SideDestination, "kms:CreateGrant", ResKMSKey, nil, "creating a vault with a customer-managed key grants AWS Backup the use of the key"},
	{finding.SideDestination, "kms:DescribeKey", ResKMSKey, nil, "creating a vault with a customer-managed key reads the key"},
	{finding.SideDestination, "kms:RetireGrant", ResKMSKey, nil, "creating a vault with a customer-managed key (AWS lists it as required)"},
	{finding.SideDestination, "kms:Decrypt", ResKMSKey, nil, "creating a vault with a customer-managed key (AWS lists it as required)"},
	{finding.SideDestination, "kms:GenerateDataKey", ResKMSKey, nil, "creating a vault with a customer-managed key (AWS lists it as required)"},
	{finding.SideDestination, "backup:PutBackupVaultAccessPolicy", ResVault, nil, "replication lets the source account copy into the vault"},
	{finding.SideDestination, "backup:PutBackupVaultNotifications", ResVault, nil, "replication copies vault notifications"},
	{finding.SideDestination, "backup:PutBackupVaultLockConfiguration", ResVault, nil, "replication locks vaults like their source"},
	{finding.SideDestination, "backup:TagResource", ResAny, nil, "replication tags vaults; copying tags the copied recovery points"},
	{finding.SideDestination, "backup:DescribeGlobalSettings", ResAny, nil, "pre-flight checks that cross-account backup is enabled"},
	{finding.SideDestination, "iam:SimulatePrincipalPolicy", ResAny, nil, "pre-flight simulates these permissions"},
	{finding.SideDestination, "kms:DescribeKey", ResAny, nil, "the vault mapping resolves alias/NAME to the destination key's ARN"},
	{finding.SideDestination, "kms:ListAliases", ResAny, nil, "the vault mapping resolves alias/NAME to the destination key (ListAliases has no resource-level permission)"},
}

// ActionsFor returns the actions of one account.
func ActionsFor(side finding.Side) []Action {
	var out []Action
	for _, a := range Actions {
		if a.Side == side {
			out = append(out, a)
		}
	}
	return out
}

// resourceARN is the ARN pattern a policy grants an action on.
func (a Action) resourceARN(cfg scriptconfig.Config) string {
	acct, region := cfg.Source.Account, cfg.Source.Region
	if a.Side == finding.SideDestination {
		acct = cfg.Destination.Account
	}
	switch a.Resource {
	case ResVault:
		return "arn:" + PartitionOf(region) + ":backup:" + region + ":" + acct + ":backup-vault:*"
	case ResCopyRole:
		return cfg.CopyRole
	case ResKMSKey:
		return "arn:" + PartitionOf(region) + ":kms:" + region + ":" + acct + ":key/*"
	}
	return "*"
}

// simulationARN is a concrete resource the action is simulated on.
func (a Action) simulationARN(cfg scriptconfig.Config) string {
	r := a.resourceARN(cfg)
	if a.Resource == ResVault || a.Resource == ResKMSKey {
		return strings.TrimSuffix(r, "*") + "shuffle-preflight"
	}
	return r
}

// PartitionOf is the partition of an AWS region.
func PartitionOf(region string) string {
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
func OperatorPolicy(cfg scriptconfig.Config, side finding.Side, omit ...string) PolicyDocument {
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
func VaultAccessPolicy(cfg scriptconfig.Config) PolicyDocument {
	return PolicyDocument{Version: "2012-10-17", Statement: []PolicyStatement{{
		Sid: vaultpolicy.CopyStatementSid, Effect: "Allow",
		Principal: map[string]any{"AWS": "arn:" + PartitionOf(cfg.Source.Region) + ":iam::" + cfg.Source.Account + ":root"},
		Action:    []string{"backup:CopyIntoBackupVault"}, Resource: "*",
	}}}
}
