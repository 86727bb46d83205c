package luabind

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// SyntaxError is Lua source that does not compile.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

// Error gives `file:line: msg`.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// compile parses and compiles src. chunk names the source in runtime
// errors ("apmid.lua:12: ..."); file names it in a *SyntaxError.
func compile(src []byte, chunk, file string) (*lua.FunctionProto, error) {
	stmts, err := parse.Parse(bytes.NewReader(src), chunk)
	if err != nil {
		var pe *parse.Error
		if errors.As(err, &pe) {
			line, msg := pe.Pos.Line, strings.TrimSpace(pe.Message)
			switch {
			case line == parse.EOF:
				line = lineCount(src)
				msg += " at end of file"
			case pe.Pos.Column == 0 && line > 1:
				// The scanner has just read a newline: the error is on
				// the line it ended.
				line--
			}
			if tok, _, _ := strings.Cut(pe.Token, "\n"); tok != "" && pe.Pos.Line != parse.EOF {
				if len(tok) > 40 {
					tok = tok[:40] + "..."
				}
				msg += fmt.Sprintf(" near '%s'", tok)
			}
			return nil, &SyntaxError{File: file, Line: line, Msg: msg}
		}
		return nil, &SyntaxError{File: file, Line: 1, Msg: strings.TrimSpace(err.Error())}
	}
	proto, err := lua.Compile(stmts, chunk)
	if err != nil {
		var ce *lua.CompileError
		if errors.As(err, &ce) {
			return nil, &SyntaxError{File: file, Line: ce.Line, Msg: ce.Message}
		}
		return nil, &SyntaxError{File: file, Line: 1, Msg: err.Error()}
	}
	return proto, nil
}

// lineCount is the number of the last line of src.
func lineCount(src []byte) int {
	n := bytes.Count(src, []byte("\n"))
	if len(src) > 0 && src[len(src)-1] != '\n' {
		n++
	}
	return max(n, 1)
}
