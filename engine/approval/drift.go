package approval

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// DriftKind is one way a run's current decisions differ from its
// approved plan.
type DriftKind string

// The drift kinds, as --allow-drift names them.
const (
	// DriftAdded: included now, not in the plan (a new backup, or one a
	// policy now includes). Never copied under the plan.
	DriftAdded DriftKind = "added"
	// DriftRemoved: in the plan, not included now (excluded, ineligible,
	// gone from the source, or no longer listed). Not copied.
	DriftRemoved DriftKind = "removed"
	// DriftChanged: in the plan and included now, but to another
	// destination vault or key, or with other tags. Not copied.
	DriftChanged DriftKind = "changed"
	// DriftVaults: a destination vault to create now that the plan does
	// not create, or with other settings. Accepted, replication creates
	// it as it is configured now.
	DriftVaults DriftKind = "vaults"
)

// DriftKinds are every kind, in the order reports list them.
var DriftKinds = []DriftKind{DriftAdded, DriftRemoved, DriftChanged, DriftVaults}

// DriftSet is the kinds of drift a run accepts (--allow-drift).
type DriftSet map[DriftKind]bool

// ParseDriftSet reads a comma-separated list of kinds, or "all".
func ParseDriftSet(s string) (DriftSet, error) {
	set := DriftSet{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
		case f == "all":
			for _, k := range DriftKinds {
				set[k] = true
			}
		case slices.Contains(DriftKinds, DriftKind(f)):
			set[DriftKind(f)] = true
		default:
			return nil, fmt.Errorf("unknown drift kind %q; use a comma-separated list of added, removed, changed and vaults, or all", f)
		}
	}
	return set, nil
}

// String lists the kinds in order, comma-separated.
func (s DriftSet) String() string {
	var out []string
	for _, k := range DriftKinds {
		if s[k] {
			out = append(out, string(k))
		}
	}
	return strings.Join(out, ",")
}

// MaxExamples is how many recovery points a drift report names per kind.
const MaxExamples = 10

// Example is one recovery point that drifted, and how.
type Example struct {
	RecoveryPoint string `json:"recovery_point_arn"`
	SourceVault   string `json:"source_vault"`
	Why           string `json:"why"`
}

// Drift is how a run's current decisions differ from its approved plan.
type Drift struct {
	Counts   map[DriftKind]int64     `json:"counts"`
	Examples map[DriftKind][]Example `json:"examples"`
	// Approved counts the plan's recovery points included now with the
	// same decision: the only ones the run may copy.
	Approved int64 `json:"approved"`
	// The policies and inventory then and now (notes: a change shows in
	// the counts above where it changes what is copied).
	PolicyHash      [2]string      `json:"policy_hash"`
	Inventory       [2]Fingerprint `json:"inventory"`
	ApprovedCreated time.Time      `json:"approved_created_at"`
}

// Kinds are the kinds present, in order.
func (d *Drift) Kinds() []DriftKind {
	var out []DriftKind
	for _, k := range DriftKinds {
		if d.Counts[k] > 0 {
			out = append(out, k)
		}
	}
	return out
}

// Refused are the kinds present that allow does not accept.
func (d *Drift) Refused(allow DriftSet) []DriftKind {
	var out []DriftKind
	for _, k := range d.Kinds() {
		if !allow[k] {
			out = append(out, k)
		}
	}
	return out
}

// Notes say what changed at the level of the whole plan.
func (d *Drift) Notes() []string {
	var out []string
	if d.PolicyHash[0] != d.PolicyHash[1] {
		out = append(out, fmt.Sprintf("the policies changed since the plan was approved: policy hash %s then, %s now", d.PolicyHash[0], d.PolicyHash[1]))
	}
	if a, b := d.Inventory[0], d.Inventory[1]; a.SHA256 != b.SHA256 {
		out = append(out, fmt.Sprintf("the inventory changed since the plan was approved: %d recovery points listed then (fingerprint %.16s), %d now (%.16s)",
			a.RecoveryPoints, a.SHA256, b.RecoveryPoints, b.SHA256))
	}
	return out
}

