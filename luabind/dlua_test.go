package luabind

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"testing"
)

// shuffle.d.lua documents exactly the functions of the Go modules: a
// function added to (or removed from) either side fails this test.
func TestDefinitionsMatchModules(t *testing.T) {
	src, err := os.ReadFile("shuffle.d.lua")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string][]string{}
	for _, m := range regexp.MustCompile(`(?m)^function (\w+)\.(\w+)\(`).FindAllStringSubmatch(string(src), -1) {
		documented[m[1]] = append(documented[m[1]], m[2])
	}
	for _, names := range documented {
		sort.Strings(names)
	}
	got := ModuleFunctions()
	for module, names := range got {
		if !reflect.DeepEqual(documented[module], names) {
			t.Errorf("module %s: Go has %v, shuffle.d.lua documents %v", module, names, documented[module])
		}
	}
	for module, names := range documented {
		if _, ok := got[module]; !ok {
			t.Errorf("shuffle.d.lua documents module %s (%v), which Go does not have", module, names)
		}
	}
	// Every documented function has an annotation block above it.
	if m := regexp.MustCompile(`(?m)^[^-\n].*\n(function \w+\.\w+\()`).FindStringSubmatch(string(src)); m != nil {
		t.Errorf("%s... has no ---@ annotations above it", m[1])
	}
}

func TestModuleFunctions(t *testing.T) {
	want := map[string][]string{
		"shuffle": {"config", "copy", "decide", "enrich", "inventory", "replicate"},
		"helpers": {"days_between", "glob", "has_prefix", "has_suffix", "lower", "set", "split", "trim", "upper"},
		"testing": {"compliance", "decide", "eq", "map", "ok", "tags"},
		"repl":    {"count", "explain", "export", "find", "forecast", "group", "help", "history", "jobs", "requeue", "reset", "show"},
	}
	if got := ModuleFunctions(); !reflect.DeepEqual(got, want) {
		t.Errorf("ModuleFunctions() = %v, want %v", got, want)
	}
}
