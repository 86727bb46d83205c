package metadata

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/shuffle-migrate/shuffle/testenv"
)

// malformed lists the expected error for each file in testdata/malformed:
// where it is reported and text the message must contain.
var malformed = map[string]struct {
	pos   string // LINE:COL
	field string // ParseError.Field
	want  []string
}{
	"unterminated_quote.csv":           {"3:22", "Notes", []string{"quoted field is never closed", `close it with a "`}},
	"unterminated_after_multiline.csv": {"3:4", "Owner", []string{"quoted field is never closed"}},
	"bare_quote.csv":                   {"2:26", "Notes", []string{`bare " in an unquoted field`, "quote the whole field and double any quote inside it"}},
	"space_before_quote.csv":           {"2:23", "Notes", []string{`bare "`, "remove the spaces before the opening quote"}},
	"text_after_quote.csv":             {"2:25", "Notes", []string{`unexpected text after the closing "`, "quote the whole field"}},
	"short_row.csv":                    {"3:17", "Notes", []string{"expected 3 fields, found 2", "one value (possibly empty) per header column"}},
	"long_row.csv":                     {"2:24", "", []string{"expected 3 fields, found 4", "quote values that contain commas"}},
	"missing_arn_column.csv":           {"1:1", "", []string{`no resourceArn column: found "arn", "APMID"`, "needs a column named resourceArn"}},
	"duplicate_header.csv":             {"1:25", "apmid", []string{`duplicate column: columns 2 ("APMID") and 4 ("apmid")`}},
	"duplicate_arn_column.csv":         {"1:19", "resource_arn", []string{`columns 1 ("ResourceARN") and 3 ("resource_arn") both name the resourceArn column`}},
	"empty_header_name.csv":            {"1:13", "", []string{"column 2 of the header has no name"}},
	"empty.csv":                        {"1:1", "", []string{"empty file: expected a header row with a resourceArn column"}},
	"bom_only.csv":                     {"1:1", "", []string{"empty file: expected a header row with a resourceArn column"}},
	"blank_lines_only.csv":             {"1:1", "", []string{"empty file"}},
	"empty_arn.csv":                    {"3:6", "resourceArn", []string{"empty resourceArn", "delete the row"}},
	"blank_arn.csv":                    {"3:6", "resourceArn", []string{"empty resourceArn"}},
	"not_an_arn.csv":                   {"2:1", "resourceArn", []string{`not an ARN: "vol-0123"`, `starts with "arn:"`}},
	"invalid_utf8.csv":                 {"2:25", "Owner", []string{"invalid UTF-8", "save the file as UTF-8"}},
	"invalid_utf8_multiline.csv":       {"3:4", "Notes", []string{"invalid UTF-8"}},
	"invalid_utf8_header.csv":          {"1:25", "", []string{"invalid UTF-8"}},
	"multiline_then_bad.csv":           {"5:17", "Notes", []string{"expected 3 fields, found 2"}},
	"crlf_bom_multiline_then_bad.csv":  {"5:6", "resourceArn", []string{`not an ARN: "vol-9"`}},
	"utf16.csv":                        {"1:1", "", []string{"UTF-16", "save it as UTF-8"}},
	// A quote left open is reported where it opens, however far on the
	// parser notices.
	"quote_closed_lines_later.csv": {"5:17", "APMID", []string{`quoted field is not closed on its line: it runs to the " on line 23, col 33, where text follows`, `close it with a " on line 5`}},
	"quote_swallows_rows.csv":      {"3:17", "APMID", []string{`quoted field takes in line 4, which looks like a row of its own: its closing " is probably missing`, `close it with a " on line 3`}},
	// Control characters other than tab and line breaks in quoted
	// fields are rejected where they are.
	"control_nul.csv":                 {"3:20", "APMID", []string{"control character NUL (U+0000)", "delete it"}},
	"control_in_quoted_multiline.csv": {"5:2", "Notes", []string{"control character vertical tab (U+000B)", "delete it or replace it with a space"}},
	"control_bare_cr.csv":             {"2:24", "Notes", []string{"control character carriage return (U+000D) not followed by a line feed", "LF or CRLF line endings"}},
	"control_c1.csv":                  {"2:28", "Notes", []string{"control character next line (NEL) (U+0085)"}},
	"control_header.csv":              {"1:15", "", []string{"control character escape (U+001B)"}},
	"arn_line_break.csv":              {"4:1", "resourceArn", []string{`line break inside the ARN "arn:aws:s3:::b2\nx"`, "an ARN is one line"}},
	"quote_spans_long_row.csv":        {"3:17", "APMID", []string{"expected 3 fields, found 4 in the row on lines 3-4, which this quoted field spans", "if this quote should close on line 3, close it there"}},
}

