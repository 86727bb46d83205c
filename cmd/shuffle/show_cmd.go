package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/approval"
	"github.com/shuffle-migrate/shuffle/engine/plan"
)

// writeApproved writes the approved-plan file of plan report p, says
// where, and returns its checksum.
func writeApproved(ctx context.Context, e *env, s *engine.Session, path string, p *plan.Plan) (string, error) {
	f, err := s.WriteApproved(ctx, path, p)
	if err != nil {
		return "", fmt.Errorf("write the approved plan: %w", err)
	}
	fmt.Fprintf(e.stderr, "approved plan written to %s: %d decisions, checksum %s; review it with: shuffle show %s\n",
		path, f.Trailer.Decisions, f.Trailer.Checksum, path)
	return f.Trailer.Checksum, nil
}

func newShowCmd(e *env) *cobra.Command {
	var jsonOut, decisions bool
	cmd := &cobra.Command{
		Use:   "show PLAN",
		Short: "Print an approved-plan file (written by shuffle plan --out) for review",
		Long: `Print an approved-plan file that 'shuffle plan --out PLAN' wrote: when and
from which script it was made, the policy hash, the inventory's
fingerprint, the decisions by source vault, the vaults a run would create
with their settings, and the plan report. The whole file is read and its
checksum verified first: a file edited after shuffle wrote it, damaged or
truncated is refused (exit 2).

--json prints the header and trailer as JSON (the plan report included);
--decisions lists every decision, one a line (with --json: JSON lines).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The whole file is verified before anything is printed; the
			// decisions are then streamed from a second read.
			f, err := approval.Read(args[0], nil)
			if err != nil {
				return usageError{err}
			}
			switch {
			case jsonOut && decisions:
				enc := json.NewEncoder(e.stdout)
				_, err = approval.Read(args[0], func(d approval.Decision) error { return enc.Encode(d) })
			case jsonOut:
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(struct {
					approval.Header
					Trailer approval.Trailer `json:"trailer"`
				}{f.Header, f.Trailer})
			default:
				printApproved(e.stdout, f)
				if decisions {
					err = printDecisions(e.stdout, args[0])
				}
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the header and trailer as JSON (with --decisions: the decisions as JSON lines)")
	cmd.Flags().BoolVar(&decisions, "decisions", false, "list every decision")
	return cmd
}

// printApproved prints the summary of an approved plan.
func printApproved(w io.Writer, f *approval.File) {
	t := f.Trailer
	fmt.Fprintf(w, "Approved plan %s (%s)\n", f.Path, f.Schema)
	fmt.Fprintf(w, "  made:        %s from %s\n", f.CreatedAt.UTC().Format("2006-01-02 15:04:05 MST"), f.Script)
	fmt.Fprintf(w, "  copies:      from account %s to %s in %s\n", f.SourceAccount, f.DestinationAccount, f.Region)
	fmt.Fprintf(w, "  policy hash: %s\n", f.PolicyHash)
	if f.MetadataHash != "" {
		fmt.Fprintf(w, "  metadata:    sha256 %s\n", f.MetadataHash)
	}
	fmt.Fprintf(w, "  inventory:   %d recovery points listed, fingerprint sha256 %s\n", t.Inventory.RecoveryPoints, t.Inventory.SHA256)
	fmt.Fprintf(w, "  checksum:    %s (verified)\n", t.Checksum)
	fmt.Fprintf(w, "  decisions:   %d recovery points to copy (%s)\n\n", t.Decisions, humanBytes(t.Bytes))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE VAULT\tLISTED\tTO COPY\tSIZE\tDESTINATION\t")
	for _, v := range allVaults(f) {
		vt := t.ByVault[v]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t\n", v, t.Inventory.ByVault[v], vt.Decisions, humanBytes(vt.Bytes), vt.DestinationVault)
	}
	fmt.Fprintf(tw, "TOTAL\t%d\t%d\t%s\t\t\n", t.Inventory.RecoveryPoints, t.Decisions, humanBytes(t.Bytes))
	tw.Flush()
	if len(f.VaultsToCreate) > 0 {
		fmt.Fprintln(w, "\nVaults to create:")
	}
	for _, v := range f.VaultsToCreate {
		fmt.Fprintf(w, "  %s (for %s): %s\n", v.Name, v.SourceVault, v.Describe())
		for _, b := range v.Blocking {
			fmt.Fprintf(w, "    blocked: %s\n", b)
		}
	}
	if f.Report != nil {
		fmt.Fprintln(w, "\nPlan report:")
		printPlan(w, f.Report)
	}
}

// allVaults are the source vaults listed or with decisions, sorted.
func allVaults(f *approval.File) []string {
	seen := map[string]bool{}
	for v := range f.Trailer.Inventory.ByVault {
		seen[v] = true
	}
	for v := range f.Trailer.ByVault {
		seen[v] = true
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// printDecisions lists the decisions of the plan at path, one a line.
func printDecisions(w io.Writer, path string) error {
	fmt.Fprintln(w, "\nDecisions (recovery point, source vault, destination vault, key, tags):")
	_, err := approval.Read(path, func(d approval.Decision) error {
		var tags []string
		for _, k := range sortedKeys(d.Tags) {
			tags = append(tags, k+"="+d.Tags[k])
		}
		if d.TagsError != "" {
			tags = append(tags, "(tags policy failed: "+d.TagsError+")")
		}
		_, err := fmt.Fprintf(w, "%s  %s  %s  %s  %s\n", d.RecoveryPoint, d.SourceVault, d.DestinationVault, orDash(d.DestinationKey), strings.Join(tags, ","))
		return err
	})
	return err
}
