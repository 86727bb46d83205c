package testenv_test

// KMS through the real aws-sdk-go-v2 kms client: each operation,
// pagination, the KeyId forms, IAM and key-policy enforcement, the
// seeded keys, and the copy jobs the key policies decide.

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

func sdkKMS(t testing.TB, env *testenvtest.Env, profile string) *kms.Client {
	t.Helper()
	return kms.NewFromConfig(env.Config(t, profile))
}

// sdkAliases lists every alias of the caller's account with the
// paginator, keyed by alias name.
func sdkAliases(t testing.TB, c *kms.Client, in *kms.ListAliasesInput) (map[string]types.AliasListEntry, int) {
	t.Helper()
	out := map[string]types.AliasListEntry{}
	pages := 0
	p := kms.NewListAliasesPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(sdkCtx)
		sdkNoErr(t, err, "ListAliases")
		pages++
		for _, a := range page.Aliases {
			if _, dup := out[aws.ToString(a.AliasName)]; dup {
				t.Fatalf("alias %s listed twice", aws.ToString(a.AliasName))
			}
			out[aws.ToString(a.AliasName)] = a
		}
	}
	return out, pages
}

// sdkKeyArn resolves alias/NAME in the caller's account to its key ARN.
func sdkKeyArn(t testing.TB, c *kms.Client, alias string) string {
	t.Helper()
	out, err := c.DescribeKey(sdkCtx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	sdkNoErr(t, err, "DescribeKey "+alias)
	return aws.ToString(out.KeyMetadata.Arn)
}

var (
	sdkSourceCMKs  = []string{"backup-vault-prod", "backup-vault-finance", "backup-vault-nonprod", "ebs-data", "rds-data", "fsx-data", "redshift-data"}
	sdkSourceAWS   = []string{"aws/backup", "aws/ebs", "aws/rds", "aws/fsx"}
	sdkDestAWS     = []string{"aws/backup", "aws/ebs", "aws/rds"}
	sdkKMSKeyARNRE = `^arn:aws:kms:us-east-1:%s:key/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`
)

// TestKMSSeededKeys: the aliases and keys of both accounts, as
// DescribeKey shows them, are those the shared contract lists.
func TestKMSSeededKeys(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	for _, acct := range []struct {
		profile, id string
		cmks, aws   []string
	}{
		{testenv.ProfileSource, testenv.SourceAccount, sdkSourceCMKs, sdkSourceAWS},
		{testenv.ProfileDestination, testenv.DestinationAccount, sdkSourceCMKs[:6], sdkDestAWS},
	} {
		c := sdkKMS(t, env, acct.profile)
		aliases, _ := sdkAliases(t, c, &kms.ListAliasesInput{})
		want := map[string]types.KeyManagerType{}
		for _, a := range acct.cmks {
			want["alias/"+a] = types.KeyManagerTypeCustomer
		}
		for _, a := range acct.aws {
			want["alias/"+a] = types.KeyManagerTypeAws
		}
		for name, mgr := range want {
			al, ok := aliases[name]
			if !ok {
				t.Errorf("%s: alias %s missing", acct.profile, name)
				continue
			}
			if aws.ToString(al.AliasArn) != "arn:aws:kms:us-east-1:"+acct.id+":"+name || al.TargetKeyId == nil || al.CreationDate == nil {
				t.Errorf("%s: alias entry %s: %+v", acct.profile, name, al)
			}
			d, err := c.DescribeKey(sdkCtx, &kms.DescribeKeyInput{KeyId: aws.String(name)})
			sdkNoErr(t, err, acct.profile+" DescribeKey "+name)
			m := d.KeyMetadata
			if m.KeyManager != mgr || m.KeyState != types.KeyStateEnabled || m.KeySpec != types.KeySpecSymmetricDefault ||
				m.KeyUsage != types.KeyUsageTypeEncryptDecrypt || !m.Enabled || aws.ToString(m.AWSAccountId) != acct.id ||
				aws.ToString(m.KeyId) != aws.ToString(al.TargetKeyId) || !strings.HasSuffix(aws.ToString(m.Arn), ":key/"+aws.ToString(m.KeyId)) ||
				m.CreationDate == nil || m.Origin != types.OriginTypeAwsKms || aws.ToString(m.Description) == "" {
				t.Errorf("%s: DescribeKey %s: %+v", acct.profile, name, m)
			}
		}
		for name, al := range aliases {
			if _, ok := want[name]; !ok && (!strings.HasPrefix(name, "alias/aws/") || al.TargetKeyId != nil) {
				t.Errorf("%s: unexpected alias %s -> %v", acct.profile, name, aws.ToString(al.TargetKeyId))
			}
		}
	}
	// The destination has no redshift-data key, on purpose.
	_, err := sdkKMS(t, env, testenv.ProfileDestination).DescribeKey(sdkCtx, &kms.DescribeKeyInput{KeyId: aws.String("alias/redshift-data")})
	msg := sdkWantErr(t, err, "NotFoundException", 404)
	if !strings.Contains(msg, "arn:aws:kms:us-east-1:222222222222:alias/redshift-data") {
		t.Errorf("NotFoundException message does not name the alias: %s", msg)
	}
}

// TestKMSKeyIdForms: a key is found by id, key ARN, alias name and alias
// ARN; another account's key only by ARN; bad ARNs and unknown names
// get KMS's errors.
func TestKMSKeyIdForms(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	src, dst := sdkKMS(t, env, testenv.ProfileSource), sdkKMS(t, env, testenv.ProfileDestination)
	arn := sdkKeyArn(t, src, "alias/ebs-data")
	id := arn[strings.LastIndex(arn, "/")+1:]
	aliasArn := "arn:aws:kms:us-east-1:111111111111:alias/ebs-data"
	for _, form := range []string{id, arn, "alias/ebs-data", aliasArn} {
		if got := sdkKeyArn(t, src, form); got != arn {
			t.Errorf("DescribeKey %s = %s, want %s", form, got, arn)
		}
	}
	// From the destination: the shared source key by either ARN.
	for _, form := range []string{arn, aliasArn} {
		if got := sdkKeyArn(t, dst, form); got != arn {
			t.Errorf("destination DescribeKey %s = %s, want %s", form, got, arn)
		}
	}
	// A plain id or alias name means the caller's own account.
	_, err := dst.DescribeKey(sdkCtx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	sdkWantTyped[*types.NotFoundException](t, err, 404)
	if sdkKeyArn(t, dst, "alias/ebs-data") == arn {
		t.Error("destination alias/ebs-data resolves to the source key")
	}
	for _, bad := range []string{"arn:aws:s3:::bucket", "arn:aws:kms:eu-west-1:111111111111:key/" + id, "arn:aws:kms:us-east-1:111111111111:grant/x"} {
		_, err := src.DescribeKey(sdkCtx, &kms.DescribeKeyInput{KeyId: aws.String(bad)})
		sdkWantTyped[*types.InvalidArnException](t, err, 400)
	}
	_, err = src.DescribeKey(sdkCtx, &kms.DescribeKeyInput{KeyId: aws.String("alias/no-such-alias")})
	sdkWantTyped[*types.NotFoundException](t, err, 404)
	_, err = src.DescribeKey(sdkCtx, &kms.DescribeKeyInput{KeyId: aws.String("11111111-2222-4333-8444-555555555555")})
	sdkWantTyped[*types.NotFoundException](t, err, 404)

	// A predefined AWS alias without a key gets its AWS managed key on
	// DescribeKey, as on AWS.
	before, _ := sdkAliases(t, src, &kms.ListAliasesInput{})
	if al, ok := before["alias/aws/dynamodb"]; !ok || al.TargetKeyId != nil {
		t.Fatalf("alias/aws/dynamodb before DescribeKey: %+v (present %v)", al, ok)
	}
	d, err := src.DescribeKey(sdkCtx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/dynamodb")})
	sdkNoErr(t, err, "DescribeKey alias/aws/dynamodb")
	after, _ := sdkAliases(t, src, &kms.ListAliasesInput{})
	if d.KeyMetadata.KeyManager != types.KeyManagerTypeAws || aws.ToString(after["alias/aws/dynamodb"].TargetKeyId) != aws.ToString(d.KeyMetadata.KeyId) {
		t.Errorf("alias/aws/dynamodb after DescribeKey: %+v, key %+v", after["alias/aws/dynamodb"], d.KeyMetadata)
	}
}

// TestKMSPagination: ListKeys and ListAliases page with Limit and
// Marker, every item once; bad limits and markers are refused.
func TestKMSPagination(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	c := sdkKMSAdmin(t, env)
	all, err := c.ListKeys(sdkCtx, &kms.ListKeysInput{})
	sdkNoErr(t, err, "ListKeys")
	if all.Truncated || all.NextMarker != nil || len(all.Keys) != len(sdkSourceCMKs)+len(sdkSourceAWS) {
		t.Fatalf("ListKeys: %d keys, truncated %v", len(all.Keys), all.Truncated)
	}
	var paged []string
	var marker *string
	pages := 0
	for {
		out, err := c.ListKeys(sdkCtx, &kms.ListKeysInput{Limit: aws.Int32(3), Marker: marker})
		sdkNoErr(t, err, "ListKeys page")
		pages++
		if len(out.Keys) > 3 || out.Truncated != (out.NextMarker != nil) {
			t.Fatalf("page %d: %d keys, truncated %v, marker %v", pages, len(out.Keys), out.Truncated, out.NextMarker)
		}
		for _, k := range out.Keys {
			paged = append(paged, aws.ToString(k.KeyArn))
		}
		if !out.Truncated {
			break
		}
		marker = out.NextMarker
	}
	var whole []string
	for _, k := range all.Keys {
		whole = append(whole, aws.ToString(k.KeyArn))
	}
	sort.Strings(paged)
	sort.Strings(whole)
	if pages != 4 || strings.Join(paged, ",") != strings.Join(whole, ",") {
		t.Errorf("paged ListKeys (%d pages) = %v, want %v", pages, paged, whole)
	}
	full, _ := sdkAliases(t, c, &kms.ListAliasesInput{})
	byTwo, n := sdkAliases(t, c, &kms.ListAliasesInput{Limit: aws.Int32(2)})
	if len(byTwo) != len(full) || n != (len(full)+1)/2 {
		t.Errorf("ListAliases by 2: %d aliases in %d pages, want %d", len(byTwo), n, len(full))
	}
	for _, lim := range []int32{0, 1001} {
		_, err := c.ListKeys(sdkCtx, &kms.ListKeysInput{Limit: aws.Int32(lim)})
		sdkWantErr(t, err, "ValidationException", 400)
	}
	_, err = c.ListAliases(sdkCtx, &kms.ListAliasesInput{Marker: aws.String("not-a-marker")})
	sdkWantTyped[*types.InvalidMarkerException](t, err, 400)
	// KeyId filters the aliases to one key's.
	arn := sdkKeyArn(t, c, "alias/ebs-data")
	one, _ := sdkAliases(t, c, &kms.ListAliasesInput{KeyId: aws.String(arn)})
	if len(one) != 1 || aws.ToString(one["alias/ebs-data"].TargetKeyId) != arn[strings.LastIndex(arn, "/")+1:] {
		t.Errorf("ListAliases KeyId=%s: %v", arn, one)
	}
}

// sdkPolicy fetches a key policy and parses its statements.
func sdkPolicy(t testing.TB, c *kms.Client, keyID string) (string, []map[string]any) {
	t.Helper()
	out, err := c.GetKeyPolicy(sdkCtx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyID)})
	sdkNoErr(t, err, "GetKeyPolicy "+keyID)
	var doc struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &doc); err != nil {
		t.Fatalf("key policy of %s is not JSON: %v", keyID, err)
	}
	if aws.ToString(out.PolicyName) != "default" {
		t.Errorf("PolicyName %q", aws.ToString(out.PolicyName))
	}
	return aws.ToString(out.Policy), doc.Statement
}

