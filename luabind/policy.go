package luabind

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// Policies are the compiled policy modules of a directory. They are
// read-only after LoadPolicies and safe for concurrent use; each
// goroutine runs them through its own Worker.
type Policies struct {
	// Hash is the SHA-256 (hex) of the name and content of every
	// non-test .lua file in Dir and of the Decide, Vaults and Tags
	// settings. Each decision is recorded with it; when it changes, the
	// engine re-decides the recovery points it has not copied yet.
	Hash string

	cfg    PolicyConfig
	protos map[string]*lua.FunctionProto

	columns []ColumnRequirement // declared by the modules (columns.go)
}

// Decision is the outcome of the decide policies for one recovery point.
type Decision struct {
	Include bool
	Reason  string
	// Policy is the module that decided: the first to exclude (or fail),
	// else the last to include.
	Policy string
	// Failed is set when a policy failed (a runtime error, a budget
	// exceeded or a result that is not a decision). The recovery point
	// is excluded and Reason says what went wrong.
	Failed bool
	// Budget names the budget the policy exceeded, when one stopped it.
	Budget Budget
}

// RPInput is what a policy knows about a recovery point.
type RPInput struct {
	Arn, Vault, ResourceArn, ResourceType, ResourceName, Status string
	CreationDate                                                time.Time
	SizeBytes                                                   int64
	DeleteAfterDays, ColdAfterDays                              *int64
	EncryptionKeyArn                                            string
	HasMetadata                                                 bool              // the metadata CSV has a row for ResourceArn
	Metadata                                                    map[string]string // by lower-cased column name
	Blank                                                       map[string]bool   // fields whose cell was only whitespace
	Conflict                                                    *ConflictInput    // rows for ResourceArn disagree
}

// ConflictInput describes metadata rows that disagree.
type ConflictInput struct {
	Field  string   // the first field that differs
	Values []string // its distinct values
	Lines  []int    // the CSV lines of every row for the resource
}

// VaultInput is what a vaults policy knows about a source vault.
type VaultInput struct {
	Name, Arn, VaultType, EncryptionKeyArn string
	Locked                                 bool
	MinRetentionDays, MaxRetentionDays     *int64
	LockDate                               *time.Time
	Tags                                   map[string]string
	SNSTopicArn                            string
	Events                                 []string
	AccessPolicy                           string
}

// VaultMapping is where a source vault's recovery points go.
type VaultMapping struct {
	Name string // destination vault name
	// EncryptionKeyArn is the destination KMS key for a vault shuffle
	// creates; "" means unmapped.
	EncryptionKeyArn string
	SNSTopicArn      string
	Skip             bool   // do not copy this vault
	Reason           string // why, when Skip
	// ComplianceLock allows shuffle to apply a compliance-mode vault
	// lock, which cannot be undone after its grace time; the script must
	// ask for it explicitly.
	ComplianceLock bool
	// Reconcile allows shuffle to change an existing destination vault
	// (tags, lock) to match the source; otherwise drift is reported.
	Reconcile bool
	Tags      map[string]string
}

// PolicyError is a policy call that failed.
type PolicyError struct {
	Policy string // module name
	Msg    string // what was wrong, with file:line for runtime errors
	Err    error  // a *BudgetError or a context error, if one of those stopped the call
}

// Error gives `policy NAME failed: MSG`.
func (e *PolicyError) Error() string { return "policy " + e.Policy + " failed: " + e.Msg }

// Unwrap returns the cause of a stopped call.
func (e *PolicyError) Unwrap() error { return e.Err }

// maxReason caps the length of a recorded reason.
const maxReason = 1024

