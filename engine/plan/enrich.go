package plan

import (
	"context"
	"encoding/hex"
	"hash/fnv"
	"sort"
	"strconv"
	"sync"

	"github.com/shuffle-migrate/shuffle/engine/metadata"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// EnrichSummary is what one metadata join did.
type EnrichSummary struct {
	Matched   int64 `json:"matched"`   // RPs whose resource has a metadata row
	Unmatched int64 `json:"unmatched"` // RPs whose resource has none
	Conflicts int64 `json:"conflicts"` // RPs whose resource has conflicting rows
	Updated   int64 `json:"updated"`   // RP records whose metadata changed
	Rows      int   `json:"rows"`      // data rows in the CSV
	Resources int   `json:"resources"` // distinct ARNs in the CSV
	// RowsWithoutRPs counts CSV resources that have no recovery point.
	RowsWithoutRPs int `json:"rows_without_rps"`
}

// RequireColumns checks the metadata table against the columns the
// policy modules declare they read (requires.columns): a missing column
// is a *metadata.MissingColumnsError and a value of one that spans lines
// a *metadata.ParseError. The engine calls it in shuffle.config, before the state is
// opened, so a CSV the policies cannot use leaves nothing written.
func RequireColumns(t *metadata.Table, p *luabind.Policies) error {
	var reqs []metadata.Requirement
	for _, c := range p.RequiredColumns() {
		reqs = append(reqs, metadata.Requirement{Column: c.Column, By: c.File})
	}
	return t.Require(reqs)
}

// Enrich joins the metadata table to every RP by resourceArn. The table
// is parsed (and so validated) before this is called, so a malformed CSV
// never leaves the state half-updated.
//
// csvHash fingerprints the CSV: when neither it nor the inventory has
// changed since the last join, the join is skipped.
func Enrich(ctx context.Context, st *state.Store, t *metadata.Table, csvHash string) (EnrichSummary, error) {
	if sum, ok, err := EnrichCached(st, csvHash); err != nil || ok {
		return sum, err
	}
	sum, err := enrich(ctx, st, t)
	if err != nil {
		return sum, err
	}
	return sum, PutEnrichCache(st, csvHash, sum)
}

type enrichCache struct {
	CSV     string        `json:"csv"`
	Inv     string        `json:"inv"`
	Meta    string        `json:"meta"`
	Summary EnrichSummary `json:"summary"`
}

// EnrichCached returns the last join's summary when neither the CSV nor
// the inventory nor any metadata has changed since.
func EnrichCached(st *state.Store, csvHash string) (EnrichSummary, bool, error) {
	ep, err := st.Epochs()
	if err != nil {
		return EnrichSummary{}, false, err
	}
	var c enrichCache
	ok, err := st.GetCache("enrich", &c)
	if err != nil || !ok || c.CSV != csvHash || c.Inv != ep.Inv || c.Meta != ep.Meta {
		return EnrichSummary{}, false, err
	}
	c.Summary.Updated = 0
	return c.Summary, true, nil
}

// PutEnrichCache records a completed join against the current epochs.
func PutEnrichCache(st *state.Store, csvHash string, sum EnrichSummary) error {
	ep, err := st.Epochs()
	if err != nil {
		return err
	}
	return st.PutCache("enrich", enrichCache{CSV: csvHash, Inv: ep.Inv, Meta: ep.Meta, Summary: sum})
}

func enrich(ctx context.Context, st *state.Store, t *metadata.Table) (EnrichSummary, error) {
	sum := EnrichSummary{Rows: t.Rows, Resources: t.Len()}
	used := make(map[string]bool, t.Len())
	j := newJoiner(t)
	b := st.NewBatch(state.EpochMeta)
	defer b.Cancel()
	err := st.ScanRPs(func(rp *state.RP) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		sum.tally(t, rp.ResourceArn, used)
		if !j.apply(rp) {
			return nil
		}
		sum.Updated++
		return b.Put(rp)
	})
	if err != nil {
		return sum, err
	}
	sum.RowsWithoutRPs = t.Len() - len(used)
	return sum, b.Flush()
}

func (sum *EnrichSummary) tally(t *metadata.Table, resourceArn string, used map[string]bool) {
	e, ok := t.Lookup(resourceArn)
	if !ok {
		sum.Unmatched++
		return
	}
	used[e.ResourceArn] = true // the table's string: the RP's may share memory with a whole listing record
	sum.Matched++
	if e.Conflict != nil {
		sum.Conflicts++
	}
}

// EnrichCounts computes what a join would report without writing: it
// reads only each record's resource ARN. The join itself then happens in
// the decide pass, which writes every RP once instead of twice.
func EnrichCounts(ctx context.Context, st *state.Store, t *metadata.Table) (EnrichSummary, error) {
	sum := EnrichSummary{Rows: t.Rows, Resources: t.Len()}
	used := make(map[string]bool, t.Len())
	err := st.ScanResourceArns(func(resourceArn string) error {
		sum.tally(t, resourceArn, used)
		return ctx.Err()
	})
	sum.RowsWithoutRPs = t.Len() - len(used)
	return sum, err
}

// joiner sets an RP's metadata snapshot from the table, building and
// hashing each table entry's snapshot once. RPs joined to one entry
// share its snapshot (read-only). Safe for concurrent use.
type joiner struct {
	t    *metadata.Table
	mu   sync.Mutex
	done map[*metadata.Entry]joined
}

type joined struct {
	m *state.Meta
	h string
}

func newJoiner(t *metadata.Table) *joiner {
	return &joiner{t: t, done: map[*metadata.Entry]joined{}}
}

// apply updates rp's metadata and reports whether it changed.
func (j *joiner) apply(rp *state.RP) bool {
	e, ok := j.t.Lookup(rp.ResourceArn)
	var m *state.Meta
	h := "none"
	if ok {
		j.mu.Lock()
		jd, seen := j.done[e]
		if !seen {
			jd.m = &state.Meta{Fields: e.Fields, Blank: e.Blank, Lines: e.Lines}
			jd.m.SortKeys()
			if c := e.Conflict; c != nil {
				jd.m.Conflict = &state.Conflict{Field: c.Field, Values: c.Values, Lines: c.Lines}
			}
			jd.h = metaHash(jd.m)
			j.done[e] = jd
		}
		j.mu.Unlock()
		m, h = jd.m, jd.h
	}
	if rp.Enriched && rp.MetaHash == h {
		return false
	}
	rp.Enriched, rp.MetaHash, rp.Meta = true, h, m
	return true
}

// metaHash fingerprints a metadata snapshot ("none" for no row).
func metaHash(m *state.Meta) string {
	if m == nil {
		return "none"
	}
	h := fnv.New64a()
	keys := make([]string, 0, len(m.Fields))
	for k := range m.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(m.Fields[k]))
		if m.Blank[k] {
			h.Write([]byte{1})
		}
		h.Write([]byte{0})
	}
	if c := m.Conflict; c != nil {
		h.Write([]byte("conflict\x00" + c.Field))
		for _, v := range c.Values {
			h.Write([]byte("\x00" + v))
		}
		for _, l := range c.Lines {
			h.Write([]byte("\x00" + strconv.Itoa(l)))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