// TestKMSKeyPolicies: every source CMK but redshift-data's shares the key
// with the destination; AWS managed keys allow only their own account;
// the destination reads a shared key's metadata but not an unshared or
// AWS managed one, and never another account's key policy.
func TestKMSKeyPolicies(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	src, dst := sdkKMS(t, env, testenv.ProfileSource), sdkKMS(t, env, testenv.ProfileDestination)
	for _, a := range sdkSourceCMKs {
		arn := sdkKeyArn(t, src, "alias/"+a)
		pol, _ := sdkPolicy(t, src, arn)
		shared := strings.Contains(pol, `"AWS":"arn:aws:iam::222222222222:root"`) && strings.Contains(pol, "kms:ReEncryptFrom")
		if shared != (a != "redshift-data") {
			t.Errorf("%s shared with the destination = %v: %s", a, shared, pol)
		}
		_, err := dst.DescribeKey(sdkCtx, &kms.DescribeKeyInput{KeyId: aws.String(arn)})
		if a == "redshift-data" {
			msg := sdkWantErr(t, err, "AccessDeniedException", 400)
			if !strings.Contains(msg, "resource-based policy") || !strings.Contains(msg, arn) {
				t.Errorf("unshared key denial: %s", msg)
			}
		} else {
			sdkNoErr(t, err, "destination DescribeKey of shared "+a)
		}
		_, err = dst.GetKeyPolicy(sdkCtx, &kms.GetKeyPolicyInput{KeyId: aws.String(arn)})
		sdkWantErr(t, err, "AccessDeniedException", 400)
	}
	for _, a := range sdkSourceAWS {
		arn := sdkKeyArn(t, src, "alias/"+a)
		pol, _ := sdkPolicy(t, src, arn)
		if !strings.Contains(pol, `"kms:CallerAccount":"111111111111"`) || !strings.Contains(pol, "kms:ViaService") || strings.Contains(pol, "222222222222") {
			t.Errorf("AWS managed %s policy: %s", a, pol)
		}
		_, err := dst.DescribeKey(sdkCtx, &kms.DescribeKeyInput{KeyId: aws.String(arn)})
		sdkWantErr(t, err, "AccessDeniedException", 400)
	}
	arn := sdkKeyArn(t, src, "alias/ebs-data")
	_, err := src.GetKeyPolicy(sdkCtx, &kms.GetKeyPolicyInput{KeyId: aws.String("alias/ebs-data")})
	sdkWantTyped[*types.NotFoundException](t, err, 404)
	_, err = src.GetKeyPolicy(sdkCtx, &kms.GetKeyPolicyInput{KeyId: aws.String(arn), PolicyName: aws.String("other")})
	sdkWantTyped[*types.NotFoundException](t, err, 404)
}

