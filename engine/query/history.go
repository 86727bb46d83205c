package query

import (
	"context"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// RunHistory is one command of the run history with what it copied.
type RunHistory struct {
	state.Run
	Seconds   float64 `json:"seconds"`
	Completed int64   `json:"completed"` // copies that completed between its start and end
	Bytes     int64   `json:"bytes"`
	PerHour   float64 `json:"rps_per_hour"`
	BytesPerS float64 `json:"bytes_per_second"`
}

// History returns the run history, oldest first, with the copies that
// completed within each command's span and their rates. current, when
// not nil, is the command still running (its record is written when it
// ends); it is listed last, with no end.
func History(ctx context.Context, st *state.Store, now time.Time, current *state.Run) ([]RunHistory, error) {
	runs, err := st.Runs()
	if err != nil {
		return nil, err
	}
	if current != nil {
		runs = append(runs, *current)
	}
	out := make([]RunHistory, len(runs))
	for i, r := range runs {
		out[i].Run = r
	}
	err = st.ScanCopies(func(c *state.CopyRecord) error {
		if c.State != state.CopyCompleted || c.CompletedAt == nil {
			return nil
		}
		for i := range out {
			end := out[i].End
			if end.IsZero() {
				end = now
			}
			if !c.CompletedAt.Before(out[i].Start) && !c.CompletedAt.After(end) {
				out[i].Completed++
				out[i].Bytes += c.Size
				break
			}
		}
		return ctx.Err()
	})
	for i := range out {
		end := out[i].End
		if end.IsZero() {
			end = now
		}
		if s := end.Sub(out[i].Start).Seconds(); s > 0 {
			out[i].Seconds = s
			out[i].PerHour = float64(out[i].Completed) / s * 3600
			out[i].BytesPerS = float64(out[i].Bytes) / s
		}
	}
	return out, err
}
