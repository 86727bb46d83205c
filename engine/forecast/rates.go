package forecast

import (
	"sort"
)

// sizeClasses bound the size rates (bytes).
var sizeClasses = []struct {
	label string
	max   int64 // exclusive; 0: none
}{
	{"< 1 GiB", 1 << 30},
	{"1-10 GiB", 10 << 30},
	{"10-100 GiB", 100 << 30},
	{"100 GiB-1 TiB", 1 << 40},
	{"1-10 TiB", 10 << 40},
	{">= 10 TiB", 0},
}

func sizeClass(size int64) int {
	for i, c := range sizeClasses {
		if c.max == 0 || size < c.max {
			return i
		}
	}
	return len(sizeClasses) - 1
}

// rates is what the completed copies say about speed, and their
// completion times (Unix ns, ascending) for the chart.
func (sc *scan) rates() (Rates, []int64) {
	r := Rates{BySize: sc.sizeRates()}
	jobs := sc.done
	r.OverheadSeconds, r.OverheadSamples = overhead(jobs)
	r.BusyHours = float64(busyTime(jobs)) / 3.6e12
	if r.BusyHours > 0 {
		r.CompletedPerHour = float64(len(jobs)) / r.BusyHours
		var b int64
		for _, t := range sc.sums {
			b += t.bytes
		}
		r.BytesPerHour = float64(b) / r.BusyHours
	}
	r.RunHours = sc.runHours
	if r.RunHours > 0 {
		r.CompletedPerRunHour = float64(sc.st.Completed) / r.RunHours
	}
	done := make([]int64, len(jobs))
	for i, j := range jobs {
		done[i] = j.end
	}
	sort.Slice(done, func(i, j int) bool { return done[i] < done[j] })
	sc.done = nil
	return r, done
}

// sizeRates are the observed rates by size class.
func (sc *scan) sizeRates() []SizeRate {
	var out []SizeRate
	for i, c := range sizeClasses {
		t := &sc.sizeSums[i]
		n := t.n()
		if n == 0 {
			continue
		}
		sr := SizeRate{Label: c.label, MaxBytes: c.max, Samples: n, MeanSeconds: t.seconds() / float64(n)}
		if i > 0 {
			sr.MinBytes = sizeClasses[i-1].max
		}
		if t.seconds() > 0 {
			sr.ObservedBytesPerSecond = float64(t.bytes) / t.seconds()
		}
		out = append(out, sr)
	}
	return out
}

// overhead is the median gap between a completion and the next start of
// the same resource, and how many gaps there were. It sorts jobs by
// resource and start.
func overhead(jobs []doneJob) (float64, int64) {
	sort.Slice(jobs, func(i, j int) bool {
		if jobs[i].res != jobs[j].res {
			return jobs[i].res < jobs[j].res
		}
		return jobs[i].start < jobs[j].start
	})
	var gaps []float64
	for i := 1; i < len(jobs); i++ {
		if jobs[i].res == jobs[i-1].res {
			if g := jobs[i].start - jobs[i-1].end; g >= 0 {
				gaps = append(gaps, float64(g)/1e9)
			}
		}
	}
	if len(gaps) == 0 {
		return 0, 0
	}
	sort.Float64s(gaps)
	med := gaps[len(gaps)/2]
	if len(gaps)%2 == 0 {
		med = (gaps[len(gaps)/2-1] + gaps[len(gaps)/2]) / 2
	}
	return med, int64(len(gaps))
}

// busyTime is the length of the union of [start, end] over jobs, in ns.
// It sorts jobs by start.
func busyTime(jobs []doneJob) int64 {
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].start < jobs[j].start })
	var busy int64
	var curS, curE int64
	for i, j := range jobs {
		switch {
		case i == 0:
			curS, curE = j.start, j.end
		case j.start > curE:
			busy += curE - curS
			curS, curE = j.start, j.end
		case j.end > curE:
			curE = j.end
		}
	}
	if len(jobs) > 0 {
		busy += curE - curS
	}
	return busy
}
