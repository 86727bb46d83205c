package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/peterh/liner"
	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// evaluator runs REPL chunks: locally on an open state, or in a running
// command through its socket.
type evaluator interface {
	eval(ctx context.Context, chunk string, line int) error
	completions() []string
	close()
}

// localEval runs chunks on a state this process opened.
type localEval struct {
	st   *state.Store
	con  *console
	repl *luabind.Repl
}

func (l *localEval) eval(ctx context.Context, chunk string, line int) error {
	return l.repl.Eval(ctx, chunk, line)
}
func (l *localEval) completions() []string {
	return l.repl.Completions(append(metadataColumns(l.st), replFieldNames...))
}

// metadataColumns are the metadata column names of the first RPs that
// have a row, for completion.
func metadataColumns(st *state.Store) []string {
	seen := map[string]bool{}
	n := 0
	_ = st.ScanRPs(func(rp *state.RP) error {
		if rp.Meta != nil {
			for k := range rp.Meta.Fields {
				seen[k] = true
			}
			if n++; n >= 100 {
				return errStopScan
			}
		}
		return nil
	})
	return sortedKeys(seen)
}

var errStopScan = errors.New("stop")

func (l *localEval) close() {
	l.repl.Close()
	l.st.Close()
}

// remoteEval runs chunks in a running command's REPL server.
type remoteEval struct {
	dir   string
	rc    *replClient
	json  bool
	out   io.Writer
	ask   func(string) (string, error)
	names []string
}

func (r *remoteEval) eval(ctx context.Context, chunk string, line int) error {
	if r.rc == nil {
		rc, ok := dialRepl(r.dir)
		if !ok {
			return errors.New("the run has ended; start 'shuffle repl' again to open the state")
		}
		r.rc = rc
	}
	err := r.rc.eval(ctx, chunk, line, r.json, r.out, r.ask)
	if ctx.Err() != nil {
		// The connection may be mid-answer: start afresh next time.
		r.rc.Close()
		r.rc = nil
	}
	return err
}
func (r *remoteEval) completions() []string { return r.names }
func (r *remoteEval) close() {
	if r.rc != nil {
		r.rc.Close()
	}
}

// replFieldNames are the filter and group fields, for completion.
var replFieldNames = append(append([]string(nil), query.FilterKeys...), query.GroupKeys...)

