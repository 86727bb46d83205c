package testenv

// Seed data.
//
// seedWorld fills a fresh world with a deterministic picture of a real
// estate: the same Seed, RecoveryPoints and Now always give the same
// world and the same metadata.csv.
//
// Source account 111111111111 holds 14 vaults (prod-ebs-daily,
// prod-rds-monthly, finance-records, Default, ...):
//   - one logically air-gapped vault (legal-hold-airgapped: AVAILABLE,
//     compliance lock, AWS-owned key);
//   - prod-rds-monthly under a governance lock (no LockDate) and
//     finance-records under a compliance lock (LockDate in the past);
//   - access policies (a CopyIntoBackupVault allow for the organization
//     or the destination account, a Deny of DeleteRecoveryPoint to "*"),
//     SNS notifications and Environment/CostCenter/Owner tags on several;
//   - customer managed vault keys, except Default, which uses the AWS
//     managed aws/backup key.
//
// KMS keys: source CMKs for vaults (backup-vault-prod, -finance,
// -nonprod) and resources (ebs-data, rds-data, fsx-data, redshift-data),
// AWS managed aws/ebs, aws/rds, aws/fsx, aws/backup; the destination has
// a CMK for each source alias but redshift-data, plus aws/backup,
// aws/ebs and aws/rds. Key policies share every source CMK with the
// destination except redshift-data's (kms_seed.go).
//
// Recovery points: RecoveryPoints in total, spread over the source vaults
// by weight (every vault gets some from 28 RPs on), covering every type
// in Types with realistic ARNs. A resource has 2-12 RPs in a vault; some
// resources are backed up into two vaults (weekly, monthly, air-gapped
// and Default vaults reuse resources of earlier vaults). Creation dates
// fit the plan retention (35/90/365/2555 days; on-demand RPs in Default
// have no lifecycle) within ~3 years before Now. Statuses are mostly
// COMPLETED with about 1.5% PARTIAL, 1% EXPIRED (past retention) and 1%
// DELETING. RDS and S3 resources in prod-rds-daily, prod-s3-daily and
// staging-mixed may have one continuous RP. EBS, EFS and DynamoDB RPs
// under a cold plan are Cold once past MoveToColdStorageAfterDays.
// Fully managed types are encrypted with the vault key, the others with
// the resource key: a source CMK, or for ~7% an AWS managed key.
//
// Destination account 222222222222 holds prod-rds-monthly, matching the
// source vault (tags, lock, CMK mapped by alias, plus the access policy
// that lets the source account copy in), and finance-records, whose tags
// and lock drifted from the source. Both are empty.
//
// metadata.csv (see metadata.go) lists the source resources keyed by
// ResourceArn with the usual defects of a hand-kept spreadsheet.

import (
	"math/rand/v2"
	"strings"
	"time"
)

// SeedOptions control seedWorld.
type SeedOptions struct {
	Seed           int64
	RecoveryPoints int
	Region         string    // "" takes the world's region
	Now            time.Time // zero takes seedDefaultNow
}

// seedResult is what seedWorld produced besides the world itself.
type seedResult struct {
	Metadata  []byte // the full metadata.csv bytes
	Resources int    // distinct source resources with recovery points
}

// seedDefaultNow is the reference time when SeedOptions.Now is zero, so
// that a zero Now is deterministic too.
var seedDefaultNow = time.Date(2026, time.January, 15, 12, 0, 0, 0, time.UTC)

// defaultBackupRole is the IAM role of every seeded recovery point.
const defaultBackupRole = "arn:aws:iam::" + SourceAccount + ":role/service-role/AWSBackupDefaultServiceRole"

// seedTypes lists the resource types in the fixed order the seed uses.
var seedTypes = []string{TypeEC2, TypeEBS, TypeRDS, TypeAurora, TypeS3, TypeEFS, TypeDynamoDB, TypeFSx, TypeRedshift}

// coldCapable reports the types whose RPs the seed moves to cold storage.
func coldCapable(t string) bool { return t == TypeEBS || t == TypeEFS || t == TypeDynamoDB }

// Recovery point statuses.
const (
	statusCompleted = "COMPLETED"
	statusPartial   = "PARTIAL"
	statusExpired   = "EXPIRED"
	statusDeleting  = "DELETING"
)

const (
	msgPartial = "Backup completed, but some items could not be backed up and were skipped."
	msgExpired = "The recovery point has expired but could not be deleted."
)

// seedPlan is one backup plan rule: it fixes the lifecycle of the RPs it
// makes and the hour (UTC) its window opens.
type seedPlan struct {
	id   string // BackupPlanId; "" for on-demand backups
	del  int64  // DeleteAfterDays; 0 for none
	cold int64  // MoveToColdStorageAfterDays; 0 for none
	hour int64
}

