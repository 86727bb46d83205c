package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

func newRunCmd(e *env) *cobra.Command {
	var sf sessionFlags
	cmd := &cobra.Command{
		Use:   "run SCRIPT",
		Short: "Run the operator's script: inventory, enrich, decide (copying lands with the copy engine)",
		Long: `Run the operator's script from the top. Every primitive it calls is
resumable through the state directory: a finished inventory is not listed
again, and only recovery points whose inputs or policies changed are
decided again. Resume is the default; --fresh lists the source again.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := e.notify(cmd.Context())
			defer cancel()
			s := sf.session()
			defer s.Close()
			start := time.Now()
			err := runScript(ctx, e, args[0], s)
			if err == nil {
				err = s.Finish(ctx)
			}
			if s.Store != nil {
				r := state.Run{Command: "run", Script: args[0], Start: start, End: time.Now()}
				if err != nil {
					r.Exit, r.Error = 1, err.Error()
				}
				_ = s.Store.PutRun(r)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "run finished in %s; state in %s\n", time.Since(start).Round(time.Millisecond), sf.state)
			return nil
		},
	}
	sf.register(cmd)
	return cmd
}
