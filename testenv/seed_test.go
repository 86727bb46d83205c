package testenv

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unsafe"
)

var seedTestNow = time.Date(2026, time.March, 2, 9, 30, 0, 0, time.UTC)

func seedForTest(t testing.TB, n int, seed int64) (*world, *seedResult) {
	t.Helper()
	w := newWorld(DefaultRegion)
	res := seedWorld(w, SeedOptions{Seed: seed, RecoveryPoints: n, Region: DefaultRegion, Now: seedTestNow})
	return w, res
}

// sourceRPs lists the source RPs in vault order.
func sourceRPs(w *world) []*RecoveryPoint {
	a := w.accounts[SourceAccount]
	var out []*RecoveryPoint
	for _, name := range a.vaultOrder {
		out = append(out, a.vaults[name].rps...)
	}
	return out
}

func sourceVaults(w *world) []*Vault {
	a := w.accounts[SourceAccount]
	var out []*Vault
	for _, name := range a.vaultOrder {
		out = append(out, a.vaults[name])
	}
	return out
}

var (
	hex17 = `[0-9a-f]{17}`
	uuidP = `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`
	rr    = `us-east-1:111111111111:`

	rpArnRE = map[string]*regexp.Regexp{
		TypeEBS:      regexp.MustCompile(`^arn:aws:ec2:us-east-1::snapshot/snap-` + hex17 + `$`),
		TypeEC2:      regexp.MustCompile(`^arn:aws:ec2:us-east-1::image/ami-` + hex17 + `$`),
		TypeRDS:      regexp.MustCompile(`^arn:aws:rds:` + rr + `snapshot:awsbackup:job-` + uuidP + `$`),
		TypeAurora:   regexp.MustCompile(`^arn:aws:rds:` + rr + `cluster-snapshot:awsbackup:job-` + uuidP + `$`),
		TypeS3:       regexp.MustCompile(`^arn:aws:backup:` + rr + `recovery-point:` + uuidP + `$`),
		TypeEFS:      regexp.MustCompile(`^arn:aws:backup:` + rr + `recovery-point:` + uuidP + `$`),
		TypeDynamoDB: regexp.MustCompile(`^arn:aws:backup:` + rr + `recovery-point:` + uuidP + `$`),
		TypeFSx:      regexp.MustCompile(`^arn:aws:fsx:` + rr + `backup/backup-` + hex17 + `$`),
		TypeRedshift: regexp.MustCompile(`^arn:aws:redshift:` + rr + `snapshot:[a-z0-9-]+/awsbackup:job-` + uuidP + `$`),
	}
	continuousRE = regexp.MustCompile(`^arn:aws:backup:` + rr + `recovery-point:continuous:[A-Za-z0-9-]+-[0-9a-f]{8}$`)
	resArnRE     = map[string]*regexp.Regexp{
		TypeEBS:      regexp.MustCompile(`^arn:aws:ec2:` + rr + `volume/vol-` + hex17 + `$`),
		TypeEC2:      regexp.MustCompile(`^arn:aws:ec2:` + rr + `instance/i-` + hex17 + `$`),
		TypeRDS:      regexp.MustCompile(`^arn:aws:rds:` + rr + `db:[a-z0-9-]+$`),
		TypeAurora:   regexp.MustCompile(`^arn:aws:rds:` + rr + `cluster:[a-z0-9-]+$`),
		TypeS3:       regexp.MustCompile(`^arn:aws:s3:::[a-z0-9.-]{3,63}$`),
		TypeEFS:      regexp.MustCompile(`^arn:aws:elasticfilesystem:` + rr + `file-system/fs-` + hex17 + `$`),
		TypeDynamoDB: regexp.MustCompile(`^arn:aws:dynamodb:` + rr + `table/[A-Za-z0-9_.-]+$`),
		TypeFSx:      regexp.MustCompile(`^arn:aws:fsx:` + rr + `file-system/fs-` + hex17 + `$`),
		TypeRedshift: regexp.MustCompile(`^arn:aws:redshift:` + rr + `cluster:[a-z0-9-]+$`),
	}
	kmsArnRE = regexp.MustCompile(`^arn:aws:kms:us-east-1:(111111111111|222222222222):key/[0-9a-f]+(-[0-9a-f]+){4}$`)
)

