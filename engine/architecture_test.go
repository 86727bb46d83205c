package engine_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/shuffle-migrate/shuffle/"

// docs/architecture.md lists every package with the shuffle packages it
// imports; this keeps that list true. The imports are read from the
// source (non-test files), not from the doc's own claims.
func TestArchitectureDocMatchesImports(t *testing.T) {
	root := filepath.Join("..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	code := importsFromSource(t, root)
	documented := importsFromDoc(t, string(doc), code)
	for pkg, want := range code {
		got, ok := documented[pkg]
		if !ok {
			t.Errorf("docs/architecture.md does not list package %s (it imports %v)", pkg, want)
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("docs/architecture.md: %s imports %v, the code imports %v", pkg, got, want)
		}
	}
	for pkg := range documented {
		if _, ok := code[pkg]; !ok {
			t.Errorf("docs/architecture.md lists %s, which is not a package of the code", pkg)
		}
	}
}

// importsFromSource maps each package directory (relative to root, with
// slashes; scripts/ left out: they are tools, not the product) to the
// sorted shuffle packages its non-test files import.
func importsFromSource(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "scripts" || rel == "testdata" || strings.HasSuffix(rel, "/testdata") || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		if _, ok := out[dir]; !ok {
			out[dir] = []string{}
		}
		for _, im := range f.Imports {
			p := strings.Trim(im.Path.Value, `"`)
			if q, ok := strings.CutPrefix(p, module); ok && !slices.Contains(out[dir], q) {
				out[dir] = append(out[dir], q)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// importsFromDoc reads the block of "name → imports" lines. A short name
// is the package directory whose last element it is (engine/copier is
// "copier"), or the directory itself (cmd/shuffle, engine).
func importsFromDoc(t *testing.T, doc string, code map[string][]string) map[string][]string {
	t.Helper()
	resolve := func(name string) string {
		if _, ok := code[name]; ok {
			return name
		}
		var found []string
		for dir := range code {
			if filepath.Base(dir) == name {
				found = append(found, dir)
			}
		}
		if len(found) != 1 {
			t.Fatalf("docs/architecture.md names %q, which matches packages %v: use a name that matches one", name, found)
		}
		return found[0]
	}
	line := regexp.MustCompile(`(?m)^(\S+) +→(.*)$`)
	out := map[string][]string{}
	for _, m := range line.FindAllStringSubmatch(doc, -1) {
		pkg := resolve(m[1])
		if _, dup := out[pkg]; dup {
			t.Errorf("docs/architecture.md lists %s twice", pkg)
		}
		imports := []string{}
		for _, n := range strings.Fields(m[2]) {
			imports = append(imports, resolve(n))
		}
		slices.Sort(imports)
		out[pkg] = imports
	}
	if len(out) == 0 {
		t.Fatal("docs/architecture.md has no package lines (name → imports)")
	}
	return out
}
