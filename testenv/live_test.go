package testenv_test

// Live mode through aws-sdk-go-v2: a tick adds one recovery point per
// planned resource and the listings, counts and lifecycles say so; after
// enough ticks the first ones expire, a copy started before keeps going,
// and StartCopyJob of an expired one fails. Ticks are manual and the
// server's clock is an sdkClock the test advances by one simulated day
// before each tick, so nothing depends on how fast the machine is. The
// Backup clients sign with that clock: the test moves it days ahead.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// liveDay is the simulated day of these tests. It is long, so that the
// server's own ticker never fires while a test runs.
const liveDay = time.Hour

// liveRun is an emulator in live mode on a clock the test drives.
type liveRun struct {
	t     *testing.T
	env   *testenvtest.Env
	clock *sdkClock
	c     *backup.Client
	// vault is the vault of every source RP the test has seen, by ARN.
	vault map[string]string
}

func newLiveRun(t *testing.T, rps int, copySpeed float64) *liveRun {
	clock := newSDKClock()
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: rps, CopySpeed: copySpeed, Now: clock.Now,
		Live: &testenv.LiveOptions{Day: liveDay}})
	r := &liveRun{t: t, env: env, clock: clock, vault: map[string]string{}}
	r.c = sdkBackup(t, env, testenv.ProfileSource, sdkSignWith(clock.Now))
	return r
}

// seeded lists every source RP and remembers its vault.
func (r *liveRun) seeded() []sdkRP {
	r.t.Helper()
	var all []sdkRP
	for _, name := range sdkVaultNames(r.t, r.c) {
		rps, _ := sdkListRPs(r.t, r.c, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(name)})
		for _, rp := range rps {
			all = append(all, sdkRP{Vault: name, RecoveryPointByBackupVault: rp})
			r.vault[aws.ToString(rp.RecoveryPointArn)] = name
		}
	}
	return all
}

// tick lets one simulated day pass on the clock, then ticks.
func (r *liveRun) tick() testenv.LiveTickResult {
	r.clock.Advance(liveDay)
	res := r.env.LiveTick()
	if res.Created != len(res.CreatedArns) || res.Expired != len(res.ExpiredArns) || res.Cold != len(res.ColdArns) {
		r.t.Fatalf("day %d: counts %d/%d/%d disagree with the ARN lists %d/%d/%d", res.Day,
			res.Created, res.Expired, res.Cold, len(res.CreatedArns), len(res.ExpiredArns), len(res.ColdArns))
	}
	return res
}

// counts is NumberOfRecoveryPoints of every source vault.
func (r *liveRun) counts() map[string]int64 {
	r.t.Helper()
	n := map[string]int64{}
	p := backup.NewListBackupVaultsPaginator(r.c, &backup.ListBackupVaultsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(sdkCtx)
		sdkNoErr(r.t, err, "ListBackupVaults")
		for _, v := range page.BackupVaultList {
			n[aws.ToString(v.BackupVaultName)] = v.NumberOfRecoveryPoints
		}
	}
	return n
}

// listNew lists the RPs of every source vault created in the simulated
// day that res ended, checks they are exactly res's, vault by vault, and
// remembers their vaults. ByCreatedAfter is half a day before the tick:
// the SDK sends it in whole seconds, so the time the day began would
// take the previous day's recovery points in.
func (r *liveRun) listNew(res testenv.LiveTickResult) []sdkRP {
	r.t.Helper()
	after := res.Time.Add(-liveDay / 2)
	want := map[string]bool{}
	for _, arn := range res.CreatedArns {
		want[arn] = true
	}
	var out []sdkRP
	for _, name := range sdkVaultNames(r.t, r.c) {
		rps, _ := sdkListRPs(r.t, r.c, &backup.ListRecoveryPointsByBackupVaultInput{
			BackupVaultName: aws.String(name), ByCreatedAfter: aws.Time(after)})
		if len(rps) != res.Vaults[name] {
			r.t.Errorf("vault %s lists %d RPs created in the day, the tick made %d there", name, len(rps), res.Vaults[name])
		}
		for _, rp := range rps {
			arn := aws.ToString(rp.RecoveryPointArn)
			if !want[arn] {
				r.t.Errorf("vault %s lists %s as created in the day; the tick did not make it (or it is listed twice)", name, arn)
			}
			delete(want, arn)
			r.vault[arn] = name
			out = append(out, sdkRP{Vault: name, RecoveryPointByBackupVault: rp})
		}
	}
	for arn := range want {
		r.t.Errorf("the tick made %s, but no vault lists it with ByCreatedAfter", arn)
	}
	return out
}