func TestSeedTypeListCoversTypes(t *testing.T) {
	if len(seedTypes) != len(Types) {
		t.Fatalf("seedTypes has %d types, Types %d", len(seedTypes), len(Types))
	}
	for _, ty := range seedTypes {
		if _, ok := Types[ty]; !ok {
			t.Errorf("seed type %s not in Types", ty)
		}
	}
}

func TestSeedVaults(t *testing.T) {
	w, _ := seedForTest(t, 2000, 1)
	vs := sourceVaults(w)
	if len(vs) < 12 {
		t.Fatalf("%d source vaults, want at least 12", len(vs))
	}
	nameRE := regexp.MustCompile(`^[a-zA-Z0-9\-_]{2,50}$`)
	var lag, governance, compliance, policies, allowCopy, denyDelete, notif, tagged, cmk, awsBackup int
	srcKeys := w.accounts[SourceAccount].keys
	for _, v := range vs {
		if !nameRE.MatchString(v.Name) {
			t.Errorf("vault name %q does not match the AWS pattern", v.Name)
		}
		if v.Arn != "arn:aws:backup:us-east-1:111111111111:backup-vault:"+v.Name {
			t.Errorf("vault %s ARN %s", v.Name, v.Arn)
		}
		if v.CreationDate.IsZero() || !v.CreationDate.Before(seedTestNow) {
			t.Errorf("vault %s creation date %v", v.Name, v.CreationDate)
		}
		if v.Locked && (v.MinRetentionDays == nil || v.MaxRetentionDays == nil || *v.MinRetentionDays > *v.MaxRetentionDays) {
			t.Errorf("vault %s locked without a valid min/max", v.Name)
		}
		switch {
		case v.VaultType == "LOGICALLY_AIR_GAPPED_BACKUP_VAULT":
			lag++
			if v.VaultState != "AVAILABLE" || !v.Locked || v.MinRetentionDays == nil || v.MaxRetentionDays == nil ||
				v.LockDate == nil || v.EncryptionKeyType != "AWS_OWNED_KMS_KEY" {
				t.Errorf("air-gapped vault %s: %+v", v.Name, v)
			}
		case v.VaultType != "BACKUP_VAULT":
			t.Errorf("vault %s type %q", v.Name, v.VaultType)
		case v.Locked && v.LockDate == nil:
			governance++
		case v.Locked && v.LockDate.Before(seedTestNow):
			compliance++
		}
		if v.AccessPolicy != "" {
			policies++
			var doc struct {
				Statement []struct {
					Effect    string
					Principal any
					Action    any
				}
			}
			if err := json.Unmarshal([]byte(v.AccessPolicy), &doc); err != nil {
				t.Errorf("vault %s policy: %v", v.Name, err)
			}
			for _, s := range doc.Statement {
				acts := []string{}
				switch a := s.Action.(type) {
				case string:
					acts = append(acts, a)
				case []any:
					for _, x := range a {
						acts = append(acts, x.(string))
					}
				}
				if s.Effect == "Allow" && slices.Contains(acts, "backup:CopyIntoBackupVault") {
					allowCopy++
				}
				if s.Effect == "Deny" && slices.Contains(acts, "backup:DeleteRecoveryPoint") {
					p := s.Principal
					if m, ok := p.(map[string]any); ok {
						p = m["AWS"]
					}
					if p == "*" {
						denyDelete++
					}
				}
			}
		}
		if v.SNSTopicArn != "" {
			if v.SNSTopicArn != "arn:aws:sns:us-east-1:111111111111:backup-events" || !slices.Contains(v.VaultEvents, "COPY_JOB_FAILED") {
				t.Errorf("vault %s notifications %s %v", v.Name, v.SNSTopicArn, v.VaultEvents)
			}
			notif++
		}
		if v.Tags["Environment"] != "" && v.Tags["CostCenter"] != "" && v.Tags["Owner"] != "" {
			tagged++
		}
		k := srcKeys[v.EncryptionKeyArn]
		if k == nil {
			t.Errorf("vault %s key %q is not a registered source key", v.Name, v.EncryptionKeyArn)
			continue
		}
		if v.EncryptionKeyType == "CUSTOMER_MANAGED_KMS_KEY" {
			if k.AWSManaged || !kmsArnRE.MatchString(k.Arn) {
				t.Errorf("vault %s CMK %+v", v.Name, k)
			}
			cmk++
		}
		if k.AWSManaged && k.Alias == "aws/backup" && v.VaultType == "BACKUP_VAULT" {
			awsBackup++
		}
	}
	if lag != 1 || governance < 1 || compliance < 1 {
		t.Errorf("lag=%d governance=%d compliance=%d, want 1, >=1, >=1", lag, governance, compliance)
	}
	if policies < 2 || allowCopy < 2 || denyDelete < 1 {
		t.Errorf("policies=%d allowCopy=%d denyDelete=%d", policies, allowCopy, denyDelete)
	}
	if notif < 2 || tagged < 3 {
		t.Errorf("notifications=%d tagged=%d", notif, tagged)
	}
	if cmk < len(vs)/2 || awsBackup < 1 {
		t.Errorf("CMK vaults=%d aws/backup vaults=%d", cmk, awsBackup)
	}
}

