// Command copystats measures a finished copy run against the bundled
// emulator, for `make bench-copy` (docs/performance.md). It lists every
// copy job of the source account with ListCopyJobs and works out, from
// each job's CreationDate, CompletionDate, ResourceArn, destination vault
// and State:
//
//   - makespan: first creation to last completion;
//   - the quota-bound ideal: the largest of (sum of job durations ÷
//     account cap), the longest per-resource chain (the sum of one
//     resource's job durations: 1 job per resource), and, when the
//     per-vault cap applies (over_limit), the largest (vault's sum ÷
//     vault cap);
//   - quota utilisation: time-weighted in-flight jobs over the number
//     allowed. At any instant, allowed = min(account cap, Σ vault cap
//     over destination vaults with work left (only when the vault cap
//     applies), number of resources with work left). A resource or vault
//     has work left until the last of its jobs completes.
//
// Steady state is the window from the first instant in-flight reaches
// A = allowed at the start (the ramp-up is over) to the first instant
// allowed drops below A (the tail: too few resources or vaults left to
// use every slot). allowed never rises, so A is its maximum. If in-flight
// never reaches A, the window starts when in-flight first reaches its own
// maximum, and the report says so.
//
// It also reads the emulator's call counters (GET /_testenv/counters,
// read before this program's own ListCopyJobs calls) and the quotas
// (GET /_testenv/quotas) from the admin API, on the profile's
// endpoint_url unless --admin is given.
//
//	. testenv-run/env && go run ./scripts/copystats [--json]
//	go run ./scripts/copystats --dir testenv-run
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/backup"
)

type quotas struct {
	AccountCopyJobs int  `json:"account_copy_jobs"`
	VaultCopyJobs   int  `json:"vault_copy_jobs"`
	OverLimit       bool `json:"over_limit"`
	ResourceJobs    int  `json:"resource_jobs"`
}

type counters struct {
	Calls          map[string]int64 `json:"calls"`
	StartCopyCalls map[string]int64 `json:"start_copy_calls"`
	JobsCreated    map[string]int64 `json:"jobs_created"`
	Faults         map[string]int64 `json:"faults"`
}

type job struct {
	start, end time.Time
	resource   string
	vault      string
	state      string
}

// Report is the --json form.
type Report struct {
	Quotas          quotas           `json:"quotas"`
	Jobs            int              `json:"jobs"`
	JobsByState     map[string]int   `json:"jobs_by_state"`
	Unfinished      int              `json:"unfinished"`
	Resources       int              `json:"resources"`
	Vaults          int              `json:"vaults"`
	MakespanS       float64          `json:"makespan_s"`
	SumDurationsS   float64          `json:"sum_durations_s"`
	MeanDurationS   float64          `json:"mean_duration_s"`
	GlobalBoundS    float64          `json:"global_bound_s"`
	ChainBoundS     float64          `json:"chain_bound_s"`
	ChainResource   string           `json:"chain_resource"`
	VaultBoundS     float64          `json:"vault_bound_s,omitempty"`
	VaultBoundVault string           `json:"vault_bound_vault,omitempty"`
	IdealS          float64          `json:"ideal_s"`
	MakespanRatio   float64          `json:"makespan_over_ideal"`
	AllowedMax      int              `json:"allowed_max"`
	MaxInFlight     int              `json:"max_in_flight"`
	SteadyFromS     float64          `json:"steady_from_s"` // seconds after the first creation
	SteadyToS       float64          `json:"steady_to_s"`
	SteadyReached   bool             `json:"steady_reached"` // in-flight reached allowed_max
	SteadyMeanIn    float64          `json:"steady_mean_in_flight"`
	SteadyUtil      float64          `json:"steady_utilisation"`
	SteadyIdleMsJob float64          `json:"steady_idle_slot_ms_per_job"`
	SteadyJobs      int              `json:"steady_jobs_completed"`
	WholeMeanIn     float64          `json:"whole_mean_in_flight"`
	WholeUtil       float64          `json:"whole_utilisation"`
	Calls           map[string]int64 `json:"calls"`
	CallsTotal      int64            `json:"calls_total"`
	CopyCalls       int64            `json:"copy_calls"` // StartCopyJob, ListCopyJobs, DescribeCopyJob, TagResource
	CallsPerRP      float64          `json:"calls_per_completed_rp"`
	CopyCallsPerRP  float64          `json:"copy_calls_per_completed_rp"`
	JobsCreatedMax  int64            `json:"jobs_created_max_per_rp_vault"`
	StartNoJob      int64            `json:"start_calls_without_new_job"`
	Faults          map[string]int64 `json:"faults,omitempty"`
}