// checkCounts checks that each vault's NumberOfRecoveryPoints moved by
// what res created and expired in it.
func (r *liveRun) checkCounts(before, after map[string]int64, res testenv.LiveTickResult) {
	r.t.Helper()
	delta := map[string]int64{}
	for name, n := range res.Vaults {
		delta[name] += int64(n)
	}
	for _, arn := range res.ExpiredArns {
		name, ok := r.vault[arn]
		if !ok {
			r.t.Errorf("day %d expired %s, a recovery point the test never saw", res.Day, arn)
		}
		delta[name]--
	}
	for name, n := range after {
		if n-before[name] != delta[name] {
			r.t.Errorf("day %d: NumberOfRecoveryPoints of %s went from %d to %d, want a change of %d", res.Day, name, before[name], n, delta[name])
		}
	}
}

// livePlan is the backup plan id of an RP, or "".
func livePlan(rp sdkRP) string {
	if rp.CreatedBy == nil {
		return ""
	}
	return aws.ToString(rp.CreatedBy.BackupPlanId)
}

func near(a, b time.Time) bool { d := a.Sub(b); return d > -time.Millisecond && d < time.Millisecond }

// liveArnShapes is the ARN shape the seed gives each type.
var liveArnShapes = map[string]*regexp.Regexp{
	"EBS":      regexp.MustCompile(`^arn:aws:ec2:us-east-1::snapshot/snap-[0-9a-f]{17}$`),
	"EC2":      regexp.MustCompile(`^arn:aws:ec2:us-east-1::image/ami-[0-9a-f]{17}$`),
	"RDS":      regexp.MustCompile(`^arn:aws:rds:us-east-1:111111111111:snapshot:awsbackup:job-[0-9a-f-]{36}$`),
	"Aurora":   regexp.MustCompile(`^arn:aws:rds:us-east-1:111111111111:cluster-snapshot:awsbackup:job-[0-9a-f-]{36}$`),
	"FSx":      regexp.MustCompile(`^arn:aws:fsx:us-east-1:111111111111:backup/backup-[0-9a-f]{17}$`),
	"Redshift": regexp.MustCompile(`^arn:aws:redshift:us-east-1:111111111111:snapshot:[a-z0-9-]+/awsbackup:job-[0-9a-f-]{36}$`),
	"S3":       regexp.MustCompile(`^arn:aws:backup:us-east-1:111111111111:recovery-point:[0-9a-f-]{36}$`),
}

