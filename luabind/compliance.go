package luabind

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// ComplianceVault is what a compliance policy's check(vault) knows about
// one vault, of either account, as AWS describes it now.
type ComplianceVault struct {
	Account   string // "source" or "destination"
	AccountID string
	Name, Arn string
	VaultType string // BACKUP_VAULT or LOGICALLY_AIR_GAPPED_BACKUP_VAULT
	// EncryptionKeyType is AWS's: CUSTOMER_MANAGED_KMS_KEY or
	// AWS_OWNED_KMS_KEY ("" when AWS does not say).
	EncryptionKeyArn, EncryptionKeyType string
	Locked                              bool
	// LockMode is "compliance", "governance" or "none".
	LockMode                           string
	MinRetentionDays, MaxRetentionDays *int64
	LockDate                           *time.Time
	Tags                               map[string]string
	SNSTopicArn                        string
	Events                             []string
	AccessPolicy                       string
	Access                             AccessSummary
	// The migration's two accounts, so that rules need not repeat them.
	SourceAccountID, DestinationAccountID string
	// Proposed: the vault does not exist; it is the destination vault
	// as replication would create it from SourceVault.
	Proposed    bool
	SourceVault string
}

// AccessSummary is what a vault access policy's Allow statements grant,
// worked out by the engine so that policies need not parse IAM JSON
// (engine/vaultpolicy.Summarize; its Access has the same fields, so the
// engine converts one into the other).
type AccessSummary struct {
	Accounts     []string // account ids named by AWS principals (ARNs or ids), sorted
	AnyPrincipal bool     // an Allow to Principal "*" (with or without conditions)
	Services     []string // service principals
	Statements   int      // statements in the document (Allow and Deny)
	Invalid      string   // why the document could not be read ("" when it could)
}