var copyOps = map[string]bool{"StartCopyJob": true, "ListCopyJobs": true, "DescribeCopyJob": true, "TagResource": true}

func main() {
	dir := flag.String("dir", "", "the directory 'shuffle testenv up' wrote (default: AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE from the environment)")
	profile := flag.String("profile", "source", "the profile whose copy jobs are measured")
	admin := flag.String("admin", "", "the emulator's base URL (default: the profile's endpoint_url)")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	flag.Parse()
	if err := run(*dir, *profile, *admin, *asJSON, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "copystats:", err)
		os.Exit(1)
	}
}

func run(dir, profile, admin string, asJSON bool, w io.Writer) error {
	ctx := context.Background()
	opts := []func(*config.LoadOptions) error{config.WithSharedConfigProfile(profile)}
	if dir != "" {
		opts = append(opts,
			config.WithSharedConfigFiles([]string{filepath.Join(dir, "aws", "config")}),
			config.WithSharedCredentialsFiles([]string{filepath.Join(dir, "aws", "credentials")}))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("load profile %s: %w", profile, err)
	}
	if admin == "" {
		admin = aws.ToString(cfg.BaseEndpoint)
		if admin == "" {
			return fmt.Errorf("profile %s has no endpoint_url; pass --admin", profile)
		}
	}
	admin = strings.TrimSuffix(admin, "/")
	var q quotas
	if err := getJSON(admin+"/_testenv/quotas", &q); err != nil {
		return err
	}
	var cn counters
	if err := getJSON(admin+"/_testenv/counters", &cn); err != nil {
		return err
	}
	jobs, err := listJobs(ctx, backup.NewFromConfig(cfg))
	if err != nil {
		return err
	}
	r := analyse(jobs, q, time.Now())
	r.Calls, r.Faults = cn.Calls, cn.Faults
	for op, n := range cn.Calls {
		r.CallsTotal += n
		if copyOps[op] {
			r.CopyCalls += n
		}
	}
	var created int64
	for _, n := range cn.JobsCreated {
		created += n
		r.JobsCreatedMax = max(r.JobsCreatedMax, n)
	}
	r.StartNoJob = cn.Calls["StartCopyJob"] - created
	if c := r.JobsByState["COMPLETED"]; c > 0 {
		r.CallsPerRP = float64(r.CallsTotal) / float64(c)
		r.CopyCallsPerRP = float64(r.CopyCalls) / float64(c)
	}
	if asJSON {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(r)
	}
	print(w, r)
	return nil
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func listJobs(ctx context.Context, c *backup.Client) ([]job, error) {
	var out []job
	p := backup.NewListCopyJobsPaginator(c, &backup.ListCopyJobsInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListCopyJobs: %w", err)
		}
		for _, j := range page.CopyJobs {
			if j.CreationDate == nil {
				continue
			}
			jj := job{start: *j.CreationDate, resource: aws.ToString(j.ResourceArn),
				vault: aws.ToString(j.DestinationBackupVaultArn), state: string(j.State)}
			if j.CompletionDate != nil {
				jj.end = *j.CompletionDate
			}
			out = append(out, jj)
		}
	}
	return out, nil
}

