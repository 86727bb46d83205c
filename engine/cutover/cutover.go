// Package cutover answers the question asked before the source
// account's backup plans are pointed at the destination: has every
// recovery point the policies include, created before a given time,
// been copied, and does its copy verify? It works per source vault from
// the state and a verify report made just before, and says what is
// missing and why.
//
// It only reads: the state (records and each vault's listing marks) and
// the verify report it is given. It must not call AWS, write the state
// or run policies.
package cutover

import (
	"context"
	"sort"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/verify"
)

// Schema names the layout of the cutover report.
const Schema = "shuffle.cutover/v1"

// Why names the reason an included RP stands in the way of a cutover.
type Why string

// Reasons an RP is missing.
const (
	// NotCopied: its copy has not completed (queued, running, retry,
	// failed, held); Status says which.
	NotCopied Why = "not copied"
	// NotVerified: its copy completed but did not verify.
	NotVerified Why = "copy did not verify"
	// Lost: the source RP went (a listing no longer found it, or its
	// lifecycle deleted it) before it was copied.
	Lost Why = "gone from the source before it was copied"
)

// Missing is one included RP created before the cutover time that is not
// copied and verified.
type Missing struct {
	Vault        string    `json:"vault"`
	Arn          string    `json:"arn"`
	ResourceArn  string    `json:"resource_arn"`
	CreationDate time.Time `json:"creation_date"`
	Status       string    `json:"status"` // state.RowStatus
	Why          Why       `json:"why"`
}

// Vault is one source vault's answer.
type Vault struct {
	Vault string `json:"vault"`
	// ListedAt is when the last listing of the vault that ended (delta
	// or full) began; Covered says that was at or after the cutover
	// time, so the state knows every RP created before it.
	ListedAt time.Time `json:"listed_at"`
	Covered  bool      `json:"covered"`
	Included int64     `json:"included"` // included RPs created before the cutover time
	Verified int64     `json:"verified"`
	Missing  int64     `json:"missing"`
	Lost     int64     `json:"lost"` // of Missing, gone before they were copied
	Ready    bool      `json:"ready"`
}

// Report is the cutover answer.
type Report struct {
	Schema      string    `json:"schema"`
	GeneratedAt time.Time `json:"generated_at"`
	AsOf        time.Time `json:"as_of"`
	Ready       bool      `json:"ready"`
	Included    int64     `json:"included"`
	Verified    int64     `json:"verified"`
	MissingN    int64     `json:"missing"`
	Vaults      []*Vault  `json:"vaults"`
	// Missing lists the first MaxListed missing RPs, oldest first.
	Missing []*Missing `json:"missing_recovery_points"`
}

// MaxListed caps the missing RPs a report lists (all are counted).
const MaxListed = 1000

// Check answers for every source vault in st as of asOf, with rep the
// verify report made just before (its problems name the copies that
// did not verify).
func Check(ctx context.Context, st *state.Store, rep *verify.Report, asOf, now time.Time) (*Report, error) {
	bad := map[string]bool{}
	for _, p := range rep.Problems {
		bad[p.SourceVault+"\x00"+p.SourceRPArn] = true
	}
	vaults, err := st.Vaults(state.Source)
	if err != nil {
		return nil, err
	}
	out := &Report{Schema: Schema, GeneratedAt: now.UTC(), AsOf: asOf.UTC(), Ready: true, Vaults: []*Vault{}, Missing: []*Missing{}}
	var missing []*Missing
	for _, v := range vaults {
		cv := &Vault{Vault: v.Name, ListedAt: v.Marks.CoveredAt}
		cv.Covered = v.InventoryDone != 0 && !cv.ListedAt.IsZero() && !cv.ListedAt.Before(asOf)
		err := st.JoinCopies(v.Name, func(rp *state.RP, rec *state.CopyRecord) error {
			if rp == nil || rp.Decision == nil || rp.Decision.Outcome != state.Included || !rp.CreationDate.Before(asOf) {
				return nil
			}
			cv.Included++
			m := judge(rp, rec, bad[rp.Vault+"\x00"+rp.Arn], now)
			if m == nil {
				cv.Verified++
				return nil
			}
			cv.Missing++
			if m.Why == Lost {
				cv.Lost++
			}
			missing = append(missing, m)
			return ctx.Err()
		})
		if err != nil {
			return nil, err
		}
		cv.Ready = cv.Covered && cv.Missing == 0
		out.Ready = out.Ready && cv.Ready
		out.Included += cv.Included
		out.Verified += cv.Verified
		out.MissingN += cv.Missing
		out.Vaults = append(out.Vaults, cv)
	}
	sort.Slice(missing, func(i, j int) bool {
		a, b := missing[i], missing[j]
		return a.CreationDate.Before(b.CreationDate) || (a.CreationDate.Equal(b.CreationDate) && a.Arn < b.Arn)
	})
	if len(missing) > MaxListed {
		missing = missing[:MaxListed]
	}
	out.Missing = append(out.Missing, missing...)
	return out, nil
}

// judge returns why an included RP is not copied and verified, or nil
// when it is.
func judge(rp *state.RP, rec *state.CopyRecord, unverified bool, now time.Time) *Missing {
	m := &Missing{Vault: rp.Vault, Arn: rp.Arn, ResourceArn: rp.ResourceArn, CreationDate: rp.CreationDate, Status: state.RowStatus(rp, rec)}
	switch {
	case rec != nil && rec.State == state.CopyCompleted && !unverified:
		return nil
	case rec != nil && rec.State == state.CopyCompleted:
		m.Why = NotVerified
	case rp.Gone || (rp.DeleteAt != nil && !rp.DeleteAt.After(now)):
		m.Why = Lost
	default:
		m.Why = NotCopied
	}
	return m
}
