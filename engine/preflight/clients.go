package preflight

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Identity says who the credentials are (*sts.Client).
type Identity interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Simulator simulates a principal's IAM policies (*iam.Client).
type Simulator interface {
	SimulatePrincipalPolicy(ctx context.Context, in *iam.SimulatePrincipalPolicyInput, opts ...func(*iam.Options)) (*iam.SimulatePrincipalPolicyOutput, error)
}

// RoleGetter reads an IAM role (*iam.Client).
type RoleGetter interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, opts ...func(*iam.Options)) (*iam.GetRoleOutput, error)
}

// GlobalSettings reads AWS Backup's account settings (*backup.Client).
type GlobalSettings interface {
	DescribeGlobalSettings(ctx context.Context, in *backup.DescribeGlobalSettingsInput, opts ...func(*backup.Options)) (*backup.DescribeGlobalSettingsOutput, error)
}

// VaultLister lists an account's backup vaults (*backup.Client).
type VaultLister interface {
	ListBackupVaults(ctx context.Context, in *backup.ListBackupVaultsInput, opts ...func(*backup.Options)) (*backup.ListBackupVaultsOutput, error)
}

// RecoveryPointLister lists a vault's recovery points (*backup.Client).
type RecoveryPointLister interface {
	ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, opts ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error)
}

// CopyJobLister lists copy jobs (*backup.Client).
type CopyJobLister interface {
	ListCopyJobs(ctx context.Context, in *backup.ListCopyJobsInput, opts ...func(*backup.Options)) (*backup.ListCopyJobsOutput, error)
}

// AccessPolicyReader reads a vault's access policy (*backup.Client).
type AccessPolicyReader interface {
	GetBackupVaultAccessPolicy(ctx context.Context, in *backup.GetBackupVaultAccessPolicyInput, opts ...func(*backup.Options)) (*backup.GetBackupVaultAccessPolicyOutput, error)
}

// BackupReader is every AWS Backup read the checks make.
type BackupReader interface {
	GlobalSettings
	VaultLister
	RecoveryPointLister
	CopyJobLister
	AccessPolicyReader
}

// Clients are one account's APIs, as the checks use them.
type Clients struct {
	Identity  Identity
	Simulator Simulator
	Roles     RoleGetter // read in the source account only (the copy role)
	Backup    BackupReader
	KMS       KeyReader // read in the source account only (its keys); nil: not checked
}

var (
	_ Identity     = (*sts.Client)(nil)
	_ Simulator    = (*iam.Client)(nil)
	_ RoleGetter   = (*iam.Client)(nil)
	_ BackupReader = (*backup.Client)(nil)
)
