package testenv

import (
	"sync"
	"time"
)

// Account ids the emulator serves. They are fixed so that scripts,
// docs and tests can name them.
const (
	SourceAccount      = "111111111111"
	DestinationAccount = "222222222222"
	DefaultRegion      = "us-east-1"
)

// Resource types the emulator knows, as AWS Backup spells them in
// ResourceType.
const (
	TypeEC2      = "EC2"
	TypeEBS      = "EBS"
	TypeRDS      = "RDS"
	TypeAurora   = "Aurora"
	TypeS3       = "S3"
	TypeEFS      = "EFS"
	TypeDynamoDB = "DynamoDB"
	TypeFSx      = "FSx"
	TypeRedshift = "Redshift"
)

// TypeInfo is what the emulator models about one resource type.
type TypeInfo struct {
	// FullyManaged types are re-encrypted with the destination vault key
	// on copy; the others keep the source key, so an AWS-managed source
	// key makes a cross-account copy fail.
	FullyManaged bool
	// CrossAccountCopy is false for types AWS cannot copy across accounts.
	CrossAccountCopy bool
	// SetupSeconds and BytesPerSecond model a copy job's duration:
	// SetupSeconds + size/BytesPerSecond, in simulated seconds.
	SetupSeconds   float64
	BytesPerSecond float64
	// Taggable types support ListTags/TagResource on the RP ARN
	// (the ones whose RP ARN is an arn:aws:backup ARN).
	Taggable bool
}

// Types lists every resource type the emulator models. The copy
// duration figures are documented in docs/testenv.md.
var Types = map[string]TypeInfo{
	TypeEC2:      {FullyManaged: false, CrossAccountCopy: true, SetupSeconds: 300, BytesPerSecond: 60e6},
	TypeEBS:      {FullyManaged: false, CrossAccountCopy: true, SetupSeconds: 240, BytesPerSecond: 60e6},
	TypeRDS:      {FullyManaged: false, CrossAccountCopy: true, SetupSeconds: 600, BytesPerSecond: 40e6},
	TypeAurora:   {FullyManaged: false, CrossAccountCopy: true, SetupSeconds: 600, BytesPerSecond: 50e6},
	TypeS3:       {FullyManaged: true, CrossAccountCopy: true, SetupSeconds: 180, BytesPerSecond: 80e6, Taggable: true},
	TypeEFS:      {FullyManaged: true, CrossAccountCopy: true, SetupSeconds: 180, BytesPerSecond: 70e6, Taggable: true},
	TypeDynamoDB: {FullyManaged: true, CrossAccountCopy: true, SetupSeconds: 120, BytesPerSecond: 90e6, Taggable: true},
	TypeFSx:      {FullyManaged: false, CrossAccountCopy: true, SetupSeconds: 420, BytesPerSecond: 45e6},
	TypeRedshift: {FullyManaged: false, CrossAccountCopy: false, SetupSeconds: 600, BytesPerSecond: 40e6},
}

// Resource types beyond the seeded ones, whose recovery points only the
// unknown-types variant makes (variants_types.go): one AWS Backup lists
// and shuffle does not know, and a made-up future one.
const (
	TypeEKS           = "EKS"
	TypeQuantumLedger = "QuantumLedger"
)

// ExtraTypes models the types of the unknown-types variant. They are
// apart from Types, which lists exactly the types the seed covers. The
// figures are of the same order as the fully managed types above.
var ExtraTypes = map[string]TypeInfo{
	TypeEKS:           {FullyManaged: true, CrossAccountCopy: true, SetupSeconds: 480, BytesPerSecond: 50e6, Taggable: true},
	TypeQuantumLedger: {FullyManaged: true, CrossAccountCopy: true, SetupSeconds: 300, BytesPerSecond: 60e6, Taggable: true},
}

// typeInfo is what the emulator models about typ, from Types or
// ExtraTypes (the zero TypeInfo for a type it does not know).
func typeInfo(typ string) TypeInfo {
	if ti, ok := Types[typ]; ok {
		return ti
	}
	return ExtraTypes[typ]
}

// Lifecycle mirrors types.Lifecycle.
type Lifecycle struct {
	MoveToColdStorageAfterDays *int64 `json:"MoveToColdStorageAfterDays,omitempty"`
	DeleteAfterDays            *int64 `json:"DeleteAfterDays,omitempty"`
}

// Vault is one backup vault in one account.
type Vault struct {
	Name              string
	Arn               string
	Account           string
	VaultType         string // BACKUP_VAULT or LOGICALLY_AIR_GAPPED_BACKUP_VAULT
	VaultState        string // CREATING, AVAILABLE, FAILED (LAG only)
	AvailableAt       time.Time
	EncryptionKeyArn  string
	EncryptionKeyType string
	CreationDate      time.Time
	CreatorRequestId  string
	Tags              map[string]string

	// Lock: Locked is true once a lock configuration is set.
	Locked           bool
	MinRetentionDays *int64
	MaxRetentionDays *int64
	LockDate         *time.Time // set for compliance mode (ChangeableForDays)

	AccessPolicy string // JSON, "" when none
	SNSTopicArn  string
	VaultEvents  []string

	// rps holds the vault's recovery points in insertion order; the
	// pagination token is an index into it. byType holds, per resource
	// type, the indexes in rps of that type's RPs, ascending.
	rps    []*RecoveryPoint
	byType map[string][]int32
}

