package state

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// pageOut finds the state's mapped table files and advises them; the
// state reads the same afterwards.
func TestPageOutFindsTheStateTables(t *testing.T) {
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	part := &Partition{Vault: "vault-1", ID: PartitionID("", 0), Generation: 1}
	for p := range 40 {
		var rps []*RP
		for i := range 500 {
			rps = append(rps, &RP{Arn: fmt.Sprintf("arn:rp:%03d:%04d", p, i), Vault: "vault-1", ResourceArn: fmt.Sprintf("arn:res:%d", i%50),
				ResourceType: "EBS", Status: "COMPLETED", StatusMessage: fmt.Sprintf("%0200d", i), Size: int64(i)})
		}
		if _, err := st.SavePage(part, rps, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DB().Flatten(1); err != nil { // move the memtables into tables
		t.Fatal(err)
	}
	if err := st.db.DropPrefix([]byte("nothing/")); err != nil { // forces a memtable flush
		t.Fatal(err)
	}
	count := func() int {
		n := 0
		if err := st.ScanRPs(func(*RP) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 20000 {
		t.Fatalf("%d RPs before paging out, want 20000", n)
	}
	if got := pageOut(mapsDir(st.Dir + "/badger")); got == 0 {
		t.Fatal("pageOut found no mapped table of the state")
	}
	if n := count(); n != 20000 {
		t.Fatalf("%d RPs after paging out, want 20000", n)
	}
}

// Open advises the value log for random reads ("rr" in the mapping's
// VmFlags), so a point read of one record does not map the megabytes
// that readahead would put around it.
func TestValueLogIsAdvisedForRandomReads(t *testing.T) {
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := mapsDir(st.Dir + "/badger")
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps:", err)
	}
	vlogs := 0
	var path string
	for _, line := range strings.Split(string(smaps), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && strings.Contains(f[0], "-") && len(f[1]) == 4 { // a mapping's first line
			path = ""
			if len(f) >= 6 {
				path = f[5]
			}
			continue
		}
		if len(f) > 0 && f[0] == "VmFlags:" && strings.HasPrefix(path, dir) && strings.HasSuffix(path, ".vlog") {
			vlogs++
			if !slices.Contains(f[1:], "rr") {
				t.Errorf("%s is mapped with VmFlags %v: no rr (MADV_RANDOM)", path, f[1:])
			}
		}
	}
	if vlogs == 0 {
		t.Fatal("found no mapped value log file of the state")
	}
}
