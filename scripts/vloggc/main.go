// Command vloggc collects the value log of a shuffle state directory
// once, as an open state does every 10 minutes, and reports the log's
// size before and after, for the measurement in docs/performance.md.
// Run it on a state no shuffle process has open.
//
//	go run ./scripts/vloggc .shuffle
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: vloggc STATE_DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	before := vlogBytes(dir)
	st, err := state.Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vloggc:", err)
		os.Exit(1)
	}
	t0 := time.Now()
	n, err := st.CollectValueLog(nil)
	took := time.Since(t0)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vloggc:", err)
		os.Exit(1)
	}
	fmt.Printf("value log: %.1f MiB before, %.1f MiB after; %d files rewritten in %.1f s\n",
		float64(before)/(1<<20), float64(vlogBytes(dir))/(1<<20), n, took.Seconds())
}

// vlogBytes is the size on disk of the state's value log files.
func vlogBytes(dir string) int64 {
	files, _ := filepath.Glob(filepath.Join(dir, "badger", "*.vlog"))
	var n int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return n
}
