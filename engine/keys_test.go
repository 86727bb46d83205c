package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// aliasKMS is one account's KMS for the key-mapping tests: aliases
// (without alias/) to key ARNs, as testenv's KMS answers them for
// `testenv up` with its defaults (seed 1). Counts its calls.
type aliasKMS struct {
	mu      sync.Mutex
	prefix  string
	aliases map[string]string
	calls   map[string]int
}

func newAliasKMS(acct string, aliases map[string]string) *aliasKMS {
	return &aliasKMS{prefix: "arn:aws:kms:us-east-1:" + acct, aliases: aliases, calls: map[string]int{}}
}

func (k *aliasKMS) DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls["DescribeKey"]++
	id := aws.ToString(in.KeyId)
	arn := id
	if i := strings.Index(id, "alias/"); i >= 0 {
		arn = k.aliases[id[i+len("alias/"):]]
	}
	for _, a := range k.aliases {
		if a == arn && a != "" {
			return &kms.DescribeKeyOutput{KeyMetadata: &kmstypes.KeyMetadata{Arn: aws.String(a), KeyState: kmstypes.KeyStateEnabled}}, nil
		}
	}
	return nil, &kmstypes.NotFoundException{Message: aws.String("Alias " + id + " is not found.")}
}

func (k *aliasKMS) ListAliases(ctx context.Context, in *kms.ListAliasesInput, _ ...func(*kms.Options)) (*kms.ListAliasesOutput, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls["ListAliases"]++
	out := &kms.ListAliasesOutput{}
	for name, arn := range k.aliases {
		out.Aliases = append(out.Aliases, kmstypes.AliasListEntry{AliasName: aws.String("alias/" + name), AliasArn: aws.String(k.prefix + ":alias/" + name),
			TargetKeyId: aws.String(arn[strings.LastIndex(arn, "/")+1:])})
	}
	return out, nil
}

func (k *aliasKMS) GetKeyPolicy(ctx context.Context, in *kms.GetKeyPolicyInput, _ ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error) {
	return nil, errors.New("not used")
}

const (
	seedDestProd    = "arn:aws:kms:us-east-1:222222222222:key/6a44a25a-c3a8-498f-a5ab-d56d8fa50140"
	seedDestFinance = "arn:aws:kms:us-east-1:222222222222:key/0bbef656-2c62-4bc5-a04c-4e2e502c0f43"
)

// seedAliasKMS is both accounts' KMS of the default testenv, without
// the destination's backup-vault-nonprod alias.
func seedAliasKMS() (src, dst *aliasKMS) {
	src = newAliasKMS(testenv.SourceAccount, map[string]string{
		"backup-vault-prod":    "arn:aws:kms:us-east-1:111111111111:key/46a4d7ac-187b-49fe-a18d-d5ed3115be2d",
		"backup-vault-finance": "arn:aws:kms:us-east-1:111111111111:key/f92a25ef-b8b5-47e9-b58f-2b8aabb99e91",
		"backup-vault-nonprod": "arn:aws:kms:us-east-1:111111111111:key/11ac6e58-1a74-4f89-98d0-328dd8ff2d51",
	})
	dst = newAliasKMS(testenv.DestinationAccount, map[string]string{"backup-vault-prod": seedDestProd, "backup-vault-finance": seedDestFinance})
	return src, dst
}

// The session maps keys by alias with the shipped policies: the plan
// shows each alias and the key it resolved to, a vault whose alias the
// destination lacks is blocked with a reason naming vault and alias,
// and plan and replication go on for the others. KMS is asked once per
// alias and run.
func TestSessionMapsKeysByAlias(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 200})
	cfg, clients := sessionConfig(t, env)
	src, dst := seedAliasKMS()
	ctx := context.Background()
	s := &engine.Session{Options: engine.Options{StateDir: filepath.Join(t.TempDir(), "state"), Clients: clients, DecideWhileListing: true,
		KMSClients: func(scriptconfig.Config) kmskeys.Accounts { return kmskeys.Accounts{Source: src, Destination: dst} }}}
	if err := s.Configure(cfg); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := s.Plan(ctx, "x.lua")
	if err != nil {
		t.Fatal(err)
	}
	dests := map[string]plan.DestinationPlan{}
	for _, v := range p.Vaults {
		dests[v.Name] = v.Destination
	}
	d := dests["prod-ebs-daily"]
	if d.Settings.EncryptionKey != "alias/backup-vault-prod" || d.Settings.EncryptionKeyArn != seedDestProd || len(d.Blocking) != 0 {
		t.Errorf("plan of prod-ebs-daily: %+v; want alias/backup-vault-prod resolved to %s", d, seedDestProd)
	}
	d = dests["dev-ebs-daily"]
	if d.Action != plan.DestinationCreate || d.Settings.EncryptionKeyArn != "" || len(d.Blocking) != 1 ||
		!strings.Contains(d.Blocking[0], "dev-ebs-daily") || !strings.Contains(d.Blocking[0], "alias/backup-vault-nonprod") {
		t.Errorf("plan of dev-ebs-daily: %+v; want blocked naming the vault and alias/backup-vault-nonprod", d)
	}
	if d := dests["Default"]; d.Settings.EncryptionKey != "" || len(d.Blocking) != 0 {
		t.Errorf("Default (aws/backup) was given a key or blocked: %+v", d)
	}

	if _, err := s.Replicate(ctx); err != nil {
		t.Fatal(err)
	}
	st := s.Replication["dev-ebs-daily"]
	if st == nil || st.Wait != replicate.WaitEncryptionKey || !strings.Contains(st.Reason, "alias/backup-vault-nonprod") {
		t.Errorf("dev-ebs-daily after replication: %+v; want held back for its key", st)
	}
	bc := backup.NewFromConfig(env.Config(t, testenv.ProfileDestination))
	got, err := bc.DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("prod-ebs-daily")})
	if err != nil {
		t.Fatalf("prod-ebs-daily was not created: %v (%+v)", err, s.Replication["prod-ebs-daily"])
	}
	if aws.ToString(got.EncryptionKeyArn) != seedDestProd {
		t.Errorf("prod-ebs-daily created with key %s, want %s (alias/backup-vault-prod)", aws.ToString(got.EncryptionKeyArn), seedDestProd)
	}
	if _, err := bc.DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("dev-ebs-daily")}); err == nil {
		t.Error("dev-ebs-daily was created although its alias does not resolve")
	}
	if src.calls["ListAliases"] != 1 || dst.calls["DescribeKey"] > 3 {
		t.Errorf("KMS calls: source %v, destination %v; want one listing and one DescribeKey per alias", src.calls, dst.calls)
	}
}
