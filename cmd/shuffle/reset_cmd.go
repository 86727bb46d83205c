package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

func newResetCmd(e *env) *cobra.Command {
	var stateDir string
	cmd := &cobra.Command{
		Use:   "reset inventory|decisions|vault NAME",
		Short: "Regenerate part of the state; never forgets copies already made",
		Long: `Regenerate part of the state:

  inventory    list every vault again on the next run (a new generation);
               RPs no longer listed are then marked gone, never deleted
  decisions    decide every recovery point not yet queued or copied again
  vault NAME   list one vault again and re-decide its recovery points

Nothing that records a copy is ever removed.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("say what to reset: inventory, decisions or vault NAME")
			}
			switch args[0] {
			case "inventory", "decisions":
				if len(args) != 1 {
					return usagef("reset %s takes no further argument", args[0])
				}
			case "vault":
				if len(args) != 2 {
					return usagef("reset vault needs the vault name: shuffle reset vault NAME")
				}
			default:
				return usagef("unknown reset target %q: use inventory, decisions or vault NAME", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := state.OpenWith(stateDir, e.state)
			if err != nil {
				return err
			}
			defer st.Close()
			switch args[0] {
			case "inventory":
				g, err := st.NewGeneration()
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "inventory reset: the next run lists every vault again (generation %d)\n", g)
			case "decisions":
				n, err := st.ResetDecisions("")
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "cleared %d decisions; the next run decides them again\n", n)
			case "vault":
				name := args[1]
				if _, ok, err := st.GetVault(state.Source, name); err != nil {
					return err
				} else if !ok {
					return usagef("vault %q is not in the state %s; run 'shuffle plan' first or check the name", name, stateDir)
				}
				if err := st.ResetVaultInventory(name); err != nil {
					return err
				}
				n, err := st.ResetDecisions(name)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "vault %s reset: it is listed again on the next run; cleared %d decisions\n", name, n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&stateDir, "state", "./.shuffle", "state directory (Badger)")
	complete(cmd, "state", completeDirs)
	return cmd
}
