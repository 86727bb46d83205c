package approval

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"sort"
	"strings"
	"time"
)

// Fingerprint identifies the inventory a plan was made from: the
// SHA-256 over the source vault, RP ARN, creation date and status of
// every recovery point listed (included or not), in the state's order
// (by vault, then ARN), with their counts.
type Fingerprint struct {
	SHA256         string           `json:"sha256"`
	RecoveryPoints int64            `json:"recovery_points"`
	ByVault        map[string]int64 `json:"by_vault"`
}

// Fingerprinter accumulates a Fingerprint.
type Fingerprinter struct {
	h hash.Hash
	f Fingerprint
}

// NewFingerprinter starts an empty fingerprint.
func NewFingerprinter() *Fingerprinter {
	return &Fingerprinter{h: sha256.New(), f: Fingerprint{ByVault: map[string]int64{}}}
}

// Add adds one listed recovery point.
func (p *Fingerprinter) Add(vault, arn string, created time.Time, status string) {
	fmt.Fprintf(p.h, "%s\x00%s\x00%s\x00%s\n", vault, arn, created.UTC().Format(time.RFC3339Nano), status)
	p.f.RecoveryPoints++
	p.f.ByVault[strings.Clone(vault)]++
}

// Sum is the fingerprint of what was added.
func (p *Fingerprinter) Sum() Fingerprint {
	f := p.f
	f.SHA256 = hex.EncodeToString(p.h.Sum(nil))
	return f
}

// key is the hashed ARN a plan's decisions are indexed by.
type key [16]byte

func keyOf(arn string) key {
	s := sha256.Sum256([]byte(arn))
	return key(s[:16])
}

// Same reports whether a and b send the RP to the same place the same
// way: destination vault, key and tags.
func (d Decision) Same(o Decision) bool {
	return d.decisionKey() == o.decisionKey()
}

// decisionKey fingerprints what a decision says of the copy.
func (d Decision) decisionKey() key {
	b := make([]byte, 0, 256)
	for _, s := range []string{d.DestinationVault, d.DestinationKey, d.TagsError} {
		b = append(append(b, s...), 0)
	}
	names := make([]string, 0, len(d.Tags))
	for k := range d.Tags {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b = append(append(append(append(b, k...), '='), d.Tags[k]...), 0)
	}
	s := sha256.Sum256(b)
	return key(s[:16])
}

// Differences says in words how now differs from the approved d, e.g.
// "destination vault dst-a → dst-b; tags Owner=x → Owner=y".
func (d Decision) Differences(now Decision) string {
	var parts []string
	if d.DestinationVault != now.DestinationVault {
		parts = append(parts, fmt.Sprintf("destination vault %s → %s", d.DestinationVault, now.DestinationVault))
	}
	if d.DestinationKey != now.DestinationKey {
		parts = append(parts, fmt.Sprintf("destination key %s → %s", orNone(d.DestinationKey), orNone(now.DestinationKey)))
	}
	if d.TagsError != now.TagsError {
		parts = append(parts, fmt.Sprintf("tags policy error %q → %q", d.TagsError, now.TagsError))
	}
	if t := tagDiff(d.Tags, now.Tags); t != "" {
		parts = append(parts, "tags "+t)
	}
	return strings.Join(parts, "; ")
}

// tagDiff lists the tags that differ, "" for none.
func tagDiff(was, now map[string]string) string {
	names := map[string]bool{}
	for k := range was {
		names[k] = true
	}
	for k := range now {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var parts []string
	for _, k := range sorted {
		a, okA := was[k]
		b, okB := now[k]
		switch {
		case okA && okB && a != b:
			parts = append(parts, fmt.Sprintf("%s=%s → %s=%s", k, a, k, b))
		case okA && !okB:
			parts = append(parts, fmt.Sprintf("%s=%s removed", k, a))
		case !okA && okB:
			parts = append(parts, fmt.Sprintf("%s=%s added", k, b))
		}
	}
	return strings.Join(parts, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