func TestMalformedCorpus(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "malformed", "*.csv"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, path := range paths {
		name := filepath.Base(path)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := malformed[name]
			if !ok {
				t.Fatalf("no expectation for %s: add it to malformed", path)
			}
			tab, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) = %d rows, want an error", path, tab.Rows)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			msg := err.Error()
			if got := fmt.Sprintf("%d:%d", pe.Line, pe.Column); got != want.pos {
				t.Errorf("position %s, want %s\n%s", got, want.pos, msg)
			}
			if pe.File != path {
				t.Errorf("File %q, want %q", pe.File, path)
			}
			if pe.Field != want.field {
				t.Errorf("Field %q, want %q\n%s", pe.Field, want.field, msg)
			}
			if prefix := path + ":" + want.pos + ": "; !strings.HasPrefix(msg, prefix) {
				t.Errorf("message does not start with %q:\n%s", prefix, msg)
			}
			if want.field != "" && !strings.Contains(msg, fmt.Sprintf(": field %q: ", want.field)) {
				t.Errorf("message does not name field %q:\n%s", want.field, msg)
			}
			for _, s := range want.want {
				if !strings.Contains(msg, s) {
					t.Errorf("message lacks %q:\n%s", s, msg)
				}
			}
			if pe.Hint == "" {
				t.Errorf("no hint:\n%s", msg)
			}
			if strings.HasSuffix(msg, ".") || strings.Contains(msg, "\n") {
				t.Errorf("message ends with a period or spans lines:\n%s", msg)
			}
			// The same bytes through a reader that returns one byte at a
			// time give the same error.
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err2 := Read(path, iotest.OneByteReader(bytes.NewReader(data)))
			if err2 == nil || err2.Error() != msg {
				t.Errorf("one byte at a time: %v\nwant %s", err2, msg)
			}
		})
	}
	for name := range malformed {
		if !seen[name] {
			t.Errorf("testdata/malformed/%s is missing", name)
		}
	}
}

// TestControlAllowed: tabs, line breaks inside quoted fields (LF or
// CRLF) and printable non-ASCII (é, a no-break space) are kept.
func TestControlAllowed(t *testing.T) {
	tab := mustRead(t, "resourceArn,APMID,Notes\r\narn:a,APM\t1,\"x\r\ny\n\"\r\narn:b,caf\u00e9,a\u00a0b\r\n")
	if e := lookup(t, tab, "arn:a"); e.Fields["apmid"] != "APM\t1" || e.Fields["notes"] != "x\ny" {
		t.Errorf("arn:a: %q", e.Fields)
	}
	if e := lookup(t, tab, "arn:b"); e.Fields["apmid"] != "caf\u00e9" || e.Fields["notes"] != "a\u00a0b" {
		t.Errorf("arn:b: %q", e.Fields)
	}
}

// TestControlTable: each rejected character, in an unquoted and a
// quoted field, is reported at its byte column in the APMID field.
func TestControlTable(t *testing.T) {
	for _, c := range []struct {
		char, name string
	}{
		{"\x00", "NUL (U+0000)"}, {"\x01", "U+0001"}, {"\x08", "backspace (U+0008)"}, {"\x0b", "vertical tab (U+000B)"},
		{"\x0c", "form feed (U+000C)"}, {"\r", "carriage return (U+000D) not followed by a line feed"},
		{"\x1a", "SUB (Ctrl-Z) (U+001A)"}, {"\x1f", "U+001F"}, {"\x7f", "DEL (U+007F)"}, {"\u0080", "U+0080"}, {"\u009f", "U+009F"},
	} {
		for _, q := range []string{"", `"`} {
			in := "resourceArn,APMID\narn:aws:s3:::b1,A\narn:aws:s3:::b2," + q + "AB" + c.char + "C" + q + "\n"
			_, err := Read("m.csv", strings.NewReader(in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("%q %s: got %v, want a ParseError", c.char, q, err)
				continue
			}
			want := fmt.Sprintf(`m.csv:3:%d: field "APMID": control character %s; `, 19+len(q), c.name)
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%q %s: got\n%s\nwant prefix\n%s", c.char, q, err, want)
			}
		}
	}
}