// TestKMSIAMDenial: without the identity permission, each KMS call is
// refused naming the action; the destination needs its own permission
// as well as the key policy to read a source key.
func TestKMSIAMDenial(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	src := sdkKMS(t, env, testenv.ProfileSource)
	arn := sdkKeyArn(t, src, "alias/ebs-data")
	noKMS := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"backup:*","Resource":"*"}]}`
	sdkNoErr(t, env.SetPolicies(testenv.ProfileSource, []string{noKMS}), "SetPolicies source")
	sdkNoErr(t, env.SetPolicies(testenv.ProfileDestination, []string{noKMS}), "SetPolicies destination")
	calls := map[string]func(*kms.Client) error{
		"kms:DescribeKey": func(c *kms.Client) error {
			_, err := c.DescribeKey(sdkCtx, &kms.DescribeKeyInput{KeyId: aws.String(arn)})
			return err
		},
		"kms:ListAliases": func(c *kms.Client) error { _, err := c.ListAliases(sdkCtx, &kms.ListAliasesInput{}); return err },
		"kms:ListKeys":    func(c *kms.Client) error { _, err := c.ListKeys(sdkCtx, &kms.ListKeysInput{}); return err },
		"kms:GetKeyPolicy": func(c *kms.Client) error {
			_, err := c.GetKeyPolicy(sdkCtx, &kms.GetKeyPolicyInput{KeyId: aws.String(arn)})
			return err
		},
	}
	for action, call := range calls {
		msg := sdkWantErr(t, call(src), "AccessDeniedException", 400)
		if !strings.Contains(msg, action) || !strings.Contains(msg, "identity-based policy") {
			t.Errorf("%s denial: %s", action, msg)
		}
	}
	msg := sdkWantErr(t, calls["kms:DescribeKey"](sdkKMS(t, env, testenv.ProfileDestination)), "AccessDeniedException", 400)
	if !strings.Contains(msg, "assumed-role/ShuffleOperator/") || !strings.Contains(msg, "222222222222") {
		t.Errorf("destination denial: %s", msg)
	}
	// The operator policies of the shared contract allow exactly the
	// lookups shuffle makes, and not ListKeys.
	sdkNoErr(t, env.SetPolicies(testenv.ProfileSource, []string{testenv.DefaultPolicies[testenv.ProfileSource]}), "restore")
	sdkNoErr(t, calls["kms:GetKeyPolicy"](src), "GetKeyPolicy with the default source policy")
	sdkWantErr(t, calls["kms:ListKeys"](src), "AccessDeniedException", 400)
}
