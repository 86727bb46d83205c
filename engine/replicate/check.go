package replicate

import (
	"sort"
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
)

// vaultCheck is how an existing destination vault compares with what
// like-for-like replication wants.
type vaultCheck struct {
	drift            []string
	notes            []string
	policy           *vaultpolicy.Policy     // the destination's policy (empty when it has none)
	copyAllowed      bool                    // the policy allows the source account CopyIntoBackupVault
	copyClash        bool                    // a statement with vaultpolicy.CopyStatementSid exists but does not allow it
	denied           string                  // the statement that explicitly denies it ("" when none)
	policyAbsent     bool                    // the destination has no access policy at all
	policyUnreadable bool                    // the destination's access policy does not parse
	missing          []vaultpolicy.Statement // statements to add: the copy statement, translated source statements
	tagsToSet        map[string]string
}

// checkVault compares destination vault d with what replication wants
// for vp. Accounts and ARNs come from the vaults' own ARNs.
func checkVault(vp *plan.VaultPlan, w want, d *state.Vault) vaultCheck {
	var c vaultCheck
	if vaultType(d) != w.vaultType {
		c.drift = append(c.drift, "vault type "+d.VaultType+", source "+w.vaultType)
	}
	if lockMode(d) != w.lock {
		c.drift = append(c.drift, "lock "+string(lockMode(d))+", source "+string(w.lock))
	}
	if !sameRetention(d, w) {
		c.drift = append(c.drift, "lock retention differs from the source")
	}
	if !sameTags(d.Tags, w.tags) {
		c.compareTags(d.Tags, w.tags)
	}
	if !c.comparePolicy(vp, d) {
		return c
	}
	if len(w.events) > 0 && w.topic != "" && (d.SNSTopicArn != w.topic || !sameSet(d.Events, w.events)) {
		c.drift = append(c.drift, "notifications differ from the source (want "+w.topic+": "+strings.Join(w.events, ", ")+")")
	}
	return c
}

// compareTags records differing tags: those to set, and a note on the
// destination's extra keys, which are left alone.
func (c *vaultCheck) compareTags(have, want map[string]string) {
	c.drift = append(c.drift, "tags differ from the source")
	c.tagsToSet = map[string]string{}
	var extra []string
	for k, v := range want {
		if dv, ok := have[k]; !ok || dv != v {
			c.tagsToSet[k] = v
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		c.notes = append(c.notes, "tag keys the source lacks are left on the destination (shuffle never untags): "+strings.Join(extra, ", "))
	}
}

// comparePolicy compares the destination's access policy with the copy
// statement and the source's translated statements. It is false when
// the destination's policy cannot be read.
func (c *vaultCheck) comparePolicy(vp *plan.VaultPlan, d *state.Vault) bool {
	srcAcct, dstAcct := vaultpolicy.Account(vp.Source.Arn), vaultpolicy.Account(d.Arn)
	pol, err := vaultpolicy.Parse(d.AccessPolicy)
	if err != nil {
		c.notes = append(c.notes, "the destination access policy cannot be read ("+err.Error()+"); it is left alone")
		c.policy, c.policyUnreadable = vaultpolicy.New(), true
		c.drift = append(c.drift, "access policy does not allow account "+srcAcct+" backup:CopyIntoBackupVault")
		return false
	}
	c.policy = pol
	c.policyAbsent = len(pol.Statements) == 0
	c.copyAllowed = pol.AllowsCopy(srcAcct, d.Arn)
	c.denied = pol.DeniesCopy(srcAcct, d.Arn)
	have := map[string]bool{}
	sids := map[string]string{}
	for _, st := range pol.Statements {
		have[vaultpolicy.Canonical(st)] = true
		if sid := vaultpolicy.Sid(st); sid != "" {
			sids[sid] = vaultpolicy.Canonical(st)
		}
	}
	if !c.copyAllowed {
		c.drift = append(c.drift, "access policy does not allow account "+srcAcct+" backup:CopyIntoBackupVault")
		if _, clash := sids[vaultpolicy.CopyStatementSid]; clash {
			c.copyClash = true
		} else {
			c.missing = append(c.missing, vaultpolicy.CopyStatement(srcAcct, vaultpolicy.Partition(vp.Source.Arn)))
		}
	}
	tr := vaultpolicy.Translator{SourceAccount: srcAcct, DestinationAccount: dstAcct, SourceVault: vp.Source.Arn, DestinationVault: d.Arn}
	translated, notes := translate(vp, tr)
	c.notes = append(c.notes, notes...)
	var lacking []string
	for i, st := range translated {
		if have[vaultpolicy.Canonical(st)] {
			continue
		}
		name := vaultpolicy.StatementName(st, i)
		if sid := vaultpolicy.Sid(st); sid != "" && sids[sid] != "" {
			c.notes = append(c.notes, "the destination access policy has its own statement "+sid+", which differs from the source's; it is left alone")
			lacking = append(lacking, name)
			continue
		}
		lacking = append(lacking, name)
		c.missing = append(c.missing, st)
	}
	if len(lacking) > 0 {
		c.drift = append(c.drift, "access policy lacks statements of the source vault's policy: "+strings.Join(lacking, ", "))
	}
	return true
}