// checkNew checks a new RP against the most recent seeded RP of its
// resource, its model.
func checkNew(t *testing.T, rp, m sdkRP, tickTime, end time.Time) {
	t.Helper()
	arn := rp.Arn()
	typ := aws.ToString(rp.ResourceType)
	if m.Vault != rp.Vault || aws.ToString(m.ResourceType) != typ || aws.ToString(m.ResourceName) != aws.ToString(rp.ResourceName) ||
		livePlan(m) == "" || livePlan(m) != livePlan(rp) || aws.ToString(m.IamRoleArn) != aws.ToString(rp.IamRoleArn) ||
		aws.ToString(m.EncryptionKeyArn) != aws.ToString(rp.EncryptionKeyArn) || m.EncryptionKeyType != rp.EncryptionKeyType || m.IsEncrypted != rp.IsEncrypted {
		t.Errorf("%s is not modelled on %s: %+v, model %+v", arn, m.Arn(), rp.RecoveryPointByBackupVault, m.RecoveryPointByBackupVault)
	}
	if ml, l := m.Lifecycle, rp.Lifecycle; (ml == nil) != (l == nil) || ml != nil &&
		(aws.ToInt64(ml.DeleteAfterDays) != aws.ToInt64(l.DeleteAfterDays) || aws.ToInt64(ml.MoveToColdStorageAfterDays) != aws.ToInt64(l.MoveToColdStorageAfterDays)) {
		t.Errorf("%s has lifecycle %+v, its model %+v", arn, l, ml)
	}
	shape := liveArnShapes[typ]
	if shape == nil {
		shape = liveArnShapes["S3"]
	}
	if !shape.MatchString(arn) {
		t.Errorf("%s (%s) does not have the seed's ARN shape %s", arn, typ, shape)
	}
	created, done := aws.ToTime(rp.CreationDate), aws.ToTime(rp.CompletionDate)
	if rp.Status != types.RecoveryPointStatusCompleted || rp.StatusMessage != nil || !near(created, tickTime) ||
		done.Before(created) || done.After(end.Add(time.Millisecond)) {
		t.Errorf("%s: status %s, created %v, completed %v; want COMPLETED, created at the tick %v and completed by %v",
			arn, rp.Status, created, done, tickTime, end)
	}
	if size, ms := float64(aws.ToInt64(rp.BackupSizeInBytes)), float64(aws.ToInt64(m.BackupSizeInBytes)); size < 0.96*ms || size > 1.04*ms {
		t.Errorf("%s is %.0f bytes, its model %.0f", arn, size, ms)
	}
	checkLiveLifecycle(t, rp)
}

// checkLiveLifecycle checks CalculatedLifecycle counts simulated days.
func checkLiveLifecycle(t *testing.T, rp sdkRP) {
	t.Helper()
	created := aws.ToTime(rp.CreationDate)
	lc, cl := rp.Lifecycle, rp.CalculatedLifecycle
	if lc == nil {
		return
	}
	if cl == nil {
		t.Fatalf("%s has a lifecycle but no CalculatedLifecycle", rp.Arn())
	}
	if n := lc.DeleteAfterDays; n != nil && !near(aws.ToTime(cl.DeleteAt), created.Add(time.Duration(*n)*liveDay)) {
		t.Errorf("%s: DeleteAt %v, want creation %v + %d simulated days of %v", rp.Arn(), aws.ToTime(cl.DeleteAt), created, *n, liveDay)
	}
	if n := lc.MoveToColdStorageAfterDays; n != nil && !near(aws.ToTime(cl.MoveToColdStorageAt), created.Add(time.Duration(*n)*liveDay)) {
		t.Errorf("%s: MoveToColdStorageAt %v, want creation %v + %d simulated days", rp.Arn(), aws.ToTime(cl.MoveToColdStorageAt), created, *n)
	}
}