// LoadPolicies reads and compiles every non-test .lua file in cfg.Dir,
// then loads the configured modules once to check that each returns a
// table with its function (decide, map or tags). Syntax and load-time
// errors name the file and line.
func LoadPolicies(cfg PolicyConfig) (*Policies, error) {
	if cfg.Dir == "" {
		cfg.Dir = "policies"
	}
	if cfg.Budgets.Time <= 0 && cfg.Timeout > 0 {
		cfg.Budgets.Time = cfg.Timeout
	}
	cfg.Budgets = cfg.Budgets.WithDefaults(DefaultPolicyBudgets)
	cfg.Timeout = cfg.Budgets.Time
	if len(cfg.Decide) == 0 {
		return nil, errors.New("policies: no decide module configured; name at least one (e.g. decide = {\"apmid\"})")
	}
	seen := map[string]bool{}
	for _, name := range cfg.Decide {
		if !scriptconfig.ValidModuleName(name) {
			return nil, fmt.Errorf("policies: decide module %q: names are letters, digits and _ only (the file name without .lua)", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("policies: decide module %q is listed twice", name)
		}
		seen[name] = true
	}
	for _, m := range []struct{ role, name string }{{"vaults", cfg.Vaults}, {"tags", cfg.Tags}, {"compliance", cfg.Compliance}} {
		if m.name != "" && !scriptconfig.ValidModuleName(m.name) {
			return nil, fmt.Errorf("policies: %s module %q: names are letters, digits and _ only (the file name without .lua)", m.role, m.name)
		}
	}
	protos, hash, err := compileDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	for _, m := range policyModules(cfg) {
		if protos[m.name] == nil {
			return nil, fmt.Errorf("policies: %s module %q not found: no %s", m.fn, m.name, filepath.Join(cfg.Dir, m.name+".lua"))
		}
	}
	fmt.Fprintf(hash, "decide %q\nvaults %q\ntags %q\n", cfg.Decide, cfg.Vaults, cfg.Tags)
	p := &Policies{Hash: hex.EncodeToString(hash.Sum(nil)), cfg: cfg, protos: protos}
	w, err := p.NewWorker()
	if err != nil {
		return nil, err
	}
	p.columns = w.columns
	w.Close()
	return p, nil
}

// Config returns the configuration the policies were loaded with, with
// defaults filled in.
func (p *Policies) Config() PolicyConfig { return p.cfg }

type policyModule struct{ name, fn string }

// policyModules lists the configured modules with the function each
// must have.
func policyModules(c PolicyConfig) []policyModule {
	var ms []policyModule
	for _, name := range c.Decide {
		ms = append(ms, policyModule{name, "decide"})
	}
	if c.Vaults != "" {
		ms = append(ms, policyModule{c.Vaults, "map"})
	}
	if c.Tags != "" {
		ms = append(ms, policyModule{c.Tags, "tags"})
	}
	if c.Compliance != "" {
		ms = append(ms, policyModule{c.Compliance, "check"})
	}
	return ms
}

type hasher interface {
	Write([]byte) (int, error)
	Sum([]byte) []byte
}

// compileDir compiles every non-test .lua file in dir, by module name,
// and returns a hash of their names and contents to be completed by the
// caller.
func compileDir(dir string) (map[string]*lua.FunctionProto, hasher, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("policies: %w", err)
	}
	h := sha256.New()
	h.Write([]byte("shuffle policies v1\n"))
	protos := map[string]*lua.FunctionProto{}
	for _, e := range entries { // sorted by name
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".lua") || strings.HasSuffix(name, "_test.lua") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, fmt.Errorf("policies: %w", err)
		}
		fmt.Fprintf(h, "file %q %d\n", name, len(src))
		h.Write(src)
		mod := strings.TrimSuffix(name, ".lua")
		if !scriptconfig.ValidModuleName(mod) {
			continue // cannot be required; hashed all the same
		}
		proto, err := compile(src, name, filepath.Join(dir, name))
		if err != nil {
			return nil, nil, err
		}
		protos[mod] = proto
	}
	return protos, h, nil
}

// Worker runs policies in its own Lua state. It is not safe for
// concurrent use: give each goroutine its own.
type Worker struct {
	p       *Policies
	s       *sandbox
	decide  []*lua.LFunction // by cfg.Decide
	mapFn   *lua.LFunction
	tagsFn  *lua.LFunction
	checkFn *lua.LFunction
	columns []ColumnRequirement // the modules' requires.columns (columns.go)
}

