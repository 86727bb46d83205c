package metadata

import (
	"errors"
	"strings"
	"testing"
)

func TestRequire(t *testing.T) {
	apmid := Requirement{Column: "apmid", By: "policies/apmid.lua"}
	tags := []Requirement{{Column: "apmid", By: "policies/tags.lua"}, {Column: "CostCenter", By: "policies/tags.lua"}}
	for _, c := range []struct {
		name, csv string
		reqs      []Requirement
		want      string // the whole message; "" for no error
	}{
		{"present", "resourceArn,APMID\narn:a,A\n", []Requirement{apmid}, ""},
		{"any case and spaces", "resourceArn, apMid ,costcenter\narn:a,A,C\n", append([]Requirement{apmid}, tags...), ""},
		{"the ARN column", "Resource_ARN,x\narn:a,A\n", []Requirement{{Column: "resourceArn", By: "p.lua"}}, ""},
		{"none required", "resourceArn\narn:a\n", nil, ""},
		{"missing", "resourceArn,Owner,Application\narn:a,o,x\n", []Requirement{apmid},
			`m.csv: no column "apmid" (required by policies/apmid.lua); the header has: resourceArn, Owner, Application; add the column or fix its name (names match in any case)`},
		{"missing, required twice, and another", "resourceArn,Owner\narn:a,o\n", append([]Requirement{apmid}, tags...),
			`m.csv: no columns "apmid" (required by policies/apmid.lua, policies/tags.lua) and "CostCenter" (required by policies/tags.lua); the header has: resourceArn, Owner; add the columns or fix their names (names match in any case)`},
		{"a near name", "resourceArn,APM ID,cost_center\narn:a,A,C\n", append([]Requirement{apmid}, tags...),
			`m.csv: no columns "apmid" (required by policies/apmid.lua, policies/tags.lua) and "CostCenter" (required by policies/tags.lua); the header has: resourceArn, APM ID, cost_center; add the columns or fix their names (names match in any case); "APM ID" looks like "apmid": rename it to apmid; "cost_center" looks like "CostCenter": rename it to CostCenter`},
		{"an invisible character", "resourceArn,\ufeffAPMID\u00a0\narn:a,A\n", []Requirement{apmid},
			`m.csv: no column "apmid" (required by policies/apmid.lua); the header has: resourceArn, "\ufeffAPMID\u00a0"; add the column or fix its name (names match in any case); "\ufeffAPMID\u00a0" looks like "apmid": rename it to apmid`},
		{"a long header", "resourceArn,c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,c13\narn:a,,,,,,,,,,,,,\n", []Requirement{apmid},
			`m.csv: no column "apmid" (required by policies/apmid.lua); the header has: resourceArn, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, … (2 more); add the column or fix its name (names match in any case)`},
		{"a line break in a required value", "resourceArn,Notes,APMID\narn:a,\"x\ny\",A\narn:b,n,\"APM\n1\"\narn:c,n,\"APM\n2\"\n", []Requirement{apmid},
			`m.csv:4:9: field "APMID": line break inside the value; the column is required by policies/apmid.lua and its values are one line; close the quote where the value ends, or remove the line break`},
		{"a line break in another column", "resourceArn,Notes,APMID\narn:a,\"x\ny\",A\n", []Requirement{apmid}, ""},
		{"a trailing line break is trimmed", "resourceArn,APMID\narn:a,\"A\n\"\n", []Requirement{apmid}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab := mustRead(t, c.csv)
			err := tab.Require(c.reqs)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want == "":
				return
			case err == nil:
				t.Fatalf("no error, want\n%s", c.want)
			case err.Error() != c.want:
				t.Fatalf("got\n%s\nwant\n%s", err, c.want)
			}
			var me *MissingColumnsError
			var pe *ParseError
			if !errors.As(err, &me) && !errors.As(err, &pe) {
				t.Errorf("%T is neither a *MissingColumnsError nor a *ParseError", err)
			}
			if strings.HasPrefix(c.name, "missing") && (me == nil || me.File != "m.csv" || me.Missing[0].Column != "apmid") {
				t.Errorf("error fields: %+v", me)
			}
		})
	}
}
