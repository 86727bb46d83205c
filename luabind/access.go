package luabind

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"

	lua "github.com/yuin/gopher-lua"
)

// The access translation a vaults module may control: its optional
// access_statement(statement, ctx) decides, per statement of a source
// vault's access policy, what the destination vault shuffle creates
// gets (docs/lua-api.md). Without it the engine's default applies.

// AccessInput is one statement of a source vault's access policy, as
// access_statement(statement, ctx) sees it.
type AccessInput struct {
	Vault *VaultInput // the source vault, as map saw it
	// Statement is the source statement as decoded from JSON (numbers as
	// json.Number); Translated is what "keep" writes (principals and
	// resources moved to the destination), nil when it cannot be moved.
	Statement, Translated map[string]any
	Index                 int    // 1-based position in the source policy
	Name                  string // Sid, or "statement N"
	// Default is what shuffle does without the policy ("keep" or
	// "drop"), and DefaultReason why it drops.
	Default, DefaultReason                string
	DestinationName, DestinationArn       string
	SourceAccountID, DestinationAccountID string
}

// AccessVerdict is what access_statement decided.
type AccessVerdict string

// The verdicts of an AccessAnswer.
const (
	AccessDefault AccessVerdict = ""        // it returned nil: the default applies
	AccessKeep    AccessVerdict = "keep"    // write the translated statement
	AccessDrop    AccessVerdict = "drop"    // write nothing
	AccessRewrite AccessVerdict = "rewrite" // write Statement instead
)

// AccessAnswer is access_statement's decision on one statement.
type AccessAnswer struct {
	Verdict   AccessVerdict
	Statement map[string]any // the rewritten statement (AccessRewrite)
	Reason    string         // the optional second return value
}

// HasAccessRule reports whether the vaults module defines
// access_statement.
func (w *Worker) HasAccessRule() bool {
	if w.s == nil {
		if err := w.init(); err != nil {
			return false
		}
	}
	return w.accessFn != nil
}

// VaultsFile is the vaults module's file, e.g. policies/vaults.lua.
func (p *Policies) VaultsFile() string {
	return filepath.Join(p.cfg.Dir, p.cfg.Vaults+".lua")
}

// accessFunc is module's access_statement: nil when it has none, an
// error when it is something else than a function.
func accessFunc(dir, module string, mod *lua.LTable) (*lua.LFunction, error) {
	switch v := mod.RawGetString("access_statement").(type) {
	case *lua.LNilType:
		return nil, nil
	case *lua.LFunction:
		return v, nil
	default:
		return nil, fmt.Errorf("%s: access_statement is %s; want a function(statement, ctx) returning \"keep\", \"drop\" or a statement table", filepath.Join(dir, module+".lua"), describe(v))
	}
}

// AccessStatement runs the vaults module's access_statement on one
// statement. Without it the answer is AccessDefault. An answer that is
// not a decision is a *PolicyError naming the file, the vault and the
// statement.
func (w *Worker) AccessStatement(ctx context.Context, in *AccessInput) (AccessAnswer, error) {
	if !w.HasAccessRule() {
		return AccessAnswer{}, nil
	}
	name := w.p.cfg.Vaults
	where := fmt.Sprintf("%s: access_statement for vault %s, statement %s", w.p.VaultsFile(), in.Vault.Name, in.Name)
	rets, perr := w.invoke(ctx, name, "access_statement", func() *lua.LFunction { return w.accessFn }, 2,
		func(L *lua.LState) lua.LValue { return jsonToLua(L, in.Statement) },
		func(L *lua.LState) lua.LValue { return accessCtx(L, in) })
	if perr != nil {
		perr.Msg = where + ": " + perr.Msg
		return AccessAnswer{}, perr
	}
	a, problem := accessAnswerOf(rets[0], rets[1], in)
	if problem != "" {
		return AccessAnswer{}, &PolicyError{Policy: name, Msg: where + " " + problem}
	}
	return a, nil
}

