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
// CMKs with the vault key aliases plus aws/backup.
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
	"math"
	"math/rand/v2"
	"strconv"
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
	plans := seedPlans(setup)
	g.seedVaults(setup, plans, now)
	g.seedDestination(now)
	g.seedRecoveryPoints(max(o.RecoveryPoints, 0))
	g.ensureCoverage()
	meta := buildMetadata(rand.New(rand.NewPCG(uint64(o.Seed), 0x5eed0003)), g.res, region)
	return &seedResult{Metadata: meta, Resources: len(g.res)}
}

// ---- keys, plans, vaults ----

func (g *seedGen) keyArn(r *rand.Rand, acct string) string {
	return "arn:aws:kms:" + g.region + ":" + acct + ":key/" + string(appendUUID(nil, r))
}

func (g *seedGen) seedKeys(r *rand.Rand) {
	k := &g.keys
	add := func(acct, alias string, managed bool) string {
		arn := g.keyArn(r, acct)
		if alias == "aws/backup" {
			// The same key the server uses for vaults created without one.
			arn = "arn:aws:kms:" + g.region + ":" + acct + ":key/" + awsManagedBackupKeyID(acct)
		}
		g.w.addKey(acct, &KMSKey{Arn: arn, Alias: alias, AWSManaged: managed})
		return arn
	}
	k.vaultProd = add(SourceAccount, "backup-vault-prod", false)
	k.vaultFinance = add(SourceAccount, "backup-vault-finance", false)
	k.vaultNonprod = add(SourceAccount, "backup-vault-nonprod", false)
	k.ebs = add(SourceAccount, "ebs-data", false)
	k.rds = add(SourceAccount, "rds-data", false)
	k.fsx = add(SourceAccount, "fsx-data", false)
	k.redshift = add(SourceAccount, "redshift-data", false)
	k.awsEBS = add(SourceAccount, "aws/ebs", true)
	k.awsRDS = add(SourceAccount, "aws/rds", true)
	k.awsFSx = add(SourceAccount, "aws/fsx", true)
	k.awsBackup = add(SourceAccount, "aws/backup", true)
	k.destProd = add(DestinationAccount, "backup-vault-prod", false)
	k.destFinance = add(DestinationAccount, "backup-vault-finance", false)
	k.destNonprod = add(DestinationAccount, "backup-vault-nonprod", false)
	k.destBackup = add(DestinationAccount, "aws/backup", true)
}

type seedPlanSet struct {
	daily35, weekly90, monthly365, monthly365Cold, yearly2555, yearly2555Cold, onDemand *seedPlan
}

func seedPlans(r *rand.Rand) seedPlanSet {
	id := func() string { return string(appendUUID(nil, r)) }
	return seedPlanSet{
		daily35:        &seedPlan{id: id(), del: 35, hour: 5},
		weekly90:       &seedPlan{id: id(), del: 90, hour: 3},
		monthly365:     &seedPlan{id: id(), del: 365, hour: 2},
		monthly365Cold: &seedPlan{id: id(), del: 365, cold: 90, hour: 2},
		yearly2555:     &seedPlan{id: id(), del: 2555, hour: 1},
		yearly2555Cold: &seedPlan{id: id(), del: 2555, cold: 180, hour: 1},
		onDemand:       &seedPlan{hour: 14},
	}
}

func i64(v int64) *int64 { return &v }

// Access policies.
func policyOrgCopy(region, vault string) string {
	return `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"AllowOrgCopyIn","Effect":"Allow","Principal":{"AWS":"*"},"Action":"backup:CopyIntoBackupVault","Resource":"*",` +
		`"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}},` +
		`{"Sid":"DenyRecoveryPointDeletion","Effect":"Deny","Principal":{"AWS":"*"},"Action":"backup:DeleteRecoveryPoint",` +
		`"Resource":"arn:aws:backup:` + region + `:` + SourceAccount + `:backup-vault:` + vault + `"}]}`
}

