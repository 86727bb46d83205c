package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine/finding"
	// The package-level func preflight (check_cmd.go) takes the name.
	pf "github.com/shuffle-migrate/shuffle/engine/preflight"
)

// IAMPolicies is the output of `shuffle iam-policy`.
type IAMPolicies struct {
	SourceOperatorRole           pf.PolicyDocument `json:"source_operator_role"`
	DestinationOperatorRole      pf.PolicyDocument `json:"destination_operator_role"`
	DestinationVaultAccessPolicy pf.PolicyDocument `json:"destination_vault_access_policy"`
}

func newIAMPolicyCmd(e *env) *cobra.Command {
	var (
		only string
		sf   = sessionFlags{aws: e.aws}
	)
	cmd := &cobra.Command{
		Use:   "iam-policy SCRIPT",
		Short: "Print the minimal IAM policies shuffle needs (JSON), from the same action list check uses",
		Long: `Run the script up to its shuffle.config call and print, as one JSON object,
the minimal IAM policy documents for the source operator role, the
destination operator role and the destination vault access policy
statement. They come from the action list 'shuffle check' simulates.

--only source|destination|vault prints that one document alone, ready for
'aws iam put-role-policy --policy-document file://...'.

The region in the ARNs is resolved as a run resolves it: the script's,
else the profiles' (the profile flags as for plan and run). Nothing is
sent to AWS.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := scriptConfig(cmd.Context(), args[0], e.stderr, &sf)
			if err != nil {
				return err
			}
			p := IAMPolicies{
				SourceOperatorRole:           pf.OperatorPolicy(cfg, finding.SideSource),
				DestinationOperatorRole:      pf.OperatorPolicy(cfg, finding.SideDestination),
				DestinationVaultAccessPolicy: pf.VaultAccessPolicy(cfg),
			}
			var v any = p
			switch only {
			case "":
			case "source":
				v = p.SourceOperatorRole
			case "destination":
				v = p.DestinationOperatorRole
			case "vault":
				v = p.DestinationVaultAccessPolicy
			default:
				return usagef("--only must be source, destination or vault, got %q", only)
			}
			b, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, string(b))
			return nil
		},
	}
	cmd.Flags().StringVar(&only, "only", "", "print one document: source, destination or vault")
	// The policies name the region's ARNs: it is resolved as a run resolves it.
	sf.registerProfiles(cmd)
	return cmd
}
