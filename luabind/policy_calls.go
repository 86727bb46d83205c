package luabind

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The policy functions a Worker calls (decide, map, tags) and how their
// results are read into Go values.

// Decide runs the decide policies in order on rp. The first exclude
// stops the run; a failing policy excludes rp with Failed set. A
// decision made while ctx is cancelled fails: callers should check
// ctx.Err() before recording it.
func (w *Worker) Decide(ctx context.Context, rp *RPInput) Decision {
	var t *lua.LTable
	arg := func(L *lua.LState) lua.LValue {
		if t == nil {
			t = w.s.rp(rp)
		}
		return t
	}
	var d Decision
	for i, name := range w.p.cfg.Decide {
		rets, perr := w.invoke(ctx, name, "decide", func() *lua.LFunction { return w.decide[i] }, 2, arg)
		if perr != nil {
			d := Decision{Reason: capReason(perr.Error()), Policy: name, Failed: true}
			var be *BudgetError
			if errors.As(perr.Err, &be) {
				d.Budget = be.Budget
			}
			return d
		}
		include, reason, problem := decisionOf(rets[0], rets[1])
		prio, pproblem := priorityOf(rets[0])
		if problem == "" {
			problem = pproblem
		}
		if problem != "" {
			return Decision{Reason: capReason((&PolicyError{Policy: name, Msg: problem}).Error()), Policy: name, Failed: true}
		}
		if prio == 0 {
			prio = d.Priority
		}
		d = Decision{Include: include, Reason: capReason(reason), Policy: name, Priority: prio}
		if !include {
			return d
		}
	}
	return d
}

func capReason(s string) string {
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason - len("...")
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "..."
}

// decisionOf validates what decide returned: "include"|"exclude" and a
// reason, or a table {decision = ..., reason = ...}. problem says what
// is wrong with anything else.
func decisionOf(first, second lua.LValue) (include bool, reason, problem string) {
	word, why := first, second
	if t, ok := first.(*lua.LTable); ok {
		word, why = t.RawGetString("decision"), t.RawGetString("reason")
		if word == lua.LNil {
			return false, "", `decide returned a table without a decision; want { decision = "include" or "exclude", reason = "..." }`
		}
	}
	switch word {
	case lua.LString("include"):
		include = true
	case lua.LString("exclude"):
	case lua.LNil:
		return false, "", `decide returned nil; want "include" or "exclude" and a reason`
	default:
		return false, "", "decide returned " + describe(word) + `; want "include" or "exclude" and a reason`
	}
	r, ok := why.(lua.LString)
	switch {
	case why == lua.LNil:
		return false, "", fmt.Sprintf("decide returned %q without a reason", string(word.(lua.LString)))
	case !ok:
		return false, "", fmt.Sprintf("decide returned %q with %s as the reason; want a string", string(word.(lua.LString)), describe(why))
	case strings.TrimSpace(string(r)) == "":
		return false, "", fmt.Sprintf("decide returned %q with an empty reason", string(word.(lua.LString)))
	}
	return include, string(r), ""
}

// MaxPriority bounds the priority a decision may ask for, either way.
const MaxPriority = 1000000

// priorityOf reads the priority a table decision asks for ({decision =
// "include", reason = "...", priority = 10}); 0 when it has none.
func priorityOf(first lua.LValue) (int, string) {
	t, ok := first.(*lua.LTable)
	if !ok {
		return 0, ""
	}
	v := t.RawGetString("priority")
	if v == lua.LNil {
		return 0, ""
	}
	n, ok := v.(lua.LNumber)
	if !ok || float64(n) != float64(int64(n)) || n > MaxPriority || n < -MaxPriority {
		return 0, fmt.Sprintf("decide returned priority %s; want a whole number from %d to %d (higher is copied sooner)", describe(v), -MaxPriority, MaxPriority)
	}
	return int(n), ""
}

// MapVault runs the vaults policy's map on v. Without a vaults policy
// the mapping is like-for-like: the same name and tags, no key mapped.
func (w *Worker) MapVault(ctx context.Context, v *VaultInput) (VaultMapping, error) {
	if w.p.cfg.Vaults == "" {
		return VaultMapping{Name: v.Name, Tags: cloneTags(v.Tags)}, nil
	}
	name := w.p.cfg.Vaults
	rets, perr := w.invoke(ctx, name, "map", func() *lua.LFunction { return w.mapFn }, 1,
		func(L *lua.LState) lua.LValue { return vaultTable(L, v) })
	if perr != nil {
		return VaultMapping{}, perr
	}
	m, problem := mappingOf(rets[0], v)
	if problem != "" {
		return VaultMapping{}, &PolicyError{Policy: name, Msg: problem}
	}
	return m, nil
}

