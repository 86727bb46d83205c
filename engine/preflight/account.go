package preflight

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// checkAccount checks one account; false when its identity is unusable.
// An endpoint that cannot be reached is an *UnreachableError: no check
// of the account can say anything.
func checkAccount(ctx context.Context, cfg scriptconfig.Config, side finding.Side, ep scriptconfig.Endpoint, c Clients, add func(finding.Finding)) (bool, error) {
	if ep.Profile == "" {
		ep.Profile = "default" // the SDK's default chain (see profiles.FromDefault)
	}
	id, err := c.Identity.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if ue := Unreachable(side, ep.Profile, err); ue != nil {
		return false, ue
	}
	if err != nil {
		fix := "log in again (refresh the profile's credentials) or pick another profile with --" + string(side) + "-profile"
		var ce *awsclient.CredentialsError
		if errors.As(err, &ce) {
			fix = ce.Remedy + ", or pick another profile with --" + string(side) + "-profile"
		}
		add(finding.New(finding.Blocking, side, "credentials", "sts:GetCallerIdentity", fmt.Sprintf("profile %q: the credentials do not work: %v", ep.Profile, err),
			"every call in this account would fail", fix))
		return false, nil
	}
	if got := aws.ToString(id.Account); got != ep.Account {
		add(finding.New(finding.Blocking, side, "account", "", fmt.Sprintf("profile %q belongs to account %s (%s), the script says %s", ep.Profile, got, aws.ToString(id.Arn), ep.Account),
			"shuffle would read or write the wrong account", "fix the account id in the script or pick the right profile"))
		return false, nil
	}
	principal := PrincipalARN(aws.ToString(id.Arn))
	add(finding.New(finding.Info, side, "identity", "", fmt.Sprintf("profile %q is %s in account %s", ep.Profile, principal, ep.Account), "", ""))

	simulatePermissions(ctx, cfg, side, principal, c.Simulator, c.Backup, add)
	checkGlobalSettings(ctx, side, ep, c.Backup, add)
	if side == finding.SideSource {
		checkCopyRole(ctx, cfg, c.Roles, add)
	} else {
		checkVaultPolicies(ctx, cfg, c.Backup, add)
	}
	return true, nil
}

// checkGlobalSettings checks that cross-account backup is enabled.
func checkGlobalSettings(ctx context.Context, side finding.Side, ep scriptconfig.Endpoint, api GlobalSettings, add func(finding.Finding)) {
	gs, err := api.DescribeGlobalSettings(ctx, &backup.DescribeGlobalSettingsInput{})
	switch {
	case err != nil:
		add(finding.New(finding.Warning, side, "global-settings", "backup:DescribeGlobalSettings", "could not read the account's AWS Backup global settings: "+finding.ErrorText(err),
			"cross-account copies fail when cross-account backup is disabled", "allow backup:DescribeGlobalSettings, or confirm in the console that cross-account backup is enabled"))
	case gs.GlobalSettings["isCrossAccountBackupEnabled"] != "true":
		add(finding.New(finding.Blocking, side, "global-settings", "", "cross-account backup is disabled in account "+ep.Account,
			"every copy job would fail", "enable cross-account backup (AWS Backup settings, from the organization's management account)"))
	default:
		add(finding.New(finding.Info, side, "global-settings", "", "cross-account backup is enabled", "", ""))
	}
}

// checkCopyRole checks that the source account's copy role exists.
func checkCopyRole(ctx context.Context, cfg scriptconfig.Config, api RoleGetter, add func(finding.Finding)) {
	side := finding.SideSource
	name := cfg.CopyRole[strings.LastIndex(cfg.CopyRole, "/")+1:]
	_, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	switch {
	case err == nil:
		add(finding.New(finding.Info, side, "copy-role", "", "copy role "+cfg.CopyRole+" exists", "", ""))
	case awsclient.IsNotFound(err):
		add(finding.New(finding.Blocking, side, "copy-role", "", "copy role "+cfg.CopyRole+" does not exist",
			"StartCopyJob is refused when its role does not exist", "create the role (AWS Backup's default service role) or fix copy_role in the script"))
	case !isDenied(err):
		add(finding.New(finding.Warning, side, "copy-role", "iam:GetRole", "could not check the copy role: "+finding.ErrorText(err), "", "run check again"))
	} // denied: reported by the simulation (or the probes)
}
