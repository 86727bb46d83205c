package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/verify"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// The REPL socket: `shuffle run` listens on <state>/repl.sock (mode
// 0600, removed on exit) so that `shuffle repl` can work against the
// live state, which Badger lets only one process open. The protocol is
// line-delimited JSON (docs/repl.md):
//
//	client → server  {"chunk":"count{}","json":false,"interactive":true}
//	server → client  {"out":"..."}              output, any number
//	server → client  {"confirm":"type yes ..."} a question (interactive only)
//	client → server  {"answer":"yes"}
//	server → client  {"done":true,"error":""}   end of the chunk
//
// Each connection has its own Lua state, so locals persist between
// chunks as in a local REPL.

// replChunkTimeout limits a chunk evaluated inside a running command.
const replChunkTimeout = 10 * time.Minute

// replSocketName is the socket's file name in the state directory.
const replSocketName = "repl.sock"

func replSocketPath(dir string) string { return filepath.Join(dir, replSocketName) }

type replRequest struct {
	Chunk       string `json:"chunk,omitempty"`
	Line        int    `json:"line,omitempty"`
	JSON        bool   `json:"json,omitempty"`
	Interactive bool   `json:"interactive,omitempty"`
	Answer      string `json:"answer,omitempty"`
	// Status and Forecast ask the running command for `shuffle status`
	// and `shuffle forecast` of its live state (the answer is Result).
	Status   bool              `json:"status,omitempty"`
	Forecast *forecast.Options `json:"forecast,omitempty"`
	// Verify asks the running command for `shuffle verify`'s report of
	// its live state and destination account.
	Verify bool `json:"verify,omitempty"`
}

