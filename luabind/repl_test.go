package luabind

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// fakeReplHost answers count with the number of fields it was given and
// records the calls.
type fakeReplHost struct{ calls []string }

func (f *fakeReplHost) Count(_ context.Context, a ReplArgs) (int64, error) {
	if a["status"] == "bogus" {
		return 0, errors.New("status=\"bogus\": not a status")
	}
	f.calls = append(f.calls, "count")
	return int64(len(a)), nil
}
func (f *fakeReplHost) Find(context.Context, ReplArgs) error {
	f.calls = append(f.calls, "find")
	return nil
}
func (f *fakeReplHost) Group(context.Context, ReplArgs) error           { return nil }
func (f *fakeReplHost) Jobs(context.Context, ReplArgs) error            { return nil }
func (f *fakeReplHost) Show(context.Context, string) error              { return nil }
func (f *fakeReplHost) Explain(context.Context, string) error           { return nil }
func (f *fakeReplHost) History(context.Context) error                   { return nil }
func (f *fakeReplHost) Forecast(context.Context, ReplArgs) error        { return nil }
func (f *fakeReplHost) Export(context.Context, ReplArgs) (int64, error) { return 0, nil }
func (f *fakeReplHost) Requeue(context.Context, ReplArgs) (int64, error) {
	return 0, nil
}
func (f *fakeReplHost) Reset(context.Context, ReplArgs) (int64, error) { return 0, nil }

func TestReplEvalPrintsExpressionsAndSurvivesErrors(t *testing.T) {
	var out bytes.Buffer
	h := &fakeReplHost{}
	r := NewRepl(h, &out)
	defer r.Close()
	ctx := context.Background()
	if err := r.Eval(ctx, `count{vault="a", status={"failed","retry"}}`, 1); err != nil {
		t.Fatal(err)
	}
	if err := r.Eval(ctx, "local n = repl.count{}\nx = n + 40", 2); err != nil {
		t.Fatal(err)
	}
	if err := r.Eval(ctx, "x", 4); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "2\n40\n" {
		t.Errorf("output %q, want the two expressions' values", got)
	}
	for _, c := range []struct{ chunk, want string }{
		{"x = = 1", "stdin:7:"},
		{"nosuch()", "stdin:7: attempt to call a non-function object"},
		{"\ncount{status=\"bogus\"}", "stdin:8: count: status=\"bogus\": not a status"},
		{"count(3)", "count takes a table"},
		{"os.exit(1)", "os is not available"},
	} {
		err := r.Eval(ctx, c.chunk, 7)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Eval(%q) = %v, want an error containing %q", c.chunk, err, c.want)
		}
	}
	out.Reset()
	if err := r.Eval(ctx, "x + 1", 9); err != nil || out.String() != "41\n" {
		t.Errorf("after errors: %v, %q; want the state kept (41)", err, out.String())
	}
}

func TestReplIncomplete(t *testing.T) {
	for chunk, want := range map[string]bool{
		"count{":                       true,
		"for i = 1, 3 do":              true,
		"print(\"a\"":                  true,
		"count{}":                      false,
		"x = = 1":                      false,
		"for i = 1, 3 do print(i) end": false,
	} {
		if got := Incomplete(chunk); got != want {
			t.Errorf("Incomplete(%q) = %v, want %v", chunk, got, want)
		}
	}
}

func TestReplHelpAndCompletions(t *testing.T) {
	var out bytes.Buffer
	r := NewRepl(&fakeReplHost{}, &out)
	defer r.Close()
	if err := r.Eval(context.Background(), "help()", 1); err != nil {
		t.Fatal(err)
	}
	for name := range replFuncs {
		if !strings.Contains(out.String(), name) {
			t.Errorf("help() does not mention %s", name)
		}
	}
	if len(ReplHelp) != len(replFuncs) {
		t.Errorf("ReplHelp has %d entries, replFuncs %d", len(ReplHelp), len(replFuncs))
	}
	names := strings.Join(r.Completions([]string{"resource_type"}), " ")
	for _, w := range []string{"count", "explain", "requeue", "resource_type", "string", "limit"} {
		if !strings.Contains(" "+names+" ", " "+w+" ") {
			t.Errorf("completions lack %s: %s", w, names)
		}
	}
}

func TestReplChunkTimeLimit(t *testing.T) {
	var out bytes.Buffer
	r := NewRepl(&fakeReplHost{}, &out)
	defer r.Close()
	r.Timeout = 50 * time.Millisecond
	err := r.Eval(context.Background(), "while true do end", 1)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("endless loop: %v, want ErrTimeout", err)
	}
	// A pattern that backtracks, in Go, and a tail-call loop stop too.
	for _, chunk := range []string{`string.find(string.rep("a", 3000), ".-.-.-b")`, "local function f() return f() end return f()"} {
		start := time.Now()
		if err := r.Eval(context.Background(), chunk, 1); !errors.Is(err, ErrTimeout) {
			t.Fatalf("%s: %v, want ErrTimeout", chunk, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: took %s to stop", chunk, d)
		}
	}
	if err := r.Eval(context.Background(), "1 + 1", 2); err != nil || out.String() != "2\n" {
		t.Errorf("after a timeout: %v, %q", err, out.String())
	}
}