var (
	vaultNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{2,50}$`)
	kmsArnRe    = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/.+$`)
	aliasNameRe = regexp.MustCompile(`^alias/[A-Za-z0-9/_-]{1,250}$`)
	snsArnRe    = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:.+$`)
)

// mappingOf validates what map returned.
func mappingOf(lv lua.LValue, v *VaultInput) (VaultMapping, string) {
	t, ok := lv.(*lua.LTable)
	if !ok {
		return VaultMapping{}, "map returned " + describe(lv) + "; want a table like { name = vault.name }"
	}
	m := VaultMapping{Name: v.Name, Tags: cloneTags(v.Tags)}
	var problem string
	t.ForEach(func(k, val lua.LValue) {
		if problem != "" {
			return
		}
		key, ok := k.(lua.LString)
		if !ok {
			problem = "map returned a table with key " + describe(k) + "; want named fields"
			return
		}
		str := func(dst *string) {
			if s, ok := val.(lua.LString); ok {
				*dst = string(s)
			} else {
				problem = fmt.Sprintf("map returned %s as %s; want a string", describe(val), key)
			}
		}
		boolean := func(dst *bool) {
			if b, ok := val.(lua.LBool); ok {
				*dst = bool(b)
			} else {
				problem = fmt.Sprintf("map returned %s as %s; want true or false", describe(val), key)
			}
		}
		switch key {
		case "name":
			str(&m.Name)
		case "encryption_key", "encryption_key_arn":
			if m.EncryptionKey != "" {
				problem = "map returned both encryption_key and encryption_key_arn; return one (they take the same forms)"
				return
			}
			str(&m.EncryptionKey)
		case "sns_topic_arn":
			str(&m.SNSTopicArn)
		case "reason":
			str(&m.Reason)
		case "skip":
			boolean(&m.Skip)
		case "compliance_lock":
			boolean(&m.ComplianceLock)
		case "reconcile":
			boolean(&m.Reconcile)
		case "tags":
			tags, p := tagsOf(val, "map returned tags")
			m.Tags, problem = tags, p
		case "lock":
			m.Lock, problem = mappedLockOf(val)
		default:
			problem = fmt.Sprintf("map returned an unknown field %q (known: name, encryption_key, encryption_key_arn, sns_topic_arn, skip, reason, compliance_lock, reconcile, tags, lock)", string(key))
		}
	})
	switch {
	case problem != "":
		return VaultMapping{}, problem
	case !vaultNameRe.MatchString(m.Name):
		return VaultMapping{}, fmt.Sprintf("map returned name %q; a vault name is 2 to 50 letters, digits, - and _", m.Name)
	case m.EncryptionKey != "" && !kmsArnRe.MatchString(m.EncryptionKey) && !aliasNameRe.MatchString(m.EncryptionKey):
		return VaultMapping{}, fmt.Sprintf("map returned encryption_key %q; want alias/NAME, an alias ARN (arn:aws:kms:REGION:ACCOUNT:alias/NAME) or a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)", m.EncryptionKey)
	case m.SNSTopicArn != "" && !snsArnRe.MatchString(m.SNSTopicArn):
		return VaultMapping{}, fmt.Sprintf("map returned sns_topic_arn %q; want an SNS topic ARN", m.SNSTopicArn)
	case m.Skip && strings.TrimSpace(m.Reason) == "":
		return VaultMapping{}, "map returned skip = true without a reason"
	}
	return m, ""
}

// Tags runs the tags policy's tags on rp. Without a tags policy there
// are no tags (nil).
func (w *Worker) Tags(ctx context.Context, rp *RPInput) (map[string]string, error) {
	if w.p.cfg.Tags == "" {
		return nil, nil
	}
	name := w.p.cfg.Tags
	rets, perr := w.invoke(ctx, name, "tags", func() *lua.LFunction { return w.tagsFn }, 1,
		func(L *lua.LState) lua.LValue { return w.s.rp(rp) })
	if perr != nil {
		return nil, perr
	}
	tags, problem := tagsOf(rets[0], "tags returned")
	if problem != "" {
		return nil, &PolicyError{Policy: name, Msg: problem}
	}
	return tags, nil
}

// AWS tag limits.
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

// tagsOf validates a table of tags: string keys and values within the
// AWS limits. nil is no tags.
func tagsOf(lv lua.LValue, what string) (map[string]string, string) {
	if lv == lua.LNil {
		return nil, ""
	}
	t, ok := lv.(*lua.LTable)
	if !ok {
		return nil, what + " " + describe(lv) + "; want a table of tag names to string values"
	}
	tags := map[string]string{}
	var problem string
	t.ForEach(func(k, v lua.LValue) {
		if problem != "" {
			return
		}
		key, ok := k.(lua.LString)
		switch {
		case !ok:
			problem = fmt.Sprintf("%s a tag named by %s; tag names are strings", what, describe(k))
		case len(key) == 0 || len(key) > maxTagKeyLen:
			problem = fmt.Sprintf("%s tag name %q; tag names are 1 to %d characters", what, string(key), maxTagKeyLen)
		case strings.HasPrefix(strings.ToLower(string(key)), "aws:"):
			problem = fmt.Sprintf("%s tag name %q; the aws: prefix is reserved", what, string(key))
		}
		if problem != "" {
			return
		}
		val, ok := v.(lua.LString)
		switch {
		case !ok:
			problem = fmt.Sprintf("%s %s for tag %q; tag values are strings (use tostring)", what, describe(v), string(key))
		case len(val) > maxTagValueLen:
			problem = fmt.Sprintf("%s a value of %d bytes for tag %q; the limit is %d", what, len(val), string(key), maxTagValueLen)
		default:
			tags[string(key)] = string(val)
		}
	})
	if problem != "" {
		return nil, problem
	}
	if len(tags) > maxTags {
		return nil, fmt.Sprintf("%s %d tags; AWS allows %d", what, len(tags), maxTags)
	}
	return tags, ""
}

func cloneTags(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// mappedLockOf validates map's lock: nil, or { mode = "governance",
// min_retention_days = N, max_retention_days = M } with 1 <= N <= M <=
// 36500 (either bound may be left out, not both).
func mappedLockOf(lv lua.LValue) (*MappedLock, string) {
	if lv == lua.LNil {
		return nil, ""
	}
	t, ok := lv.(*lua.LTable)
	if !ok {
		return nil, "map returned " + describe(lv) + ` as lock; want a table like { mode = "governance", min_retention_days = 7 }`
	}
	l := &MappedLock{}
	var problem string
	t.ForEach(func(k, v lua.LValue) {
		if problem != "" {
			return
		}
		days := func(dst **int64) {
			n, ok := v.(lua.LNumber)
			if !ok || float64(n) != float64(int64(n)) || n < 1 || n > 36500 {
				problem = fmt.Sprintf("map returned lock.%s = %s; want a whole number of days from 1 to 36500", k, describe(v))
				return
			}
			d := int64(n)
			*dst = &d
		}
		switch k.String() {
		case "mode":
			if s, ok := v.(lua.LString); ok {
				l.Mode = string(s)
			}
		case "min_retention_days":
			days(&l.MinRetentionDays)
		case "max_retention_days":
			days(&l.MaxRetentionDays)
		default:
			problem = fmt.Sprintf("map returned an unknown lock field %q (known: mode, min_retention_days, max_retention_days)", k.String())
		}
	})
	switch {
	case problem != "":
		return nil, problem
	case l.Mode != "governance":
		return nil, fmt.Sprintf("map returned lock.mode %q; want \"governance\" (a compliance lock comes only from a compliance-locked source vault, with compliance_lock = true)", l.Mode)
	case l.MinRetentionDays == nil && l.MaxRetentionDays == nil:
		return nil, "map returned a lock without min_retention_days or max_retention_days"
	case l.MinRetentionDays != nil && l.MaxRetentionDays != nil && *l.MinRetentionDays > *l.MaxRetentionDays:
		return nil, fmt.Sprintf("map returned lock.min_retention_days %d above max_retention_days %d", *l.MinRetentionDays, *l.MaxRetentionDays)
	}
	return l, ""
}