func TestParseErrorFormat(t *testing.T) {
	e := &ParseError{File: "metadata.csv", Line: 14, Column: 3, Field: "APMID", Msg: "bad", Hint: "fix it"}
	if got, want := e.Error(), `metadata.csv:14:3: field "APMID": bad; fix it`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	e = &ParseError{File: "m.csv", Line: 1, Column: 1, Msg: "bad"}
	if got, want := e.Error(), `m.csv:1:1: bad`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	_, err := Read("m.csv", strings.NewReader("resourceArn,x\narn:a,\"b\"c\n"))
	if !errors.Is(err, csv.ErrQuote) {
		t.Errorf("%v does not wrap csv.ErrQuote", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.csv"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a not-exist error", err)
	}
}

func TestReadIOError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("resourceArn,APMID\narn:a,A\n"), iotest.ErrReader(boom))
	_, err := Read("m.csv", r)
	var pe *ParseError
	if !errors.Is(err, boom) || errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "m.csv: ") {
		t.Fatalf("got %v, want the I/O error with the file name, not a ParseError", err)
	}
}

func mustRead(t *testing.T, data string) *Table {
	t.Helper()
	tab, err := Read("m.csv", strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func lookup(t *testing.T, tab *Table, arn string) *Entry {
	t.Helper()
	e, ok := tab.Lookup(arn)
	if !ok {
		t.Fatalf("no entry for %q", arn)
	}
	return e
}

func TestValid(t *testing.T) {
	const in = "\ufeff Resource_ARN ,APMID,Application,Notes,DataClassification\r\n" +
		"\r\n" + // 2: blank
		"arn:aws:s3:::b1,APM1,Payments,\"a, b \"\"c\"\"\",Restricted\r\n" + // 3
		"  arn:aws:s3:::b2\t, APM2 ,Ledger,\"multi\r\nline\",\r\n" + // 4-5
		",,,,\r\n" + // 6: blank row
		"arn:aws:s3:::b3,,Portal,,Internal\r\n" + // 7: empty APMID
		"arn:aws:s3:::b4,  ,Portal,, \r\n" // 8: blank APMID
	tab := mustRead(t, in)
	if want := []string{"Resource_ARN", "APMID", "Application", "Notes", "DataClassification"}; !reflect.DeepEqual(tab.Columns, want) {
		t.Errorf("Columns %q, want %q", tab.Columns, want)
	}
	if tab.Rows != 4 || tab.Len() != 4 || tab.Duplicates != 0 || len(tab.Conflicts) != 0 {
		t.Errorf("Rows %d Len %d Duplicates %d Conflicts %d, want 4 4 0 0", tab.Rows, tab.Len(), tab.Duplicates, len(tab.Conflicts))
	}
	e := lookup(t, tab, "arn:aws:s3:::b1")
	want := map[string]string{"apmid": "APM1", "application": "Payments", "notes": `a, b "c"`, "dataclassification": "Restricted"}
	if !reflect.DeepEqual(e.Fields, want) || e.Blank != nil || !slices.Equal(e.Lines, []int{3}) || e.ResourceArn != "arn:aws:s3:::b1" {
		t.Errorf("b1: %+v", e)
	}
	e = lookup(t, tab, " arn:aws:s3:::b2 ")
	want = map[string]string{"apmid": "APM2", "application": "Ledger", "notes": "multi\nline", "dataclassification": ""}
	if !reflect.DeepEqual(e.Fields, want) || e.Blank != nil || !slices.Equal(e.Lines, []int{4}) || e.ResourceArn != "arn:aws:s3:::b2" {
		t.Errorf("b2: %+v", e)
	}
	e = lookup(t, tab, "arn:aws:s3:::b3")
	if v, ok := e.Fields["apmid"]; !ok || v != "" || e.Blank["apmid"] || !slices.Equal(e.Lines, []int{7}) {
		t.Errorf("b3 (empty APMID): %+v", e)
	}
	e = lookup(t, tab, "arn:aws:s3:::b4")
	if v, ok := e.Fields["apmid"]; !ok || v != "" || !e.Blank["apmid"] || !e.Blank["dataclassification"] || e.Blank["notes"] || !slices.Equal(e.Lines, []int{8}) {
		t.Errorf("b4 (blank APMID): %+v", e)
	}
	if _, ok := tab.Lookup("ARN:AWS:S3:::B1"); ok {
		t.Error("Lookup is not case-sensitive")
	}
	var order []string
	for e := range tab.All() {
		order = append(order, e.ResourceArn)
	}
	if want := []string{"arn:aws:s3:::b1", "arn:aws:s3:::b2", "arn:aws:s3:::b3", "arn:aws:s3:::b4"}; !slices.Equal(order, want) {
		t.Errorf("All: %q, want %q", order, want)
	}
}

func TestHeaderSpellings(t *testing.T) {
	for _, h := range []string{"resourceArn", "resource_arn", "ResourceARN", " RESOURCE-ARN ", "Resource_Arn"} {
		tab, err := Read("m.csv", strings.NewReader(h+",APMID\narn:a,A\n"))
		if err != nil {
			t.Errorf("%q: %v", h, err)
			continue
		}
		if e, ok := tab.Lookup("arn:a"); !ok || e.Fields["apmid"] != "A" || len(e.Fields) != 1 {
			t.Errorf("%q: %+v", h, e)
		}
	}
	for _, h := range []string{"resourceArns", "arn", "resource arn"} {
		if _, err := Read("m.csv", strings.NewReader(h+",APMID\narn:a,A\n")); err == nil {
			t.Errorf("%q accepted as the ARN column", h)
		}
	}
}

func TestHeaderOnly(t *testing.T) {
	for _, in := range []string{"resourceArn,APMID", "resourceArn,APMID\n", "\ufeffresourceArn,APMID\r\n\r\n", "resourceArn,APMID\n,\n  ,  \n\n"} {
		tab, err := Read("m.csv", strings.NewReader(in))
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if tab.Rows != 0 || tab.Len() != 0 || !slices.Equal(tab.Columns, []string{"resourceArn", "APMID"}) {
			t.Errorf("%q: %+v", in, tab)
		}
	}
}

func TestDuplicates(t *testing.T) {
	const in = "resourceArn,APMID,App\n" +
		"arn:f,F1,x\n" + //  2  f: conflicts only at line 15
		"arn:a,A1,x\n" + //  3
		"arn:a,A1,x\n" + //  4  agrees
		"arn:b,B1,y\n" + //  5
		"arn:b,B2,y\n" + //  6  conflict on APMID
		"arn:b,B1,y\n" + //  7  agrees with the first
		"arn:b,B3,z\n" + //  8  a third value
		"arn:c,C1, p\n" + //  9
		"arn:c,C1,p \n" + // 10  agrees after trimming
		"arn:d,D1,q\n" + // 11
		"arn:d,D1,q\n" + // 12  agrees ...
		"arn:d,D1,r\n" + // 13  ... until this one: conflict on App
		"arn:e,,x\n" + //   14
		"arn:f,F1,w\n" + // 15
		"arn:e,  ,x\n" //   16  blank and empty agree
	tab := mustRead(t, in)
	if tab.Rows != 15 || tab.Len() != 6 {
		t.Errorf("Rows %d Len %d, want 15 6", tab.Rows, tab.Len())
	}
	if tab.Duplicates != 3 { // a, c, e
		t.Errorf("Duplicates %d, want 3", tab.Duplicates)
	}
	want := []Conflict{
		{ResourceArn: "arn:f", Field: "app", Values: []string{"x", "w"}, Lines: []int{2, 15}},
		{ResourceArn: "arn:b", Field: "apmid", Values: []string{"B1", "B2", "B3"}, Lines: []int{5, 6, 7, 8}},
		{ResourceArn: "arn:d", Field: "app", Values: []string{"q", "r"}, Lines: []int{11, 12, 13}},
	}
	if !reflect.DeepEqual(tab.Conflicts, want) {
		t.Errorf("Conflicts\n%+v\nwant\n%+v", tab.Conflicts, want)
	}
	for i := range tab.Conflicts {
		c := &tab.Conflicts[i]
		if e := lookup(t, tab, c.ResourceArn); e.Conflict != c || !slices.Equal(e.Lines, c.Lines) {
			t.Errorf("%s: Conflict %p (want %p), Lines %v", c.ResourceArn, e.Conflict, c, e.Lines)
		}
	}
	if e := lookup(t, tab, "arn:b"); e.Fields["apmid"] != "B1" || e.Fields["app"] != "y" {
		t.Errorf("b keeps %v, want the first row", e.Fields)
	}
	for arn, lines := range map[string][]int{"arn:a": {3, 4}, "arn:c": {9, 10}, "arn:e": {14, 16}} {
		if e := lookup(t, tab, arn); e.Conflict != nil || !slices.Equal(e.Lines, lines) {
			t.Errorf("%s: Conflict %v Lines %v, want merged at %v", arn, e.Conflict, e.Lines, lines)
		}
	}
	if e := lookup(t, tab, "arn:e"); e.Blank["apmid"] {
		t.Errorf("e keeps the first row, which is empty, not blank: %+v", e)
	}
}

// TestTestenvMetadata reads the emulator's metadata.csv and checks it
// against a plain encoding/csv parse of the same bytes.
func TestTestenvMetadata(t *testing.T) {
	srv, err := testenv.New(testenv.Options{RecoveryPoints: 2000})
	if err != nil {
		t.Fatal(err)
	}
	raw := srv.Metadata()
	if !bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) || !bytes.Contains(raw, []byte("\r\n")) {
		t.Fatal("metadata.csv no longer starts with a BOM or uses CRLF: the test lost its point")
	}
	tab, err := Read("metadata.csv", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []string{"ResourceArn", "APMID", "Application", "Owner", "Environment", "CostCenter", "Notes", "DataClassification"}
	if !slices.Equal(tab.Columns, wantCols) {
		t.Fatalf("Columns %q, want %q", tab.Columns, wantCols)
	}

	// The oracle: encoding/csv on the bytes without the BOM. No field
	// spans lines, so data row i is on line i+1.
	recs, err := csv.NewReader(bytes.NewReader(raw[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		line int
		rec  []string
	}
	byArn := map[string][]row{}
	for i, rec := range recs[1:] {
		for _, v := range rec {
			if strings.ContainsAny(v, "\r\n") {
				t.Fatalf("line %d: a field spans lines", i+2)
			}
		}
		arn := strings.TrimSpace(rec[0])
		byArn[arn] = append(byArn[arn], row{i + 2, rec})
	}
	if tab.Rows != len(recs)-1 || tab.Len() != len(byArn) {
		t.Errorf("Rows %d Len %d, want %d %d", tab.Rows, tab.Len(), len(recs)-1, len(byArn))
	}
	dups, conflicts := 0, 0
	var sawBlank, sawEmpty, sawComma, sawQuote, sawNonASCII, sawExtra bool
	for arn, rows := range byArn {
		e := lookup(t, tab, arn)
		var lines []int
		for _, r := range rows {
			lines = append(lines, r.line)
		}
		if !slices.Equal(e.Lines, lines) {
			t.Errorf("%s: Lines %v, want %v", arn, e.Lines, lines)
		}
		first := rows[0].rec
		for i, col := range wantCols[1:] {
			k := strings.ToLower(col)
			v, ok := e.Fields[k]
			if !ok || v != strings.TrimSpace(first[i+1]) {
				t.Errorf("%s: %s = %q, want %q", arn, k, v, first[i+1])
			}
			if blank := first[i+1] != "" && strings.TrimSpace(first[i+1]) == ""; e.Blank[k] != blank {
				t.Errorf("%s: Blank[%s] = %v for %q", arn, k, e.Blank[k], first[i+1])
			}
		}
		if len(e.Fields) != len(wantCols)-1 {
			t.Errorf("%s: %d fields, want %d", arn, len(e.Fields), len(wantCols)-1)
		}
		// The first field where a later row differs from the first.
		field := ""
		for _, r := range rows[1:] {
			for i := 1; i < len(r.rec) && field == ""; i++ {
				if strings.TrimSpace(r.rec[i]) != strings.TrimSpace(first[i]) {
					field = strings.ToLower(wantCols[i])
				}
			}
		}
		switch {
		case field != "":
			conflicts++
			c := e.Conflict
			if c == nil || c.Field != field || !slices.Equal(c.Lines, lines) || len(c.Values) < 2 {
				t.Errorf("%s: Conflict %+v, want field %s lines %v", arn, c, field, lines)
			} else if field == "apmid" && len(lines) == 2 {
				if c.Values[0] != strings.TrimSpace(first[1]) || c.Values[1] != strings.TrimSpace(rows[1].rec[1]) {
					t.Errorf("%s: Values %q", arn, c.Values)
				}
			}
		case e.Conflict != nil:
			t.Errorf("%s: Conflict %+v for agreeing rows", arn, e.Conflict)
		default:
			dups += len(rows) - 1
		}
		sawEmpty = sawEmpty || first[1] == "" && !e.Blank["apmid"] && e.Fields["apmid"] == ""
		sawBlank = sawBlank || first[1] == "  " && e.Blank["apmid"] && e.Fields["apmid"] == ""
		sawComma = sawComma || e.Fields["notes"] == "Migrated from on-prem, see CHG0012345"
		sawQuote = sawQuote || e.Fields["notes"] == `Owned by payments, "tier 1"`
		sawExtra = sawExtra || e.Fields["dataclassification"] == "Restricted"
		for _, r := range e.Fields["owner"] {
			sawNonASCII = sawNonASCII || r >= utf8.RuneSelf
		}
	}
	if tab.Duplicates != dups || len(tab.Conflicts) != conflicts {
		t.Errorf("Duplicates %d Conflicts %d, want %d %d", tab.Duplicates, len(tab.Conflicts), dups, conflicts)
	}
	// The emulator promises each defect at least once.
	if dups == 0 || conflicts == 0 || !sawEmpty || !sawBlank || !sawComma || !sawQuote || !sawNonASCII || !sawExtra {
		t.Errorf("a defect is missing: dups %d conflicts %d empty %v blank %v comma %v quote %v non-ASCII %v extra %v",
			dups, conflicts, sawEmpty, sawBlank, sawComma, sawQuote, sawNonASCII, sawExtra)
	}
	apmidConflict := false
	for i, c := range tab.Conflicts {
		if i > 0 && tab.Conflicts[i-1].Lines[0] >= c.Lines[0] {
			t.Errorf("Conflicts not sorted by first line: %v before %v", tab.Conflicts[i-1].Lines, c.Lines)
		}
		apmidConflict = apmidConflict || c.Field == "apmid" && len(c.Lines) == 2 && c.Lines[0] < c.Lines[1] && len(c.Values) == 2
	}
	if !apmidConflict {
		t.Errorf("no APMID conflict on two lines: %+v", tab.Conflicts)
	}
}

// TestRetainBounded checks that the raw text kept to locate errors does
// not grow with the file.
func TestRetainBounded(t *testing.T) {
	data := genCSV(50000)
	tr := &tracker{r: bytes.NewReader(data)}
	cr := csv.NewReader(tr)
	cr.ReuseRecord = true
	peak := 0
	for {
		tr.setMark(cr.InputOffset())
		if _, err := cr.Read(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		peak = max(peak, len(tr.buf))
	}
	if len(data) < 4<<20 || peak > 128<<10 {
		t.Errorf("kept up to %d bytes of a %d byte file", peak, len(data))
	}
}

// TestHugeUnterminatedField checks the error when the open field is
// longer than the raw text kept.
func TestHugeUnterminatedField(t *testing.T) {
	in := "resourceArn,Notes\narn:a,ok\narn:b,\"" + strings.Repeat("x,\n", maxRetain) + "arn:c,z\n"
	_, err := Read("m.csv", strings.NewReader(in))
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "the row starts on line 3") {
		t.Fatalf("got %v", err)
	}
}

// genCSV returns n rows shaped like the emulator's metadata.csv.
func genCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("\ufeffResourceArn,APMID,Application,Owner,Environment,CostCenter,Notes,DataClassification\r\n")
	apps := []string{"Payments", "Ledger", "Portal", "Orders", "HR", "Analytics"}
	for i := range n {
		app := apps[i%len(apps)]
		note := ""
		if i%25 == 0 {
			note = `"Owned by payments, ""tier 1"""`
		}
		fmt.Fprintf(&b, "arn:aws:ec2:us-east-1:111111111111:volume/vol-%017x,APM%04d,%s,Zoë Müller,prod,CC-%d,%s,Internal\r\n",
			i, 1000+i%len(apps), app, 4000+i%len(apps), note)
	}
	return b.Bytes()
}

func BenchmarkRead(b *testing.B) {
	const n = 150000
	data := genCSV(n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		tab, err := Read("bench.csv", bytes.NewReader(data))
		if err != nil || tab.Len() != n {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}