func newReplCmd(e *env) *cobra.Command {
	var (
		dir     string
		exprs   []string
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "repl [SCRIPT]",
		Short: "Query and repair the state in a Lua REPL: count, find, explain, requeue, reset",
		Long: `Open a Lua REPL on the state directory, sandboxed like the policies, with
functions to query and repair it (help() lists them; docs/repl.md):

  count{...} find{..., limit=N} group{by=...} jobs{...}   queries with filters
  show(arn) explain(arn)                                   one recovery point
  history() forecast() export{..., file="x.csv"}           runs, rates, CSV
  requeue{...} reset{what=..., vault=...}                  mutations, previewed

While a 'shuffle run' holds the state, the REPL attaches to it through the
socket <state>/repl.sock: queries see the live state and requeue is applied
by the running copy engine. Otherwise it opens the state itself.

On a terminal it keeps a history (<state>/repl_history), completes names
with Tab, continues incomplete statements on the next line, cancels the
line on Ctrl-C and exits on Ctrl-D. -e CHUNK runs chunks and exits; so
does SCRIPT, a Lua file; without a terminal the chunks are read from
stdin. Mutations change nothing until confirmed: type yes at the prompt,
or add confirm=true (required with -e, SCRIPT or a pipe).

--json prints query results as JSON. A chunk that fails prints its error
with its line; the REPL goes on, and the exit status is 1.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			interactive := len(exprs) == 0 && len(args) == 0 && isTerminalReader(e.stdin) && isTerminal(e.stdout)
			ask := &asker{e: e}
			ev, attached, err := openRepl(e, dir, jsonOut, interactive, ask)
			if err != nil {
				return err
			}
			defer ev.close()
			ctx := cmd.Context()
			switch {
			case len(exprs) > 0 || len(args) == 1:
				chunks := exprs
				if len(args) == 1 {
					b, err := os.ReadFile(args[0])
					if err != nil {
						return usagef("script %s: %v", args[0], errors.Unwrap(err))
					}
					chunks = append(chunks, string(b))
				}
				failed := false
				for _, c := range chunks {
					if err := evalOne(ctx, e, ev, c, 1); err != nil {
						failed = true
					}
				}
				if failed {
					return replFailed{}
				}
				return nil
			case interactive:
				return interactiveRepl(ctx, e, ev, dir, attached, ask)
			default:
				return pipedRepl(ctx, e, ev)
			}
		},
	}
	cmd.Flags().StringVar(&dir, "state", "./.shuffle", "state directory (Badger)")
	complete(cmd, "state", completeDirs)
	cmd.Flags().StringArrayVarP(&exprs, "execute", "e", nil, "run this Lua chunk and exit (repeatable)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print query results as JSON")
	return cmd
}

// replFailed: a chunk failed; its error is printed already (exit 1).
type replFailed struct{}

func (replFailed) Error() string { return "a chunk failed (see above)" }
func (replFailed) ExitCode() int { return exitError }

func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && isTerminal(f)
}

// openRepl attaches to a running command's REPL socket, or opens the
// state.
func openRepl(e *env, dir string, jsonOut, interactive bool, a *asker) (evaluator, bool, error) {
	var ask func(string) (string, error)
	if interactive {
		ask = a.ask
	}
	if rc, ok := dialRepl(dir); ok {
		return &remoteEval{dir: dir, rc: rc, json: jsonOut, out: e.stdout, ask: ask, names: append(luabindNames(), replFieldNames...)}, true, nil
	}
	st, err := openStateReadOnly(e, dir)
	if err != nil {
		return nil, false, err
	}
	con := &console{store: st, requeuer: query.StoreRequeuer{Store: st}, out: e.stdout, json: jsonOut, dir: dir, ask: ask, progress: e.stderr}
	return &localEval{st: st, con: con, repl: luabind.NewRepl(con, e.stdout)}, false, nil
}

func luabindNames() []string {
	var out []string
	for _, h := range luabind.ReplHelp {
		out = append(out, h.Name)
	}
	return out
}

// asker asks the operator to confirm a mutation: through liner's prompt
// once the terminal REPL runs, else a line of stdin.
type asker struct {
	e      *env
	prompt func(string) (string, error)
}

func (a *asker) ask(p string) (string, error) {
	if a.prompt != nil {
		return a.prompt(p)
	}
	fmt.Fprint(a.e.stdout, p)
	line, err := bufio.NewReader(a.e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return line, nil
}

// evalOne runs one chunk and prints its error, if any, to stderr.
func evalOne(ctx context.Context, e *env, ev evaluator, chunk string, line int) error {
	err := ev.eval(ctx, chunk, line)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(e.stderr, "interrupted")
		} else {
			fmt.Fprintln(e.stderr, "error:", err)
		}
	}
	return err
}

// pipedRepl reads chunks from stdin (no prompts, no escapes): lines are
// joined while the statement is incomplete.
func pipedRepl(ctx context.Context, e *env, ev evaluator) error {
	sc := bufio.NewScanner(e.stdin)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var buf strings.Builder
	failed := false
	n, first := 0, 1
	for sc.Scan() {
		n++
		if buf.Len() == 0 {
			first = n
		}
		buf.WriteString(sc.Text())
		buf.WriteByte('\n')
		chunk := buf.String()
		if strings.TrimSpace(chunk) == "" {
			buf.Reset()
			continue
		}
		if luabind.Incomplete(chunk) {
			continue
		}
		buf.Reset()
		if err := evalOne(ctx, e, ev, chunk, first); err != nil {
			failed = true
		}
	}
	if rest := buf.String(); strings.TrimSpace(rest) != "" {
		if err := evalOne(ctx, e, ev, rest, first); err != nil {
			failed = true
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if failed {
		return replFailed{}
	}
	return nil
}

// interactiveRepl is the terminal REPL, with liner.
func interactiveRepl(ctx context.Context, e *env, ev evaluator, dir string, attached bool, a *asker) error {
	ln := liner.NewLiner()
	defer ln.Close()
	a.prompt = ln.Prompt
	ln.SetCtrlCAborts(true)
	ln.SetMultiLineMode(true)
	names := ev.completions()
	ln.SetWordCompleter(func(line string, pos int) (head string, completions []string, tail string) {
		start := pos
		for start > 0 && isWordByte(line[start-1]) {
			start--
		}
		word := line[start:pos]
		if word == "" {
			return line[:pos], nil, line[pos:]
		}
		for _, n := range names {
			if strings.HasPrefix(n, word) {
				completions = append(completions, n)
			}
		}
		return line[:start], completions, line[pos:]
	})
	histPath := filepath.Join(dir, "repl_history")
	if f, err := os.Open(histPath); err == nil {
		_, _ = ln.ReadHistory(f)
		f.Close()
	}
	defer func() {
		if f, err := os.OpenFile(histPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
			_, _ = ln.WriteHistory(f)
			f.Close()
		}
	}()
	if attached {
		fmt.Fprintf(e.stdout, "shuffle repl: attached to the running command on %s; help() lists the functions, Ctrl-D exits\n", dir)
	} else {
		fmt.Fprintf(e.stdout, "shuffle repl: state %s; help() lists the functions, Ctrl-D exits\n", dir)
	}
	var buf strings.Builder
	for {
		prompt := "shuffle> "
		if buf.Len() > 0 {
			prompt = "      >> "
		}
		line, err := ln.Prompt(prompt)
		switch {
		case errors.Is(err, liner.ErrPromptAborted):
			buf.Reset() // Ctrl-C: drop the line
			continue
		case errors.Is(err, io.EOF):
			fmt.Fprintln(e.stdout)
			return nil
		case err != nil:
			return err
		}
		buf.WriteString(line)
		buf.WriteByte('\n')
		chunk := buf.String()
		if strings.TrimSpace(chunk) == "" {
			buf.Reset()
			continue
		}
		if luabind.Incomplete(chunk) {
			continue
		}
		buf.Reset()
		ln.AppendHistory(strings.TrimSuffix(chunk, "\n"))
		// Ctrl-C while a chunk runs cancels it (the terminal is in
		// cooked mode then, so it arrives as SIGINT), not the REPL.
		sctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		_ = evalOne(sctx, e, ev, chunk, 1)
		stop()
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}