type weighted[T any] struct {
	v T
	w int
}

func pick[T any](r *rand.Rand, ws []weighted[T]) T {
	total := 0
	for _, x := range ws {
		total += x.w
	}
	n := r.IntN(total)
	for _, x := range ws {
		if n < x.w {
			return x.v
		}
		n -= x.w
	}
	return ws[len(ws)-1].v
}

// seedVault is a source vault with the knobs of its RP generation.
type seedVault struct {
	v          *Vault
	weight     int
	types      []weighted[string] // the first type is the vault's first resource's type
	plans      []weighted[*seedPlan]
	reuse      float64 // chance that a resource is one of an earlier vault
	env        string  // environment of the resources created here
	continuous bool    // RDS and S3 resources may have a continuous RP
	app        int     // preferred application index, -1 for any
	quota      int
	hadCont    bool
}

// seedResource is one source resource.
type seedResource struct {
	arn, name, typ  string
	keyArn, keyType string // resource key for types that are not fully managed
	size            float64
	env             string
	app             int
	lastVault       int
	rps             int
}

// seedApp is one application of the metadata CSV.
type seedApp struct {
	apmid, name, slug, owner, costCenter string
}

var seedApps = []seedApp{
	{"APM0001234", "Payments Gateway", "payments", "payments-team@example.com", "CC-4100"},
	{"APM0001871", "Order Management", "orders", "orders-team@example.com", "CC-4200"},
	{"APM0002045", "Inventory Service", "inventory", "supply-chain@example.com", "CC-4300"},
	{"APM0002310", "Customer Portal", "portal", "Zoë Ørsted", "CC-5100"},
	{"APM0003002", "Enterprise Data Warehouse", "edw", "data-platform@example.com", "CC-6100"},
	{"APM0003577", "HR Systems", "hr", "José Müller", "CC-7100"},
	{"APM0004120", "General Ledger", "ledger", "finance-it@example.com", "CC-8100"},
	{"APM0005009", "Shared Platform", "platform", "platform-eng@example.com", "CC-9100"},
}

// seedKeys are the KMS keys seedWorld registers.
type seedKeys struct {
	vaultProd, vaultFinance, vaultNonprod string // source vault CMKs
	ebs, rds, fsx, redshift               string // source resource CMKs
	awsEBS, awsRDS, awsFSx, awsBackup     string // source AWS managed keys
	destProd, destFinance, destNonprod    string // destination CMKs
	destBackup                            string // destination aws/backup
}

// seedGen carries the generator state.
type seedGen struct {
	w       *world
	r       *rand.Rand
	region  string
	now     int64 // Unix seconds
	keys    seedKeys
	vaults  []*seedVault
	pool    [][]*seedResource // by seedTypes index
	res     []*seedResource   // in creation order
	counter []int             // names, by seedTypes index
	nonFM   int               // resources of types that are not fully managed

	buf   []byte
	arena *strings.Builder
	rpBuf []RecoveryPoint
	lcBuf []int64
}

// seedWorld fills w (freshly made by newWorld) with representative,
// deterministic data and returns the metadata.csv bytes.
func seedWorld(w *world, o SeedOptions) *seedResult {
	region := o.Region
	if region == "" {
		region = w.region
	}
	if region == "" {
		region = DefaultRegion
	}
	w.region = region
	now := o.Now
	if now.IsZero() {
		now = seedDefaultNow
	}
	now = now.UTC().Truncate(time.Second)

	setup := rand.New(rand.NewPCG(uint64(o.Seed), 0x5eed0001))
	g := &seedGen{
		w:       w,
		r:       rand.New(rand.NewPCG(uint64(o.Seed), 0x5eed0002)),
		region:  region,
		now:     now.Unix(),
		pool:    make([][]*seedResource, len(seedTypes)),
		counter: make([]int, len(seedTypes)),
	}
	g.seedKeys(setup)
	// KMS randomness of its own, so setup's sequence stays as it was.
	g.seedKMS(rand.New(rand.NewPCG(uint64(o.Seed), 0x5eed0004)), now)
	plans := seedPlans(setup)
	g.seedVaults(setup, plans, now)
	g.seedDestination(now)
	g.seedRecoveryPoints(max(o.RecoveryPoints, 0))
	g.ensureCoverage()
	meta := buildMetadata(rand.New(rand.NewPCG(uint64(o.Seed), 0x5eed0003)), g.res, region)
	return &seedResult{Metadata: meta, Resources: len(g.res)}
}