func TestLiveTickBacksUp(t *testing.T) {
	r := newLiveRun(t, 300, 1e6)
	// The model of each planned resource: its most recent seeded RP.
	models := map[string]sdkRP{}
	for _, rp := range r.seeded() {
		if livePlan(rp) == "" || sdkContinuous(rp) {
			continue
		}
		res := aws.ToString(rp.ResourceArn)
		if m, ok := models[res]; !ok || !aws.ToTime(rp.CreationDate).Before(aws.ToTime(m.CreationDate)) {
			models[res] = rp
		}
	}
	before := r.counts()
	res := r.tick()
	if res.Day != 1 || res.Created != len(models) || !res.Time.Equal(r.clock.Now().UTC()) {
		t.Fatalf("first tick: day %d, %d created at %v; want day 1, one for each of the %d planned resources, at %v",
			res.Day, res.Created, res.Time, len(models), r.clock.Now())
	}
	fresh := r.listNew(res)
	seen := map[string]bool{}
	for _, rp := range fresh {
		resource := aws.ToString(rp.ResourceArn)
		if seen[resource] {
			t.Errorf("resource %s backed up twice in one day", resource)
		}
		seen[resource] = true
		checkNew(t, rp, models[resource], res.Time, r.clock.Now())
	}
	r.checkCounts(before, r.counts(), res)

	// DescribeRecoveryPoint agrees with the listing.
	d, err := r.c.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{
		BackupVaultName: aws.String(fresh[0].Vault), RecoveryPointArn: fresh[0].RecoveryPointArn})
	sdkNoErr(t, err, "DescribeRecoveryPoint of a new RP")
	if d.StorageClass != types.StorageClassWarm || !near(aws.ToTime(d.CreationDate), res.Time) ||
		(d.CalculatedLifecycle == nil) != (fresh[0].CalculatedLifecycle == nil) ||
		d.CalculatedLifecycle != nil && !aws.ToTime(d.CalculatedLifecycle.DeleteAt).Equal(aws.ToTime(fresh[0].CalculatedLifecycle.DeleteAt)) {
		t.Errorf("DescribeRecoveryPoint of %s = %+v, listed as %+v", fresh[0].Arn(), d, fresh[0].RecoveryPointByBackupVault)
	}

	// The next day backs up the same resources again, into the same vaults.
	before = r.counts()
	res2 := r.tick()
	if res2.Day != 2 || res2.Created != res.Created || fmt.Sprint(res2.Vaults) != fmt.Sprint(res.Vaults) {
		t.Errorf("second tick: day %d, %d created in %v; want day 2 and the first day's %d in %v", res2.Day, res2.Created, res2.Vaults, res.Created, res.Vaults)
	}
	r.listNew(res2)
	r.checkCounts(before, r.counts(), res2)
}

// pickExpiring returns a new RP that copies cleanly and expires first.
func pickExpiring(t *testing.T, fresh []sdkRP) sdkRP {
	t.Helper()
	var best sdkRP
	for _, rp := range fresh {
		if !sdkCopyable(rp) || rp.Lifecycle == nil || rp.Lifecycle.DeleteAfterDays == nil {
			continue
		}
		if best.RecoveryPointArn == nil || *rp.Lifecycle.DeleteAfterDays < *best.Lifecycle.DeleteAfterDays {
			best = rp
		}
	}
	if best.RecoveryPointArn == nil {
		t.Fatal("the first tick made no copyable recovery point with a delete lifecycle")
	}
	return best
}

// checkExpiries checks that day res expired exactly the tracked RPs
// whose DeleteAt has passed and that had not expired yet.
func checkExpiries(t *testing.T, res testenv.LiveTickResult, deleteAt map[string]time.Time, gone map[string]bool) {
	t.Helper()
	expired := map[string]bool{}
	for _, arn := range res.ExpiredArns {
		expired[arn] = true
	}
	for arn, at := range deleteAt {
		due := !at.After(res.Time) && !gone[arn]
		if due != expired[arn] {
			t.Errorf("day %d (%v): %s with DeleteAt %v expired=%v, want %v", res.Day, res.Time, arn, at, expired[arn], due)
		}
		if expired[arn] {
			gone[arn] = true
		}
	}
}

func TestLiveExpiry(t *testing.T) {
	// Copies crawl (30 simulated seconds in CREATED take 100 minutes),
	// so the copy started the day before its RP expires is still in
	// flight when it does.
	r := newLiveRun(t, 300, 0.005)
	r.seeded()
	dest := sdkDestVault(t, r.env, "live-copies", true) // before the clock moves: this client signs with real time
	first := r.tick()
	fresh := r.listNew(first)
	deleteAt := map[string]time.Time{}
	for _, rp := range fresh {
		if rp.CalculatedLifecycle != nil && rp.CalculatedLifecycle.DeleteAt != nil {
			deleteAt[rp.Arn()] = aws.ToTime(rp.CalculatedLifecycle.DeleteAt)
		}
	}
	cand := pickExpiring(t, fresh)
	at := deleteAt[cand.Arn()]
	gone := map[string]bool{}
	jobID := ""
	for day := 2; ; day++ {
		if day > 400 {
			t.Fatalf("%s never expired; DeleteAt %v", cand.Arn(), at)
		}
		if jobID == "" && !r.clock.Now().Add(liveDay).Before(at) {
			var err error
			jobID, err = sdkStartCopy(r.c, cand, dest)
			sdkNoErr(t, err, "StartCopyJob the day before the RP expires")
		}
		before := r.counts()
		res := r.tick()
		r.listNew(res) // also learns the vaults of the day's RPs, for checkCounts
		r.checkCounts(before, r.counts(), res)
		checkExpiries(t, res, deleteAt, gone)
		if gone[cand.Arn()] {
			if res.Expired == 0 || day != 1+int(aws.ToInt64(cand.Lifecycle.DeleteAfterDays)) {
				t.Errorf("%s expired on day %d with %d others; want day 1 + its %d days", cand.Arn(), day, res.Expired, aws.ToInt64(cand.Lifecycle.DeleteAfterDays))
			}
			t.Logf("%s (%s) expired on day %d with %d others", cand.Arn(), aws.ToString(cand.ResourceType), day, res.Expired-1)
			break
		}
	}
	checkExpiredGone(t, r, cand)
	checkCopyOfExpired(t, r, cand, jobID, at)
}

