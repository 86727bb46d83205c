package query

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Row is one RP with its copy record (nil when it has none).
type Row struct {
	RP     *state.RP
	Copy   *state.CopyRecord
	Status string
}

// Query calls fn for every RP that passes f, in vault and ARN order.
// Returning ErrStop from fn ends the scan without an error.
func Query(ctx context.Context, st *state.Store, f Filter, fn func(Row) error) error {
	return query(ctx, st, f, nil, fn)
}

// scanQuery is Query for a question the counters cannot answer: it tells
// ctx's ScanReporter why, and how far the scan is.
func scanQuery(ctx context.Context, st *state.Store, f Filter, why string, fn func(Row) error) error {
	r := reporterOf(ctx)
	if r != nil {
		r.ScanStart(why, scanTotal(st, f))
	}
	return query(ctx, st, f, r, fn)
}

func query(ctx context.Context, st *state.Store, f Filter, r ScanReporter, fn func(Row) error) error {
	vaults := []string{""}
	if len(f.Vaults) > 0 {
		vaults = append([]string(nil), f.Vaults...)
		sort.Strings(vaults)
	}
	n := 0
	// A metadata field no scanned RP has is most likely a typo of a
	// filter or column name: say so instead of matching nothing.
	unseen := map[string]bool{}
	for k := range f.Meta {
		unseen[k] = true
	}
	for _, v := range vaults {
		err := JoinCopies(st, v, func(rp *state.RP, rec *state.CopyRecord) error {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				if r != nil {
					r.Scanned(int64(n))
				}
			}
			if rp == nil {
				return nil
			}
			if len(unseen) > 0 && rp.Meta != nil {
				for k := range unseen {
					if _, ok := rp.Meta.Fields[k]; ok {
						delete(unseen, k)
					}
				}
			}
			if !f.Match(rp, rec) {
				return nil
			}
			return fn(Row{RP: rp, Copy: rec, Status: RowStatus(rp, rec)})
		})
		if errors.Is(err, ErrStop) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if n > 0 && len(unseen) > 0 {
		names := make([]string, 0, len(unseen))
		for k := range unseen {
			names = append(names, k)
		}
		sort.Strings(names)
		return fmt.Errorf("no recovery point has a metadata field %q, and it is not a filter (filters: %s, or a metadata column)",
			names[0], strings.Join(FilterKeys, ", "))
	}
	return nil
}

// ErrStop ends a Query early.
var ErrStop = errors.New("stop")

// Count counts the RPs that pass f: from the counters when one cube
// holds f's fields, otherwise by a scan.
func Count(ctx context.Context, st *state.Store, f Filter) (int64, error) {
	groups, why, err := counted(st, f, "")
	if err != nil || why == "" {
		var n int64
		for _, g := range groups {
			n += g.Count
		}
		return n, err
	}
	var n int64
	err = scanQuery(ctx, st, f, why, func(Row) error { n++; return nil })
	return n, err
}

// Find returns at most limit rows that pass f (limit <= 0: all), and
// how many passed in all. When the counters give the total, the scan
// stops at the limit.
func Find(ctx context.Context, st *state.Store, f Filter, limit int) ([]Row, int64, error) {
	// Grouped by vault, the counters also say which vaults to read.
	groups, why, err := counted(st, f, "vault")
	if err != nil {
		return nil, 0, err
	}
	var out []Row
	var n int64
	visit := func(r Row) error {
		n++
		if limit <= 0 || len(out) < limit {
			out = append(out, r)
		}
		return nil
	}
	if why != "" {
		err = scanQuery(ctx, st, f, why, visit)
		return out, n, err
	}
	var total int64
	narrowed := f
	narrowed.Vaults = nil
	for _, g := range groups {
		total += g.Count
		if g.Count > 0 {
			narrowed.Vaults = append(narrowed.Vaults, g.Key)
		}
	}
	if total == 0 {
		return nil, 0, nil
	}
	if limit <= 0 || int64(limit) > total {
		limit = int(total)
	}
	err = Query(ctx, st, narrowed, func(r Row) error {
		out = append(out, r)
		if len(out) >= limit {
			return ErrStop
		}
		return nil
	})
	return out, total, err
}

// Group is one group of group{by=...}.
type Group struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
	Bytes int64  `json:"bytes"`
}

// GroupBy counts the RPs that pass f by the value of one field (a
// GroupKeys name or a metadata field), largest group first.
func GroupBy(ctx context.Context, st *state.Store, f Filter, by string) ([]Group, error) {
	by = strings.ToLower(by)
	if by == "" {
		return nil, fmt.Errorf("group needs by=FIELD: one of %s, or a metadata field", strings.Join(GroupKeys, ", "))
	}
	key := func(r Row) string {
		rp := r.RP
		switch by {
		case "vault":
			return rp.Vault
		case "status", "state":
			return r.Status
		case "resource_type", "type":
			return rp.ResourceType
		case "outcome", "decision":
			if rp.Decision == nil {
				return Undecided
			}
			return rp.Decision.Outcome
		case "reason":
			if r.Copy != nil && r.Copy.Reason != "" && r.Copy.State != state.CopyCompleted {
				return r.Copy.Reason
			}
			if rp.Decision == nil {
				return ""
			}
			return rp.Decision.Reason
		case "rule":
			if rp.Decision == nil {
				return ""
			}
			return rp.Decision.Rule
		case "created_month":
			return rp.CreationDate.Local().Format("2006-01")
		case "created_year":
			return rp.CreationDate.Local().Format("2006")
		default:
			v, ok := metaField(rp, by)
			if !ok {
				return "(none)"
			}
			return v
		}
	}
	groups, why, err := counted(st, f, by)
	if err != nil {
		return nil, err
	}
	if why != "" {
		groups = map[string]*Group{}
		err = scanQuery(ctx, st, f, why, func(r Row) error {
			k := key(r)
			g := groups[k]
			if g == nil {
				g = &Group{Key: k}
				groups[k] = g
			}
			g.Count++
			g.Bytes += r.RP.Size
			return nil
		})
	}
	out := make([]Group, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out, err
}

// FindRP finds one RP by its ARN (in any vault), with its copy record.
func FindRP(ctx context.Context, st *state.Store, arn string) (*Row, error) {
	// An RP's key is its source vault and ARN, and a migration has a
	// dozen source vaults: a point read in each finds it without a scan
	// of every RP (3.8 s at a million RPs, issue 17).
	if vaults, err := st.Vaults(state.Source); err == nil {
		for _, v := range vaults {
			rp, ok, err := st.GetRP(v.Name, arn)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			rec, _, err := st.GetCopy(v.Name, arn)
			if err != nil {
				return nil, err
			}
			return &Row{RP: rp, Copy: rec, Status: RowStatus(rp, rec)}, nil
		}
	}
	// Not under a known vault: the scan looks everywhere.
	var found *Row
	err := Query(ctx, st, Filter{Arn: arn}, func(r Row) error {
		found = &r
		return ErrStop
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("no recovery point %q in the state", arn)
	}
	return found, nil
}
