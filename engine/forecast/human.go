package forecast

import (
	"fmt"
	"time"
)

// HumanDuration prints a duration for operators, to its two largest
// units: "250ms", "4.2s", "12m 5s", "3h 20m", "8h", "2d 4h".
func HumanDuration(d time.Duration) string {
	if d < 0 {
		return "-" + HumanDuration(-d)
	}
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Round(time.Millisecond)/time.Millisecond)
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	s := int64(d.Round(time.Second) / time.Second)
	units := []struct {
		n    int64
		name string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}}
	for i, u := range units {
		if s < u.n {
			continue
		}
		out := fmt.Sprintf("%d%s", s/u.n, u.name)
		if i+1 < len(units) {
			if r := s % u.n / units[i+1].n; r > 0 {
				out += fmt.Sprintf(" %d%s", r, units[i+1].name)
			}
		}
		return out
	}
	return "0s"
}
