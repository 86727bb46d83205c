package engine

import (
	"context"
	"encoding/hex"
	"hash/fnv"
	"sort"
	"strconv"

	"github.com/shuffle-migrate/shuffle/engine/metadata"
	"github.com/shuffle-migrate/shuffle/engine/state"
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

// Enrich joins the metadata table to every RP by resourceArn. The table
// is parsed (and so validated) before this is called, so a malformed CSV
// never leaves the state half-updated.
//
// csvHash fingerprints the CSV: when neither it nor the inventory has
// changed since the last join, the join is skipped.
func Enrich(ctx context.Context, st *state.Store, t *metadata.Table, csvHash string) (EnrichSummary, error) {
	type cache struct {
		CSV     string        `json:"csv"`
		Inv     string        `json:"inv"`
		Meta    string        `json:"meta"`
		Summary EnrichSummary `json:"summary"`
	}
	ep, err := st.Epochs()
	if err != nil {
		return EnrichSummary{}, err
	}
	var c cache
	if ok, err := st.GetCache("enrich", &c); err != nil {
		return EnrichSummary{}, err
	} else if ok && c.CSV == csvHash && c.Inv == ep.Inv && c.Meta == ep.Meta {
		c.Summary.Updated = 0
		return c.Summary, nil
	}
	sum, err := enrich(ctx, st, t)
	if err != nil {
		return sum, err
	}
	if ep, err = st.Epochs(); err != nil {
		return sum, err
	}
	return sum, st.PutCache("enrich", cache{CSV: csvHash, Inv: ep.Inv, Meta: ep.Meta, Summary: sum})
}

func enrich(ctx context.Context, st *state.Store, t *metadata.Table) (EnrichSummary, error) {
	sum := EnrichSummary{Rows: t.Rows, Resources: t.Len()}
	used := make(map[string]bool, t.Len())
	b := st.NewBatch(state.EpochMeta)
	defer b.Cancel()
	err := st.ScanRPs(func(rp *state.RP) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, ok := t.Lookup(rp.ResourceArn)
		var m *state.Meta
		if ok {
			used[rp.ResourceArn] = true
			sum.Matched++
			m = &state.Meta{Fields: e.Fields, Blank: e.Blank, Lines: e.Lines}
			if c := e.Conflict; c != nil {
				sum.Conflicts++
				m.Conflict = &state.Conflict{Field: c.Field, Values: c.Values, Lines: c.Lines}
			}
		} else {
			sum.Unmatched++
		}
		h := metaHash(m)
		if rp.Enriched && rp.MetaHash == h {
			return nil
		}
		rp.Enriched, rp.MetaHash, rp.Meta = true, h, m
		sum.Updated++
		return b.Put(rp)
	})
	if err != nil {
		return sum, err
	}
	sum.RowsWithoutRPs = t.Len() - len(used)
	return sum, b.Flush()
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
