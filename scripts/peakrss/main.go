//go:build unix

// Command peakrss runs a command and reports its wall time and peak RSS
// (getrusage maxrss) on stderr, for the benchmarks in docs/performance.md.
//
//	go run ./scripts/peakrss -- shuffle plan examples/migrate.lua
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: peakrss -- COMMAND [ARGS...]")
		os.Exit(2)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	code := 0
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			fmt.Fprintln(os.Stderr, "peakrss:", err)
			os.Exit(2)
		}
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss int64
	var cpu time.Duration
	if ru != nil {
		rss = ru.Maxrss // KiB on Linux
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	// CPU time (user + system) is steadier than wall time on a shared
	// machine.
	fmt.Fprintf(os.Stderr, "peakrss: wall %.2f s, peak RSS %d MiB, cpu %.2f s, exit %d\n", wall.Seconds(), rss/1024, cpu.Seconds(), code)
	os.Exit(code)
}