func TestSeedKeys(t *testing.T) {
	w, _ := seedForTest(t, 100, 1)
	alias := func(acct string) map[string]*KMSKey {
		m := map[string]*KMSKey{}
		for _, k := range w.accounts[acct].keys {
			if !kmsArnRE.MatchString(k.Arn) || !strings.Contains(k.Arn, ":"+acct+":") {
				t.Errorf("key ARN %s in account %s", k.Arn, acct)
			}
			m[k.Alias] = k
		}
		return m
	}
	src, dst := alias(SourceAccount), alias(DestinationAccount)
	for _, a := range []string{"aws/ebs", "aws/rds", "aws/backup", "aws/fsx"} {
		if k := src[a]; k == nil || !k.AWSManaged {
			t.Errorf("source AWS managed key %s: %+v", a, k)
		}
	}
	cmks, destCMKs := 0, 0
	for _, k := range src {
		if !k.AWSManaged {
			cmks++
		}
	}
	for a, k := range dst {
		if k.AWSManaged {
			continue
		}
		destCMKs++
		if s := src[a]; s == nil || s.AWSManaged {
			t.Errorf("destination CMK alias %s has no source CMK to map from", a)
		}
	}
	if cmks < 3 || destCMKs < 2 {
		t.Errorf("source CMKs=%d destination CMKs=%d", cmks, destCMKs)
	}
}

