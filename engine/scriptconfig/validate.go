package scriptconfig

import (
	"fmt"
	"regexp"
)

// FieldError is a field of a declared table (shuffle.config's argument,
// or an rp or vault table in a policy test) that is missing or has the
// wrong type or value.
type FieldError struct {
	Func  string // the Lua function, e.g. "shuffle.config"
	Field string // dotted path, e.g. "source.account"
	Msg   string
}

// Error gives `FUNC: FIELD MSG`.
func (e *FieldError) Error() string {
	if e.Func == "" {
		return e.Field + " " + e.Msg
	}
	return e.Func + ": " + e.Field + " " + e.Msg
}

// ConfigFunc is the Lua function that declares a Config, as named in
// its FieldErrors.
const ConfigFunc = "shuffle.config"

var (
	accountRe    = regexp.MustCompile(`^\d{12}$`)
	regionRe     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	roleArnRe    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$`)
	moduleNameRe = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

// ValidAccount says whether s is a 12-digit AWS account id.
func ValidAccount(s string) bool { return accountRe.MatchString(s) }

// ValidRegion says whether s looks like an AWS region (us-east-1).
func ValidRegion(s string) bool { return regionRe.MatchString(s) }

// ValidModuleName says whether s can name a policy module: letters,
// digits and _ (the file name without .lua).
func ValidModuleName(s string) bool { return moduleNameRe.MatchString(s) }

// Upper bounds of policies.limits: past them a budget bounds nothing.
const (
	MaxMemoryMiB    = 4096
	MaxTimeMs       = 10 * 60 * 1000
	MaxInstructions = 1e11
)

// Check checks what spans several fields of a Config whose fields each
// have been read and checked alone: one region (when both sides name
// one; engine/profiles resolves a region left out), two accounts, and a
// copy role in the source account. It returns the first problem, or nil.
func (c Config) Check() *FieldError {
	fail := func(field, format string, args ...any) *FieldError {
		return &FieldError{Func: ConfigFunc, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case c.Source.Region != "" && c.Destination.Region != "" && c.Source.Region != c.Destination.Region:
		return fail("destination.region", "must equal source.region %q (shuffle copies within one region), got %q", c.Source.Region, c.Destination.Region)
	case c.Source.Account == c.Destination.Account:
		return fail("destination.account", "must differ from source.account %s", c.Source.Account)
	}
	if sm := roleArnRe.FindStringSubmatch(c.CopyRole); sm == nil {
		return fail("copy_role", "must be an IAM role ARN like arn:aws:iam::%s:role/service-role/AWSBackupDefaultServiceRole, got %q", c.Source.Account, c.CopyRole)
	} else if sm[1] != c.Source.Account {
		return fail("copy_role", "must be a role in the source account %s, got one in account %s", c.Source.Account, sm[1])
	}
	return nil
}