func policyAccountCopy(fromAccount string, deny bool) string {
	s := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"AllowCopyFrom` + fromAccount + `","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + fromAccount + `:root"},` +
		`"Action":"backup:CopyIntoBackupVault","Resource":"*"}`
	if deny {
		s += `,{"Sid":"DenyDeleteRecoveryPoint","Effect":"Deny","Principal":"*","Action":"backup:DeleteRecoveryPoint","Resource":"*"}`
	}
	return s + `]}`
}

const policyDenyDelete = `{"Version":"2012-10-17","Statement":[` +
	`{"Sid":"DenyDeleteRecoveryPoint","Effect":"Deny","Principal":"*",` +
	`"Action":["backup:DeleteRecoveryPoint","backup:UpdateRecoveryPointLifecycle"],"Resource":"*"}]}`

func tags(env, cc, owner string) map[string]string {
	return map[string]string{"Environment": env, "CostCenter": cc, "Owner": owner}
}

func (g *seedGen) seedVaults(r *rand.Rand, p seedPlanSet, now time.Time) {
	k := g.keys
	sns := "arn:aws:sns:" + g.region + ":" + SourceAccount + ":backup-events"
	eventsStd := []string{"BACKUP_JOB_COMPLETED", "COPY_JOB_FAILED", "RESTORE_JOB_COMPLETED"}
	eventsAll := []string{"BACKUP_JOB_STARTED", "BACKUP_JOB_COMPLETED", "COPY_JOB_STARTED", "COPY_JOB_SUCCESSFUL", "COPY_JOB_FAILED", "RECOVERY_POINT_MODIFIED"}
	cmk := "CUSTOMER_MANAGED_KMS_KEY"
	ty := func(ts ...any) []weighted[string] {
		var out []weighted[string]
		for i := 0; i < len(ts); i += 2 {
			out = append(out, weighted[string]{ts[i].(string), ts[i+1].(int)})
		}
		return out
	}
	pl := func(ps ...any) []weighted[*seedPlan] {
		var out []weighted[*seedPlan]
		for i := 0; i < len(ps); i += 2 {
			out = append(out, weighted[*seedPlan]{ps[i].(*seedPlan), ps[i+1].(int)})
		}
		return out
	}
	compliance := now.AddDate(-2, -3, 0)
	vs := []*seedVault{
		{v: &Vault{Name: "prod-ebs-daily", EncryptionKeyArn: k.vaultProd, EncryptionKeyType: cmk,
			Tags: tags("prod", "CC-9100", "platform-eng@example.com"), AccessPolicy: policyOrgCopy(g.region, "prod-ebs-daily"),
			SNSTopicArn: sns, VaultEvents: eventsStd},
			weight: 21, types: ty(TypeEBS, 80, TypeEC2, 20), plans: pl(p.daily35, 70, p.monthly365Cold, 30), env: "prod", app: -1},
		{v: &Vault{Name: "prod-ebs-weekly", EncryptionKeyArn: k.vaultProd, EncryptionKeyType: cmk,
			Tags: tags("prod", "CC-9100", "platform-eng@example.com")},
			weight: 8, types: ty(TypeEC2, 60, TypeEBS, 40), plans: pl(p.weekly90, 1), reuse: 0.3, env: "prod", app: -1},
		{v: &Vault{Name: "prod-rds-daily", EncryptionKeyArn: k.vaultProd, EncryptionKeyType: cmk,
			Tags: tags("prod", "CC-6100", "dba-team@example.com"), AccessPolicy: policyAccountCopy(DestinationAccount, false),
			SNSTopicArn: sns, VaultEvents: eventsAll},
			weight: 12, types: ty(TypeRDS, 70, TypeAurora, 30), plans: pl(p.daily35, 1), env: "prod", continuous: true, app: -1},
		{v: &Vault{Name: "prod-rds-monthly", EncryptionKeyArn: k.vaultProd, EncryptionKeyType: cmk,
			Tags:   tags("prod", "CC-6100", "dba-team@example.com"),
			Locked: true, MinRetentionDays: i64(30), MaxRetentionDays: i64(3650)},
			weight: 5, types: ty(TypeAurora, 50, TypeRDS, 50), plans: pl(p.monthly365, 70, p.yearly2555, 30), reuse: 0.4, env: "prod", app: -1},
		{v: &Vault{Name: "prod-s3-daily", EncryptionKeyArn: k.vaultProd, EncryptionKeyType: cmk,
			Tags: tags("prod", "CC-9100", "storage-team@example.com"), SNSTopicArn: sns, VaultEvents: eventsStd},
			weight: 10, types: ty(TypeS3, 1), plans: pl(p.daily35, 80, p.monthly365, 20), env: "prod", continuous: true, app: -1},
		{v: &Vault{Name: "prod-efs-daily", EncryptionKeyArn: k.vaultProd, EncryptionKeyType: cmk,
			Tags: tags("prod", "CC-9100", "storage-team@example.com")},
			weight: 6, types: ty(TypeEFS, 1), plans: pl(p.daily35, 60, p.monthly365Cold, 40), env: "prod", app: -1},
		{v: &Vault{Name: "prod-dynamodb-daily", EncryptionKeyArn: k.vaultProd, EncryptionKeyType: cmk},
			weight: 7, types: ty(TypeDynamoDB, 1), plans: pl(p.daily35, 60, p.monthly365Cold, 40), env: "prod", app: -1},
		{v: &Vault{Name: "prod-fsx-weekly", EncryptionKeyArn: k.vaultProd, EncryptionKeyType: cmk,
			Tags: tags("prod", "CC-7100", "windows-team@example.com")},
			weight: 3, types: ty(TypeFSx, 1), plans: pl(p.weekly90, 1), env: "prod", app: -1},
		{v: &Vault{Name: "analytics-redshift", EncryptionKeyArn: k.vaultProd, EncryptionKeyType: cmk,
			Tags: tags("prod", "CC-6100", "data-platform@example.com")},
			weight: 3, types: ty(TypeRedshift, 1), plans: pl(p.daily35, 50, p.monthly365, 50), env: "prod", app: 4},
		{v: &Vault{Name: "finance-records", EncryptionKeyArn: k.vaultFinance, EncryptionKeyType: cmk,
			Tags:         tags("prod", "CC-8100", "finance-it@example.com"),
			AccessPolicy: policyAccountCopy(DestinationAccount, true), SNSTopicArn: sns, VaultEvents: eventsAll,
			Locked: true, MinRetentionDays: i64(365), MaxRetentionDays: i64(2555), LockDate: &compliance},
			weight: 6, types: ty(TypeRDS, 40, TypeS3, 30, TypeDynamoDB, 30), plans: pl(p.yearly2555Cold, 60, p.monthly365, 40), env: "prod", app: 6},
		{v: &Vault{Name: "legal-hold-airgapped", VaultType: "LOGICALLY_AIR_GAPPED_BACKUP_VAULT", VaultState: "AVAILABLE",
			EncryptionKeyArn: k.awsBackup, EncryptionKeyType: "AWS_OWNED_KMS_KEY",
			Tags:         map[string]string{"Environment": "prod", "CostCenter": "CC-8100", "Owner": "legal@example.com", "Purpose": "legal-hold"},
			AccessPolicy: policyDenyDelete,
			Locked:       true, MinRetentionDays: i64(90), MaxRetentionDays: i64(3650)},
			weight: 4, types: ty(TypeS3, 30, TypeEFS, 20, TypeDynamoDB, 30, TypeEBS, 20), plans: pl(p.monthly365, 50, p.yearly2555, 50), reuse: 0.5, env: "prod", app: -1},
		{v: &Vault{Name: "dev-ebs-daily", EncryptionKeyArn: k.vaultNonprod, EncryptionKeyType: cmk,
			Tags: tags("dev", "CC-9100", "platform-eng@example.com"), CreatorRequestId: "terraform-dev-ebs-daily"},
			weight: 7, types: ty(TypeEBS, 70, TypeEC2, 30), plans: pl(p.daily35, 1), env: "dev", app: -1},
		{v: &Vault{Name: "staging-mixed", EncryptionKeyArn: k.vaultNonprod, EncryptionKeyType: cmk,
			CreatorRequestId: "terraform-staging-mixed"},
			weight: 5, types: ty(TypeEC2, 15, TypeEBS, 15, TypeRDS, 15, TypeAurora, 10, TypeS3, 15, TypeEFS, 10, TypeDynamoDB, 10, TypeFSx, 5, TypeRedshift, 5),
			plans: pl(p.daily35, 70, p.weekly90, 30), env: "staging", continuous: true, app: -1},
		{v: &Vault{Name: "Default", EncryptionKeyArn: k.awsBackup},
			weight: 3, types: ty(TypeEBS, 30, TypeEC2, 20, TypeRDS, 20, TypeS3, 10, TypeDynamoDB, 10, TypeEFS, 10),
			plans: pl(p.onDemand, 60, p.daily35, 40), reuse: 0.2, env: "dev", app: -1},
	}
	for i, sv := range vs {
		v := sv.v
		v.Account = SourceAccount
		v.Arn = g.w.vaultArn(SourceAccount, v.Name)
		v.CreationDate = now.AddDate(-3, -2, -17*i).Add(time.Duration(r.IntN(86400)) * time.Second)
		if v.VaultType == "LOGICALLY_AIR_GAPPED_BACKUP_VAULT" {
			// Air-gapped vaults are newer; they lock when created.
			v.CreationDate = now.AddDate(-1, -3, 0).Add(time.Duration(r.IntN(86400)) * time.Second)
			ld := v.CreationDate.Add(72 * time.Hour)
			v.LockDate = &ld
		}
		v.AvailableAt = v.CreationDate
		g.w.addVault(v)
	}
	g.vaults = vs
}

// seedDestination creates the two pre-existing destination vaults.
func (g *seedGen) seedDestination(now time.Time) {
	a := g.w.accounts[SourceAccount]
	src := a.vaults["prod-rds-monthly"]
	match := &Vault{Name: src.Name, Account: DestinationAccount,
		EncryptionKeyArn: g.keys.destProd, EncryptionKeyType: "CUSTOMER_MANAGED_KMS_KEY",
		CreationDate: now.AddDate(0, 0, -20), Tags: copyStringMap(src.Tags),
		Locked: true, MinRetentionDays: i64(*src.MinRetentionDays), MaxRetentionDays: i64(*src.MaxRetentionDays),
		AccessPolicy: policyAccountCopy(SourceAccount, false)}
	match.AvailableAt = match.CreationDate
	g.w.addVault(match)

	fin := a.vaults["finance-records"]
	drift := &Vault{Name: fin.Name, Account: DestinationAccount,
		EncryptionKeyArn: g.keys.destFinance, EncryptionKeyType: "CUSTOMER_MANAGED_KMS_KEY",
		CreationDate: now.AddDate(0, 0, -19),
		Tags:         map[string]string{"Environment": "prod", "CostCenter": "CC-8000"},
		Locked:       true, MinRetentionDays: i64(30), MaxRetentionDays: i64(1825),
		AccessPolicy: policyAccountCopy(SourceAccount, false)}
	drift.AvailableAt = drift.CreationDate
	g.w.addVault(drift)
}

func copyStringMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ---- recovery points ----

// quotas spreads n RPs over the vaults by weight. From 2 per vault on,
// every vault gets at least 2; no vault gets exactly 1 unless n is 1.
func (g *seedGen) quotas(n int) {
	vs := g.vaults
	base := 0
	if n >= 2*len(vs) {
		base = 2
	}
	rem := n - base*len(vs)
	wsum := 0
	for _, sv := range vs {
		wsum += sv.weight
	}
	used := 0
	for _, sv := range vs {
		sv.quota = base + rem*sv.weight/wsum
		used += sv.quota
	}
	vs[0].quota += n - used
	for _, sv := range vs[1:] {
		if sv.quota == 1 {
			sv.quota = 0
			vs[0].quota++
		}
	}
}

func (g *seedGen) seedRecoveryPoints(n int) {
	g.quotas(n)
	a := g.w.accounts[SourceAccount]
	if len(a.rpIndex) == 0 && n > 0 {
		a.rpIndex = make(map[string]*RecoveryPoint, n)
	}
	for vi, sv := range g.vaults {
		if sv.quota == 0 {
			continue
		}
		sv.v.rps = make([]*RecoveryPoint, 0, sv.quota)
		left := sv.quota
		for j := 0; left > 0; j++ {
			k := 2 + g.r.IntN(11)
			if k > left {
				k = left
			}
			if left-k == 1 {
				if k > 2 {
					k--
				} else {
					k++
				}
			}
			left -= k
			var typ string
			if j == 0 {
				typ = sv.types[0].v
			} else {
				typ = pick(g.r, sv.types)
			}
			res := g.resourceFor(vi, sv, typ)
			g.addResourceRPs(vi, sv, res, k)
		}
	}
}

func typeIndex(t string) int {
	for i, s := range seedTypes {
		if s == t {
			return i
		}
	}
	panic("testenv: unknown resource type " + t)
}

// resourceFor returns a new resource of type typ, or with chance
// sv.reuse one already backed up into an earlier vault.
func (g *seedGen) resourceFor(vi int, sv *seedVault, typ string) *seedResource {
	ti := typeIndex(typ)
	if sv.reuse > 0 && len(g.pool[ti]) > 0 && g.r.Float64() < sv.reuse {
		res := g.pool[ti][g.r.IntN(len(g.pool[ti]))]
		if res.lastVault != vi {
			res.lastVault = vi
			return res
		}
	}
	app := sv.app
	if app < 0 {
		app = g.r.IntN(len(seedApps))
	}
	res := &seedResource{typ: typ, env: sv.env, app: app, lastVault: vi}
	g.counter[ti]++
	g.nameResource(res, g.counter[ti])
	lo, hi := sizeRange(typ)
	res.size = logUniform(g.r, lo, hi)
	if !Types[typ].FullyManaged {
		g.nonFM++
		aws := typ != TypeRedshift && (g.nonFM == 4 || g.r.Float64() < 0.07)
		res.keyType = "CUSTOMER_MANAGED_KMS_KEY"
		switch typ {
		case TypeEBS, TypeEC2:
			res.keyArn = g.keys.ebs
			if aws {
				res.keyArn = g.keys.awsEBS
			}
		case TypeRDS, TypeAurora:
			res.keyArn = g.keys.rds
			if aws {
				res.keyArn = g.keys.awsRDS
			}
		case TypeFSx:
			res.keyArn = g.keys.fsx
			if aws {
				res.keyArn = g.keys.awsFSx
			}
		case TypeRedshift:
			res.keyArn = g.keys.redshift
		}
		if aws {
			res.keyType = ""
		}
	}
	g.pool[ti] = append(g.pool[ti], res)
	g.res = append(g.res, res)
	return res
}

// nameResource sets the resource's name and ARN.
func (g *seedGen) nameResource(res *seedResource, n int) {
	app := seedApps[res.app].slug
	num := strconv.Itoa(n)
	if len(num) < 4 {
		num = strings.Repeat("0", 4-len(num)) + num
	}
	acctRegion := g.region + ":" + SourceAccount + ":"
	b := g.buf[:0]
	switch res.typ {
	case TypeEBS:
		res.name = res.env + "-" + app + "-vol-" + num
		b = append(b, "arn:aws:ec2:"+acctRegion+"volume/vol-"...)
		b = g.hex(b, 17)
	case TypeEC2:
		res.name = res.env + "-" + app + "-app-" + num
		b = append(b, "arn:aws:ec2:"+acctRegion+"instance/i-"...)
		b = g.hex(b, 17)
	case TypeRDS:
		res.name = res.env + "-" + app + "-db-" + num
		b = append(b, "arn:aws:rds:"+acctRegion+"db:"+res.name...)
	case TypeAurora:
		res.name = res.env + "-" + app + "-aurora-" + num
		b = append(b, "arn:aws:rds:"+acctRegion+"cluster:"+res.name...)
	case TypeS3:
		res.name = "acme-" + res.env + "-" + app + "-data-" + num
		b = append(b, "arn:aws:s3:::"+res.name...)
	case TypeEFS:
		res.name = res.env + "-" + app + "-shared-" + num
		b = append(b, "arn:aws:elasticfilesystem:"+acctRegion+"file-system/fs-"...)
		b = g.hex(b, 17)
	case TypeDynamoDB:
		res.name = res.env + "-" + app + "-table-" + num
		b = append(b, "arn:aws:dynamodb:"+acctRegion+"table/"+res.name...)
	case TypeFSx:
		res.name = res.env + "-" + app + "-fsx-" + num
		b = append(b, "arn:aws:fsx:"+acctRegion+"file-system/fs-"...)
		b = g.hex(b, 17)
	case TypeRedshift:
		res.name = res.env + "-" + app + "-dw-" + num
		b = append(b, "arn:aws:redshift:"+acctRegion+"cluster:"+res.name...)
	}
	res.arn = string(b)
	g.buf = b
}

// sizeRange is the resource size range of a type, in bytes.
func sizeRange(t string) (lo, hi float64) {
	const gib, tib = 1 << 30, 1 << 40
	switch t {
	case TypeEBS:
		return 8 * gib, 2 * tib
	case TypeEC2:
		return 8 * gib, 1 * tib
	case TypeRDS:
		return 5 * gib, 4 * tib
	case TypeAurora:
		return 10 * gib, 8 * tib
	case TypeS3:
		return 1 * gib, 20 * tib
	case TypeEFS:
		return 0.1 * gib, 5 * tib
	case TypeDynamoDB:
		return 0.01 * gib, 500 * gib
	case TypeFSx:
		return 32 * gib, 10 * tib
	default: // Redshift
		return 50 * gib, 10 * tib
	}
}

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
}

type rpDraft struct {
	t      int64
	status string
}

const day = 86400

// addResourceRPs adds k RPs of res to vault sv.
func (g *seedGen) addResourceRPs(vi int, sv *seedVault, res *seedResource, k int) {
	r := g.r
	plan := pick(r, sv.plans)
	res.rps += k
	keyArn, keyType := res.keyArn, res.keyType
	if Types[res.typ].FullyManaged {
		keyArn, keyType = sv.v.EncryptionKeyArn, sv.v.EncryptionKeyType
	}
	cold := int64(0)
	if coldCapable(res.typ) {
		cold = plan.cold
	}
	if sv.continuous && (res.typ == TypeRDS || res.typ == TypeS3) && (!sv.hadCont || r.Float64() < 0.3) {
		sv.hadCont = true
		g.addContinuous(sv, res, plan, keyArn, keyType)
		k--
	}

	window := int64(1095)
	if plan.del > 0 && plan.del < window {
		window = plan.del
	}
	// The newest possible backup: today's window if it is 12 h old, else
	// yesterday's.
	base := g.now - g.now%day + plan.hour*3600
	if base > g.now-12*3600 {
		base -= day
	}
	var drafts [13]rpDraft
	for i := 0; i < k; i++ {
		status := statusCompleted
		d := r.Int64N(max(window-1, 1))
		switch u := r.IntN(1000); {
		case u < 15:
			status = statusPartial
		case u < 25:
			status = statusExpired
			// Past retention, unless that is older than the ~3 years
			// the seed spans.
			if plan.del > 0 && plan.del < window+30 {
				d = plan.del + 1 + r.Int64N(60)
			}
		case u < 35:
			status = statusDeleting
			if plan.del > 0 && plan.del <= window {
				d = plan.del
			}
		}
		drafts[i] = rpDraft{t: base - d*day + r.Int64N(3600), status: status}
	}
	// Oldest first.
	for i := 1; i < k; i++ {
		for j := i; j > 0 && drafts[j].t < drafts[j-1].t; j-- {
			drafts[j], drafts[j-1] = drafts[j-1], drafts[j]
		}
	}
	for i := 0; i < k; i++ {
		rp := g.newRP(sv, res, plan, keyArn, keyType)
		dr := drafts[i]
		rp.Status = dr.status
		switch dr.status {
		case statusPartial:
			rp.StatusMessage = msgPartial
		case statusExpired:
			rp.StatusMessage = msgExpired
		}
		size := res.size * (0.85 + 0.3*r.Float64())
		if dr.status == statusPartial {
			size *= 0.7
		}
		rp.BackupSizeInBytes = int64(size)
		rp.CreationDate = time.Unix(dr.t, 0).UTC()
		rp.CompletionDate = time.Unix(dr.t+g.duration(size), 0).UTC()
		if plan.del > 0 {
			rp.Lifecycle.DeleteAfterDays = g.int64p(plan.del)
		}
		if cold > 0 {
			rp.Lifecycle.MoveToColdStorageAfterDays = g.int64p(cold)
			rp.Cold = dr.t+cold*day < g.now
		}
		rp.Arn = g.rpArn(res)
		g.w.addRP(rp)
	}
}

// duration is a backup job's run time in seconds: a few minutes to hours.
func (g *seedGen) duration(size float64) int64 {
	d := 120 + int64(size/150e6*(0.5+g.r.Float64()))
	return min(d, 10*3600+g.r.Int64N(3600))
}

// newRP returns a fresh RP with the fields shared by every RP of res.
func (g *seedGen) newRP(sv *seedVault, res *seedResource, plan *seedPlan, keyArn, keyType string) *RecoveryPoint {
	if len(g.rpBuf) == 0 {
		g.rpBuf = make([]RecoveryPoint, 4096)
	}
	rp := &g.rpBuf[0]
	g.rpBuf = g.rpBuf[1:]
	rp.VaultName = sv.v.Name
	rp.Account = SourceAccount
	rp.ResourceArn = res.arn
	rp.ResourceType = res.typ
	rp.ResourceName = res.name
	rp.BackupPlanId = plan.id
	rp.IamRoleArn = defaultBackupRole
	rp.EncryptionKeyArn = keyArn
	rp.EncryptionKeyType = keyType
	rp.IsEncrypted = true
	return rp
}

// addContinuous adds the continuous (point-in-time) RP of res.
func (g *seedGen) addContinuous(sv *seedVault, res *seedResource, plan *seedPlan, keyArn, keyType string) {
	r := g.r
	rp := g.newRP(sv, res, plan, keyArn, keyType)
	rp.Continuous = true
	rp.Status = statusCompleted
	start := g.now - (1+r.Int64N(34))*day - r.Int64N(day)
	rp.CreationDate = time.Unix(start, 0).UTC()
	rp.CompletionDate = time.Unix(start+300+r.Int64N(1800), 0).UTC()
	rp.BackupSizeInBytes = int64(res.size * (1 + 0.1*r.Float64()))
	rp.Lifecycle.DeleteAfterDays = g.int64p(35)
	b := append(g.buf[:0], "arn:aws:backup:"+g.region+":"+SourceAccount+":recovery-point:continuous:"...)
	if res.typ == TypeRDS {
		b = append(b, "db-"...)
		for range 26 {
			b = append(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[r.IntN(36)])
		}
	} else {
		b = append(b, res.name...)
	}
	b = append(b, '-')
	b = g.hex(b, 8)
	g.buf = b
	rp.Arn = g.str(b)
	g.w.addRP(rp)
}

// rpArn returns a new RP ARN for res.
func (g *seedGen) rpArn(res *seedResource) string {
	b := g.buf[:0]
	acctRegion := func(b []byte, svc string) []byte {
		b = append(b, "arn:aws:"...)
		b = append(b, svc...)
		b = append(b, ':')
		b = append(b, g.region...)
		b = append(b, ':')
		b = append(b, SourceAccount...)
		return append(b, ':')
	}
	switch res.typ {
	case TypeEBS:
		b = append(b, "arn:aws:ec2:"...)
		b = append(b, g.region...)
		b = append(b, "::snapshot/snap-"...)
		b = g.hex(b, 17)
	case TypeEC2:
		b = append(b, "arn:aws:ec2:"...)
		b = append(b, g.region...)
		b = append(b, "::image/ami-"...)
		b = g.hex(b, 17)
	case TypeRDS:
		b = acctRegion(b, "rds")
		b = append(b, "snapshot:awsbackup:job-"...)
		b = appendUUID(b, g.r)
	case TypeAurora:
		b = acctRegion(b, "rds")
		b = append(b, "cluster-snapshot:awsbackup:job-"...)
		b = appendUUID(b, g.r)
	case TypeS3, TypeEFS, TypeDynamoDB:
		b = acctRegion(b, "backup")
		b = append(b, "recovery-point:"...)
		b = appendUUID(b, g.r)
	case TypeFSx:
		b = acctRegion(b, "fsx")
		b = append(b, "backup/backup-"...)
		b = g.hex(b, 17)
	case TypeRedshift:
		b = acctRegion(b, "redshift")
		b = append(b, "snapshot:"...)
		b = append(b, res.name...)
		b = append(b, "/awsbackup:job-"...)
		b = appendUUID(b, g.r)
	}
	g.buf = b
	return g.str(b)
}

// str copies b into a shared string arena: many small strings share one
// allocation, which keeps a million ARNs cheap for the GC.
func (g *seedGen) str(b []byte) string {
	if g.arena == nil || g.arena.Cap()-g.arena.Len() < len(b) {
		g.arena = new(strings.Builder)
		g.arena.Grow(max(256<<10, len(b)))
	}
	start := g.arena.Len()
	g.arena.Write(b)
	return g.arena.String()[start:]
}

// int64p returns a pointer to a fresh int64 holding v, from a slab.
func (g *seedGen) int64p(v int64) *int64 {
	if len(g.lcBuf) == 0 {
		g.lcBuf = make([]int64, 8192)
	}
	p := &g.lcBuf[0]
	g.lcBuf = g.lcBuf[1:]
	*p = v
	return p
}

const hexDigits = "0123456789abcdef"

// hex appends n random lowercase hex digits.
func (g *seedGen) hex(b []byte, n int) []byte {
	for n > 0 {
		x := g.r.Uint64()
		for i := 0; i < 16 && n > 0; i++ {
			b = append(b, hexDigits[x&15])
			x >>= 4
			n--
		}
	}
	return b
}

// appendUUID appends a random version 4 UUID.
func appendUUID(b []byte, r *rand.Rand) []byte {
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^(0xf<<12) | 4<<12   // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	put := func(b []byte, x uint64, n int) []byte {
		for i := n - 1; i >= 0; i-- {
			b = append(b, hexDigits[(x>>(4*uint(i)))&15])
		}
		return b
	}
	b = put(b, hi>>32, 8)
	b = append(b, '-')
	b = put(b, hi>>16, 4)
	b = append(b, '-')
	b = put(b, hi, 4)
	b = append(b, '-')
	b = put(b, lo>>48, 4)
	b = append(b, '-')
	return put(b, lo, 12)
}

// ensureCoverage makes sure small worlds still show every status and a
// cold RP. For a few thousand RPs and more, chance has done it already.
func (g *seedGen) ensureCoverage() {
	var all []*RecoveryPoint
	a := g.w.accounts[SourceAccount]
	for _, name := range a.vaultOrder {
		all = append(all, a.vaults[name].rps...)
	}
	if len(all) < 8 {
		return
	}
	has := func(f func(*RecoveryPoint) bool) bool {
		for _, rp := range all {
			if f(rp) {
				return true
			}
		}
		return false
	}
	plain := func(rp *RecoveryPoint) bool {
		return rp.Status == statusCompleted && !rp.Continuous && !rp.Cold
	}
	if !has(func(rp *RecoveryPoint) bool { return rp.Cold }) {
		for _, rp := range all {
			if plain(rp) && coldCapable(rp.ResourceType) && !a.vaults[rp.VaultName].Locked {
				t := time.Unix(g.now-200*day, 0).UTC()
				rp.CompletionDate = t.Add(rp.CompletionDate.Sub(rp.CreationDate))
				rp.CreationDate = t
				rp.Lifecycle.DeleteAfterDays = g.int64p(365)
				rp.Lifecycle.MoveToColdStorageAfterDays = g.int64p(90)
				rp.Cold = true
				break
			}
		}
	}
	for _, st := range []string{statusPartial, statusExpired, statusDeleting} {
		if has(func(rp *RecoveryPoint) bool { return rp.Status == st }) {
			continue
		}
		// Take a plain RP from the middle so the fix does not always
		// land on the first vault's first resource.
		for i := range all {
			rp := all[(i+len(all)/2)%len(all)]
			if !plain(rp) {
				continue
			}
			rp.Status = st
			switch st {
			case statusPartial:
				rp.StatusMessage = msgPartial
			case statusExpired:
				rp.StatusMessage = msgExpired
			}
			break
		}
	}
}