// NewWorker returns a worker with every configured module loaded.
func (p *Policies) NewWorker() (*Worker, error) {
	w := &Worker{p: p}
	if err := w.init(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Worker) init() error {
	cfg := w.p.cfg
	s := newSandbox(Options{Dir: cfg.Dir, Modules: w.p.protos, Strict: true})
	w.s = s
	w.decide = w.decide[:0]
	for _, m := range policyModules(cfg) {
		fn, err := w.loadFunc(m)
		if err != nil {
			s.release()
			s.L.Close()
			return err
		}
		switch m.fn {
		case "decide":
			w.decide = append(w.decide, fn)
		case "map":
			w.mapFn = fn
		case "tags":
			w.tagsFn = fn
		case "check":
			w.checkFn = fn
		}
	}
	return nil
}

// loadFunc requires module m and returns its function m.fn.
func (w *Worker) loadFunc(m policyModule) (*lua.LFunction, error) {
	s := w.s
	file := filepath.Join(w.p.cfg.Dir, m.name+".lua")
	loader := s.L.NewFunction(func(L *lua.LState) int {
		L.Push(s.require(L, m.name))
		return 1
	})
	rets, err := s.call(context.Background(), w.p.cfg.Budgets, loader, 1)
	if err != nil {
		var be *BudgetError
		if errors.As(err, &be) {
			return nil, w.budgetError(be, m.name, "loading the module")
		}
		msg := err.Error()
		if rest, ok := strings.CutPrefix(msg, m.name+".lua:"); ok {
			return nil, fmt.Errorf("%s:%s", file, rest)
		}
		return nil, fmt.Errorf("%s: %s", file, msg)
	}
	t, ok := rets[0].(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("%s: the module returns %s; it must return a table with a %s function, like: return { %s = function(...) ... end }", file, describe(rets[0]), m.fn, m.fn)
	}
	fn, ok := t.RawGetString(m.fn).(*lua.LFunction)
	if !ok {
		return nil, fmt.Errorf("%s: the module's table has no %s function (it has %s)", file, m.fn, fieldNames(t))
	}
	if err := w.noteRequires(m, file, t); err != nil {
		return nil, err
	}
	return fn, nil
}

func fieldNames(t *lua.LTable) string {
	var names []string
	t.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); ok {
			names = append(names, string(s))
		}
	})
	if len(names) == 0 {
		return "no named fields"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Close releases the worker's Lua state.
func (w *Worker) Close() {
	if w.s != nil {
		w.s.release()
		w.s.L.Close()
		w.s = nil
	}
}

// invoke calls the policy function fnName of module policy under the
// policy budgets. After a call stopped by its budgets or its context the
// state is discarded (the next call builds a fresh one), since the
// policy may have been stopped halfway through changing it.
func (w *Worker) invoke(ctx context.Context, policy, fnName string, fn func() *lua.LFunction, nret int, arg func(L *lua.LState) lua.LValue) ([]lua.LValue, *PolicyError) {
	if w.s == nil {
		if err := w.init(); err != nil {
			return nil, &PolicyError{Policy: policy, Msg: "cannot reload policies: " + err.Error()}
		}
	}
	rets, err := w.s.call(ctx, w.p.cfg.Budgets, fn(), nret, arg(w.s.L))
	if err != nil {
		pe := &PolicyError{Policy: policy, Msg: err.Error()}
		var be *BudgetError
		switch {
		case errors.As(err, &be):
			pe.Err = w.budgetError(be, policy, fnName)
			pe.Msg = pe.Err.Error()
			w.Close()
			if be.Budget == BudgetMemory {
				collectSoon()
			}
		case ctx.Err() != nil:
			pe.Err = err
			w.Close()
		}
		return nil, pe
	}
	return rets, nil
}

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
		if problem != "" {
			return Decision{Reason: capReason((&PolicyError{Policy: name, Msg: problem}).Error()), Policy: name, Failed: true}
		}
		d = Decision{Include: include, Reason: capReason(reason), Policy: name}
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
		case "encryption_key_arn":
			str(&m.EncryptionKeyArn)
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
		default:
			problem = fmt.Sprintf("map returned an unknown field %q (known: name, encryption_key_arn, sns_topic_arn, skip, reason, compliance_lock, reconcile, tags)", string(key))
		}
	})
	switch {
	case problem != "":
		return VaultMapping{}, problem
	case !vaultNameRe.MatchString(m.Name):
		return VaultMapping{}, fmt.Sprintf("map returned name %q; a vault name is 2 to 50 letters, digits, - and _", m.Name)
	case m.EncryptionKeyArn != "" && !kmsArnRe.MatchString(m.EncryptionKeyArn):
		return VaultMapping{}, fmt.Sprintf("map returned encryption_key_arn %q; want a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)", m.EncryptionKeyArn)
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
