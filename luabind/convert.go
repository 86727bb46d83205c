package luabind

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// rpView is the rp table of one Lua state. Building a fresh table of
// some 20 fields (and its metadata table) for every recovery point costs
// more than the policy itself, so a state keeps one set of data tables
// and refills them: once their keys exist, that is a few map writes.
// Lua sees read-only proxies of them: writes fail, and pairs works
// through __pairs. The same rp table is thus reused by every call of the
// state; a policy must not keep it past its call.
type rpView struct {
	rp, rpData        *lua.LTable
	md, mdData        *lua.LTable
	blank, blankData  *lua.LTable
	mdKeys, blankKeys []string
}

// rpFields are the fields of rp that can be absent (nil).
var rpFields = []string{"arn", "vault", "resource_arn", "resource_type", "resource_name", "status",
	"created", "created_iso", "delete_after_days", "cold_after_days", "encryption_key_arn", "apmid", "conflict"}

func newRPView(s *sandbox) *rpView {
	v := &rpView{rpData: s.L.NewTable(), mdData: s.L.NewTable(), blankData: s.L.NewTable()}
	v.rp = s.readOnly("rp", v.rpData)
	v.md = s.readOnly("rp.metadata", v.mdData)
	v.blank = s.readOnly("rp.blank", v.blankData)
	v.rpData.RawSetString("metadata", v.md)
	v.rpData.RawSetString("blank", v.blank)
	return v
}

// rp returns the rp table a decide or tags policy sees (docs/lua-api.md)
// for in; it is valid until the next call.
func (s *sandbox) rp(in *RPInput) *lua.LTable {
	if s.rpView == nil {
		s.rpView = newRPView(s)
	}
	v := s.rpView
	t := v.rpData
	for _, k := range rpFields {
		t.RawSetString(k, lua.LNil)
	}
	set := func(k, val string) {
		if val != "" {
			t.RawSetString(k, lua.LString(val))
		}
	}
	set("arn", in.Arn)
	set("vault", in.Vault)
	set("resource_arn", in.ResourceArn)
	set("resource_type", in.ResourceType)
	set("resource_name", in.ResourceName)
	set("status", in.Status)
	if !in.CreationDate.IsZero() {
		t.RawSetString("created", lua.LNumber(in.CreationDate.Unix()))
		t.RawSetString("created_iso", lua.LString(in.CreationDate.UTC().Format(time.RFC3339)))
	}
	t.RawSetString("size", lua.LNumber(in.SizeBytes))
	if in.DeleteAfterDays != nil {
		t.RawSetString("delete_after_days", lua.LNumber(*in.DeleteAfterDays))
	}
	if in.ColdAfterDays != nil {
		t.RawSetString("cold_after_days", lua.LNumber(*in.ColdAfterDays))
	}
	set("encryption_key_arn", in.EncryptionKeyArn)
	t.RawSetString("has_metadata", lua.LBool(in.HasMetadata))

	for _, k := range v.mdKeys {
		v.mdData.RawSetString(k, lua.LNil)
	}
	v.mdKeys = v.mdKeys[:0]
	for k, val := range in.Metadata {
		k = strings.ToLower(k)
		v.mdData.RawSetString(k, lua.LString(val))
		v.mdKeys = append(v.mdKeys, k)
	}
	if apmid, ok := v.mdData.RawGetString("apmid").(lua.LString); ok {
		t.RawSetString("apmid", apmid)
	}
	for _, k := range v.blankKeys {
		v.blankData.RawSetString(k, lua.LNil)
	}
	v.blankKeys = v.blankKeys[:0]
	for k, b := range in.Blank {
		if b {
			k = strings.ToLower(k)
			v.blankData.RawSetString(k, lua.LTrue)
			v.blankKeys = append(v.blankKeys, k)
		}
	}
	if c := in.Conflict; c != nil {
		L := s.L
		ct := L.CreateTable(0, 3)
		ct.RawSetString("field", lua.LString(strings.ToLower(c.Field)))
		ct.RawSetString("values", stringList(L, c.Values))
		lines := L.CreateTable(len(c.Lines), 0)
		for _, n := range c.Lines {
			lines.Append(lua.LNumber(n))
		}
		ct.RawSetString("lines", lines)
		t.RawSetString("conflict", ct)
	}
	return v.rp
}

// readOnly returns an empty table that reads through to data, refuses
// writes and iterates data with pairs.
func (s *sandbox) readOnly(name string, data *lua.LTable) *lua.LTable {
	L := s.L
	mt := L.NewTable()
	mt.RawSetString("__index", data)
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s is read-only (copy what you need into a local table)", name)
		return 0
	}))
	mt.RawSetString("__pairs", L.NewFunction(func(L *lua.LState) int {
		L.Push(L.GetGlobal("next"))
		L.Push(data)
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
	t := L.CreateTable(0, 14)
	set := func(k, s string) {
		if s != "" {
			t.RawSetString(k, lua.LString(s))
		}
	}
	set("name", v.Name)
	set("arn", v.Arn)
	set("vault_type", v.VaultType)
	set("encryption_key_arn", v.EncryptionKeyArn)
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
