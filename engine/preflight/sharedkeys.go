package preflight

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// KeyReader reads source KMS keys: who manages them and their policies
// (*kms.Client).
type KeyReader interface {
	kmskeys.KeyDescriber
	GetKeyPolicy(ctx context.Context, in *kms.GetKeyPolicyInput, opts ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error)
}

var _ KeyReader = (*kms.Client)(nil)

// checkSourceKeys is the source account's key checks: the count of
// recovery points on AWS-managed keys (from a listing of the source),
// then whether each source key the copies use is shared with the
// destination account. The keys are those of the included recovery
// points when the state gave them (in.StateKeys), else those of the
// listed ones the aws-managed-key rule lets through.
func checkSourceKeys(ctx context.Context, in Input, c Clients, add func(finding.Finding)) {
	var kd kmskeys.KeyDescriber
	if c.KMS != nil {
		kd = c.KMS
	}
	keys := kmskeys.NewDescriber(kd, nil, nil)
	used := in.StateKeys
	if !in.SkipEncryption {
		listed, _ := listRPKeys(ctx, c.Backup, in.KeyRule.KeyMatters, add)
		kept, err := countManagedKeys(ctx, listed, in.KeyRule, keys, add)
		if err != nil {
			return // interrupted
		}
		if !in.FromState {
			used = kept
		}
	} else if !in.FromState {
		add(finding.New(finding.Info, finding.SideSource, "shared-keys", "", "shared-key check skipped: no state names the included recovery points and --skip-encryption skips listing them", "", ""))
		return
	}
	checkSharedKeys(ctx, in.Config, used, in.KeyRule.KeyMatters, keys, c.KMS, add)
}

// keyUse is one source key and the recovery points that use it.
type keyUse struct {
	arn    string
	rps    int
	vaults map[string]bool
	rp     RPKey // one of them, for the rule
}

// groupByKey groups the encrypted recovery points of types whose
// copies keep their source key by key, in key order.
func groupByKey(rps []RPKey, keyMatters func(string) bool) []*keyUse {
	by := map[string]*keyUse{}
	for _, r := range rps {
		if !r.Encrypted || r.KeyArn == "" || !keyMatters(r.ResourceType) {
			continue
		}
		u := by[r.KeyArn]
		if u == nil {
			u = &keyUse{arn: r.KeyArn, vaults: map[string]bool{}, rp: r}
			by[r.KeyArn] = u
		}
		u.rps++
		u.vaults[r.Vault] = true
	}
	out := make([]*keyUse, 0, len(by))
	for _, u := range by {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].arn < out[j].arn })
	return out
}

func (u *keyUse) String() string {
	vs := make([]string, 0, len(u.vaults))
	for v := range u.vaults {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	return fmt.Sprintf("source key %s (%d recovery points in %s)", u.arn, u.rps, strings.Join(vs, ", "))
}

// checkSharedKeys reads each key's policy and says whether it lets the
// destination account use the key for a copy.
func checkSharedKeys(ctx context.Context, cfg scriptconfig.Config, rps []RPKey, keyMatters func(string) bool, keys *kmskeys.Describer, kr KeyReader, add func(finding.Finding)) {
	uses := groupByKey(rps, keyMatters)
	if kr == nil {
		if len(uses) > 0 {
			add(finding.New(finding.Warning, finding.SideSource, "shared-keys", "", fmt.Sprintf("%d source keys not checked: no KMS client for the source account", len(uses)), "", ""))
		}
		return
	}
	shared := 0
	for _, u := range uses {
		a, err := keys.Learn(ctx, u.arn)
		if err != nil {
			return // interrupted
		}
		if a.Manager == kmskeys.ManagerAWS {
			add(finding.New(finding.Warning, finding.SideSource, "encryption", "", u.String()+" is AWS-managed (KMS KeyManager AWS)",
				"an AWS-managed key's policy never lets another account use it; these recovery points are ineligible (aws-managed-key) at the next decide",
				"back these resources up with a customer-managed KMS key shared with the destination account, or accept that they are not copied"))
			continue
		}
		if sharedKey(ctx, cfg, u, kr, add) {
			shared++
		}
	}
	add(finding.New(finding.Info, finding.SideSource, "shared-keys", "", fmt.Sprintf("%d of %d source keys used by the copies are shared with account %s", shared, len(uses), cfg.Destination.Account), "", ""))
}

// sharedKey checks one key's policy; true when it is shared.
func sharedKey(ctx context.Context, cfg scriptconfig.Config, u *keyUse, kr KeyReader, add func(finding.Finding)) bool {
	dest := cfg.Destination.Account
	statement := kmskeys.ShareStatement(PartitionOf(cfg.Source.Region), dest)
	out, err := kr.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(u.arn), PolicyName: aws.String("default")})
	if err != nil {
		fix := "run check again"
		if isDenied(err) {
			fix = "allow kms:GetKeyPolicy to the source operator role (see `shuffle iam-policy`; the key policy must allow it too), or check by hand that the key policy has: " + statement
		}
		add(finding.New(finding.Warning, finding.SideSource, "shared-keys", "kms:GetKeyPolicy", "could not read the key policy of "+u.String()+": "+finding.ErrorText(err),
			"whether the destination account may use the key is unknown; copies fail if it may not", fix))
		return false
	}
	s, err := kmskeys.SharedWith(aws.ToString(out.Policy), dest)
	if err != nil {
		add(finding.New(finding.Warning, finding.SideSource, "shared-keys", "", "could not read the key policy of "+u.String()+": "+err.Error(), "", "check the key policy by hand"))
		return false
	}
	switch {
	case !s.Shared:
		what := fmt.Sprintf("%s is not shared with destination account %s", u, dest)
		fix := "add this statement to the key policy: " + statement
		if len(s.Missing) > 0 {
			what += ": no Allow for it of " + strings.Join(s.Missing, ", ")
		}
		if len(s.Denied) > 0 {
			what += "; a Deny covers " + strings.Join(s.Denied, ", ")
			fix = "remove the Deny of " + strings.Join(s.Denied, ", ") + " to account " + dest + ", and " + fix
		}
		add(finding.New(finding.Blocking, finding.SideSource, "shared-keys", "", what,
			"AWS Backup copies these recovery points with their source key, so the destination account must be allowed to use it; every such copy job would fail", fix))
		return false
	case s.Conditional:
		add(finding.New(finding.Warning, finding.SideSource, "shared-keys", "", u.String()+" is shared with account "+dest+" (conditional: only by statements with a Condition)",
			"a condition AWS Backup's copy does not meet fails the copies", "check that the conditions hold for AWS Backup's copy, or add: "+statement))
	default:
		add(finding.New(finding.Info, finding.SideSource, "shared-keys", "", u.String()+" is shared with account "+dest, "", ""))
	}
	return true
}
