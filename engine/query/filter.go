package query

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Filter selects recovery points. Zero fields match everything; a field
// with several values (Vaults, Statuses, Types) matches any of them.
type Filter struct {
	Vaults        []string
	Statuses      []string // RowStatus values: completed, running, intent, retry, queued, failed, excluded, ineligible, undecided
	Types         []string // resource types
	Outcomes      []string // decision outcomes: included, excluded, ineligible, failed
	APMID         *string  // metadata apmid ("" matches an empty cell)
	Reason        string   // substring (any case) of the decision reason or the copy failure reason
	Rule          string   // substring (any case) of the decision rule ("engine:status", "policy:apmid")
	Arn           string
	ResourceArn   string
	CreatedBefore time.Time
	CreatedAfter  time.Time
	Meta          map[string]string // metadata field (lower-cased) -> value
}

// FilterKeys are the fields ParseFilter knows; any other key is a
// metadata field. The REPL completes them.
var FilterKeys = []string{"vault", "status", "state", "resource_type", "type", "outcome", "decision", "apmid", "reason",
	"rule", "arn", "resource_arn", "created_before", "created_after"}

// GroupKeys are the fields group{by=...} knows besides metadata fields.
var GroupKeys = []string{"vault", "status", "resource_type", "outcome", "apmid", "reason", "rule", "created_month", "created_year"}

// ParseFilter builds a Filter from the REPL's table fields. Values are
// strings as written; several values are separated by commas.
func ParseFilter(fields map[string]string) (Filter, error) {
	var f Filter
	list := func(v string) []string {
		var out []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	for k, v := range fields {
		switch strings.ToLower(k) {
		case "vault":
			f.Vaults = list(v)
		case "status", "state":
			for _, s := range list(v) {
				s = strings.ToLower(s)
				if !contains(RowStates, s) {
					return f, fmt.Errorf("%s=%q: not a status; use one of %s", k, v, strings.Join(RowStates, ", "))
				}
				f.Statuses = append(f.Statuses, s)
			}
		case "resource_type", "type":
			f.Types = list(v)
		case "outcome", "decision":
			for _, s := range list(v) {
				s = strings.ToLower(s)
				if !contains([]string{state.Included, state.Excluded, state.Ineligible, state.Failed}, s) {
					return f, fmt.Errorf("%s=%q: not a decision outcome; use included, excluded, ineligible or failed", k, v)
				}
				f.Outcomes = append(f.Outcomes, s)
			}
		case "apmid":
			a := v
			f.APMID = &a
		case "reason":
			f.Reason = strings.ToLower(v)
		case "rule":
			f.Rule = strings.ToLower(v)
		case "arn":
			f.Arn = v
		case "resource_arn":
			f.ResourceArn = v
		case "created_before", "created_after":
			t, err := ParseTime(v)
			if err != nil {
				return f, fmt.Errorf("%s: %w", k, err)
			}
			if k == "created_before" {
				f.CreatedBefore = t
			} else {
				f.CreatedAfter = t
			}
		default:
			if f.Meta == nil {
				f.Meta = map[string]string{}
			}
			f.Meta[strings.ToLower(k)] = v
		}
	}
	return f, nil
}

// ParseTime reads a time as RFC 3339, a date (YYYY-MM-DD, local
// midnight), a local date and time (YYYY-MM-DD HH:MM) or Unix seconds.
func ParseTime(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2025-01-31T12:00:00Z), a date (2025-01-31) or Unix seconds", v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Match reports whether the RP (and its copy record, nil when none)
// passes f.
func (f *Filter) Match(rp *state.RP, rec *state.CopyRecord) bool {
	if len(f.Vaults) > 0 && !contains(f.Vaults, rp.Vault) {
		return false
	}
	if f.Arn != "" && rp.Arn != f.Arn {
		return false
	}
	if f.ResourceArn != "" && rp.ResourceArn != f.ResourceArn {
		return false
	}
	if len(f.Types) > 0 && !contains(f.Types, rp.ResourceType) {
		return false
	}
	if len(f.Statuses) > 0 && !contains(f.Statuses, RowStatus(rp, rec)) {
		return false
	}
	if len(f.Outcomes) > 0 && (rp.Decision == nil || !contains(f.Outcomes, rp.Decision.Outcome)) {
		return false
	}
	if !f.CreatedBefore.IsZero() && !rp.CreationDate.Before(f.CreatedBefore) {
		return false
	}
	if !f.CreatedAfter.IsZero() && rp.CreationDate.Before(f.CreatedAfter) {
		return false
	}
	if f.APMID != nil {
		v, ok := metaField(rp, "apmid")
		if !ok || v != *f.APMID {
			return false
		}
	}
	for k, want := range f.Meta {
		if v, ok := metaField(rp, k); !ok || v != want {
			return false
		}
	}
	if f.Reason != "" {
		r := ""
		if rp.Decision != nil {
			r = rp.Decision.Reason
		}
		if rec != nil {
			r += "\x00" + rec.Reason
		}
		if !strings.Contains(strings.ToLower(r), f.Reason) {
			return false
		}
	}
	if f.Rule != "" && (rp.Decision == nil || !strings.Contains(strings.ToLower(rp.Decision.Rule), f.Rule)) {
		return false
	}
	return true
}

func metaField(rp *state.RP, k string) (string, bool) {
	if rp.Meta == nil {
		return "", false
	}
	v, ok := rp.Meta.Fields[k]
	return v, ok
}