func TestSeedRecoveryPoints(t *testing.T) {
	const n = 2000
	w, res := seedForTest(t, n, 1)
	a := w.accounts[SourceAccount]
	rps := sourceRPs(w)
	if len(rps) != n || len(a.rpIndex) != n {
		t.Fatalf("%d RPs in vaults, %d indexed, want %d", len(rps), len(a.rpIndex), n)
	}
	types := map[string]int{}
	statuses := map[string]int{}
	plans := map[string]bool{}
	var continuous, cold, awsManagedRPs, nonFM int
	perResource := map[string]int{}
	perVaultResource := map[[2]string]int{}
	resArnData := map[string]*byte{}
	minCreated := seedTestNow.AddDate(-3, 0, -120)
	for _, rp := range rps {
		v := a.vaults[rp.VaultName]
		types[rp.ResourceType]++
		statuses[rp.Status]++
		plans[rp.BackupPlanId] = true
		perResource[rp.ResourceArn]++
		perVaultResource[[2]string{rp.VaultName, rp.ResourceArn}]++
		if p, ok := resArnData[rp.ResourceArn]; ok && p != unsafe.StringData(rp.ResourceArn) {
			t.Errorf("RPs of %s do not share the ResourceArn string", rp.ResourceArn)
		}
		resArnData[rp.ResourceArn] = unsafe.StringData(rp.ResourceArn)
		if a.rpIndex[rp.Arn] != rp || rp.Account != SourceAccount {
			t.Errorf("RP %s not indexed", rp.Arn)
		}
		if !resArnRE[rp.ResourceType].MatchString(rp.ResourceArn) {
			t.Errorf("%s resource ARN %s", rp.ResourceType, rp.ResourceArn)
		}
		if rp.ResourceName == "" || rp.IamRoleArn != "arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole" || !rp.IsEncrypted {
			t.Errorf("RP %s: name %q role %q encrypted %v", rp.Arn, rp.ResourceName, rp.IamRoleArn, rp.IsEncrypted)
		}
		if rp.CreationDate.Before(minCreated) || !rp.CreationDate.Before(seedTestNow) ||
			!rp.CompletionDate.After(rp.CreationDate) || rp.CompletionDate.Sub(rp.CreationDate) > 11*time.Hour ||
			rp.CompletionDate.After(seedTestNow) {
			t.Errorf("RP %s dates %v .. %v", rp.Arn, rp.CreationDate, rp.CompletionDate)
		}
		if rp.BackupSizeInBytes < 5<<20 || rp.BackupSizeInBytes > 25<<40 {
			t.Errorf("RP %s size %d", rp.Arn, rp.BackupSizeInBytes)
		}
		switch rp.Status {
		case statusCompleted, statusPartial, statusExpired, statusDeleting:
		default:
			t.Errorf("RP %s status %s", rp.Arn, rp.Status)
		}
		lc := rp.Lifecycle
		if d := lc.DeleteAfterDays; d != nil && !slices.Contains([]int64{35, 90, 365, 2555}, *d) {
			t.Errorf("RP %s DeleteAfterDays %d", rp.Arn, *d)
		}
		if c := lc.MoveToColdStorageAfterDays; c != nil {
			if !coldCapable(rp.ResourceType) || lc.DeleteAfterDays == nil || *lc.DeleteAfterDays < *c+90 {
				t.Errorf("RP %s %s lifecycle cold %d delete %v", rp.Arn, rp.ResourceType, *c, lc.DeleteAfterDays)
			}
		}
		wantCold := lc.MoveToColdStorageAfterDays != nil &&
			rp.CreationDate.AddDate(0, 0, int(*lc.MoveToColdStorageAfterDays)).Before(seedTestNow)
		if rp.Cold != wantCold {
			t.Errorf("RP %s Cold=%v, lifecycle says %v", rp.Arn, rp.Cold, wantCold)
		}
		if rp.Cold {
			cold++
		}
		if v.Locked && (lc.DeleteAfterDays == nil || *lc.DeleteAfterDays < *v.MinRetentionDays || *lc.DeleteAfterDays > *v.MaxRetentionDays) {
			t.Errorf("RP %s in locked vault %s has retention %v", rp.Arn, v.Name, lc.DeleteAfterDays)
		}
		if rp.Status == statusCompleted && lc.DeleteAfterDays != nil &&
			rp.CreationDate.AddDate(0, 0, int(*lc.DeleteAfterDays)).Before(seedTestNow) {
			t.Errorf("RP %s COMPLETED but past its retention", rp.Arn)
		}
		if rp.Continuous {
			continuous++
			if (rp.ResourceType != TypeRDS && rp.ResourceType != TypeS3) || !continuousRE.MatchString(rp.Arn) ||
				rp.Status != statusCompleted || lc.MoveToColdStorageAfterDays != nil || rp.Cold {
				t.Errorf("continuous RP %+v", rp)
			}
		} else if !rpArnRE[rp.ResourceType].MatchString(rp.Arn) {
			t.Errorf("%s RP ARN %s", rp.ResourceType, rp.Arn)
		}
		if rp.ResourceType == TypeRedshift && !strings.Contains(rp.Arn, ":snapshot:"+rp.ResourceName+"/") {
			t.Errorf("Redshift RP %s does not name cluster %s", rp.Arn, rp.ResourceName)
		}
		// Encryption.
		if Types[rp.ResourceType].FullyManaged {
			if rp.EncryptionKeyArn != v.EncryptionKeyArn || rp.EncryptionKeyType != v.EncryptionKeyType {
				t.Errorf("fully managed RP %s key %s/%s, vault %s/%s", rp.Arn, rp.EncryptionKeyArn, rp.EncryptionKeyType, v.EncryptionKeyArn, v.EncryptionKeyType)
			}
			continue
		}
		nonFM++
		k := a.keys[rp.EncryptionKeyArn]
		switch {
		case k == nil:
			t.Errorf("RP %s key %s not registered", rp.Arn, rp.EncryptionKeyArn)
		case k.AWSManaged:
			awsManagedRPs++
			want := map[string]string{TypeEBS: "aws/ebs", TypeEC2: "aws/ebs", TypeRDS: "aws/rds", TypeAurora: "aws/rds", TypeFSx: "aws/fsx"}[rp.ResourceType]
			if k.Alias != want || rp.EncryptionKeyType != "" {
				t.Errorf("RP %s %s AWS managed key %s type %q", rp.Arn, rp.ResourceType, k.Alias, rp.EncryptionKeyType)
			}
		case rp.EncryptionKeyType != "CUSTOMER_MANAGED_KMS_KEY":
			t.Errorf("RP %s CMK with type %q", rp.Arn, rp.EncryptionKeyType)
		}
	}
	for ty := range Types {
		if types[ty] == 0 {
			t.Errorf("no %s recovery points", ty)
		}
	}
	for _, st := range []string{statusCompleted, statusPartial, statusExpired, statusDeleting} {
		if statuses[st] == 0 {
			t.Errorf("no %s recovery points", st)
		}
	}
	if statuses[statusCompleted] < n*9/10 {
		t.Errorf("only %d of %d COMPLETED", statuses[statusCompleted], n)
	}
	if continuous == 0 || cold == 0 {
		t.Errorf("continuous=%d cold=%d", continuous, cold)
	}
	if awsManagedRPs == 0 || awsManagedRPs*5 > nonFM {
		t.Errorf("%d of %d non fully managed RPs on AWS managed keys", awsManagedRPs, nonFM)
	}
	delete(plans, "")
	if len(plans) < 3 {
		t.Errorf("%d backup plans", len(plans))
	}
	if len(perResource) != res.Resources {
		t.Errorf("%d distinct resources, seedResult says %d", len(perResource), res.Resources)
	}
	for arn, c := range perResource {
		if c < 2 {
			t.Errorf("resource %s has %d RP", arn, c)
		}
	}
	for k, c := range perVaultResource {
		if c < 2 || c > 12 {
			t.Errorf("resource %s has %d RPs in %s", k[1], c, k[0])
		}
	}
	// Every vault has RPs, and vault sizes differ.
	lo, hi := n, 0
	for _, v := range sourceVaults(w) {
		lo, hi = min(lo, len(v.rps)), max(hi, len(v.rps))
	}
	if lo == 0 || hi < 3*lo {
		t.Errorf("vault sizes from %d to %d", lo, hi)
	}
}

