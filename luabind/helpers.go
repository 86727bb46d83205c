package luabind

import (
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/shuffle-migrate/shuffle/engine/glob"
)

// helpersFuncs is the helpers module: small pure functions for policies
// and scripts. Every Lua signature is in shuffle.d.lua.
var helpersFuncs = map[string]lua.LGFunction{
	"set":          helperSet,
	"has_prefix":   helperHasPrefix,
	"has_suffix":   helperHasSuffix,
	"trim":         helperTrim,
	"lower":        helperLower,
	"upper":        helperUpper,
	"split":        helperSplit,
	"glob":         helperGlob,
	"days_between": helperDaysBetween,
}

func loadHelpers(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), helpersFuncs))
	return 1
}

// helperSet is helpers.set(list) -> table: {[v] = true} for every v in list.
func helperSet(L *lua.LState) int {
	list := L.CheckTable(1)
	set := L.CreateTable(0, list.Len())
	for i := 1; i <= list.Len(); i++ {
		v := list.RawGetInt(i)
		switch v.(type) {
		case lua.LString, lua.LNumber:
		default:
			L.ArgError(1, "list element "+itoa(i)+" is "+describe(v)+"; want a string or number")
		}
		set.RawSet(v, lua.LTrue)
	}
	L.Push(set)
	return 1
}

// helperHasPrefix is helpers.has_prefix(s, prefix) -> boolean.
func helperHasPrefix(L *lua.LState) int {
	L.Push(lua.LBool(strings.HasPrefix(L.CheckString(1), L.CheckString(2))))
	return 1
}

// helperHasSuffix is helpers.has_suffix(s, suffix) -> boolean.
func helperHasSuffix(L *lua.LState) int {
	L.Push(lua.LBool(strings.HasSuffix(L.CheckString(1), L.CheckString(2))))
	return 1
}

// helperTrim is helpers.trim(s) -> string without surrounding whitespace.
func helperTrim(L *lua.LState) int {
	L.Push(lua.LString(strings.TrimSpace(L.CheckString(1))))
	return 1
}

// helperLower is helpers.lower(s) -> string.
func helperLower(L *lua.LState) int {
	L.Push(lua.LString(strings.ToLower(L.CheckString(1))))
	return 1
}

// helperUpper is helpers.upper(s) -> string.
func helperUpper(L *lua.LState) int {
	L.Push(lua.LString(strings.ToUpper(L.CheckString(1))))
	return 1
}

// helperSplit is helpers.split(s, sep) -> list of the parts of s around
// each sep (a plain string, not a pattern).
func helperSplit(L *lua.LState) int {
	s, sep := L.CheckString(1), L.CheckString(2)
	if sep == "" {
		L.ArgError(2, "sep must not be empty")
	}
	// About 64 bytes a part: the string header, its Lua value and
	// its table slot.
	chargeL(L, int64(strings.Count(s, sep)+1)*64)
	parts := strings.Split(s, sep)
	t := L.CreateTable(len(parts), 0)
	for _, p := range parts {
		t.Append(lua.LString(p))
	}
	L.Push(t)
	return 1
}

// helperGlob is helpers.glob(pattern, s) -> boolean: whether s matches
// pattern, where * matches any run of characters (also none) and ?
// matches one character. Every other character matches itself.
func helperGlob(L *lua.LState) int {
	L.Push(lua.LBool(glob.Match(L.CheckString(1), L.CheckString(2), glob.Sensitive)))
	return 1
}

// helperDaysBetween is helpers.days_between(t1, t2) -> integer: the whole
// days from t1 to t2 (negative when t2 is earlier), each an epoch-seconds
// number (rp.created) or an RFC 3339 string (rp.created_iso).
func helperDaysBetween(L *lua.LState) int {
	t1, t2 := checkTime(L, 1), checkTime(L, 2)
	L.Push(lua.LNumber(int64(t2.Sub(t1) / (24 * time.Hour))))
	return 1
}

func checkTime(L *lua.LState, n int) time.Time {
	switch v := L.Get(n).(type) {
	case lua.LNumber:
		sec := float64(v)
		return time.Unix(int64(sec), int64((sec-float64(int64(sec)))*1e9))
	case lua.LString:
		t, err := time.Parse(time.RFC3339, string(v))
		if err != nil {
			L.ArgError(n, "want an RFC 3339 time like 2026-01-15T12:00:00Z, got "+describe(v))
		}
		return t
	default:
		L.ArgError(n, "want epoch seconds or an RFC 3339 string, got "+describe(v))
	}
	return time.Time{}
}

func itoa(i int) string { return lua.LNumber(i).String() }
