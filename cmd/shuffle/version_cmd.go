package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version and commit are stamped by `make release`:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=0123abc" ./cmd/shuffle
//
// Left empty, shuffle reports what the Go toolchain recorded in the
// binary (runtime/debug.ReadBuildInfo): the main module's version and
// the VCS revision it was built from.
var (
	version string
	commit  string
)

// sdkModules are the AWS SDK modules whose versions `shuffle version`
// reports, in this order.
var sdkModules = []string{
	"github.com/aws/aws-sdk-go-v2",
	"github.com/aws/aws-sdk-go-v2/service/backup",
}

// versionText is what `shuffle version` and `shuffle --version` print.
func versionText() string {
	info, _ := debug.ReadBuildInfo()
	return formatVersion(info, version, commit, runtime.Version())
}

// formatVersion renders the version lines from the build info (nil when
// the binary has none), with the -ldflags values taking precedence.
func formatVersion(info *debug.BuildInfo, ver, rev, goVersion string) string {
	if ver == "" && info != nil {
		ver = info.Main.Version
	}
	if ver == "" {
		ver = "(devel)"
	}
	if rev == "" {
		rev = vcsRevision(info)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "shuffle %s\n", ver)
	fmt.Fprintf(&b, "commit: %s\n", rev)
	fmt.Fprintf(&b, "go: %s\n", goVersion)
	for _, path := range sdkModules {
		fmt.Fprintf(&b, "%s: %s\n", path, depVersion(info, path))
	}
	return b.String()
}

// vcsRevision is the revision the build info records, "(modified)"
// added when the working tree had uncommitted changes, or "unknown".
func vcsRevision(info *debug.BuildInfo) string {
	if info == nil {
		return "unknown"
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "unknown"
	}
	if modified == "true" {
		rev += " (modified)"
	}
	return rev
}

// depVersion is the version of module path linked into the binary (its
// replacement's, when replaced), or "unknown".
func depVersion(info *debug.BuildInfo, path string) string {
	if info == nil {
		return "unknown"
	}
	for _, d := range info.Deps {
		if d.Path != path {
			continue
		}
		if d.Replace != nil {
			if d.Replace.Version != "" {
				return d.Replace.Version + " (replaced by " + d.Replace.Path + ")"
			}
			return "(replaced by " + d.Replace.Path + ")"
		}
		return d.Version
	}
	return "unknown"
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print shuffle's version, commit, Go version and AWS SDK versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(e.stdout, versionText())
			return err
		},
	}
}