// checkExpiredGone checks an expired RP is gone from the listing, from
// DescribeRecoveryPoint, and from StartCopyJob, which refuses it as it
// refuses an RP that never existed.
func checkExpiredGone(t *testing.T, r *liveRun, cand sdkRP) {
	t.Helper()
	rps, _ := sdkListRPs(t, r.c, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(cand.Vault)})
	for _, rp := range rps {
		if aws.ToString(rp.RecoveryPointArn) == cand.Arn() {
			t.Errorf("%s is still listed in %s after it expired", cand.Arn(), cand.Vault)
		}
	}
	_, err := r.c.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String(cand.Vault), RecoveryPointArn: cand.RecoveryPointArn})
	sdkWantErr(t, err, "ResourceNotFoundException", 400)
	_, err = sdkStartCopy(r.c, cand, sdkDestVaultArn("live-copies"))
	msg := sdkWantErr(t, err, "ResourceNotFoundException", 400)
	unknown := cand
	unknown.RecoveryPointArn = aws.String(cand.Arn() + "0")
	_, err = sdkStartCopy(r.c, unknown, sdkDestVaultArn("live-copies"))
	if want := strings.ReplaceAll(sdkWantErr(t, err, "ResourceNotFoundException", 400), cand.Arn()+"0", cand.Arn()); msg != want {
		t.Errorf("StartCopyJob of an expired RP says %q, of an unknown one %q", msg, want)
	}
}

func sdkDestVaultArn(name string) string {
	return "arn:aws:backup:us-east-1:" + testenv.DestinationAccount + ":backup-vault:" + name
}

// checkCopyOfExpired checks the copy started before cand expired is
// still in flight, then completes with cand's lifecycle in simulated
// days.
func checkCopyOfExpired(t *testing.T, r *liveRun, cand sdkRP, jobID string, deleteAt time.Time) {
	t.Helper()
	job := func() types.CopyJob {
		out, err := r.c.DescribeCopyJob(sdkCtx, &backup.DescribeCopyJobInput{CopyJobId: aws.String(jobID)})
		sdkNoErr(t, err, "DescribeCopyJob "+jobID)
		return *out.CopyJob
	}
	if j := job(); j.State != types.CopyJobStateCreated && j.State != types.CopyJobStateRunning {
		t.Fatalf("the copy of %s is %s when its source expires; the test wants it still in flight", cand.Arn(), j.State)
	}
	// Long enough for any seeded size at this copy speed.
	r.clock.Advance(4 * 365 * 24 * time.Hour)
	j := job()
	if j.State != types.CopyJobStateCompleted || aws.ToString(j.DestinationRecoveryPointArn) == "" {
		t.Fatalf("the copy of %s, whose source expired while it ran, ended %s (%s); want COMPLETED", cand.Arn(), j.State, aws.ToString(j.StatusMessage))
	}
	dc := sdkBackup(t, r.env, testenv.ProfileDestination, sdkSignWith(r.clock.Now))
	d, err := dc.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String("live-copies"), RecoveryPointArn: j.DestinationRecoveryPointArn})
	sdkNoErr(t, err, "DescribeRecoveryPoint of the copy")
	if d.CalculatedLifecycle == nil || !near(aws.ToTime(d.CalculatedLifecycle.DeleteAt), deleteAt) {
		t.Errorf("the copy of %s says CalculatedLifecycle %+v; want its source's DeleteAt %v", cand.Arn(), d.CalculatedLifecycle, deleteAt)
	}
}

