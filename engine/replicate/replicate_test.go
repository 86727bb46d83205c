package replicate_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
	"github.com/shuffle-migrate/shuffle/luabind"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// destTopic is an SNS topic of the destination account.
const destTopic = "arn:aws:sns:us-east-1:" + testenv.DestinationAccount + ":backup-events"

// writeOps are the Backup operations that change a vault.
var writeOps = []string{"CreateBackupVault", "CreateLogicallyAirGappedBackupVault", "DeleteBackupVault",
	"PutBackupVaultAccessPolicy", "DeleteBackupVaultAccessPolicy", "PutBackupVaultNotifications", "DeleteBackupVaultNotifications",
	"PutBackupVaultLockConfiguration", "DeleteBackupVaultLockConfiguration", "TagResource", "UntagResource"}

// replFixture is a seeded emulator with its inventory in a state and
// the vault mapping of policies/vaults.lua.
type replFixture struct {
	env      *testenvtest.Env
	st       *state.Store
	src, dst *backup.Client
	plans    map[string]*plan.VaultPlan
	opt      replicate.Options
	// kms stands in for both accounts' KMS (seedKMS): the mapping
	// sees the source keys' aliases and resolves destination aliases
	// through it. A nil Destination: KMS cannot be asked.
	kms kmskeys.Accounts
}

// newReplFixture starts the emulator, lets prep change it, then runs
// the real inventory and vault mapping.
func newReplFixture(t *testing.T, o testenv.Options, prep func(f *replFixture)) *replFixture {
	t.Helper()
	if o.RecoveryPoints == 0 {
		o.RecoveryPoints = 60
	}
	env := testenvtest.Start(t, o)
	src, dst := seedKMS()
	f := &replFixture{env: env, kms: kmskeys.Accounts{Source: src, Destination: dst},
		src: backup.NewFromConfig(env.Config(t, testenv.ProfileSource)),
		dst: backup.NewFromConfig(env.Config(t, testenv.ProfileDestination))}
	if prep != nil {
		prep(f)
	}
	f.st = openStore(t)
	if _, err := (&inventory.Inventory{Store: f.st, Source: f.src, Destination: f.dst}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.plans = f.mapVaults(t)
	f.opt = replicate.Options{SourceAccount: testenv.SourceAccount, DestinationAccount: testenv.DestinationAccount,
		Region: env.Region(), PollInterval: 10 * time.Millisecond, PollTimeout: 5 * time.Second}
	return f
}

func (f *replFixture) mapVaults(t *testing.T) map[string]*plan.VaultPlan {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	pol, err := luabind.LoadPolicies(scriptconfig.PolicyConfig{Dir: filepath.Join(filepath.Dir(file), "..", "..", "policies"), Decide: []string{"apmid"}, Vaults: "vaults", Tags: "tags"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := pol.NewWorker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// What the session does: the source keys' aliases for the mapping,
	// then the destination keys resolved.
	as, aliasErr := kmskeys.ListAliases(context.Background(), f.kms.Source)
	plans, err := plan.MapVaults(context.Background(), f.st, w, kmskeys.ByKey(as))
	if err != nil {
		t.Fatal(err)
	}
	if err := replicate.ResolveKeys(context.Background(), plans, kmskeys.NewResolver(f.kms.Destination), testenv.DestinationAccount, aliasErr); err != nil {
		t.Fatal(err)
	}
	return plans
}

func (f *replFixture) only(names ...string) map[string]*plan.VaultPlan {
	out := map[string]*plan.VaultPlan{}
	for _, n := range names {
		out[n] = f.plans[n]
	}
	return out
}

func (f *replFixture) writes() int64 {
	var n int64
	for _, op := range writeOps {
		n += f.env.Counters().Calls(op)
	}
	return n
}

// destVaults lists the destination vaults through the SDK: name -> ARN.
func (f *replFixture) destVaults(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	p := backup.NewListBackupVaultsPaginator(f.dst, &backup.ListBackupVaultsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.BackupVaultList {
			out[aws.ToString(v.BackupVaultName)] = aws.ToString(v.BackupVaultArn)
		}
	}
	return out
}

func (f *replFixture) describe(t *testing.T, name string) *backup.DescribeBackupVaultOutput {
	t.Helper()
	d, err := f.dst.DescribeBackupVault(context.Background(), &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(name)})
	if err != nil {
		t.Fatalf("describe destination vault %s: %v", name, err)
	}
	return d
}

func (f *replFixture) deleteDest(t *testing.T, name string) {
	t.Helper()
	if _, err := f.dst.DeleteBackupVault(context.Background(), &backup.DeleteBackupVaultInput{BackupVaultName: aws.String(name)}); err != nil {
		t.Fatalf("delete destination vault %s: %v", name, err)
	}
}

type stmt struct {
	Sid       string
	Effect    string
	Principal any
	Action    any
	Resource  any
	Condition any
}

// policyStatements reads a destination vault's access policy by Sid.
func (f *replFixture) policyStatements(t *testing.T, name string) map[string]stmt {
	t.Helper()
	p, err := f.dst.GetBackupVaultAccessPolicy(context.Background(), &backup.GetBackupVaultAccessPolicyInput{BackupVaultName: aws.String(name)})
	if err != nil {
		t.Fatalf("access policy of %s: %v", name, err)
	}
	var doc struct{ Statement []stmt }
	if err := json.Unmarshal([]byte(aws.ToString(p.Policy)), &doc); err != nil {
		t.Fatalf("access policy of %s: %v\n%s", name, err, aws.ToString(p.Policy))
	}
	out := map[string]stmt{}
	for _, s := range doc.Statement {
		out[s.Sid] = s
	}
	return out
}

func toStrings(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			s, _ := e.(string)
			out = append(out, s)
		}
	}
	return out
}