// event kinds, in processing order within one instant.
const (
	evEnd = iota
	evResDone
	evVaultDone
	evStart
)

type event struct {
	t    time.Time
	kind int
}

func analyse(jobs []job, q quotas, now time.Time) Report {
	r := Report{Quotas: q, Jobs: len(jobs), JobsByState: map[string]int{}}
	if len(jobs) == 0 {
		return r
	}
	sp := sumJobs(&r, jobs, now)
	al := allowance{q: q, vaultCap: q.OverLimit && q.VaultCopyJobs > 0}
	boundMakespan(&r, sp, al)
	evs := timeline(jobs, sp)
	A := al.of(len(sp.resEnd), len(sp.vaultEnd))
	r.AllowedMax = A
	r.MaxInFlight = maxInFlight(evs)
	target := A
	r.SteadyReached = r.MaxInFlight >= A
	if !r.SteadyReached {
		target = r.MaxInFlight
	}
	integrate(&r, evs, al, sp, A, target)
	return r
}

// jobSpans are the copy jobs' durations summed and their last ends, by
// resource and by destination vault, and the first start and last end.
type jobSpans struct {
	resEnd, vaultEnd map[string]time.Time
	resSum, vaultSum map[string]float64
	first, last      time.Time
}

// sumJobs counts the jobs by state and sums their durations into r and
// the spans; an unfinished job runs until now.
func sumJobs(r *Report, jobs []job, now time.Time) jobSpans {
	sp := jobSpans{resEnd: map[string]time.Time{}, resSum: map[string]float64{}, vaultEnd: map[string]time.Time{}, vaultSum: map[string]float64{}}
	sp.first = jobs[0].start
	for i := range jobs {
		j := &jobs[i]
		r.JobsByState[j.state]++
		if j.end.IsZero() {
			r.Unfinished++
			j.end = now
		}
		d := j.end.Sub(j.start).Seconds()
		r.SumDurationsS += d
		sp.resSum[j.resource] += d
		sp.vaultSum[j.vault] += d
		if j.end.After(sp.resEnd[j.resource]) {
			sp.resEnd[j.resource] = j.end
		}
		if j.end.After(sp.vaultEnd[j.vault]) {
			sp.vaultEnd[j.vault] = j.end
		}
		if j.start.Before(sp.first) {
			sp.first = j.start
		}
		if j.end.After(sp.last) {
			sp.last = j.end
		}
	}
	r.Resources, r.Vaults = len(sp.resSum), len(sp.vaultSum)
	r.MakespanS = sp.last.Sub(sp.first).Seconds()
	r.MeanDurationS = r.SumDurationsS / float64(len(jobs))
	return sp
}

// allowance is how many copies the quotas allow at once.
type allowance struct {
	q        quotas
	vaultCap bool // the per-vault quota applies
}

// of is the copies allowed at once while resLeft resources and
// vaultsLeft vaults still have copies to make.
func (al allowance) of(resLeft, vaultsLeft int) int {
	a := min(al.q.AccountCopyJobs, resLeft*max(1, al.q.ResourceJobs))
	if al.vaultCap {
		a = min(a, vaultsLeft*al.q.VaultCopyJobs)
	}
	return a
}

// boundMakespan works out the lower bounds of the makespan (the account
// quota, the longest resource chain, the busiest vault) and how far the
// run was from the highest.
func boundMakespan(r *Report, sp jobSpans, al allowance) {
	r.GlobalBoundS = r.SumDurationsS / float64(al.q.AccountCopyJobs)
	for res, s := range sp.resSum {
		if s > r.ChainBoundS {
			r.ChainBoundS, r.ChainResource = s, res
		}
	}
	r.IdealS = max(r.GlobalBoundS, r.ChainBoundS)
	if al.vaultCap {
		for v, s := range sp.vaultSum {
			if b := s / float64(al.q.VaultCopyJobs); b > r.VaultBoundS {
				r.VaultBoundS, r.VaultBoundVault = b, v
			}
		}
		r.IdealS = max(r.IdealS, r.VaultBoundS)
	}
	r.MakespanRatio = r.MakespanS / r.IdealS
}

