package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/awsfiles"
	"github.com/shuffle-migrate/shuffle/engine/copier"
)

// Shell completion of flag values (`shuffle completion bash|zsh|fish|
// powershell` prints the script; cobra's hidden __complete command
// answers it). The functions are registered where their flags are.

// complete registers fn as the completion of cmd's flag name. The flag
// must exist and have no completion yet: anything else is a mistake in
// the code, and panics when the command tree is built.
func complete(cmd *cobra.Command, name string, fn cobra.CompletionFunc) {
	if err := cmd.RegisterFlagCompletionFunc(name, fn); err != nil {
		panic(err)
	}
}

// completeProfileFlags completes --source-profile and
// --destination-profile with the profiles of the AWS shared config and
// credentials files in *aws (AWS_CONFIG_FILE and
// AWS_SHARED_CREDENTIALS_FILE as the command read them, else the SDK's
// defaults), read when the shell asks.
func completeProfileFlags(cmd *cobra.Command, aws *awsclient.Options) {
	fn := func(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return profileCompletions(awsfiles.Files{Config: aws.ConfigFile, Credentials: aws.CredentialsFile}, prefix)
	}
	complete(cmd, "source-profile", fn)
	complete(cmd, "destination-profile", fn)
}

// profileCompletions are the profile names in files that start with
// prefix, sorted; no file completion either way.
func profileCompletions(files awsfiles.Files, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	set, err := awsfiles.Read(files)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var out []cobra.Completion
	for _, name := range set.Profiles() {
		if strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeCutoff completes --cutoff with the three modes.
func completeCutoff(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, c := range []struct {
		mode copier.Cutoff
		desc string
	}{
		{copier.CutoffSoft, "stop starting jobs at the window's end"},
		{copier.CutoffCautious, "start no job expected to end after it"},
		{copier.CutoffDrain, "stop starting, wait for jobs in flight until the end plus --grace"},
	} {
		if strings.HasPrefix(string(c.mode), prefix) {
			out = append(out, cobra.CompletionWithDesc(string(c.mode), c.desc))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeDirs completes --state with directories.
func completeDirs(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}