func TestSeedDestination(t *testing.T) {
	w, _ := seedForTest(t, 500, 1)
	src, dst := w.accounts[SourceAccount], w.accounts[DestinationAccount]
	if len(dst.vaults) != 2 {
		t.Fatalf("destination has %d vaults, want 2", len(dst.vaults))
	}
	var match, drift int
	for _, name := range dst.vaultOrder {
		d, s := dst.vaults[name], src.vaults[name]
		if s == nil {
			t.Fatalf("destination vault %s has no source namesake", name)
		}
		if len(d.rps) != 0 || d.Arn != "arn:aws:backup:us-east-1:222222222222:backup-vault:"+name {
			t.Errorf("destination vault %s: %d RPs, ARN %s", name, len(d.rps), d.Arn)
		}
		dk, sk := dst.keys[d.EncryptionKeyArn], src.keys[s.EncryptionKeyArn]
		if dk == nil || dk.AWSManaged || sk == nil || dk.Alias != sk.Alias {
			t.Errorf("destination vault %s key %+v does not map source key %+v", name, dk, sk)
		}
		same := reflect.DeepEqual(d.Tags, s.Tags) && d.Locked == s.Locked &&
			reflect.DeepEqual(d.MinRetentionDays, s.MinRetentionDays) &&
			reflect.DeepEqual(d.MaxRetentionDays, s.MaxRetentionDays) &&
			(d.LockDate == nil) == (s.LockDate == nil) && d.VaultType == s.VaultType &&
			d.EncryptionKeyType == s.EncryptionKeyType
		if same {
			match++
		} else {
			drift++
		}
	}
	if match != 1 || drift != 1 {
		t.Errorf("matching=%d drifted=%d, want 1 and 1", match, drift)
	}
}

