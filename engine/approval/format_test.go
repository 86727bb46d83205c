package approval

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func decision(i int) Decision {
	return Decision{SourceVault: fmt.Sprintf("vault-%d", i%2), RecoveryPoint: fmt.Sprintf("arn:aws:backup:us-east-1:111111111111:recovery-point:rp-%03d", i),
		ResourceArn: fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:volume/vol-%03d", i), Bytes: int64(i),
		DestinationVault: "dst", DestinationKey: "arn:aws:kms:us-east-1:222222222222:key/k", Tags: map[string]string{"APMID": "APM1"}}
}

// writePlan writes an approved plan of n decisions and returns its path.
func writePlan(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.shuffle")
	w, err := Create(path, Header{CreatedAt: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), Script: "examples/migrate.lua", PolicyHash: "ph1",
		SourceAccount: "111111111111", DestinationAccount: "222222222222", Region: "us-east-1",
		VaultsToCreate: []VaultToCreate{{SourceVault: "vault-0", Name: "dst"}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		d := decision(i)
		w.Listed(d.SourceVault, d.RecoveryPoint, time.Unix(int64(i), 0), "COMPLETED")
		if err := w.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	w.Listed("vault-0", "arn:excluded", time.Unix(0, 0), "COMPLETED")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRoundTrip(t *testing.T) {
	path := writePlan(t, 25)
	var got []Decision
	f, err := Read(path, func(d Decision) error { got = append(got, d); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if f.Schema != Schema || f.Script != "examples/migrate.lua" || f.PolicyHash != "ph1" || len(f.VaultsToCreate) != 1 {
		t.Errorf("header %+v", f.Header)
	}
	if f.Trailer.Decisions != 25 || f.Trailer.ByVault["vault-0"].Decisions != 13 || f.Trailer.Inventory.RecoveryPoints != 26 ||
		!strings.HasPrefix(f.Trailer.Checksum, "sha256:") {
		t.Errorf("trailer %+v", f.Trailer)
	}
	if len(got) != 25 || got[7].RecoveryPoint != decision(7).RecoveryPoint || got[7].Tags["APMID"] != "APM1" || !got[7].Same(decision(7)) {
		t.Errorf("decisions: %d, the 8th %+v", len(got), got[7])
	}
	if err := f.CheckScope("111111111111", "222222222222", "us-east-1"); err != nil {
		t.Errorf("same scope: %v", err)
	}
	if err := f.CheckScope("111111111111", "333333333333", "us-east-1"); err == nil ||
		!strings.Contains(err.Error(), "the plan copies from account 111111111111 to 222222222222 in us-east-1, this script from 111111111111 to 333333333333 in us-east-1") {
		t.Errorf("another destination: %v", err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("the plan file's mode: %v %v, want 0644", st.Mode(), err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("left %d files beside the plan, want none", len(entries)-1)
	}
}

// rewrite decompresses path, applies edit to its text and compresses it
// again: an edit made with ordinary tools.
func rewrite(t *testing.T, path string, edit func(string) string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(zr)
	edited := edit(string(text))
	if edited == string(text) {
		t.Fatal("the edit changed nothing")
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(edited))
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEditedFileRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(string) string
	}{
		{"header", func(s string) string { return strings.Replace(s, `"policy_hash":"ph1"`, `"policy_hash":"ph2"`, 1) }},
		{"decision", func(s string) string {
			return strings.Replace(s, `"destination_vault":"dst"`, `"destination_vault":"dsx"`, 1)
		}},
		{"decision removed", func(s string) string {
			lines := strings.SplitAfter(s, "\n")
			return strings.Join(append(lines[:3:3], lines[4:]...), "")
		}},
		{"trailer count", func(s string) string { return strings.Replace(s, `{"decisions":25`, `{"decisions":24`, 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writePlan(t, 25)
			rewrite(t, path, tc.edit)
			_, err := Read(path, nil)
			if !errors.Is(err, ErrEdited) {
				t.Fatalf("got %v, want ErrEdited", err)
			}
			for _, want := range []string{path, "edited after shuffle wrote it", "checksum sha256:", "does not match", "make a new plan with shuffle plan --out"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q: %v", want, err)
				}
			}
		})
	}
}

func TestDamagedFileRefused(t *testing.T) {
	path := writePlan(t, 200)
	raw, _ := os.ReadFile(path)
	cases := map[string][]byte{
		"a compressed byte flipped": func() []byte { b := bytes.Clone(raw); b[len(b)/2] ^= 0xff; return b }(),
		"truncated":                 raw[:len(raw)*2/3],
		"not gzip":                  []byte("{\"schema\":\"shuffle.plan/v1\"}\n"),
		"empty":                     nil,
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Read(path, nil)
			var fe *FileError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "make a new plan") {
				t.Fatalf("got %v, want a FileError naming the file", err)
			}
		})
	}
	// A text-level truncation (the trailer cut off) says so.
	path = writePlan(t, 5)
	rewrite(t, path, func(s string) string {
		lines := strings.SplitAfter(s, "\n")
		return strings.Join(lines[:len(lines)-2], "")
	})
	if _, err := Read(path, nil); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("got %v, want truncated", err)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "none"), nil); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestComparison(t *testing.T) {
	path := writePlan(t, 6)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// 0, 1: unchanged; 2: tags differ; 3: excluded now; 4: not listed;
	// 5: unchanged; 9: new.
	for _, i := range []int{0, 1, 2, 3, 5, 9} {
		d := decision(i)
		c.Listed(d.SourceVault, d.RecoveryPoint, time.Unix(int64(i), 0), "COMPLETED")
		switch i {
		case 2:
			d.Tags = map[string]string{"APMID": "APM2"}
			c.Included(d)
		case 3:
			c.NotIncluded(d.SourceVault, d.RecoveryPoint, func() string { return "excluded by policy:apmid: APMID APM1 not allowed" })
		default:
			c.Included(d)
		}
	}
	c.Vaults([]VaultToCreate{{SourceVault: "vault-0", Name: "dst"}, {SourceVault: "vault-1", Name: "dst-1"}})
	dr, err := c.Finish("ph2")
	if err != nil {
		t.Fatal(err)
	}
	if dr.Counts[DriftAdded] != 1 || dr.Counts[DriftRemoved] != 2 || dr.Counts[DriftChanged] != 1 || dr.Counts[DriftVaults] != 1 || dr.Approved != 3 {
		t.Fatalf("drift %+v", dr)
	}
	if fmt.Sprint(dr.Refused(DriftSet{DriftAdded: true})) != "[removed changed vaults]" {
		t.Errorf("refused %v", dr.Refused(DriftSet{DriftAdded: true}))
	}
	var b strings.Builder
	dr.Write(&b)
	for _, want := range []string{"policy hash ph1 then, ph2 now", "inventory changed", "added: 1", "removed: 2", "changed: 1",
		decision(2).RecoveryPoint + " (vault vault-0): tags APMID=APM1 → APMID=APM2",
		decision(3).RecoveryPoint + " (vault vault-1): excluded by policy:apmid",
		decision(4).RecoveryPoint + " (vault vault-0): no longer listed", "unchanged: 3",
		"vaults: 1 destination vaults", "for source vault vault-1: dst-1 is to be created now (type ; no lock); the plan does not create it"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	for i, want := range []bool{true, true, false, false, false, true, false, false, false, false} {
		if got := c.Allows(decision(i).RecoveryPoint); got != want {
			t.Errorf("Allows(rp %d) = %v, want %v", i, got, want)
		}
	}
}

func TestParseDriftSet(t *testing.T) {
	if s, err := ParseDriftSet("added, changed"); err != nil || s.String() != "added,changed" {
		t.Errorf("%v %v", s, err)
	}
	if s, err := ParseDriftSet("all"); err != nil || s.String() != "added,removed,changed,vaults" {
		t.Errorf("%v %v", s, err)
	}
	if _, err := ParseDriftSet("added,moved"); err == nil || !strings.Contains(err.Error(), `"moved"`) {
		t.Errorf("bad kind: %v", err)
	}
}

// With more changed and gone recovery points than it names, the drift
// still names MaxExamples of each, the first in the plan's order, with
// their differences, and counts them all (Finish's read of the file
// stops once every example is named).
func TestComparisonNamesTheFirstExamples(t *testing.T) {
	const n = 200
	path := writePlan(t, n)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// Even: tags differ now; odd from 101 on: no longer listed.
	for i := 0; i < n; i++ {
		d := decision(i)
		if i%2 == 1 && i > 100 {
			continue
		}
		if i%2 == 0 {
			d.Tags = map[string]string{"APMID": fmt.Sprintf("APM-%d", i)}
		}
		c.Included(d)
	}
	dr, err := c.Finish("ph1")
	if err != nil {
		t.Fatal(err)
	}
	if dr.Counts[DriftChanged] != n/2 || dr.Counts[DriftRemoved] != 50 || dr.Approved != 50 {
		t.Fatalf("counts %+v, approved %d; want %d changed, 50 removed, 50 unchanged", dr.Counts, dr.Approved, n/2)
	}
	ch, rm := dr.Examples[DriftChanged], dr.Examples[DriftRemoved]
	if len(ch) != MaxExamples || len(rm) != MaxExamples {
		t.Fatalf("%d changed and %d removed examples, want %d each", len(ch), len(rm), MaxExamples)
	}
	for i, e := range ch {
		if want := decision(2 * i).RecoveryPoint; e.RecoveryPoint != want || !strings.Contains(e.Why, fmt.Sprintf("APM-%d", 2*i)) {
			t.Errorf("changed example %d: %+v, want %s with its new tags", i, e, want)
		}
	}
	for i, e := range rm {
		if want := decision(101 + 2*i).RecoveryPoint; e.RecoveryPoint != want || !strings.Contains(e.Why, "no longer listed") {
			t.Errorf("removed example %d: %+v, want %s no longer listed", i, e, want)
		}
	}
}
