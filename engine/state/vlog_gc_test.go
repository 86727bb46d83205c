package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func valueLogBytes(t *testing.T, dir string) int64 {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "badger"))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".vlog") {
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // the collector deleted it after the listing
			}
			if err != nil {
				t.Fatal(err)
			}
			n += fi.Size()
		}
	}
	return n
}

const gcRPs, gcRounds = 2000, 6

// rewrittenState makes a state whose value log is mostly garbage: every
// RP written gcRounds times, then closed (which compacts the first level,
// and so records how much of each value log file is garbage) and opened
// again.
func rewrittenState(t *testing.T) *Store {
	t.Helper()
	defer func(n int64) { valueLogFileSize = n }(valueLogFileSize)
	valueLogFileSize = 1 << 20
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	part := &Partition{Vault: "vault-1", ID: PartitionID("", 0), Generation: 1}
	for round := range gcRounds {
		for p := range gcRPs / 500 {
			var rps []*RP
			for i := range 500 {
				k := p*500 + i
				rps = append(rps, &RP{Arn: fmt.Sprintf("arn:rp:%05d", k), Vault: "vault-1", ResourceArn: fmt.Sprintf("arn:res:%d", k%50),
					ResourceType: "EBS", Status: "COMPLETED", StatusMessage: fmt.Sprintf("round %d %0400d", round, k), Size: int64(round)})
			}
			if _, err := st.SavePage(part, rps, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// checkLastRound checks that every RP reads as last written.
func checkLastRound(t *testing.T, st *Store) {
	t.Helper()
	got := 0
	if err := st.ScanRPs(func(rp *RP) error {
		got++
		if rp.Size != gcRounds-1 || !strings.HasPrefix(rp.StatusMessage, fmt.Sprintf("round %d ", gcRounds-1)) {
			return fmt.Errorf("%s: size %d, status message %.9q: not the last round's", rp.Arn, rp.Size, rp.StatusMessage)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got != gcRPs {
		t.Fatalf("%d RPs after collecting, want %d", got, gcRPs)
	}
}

// Rewriting every RP leaves its old value in the value log; collecting
// the log gives that space back and keeps the latest value of each RP.
func TestCollectValueLogReclaimsRewrittenRecords(t *testing.T) {
	st := rewrittenState(t)
	before := valueLogBytes(t, st.Dir)
	files, err := st.CollectValueLog(nil)
	if err != nil {
		t.Fatal(err)
	}
	after := valueLogBytes(t, st.Dir)
	if files == 0 || after >= before {
		t.Fatalf("collected %d files; value log %d bytes before, %d after", files, before, after)
	}
	t.Logf("collected %d files: value log %d KiB before, %d KiB after", files, before>>10, after>>10)
	checkLastRound(t, st)
}

// An open Store collects its value log on its own, every valueLogGCEvery.
func TestOpenStoreCollectsItsValueLog(t *testing.T) {
	defer func(d time.Duration) { valueLogGCEvery = d }(valueLogGCEvery)
	valueLogGCEvery = 20 * time.Millisecond
	st := rewrittenState(t)
	before := valueLogBytes(t, st.Dir)
	deadline := time.Now().Add(10 * time.Second)
	for valueLogBytes(t, st.Dir) > before/2 {
		if time.Now().After(deadline) {
			t.Fatalf("value log still %d bytes (%d at open) after 10 s", valueLogBytes(t, st.Dir), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkLastRound(t, st)
}
