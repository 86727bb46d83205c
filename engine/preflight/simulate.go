package preflight

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// simulatePermissions runs iam:SimulatePrincipalPolicy over the account's actions,
// one call per resource and context; when simulation itself is denied it
// falls back to read-only probes.
func simulatePermissions(ctx context.Context, cfg scriptconfig.Config, side finding.Side, principal string, ic Simulator, bc prober, add func(finding.Finding)) {
	type group struct {
		res  string
		cond map[string]string
		acts []Action
	}
	var groups []*group
	for _, a := range ActionsFor(side) {
		res := a.simulationARN(cfg)
		var g *group
		for _, x := range groups {
			if x.res == res && fmt.Sprint(x.cond) == fmt.Sprint(a.Condition) {
				g = x
			}
		}
		if g == nil {
			g = &group{res: res, cond: a.Condition}
			groups = append(groups, g)
		}
		g.acts = append(g.acts, a)
	}
	for _, g := range groups {
		in := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(principal), ResourceArns: []string{g.res}}
		for _, a := range g.acts {
			in.ActionNames = append(in.ActionNames, a.Name)
		}
		for k, v := range g.cond {
			in.ContextEntries = append(in.ContextEntries, iamtypes.ContextEntry{ContextKeyName: aws.String(k), ContextKeyType: iamtypes.ContextKeyTypeEnumString, ContextKeyValues: []string{v}})
		}
		decided := map[string]string{}
		p := iam.NewSimulatePrincipalPolicyPaginator(ic, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				if isDenied(err) {
					add(finding.New(finding.Blocking, side, "permissions", "iam:SimulatePrincipalPolicy",
						fmt.Sprintf("%s may not call iam:SimulatePrincipalPolicy, so its permissions cannot be verified; fell back to read-only probes", principal),
						"without simulation, write permissions (copying, vault creation, locks) are only found out during the run",
						"allow iam:SimulatePrincipalPolicy on the operator role (see `shuffle iam-policy`)"))
					probe(ctx, side, bc, add)
					return
				}
				add(finding.New(finding.Warning, side, "permissions", "iam:SimulatePrincipalPolicy", "simulation failed: "+finding.ErrorText(err), "permissions were not verified", "run check again"))
				return
			}
			for _, ev := range out.EvaluationResults {
				decided[aws.ToString(ev.EvalActionName)] = string(ev.EvalDecision)
			}
		}
		for _, a := range g.acts {
			d := decided[a.Name]
			if d == "allowed" {
				continue
			}
			what := fmt.Sprintf("%s is not allowed %s on %s", principal, a.Name, g.res)
			for k, v := range a.Condition {
				what += fmt.Sprintf(" with %s=%s", k, v)
			}
			if d != "" {
				what += " (" + d + ")"
			}
			add(finding.New(finding.Blocking, side, "permissions", a.Name, what, "shuffle needs it: "+a.Why,
				fmt.Sprintf("grant %s on %s to the %s operator role (see `shuffle iam-policy`)", a.Name, a.resourceARN(cfg), side)))
		}
	}
	add(finding.New(finding.Info, side, "permissions", "", fmt.Sprintf("simulated %d actions for %s", len(ActionsFor(side)), principal), "", ""))
}

// prober is what the read-only probes call.
type prober interface {
	VaultLister
	CopyJobLister
}

// probe makes safe read-only calls when simulation is not available.
func probe(ctx context.Context, side finding.Side, bc prober, add func(finding.Finding)) {
	calls := []struct {
		action string
		call   func() error
	}{
		{"backup:ListBackupVaults", func() error {
			_, err := bc.ListBackupVaults(ctx, &backup.ListBackupVaultsInput{MaxResults: aws.Int32(1)})
			return err
		}},
		{"backup:ListCopyJobs", func() error {
			if side != finding.SideSource {
				return nil
			}
			_, err := bc.ListCopyJobs(ctx, &backup.ListCopyJobsInput{MaxResults: aws.Int32(1)})
			return err
		}},
	}
	for _, c := range calls {
		if err := c.call(); err != nil {
			sev := finding.Warning
			if isDenied(err) {
				sev = finding.Blocking
			}
			add(finding.New(sev, side, "probe", c.action, "read-only probe "+c.action+" failed: "+finding.ErrorText(err), "shuffle calls it", "grant "+c.action))
		} else {
			add(finding.New(finding.Info, side, "probe", c.action, "read-only probe "+c.action+" succeeded", "", ""))
		}
	}
}