func TestSeedDeterministic(t *testing.T) {
	arns := func(w *world) []string {
		var out []string
		for _, rp := range sourceRPs(w) {
			out = append(out, rp.Arn+" "+rp.ResourceArn)
		}
		return out
	}
	w1, r1 := seedForTest(t, 2000, 1)
	w2, r2 := seedForTest(t, 2000, 1)
	if !slices.Equal(arns(w1), arns(w2)) {
		t.Error("two seeds with the same options gave different RP ARNs")
	}
	if !bytes.Equal(r1.Metadata, r2.Metadata) || r1.Resources != r2.Resources {
		t.Error("two seeds with the same options gave different metadata.csv")
	}
	if !reflect.DeepEqual(w1.accounts, w2.accounts) {
		t.Error("two seeds with the same options gave different worlds")
	}
	w3, r3 := seedForTest(t, 2000, 2)
	if slices.Equal(arns(w1), arns(w3)) || bytes.Equal(r1.Metadata, r3.Metadata) {
		t.Error("seeds 1 and 2 gave the same data")
	}
}

func TestSeedSmall(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 28, 50, 99, 100} {
		w, _ := seedForTest(t, n, 3)
		rps := sourceRPs(w)
		if len(rps) != n || len(w.accounts[SourceAccount].rpIndex) != n {
			t.Errorf("N=%d: %d RPs", n, len(rps))
		}
		if n < 50 {
			continue
		}
		types, statuses := map[string]bool{}, map[string]bool{}
		var cont, cold bool
		for _, rp := range rps {
			types[rp.ResourceType] = true
			statuses[rp.Status] = true
			cont = cont || rp.Continuous
			cold = cold || rp.Cold
		}
		if len(types) != len(Types) {
			t.Errorf("N=%d: %d types", n, len(types))
		}
		for _, st := range []string{statusCompleted, statusPartial, statusExpired, statusDeleting} {
			if !statuses[st] {
				t.Errorf("N=%d: no %s", n, st)
			}
		}
		if !cont || !cold {
			t.Errorf("N=%d: continuous %v cold %v", n, cont, cold)
		}
		if n >= 100 {
			for _, v := range sourceVaults(w) {
				if len(v.rps) == 0 {
					t.Errorf("N=%d: vault %s is empty", n, v.Name)
				}
			}
		}
	}
}