type replMessage struct {
	Out     string          `json:"out,omitempty"`
	Confirm string          `json:"confirm,omitempty"`
	Done    bool            `json:"done,omitempty"`
	Error   string          `json:"error,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
}

// liveSession is what the REPL server needs of the running session.
type liveSession interface {
	query.Requeuer
	LiveStore() *state.Store
	LiveVerify(ctx context.Context) (*verify.Report, error)
}

// replServer serves the REPL socket of a running command.
type replServer struct {
	path  string
	ln    net.Listener
	sess  liveSession
	dir   string
	run   state.Run
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

// startReplServer listens on the state directory's REPL socket. A socket
// file left by a process that died is replaced; one that answers means
// another command is live, which is an error.
//
// run describes the serving command; history() shows it as running (its
// record is written when it ends).
func startReplServer(dir string, sess liveSession, run state.Run) (*replServer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := replSocketPath(dir)
	if _, err := os.Stat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("another shuffle command is serving the REPL socket %s", path)
		}
		_ = os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("REPL socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &replServer{path: path, ln: ln, sess: sess, dir: dir, run: run, ctx: ctx, stop: cancel, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Close stops serving, ends the sessions (their queries are cancelled
// and waited for) and removes the socket. Call it before the state is
// closed.
func (s *replServer) Close() {
	s.stop()
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	_ = os.Remove(s.path)
}

func (s *replServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// msgWriter sends what is written to it as {"out":...} messages.
type msgWriter struct{ enc *json.Encoder }

func (w msgWriter) Write(p []byte) (int, error) {
	if err := w.enc.Encode(replMessage{Out: string(p)}); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (s *replServer) serve(c net.Conn) {
	r := bufio.NewReader(c)
	enc := json.NewEncoder(c)
	out := msgWriter{enc}
	readReq := func() (*replRequest, error) {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		var req replRequest
		if err := json.Unmarshal(line, &req); err != nil {
			return nil, fmt.Errorf("bad request: %w", err)
		}
		return &req, nil
	}
	var repl *luabind.Repl
	var con *console
	defer func() {
		if repl != nil {
			repl.Close()
		}
	}()
	for {
		req, err := readReq()
		if err != nil {
			return
		}
		if req.Status || req.Forecast != nil || req.Verify {
			if err := enc.Encode(s.report(req)); err != nil {
				return
			}
			continue
		}
		if repl == nil {
			st := s.sess.LiveStore()
			if st == nil {
				_ = enc.Encode(replMessage{Done: true, Error: "the run has not opened its state yet (shuffle.config); try again in a moment"})
				continue
			}
			run := s.run
			con = &console{store: st, requeuer: s.sess, out: out, dir: s.dir, live: true, liveRun: &run, progress: out}
			repl = luabind.NewRepl(con, out)
			repl.Timeout = replChunkTimeout // it runs inside the run's process
		}
		con.json = req.JSON
		con.ask = nil
		if req.Interactive {
			con.ask = func(prompt string) (string, error) {
				if err := enc.Encode(replMessage{Confirm: prompt}); err != nil {
					return "", err
				}
				a, err := readReq()
				if err != nil {
					return "", err
				}
				return a.Answer, nil
			}
		}
		msg := replMessage{Done: true}
		if err := repl.Eval(s.ctx, req.Chunk, max(req.Line, 1)); err != nil {
			msg.Error = err.Error()
		}
		if err := enc.Encode(msg); err != nil {
			return
		}
	}
}

// report answers a status or forecast request from the live state.
func (s *replServer) report(req *replRequest) replMessage {
	st := s.sess.LiveStore()
	if st == nil {
		return replMessage{Done: true, Error: "the run has not opened its state yet (shuffle.config); try again in a moment"}
	}
	var v any
	var err error
	switch {
	case req.Status:
		v, err = forecast.ReadStatus(s.ctx, st, time.Now())
	case req.Verify:
		v, err = s.sess.LiveVerify(s.ctx)
	default:
		var f *forecast.Forecast
		if f, err = forecast.Make(s.ctx, st, *req.Forecast); err == nil {
			progress, projection := f.ChartSeries()
			v = liveForecast{Forecast: f, Progress: progress, Projection: projection}
		}
	}
	if err == nil {
		var b []byte
		if b, err = json.Marshal(v); err == nil {
			return replMessage{Done: true, Result: b}
		}
	}
	return replMessage{Done: true, Error: err.Error()}
}

// liveForecast is a forecast as the socket carries it: with its chart
// series, which JSON would otherwise drop.
type liveForecast struct {
	Forecast             *forecast.Forecast `json:"forecast"`
	Progress, Projection []forecast.Point
}

// liveReport asks the command running on the state in dir for a status
// or forecast of its live state, decoded into v; ok is false when no
// running command answers on the socket.
func liveReport(ctx context.Context, dir string, req replRequest, v any) (ok bool, err error) {
	rc, ok := dialRepl(dir)
	if !ok {
		return false, nil
	}
	defer rc.Close()
	if err := rc.enc.Encode(req); err != nil {
		return true, fmt.Errorf("the run's REPL socket: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { rc.c.SetReadDeadline(time.Now()) })
	defer stop()
	line, err := rc.r.ReadBytes('\n')
	if err != nil {
		return true, fmt.Errorf("the run's REPL socket: %w", err)
	}
	var m replMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return true, fmt.Errorf("the run's REPL socket: %w", err)
	}
	if m.Error != "" {
		return true, errors.New(m.Error)
	}
	return true, json.Unmarshal(m.Result, v)
}

// replClient evaluates chunks in a running command's REPL server.
type replClient struct {
	c   net.Conn
	r   *bufio.Reader
	enc *json.Encoder
}

// dialRepl connects to the REPL socket in dir; ok is false when there is
// no live server (no socket, or a stale one).
func dialRepl(dir string) (*replClient, bool) {
	path := replSocketPath(dir)
	if _, err := os.Stat(path); err != nil {
		return nil, false
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, false
	}
	return &replClient{c: c, r: bufio.NewReader(c), enc: json.NewEncoder(c)}, true
}

func (rc *replClient) Close() error { return rc.c.Close() }

// eval sends one chunk and copies its output to out; ask answers the
// server's questions (nil: not interactive).
func (rc *replClient) eval(ctx context.Context, chunk string, line int, jsonOut bool, out io.Writer, ask func(string) (string, error)) error {
	if err := rc.enc.Encode(replRequest{Chunk: chunk, Line: line, JSON: jsonOut, Interactive: ask != nil}); err != nil {
		return fmt.Errorf("the run's REPL socket: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { rc.c.SetReadDeadline(time.Now()) })
	defer stop()
	for {
		line, err := rc.r.ReadBytes('\n')
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				return errors.New("the run ended; its REPL session is closed")
			}
			return fmt.Errorf("the run's REPL socket: %w", err)
		}
		var m replMessage
		if err := json.Unmarshal(line, &m); err != nil {
			return fmt.Errorf("the run's REPL socket: %w", err)
		}
		switch {
		case m.Done:
			if m.Error != "" {
				return errors.New(m.Error)
			}
			return nil
		case m.Confirm != "":
			ans := ""
			if ask != nil {
				if ans, err = ask(m.Confirm); err != nil {
					ans = ""
				}
			}
			if err := rc.enc.Encode(replRequest{Answer: ans}); err != nil {
				return err
			}
		default:
			io.WriteString(out, m.Out)
		}
	}
}
