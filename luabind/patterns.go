package luabind

import (
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/shuffle-migrate/shuffle/luabind/internal/luapattern"
)

// The pattern functions of the string library, on luapattern: unlike
// gopher-lua's own, a pattern that backtracks for long is stopped by the
// call's time limit, and gsub builds its result in linear time and
// refuses one over MaxStringBytes. Behaviour otherwise follows
// gopher-lua's stringlib.go.

// find runs luapattern.Find, stopping when the call's context is done.
func find(L *lua.LState, pattern, s string, offset, limit int) []*luapattern.MatchData {
	check := func() error { return nil }
	if ctx := L.Context(); ctx != nil {
		check = ctx.Err
	}
	mds, err := luapattern.Find(pattern, []byte(s), offset, limit, check)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	return mds
}

// pushCaptures pushes the captures of md (the whole match if none) and
// returns how many.
func pushCaptures(L *lua.LState, s string, md *luapattern.MatchData, wholeIfNone bool) int {
	if md.CaptureLength() == 2 {
		if !wholeIfNone {
			return 0
		}
		L.Push(lua.LString(s[md.Capture(0):md.Capture(1)]))
		return 1
	}
	for i := 2; i < md.CaptureLength(); i += 2 {
		if md.IsPosCapture(i) {
			L.Push(lua.LNumber(md.Capture(i)))
		} else {
			L.Push(lua.LString(s[md.Capture(i):md.Capture(i+1)]))
		}
	}
	return md.CaptureLength()/2 - 1
}

// startIndex converts Lua's 1-based (or negative) init to a 0-based
// offset.
func startIndex(s string, i int) int {
	if i > 0 {
		return i - 1
	}
	if i < 0 {
		return max(len(s)+i, 0)
	}
	return 0
}

// strFind is string.find(s, pattern [, init [, plain]]).
func strFind(L *lua.LState) int {
	s := L.CheckString(1)
	pattern := L.CheckString(2)
	init := startIndex(s, L.OptInt(3, 1))
	if init > len(s) {
		L.Push(lua.LNil)
		return 1
	}
	if pattern == "" {
		L.Push(lua.LNumber(init + 1))
		L.Push(lua.LNumber(init))
		return 2
	}
	if lua.LVAsBool(L.Get(4)) {
		pos := strings.Index(s[init:], pattern)
		if pos < 0 {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LNumber(init + pos + 1))
		L.Push(lua.LNumber(init + pos + len(pattern)))
		return 2
	}
	mds := find(L, pattern, s, init, 1)
	if len(mds) == 0 {
		L.Push(lua.LNil)
		return 1
	}
	md := mds[0]
	L.Push(lua.LNumber(md.Capture(0) + 1))
	L.Push(lua.LNumber(md.Capture(1)))
	return 2 + pushCaptures(L, s, md, false)
}

// strMatch is string.match(s, pattern [, init]).
func strMatch(L *lua.LState) int {
	s := L.CheckString(1)
	pattern := L.CheckString(2)
	init := startIndex(s, L.OptInt(3, 1))
	if init > len(s) {
		L.Push(lua.LNil)
		return 1
	}
	mds := find(L, pattern, s, init, 1)
	if len(mds) == 0 {
		L.Push(lua.LNil)
		return 1
	}
	return pushCaptures(L, s, mds[0], true)
}

type gmatchState struct {
	s       string
	matches []*luapattern.MatchData
	next    int
}

// strGmatch is string.gmatch(s, pattern): an iterator over the matches.
func strGmatch(L *lua.LState) int {
	s := L.CheckString(1)
	pattern := L.CheckString(2)
	st := &gmatchState{s: s, matches: find(L, pattern, s, 0, -1)}
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if st.next >= len(st.matches) {
			return 0
		}
		md := st.matches[st.next]
		st.next++
		return pushCaptures(L, st.s, md, true)
	}))
	return 1
}