// timeline is the jobs' starts and ends and the times resources and
// vaults are done, in time order.
func timeline(jobs []job, sp jobSpans) []event {
	evs := make([]event, 0, 2*len(jobs)+len(sp.resEnd)+len(sp.vaultEnd))
	for _, j := range jobs {
		evs = append(evs, event{j.start, evStart}, event{j.end, evEnd})
	}
	for _, t := range sp.resEnd {
		evs = append(evs, event{t, evResDone})
	}
	for _, t := range sp.vaultEnd {
		evs = append(evs, event{t, evVaultDone})
	}
	sort.Slice(evs, func(a, b int) bool {
		if !evs[a].t.Equal(evs[b].t) {
			return evs[a].t.Before(evs[b].t)
		}
		return evs[a].kind < evs[b].kind
	})
	return evs
}

// maxInFlight is the most jobs in flight at once.
func maxInFlight(evs []event) int {
	inflight, most := 0, 0
	for _, e := range evs {
		switch e.kind {
		case evStart:
			inflight++
		case evEnd:
			inflight--
		}
		most = max(most, inflight)
	}
	return most
}

// integrate integrates in-flight and allowed copies between events, over
// the whole run and over its steady state: from when target jobs are in
// flight with all A allowed, until fewer are allowed.
func integrate(r *Report, evs []event, al allowance, sp jobSpans, A, target int) {
	resLeft, vaultsLeft := len(sp.resEnd), len(sp.vaultEnd)
	inflight := 0
	var wholeIn, wholeAl, ssIn, ssAl float64
	var t0, t1 time.Time
	inSS, ssDone := false, false
	prev := sp.first
	for i := 0; i < len(evs); {
		t := evs[i].t
		dt := t.Sub(prev).Seconds()
		allowed := al.of(resLeft, vaultsLeft)
		wholeIn += float64(inflight) * dt
		wholeAl += float64(allowed) * dt
		if inSS {
			ssIn += float64(inflight) * dt
			ssAl += float64(allowed) * dt
		}
		ended := 0
		for ; i < len(evs) && evs[i].t.Equal(t); i++ {
			switch evs[i].kind {
			case evStart:
				inflight++
			case evEnd:
				inflight--
				ended++
			case evResDone:
				resLeft--
			case evVaultDone:
				vaultsLeft--
			}
		}
		if inSS {
			r.SteadyJobs += ended
		}
		allowed = al.of(resLeft, vaultsLeft)
		if !inSS && !ssDone && inflight >= target && allowed >= A {
			inSS, t0 = true, t
		}
		if inSS && allowed < A {
			inSS, ssDone, t1 = false, true, t
		}
		prev = t
	}
	if inSS {
		t1 = sp.last
	}
	if wholeAl > 0 {
		r.WholeMeanIn = wholeIn / sp.last.Sub(sp.first).Seconds()
		r.WholeUtil = wholeIn / wholeAl
	}
	if !t0.IsZero() {
		r.SteadyFromS, r.SteadyToS = t0.Sub(sp.first).Seconds(), t1.Sub(sp.first).Seconds()
		if w := t1.Sub(t0).Seconds(); w > 0 {
			r.SteadyMeanIn = ssIn / w
			r.SteadyUtil = ssIn / ssAl
			if r.SteadyJobs > 0 {
				// Little's law: idle slot-time in the window per job that ended in it.
				r.SteadyIdleMsJob = (ssAl - ssIn) / float64(r.SteadyJobs) * 1000
			}
		}
	}
}