func TestLiveOff(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 50})
	resp, err := http.Post(env.URL+"/_testenv/live/tick", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Error string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body.Error, "--live") {
		t.Errorf("POST /_testenv/live/tick without live mode: %s %q; want 409 and an error naming --live", resp.Status, body.Error)
	}
	if res := env.LiveTick(); res.Day != 0 || res.Created != 0 {
		t.Errorf("LiveTick without live mode = %+v, want a zero result", res)
	}
}

func TestLiveAdminTick(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 100, Live: &testenv.LiveOptions{}})
	for day := 1; day <= 2; day++ {
		resp, err := http.Post(env.URL+"/_testenv/live/tick", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		var res testenv.LiveTickResult
		err = json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || res.Day != day || res.Created == 0 || len(res.CreatedArns) != res.Created {
			t.Fatalf("POST /_testenv/live/tick: %s, %v, %+v; want 200 and day %d with new recovery points", resp.Status, err, res, day)
		}
	}
}

func TestLiveOptionsRefused(t *testing.T) {
	for _, c := range []struct {
		o    testenv.LiveOptions
		want string
	}{
		{testenv.LiveOptions{Day: -time.Second}, "negative"},
		{testenv.LiveOptions{Day: time.Millisecond}, "too short"},
		{testenv.LiveOptions{Share: 1.5}, "share"},
		{testenv.LiveOptions{Share: -0.1}, "share"},
	} {
		_, err := testenv.New(testenv.Options{RecoveryPoints: 20, Live: &c.o})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New with %+v: %v; want an error about %q", c.o, err, c.want)
		}
	}
}

func TestLiveShare(t *testing.T) {
	tick := func(share float64) testenv.LiveTickResult {
		s, err := testenv.New(testenv.Options{RecoveryPoints: 2000, Live: &testenv.LiveOptions{Share: share}})
		if err != nil {
			t.Fatal(err)
		}
		return s.LiveTick()
	}
	all, part, again := tick(0), tick(0.3), tick(0.3)
	if lo, hi := all.Created/6, all.Created/2; part.Created < lo || part.Created > hi {
		t.Errorf("share 0.3 backed up %d resources of %d; want between %d and %d", part.Created, all.Created, lo, hi)
	}
	if fmt.Sprint(part.CreatedArns) != fmt.Sprint(again.CreatedArns) {
		t.Errorf("the same seed and share made other recovery points: %d vs %d", part.Created, again.Created)
	}
}

// TestLiveLoop runs real days of one second: the server ticks while it
// serves, logs each tick, and stops ticking when Serve returns.
func TestLiveLoop(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	logf := func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		if line := fmt.Sprintf(f, a...); strings.HasPrefix(line, "live: day ") {
			lines = append(lines, line)
		}
	}
	days := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), lines...) }
	s, err := testenv.New(testenv.Options{RecoveryPoints: 50, SSOCacheDir: t.TempDir(), Logf: logf,
		Live: &testenv.LiveOptions{Day: testenv.LiveMinDay}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	for deadline := time.Now().Add(60 * time.Second); len(days()) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no two ticks within 60s of days of %v; logged %q", testenv.LiveMinDay, days())
		}
	}
	ln.Close()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	n := len(days())
	time.Sleep(5 * testenv.LiveMinDay)
	got := days()
	if len(got) != n {
		t.Errorf("%d more ticks after Serve returned: %q", len(got)-n, got[n:])
	}
	if !regexp.MustCompile(`^live: day 1: \+[1-9][0-9]* recovery points, -0 expired$`).MatchString(got[0]) {
		t.Errorf("first tick logged %q", got[0])
	}
}