// RecoveryPoint is one recovery point in one vault.
type RecoveryPoint struct {
	Arn               string
	VaultName         string
	Account           string
	SourceVaultArn    string // set on copies
	ResourceArn       string
	ResourceType      string
	ResourceName      string
	BackupPlanId      string
	IamRoleArn        string
	Status            string
	StatusMessage     string
	CreationDate      time.Time
	CompletionDate    time.Time
	BackupSizeInBytes int64
	Lifecycle         Lifecycle
	EncryptionKeyArn  string
	EncryptionKeyType string // "" for AWS-managed keys
	IsEncrypted       bool
	Continuous        bool
	Cold              bool // in cold storage (StorageClass COLD)
	simDays           bool // its lifecycle days are live mode's simulated days (live.go)
	ParentArn         string
	Tags              map[string]string
	Deleted           bool
}

// CopyJob is one copy job, stored in the account that started it.
type CopyJob struct {
	Id                string
	Account           string
	SourceVaultArn    string
	SourceRPArn       string
	DestVaultArn      string
	DestRPArn         string
	ResourceArn       string
	ResourceType      string
	ResourceName      string
	IamRoleArn        string
	BackupSizeInBytes int64
	Lifecycle         Lifecycle
	State             string
	StatusMessage     string
	MessageCategory   string
	CreationDate      time.Time
	StartAt           time.Time // CREATED -> RUNNING
	DoneAt            time.Time // RUNNING -> COMPLETED/FAILED
	CompletionDate    time.Time
	FailMessage       string // when non-empty the job ends FAILED
	IdempotencyToken  string
	destVaultName     string
	destAccount       string
}

// KMSKey is a key the emulator knows. AWS-managed keys (aws/ebs,
// aws/rds...) cannot be used for cross-account copies of types that are
// not fully managed.
type KMSKey struct {
	Arn        string
	Alias      string // the alias the key was made with (kms_store.go keeps the live ones)
	AWSManaged bool
	// The KMS API's view (kms_store.go): the key policy, description and
	// creation date.
	Policy      string
	Description string
	Created     time.Time
}

// account is the per-account state.
type account struct {
	id                 string
	vaults             map[string]*Vault
	vaultOrder         []string
	rpIndex            map[string]*RecoveryPoint // by RP ARN
	jobs               map[string]*CopyJob
	jobOrder           []*CopyJob
	jobsByToken        map[string]*CopyJob
	backupJobs         map[string]*backupJob
	crossAccountBackup bool
	keys               map[string]*KMSKey
	aliases            map[string]*kmsAlias // by alias name (alias/NAME)
}

type backupJob struct {
	Id           string
	Account      string
	VaultName    string
	ResourceArn  string
	ResourceType string
	IamRoleArn   string
	RPArn        string
	CreationDate time.Time
	State        string
	token        string
	size         int64
}

// world is the whole emulated cloud: both accounts in one region.
type world struct {
	mu       sync.Mutex
	region   string
	accounts map[string]*account
}

func newWorld(region string) *world {
	w := &world{region: region, accounts: map[string]*account{}}
	for _, id := range []string{SourceAccount, DestinationAccount} {
		w.accounts[id] = &account{
			id:                 id,
			vaults:             map[string]*Vault{},
			rpIndex:            map[string]*RecoveryPoint{},
			jobs:               map[string]*CopyJob{},
			jobsByToken:        map[string]*CopyJob{},
			backupJobs:         map[string]*backupJob{},
			crossAccountBackup: true,
			keys:               map[string]*KMSKey{},
			aliases:            map[string]*kmsAlias{},
		}
	}
	return w
}

// vaultArn builds a vault ARN in this world's region.
func (w *world) vaultArn(acct, name string) string {
	return "arn:aws:backup:" + w.region + ":" + acct + ":backup-vault:" + name
}

// addVault stores v in its account; it fills Arn when empty.
// The caller holds w.mu (or owns w exclusively, as the seed does).
func (w *world) addVault(v *Vault) {
	a := w.accounts[v.Account]
	if v.Arn == "" {
		v.Arn = w.vaultArn(v.Account, v.Name)
	}
	if v.VaultType == "" {
		v.VaultType = "BACKUP_VAULT"
	}
	if _, ok := a.vaults[v.Name]; !ok {
		a.vaultOrder = append(a.vaultOrder, v.Name)
	}
	a.vaults[v.Name] = v
}

// addRP appends rp to the vault named rp.VaultName in rp.Account.
func (w *world) addRP(rp *RecoveryPoint) {
	a := w.accounts[rp.Account]
	v := a.vaults[rp.VaultName]
	if v.byType == nil {
		v.byType = map[string][]int32{}
	}
	v.byType[rp.ResourceType] = append(v.byType[rp.ResourceType], int32(len(v.rps)))
	v.rps = append(v.rps, rp)
	a.rpIndex[rp.Arn] = rp
}

// addKey registers a KMS key in an account.
func (w *world) addKey(acct string, k *KMSKey) {
	w.accounts[acct].keys[k.Arn] = k
	if k.Alias != "" {
		w.accounts[acct].setAlias("alias/"+k.Alias, k.Arn, k.Created)
	}
}