// strGsub is string.gsub(s, pattern, repl [, n]).
func (s *sandbox) strGsub(L *lua.LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	L.CheckTypes(3, lua.LTString, lua.LTNumber, lua.LTTable, lua.LTFunction)
	repl := L.Get(3)
	limit := L.OptInt(4, -1)
	mds := find(L, pattern, str, 0, limit)
	g := &gsub{s: s, L: L, str: str}
	var segs []replSegment
	if rs, ok := repl.(lua.LString); ok || repl.Type() == lua.LTNumber {
		if !ok {
			rs = lua.LString(repl.String())
		}
		segs = parseReplacement(string(rs))
	}
	last := 0
	for _, md := range mds {
		start, end := md.Capture(0), md.Capture(1)
		g.write(str[last:start])
		last = end
		whole := str[start:end]
		switch r := repl.(type) {
		case lua.LString, lua.LNumber:
			g.writeSegments(segs, md, whole)
		case *lua.LTable:
			g.writeValue(L.GetTable(r, g.capture(md, 1)), whole)
		case *lua.LFunction:
			L.Push(r)
			n := pushCaptures(L, str, md, true)
			L.Call(n, 1)
			value := L.Get(-1)
			L.Pop(1)
			g.writeValue(value, whole)
		}
	}
	g.write(str[last:])
	L.Push(lua.LString(g.b.String()))
	L.Push(lua.LNumber(len(mds)))
	return 2
}

// gsub builds the result of one string.gsub call within the sandbox's
// string limit, charging what it writes to the call's memory budget.
type gsub struct {
	s   *sandbox
	L   *lua.LState
	str string // the subject
	b   strings.Builder
}

func (g *gsub) write(part string) {
	if g.b.Len()+len(part) > g.s.limits.MaxStringBytes {
		g.L.RaiseError("string.gsub: result of at least %d bytes is over the %s limit", g.b.Len()+len(part), byteSize(uint64(g.s.limits.MaxStringBytes)))
	}
	g.s.charge(g.L, int64(len(part)))
	g.b.WriteString(part)
}

// capture is capture idx (0: the whole match; 1.. the captures, where 1
// is the whole match when there are none) as Lua sees it.
func (g *gsub) capture(md *luapattern.MatchData, idx int) lua.LValue {
	i := 2 * idx
	if idx == 1 && md.CaptureLength() == 2 {
		i = 0
	}
	if i >= md.CaptureLength() {
		g.L.RaiseError("invalid capture index")
	}
	if md.IsPosCapture(i) {
		return lua.LNumber(md.Capture(i))
	}
	return lua.LString(g.str[md.Capture(i):md.Capture(i+1)])
}

// replSegment is a piece of a string replacement: a literal run, or a
// capture (%0-%9).
type replSegment struct {
	lit     string
	capture int // -1: lit
}

// parseReplacement parses a string replacement once, into literal runs
// and captures.
func parseReplacement(rs string) []replSegment {
	var segs []replSegment
	lit := []byte{}
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		if c == '%' && i+1 < len(rs) {
			i++
			if d := rs[i]; d >= '0' && d <= '9' {
				if len(lit) > 0 {
					segs = append(segs, replSegment{string(lit), -1})
					lit = lit[:0]
				}
				segs = append(segs, replSegment{"", int(d - '0')})
				continue
			}
			c = rs[i]
		}
		lit = append(lit, c)
	}
	if len(lit) > 0 {
		segs = append(segs, replSegment{string(lit), -1})
	}
	return segs
}

// writeSegments writes a string replacement for the match md.
func (g *gsub) writeSegments(segs []replSegment, md *luapattern.MatchData, whole string) {
	for _, sg := range segs {
		switch sg.capture {
		case -1:
			g.write(sg.lit)
		case 0:
			g.write(whole)
		default:
			g.write(g.capture(md, sg.capture).String())
		}
	}
}

// writeValue writes what a table or function replacement gave: nil or
// false keeps the match.
func (g *gsub) writeValue(value lua.LValue, whole string) {
	switch v := value.(type) {
	case *lua.LNilType:
		g.write(whole)
	case lua.LBool:
		if v {
			g.L.RaiseError("invalid replacement value (a boolean)")
		}
		g.write(whole)
	case lua.LString, lua.LNumber:
		g.write(v.String())
	default:
		g.L.RaiseError("invalid replacement value (a %s)", v.Type())
	}
}
