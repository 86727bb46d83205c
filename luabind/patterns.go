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
	var b strings.Builder
	write := func(part string) {
		if b.Len()+len(part) > s.limits.MaxStringBytes {
			L.RaiseError("string.gsub: result of at least %d bytes is over the %s limit", b.Len()+len(part), byteSize(uint64(s.limits.MaxStringBytes)))
		}
		s.charge(L, int64(len(part)))
		b.WriteString(part)
	}
	// capture is capture idx (0: the whole match; 1.. the captures,
	// where 1 is the whole match when there are none) as Lua sees it.
	capture := func(md *luapattern.MatchData, idx int) lua.LValue {
		i := 2 * idx
		if idx == 1 && md.CaptureLength() == 2 {
			i = 0
		}
		if i >= md.CaptureLength() {
			L.RaiseError("invalid capture index")
		}
		if md.IsPosCapture(i) {
			return lua.LNumber(md.Capture(i))
		}
		return lua.LString(str[md.Capture(i):md.Capture(i+1)])
	}
	// A string replacement is parsed once: literal runs, and %0-%9.
	type segment struct {
		lit     string
		capture int // -1: lit
	}
	var segs []segment
	if rs, ok := repl.(lua.LString); ok || repl.Type() == lua.LTNumber {
		if !ok {
			rs = lua.LString(repl.String())
		}
		lit := []byte{}
		for i := 0; i < len(rs); i++ {
			c := rs[i]
			if c == '%' && i+1 < len(rs) {
				i++
				if d := rs[i]; d >= '0' && d <= '9' {
					if len(lit) > 0 {
						segs = append(segs, segment{string(lit), -1})
						lit = lit[:0]
					}
					segs = append(segs, segment{"", int(d - '0')})
					continue
				}
				c = rs[i]
			}
			lit = append(lit, c)
		}
		if len(lit) > 0 {
			segs = append(segs, segment{string(lit), -1})
		}
	}
	last := 0
	for _, md := range mds {
		start, end := md.Capture(0), md.Capture(1)
		write(str[last:start])
		last = end
		whole := str[start:end]
		var value lua.LValue
		switch r := repl.(type) {
		case lua.LString, lua.LNumber:
			for _, sg := range segs {
				switch sg.capture {
				case -1:
					write(sg.lit)
				case 0:
					write(whole)
				default:
					write(capture(md, sg.capture).String())
				}
			}
			continue
		case *lua.LTable:
			value = L.GetTable(r, capture(md, 1))
		case *lua.LFunction:
			L.Push(r)
			n := pushCaptures(L, str, md, true)
			L.Call(n, 1)
			value = L.Get(-1)
			L.Pop(1)
		}
		switch v := value.(type) {
		case *lua.LNilType:
			write(whole)
		case lua.LBool:
			if v {
				L.RaiseError("invalid replacement value (a boolean)")
			}
			write(whole)
		case lua.LString, lua.LNumber:
			write(v.String())
		default:
			L.RaiseError("invalid replacement value (a %s)", v.Type())
		}
	}
	write(str[last:])
	L.Push(lua.LString(b.String()))
	L.Push(lua.LNumber(len(mds)))
	return 2
}
