package luabind

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// fieldReader reads the named fields of a Lua table, stopping at the
// first problem, and reports fields it was not asked for.
type fieldReader struct {
	t     *lua.LTable
	fn    string
	path  string // prefix of field names, e.g. "source."
	asked map[string]bool
	err   *scriptconfig.FieldError
}

func readFields(t *lua.LTable, fn, path string) *fieldReader {
	return &fieldReader{t: t, fn: fn, path: path, asked: map[string]bool{}}
}

func (r *fieldReader) fail(name, format string, args ...any) {
	if r.err == nil {
		r.err = &scriptconfig.FieldError{Func: r.fn, Field: r.path + name, Msg: fmt.Sprintf(format, args...)}
	}
}

func (r *fieldReader) get(name string) lua.LValue {
	r.asked[name] = true
	if r.err != nil || r.t == nil {
		return lua.LNil
	}
	return r.t.RawGetString(name)
}

func (r *fieldReader) str(name string, required bool) string {
	switch v := r.get(name).(type) {
	case lua.LString:
		if required && strings.TrimSpace(string(v)) == "" {
			r.fail(name, "must not be empty")
		}
		return string(v)
	case *lua.LNilType:
		if required {
			r.fail(name, "is required")
		}
	default:
		r.fail(name, "must be a string, got %s", describe(v))
	}
	return ""
}

func (r *fieldReader) boolean(name string) bool {
	switch v := r.get(name).(type) {
	case lua.LBool:
		return bool(v)
	case *lua.LNilType:
	default:
		r.fail(name, "must be true or false, got %s", describe(v))
	}
	return false
}

func (r *fieldReader) int64p(name string) *int64 {
	switch v := r.get(name).(type) {
	case lua.LNumber:
		f := float64(v)
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			r.fail(name, "must be a whole number, got %s", v)
			return nil
		}
		n := int64(f)
		return &n
	case *lua.LNilType:
	default:
		r.fail(name, "must be a number, got %s", describe(v))
	}
	return nil
}

// time reads epoch seconds or an RFC 3339 string.
func (r *fieldReader) time(name string) time.Time {
	switch v := r.get(name).(type) {
	case lua.LNumber:
		return time.Unix(int64(v), 0).UTC()
	case lua.LString:
		t, err := time.Parse(time.RFC3339, string(v))
		if err != nil {
			r.fail(name, "must be epoch seconds or an RFC 3339 time like 2026-01-15T12:00:00Z, got %s", describe(v))
		}
		return t
	case *lua.LNilType:
	default:
		r.fail(name, "must be epoch seconds or an RFC 3339 string, got %s", describe(v))
	}
	return time.Time{}
}

func (r *fieldReader) table(name string, required bool) *lua.LTable {
	switch v := r.get(name).(type) {
	case *lua.LTable:
		return v
	case *lua.LNilType:
		if required {
			r.fail(name, "is required")
		}
	default:
		r.fail(name, "must be a table, got %s", describe(v))
	}
	return nil
}

// list reads a list of strings (or of numbers, with num).
func (r *fieldReader) strList(name string) []string {
	t := r.table(name, false)
	if t == nil {
		return nil
	}
	var out []string
	n := t.Len()
	for i := 1; i <= n; i++ {
		s, ok := t.RawGetInt(i).(lua.LString)
		if !ok {
			r.fail(fmt.Sprintf("%s[%d]", name, i), "must be a string, got %s", describe(t.RawGetInt(i)))
			return nil
		}
		out = append(out, string(s))
	}
	if extra := countKeys(t) - n; extra > 0 {
		r.fail(name, "must be a list, got a table with %d named field(s)", extra)
	}
	return out
}

func (r *fieldReader) intList(name string) []int {
	t := r.table(name, false)
	if t == nil {
		return nil
	}
	var out []int
	for i := 1; i <= t.Len(); i++ {
		n, ok := t.RawGetInt(i).(lua.LNumber)
		if !ok {
			r.fail(fmt.Sprintf("%s[%d]", name, i), "must be a number, got %s", describe(t.RawGetInt(i)))
			return nil
		}
		out = append(out, int(n))
	}
	return out
}

func (r *fieldReader) strMap(name string) map[string]string {
	t := r.table(name, false)
	if t == nil {
		return nil
	}
	m := map[string]string{}
	t.ForEach(func(k, v lua.LValue) {
		ks, ok := k.(lua.LString)
		if !ok {
			r.fail(name, "must map strings to strings, got the key %s", describe(k))
			return
		}
		vs, ok := v.(lua.LString)
		if !ok {
			r.fail(name+"."+string(ks), "must be a string, got %s", describe(v))
			return
		}
		m[string(ks)] = string(vs)
	})
	return m
}

func (r *fieldReader) boolMap(name string) map[string]bool {
	t := r.table(name, false)
	if t == nil {
		return nil
	}
	m := map[string]bool{}
	t.ForEach(func(k, v lua.LValue) {
		ks, ok := k.(lua.LString)
		if !ok {
			r.fail(name, "must map field names to true, got the key %s", describe(k))
			return
		}
		if v != lua.LFalse {
			m[string(ks)] = lua.LVAsBool(v)
		}
	})
	return m
}

// done reports the first problem, or a field of the table nobody asked
// for (most likely a typo).
func (r *fieldReader) done() *scriptconfig.FieldError {
	if r.err != nil || r.t == nil {
		return r.err
	}
	var unknown []string
	r.t.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); !ok || !r.asked[string(s)] {
			unknown = append(unknown, k.String())
		}
	})
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := make([]string, 0, len(r.asked))
		for k := range r.asked {
			known = append(known, k)
		}
		sort.Strings(known)
		r.fail(unknown[0], "is not a known field (known: %s)", strings.Join(known, ", "))
	}
	return r.err
}

func countKeys(t *lua.LTable) int {
	n := 0
	t.ForEach(func(_, _ lua.LValue) { n++ })
	return n
}
