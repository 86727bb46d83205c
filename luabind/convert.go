package luabind

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// rpView is the rp table of one Lua state. Filling a table of some 20
// fields (and its metadata table) for every recovery point cost more
// than the policy itself, though a policy reads only a few of them. So
// a state keeps one set of read-only proxies whose __index reads the
// current recovery point's fields from Go when the policy asks for them;
// pairs builds a table of them all. The same rp table is thus reused by
// every call of the state; a policy must not keep it past its call.
type rpView struct {
	rp, md, blank *lua.LTable

	in       *RPInput
	metadata map[string]string // in.Metadata by lower-cased name
	blanks   map[string]bool   // in.Blank by lower-cased name
	conflict *lua.LTable       // built on first read, for this call
}

// rpFields are the fields of rp, in the order pairs returns them.
var rpFields = []string{"arn", "vault", "resource_arn", "resource_type", "resource_name", "status",
	"created", "created_iso", "size", "delete_after_days", "cold_after_days", "encryption_key_arn",
	"has_metadata", "apmid", "metadata", "blank", "conflict"}

func newRPView(s *sandbox) *rpView {
	v := &rpView{}
	v.rp = s.lazyReadOnly("rp", v.field, v.fields)
	v.md = s.lazyReadOnly("rp.metadata", v.metadataField, v.metadataFields)
	v.blank = s.lazyReadOnly("rp.blank", v.blankField, v.blankFields)
	return v
}

// rp returns the rp table a decide or tags policy sees (docs/lua-api.md)
// for in; it is valid until the next call.
func (s *sandbox) rp(in *RPInput) *lua.LTable {
	if s.rpView == nil {
		s.rpView = newRPView(s)
	}
	v := s.rpView
	v.in, v.conflict = in, nil
	v.metadata = lowerKeys(in.Metadata)
	v.blanks = lowerKeys(in.Blank)
	return v.rp
}

// lowerKeys returns m, or a copy of it with lower-cased keys when some
// key has an upper-case letter (metadata keys normally arrive lower-cased).
func lowerKeys[V any](m map[string]V) map[string]V {
	for k := range m {
		if strings.ToLower(k) != k {
			out := make(map[string]V, len(m))
			for k, val := range m {
				out[strings.ToLower(k)] = val
			}
			return out
		}
	}
	return m
}

func optString(s string) lua.LValue {
	if s == "" {
		return lua.LNil
	}
	return lua.LString(s)
}

func optNumber(n *int64) lua.LValue {
	if n == nil {
		return lua.LNil
	}
	return lua.LNumber(*n)
}

// field is rp[name].
func (v *rpView) field(L *lua.LState, name string) lua.LValue {
	in := v.in
	switch name {
	case "arn":
		return optString(in.Arn)
	case "vault":
		return optString(in.Vault)
	case "resource_arn":
		return optString(in.ResourceArn)
	case "resource_type":
		return optString(in.ResourceType)
	case "resource_name":
		return optString(in.ResourceName)
	case "status":
		return optString(in.Status)
	case "created":
		if in.CreationDate.IsZero() {
			return lua.LNil
		}
		return lua.LNumber(in.CreationDate.Unix())
	case "created_iso":
		if in.CreationDate.IsZero() {
			return lua.LNil
		}
		return lua.LString(in.CreationDate.UTC().Format(time.RFC3339))
	case "size":
		return lua.LNumber(in.SizeBytes)
	case "delete_after_days":
		return optNumber(in.DeleteAfterDays)
	case "cold_after_days":
		return optNumber(in.ColdAfterDays)
	case "encryption_key_arn":
		return optString(in.EncryptionKeyArn)
	case "has_metadata":
		return lua.LBool(in.HasMetadata)
	case "apmid":
		if a, ok := v.metadata["apmid"]; ok {
			return lua.LString(a)
		}
		return lua.LNil
	case "metadata":
		return v.md
	case "blank":
		return v.blank
	case "conflict":
		c := in.Conflict
		if c == nil {
			return lua.LNil
		}
		if v.conflict == nil {
			ct := L.CreateTable(0, 3)
			ct.RawSetString("field", lua.LString(strings.ToLower(c.Field)))
			ct.RawSetString("values", stringList(L, c.Values))
			lines := L.CreateTable(len(c.Lines), 0)
			for _, n := range c.Lines {
				lines.Append(lua.LNumber(n))
			}
			ct.RawSetString("lines", lines)
			v.conflict = ct
		}
		return v.conflict
	}
	return lua.LNil
}

// fields is a table of every field of rp, for pairs.
func (v *rpView) fields(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, len(rpFields))
	for _, k := range rpFields {
		if val := v.field(L, k); val != lua.LNil {
			t.RawSetString(k, val)
		}
	}
	return t
}

func (v *rpView) metadataField(L *lua.LState, name string) lua.LValue {
	if val, ok := v.metadata[name]; ok {
		return lua.LString(val)
	}
	return lua.LNil
}

