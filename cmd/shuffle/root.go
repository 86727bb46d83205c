package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// usageError marks an error in how shuffle was called (exit 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitCodes is every exit code shuffle uses and what it means: the
// root command's --help prints it, and README.md and
// docs/operator-guide.md ("## Exit codes") list the same codes with the
// same meanings (TestExitCodesAgreeEverywhere checks them).
var exitCodes = []struct {
	code    int
	meaning string
}{
	{exitOK, "done"},
	{exitError, "a run-time error (AWS, network, state, files), a damaged state, or failing policy tests; the message says what and where"},
	{exitUsage, "a usage error: a flag, an argument, the script, a policy, the metadata CSV, a profile, an account or a region"},
	{exitBlocking, "a pre-flight check found a blocking problem (shuffle check, or shuffle run before it starts), or StartCopyJob was refused for a permission"},
	{exitUnverified, "shuffle verify found a missing or mismatched copy, or shuffle cutover found an included recovery point created before --as-of that is not copied and verified"},
	{exitDrift, "shuffle run --plan found the decisions differ from the approved plan (recovery points added, removed or changed, or vaults to create) and --allow-drift did not accept it; nothing was written to AWS"},
	{exitWindow, "the change window ended with work remaining; run the same command to resume"},
	{exitInterrupted, "interrupted by Ctrl-C or SIGTERM, at any step; the state is saved; run the same command to resume"},
}

// exitCodesHelp renders exitCodes for --help: one code a line, the
// meaning wrapped under itself.
func exitCodesHelp() string {
	const width, indent = 78, 7
	var b strings.Builder
	b.WriteString("Exit codes:\n")
	for _, c := range exitCodes {
		line := fmt.Sprintf("  %-*d", indent-2, c.code)
		col := len(line)
		for i, w := range strings.Fields(c.meaning) {
			if i > 0 && col+1+len(w) > width {
				b.WriteString(line + "\n")
				line, col = strings.Repeat(" ", indent)+w, indent+len(w)
				continue
			}
			if i > 0 {
				line += " "
				col++
			}
			line += w
			col += len(w)
		}
		b.WriteString(line + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// exitCoder lets an error choose the exit code.
type exitCoder interface{ ExitCode() int }

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "shuffle",
		Short: "Copy AWS Backup recovery points between accounts, exactly once, by policy",
		Long: `shuffle copies AWS Backup recovery points from a source account into a
destination account in the same region. Lua policies decide which recovery
points go; Badger state lets a run stop at any time and resume where it left off.

` + exitCodesHelp(),
		Version:       versionText(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}")
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nrun '%s --help' for usage", err, c.CommandPath())}
	})
	root.AddCommand(newTestenvCmd(e), newPlanCmd(e), newRunCmd(e), newPolicyCmd(e), newResetCmd(e), newVerifyCmd(e), newCutoverCmd(e))
	root.AddCommand(newStatusCmd(e))
	root.AddCommand(newForecastCmd(e))
	root.AddCommand(newCheckCmd(e), newIAMPolicyCmd(e))
	root.AddCommand(newReplCmd(e))
	root.AddCommand(newShowCmd(e))
	root.AddCommand(newStateCmd(e))
	root.AddCommand(newVersionCmd(e))
	return root
}

// run executes the CLI and returns the process exit code.
func run(args []string, e *env) int {
	e, interrupted := watchInterrupts(e)
	e.aws, e.state = awsOptions(e.getenv), stateOptions(e.getenv)
	e.state.Notice = func(msg string) { fmt.Fprintln(e.stderr, "shuffle:", msg) }
	root := newRoot(e)
	root.SetArgs(args)
	err := root.Execute()
	err = interruptedExit(err, interrupted) // Ctrl-C: exit 130 (main.go)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(e.stderr, "shuffle:", err)
	return exitCodeOf(err)
}

// exitCodeOf is the exit code a command's error ends the process with.
func exitCodeOf(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, state.ErrDamaged) {
		// Before the usage checks: Badger's text may say "invalid argument".
		return exitError
	}
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return exitUsage
	}
	return exitError
}

// awsOptions reads, once per command, the environment variables that
// shape shuffle's AWS clients: those the SDK reads too (named in error
// messages), and SHUFFLE_SDK_DECODER=1, which turns the fast listing
// decoder off (to rule it out when listed recovery points look wrong,
// and for side-by-side benchmarks).
func awsOptions(getenv func(string) string) awsclient.Options {
	return awsclient.Options{
		Profile:         getenv("AWS_PROFILE"),
		Region:          getenv("AWS_REGION"),
		DefaultRegion:   getenv("AWS_DEFAULT_REGION"),
		ConfigFile:      getenv("AWS_CONFIG_FILE"),
		CredentialsFile: getenv("AWS_SHARED_CREDENTIALS_FILE"),
		EnvCredentials:  getenv("AWS_ACCESS_KEY_ID") != "",
		SDKDecoder:      getenv("SHUFFLE_SDK_DECODER") == "1",
	}
}

// stateOptions reads, once per command, the environment variables that
// tune an open state: SHUFFLE_PAGEOUT_MS and SHUFFLE_CLOSE_PAGEOUT_MS,
// the page-out periods in milliseconds (0 turns paging out off, or
// during Close pages out at the SHUFFLE_PAGEOUT_MS period); unset or
// not an integer keeps the state's defaults.
func stateOptions(getenv func(string) string) state.Options {
	return state.Options{
		PageOut:      envMillis(getenv("SHUFFLE_PAGEOUT_MS")),
		ClosePageOut: envMillis(getenv("SHUFFLE_CLOSE_PAGEOUT_MS")),
	}
}

// envMillis is a period in milliseconds from the environment as
// state.Options takes it: 0 (the default) when v is not an integer,
// negative when it is 0 or less.
func envMillis(v string) time.Duration {
	ms, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return 0
	case ms <= 0:
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}

// isCobraUsage recognises cobra's own argument errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