func print(w io.Writer, r Report) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	pct := func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }
	sec := func(x float64) string { return fmt.Sprintf("%.2f s", x) }
	states := make([]string, 0, len(r.JobsByState))
	for s, n := range r.JobsByState {
		states = append(states, fmt.Sprintf("%s %d", s, n))
	}
	sort.Strings(states)
	vc := "off (over_limit=false)"
	if r.Quotas.OverLimit {
		vc = fmt.Sprint(r.Quotas.VaultCopyJobs)
	}
	fmt.Fprintf(tw, "quotas\taccount %d, vault %s, resource %d\n", r.Quotas.AccountCopyJobs, vc, r.Quotas.ResourceJobs)
	fmt.Fprintf(tw, "copy jobs\t%d (%s); %d resources, %d destination vaults\n", r.Jobs, strings.Join(states, ", "), r.Resources, r.Vaults)
	if r.Unfinished > 0 {
		fmt.Fprintf(tw, "WARNING\t%d jobs not finished; counted as ending now\n", r.Unfinished)
	}
	fmt.Fprintf(tw, "sum of job durations\t%s (mean %.1f ms per job)\n", sec(r.SumDurationsS), 1000*r.MeanDurationS)
	fmt.Fprintf(tw, "bound: sum ÷ account cap\t%s\n", sec(r.GlobalBoundS))
	fmt.Fprintf(tw, "bound: longest resource chain\t%s\t%s\n", sec(r.ChainBoundS), r.ChainResource)
	if r.VaultBoundVault != "" {
		fmt.Fprintf(tw, "bound: vault sum ÷ vault cap\t%s\t%s\n", sec(r.VaultBoundS), r.VaultBoundVault)
	}
	fmt.Fprintf(tw, "ideal (largest bound)\t%s\n", sec(r.IdealS))
	fmt.Fprintf(tw, "makespan\t%s\t%.3f × ideal (target ≤ 1.05)\n", sec(r.MakespanS), r.MakespanRatio)
	fmt.Fprintf(tw, "allowed in flight (start)\t%d\tmax observed in flight %d\n", r.AllowedMax, r.MaxInFlight)
	ss := ""
	if !r.SteadyReached {
		ss = " (in-flight never reached allowed; window starts at its own maximum)"
	}
	fmt.Fprintf(tw, "steady state\t%s to %s after the first job%s; %d jobs ended in it\n", sec(r.SteadyFromS), sec(r.SteadyToS), ss, r.SteadyJobs)
	fmt.Fprintf(tw, "utilisation, steady state\t%s\tmean in flight %.2f of %d (target ≥ 95%%); idle slot time %.2f ms per job\n", pct(r.SteadyUtil), r.SteadyMeanIn, r.AllowedMax, r.SteadyIdleMsJob)
	fmt.Fprintf(tw, "utilisation, whole run\t%s\tmean in flight %.2f\n", pct(r.WholeUtil), r.WholeMeanIn)
	ops := make([]string, 0, len(r.Calls))
	for op := range r.Calls {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		fmt.Fprintf(tw, "API calls: %s\t%d\t%.3f per completed RP\n", op, r.Calls[op], perRP(r.Calls[op], r))
	}
	fmt.Fprintf(tw, "API calls: all\t%d\t%.3f per completed RP (target ≤ 1.3)\n", r.CallsTotal, r.CallsPerRP)
	fmt.Fprintf(tw, "API calls: copy ops only\t%d\t%.3f per completed RP (StartCopyJob, ListCopyJobs, DescribeCopyJob, TagResource)\n", r.CopyCalls, r.CopyCallsPerRP)
	fmt.Fprintf(tw, "StartCopyJob calls that created no job\t%d\tmost jobs for one RP and vault: %d\n", r.StartNoJob, r.JobsCreatedMax)
	if len(r.Faults) > 0 {
		fmt.Fprintf(tw, "faults injected\t%v\n", r.Faults)
	}
	tw.Flush()
}

func perRP(n int64, r Report) float64 {
	c := r.JobsByState["COMPLETED"]
	if c == 0 {
		return math.NaN()
	}
	return float64(n) / float64(c)
}
