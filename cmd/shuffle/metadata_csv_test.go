package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// A metadata CSV the policies cannot use is a usage error (exit 2) that
// says where and what to do, and leaves the state as it was: a fresh
// state directory is not created, and an existing state records no
// metadata from the rejected file.
func TestBadMetadataCSVIsAUsageErrorAndWritesNothing(t *testing.T) {
	workspace(t, 300)
	script := writeScript(t, "bad_csv.lua", `metadata = "testenv-run/metadata.csv"`, `metadata = "bad.csv"`)
	good, err := os.ReadFile("testenv-run/metadata.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(good), "\r\n")
	// A data row, from line 5 on, whose APMID is written plainly: the
	// ARN (which holds no comma or quote) ends at the first comma.
	row := 0
	for i := 4; i < len(lines) && row == 0; i++ {
		if j := strings.IndexByte(lines[i], ','); j > 0 && strings.HasPrefix(lines[i][j+1:], "APM") {
			row = i
		}
	}
	if row == 0 {
		t.Fatal("testenv's metadata.csv has no row with a plain APMID")
	}
	arnLen := strings.IndexByte(lines[row], ',')
	edit := func(f func(string) string) []byte {
		out := append([]string(nil), lines...)
		out[row] = f(out[row])
		return []byte(strings.Join(out, "\r\n"))
	}

	cases := []struct {
		name string
		csv  []byte
		want []string // parts of the message
	}{
		{"no APMID column", dropColumn(t, good, "APMID"), []string{
			`bad.csv: no column "apmid" (required by ` + filepath.Join("policies", "apmid.lua") + ", " + filepath.Join("policies", "tags.lua") + ")",
			"the header has: ResourceArn, Application, Owner, Environment, CostCenter, Notes, DataClassification",
			"add the column or fix its name",
		}},
		{"NUL in an APMID", edit(func(l string) string { return l[:arnLen+4] + "\x00" + l[arnLen+4:] }), []string{
			fmt.Sprintf(`bad.csv:%d:%d: field "APMID": control character NUL (U+0000); delete it`, row+1, arnLen+5),
		}},
		{"unterminated quote", edit(func(l string) string { return l[:arnLen+1] + `"` + l[arnLen+1:] }), []string{
			fmt.Sprintf(`bad.csv:%d:%d: field "APMID": `, row+1, arnLen+2), "quoted field", "close it",
		}},
	}

	// A state holding the good CSV's metadata.
	stateDir := filepath.Join(t.TempDir(), "state")
	if code, _, errs := shuffle(t, "plan", "examples/migrate.lua", "--state", stateDir); code != 0 {
		t.Fatalf("plan with the good CSV: exit %d: %s", code, errs)
	}
	before := metaDigest(t, stateDir)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile("bad.csv", c.csv, 0o644); err != nil {
				t.Fatal(err)
			}
			// A fresh state is neither created by plan nor given any
			// file by run (which may leave the empty directory it
			// serves its REPL socket from).
			fresh := filepath.Join(t.TempDir(), "state")
			for _, args := range [][]string{
				{"plan", script, "--state", fresh},
				{"run", script, "--state", fresh},
				{"plan", script, "--state", stateDir},
				{"run", script, "--state", stateDir},
			} {
				code, _, errs := shuffle(t, args...)
				if code != 2 {
					t.Fatalf("%v: exit %d, want 2 (usage error); stderr:\n%s", args, code, errs)
				}
				for _, w := range c.want {
					if !strings.Contains(errs, w) {
						t.Errorf("%v: the error lacks %q:\n%s", args, w, errs)
					}
				}
				if args[3] != fresh {
					continue
				}
				if ents, err := os.ReadDir(fresh); args[0] == "plan" && !os.IsNotExist(err) || len(ents) > 0 {
					t.Errorf("%v: the fresh state directory holds %v (%v) after a rejected CSV", args, ents, err)
				}
			}
			if after := metaDigest(t, stateDir); after != before {
				t.Errorf("the state's metadata changed after a rejected CSV")
			}
		})
	}
}

// dropColumn returns csvData without the column named name.
func dropColumn(t *testing.T, csvData []byte, name string) []byte {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(csvData, []byte("\xef\xbb\xbf"))))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, h := range recs[0] {
		if h == name {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("no column %s in %q", name, recs[0])
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	for _, rec := range recs {
		_ = w.Write(append(rec[:col:col], rec[col+1:]...))
	}
	w.Flush()
	return buf.Bytes()
}

// metaDigest fingerprints every RP's metadata in the state at dir.
func metaDigest(t *testing.T, dir string) string {
	t.Helper()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := sha256.New()
	n := 0
	err = st.ScanRPs(func(rp *state.RP) error {
		n++
		fmt.Fprintf(h, "%s %t %s\n", rp.Arn, rp.Enriched, rp.MetaHash)
		if rp.Meta != nil {
			fmt.Fprintf(h, "%q\n", rp.Meta.Fields)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the state has no recovery points")
	}
	return fmt.Sprintf("%d %x", n, h.Sum(nil))
}