func (v *rpView) metadataFields(L *lua.LState) *lua.LTable {
	return stringMap(L, v.metadata)
}

func (v *rpView) blankField(L *lua.LState, name string) lua.LValue {
	if v.blanks[name] {
		return lua.LTrue
	}
	return lua.LNil
}

func (v *rpView) blankFields(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, len(v.blanks))
	for k, b := range v.blanks {
		if b {
			t.RawSetString(k, lua.LTrue)
		}
	}
	return t
}

// lazyReadOnly returns an empty table whose fields are get(name), read
// when indexed; it refuses writes and iterates all() with pairs.
func (s *sandbox) lazyReadOnly(name string, get func(L *lua.LState, name string) lua.LValue, all func(L *lua.LState) *lua.LTable) *lua.LTable {
	L := s.L
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		if k, ok := L.Get(2).(lua.LString); ok {
			L.Push(get(L, string(k)))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	}))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s is read-only (copy what you need into a local table)", name)
		return 0
	}))
	mt.RawSetString("__pairs", L.NewFunction(func(L *lua.LState) int {
		L.Push(L.GetGlobal("next"))
		L.Push(all(L))
		L.Push(lua.LNil)
		return 3
	}))
	mt.RawSetString("__metatable", lua.LString("read-only"))
	proxy := L.NewTable()
	L.SetMetatable(proxy, mt)
	return proxy
}

// vaultTable is the vault table a vaults policy's map sees.
func vaultTable(L *lua.LState, v *VaultInput) *lua.LTable {
	t := L.CreateTable(0, 16)
	set := func(k, s string) {
		if s != "" {
			t.RawSetString(k, lua.LString(s))
		}
	}
	set("name", v.Name)
	set("arn", v.Arn)
	set("vault_type", v.VaultType)
	set("encryption_key_arn", v.EncryptionKeyArn)
	set("encryption_key_alias", v.EncryptionKeyAlias)
	t.RawSetString("encryption_key_aliases", stringList(L, v.EncryptionKeyAliases))
	t.RawSetString("locked", lua.LBool(v.Locked))
	if v.MinRetentionDays != nil {
		t.RawSetString("min_retention_days", lua.LNumber(*v.MinRetentionDays))
	}
	if v.MaxRetentionDays != nil {
		t.RawSetString("max_retention_days", lua.LNumber(*v.MaxRetentionDays))
	}
	if v.LockDate != nil {
		t.RawSetString("lock_date", lua.LNumber(v.LockDate.Unix()))
		t.RawSetString("lock_date_iso", lua.LString(v.LockDate.UTC().Format(time.RFC3339)))
	}
	t.RawSetString("tags", stringMap(L, v.Tags))
	set("sns_topic_arn", v.SNSTopicArn)
	t.RawSetString("events", stringList(L, v.Events))
	set("access_policy", v.AccessPolicy)
	return t
}

func stringList(L *lua.LState, ss []string) *lua.LTable {
	t := L.CreateTable(len(ss), 0)
	for _, s := range ss {
		t.Append(lua.LString(s))
	}
	return t
}

func stringMap(L *lua.LState, m map[string]string) *lua.LTable {
	t := L.CreateTable(0, len(m))
	for k, v := range m {
		t.RawSetString(k, lua.LString(v))
	}
	return t
}

// toLua converts a host's value (nil, bools, numbers, strings,
// time.Time, and slices and string-keyed maps of them) to Lua.
func toLua(L *lua.LState, v any) (lua.LValue, error) {
	switch v := v.(type) {
	case nil:
		return lua.LNil, nil
	case lua.LValue:
		return v, nil
	case string:
		return lua.LString(v), nil
	case bool:
		return lua.LBool(v), nil
	case time.Time:
		return lua.LString(v.UTC().Format(time.RFC3339)), nil
	case time.Duration:
		return lua.LNumber(v.Seconds()), nil
	case fmt.Stringer:
		return lua.LString(v.String()), nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return lua.LNumber(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return lua.LNumber(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return lua.LNumber(rv.Float()), nil
	case reflect.String:
		return lua.LString(rv.String()), nil
	case reflect.Bool:
		return lua.LBool(rv.Bool()), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return lua.LNil, nil
		}
		return toLua(L, rv.Elem().Interface())
	case reflect.Slice, reflect.Array:
		t := L.CreateTable(rv.Len(), 0)
		for i := 0; i < rv.Len(); i++ {
			e, err := toLua(L, rv.Index(i).Interface())
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i+1, err)
			}
			t.Append(e)
		}
		return t, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("unsupported map key type %s", rv.Type().Key())
		}
		t := L.CreateTable(0, rv.Len())
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			e, err := toLua(L, rv.MapIndex(k).Interface())
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k.String(), err)
			}
			t.RawSetString(k.String(), e)
		}
		return t, nil
	}
	return nil, fmt.Errorf("unsupported value of type %T", v)
}
