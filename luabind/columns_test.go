package luabind

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

func TestRequiredColumns(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"a.lua": "local M = { requires = { columns = { 'apmid', ' Owner ', 'APMID' } } }\n" +
			"function M.decide(rp) return 'include', 'ok' end\nfunction M.tags(rp) return nil end\nreturn M\n",
		"b.lua": "local M = { requires = {} }\nfunction M.decide(rp) return 'include', 'ok' end\nreturn M\n",
		"c.lua": "local M = {}\nfunction M.decide(rp) return 'include', 'ok' end\nreturn M\n",
		"t.lua": "local M = { requires = { columns = { 'costcenter' } } }\nfunction M.tags(rp) return nil end\nreturn M\n",
		// Declared, but not configured: not required.
		"unused.lua": "return { requires = { columns = { 'nope' } }, decide = function() end }\n",
	})
	p, err := LoadPolicies(scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"c", "a", "b"}, Tags: "t"})
	if err != nil {
		t.Fatal(err)
	}
	want := []ColumnRequirement{
		{Column: "apmid", Module: "a", File: filepath.Join(dir, "a.lua")},
		{Column: "Owner", Module: "a", File: filepath.Join(dir, "a.lua")},
		{Column: "costcenter", Module: "t", File: filepath.Join(dir, "t.lua")},
	}
	if got := p.RequiredColumns(); !reflect.DeepEqual(got, want) {
		t.Errorf("RequiredColumns() = %+v\nwant %+v", got, want)
	}
	// A module in two roles (decide and tags) is read once; workers
	// reloaded after a stopped call do not add it again.
	p, err = LoadPolicies(scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"a"}, Tags: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.RequiredColumns(); len(got) != 2 {
		t.Errorf("a in two roles: %+v, want apmid and Owner once", got)
	}
	w, err := p.NewWorker()
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := w.init(); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if len(w.columns) != 2 {
		t.Errorf("after a reload the worker has %+v", w.columns)
	}
}

func TestRequiresInvalid(t *testing.T) {
	for _, c := range []struct{ requires, want string }{
		{`"apmid"`, `requires is "apmid", not a table`},
		{`{ column = { "apmid" } }`, `requires has an unknown field "column" (known: columns)`},
		{`{ "apmid" }`, `requires has an unknown field the number 1 (known: columns)`},
		{`{ columns = "apmid" }`, `requires.columns is "apmid", not a list of column names`},
		{`{ columns = { "apmid", 7 } }`, `requires.columns[2] is the number 7, not a column name`},
		{`{ columns = { "  " } }`, `requires.columns[1] is empty`},
		{`{ columns = { apmid = true } }`, `requires.columns has the key "apmid"; want a list like`},
	} {
		dir := writeDir(t, map[string]string{
			"p.lua": "return { requires = " + c.requires + ", decide = function() return 'include', 'ok' end }\n",
		})
		_, err := LoadPolicies(scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"p"}})
		file := filepath.Join(dir, "p.lua")
		if err == nil || !strings.HasPrefix(err.Error(), file+": "+c.want) || !strings.Contains(err.Error(), `M.requires = { columns = { "apmid" } }`) {
			t.Errorf("requires = %s: got %v\nwant %s: %s...", c.requires, err, file, c.want)
		}
	}
}

// The shipped policies declare the columns they read.
func TestShippedPoliciesRequire(t *testing.T) {
	p, err := LoadPolicies(scriptconfig.PolicyConfig{Dir: filepath.Join("..", "policies"), Decide: []string{"apmid"}, Vaults: "vaults", Tags: "tags", Compliance: "compliance"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range p.RequiredColumns() {
		got = append(got, c.Column+" by "+filepath.Base(c.File))
	}
	want := []string{"apmid by apmid.lua", "apmid by tags.lua", "application by tags.lua", "costcenter by tags.lua"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("shipped policies require %q, want %q", got, want)
	}
}

// shuffle.d.lua documents exactly the fields a requires table may have.
func TestRequiresDocumented(t *testing.T) {
	src, err := os.ReadFile("shuffle.d.lua")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^---@class shuffle\.Requires\n((?:---@field .*\n)+)`).FindSubmatch(src)
	if m == nil {
		t.Fatal("shuffle.d.lua has no shuffle.Requires class with fields")
	}
	var documented []string
	for _, f := range regexp.MustCompile(`(?m)^---@field (\w+)\??`).FindAllSubmatch(m[1], -1) {
		documented = append(documented, string(f[1]))
	}
	if !reflect.DeepEqual(documented, requiresFields) {
		t.Errorf("shuffle.d.lua documents requires fields %q; the code knows %q", documented, requiresFields)
	}
}
