package state

import (
	"fmt"
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
