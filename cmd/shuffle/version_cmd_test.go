package main

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

func TestVersionCommandAndFlagPrintTheSameLines(t *testing.T) {
	code, sub, errs := shuffle(t, "version")
	if code != exitOK {
		t.Fatalf("shuffle version exited %d: %s", code, errs)
	}
	code, flag, errs := shuffle(t, "--version")
	if code != exitOK {
		t.Fatalf("shuffle --version exited %d: %s", code, errs)
	}
	if sub != flag {
		t.Fatalf("shuffle version and shuffle --version differ:\n%s\n---\n%s", sub, flag)
	}
	for _, want := range []string{"shuffle ", "commit: ", "go: " + runtime.Version() + "\n",
		"github.com/aws/aws-sdk-go-v2: v", "github.com/aws/aws-sdk-go-v2/service/backup: v"} {
		if !strings.Contains(sub, want) {
			t.Errorf("shuffle version does not print %q:\n%s", want, sub)
		}
	}
	if code, _, _ := shuffle(t, "version", "extra"); code != exitUsage {
		t.Errorf("shuffle version extra exited %d, want %d", code, exitUsage)
	}
}

func TestFormatVersionPrefersLdflagsOverBuildInfo(t *testing.T) {
	info := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/shuffle-migrate/shuffle", Version: "v0.3.0"},
		Deps: []*debug.Module{
			{Path: "github.com/aws/aws-sdk-go-v2", Version: "v1.48.0"},
			{Path: "github.com/aws/aws-sdk-go-v2/service/backup", Version: "v1.70.0",
				Replace: &debug.Module{Path: "../backup", Version: ""}},
		},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "true"}},
	}
	got := formatVersion(info, "", "", "go1.99")
	want := "shuffle v0.3.0\ncommit: 0123abcd (modified)\ngo: go1.99\n" +
		"github.com/aws/aws-sdk-go-v2: v1.48.0\ngithub.com/aws/aws-sdk-go-v2/service/backup: (replaced by ../backup)\n"
	if got != want {
		t.Errorf("from the build info:\n%s\nwant:\n%s", got, want)
	}
	got = formatVersion(info, "v1.0.0-3-gabc-dirty", "abc", "go1.99")
	if !strings.HasPrefix(got, "shuffle v1.0.0-3-gabc-dirty\ncommit: abc\n") {
		t.Errorf("with -ldflags values:\n%s", got)
	}
	got = formatVersion(nil, "", "", "go1.99")
	want = "shuffle (devel)\ncommit: unknown\ngo: go1.99\n" +
		"github.com/aws/aws-sdk-go-v2: unknown\ngithub.com/aws/aws-sdk-go-v2/service/backup: unknown\n"
	if got != want {
		t.Errorf("without build info:\n%s\nwant:\n%s", got, want)
	}
}

// TestExitCodesAgreeEverywhere checks that README.md,
// docs/operator-guide.md and the root command's --help list exactly the
// codes of exitCodes, each with its meaning (backticks, which only the
// Markdown has, aside; --help wraps the meaning over lines).
func TestExitCodesAgreeEverywhere(t *testing.T) {
	want := map[int]string{}
	for _, c := range exitCodes {
		if _, dup := want[c.code]; dup {
			t.Fatalf("exitCodes lists %d twice", c.code)
		}
		want[c.code] = c.meaning
	}
	for _, doc := range []string{"README.md", filepath.Join("docs", "operator-guide.md")} {
		b, err := os.ReadFile(filepath.Join(repoRoot(t), doc))
		if err != nil {
			t.Fatal(err)
		}
		compareExitCodes(t, doc, markdownExitCodes(t, doc, string(b)), want)
	}
	code, help, errs := shuffle(t, "--help")
	if code != exitOK {
		t.Fatalf("shuffle --help exited %d: %s", code, errs)
	}
	compareExitCodes(t, "shuffle --help", helpExitCodes(t, help), want)
}

func compareExitCodes(t *testing.T, where string, got, want map[int]string) {
	t.Helper()
	for code, meaning := range want {
		g, ok := got[code]
		switch {
		case !ok:
			t.Errorf("%s does not list exit code %d (%s)", where, code, meaning)
		case g != meaning:
			t.Errorf("%s: exit code %d means %q, the Go table (root.go exitCodes) says %q", where, code, g, meaning)
		}
	}
	for code, meaning := range got {
		if _, ok := want[code]; !ok {
			t.Errorf("%s lists exit code %d (%s), which the Go table (root.go exitCodes) does not", where, code, meaning)
		}
	}
}

// markdownExitCodes reads the "| code | meaning |" table under the
// document's "## Exit codes" heading.
func markdownExitCodes(t *testing.T, doc, text string) map[int]string {
	t.Helper()
	_, section, ok := strings.Cut(text, "\n## Exit codes\n")
	if !ok {
		t.Fatalf("%s has no \"## Exit codes\" section", doc)
	}
	if i := strings.Index(section, "\n#"); i >= 0 {
		section = section[:i]
	}
	row := regexp.MustCompile(`^\|\s*(\d+)\s*\|\s*(.*?)\s*\|$`)
	got := map[int]string{}
	for _, line := range strings.Split(section, "\n") {
		m := row.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		code, _ := strconv.Atoi(m[1])
		if _, dup := got[code]; dup {
			t.Errorf("%s lists exit code %d twice", doc, code)
		}
		got[code] = strings.ReplaceAll(m[2], "`", "")
	}
	if len(got) == 0 {
		t.Fatalf("%s: no table rows under \"## Exit codes\"", doc)
	}
	return got
}

// helpExitCodes reads the "Exit codes:" block of --help: a line per code
// ("  CODE  meaning"), continued by more deeply indented lines, up to a
// blank line.
func helpExitCodes(t *testing.T, help string) map[int]string {
	t.Helper()
	_, block, ok := strings.Cut(help, "\nExit codes:\n")
	if !ok {
		t.Fatalf("shuffle --help has no \"Exit codes:\" block:\n%s", help)
	}
	start := regexp.MustCompile(`^  (\d+)\s+(\S.*)$`)
	got := map[int]string{}
	last := -1
	for _, line := range strings.Split(block, "\n") {
		if strings.TrimSpace(line) == "" {
			break
		}
		if m := start.FindStringSubmatch(line); m != nil {
			last, _ = strconv.Atoi(m[1])
			if _, dup := got[last]; dup {
				t.Errorf("shuffle --help lists exit code %d twice", last)
			}
			got[last] = strings.TrimSpace(m[2])
			continue
		}
		if last < 0 || !strings.HasPrefix(line, "   ") {
			t.Fatalf("shuffle --help: unexpected line in the exit codes: %q", line)
		}
		got[last] += " " + strings.TrimSpace(line)
	}
	return got
}
