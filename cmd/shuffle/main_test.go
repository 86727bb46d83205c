package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run the test binary as the shuffle command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"shuffle": func() { os.Exit(run(os.Args[1:], osEnv())) },
	})
}

// TestScripts runs testdata/script/*.txtar. Besides the built-in
// commands they have:
//
//	waitfile PATH [TIMEOUT]      wait until PATH exists (default 30s)
//	exitcode N COMMAND [ARGS...] run COMMAND and require exit status N
//	envfrom VAR FILE REGEXP      set $VAR to REGEXP's first group in FILE
//	copyjobs DIR                 print the emulator's copy jobs, counted (DIR: testenv up --dir)
//	faults DIR JSON              replace the emulator's faults (PUT /_testenv/faults)
//
// $WORK starts with a copy of the repository's policies/ directory.
func TestScripts(t *testing.T) {
	root := repoRoot(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			return os.CopyFS(filepath.Join(e.WorkDir, "policies"), os.DirFS(filepath.Join(root, "policies")))
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile": cmdWaitFile,
			"exitcode": cmdExitCode,
			"envfrom":  cmdEnvFrom,
			"copyjobs": cmdCopyJobs,
			"faults":   cmdFaults,
		},
	})
}

func cmdEnvFrom(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: envfrom VAR FILE REGEXP")
	}
	m := regexp.MustCompile(args[2]).FindStringSubmatch(ts.ReadFile(args[1]))
	if len(m) < 2 {
		ts.Fatalf("%s does not match %s", args[1], args[2])
	}
	ts.Setenv(args[0], m[1])
}

// cmdCopyJobs lists every copy job of the source account through the
// SDK and prints "completed=N duplicates=M failed=F": source RPs with a
// COMPLETED job, those with more than one, and FAILED jobs.
func cmdCopyJobs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: copyjobs DIR")
	}
	dir := ts.MkAbs(args[0])
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithSharedConfigProfile("source"),
		config.WithSharedConfigFiles([]string{filepath.Join(dir, "aws", "config")}),
		config.WithSharedCredentialsFiles([]string{filepath.Join(dir, "aws", "credentials")}))
	ts.Check(err)
	completed := map[string]int{}
	failed := 0
	p := backup.NewListCopyJobsPaginator(backup.NewFromConfig(cfg), &backup.ListCopyJobsInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		ts.Check(err)
		for _, j := range out.CopyJobs {
			switch j.State {
			case types.CopyJobStateCompleted:
				completed[aws.ToString(j.SourceRecoveryPointArn)]++
			case types.CopyJobStateFailed:
				failed++
			}
		}
	}
	dup := 0
	for _, n := range completed {
		if n > 1 {
			dup++
		}
	}
	fmt.Fprintf(ts.Stdout(), "completed=%d duplicates=%d failed=%d\n", len(completed), dup, failed)
}

func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitfile PATH [TIMEOUT]")
	}
	timeout := 30 * time.Second
	if len(args) == 2 {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		timeout = d
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not appear within %s", args[0], timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

func cmdFaults(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: faults DIR JSON")
	}
	m := regexp.MustCompile(`(?m)^endpoint_url = (\S+)$`).FindStringSubmatch(ts.ReadFile(filepath.Join(args[0], "aws", "config")))
	if m == nil {
		ts.Fatalf("no endpoint_url in %s/aws/config", args[0])
	}
	req, err := http.NewRequest(http.MethodPut, m[1]+"/_testenv/faults", strings.NewReader(args[1]))
	ts.Check(err)
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ts.Fatalf("PUT /_testenv/faults: %s", resp.Status)
	}
}