// accessAnswerOf validates what access_statement returned.
func accessAnswerOf(v, reason lua.LValue, in *AccessInput) (AccessAnswer, string) {
	var a AccessAnswer
	switch r := reason.(type) {
	case *lua.LNilType:
	case lua.LString:
		a.Reason = string(r)
	default:
		return a, "returned " + describe(reason) + " as its reason; want a string"
	}
	switch x := v.(type) {
	case *lua.LNilType:
		a.Verdict = AccessDefault
	case lua.LString:
		switch AccessVerdict(x) {
		case AccessKeep:
			if in.Translated == nil {
				return a, fmt.Sprintf("returned \"keep\", but the statement cannot be moved to the destination (%s); return \"drop\" or a rewritten statement", in.DefaultReason)
			}
			a.Verdict = AccessKeep
		case AccessDrop:
			a.Verdict = AccessDrop
		default:
			return a, fmt.Sprintf("returned %q; want \"keep\", \"drop\", a rewritten statement table, or nil for the default", string(x))
		}
	case *lua.LTable:
		st, ok := luaToJSON(x).(map[string]any)
		if !ok {
			return a, "returned a list; want a statement table like { Effect = \"Allow\", Principal = { AWS = \"...\" }, Action = \"...\", Resource = \"*\" }"
		}
		a.Verdict, a.Statement = AccessRewrite, st
	default:
		return a, "returned " + describe(v) + "; want \"keep\", \"drop\", a rewritten statement table, or nil for the default"
	}
	return a, ""
}

// accessCtx is the ctx table access_statement sees.
func accessCtx(L *lua.LState, in *AccessInput) *lua.LTable {
	t := L.CreateTable(0, 12)
	t.RawSetString("vault", vaultTable(L, in.Vault))
	t.RawSetString("index", lua.LNumber(in.Index))
	t.RawSetString("name", lua.LString(in.Name))
	if sid, ok := in.Statement["Sid"].(string); ok {
		t.RawSetString("sid", lua.LString(sid))
	}
	t.RawSetString("default", lua.LString(in.Default))
	if in.DefaultReason != "" {
		t.RawSetString("default_reason", lua.LString(in.DefaultReason))
	}
	if in.Translated != nil {
		t.RawSetString("translated", jsonToLua(L, in.Translated))
	}
	t.RawSetString("destination", lua.LString(in.DestinationName))
	t.RawSetString("destination_arn", lua.LString(in.DestinationArn))
	t.RawSetString("source_account_id", lua.LString(in.SourceAccountID))
	t.RawSetString("destination_account_id", lua.LString(in.DestinationAccountID))
	return t
}

// jsonToLua converts a decoded JSON value to Lua: objects to tables with
// string keys, arrays to lists.
func jsonToLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t := L.CreateTable(0, len(x))
		for _, k := range keys {
			t.RawSetString(k, jsonToLua(L, x[k]))
		}
		return t
	case []any:
		t := L.CreateTable(len(x), 0)
		for _, e := range x {
			t.Append(jsonToLua(L, e))
		}
		return t
	case string:
		return lua.LString(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return lua.LString(string(x))
		}
		return lua.LNumber(f)
	case float64:
		return lua.LNumber(x)
	case bool:
		return lua.LBool(x)
	}
	return lua.LNil
}

// luaToJSON converts a Lua value to what encoding/json writes: a table
// with only the keys 1..n is a list, any other table an object (its
// non-string keys written as strings).
func luaToJSON(v lua.LValue) any {
	switch x := v.(type) {
	case *lua.LTable:
		n := x.Len()
		if n > 0 && countKeys(x) == n {
			out := make([]any, 0, n)
			for i := 1; i <= n; i++ {
				out = append(out, luaToJSON(x.RawGetInt(i)))
			}
			return out
		}
		out := map[string]any{}
		x.ForEach(func(k, e lua.LValue) { out[k.String()] = luaToJSON(e) })
		return out
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return json.Number(x.String())
	case lua.LBool:
		return bool(x)
	}
	return nil
}