func TestSeedMetadataCSV(t *testing.T) {
	w, res := seedForTest(t, 2000, 1)
	data := res.Metadata
	if !bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		t.Fatal("metadata.csv does not start with a UTF-8 BOM")
	}
	if bytes.Count(data, []byte("\n")) != bytes.Count(data, []byte("\r\n")) || !bytes.HasSuffix(data, []byte("\r\n")) {
		t.Error("metadata.csv has line endings other than CRLF")
	}
	if !bytes.Contains(data, []byte(`"Owned by payments, ""tier 1"""`)) {
		t.Error("no quoted Notes field with a comma and a doubled quote")
	}
	recs, err := csv.NewReader(bytes.NewReader(data[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := recs[0]
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(h)] = i
	}
	for _, h := range []string{"resourcearn", "apmid", "application", "owner", "environment", "costcenter", "notes"} {
		if _, ok := col[h]; !ok {
			t.Fatalf("header %v lacks %s", header, h)
		}
	}
	if _, ok := col["dataclassification"]; !ok || len(header) < 8 {
		t.Errorf("header %v has no extra column", header)
	}
	rows := recs[1:]

	resources := map[string]bool{}
	for _, rp := range sourceRPs(w) {
		resources[rp.ResourceArn] = true
	}
	byArn := map[string][][]string{}
	apmids := map[string]bool{}
	apmidRE := regexp.MustCompile(`^APM\d{7}$`)
	var empty, blank, commaQuote int
	for _, r := range rows {
		arn, apmid := r[col["resourcearn"]], r[col["apmid"]]
		byArn[arn] = append(byArn[arn], r)
		switch {
		case apmid == "":
			empty++
		case strings.TrimSpace(apmid) == "":
			blank++
		case apmidRE.MatchString(apmid):
			apmids[apmid] = true
		default:
			t.Errorf("unexpected APMID %q", apmid)
		}
		if n := r[col["notes"]]; strings.Contains(n, ",") && strings.Contains(n, `"`) {
			commaQuote++
		}
	}
	if empty == 0 || blank == 0 || commaQuote == 0 {
		t.Errorf("empty APMID rows=%d blank=%d comma+quote notes=%d", empty, blank, commaQuote)
	}
	if len(apmids) < 6 || len(apmids) > 10 {
		t.Errorf("%d distinct APMIDs", len(apmids))
	}
	var agree, conflict, ghosts int
	for arn, rs := range byArn {
		if !resources[arn] {
			ghosts++
		}
		if len(rs) < 2 {
			continue
		}
		if slices.EqualFunc(rs[1:], rs[:len(rs)-1], slices.Equal[[]string]) {
			agree++
		} else if rs[0][col["apmid"]] != rs[1][col["apmid"]] {
			conflict++
		}
	}
	missing := 0
	for arn := range resources {
		if byArn[arn] == nil {
			missing++
		}
	}
	if agree == 0 || conflict == 0 || ghosts == 0 || missing == 0 {
		t.Errorf("agreeing dups=%d conflicting dups=%d rows without RPs=%d resources without rows=%d", agree, conflict, ghosts, missing)
	}
	if missing*100 > len(resources)*8 {
		t.Errorf("%d of %d resources have no row", missing, len(resources))
	}
	if len(rows) < len(resources)*9/10 || len(rows) > len(resources)*12/10 {
		t.Errorf("%d rows for %d resources", len(rows), len(resources))
	}
	// Rows are not sorted by ARN: the file is in no particular order.
	if sort.SliceIsSorted(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] }) {
		t.Error("rows are sorted")
	}
}

// TestSeedScale seeds a million recovery points. It runs only with
// SHUFFLE_SCALE_TEST=1 and not in -short mode.
func TestSeedScale(t *testing.T) {
	if testing.Short() || os.Getenv("SHUFFLE_SCALE_TEST") != "1" {
		t.Skip("set SHUFFLE_SCALE_TEST=1 to seed 1M recovery points")
	}
	const n = 1_000_000
	runtime.GC()
	start := time.Now()
	w, res := seedForTest(t, n, 1)
	took := time.Since(start)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	peak := ms.HeapAlloc
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("seeded %d RPs, %d resources, %d bytes of CSV in %v; HeapAlloc %d MiB (%d MiB before GC), HeapSys %d MiB",
		n, res.Resources, len(res.Metadata), took, ms.HeapAlloc>>20, peak>>20, ms.HeapSys>>20)
	if got := len(w.accounts[SourceAccount].rpIndex); got != n {
		t.Errorf("%d RPs", got)
	}
	if took > 60*time.Second {
		t.Errorf("seeding took %v, want under 60s", took)
	}
	if ms.HeapAlloc > 2<<30 {
		t.Errorf("heap %d MiB, want under 2 GiB", ms.HeapAlloc>>20)
	}
	runtime.KeepAlive(w)
}

func BenchmarkSeed100k(b *testing.B) {
	for b.Loop() {
		w := newWorld(DefaultRegion)
		seedWorld(w, SeedOptions{Seed: 1, RecoveryPoints: 100_000, Now: seedTestNow})
	}
}

// The server says how many recovery points it seeded: the default, the
// number asked for, or none for a negative number (what `shuffle
// testenv up --recovery-points 0` asks for; its ready line printed -1).
func TestServerSaysWhatItSeeded(t *testing.T) {
	for _, c := range []struct{ ask, want int }{{0, 2000}, {37, 37}, {-1, 0}} {
		srv, err := New(Options{RecoveryPoints: c.ask, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if got := srv.RecoveryPoints(); got != c.want {
			t.Errorf("RecoveryPoints %d: the server says %d, want %d", c.ask, got, c.want)
		}
		if n := len(srv.w.accounts[SourceAccount].rpIndex); n != c.want {
			t.Errorf("RecoveryPoints %d: %d recovery points seeded, want %d", c.ask, n, c.want)
		}
	}
}