func runReplicate(t *testing.T, f *replFixture, plans map[string]*plan.VaultPlan, api replicate.VaultWriter, opt replicate.Options) map[string]*replicate.DestinationStatus {
	t.Helper()
	res, err := replicate.Vaults(context.Background(), f.st, plans, api, opt)
	if err != nil {
		t.Fatalf("replicate.Vaults: %v", err)
	}
	if len(res) != len(plans) {
		t.Fatalf("%d statuses for %d source vaults", len(res), len(plans))
	}
	return res
}

func wantStatus(t *testing.T, res map[string]*replicate.DestinationStatus, vault string, action replicate.VaultAction, ready bool) *replicate.DestinationStatus {
	t.Helper()
	s := res[vault]
	if s == nil {
		t.Fatalf("no status for %s", vault)
	}
	if s.Action != action || s.Ready != ready {
		b, _ := json.MarshalIndent(s, "", "  ")
		t.Fatalf("%s: action %q ready %v, want %q ready %v\n%s", vault, s.Action, s.Ready, action, ready, b)
	}
	return s
}

func contains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not mention %q:\n%s", what, sub, s)
		}
	}
}

func TestReplicateCreatesMissingVaultsLikeForLike(t *testing.T) {
	srcWeekly := "arn:aws:backup:us-east-1:" + testenv.SourceAccount + ":backup-vault:prod-ebs-weekly"
	f := newReplFixture(t, testenv.Options{}, func(f *replFixture) {
		// Its source is under a governance lock: recreated, it must get one.
		f.deleteDest(t, "prod-rds-monthly")
		// A source policy with a role principal to rewrite and two
		// statements that cannot be translated.
		if err := f.env.SetPolicies(testenv.ProfileSource, []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"backup:*","Resource":"*"}]}`}); err != nil {
			t.Fatal(err)
		}
		pol := `{"Version":"2012-10-17","Statement":[
			{"Sid":"AllowRestoreRole","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/BackupRestore"]},"Action":"backup:DescribeBackupVault","Resource":"` + srcWeekly + `"},
			{"Sid":"PinnedRecoveryPoint","Effect":"Deny","Principal":"*","Action":"backup:DeleteRecoveryPoint","Resource":"arn:aws:backup:us-east-1:111111111111:recovery-point:abc"},
			{"Sid":"SourceAccountOnly","Effect":"Allow","Principal":"*","Action":"backup:ListRecoveryPointsByBackupVault","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":"111111111111"}}}]}`
		if _, err := f.src.PutBackupVaultAccessPolicy(context.Background(), &backup.PutBackupVaultAccessPolicyInput{BackupVaultName: aws.String("prod-ebs-weekly"), Policy: aws.String(pol)}); err != nil {
			t.Fatal(err)
		}
	})
	for _, vp := range f.plans {
		vp.Mapping.SNSTopicArn = destTopic
	}
	before := f.destVaults(t)
	res := runReplicate(t, f, f.plans, f.dst, f.opt)

	missing := 0
	for name, vp := range f.plans {
		if _, ok := before[vp.Mapping.Name]; ok {
			continue
		}
		missing++
		s := wantStatus(t, res, name, replicate.ActionCreated, true)
		d := f.describe(t, vp.Mapping.Name)
		if s.Arn != aws.ToString(d.BackupVaultArn) || !strings.HasPrefix(aws.ToString(d.CreatorRequestId), "shuffle-") {
			t.Errorf("%s: status ARN %s, described %s, CreatorRequestId %q", name, s.Arn, aws.ToString(d.BackupVaultArn), aws.ToString(d.CreatorRequestId))
		}
		if vp.Source.EncryptionKeyType == string(types.EncryptionKeyTypeCustomerManagedKmsKey) {
			// The destination key with the source key's alias.
			want := seedDestKeys[seedSourceAliases[vp.Source.EncryptionKeyArn]]
			if aws.ToString(d.EncryptionKeyArn) != want || want == "" || vp.Mapping.EncryptionKey != "alias/"+seedSourceAliases[vp.Source.EncryptionKeyArn] {
				t.Errorf("%s: mapped %q, created with key %s, want %s (the destination key of the same alias)", name, vp.Mapping.EncryptionKey, aws.ToString(d.EncryptionKeyArn), want)
			}
		} else if d.EncryptionKeyType == types.EncryptionKeyTypeCustomerManagedKmsKey {
			t.Errorf("%s: source on an AWS key, destination got a customer-managed key %s", name, aws.ToString(d.EncryptionKeyArn))
		}
		tags, err := f.dst.ListTags(context.Background(), &backup.ListTagsInput{ResourceArn: d.BackupVaultArn})
		if err != nil {
			t.Fatal(err)
		}
		if len(tags.Tags) != len(vp.Source.Tags) {
			t.Errorf("%s: tags %v, source %v", name, tags.Tags, vp.Source.Tags)
		}
		for k, v := range vp.Source.Tags {
			if tags.Tags[k] != v {
				t.Errorf("%s: tag %s=%q, source %q", name, k, tags.Tags[k], v)
			}
		}
		ps := f.policyStatements(t, vp.Mapping.Name)
		cp, ok := ps[vaultpolicy.CopyStatementSid]
		if !ok || cp.Effect != "Allow" || cp.Action != "backup:CopyIntoBackupVault" || cp.Resource != "*" {
			t.Errorf("%s: copy statement %+v", name, cp)
		}
		if p, _ := cp.Principal.(map[string]any); p["AWS"] != "arn:aws:iam::"+testenv.SourceAccount+":root" {
			t.Errorf("%s: copy statement principal %v", name, cp.Principal)
		}
		if len(vp.Source.Events) > 0 {
			n, err := f.dst.GetBackupVaultNotifications(context.Background(), &backup.GetBackupVaultNotificationsInput{BackupVaultName: aws.String(vp.Mapping.Name)})
			if err != nil {
				t.Fatalf("%s: notifications: %v", name, err)
			}
			var ev []string
			for _, e := range n.BackupVaultEvents {
				ev = append(ev, string(e))
			}
			if aws.ToString(n.SNSTopicArn) != destTopic || !slices.Equal(ev, vp.Source.Events) {
				t.Errorf("%s: notifications %s %v, want %s %v", name, aws.ToString(n.SNSTopicArn), ev, destTopic, vp.Source.Events)
			}
		}
		// Saved for the next plan, with what was read back.
		sv, ok, err := f.st.GetVault(state.Destination, vp.Mapping.Name)
		if err != nil || !ok || sv.Arn != s.Arn || !strings.Contains(sv.AccessPolicy, vaultpolicy.CopyStatementSid) || len(sv.Tags) != len(vp.Source.Tags) {
			t.Errorf("%s: state record %+v (ok %v, err %v)", name, sv, ok, err)
		}
	}
	if missing != 13 {
		t.Fatalf("%d destination vaults were missing; the seed has 13 plus the deleted prod-rds-monthly", missing)
	}

	// The governance lock, as the source has it.
	d := f.describe(t, "prod-rds-monthly")
	if !aws.ToBool(d.Locked) || d.LockDate != nil || aws.ToInt64(d.MinRetentionDays) != 30 || aws.ToInt64(d.MaxRetentionDays) != 3650 {
		t.Errorf("prod-rds-monthly lock: locked %v date %v retention %d-%d, want governance 30-3650", aws.ToBool(d.Locked), d.LockDate, aws.ToInt64(d.MinRetentionDays), aws.ToInt64(d.MaxRetentionDays))
	}
	contains(t, "prod-rds-monthly applied", strings.Join(res["prod-rds-monthly"].Applied, "; "), "governance lock 30-3650 days")
	if sv, _, _ := f.st.GetVault(state.Destination, "prod-rds-monthly"); !sv.Locked || sv.LockDate != nil {
		t.Errorf("prod-rds-monthly state record lock: %+v", sv)
	}
	contains(t, "prod-ebs-daily applied", strings.Join(res["prod-ebs-daily"].Applied, "; "), "tags CostCenter, Environment, Owner", "notifications to "+destTopic)
	// An unlocked production source gets the governance lock
	// policies/vaults.lua asks for; an unlocked dev source stays unlocked.
	if d := f.describe(t, "prod-ebs-daily"); !aws.ToBool(d.Locked) || d.LockDate != nil || aws.ToInt64(d.MinRetentionDays) != 7 || d.MaxRetentionDays != nil {
		t.Errorf("prod-ebs-daily lock: locked %v date %v min %d max %v; want vaults.lua's governance lock, MinRetentionDays 7", aws.ToBool(d.Locked), d.LockDate, aws.ToInt64(d.MinRetentionDays), d.MaxRetentionDays)
	}
	contains(t, "prod-ebs-daily applied", strings.Join(res["prod-ebs-daily"].Applied, "; "), "governance lock at least 7 days")
	if d := f.describe(t, "dev-ebs-daily"); aws.ToBool(d.Locked) {
		t.Error("dev-ebs-daily was locked; its source is not, and it is not production")
	}

	// The source policy's statements, translated.
	daily := f.policyStatements(t, "prod-ebs-daily")
	if s, ok := daily["DenyRecoveryPointDeletion"]; !ok || s.Resource != res["prod-ebs-daily"].Arn {
		t.Errorf("prod-ebs-daily: DenyRecoveryPointDeletion %+v, want its resource on %s", s, res["prod-ebs-daily"].Arn)
	}
	// Principal "*" under an organization condition is not copied by
	// default: the policy must say so (vaults.lua access_statement).
	if _, ok := daily["AllowOrgCopyIn"]; ok {
		t.Error(`prod-ebs-daily: the organization statement (Principal "*") was replicated without the policy saying so`)
	}
	contains(t, "prod-ebs-daily reason", res["prod-ebs-daily"].Reason, `AllowOrgCopyIn not replicated (default): it admits Principal "*" under the condition aws:PrincipalOrgID`)
	weekly := f.policyStatements(t, "prod-ebs-weekly")
	rr := weekly["AllowRestoreRole"]
	// A list stays a list.
	if p, _ := rr.Principal.(map[string]any); !slices.Equal(toStrings(p["AWS"]), []string{"arn:aws:iam::222222222222:role/BackupRestore"}) || rr.Resource != res["prod-ebs-weekly"].Arn {
		t.Errorf("prod-ebs-weekly: AllowRestoreRole %+v, want the role in the destination account on the destination vault", rr)
	}
	for _, sid := range []string{"PinnedRecoveryPoint", "SourceAccountOnly"} {
		if _, ok := weekly[sid]; ok {
			t.Errorf("prod-ebs-weekly: untranslatable statement %s was replicated", sid)
		}
	}
	contains(t, "prod-ebs-weekly reason", res["prod-ebs-weekly"].Reason, "PinnedRecoveryPoint not replicated", "SourceAccountOnly not replicated", "BackupRestore")

	// finance-records exists, drifted, and allows the source account.
	s := wantStatus(t, res, "finance-records", replicate.ActionDrift, true)
	contains(t, "finance-records drift", strings.Join(s.Drift, "; "), "lock governance, source compliance", "tags differ")
	contains(t, "finance-records reason", s.Reason, "compliance-locked")

	// The next plan sees the vaults.
	pl, err := plan.BuildPlan(context.Background(), f.st, f.mapVaults(t), replicate.PlanDestination, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range pl.Vaults {
		if v.Name == "prod-ebs-daily" && (v.Destination.Action != "exists" || v.Destination.AccessPolicyMissing) {
			t.Errorf("plan after replication: %+v", v.Destination)
		}
	}
}

func TestReplicateIsIdempotent(t *testing.T) {
	f := newReplFixture(t, testenv.Options{}, nil)
	first := runReplicate(t, f, f.plans, f.dst, f.opt)
	vaults := f.destVaults(t)
	writes := f.writes()
	second := runReplicate(t, f, f.plans, f.dst, f.opt)
	if w := f.writes() - writes; w != 0 {
		t.Errorf("the second call made %d write calls, want none", w)
	}
	if after := f.destVaults(t); len(after) != len(vaults) {
		t.Errorf("destination vaults %d after the second call, %d after the first", len(after), len(vaults))
	}
	created := 0
	for name, s := range first {
		if s.Action != replicate.ActionCreated {
			continue
		}
		created++
		s2 := wantStatus(t, second, name, replicate.ActionExists, true)
		if s2.Arn != s.Arn || vaults[s.Name] != s.Arn {
			t.Errorf("%s: ARN %s then %s (listed %s)", name, s.Arn, s2.Arn, vaults[s.Name])
		}
	}
	// The seed has 14 source vaults; prod-rds-monthly and finance-records exist.
	if created != 12 {
		t.Errorf("%d vaults created, want 12", created)
	}
}

func TestReplicateCreatesAirGappedVaultAndWaitsUntilAvailable(t *testing.T) {
	const lag = "legal-hold-airgapped"
	// CopySpeed 300: AVAILABLE 0.4 s after creation.
	f := newReplFixture(t, testenv.Options{CopySpeed: 300}, nil)
	start := time.Now()
	res := runReplicate(t, f, f.only(lag), f.dst, f.opt)
	s := wantStatus(t, res, lag, replicate.ActionCreated, true)
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("returned after %s, before the vault can be AVAILABLE", el)
	}
	d := f.describe(t, lag)
	if d.VaultType != types.VaultTypeLogicallyAirGappedBackupVault || d.VaultState != types.VaultStateAvailable ||
		aws.ToInt64(d.MinRetentionDays) != 90 || aws.ToInt64(d.MaxRetentionDays) != 3650 || !aws.ToBool(d.Locked) ||
		d.EncryptionKeyType == types.EncryptionKeyTypeCustomerManagedKmsKey {
		t.Errorf("air-gapped vault: type %s state %s retention %d-%d locked %v key type %s", d.VaultType, d.VaultState,
			aws.ToInt64(d.MinRetentionDays), aws.ToInt64(d.MaxRetentionDays), aws.ToBool(d.Locked), d.EncryptionKeyType)
	}
	if n := f.env.Counters().Calls("PutBackupVaultLockConfiguration"); n != 0 {
		t.Errorf("%d lock calls for an air-gapped vault, which carries its own", n)
	}
	if _, ok := f.policyStatements(t, lag)["DenyDeleteRecoveryPoint"]; !ok {
		t.Error("the source's DenyDeleteRecoveryPoint statement was not replicated")
	}
	contains(t, "applied", strings.Join(s.Applied, "; "), "air-gapped", "90-3650")
	if sv, _, _ := f.st.GetVault(state.Destination, lag); sv.VaultState != "AVAILABLE" {
		t.Errorf("state record of %s says %q", lag, sv.VaultState)
	}

	t.Run("timeout", func(t *testing.T) {
		// CopySpeed 1: AVAILABLE only after 120 s.
		f := newReplFixture(t, testenv.Options{CopySpeed: 1}, nil)
		opt := f.opt
		opt.PollTimeout = 50 * time.Millisecond
		res := runReplicate(t, f, f.only(lag), f.dst, opt)
		s := wantStatus(t, res, lag, replicate.ActionCreated, false)
		contains(t, "reason", s.Reason, "CREATING", "run again")
		if n := f.env.Counters().Calls("PutBackupVaultAccessPolicy"); n != 0 {
			t.Errorf("%d access policy calls before the vault is AVAILABLE", n)
		}
	})
}

func TestReplicateComplianceLockNeedsConfirmation(t *testing.T) {
	const fin = "finance-records"
	f := newReplFixture(t, testenv.Options{}, func(f *replFixture) { f.deleteDest(t, fin) })

	writes := f.writes()
	res := runReplicate(t, f, f.only(fin), f.dst, f.opt)
	s := wantStatus(t, res, fin, replicate.ActionBlocked, false)
	contains(t, "reason", s.Reason, "--confirm-compliance-lock", "compliance_lock = true")
	if _, ok := f.destVaults(t)[fin]; ok || f.writes() != writes {
		t.Fatalf("a blocked vault was created (%d writes)", f.writes()-writes)
	}

	// compliance_lock = true in the mapping also confirms it.
	f.plans[fin].Mapping.ComplianceLock = true
	dry := f.opt
	dry.DryRun = true
	res = runReplicate(t, f, f.only(fin), f.dst, dry)
	s = wantStatus(t, res, fin, replicate.ActionWouldCreate, false)
	contains(t, "would apply", strings.Join(s.WouldApply, "; "), "compliance lock 365-2555 days, changeable for 3 days")
	f.plans[fin].Mapping.ComplianceLock = false

	opt := f.opt
	opt.ConfirmComplianceLock = true
	res = runReplicate(t, f, f.only(fin), f.dst, opt)
	s = wantStatus(t, res, fin, replicate.ActionCreated, true)
	d := f.describe(t, fin)
	now := time.Now()
	if !aws.ToBool(d.Locked) || d.LockDate == nil || d.LockDate.Before(now.Add(71*time.Hour)) || d.LockDate.After(now.Add(73*time.Hour)) ||
		aws.ToInt64(d.MinRetentionDays) != 365 || aws.ToInt64(d.MaxRetentionDays) != 2555 {
		t.Errorf("compliance lock: locked %v date %v retention %d-%d", aws.ToBool(d.Locked), d.LockDate, aws.ToInt64(d.MinRetentionDays), aws.ToInt64(d.MaxRetentionDays))
	}
	contains(t, "applied", strings.Join(s.Applied, "; "), "compliance lock 365-2555 days")
}

// A vault to create whose source is on a customer-managed key with no
// destination key waits for the mapping (blocked, encryption-key) and
// nothing is created for it; the other vaults go ahead.
func TestReplicateUnmappedCustomerManagedKeyBlocksOnlyThatVault(t *testing.T) {
	f := newReplFixture(t, testenv.Options{}, nil)
	for _, n := range []string{"prod-ebs-daily", "staging-mixed", "finance-records"} {
		f.plans[n].Mapping.EncryptionKey, f.plans[n].Key = "", plan.DestinationKey{}
	}
	before := f.destVaults(t)
	res, err := replicate.Vaults(context.Background(), f.st, f.plans, f.dst, f.opt)
	if err != nil {
		t.Fatal(err)
	}
	after := f.destVaults(t)
	for _, n := range []string{"prod-ebs-daily", "staging-mixed"} {
		s := wantStatus(t, res, n, replicate.ActionBlocked, false)
		if s.Wait != replicate.WaitEncryptionKey {
			t.Errorf("%s waits for %q, want %q", n, s.Wait, replicate.WaitEncryptionKey)
		}
		contains(t, n+" reason", s.Reason, n, f.plans[n].Source.EncryptionKeyArn, "alias/backup-vault-", "policies/vaults.lua", "M.keys[\""+n+"\"]")
		if _, ok := after[n]; ok {
			t.Errorf("%s was created without a destination key", n)
		}
	}
	// finance-records exists already, and Default is on an AWS key.
	for _, n := range []string{"finance-records", "Default"} {
		if s := res[n]; s.Wait == replicate.WaitEncryptionKey {
			t.Errorf("%s waits for a key it does not need: %s", n, s.Reason)
		}
	}
	wantStatus(t, res, "Default", replicate.ActionCreated, true)
	if len(after) <= len(before) {
		t.Errorf("no other vault was created: %v -> %v", before, after)
	}
}

func TestReplicateExistingVaultWithoutCopyStatement(t *testing.T) {
	const weekly = "prod-ebs-weekly"
	const keep = `{"Sid":"KeepMe","Effect":"Deny","Principal":"*","Action":"backup:DeleteBackupVault","Resource":"*"}`
	f := newReplFixture(t, testenv.Options{}, func(f *replFixture) {
		ctx := context.Background()
		if _, err := f.dst.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String(weekly)}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.dst.PutBackupVaultAccessPolicy(ctx, &backup.PutBackupVaultAccessPolicyInput{BackupVaultName: aws.String(weekly),
			Policy: aws.String(`{"Version":"2012-10-17","Statement":[` + keep + `]}`)}); err != nil {
			t.Fatal(err)
		}
	})
	writes := f.writes()
	res := runReplicate(t, f, f.only(weekly), f.dst, f.opt)
	s := wantStatus(t, res, weekly, replicate.ActionDrift, false)
	contains(t, "reason", s.Reason, "reconcile = true", "AccessDenied", vaultpolicy.CopyStatementSid)
	contains(t, "drift", strings.Join(s.Drift, "; "), "access policy does not allow account 111111111111", "tags differ")
	if f.writes() != writes {
		t.Fatal("a vault without reconcile = true was changed")
	}

	f.plans[weekly].Mapping.Reconcile = true
	res = runReplicate(t, f, f.only(weekly), f.dst, f.opt)
	s = wantStatus(t, res, weekly, replicate.ActionReconciled, true)
	contains(t, "applied", strings.Join(s.Applied, "; "), "tags", "access policy", vaultpolicy.CopyStatementSid)
	ps := f.policyStatements(t, weekly)
	if _, ok := ps["KeepMe"]; !ok {
		t.Error("reconcile dropped the destination's own statement")
	}
	if _, ok := ps[vaultpolicy.CopyStatementSid]; !ok {
		t.Error("reconcile did not add the copy statement")
	}
	tags, err := f.dst.ListTags(context.Background(), &backup.ListTagsInput{ResourceArn: aws.String(s.Arn)})
	if err != nil || len(tags.Tags) != len(f.plans[weekly].Source.Tags) || tags.Tags["Owner"] != f.plans[weekly].Source.Tags["Owner"] {
		t.Errorf("tags after reconcile %v (%v), source %v", tags.Tags, err, f.plans[weekly].Source.Tags)
	}
	if sv, _, _ := f.st.GetVault(state.Destination, weekly); !strings.Contains(sv.AccessPolicy, vaultpolicy.CopyStatementSid) || len(sv.Tags) == 0 {
		t.Errorf("state record after reconcile: %+v", sv)
	}
	res = runReplicate(t, f, f.only(weekly), f.dst, f.opt)
	wantStatus(t, res, weekly, replicate.ActionExists, true)
}

func TestReplicatePerVaultAWSFailureBlocksOnlyThatVault(t *testing.T) {
	const monthly = "prod-rds-monthly"
	f := newReplFixture(t, testenv.Options{}, func(f *replFixture) { f.deleteDest(t, monthly) })
	nolock := backup.NewFromConfig(f.env.Config(t, testenv.ProfileDestinationNoLock))
	res := runReplicate(t, f, f.plans, nolock, f.opt)
	s := wantStatus(t, res, monthly, replicate.ActionBlocked, false)
	contains(t, "reason", s.Reason, "PutBackupVaultLockConfiguration", "AccessDeniedException", "destination profile's role", "next run")
	contains(t, "applied", strings.Join(s.Applied, "; "), "vault (key", "access policy")
	if d := f.describe(t, monthly); aws.ToBool(d.Locked) {
		t.Error("the vault is locked although the lock call was denied")
	}
	if sv, ok, _ := f.st.GetVault(state.Destination, monthly); !ok || sv.Arn != s.Arn {
		t.Errorf("the created vault was not saved in the state: %+v", sv)
	}
	for _, other := range []string{"dev-ebs-daily", "Default", "legal-hold-airgapped"} {
		wantStatus(t, res, other, replicate.ActionCreated, true)
	}

	// With the lock allowed, the next run finishes the vault it created.
	res = runReplicate(t, f, f.only(monthly), f.dst, f.opt)
	s = wantStatus(t, res, monthly, replicate.ActionReconciled, true)
	contains(t, "applied", strings.Join(s.Applied, "; "), "governance lock 30-3650 days")
	if d := f.describe(t, monthly); !aws.ToBool(d.Locked) || aws.ToInt64(d.MinRetentionDays) != 30 {
		t.Errorf("lock after the second run: %v %d", aws.ToBool(d.Locked), aws.ToInt64(d.MinRetentionDays))
	}
}

func TestReplicateDryRunWritesNothing(t *testing.T) {
	f := newReplFixture(t, testenv.Options{}, func(f *replFixture) {
		f.deleteDest(t, "finance-records")
		if _, err := f.dst.CreateBackupVault(context.Background(), &backup.CreateBackupVaultInput{BackupVaultName: aws.String("prod-ebs-weekly")}); err != nil {
			t.Fatal(err)
		}
	})
	f.plans["prod-ebs-weekly"].Mapping.Reconcile = true
	vaults, writes := f.destVaults(t), f.writes()
	recs, err := f.st.Vaults(state.Destination)
	if err != nil {
		t.Fatal(err)
	}
	opt := f.opt
	opt.DryRun = true
	res := runReplicate(t, f, f.plans, f.dst, opt)
	if f.writes() != writes || len(f.destVaults(t)) != len(vaults) {
		t.Fatalf("a dry run wrote: %d write calls", f.writes()-writes)
	}
	if after, _ := f.st.Vaults(state.Destination); len(after) != len(recs) {
		t.Errorf("a dry run changed the state: %d destination records, was %d", len(after), len(recs))
	}
	s := wantStatus(t, res, "prod-ebs-daily", replicate.ActionWouldCreate, false)
	contains(t, "would apply", strings.Join(s.WouldApply, "; "), "vault (key alias/backup-vault-prod = "+seedDestKeys["backup-vault-prod"], "access policy ("+vaultpolicy.CopyStatementSid)
	contains(t, "reason", s.Reason, "notifications not replicated")
	wantStatus(t, res, "legal-hold-airgapped", replicate.ActionWouldCreate, false)
	s = wantStatus(t, res, "finance-records", replicate.ActionBlocked, false)
	contains(t, "reason", s.Reason, "--confirm-compliance-lock")
	s = wantStatus(t, res, "prod-ebs-weekly", replicate.ActionWouldReconcile, false)
	contains(t, "would apply", strings.Join(s.WouldApply, "; "), "tags", vaultpolicy.CopyStatementSid)
	wantStatus(t, res, "prod-rds-monthly", replicate.ActionExists, true)
}

func TestPlanShowsReplicationBlockers(t *testing.T) {
	f := newReplFixture(t, testenv.Options{}, func(f *replFixture) {
		f.deleteDest(t, "finance-records")
		if _, err := f.dst.CreateBackupVault(context.Background(), &backup.CreateBackupVaultInput{BackupVaultName: aws.String("prod-ebs-weekly")}); err != nil {
			t.Fatal(err)
		}
	})
	f.plans["prod-ebs-daily"].Mapping.EncryptionKey, f.plans["prod-ebs-daily"].Key = "", plan.DestinationKey{}
	pl, err := plan.BuildPlan(context.Background(), f.st, f.plans, replicate.PlanDestination, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dest := map[string]plan.DestinationPlan{}
	for _, v := range pl.Vaults {
		dest[v.Name] = v.Destination
	}
	if d := dest["prod-ebs-daily"]; d.Action != "create" || len(d.Blocking) != 1 {
		t.Errorf("unmapped key: %+v", d)
	} else {
		contains(t, "blocking", d.Blocking[0], "M.keys", f.plans["prod-ebs-daily"].Source.EncryptionKeyArn)
	}
	if d := dest["finance-records"]; d.Action != "create" || d.Settings.LockMode != "compliance" || !d.LockNeedsConfirmation {
		t.Errorf("compliance lock: %+v", d)
	} else {
		contains(t, "lock", d.Settings.Lock, "compliance", "365-2555", "ChangeableForDays 3")
		contains(t, "blocking", strings.Join(d.Blocking, "; "), "--confirm-compliance-lock")
	}
	if d := dest["legal-hold-airgapped"]; d.Action != "create" || d.LockNeedsConfirmation || len(d.Blocking) != 0 {
		t.Errorf("air-gapped: %+v", d)
	} else {
		contains(t, "lock", d.Settings.Lock, "air-gapped", "90-3650")
	}
	if d := dest["prod-ebs-weekly"]; d.Action != "drift" || !d.AccessPolicyMissing {
		t.Errorf("existing vault without the copy statement: %+v", d)
	} else {
		contains(t, "blocking", strings.Join(d.Blocking, "; "), "reconcile = true")
	}
	if d := dest["prod-rds-monthly"]; d.Action != "exists" || d.AccessPolicyMissing || len(d.Blocking) != 0 || len(d.Drift) != 0 {
		t.Errorf("matching vault: %+v", d)
	}
	if d := dest["prod-ebs-weekly"]; true {
		f.plans["prod-ebs-weekly"].Mapping.Reconcile = true
		pl, _ := plan.BuildPlan(context.Background(), f.st, f.plans, replicate.PlanDestination, nil, time.Now())
		for _, v := range pl.Vaults {
			if v.Name == "prod-ebs-weekly" && (len(v.Destination.Blocking) != 0 || !v.Destination.AccessPolicyMissing) {
				t.Errorf("with reconcile = true the missing statement is not blocking: %+v (was %+v)", v.Destination, d)
			}
		}
	}
}

func openStore(t *testing.T) *state.Store {
	t.Helper()
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
