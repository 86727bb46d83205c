package luabind

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

	cfg    scriptconfig.PolicyConfig
	protos map[string]*lua.FunctionProto

	columns []ColumnRequirement // declared by the modules (columns.go)
}

// Decision is the outcome of the decide policies for one recovery point.
type Decision struct {
	Include bool
	Reason  string
	// Priority is what the including policies asked for (the last that
	// set one; 0: none): higher is copied sooner.
	Priority int
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
	// EncryptionKeyAliases are the customer aliases of the vault's key
	// in the source account (names without "alias/", sorted; none for
	// an AWS managed or owned key); EncryptionKeyAlias is the first.
	EncryptionKeyAlias                 string
	EncryptionKeyAliases               []string
	Locked                             bool
	MinRetentionDays, MaxRetentionDays *int64
	LockDate                           *time.Time
	Tags                               map[string]string
	SNSTopicArn                        string
	Events                             []string
	AccessPolicy                       string
}

// VaultMapping is where a source vault's recovery points go.
type VaultMapping struct {
	Name string // destination vault name
	// EncryptionKey is the destination KMS key for a vault shuffle
	// creates, as map named it (encryption_key or encryption_key_arn):
	// alias/NAME, an alias ARN or a key ARN. The engine resolves it
	// through KMS in the destination account; "" means unmapped.
	EncryptionKey string
	SNSTopicArn   string
	Skip          bool   // do not copy this vault
	Reason        string // why, when Skip
	// ComplianceLock allows shuffle to apply a compliance-mode vault
	// lock, which cannot be undone after its grace time; the script must
	// ask for it explicitly.
	ComplianceLock bool
	// Reconcile allows shuffle to change an existing destination vault
	// (tags, lock) to match the source; otherwise drift is reported.
	Reconcile bool
	Tags      map[string]string
	// Lock is the lock a destination vault shuffle creates (or
	// reconciles) gets when its source vault has none: the security
	// team's standard. Governance only (removable by a privileged
	// principal); compliance locks come from the source vault and
	// ComplianceLock. nil: like-for-like (no lock).
	Lock *MappedLock `json:",omitempty"`
}

// MappedLock is map's lock field.
type MappedLock struct {
	Mode                               string // "governance"
	MinRetentionDays, MaxRetentionDays *int64
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
func LoadPolicies(cfg scriptconfig.PolicyConfig) (*Policies, error) {
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
func (p *Policies) Config() scriptconfig.PolicyConfig { return p.cfg }

type policyModule struct{ name, fn string }

// policyModules lists the configured modules with the function each
// must have.
func policyModules(c scriptconfig.PolicyConfig) []policyModule {
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