// Write prints the difference: notes, then counts and examples by kind.
func (d *Drift) Write(w io.Writer) {
	for _, n := range d.Notes() {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	for _, k := range DriftKinds {
		n := d.Counts[k]
		if n == 0 {
			continue
		}
		unit := "recovery points"
		if k == DriftVaults {
			unit = "destination vaults"
		}
		fmt.Fprintf(w, "  %s: %d %s %s\n", k, n, unit, kindMeaning[k])
		for _, e := range d.Examples[k] {
			if e.RecoveryPoint == "" {
				fmt.Fprintf(w, "    for source vault %s: %s\n", e.SourceVault, e.Why)
				continue
			}
			fmt.Fprintf(w, "    %s (vault %s): %s\n", e.RecoveryPoint, e.SourceVault, e.Why)
		}
		if int64(len(d.Examples[k])) < n {
			fmt.Fprintf(w, "    ... and %d more\n", n-int64(len(d.Examples[k])))
		}
	}
	fmt.Fprintf(w, "  unchanged: %d recovery points of the plan are decided as approved\n", d.Approved)
}

var kindMeaning = map[DriftKind]string{
	DriftAdded:   "included now that the plan does not include (never copied under this plan)",
	DriftRemoved: "in the plan that are not included now (not copied)",
	DriftChanged: "in the plan decided differently now (not copied)",
	DriftVaults:  "to create now that the plan does not create, or with other settings (created as they are now)",
}

// DriftError stops a run whose current decisions differ from its
// approved plan in ways --allow-drift did not accept. Nothing was
// written to AWS.
type DriftError struct {
	Path    string
	Drift   *Drift
	Refused []DriftKind
}

func (e *DriftError) Error() string {
	var b strings.Builder
	kinds := make([]string, len(e.Refused))
	for i, k := range e.Refused {
		kinds[i] = string(k)
	}
	fmt.Fprintf(&b, "the decisions differ from the approved plan %s (approved %s): %s; nothing was written to AWS\n",
		e.Path, e.Drift.ApprovedCreated.UTC().Format(time.RFC3339), strings.Join(kinds, ", "))
	e.Drift.Write(&b)
	fmt.Fprintf(&b, "Make and approve a new plan (shuffle plan --out), or accept the difference with --allow-drift %s: the run then copies only the plan's recovery points decided as approved",
		strings.Join(kinds, ","))
	return b.String()
}

// entry is one decision of the plan as the comparison keeps it.
type entry struct {
	decision key
	seen     bool // listed now
	ok       bool // included now with the same decision
}

// Comparison compares a run's current decisions with an approved plan.
// Load it, feed it every recovery point in the state's order (Listed,
// then Included or NotIncluded), then Finish. Afterwards Allows says
// which RPs the run may copy.
type Comparison struct {
	File    *File
	plan    map[key]entry
	fp      *Fingerprinter
	drift   Drift
	changed map[key]Decision // current decisions of the changed examples
}

// Load reads and verifies the approved plan at path and indexes its
// decisions by hashed ARN (about 80 bytes of memory per decision: 80 MB
// for a million).
func Load(path string) (*Comparison, error) {
	c := &Comparison{plan: map[key]entry{}, fp: NewFingerprinter(), changed: map[key]Decision{},
		drift: Drift{Counts: map[DriftKind]int64{}, Examples: map[DriftKind][]Example{}}}
	f, err := Read(path, func(d Decision) error {
		c.plan[keyOf(d.RecoveryPoint)] = entry{decision: d.decisionKey()}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.File = f
	return c, nil
}

// Listed adds a recovery point listed now (not gone) to the fingerprint.
func (c *Comparison) Listed(vault, arn string, created time.Time, status string) {
	c.fp.Add(vault, arn, created, status)
}

// Included compares a recovery point included now with the plan.
func (c *Comparison) Included(now Decision) {
	k := keyOf(now.RecoveryPoint)
	e, ok := c.plan[k]
	switch {
	case !ok:
		c.example(DriftAdded, Example{RecoveryPoint: now.RecoveryPoint, SourceVault: now.SourceVault,
			Why: fmt.Sprintf("included now, to %s; not in the plan", now.DestinationVault)})
	case e.decision != now.decisionKey():
		e.seen = true
		c.plan[k] = e
		c.drift.Counts[DriftChanged]++
		if len(c.changed) < MaxExamples {
			c.changed[k] = now
		}
	default:
		e.seen, e.ok = true, true
		c.plan[k] = e
		c.drift.Approved++
	}
}

// NotIncluded notes a recovery point not included now; why says how it
// is decided now (or that it is gone), asked only for the plan's RPs.
func (c *Comparison) NotIncluded(vault, arn string, why func() string) {
	k := keyOf(arn)
	e, ok := c.plan[k]
	if !ok {
		return
	}
	e.seen = true
	c.plan[k] = e
	c.drift.Counts[DriftRemoved]++
	if len(c.drift.Examples[DriftRemoved]) < MaxExamples {
		c.drift.Examples[DriftRemoved] = append(c.drift.Examples[DriftRemoved],
			Example{RecoveryPoint: strings.Clone(arn), SourceVault: strings.Clone(vault), Why: why()})
	}
}

// Vaults compares the destination vaults to create now with the plan's.
// A vault of the plan not to create now (it was created since, or
// exists) is no drift.
func (c *Comparison) Vaults(now []VaultToCreate) {
	planned := map[string]VaultToCreate{}
	for _, v := range c.File.VaultsToCreate {
		planned[v.SourceVault] = v
	}
	for _, v := range now {
		p, ok := planned[v.SourceVault]
		switch {
		case !ok:
			c.example(DriftVaults, Example{SourceVault: v.SourceVault, Why: fmt.Sprintf("%s is to be created now (%s); the plan does not create it", v.Name, v.Describe())})
		case !v.Same(p):
			c.example(DriftVaults, Example{SourceVault: v.SourceVault, Why: fmt.Sprintf("%s is to be created now with %s; the plan: %s with %s", v.Name, v.Describe(), p.Name, p.Describe())})
		}
	}
}

func (c *Comparison) example(k DriftKind, e Example) {
	c.drift.Counts[k]++
	if len(c.drift.Examples[k]) < MaxExamples {
		c.drift.Examples[k] = append(c.drift.Examples[k], e)
	}
}

// errExamplesNamed stops Finish's read of the file once it has named
// every example.
var errExamplesNamed = errors.New("every example named")

// Finish counts the plan's recovery points not listed now as removed,
// and names examples of them and of the changed ones from the plan
// (a second read of the file, only when there are any).
func (c *Comparison) Finish(policyHash string) (*Drift, error) {
	var unseen int64
	for _, e := range c.plan {
		if !e.seen {
			unseen++
		}
	}
	c.drift.Counts[DriftRemoved] += unseen
	room := min(MaxExamples-len(c.drift.Examples[DriftRemoved]), int(unseen))
	if room > 0 || len(c.changed) > 0 {
		// The file was verified whole by Load: this read stops as soon
		// as every example is named (the examples come first in the
		// file's order as in the state's, so it rarely reads far).
		changed := len(c.changed)
		_, err := Read(c.File.Path, func(d Decision) error {
			k := keyOf(d.RecoveryPoint)
			if now, ok := c.changed[k]; ok {
				changed--
				c.drift.Examples[DriftChanged] = append(c.drift.Examples[DriftChanged],
					Example{RecoveryPoint: d.RecoveryPoint, SourceVault: d.SourceVault, Why: d.Differences(now)})
			}
			if e := c.plan[k]; !e.seen && room > 0 {
				room--
				c.drift.Examples[DriftRemoved] = append(c.drift.Examples[DriftRemoved],
					Example{RecoveryPoint: d.RecoveryPoint, SourceVault: d.SourceVault, Why: "no longer listed in the source vault"})
			}
			if changed == 0 && room == 0 {
				return errExamplesNamed
			}
			return nil
		})
		if err != nil && err != errExamplesNamed {
			return nil, err
		}
		sort.Slice(c.drift.Examples[DriftChanged], func(i, j int) bool {
			return c.drift.Examples[DriftChanged][i].RecoveryPoint < c.drift.Examples[DriftChanged][j].RecoveryPoint
		})
	}
	c.changed = nil
	c.drift.PolicyHash = [2]string{c.File.PolicyHash, policyHash}
	c.drift.Inventory = [2]Fingerprint{c.File.Trailer.Inventory, c.fp.Sum()}
	c.drift.ApprovedCreated = c.File.CreatedAt
	d := c.drift
	return &d, nil
}

// Allows reports whether the run may copy the recovery point arn: it is
// in the plan and included now with the same decision.
func (c *Comparison) Allows(arn string) bool {
	return c.plan[keyOf(arn)].ok
}

// Checksum is the approved plan's checksum, which names it in the run
// history.
func (c *Comparison) Checksum() string { return c.File.Trailer.Checksum }

// RunFlag is the key under which the run history (state.Run.Flags)
// records the checksum of the approved plan a run followed.
const RunFlag = "approved_plan"