// ComplianceResult is one rule's verdict on one vault.
type ComplianceResult struct {
	Rule     string `json:"rule"`
	Pass     bool   `json:"pass"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	// Severity of a failure: "blocking" (the default) or "warning".
	Severity string `json:"severity"`
	Why      string `json:"why,omitempty"`
}

// Severities a compliance rule may give its failures.
const (
	ComplianceBlocking = "blocking"
	ComplianceWarning  = "warning"
)

// HasCompliance reports whether a compliance module is configured.
func (p *Policies) HasCompliance() bool { return p.cfg.Compliance != "" }

// Compliance runs the compliance policy's check on v and validates what
// it returns. Without a compliance module it returns nil.
func (w *Worker) Compliance(ctx context.Context, v *ComplianceVault) ([]ComplianceResult, error) {
	if w.p.cfg.Compliance == "" {
		return nil, nil
	}
	name := w.p.cfg.Compliance
	rets, perr := w.invoke(ctx, name, "check", func() *lua.LFunction { return w.checkFn }, 1,
		func(L *lua.LState) lua.LValue { return complianceVaultTable(L, v) })
	if perr != nil {
		return nil, perr
	}
	rs, problem := complianceResultsOf(rets[0])
	if problem != "" {
		return nil, &PolicyError{Policy: name, Msg: problem}
	}
	return rs, nil
}

// complianceVaultTable is the vault table check(vault) sees.
func complianceVaultTable(L *lua.LState, v *ComplianceVault) *lua.LTable {
	t := vaultTable(L, &VaultInput{
		Name: v.Name, Arn: v.Arn, VaultType: v.VaultType, EncryptionKeyArn: v.EncryptionKeyArn,
		Locked: v.Locked, MinRetentionDays: v.MinRetentionDays, MaxRetentionDays: v.MaxRetentionDays,
		LockDate: v.LockDate, Tags: v.Tags, SNSTopicArn: v.SNSTopicArn, Events: v.Events, AccessPolicy: v.AccessPolicy,
	})
	set := func(k, s string) {
		if s != "" {
			t.RawSetString(k, lua.LString(s))
		}
	}
	// The check does not read KMS: the key's aliases are unknown here,
	// not absent.
	t.RawSetString("encryption_key_aliases", lua.LNil)
	set("account", v.Account)
	set("account_id", v.AccountID)
	set("encryption_key_type", v.EncryptionKeyType)
	mode := v.LockMode
	if mode == "" {
		mode = "none"
	}
	t.RawSetString("lock_mode", lua.LString(mode))
	acc := L.CreateTable(0, 5)
	acc.RawSetString("accounts", stringList(L, v.Access.Accounts))
	acc.RawSetString("any_principal", lua.LBool(v.Access.AnyPrincipal))
	acc.RawSetString("services", stringList(L, v.Access.Services))
	acc.RawSetString("statements", lua.LNumber(v.Access.Statements))
	if v.Access.Invalid != "" {
		acc.RawSetString("invalid", lua.LString(v.Access.Invalid))
	}
	t.RawSetString("access", acc)
	set("source_account_id", v.SourceAccountID)
	set("destination_account_id", v.DestinationAccountID)
	if v.Proposed {
		t.RawSetString("proposed", lua.LTrue)
		set("source_vault", v.SourceVault)
	}
	return t
}

// complianceResultsOf validates what check returned: a list of
// { rule = "...", pass = true|false, expected = "...", actual = "...",
// severity = "blocking"|"warning", why = "..." }.
func complianceResultsOf(lv lua.LValue) ([]ComplianceResult, string) {
	list, ok := lv.(*lua.LTable)
	if !ok {
		return nil, "check returned " + describe(lv) + `; want a list of results like { { rule = "vault-lock", pass = false, expected = "...", actual = "..." } }`
	}
	n := list.Len()
	if countKeys(list) != n {
		return nil, "check returned a table with named fields; want a list of results (one table per rule)"
	}
	out := make([]ComplianceResult, 0, n)
	seen := map[string]bool{}
	for i := 1; i <= n; i++ {
		item, ok := list.RawGetInt(i).(*lua.LTable)
		if !ok {
			return nil, fmt.Sprintf("check returned %s as result %d; want a table { rule = ..., pass = ... }", describe(list.RawGetInt(i)), i)
		}
		r := ComplianceResult{Severity: ComplianceBlocking}
		var problem string
		item.ForEach(func(k, val lua.LValue) {
			if problem != "" {
				return
			}
			key, ok := k.(lua.LString)
			if !ok {
				problem = fmt.Sprintf("result %d has key %s; want named fields", i, describe(k))
				return
			}
			text := func(dst *string) {
				switch s := val.(type) {
				case lua.LString:
					*dst = string(s)
				case lua.LNumber:
					*dst = s.String()
				default:
					problem = fmt.Sprintf("result %d: %s is %s; want a string", i, key, describe(val))
				}
			}
			switch key {
			case "rule":
				text(&r.Rule)
			case "pass":
				b, ok := val.(lua.LBool)
				if !ok {
					problem = fmt.Sprintf("result %d: pass is %s; want true or false", i, describe(val))
					return
				}
				r.Pass = bool(b)
			case "expected":
				text(&r.Expected)
			case "actual":
				text(&r.Actual)
			case "why":
				text(&r.Why)
			case "severity":
				text(&r.Severity)
				if problem == "" && r.Severity != ComplianceBlocking && r.Severity != ComplianceWarning {
					problem = fmt.Sprintf("result %d: severity %q; want \"blocking\" or \"warning\"", i, r.Severity)
				}
			default:
				problem = fmt.Sprintf("result %d has an unknown field %q (known: rule, pass, expected, actual, severity, why)", i, string(key))
			}
		})
		switch {
		case problem != "":
			return nil, problem
		case strings.TrimSpace(r.Rule) == "":
			return nil, fmt.Sprintf("result %d has no rule name", i)
		case item.RawGetString("pass") == lua.LNil:
			return nil, fmt.Sprintf("result %d (%s) has no pass field; want pass = true or false", i, r.Rule)
		case seen[r.Rule]:
			return nil, fmt.Sprintf("result %d: rule %q is reported twice", i, r.Rule)
		}
		seen[r.Rule] = true
		out = append(out, r)
	}
	return out, ""
}

// ProposedFailure is what a blocking failure of a proposed destination
// vault (one shuffle would create) does: the compliance module's
// on_proposed_failure.
type ProposedFailure string

// The on_proposed_failure settings.
const (
	// BlockVault (the default): the vault is not created and its
	// recovery points wait with the reason; the others go on.
	BlockVault ProposedFailure = "block-vault"
	// StopRun: `shuffle run`'s pre-flight stops with exit 3 before
	// anything is written, and `shuffle check` counts it as blocking.
	StopRun ProposedFailure = "stop-run"
)

// OnProposedFailure is the compliance module's on_proposed_failure
// (BlockVault when it sets none); an error names the file when it is
// something else.
func (w *Worker) OnProposedFailure() (ProposedFailure, error) {
	if w.s == nil {
		if err := w.init(); err != nil {
			return "", err
		}
	}
	switch v := w.onProposed.(type) {
	case nil, *lua.LNilType:
		return BlockVault, nil
	case lua.LString:
		if f := ProposedFailure(v); f == BlockVault || f == StopRun {
			return f, nil
		}
	}
	return "", fmt.Errorf("%s: on_proposed_failure is %s; want \"block-vault\" (the default) or \"stop-run\"",
		filepath.Join(w.p.cfg.Dir, w.p.cfg.Compliance+".lua"), describe(w.onProposed))
}
