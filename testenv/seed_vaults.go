package testenv

import (
	"math/rand/v2"
	"time"
)

// The seeded world's KMS keys, backup plans and vaults.

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

// weights pairs values with their weights: weights(a, 3, b, 1).
func weights[T any](vw ...any) []weighted[T] {
	var out []weighted[T]
	for i := 0; i < len(vw); i += 2 {
		out = append(out, weighted[T]{vw[i].(T), vw[i+1].(int)})
	}
	return out
}

// sourceVaults is the table of the source account's vaults: their
// settings, and the resource types and plans of their recovery points.
func (g *seedGen) sourceVaults(p seedPlanSet, now time.Time) []*seedVault {
	k := g.keys
	sns := "arn:aws:sns:" + g.region + ":" + SourceAccount + ":backup-events"
	eventsStd := []string{"BACKUP_JOB_COMPLETED", "COPY_JOB_FAILED", "RESTORE_JOB_COMPLETED"}
	eventsAll := []string{"BACKUP_JOB_STARTED", "BACKUP_JOB_COMPLETED", "COPY_JOB_STARTED", "COPY_JOB_SUCCESSFUL", "COPY_JOB_FAILED", "RECOVERY_POINT_MODIFIED"}
	cmk := "CUSTOMER_MANAGED_KMS_KEY"
	ty, pl := weights[string], weights[*seedPlan]
	compliance := now.AddDate(-2, -3, 0)
	return []*seedVault{
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
}

// seedVaults creates the source vaults (sourceVaults) with their
// creation and lock dates.
func (g *seedGen) seedVaults(r *rand.Rand, p seedPlanSet, now time.Time) {
	vs := g.sourceVaults(p, now)
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
