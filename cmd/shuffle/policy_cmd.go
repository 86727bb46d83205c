package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/luabind"
)

type testFailures int

func (f testFailures) Error() string { return fmt.Sprintf("%d policy tests failed", int(f)) }
func (f testFailures) ExitCode() int { return exitError }

func newPolicyCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Work with the security team's Lua policies"}
	var explain bool
	test := &cobra.Command{
		Use:   "test [DIR]",
		Short: "Run the policy tests (*_test.lua, functions named Test*) in DIR (default ./policies)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "policies"
			if len(args) == 1 {
				dir = args[0]
			}
			_, failed, err := luabind.RunPolicyTests(dir, explain, e.stdout)
			if err != nil {
				return usageError{err}
			}
			if failed > 0 {
				return testFailures(failed)
			}
			return nil
		},
	}
	test.Flags().BoolVar(&explain, "explain", false, "print every decision the tests make, with its inputs and reason")
	cmd.AddCommand(test)
	return cmd
}
