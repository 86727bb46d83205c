package testenv

// Live mode: the source account keeps backing up while a migration runs,
// and its lifecycles delete old recovery points, as a real estate does
// during a migration that takes days.
//
// Each simulated day (LiveTick) every live resource gets one new
// COMPLETED recovery point, modelled on its most recent one, in the vault
// that one is in; then every source recovery point whose lifecycle delete
// date has passed is deleted, and every one whose cold storage date has
// passed moves to cold storage. The live resources are the source
// resources with a backup plan id (Options.Live.Share of them), fixed
// when the server is made.
//
// The recovery points live mode makes count their lifecycle days in
// simulated days of LiveOptions.Day, so that a 35-day retention passes in
// 35 ticks; CalculatedLifecycle says so, and so do the copies made from
// them. The seed's recovery points keep real 24-hour days.
//
// Only dates that pass while live mode runs take effect. The seed has
// recovery points already past their delete date when the server starts:
// the EXPIRED ones (past retention, which AWS could not delete), the
// DELETING ones, whose date passed the day before, and continuous ones:
// about 2% of them. Real AWS would already have removed most of them,
// but deleting them all on the first tick would take the static
// estate's coverage of those statuses away, so they stay as the seed
// made them.
// EXPIRED recovery points are never deleted (that is what EXPIRED
// means), and continuous recovery points are not either: AWS rolls
// their point-in-time window instead.
//
// A copy job already started from a recovery point that then expires
// runs to completion: the copy was taken. StartCopyJob of an expired
// recovery point fails as for any deleted one (ResourceNotFoundException).

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// LiveOptions turn on live mode (Options.Live).
type LiveOptions struct {
	// Day is the real length (in Options.Now time) of one simulated
	// day. While Serve serves, a goroutine runs LiveTick once every Day,
	// and the lifecycle days of the recovery points live mode makes last
	// Day each. 0 runs no goroutine (ticks come only from LiveTick and
	// POST /_testenv/live/tick), and those lifecycle days are then real
	// 24-hour days, like the seed's. A positive Day must be at least
	// LiveMinDay.
	Day time.Duration
	// Share is the share of the source resources with a backup plan id
	// that back up each simulated day, in (0, 1]; 0 means all of them.
	// Which ones is fixed by Options.Seed and the resource ARN.
	Share float64
}

// LiveMinDay is the shortest simulated day. AWS never makes two backups
// of one resource within a second, and a copy engine may tell a copy's
// source by its resource and creation time (to the second), so a day
// lasts at least that; a tick also holds the world lock while it looks
// at every source recovery point.
const LiveMinDay = time.Second

// LiveTickResult is what one simulated day did.
type LiveTickResult struct {
	Day     int       `json:"day"`  // the day that passed: 1 for the first tick
	Time    time.Time `json:"time"` // when it passed: the new recovery points' CreationDate
	Created int       `json:"created"`
	Expired int       `json:"expired"`
	Cold    int       `json:"cold"` // moved to cold storage
	// Vaults counts the recovery points created in each source vault.
	Vaults      map[string]int `json:"vaults"`
	CreatedArns []string       `json:"created_arns"`
	ExpiredArns []string       `json:"expired_arns"`
	ColdArns    []string       `json:"cold_arns"`
}

// liveState is live mode's state; the fields after start are guarded by
// w.mu.
type liveState struct {
	day   time.Duration // lifecycle day of live RPs (0: 24 h) and tick interval (0: none)
	start time.Time     // dates at or before it are past when live mode starts
	days  int
	r     *rand.Rand
	// models holds, per live resource, its most recent recovery point:
	// the model of its next one.
	models []*RecoveryPoint
}

// startLive checks o and turns live mode on. It runs in New, after the
// seed, so the live resources are the seeded ones.
func (s *Server) startLive(o LiveOptions) error {
	switch {
	case o.Day < 0:
		return fmt.Errorf("live day must not be negative, got %v", o.Day)
	case o.Day > 0 && o.Day < LiveMinDay:
		return fmt.Errorf("live day %v is too short: use at least %v (or 0 for ticks only when asked)", o.Day, LiveMinDay)
	case o.Share < 0 || o.Share > 1:
		return fmt.Errorf("live share must be in (0, 1] (0 for all), got %v", o.Share)
	}
	l := &liveState{day: o.Day, start: s.now(), r: rand.New(rand.NewPCG(uint64(s.opts.Seed), 0x11fe0001))}
	l.models = liveModels(s.w.accounts[SourceAccount], s.opts.Seed, o.Share)
	s.live = l
	every := "only when asked (POST /_testenv/live/tick)"
	if o.Day > 0 {
		every = "every " + o.Day.String()
	}
	s.logf("live: %d resources back up each simulated day; a day passes %s", len(l.models), every)
	return nil
}

// liveModels returns the most recent recovery point of each source
// resource with a backup plan id, in the order the resources first
// appear, keeping a share of them (0: all).
func liveModels(a *account, seed int64, share float64) []*RecoveryPoint {
	index := map[string]int{}
	var models []*RecoveryPoint
	for _, name := range a.vaultOrder {
		v := a.vaults[name]
		if v == nil {
			continue
		}
		for _, rp := range v.rps {
			if rp.BackupPlanId == "" || rp.Continuous {
				continue
			}
			i, ok := index[rp.ResourceArn]
			if !ok {
				index[rp.ResourceArn] = len(models)
				models = append(models, rp)
				continue
			}
			if !rp.CreationDate.Before(models[i].CreationDate) {
				models[i] = rp
			}
		}
	}
	if share == 0 || share >= 1 {
		return models
	}
	kept := models[:0]
	for _, m := range models {
		if liveDraw(seed, m.ResourceArn) < share {
			kept = append(kept, m)
		}
	}
	return kept
}

// liveDraw is a number in [0, 1) fixed by the seed and a resource ARN.
func liveDraw(seed int64, arn string) float64 {
	h := hashString(arn) ^ uint64(seed)*0x9e3779b97f4a7c15
	// splitmix64's finalizer spreads the FNV hash over every bit.
	h = (h ^ h>>30) * 0xbf58476d1ce4e5b9
	h = (h ^ h>>27) * 0x94d049bb133111eb
	h ^= h >> 31
	return float64(h>>11) / (1 << 53)
}

// LiveTick makes one simulated day pass: every live resource backs up
// once, then the source recovery points whose delete date has passed are
// deleted and those whose cold storage date has passed move to cold
// storage. With live mode off it does nothing and returns a zero result.
func (s *Server) LiveTick() LiveTickResult {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	l := s.live
	if l == nil {
		return LiveTickResult{}
	}
	l.days++
	now := s.now().UTC()
	res := LiveTickResult{Day: l.days, Time: now, Vaults: map[string]int{},
		CreatedArns: []string{}, ExpiredArns: []string{}, ColdArns: []string{}}
	s.liveBackupsLocked(now, &res)
	s.liveLifecyclesLocked(now, &res)
	res.Created, res.Expired, res.Cold = len(res.CreatedArns), len(res.ExpiredArns), len(res.ColdArns)
	if res.Cold > 0 {
		s.logf("live: day %d: +%d recovery points, -%d expired, %d to cold storage", res.Day, res.Created, res.Expired, res.Cold)
	} else {
		s.logf("live: day %d: +%d recovery points, -%d expired", res.Day, res.Created, res.Expired)
	}
	return res
}

// liveBackupsLocked adds one recovery point for each live resource,
// created at now. The caller holds w.mu.
func (s *Server) liveBackupsLocked(now time.Time, res *LiveTickResult) {
	l := s.live
	a := s.w.accounts[SourceAccount]
	// One allocation for the day's recovery points; a million-RP estate
	// makes over a hundred thousand a day.
	slab := make([]RecoveryPoint, len(l.models))
	made := slab[:0]
	var buf []byte
	for i, m := range l.models {
		if a.vaults[m.VaultName] == nil {
			continue // the vault was deleted: the plan's backups fail
		}
		made = made[:len(made)+1]
		rp := &made[len(made)-1]
		// The lifecycle's day counts are shared with the model: nothing
		// changes them once a recovery point is made.
		*rp = RecoveryPoint{
			VaultName: m.VaultName, Account: SourceAccount, ResourceArn: m.ResourceArn, ResourceType: m.ResourceType,
			ResourceName: m.ResourceName, BackupPlanId: m.BackupPlanId, IamRoleArn: m.IamRoleArn, Status: statusCompleted,
			CreationDate: now, Lifecycle: m.Lifecycle, EncryptionKeyArn: m.EncryptionKeyArn,
			EncryptionKeyType: m.EncryptionKeyType, IsEncrypted: m.IsEncrypted, Tags: copyTags(m.Tags),
			simDays: l.day > 0,
		}
		rp.BackupSizeInBytes = int64(float64(m.BackupSizeInBytes) * (0.97 + 0.06*l.r.Float64()))
		for rp.Arn == "" || a.rpIndex[rp.Arn] != nil {
			buf = appendLiveRPArn(buf[:0], l.r, s.opts.Region, m.ResourceType, m.ResourceName)
			rp.Arn = string(buf)
		}
		s.w.addRP(rp)
		l.models[i] = rp
		res.CreatedArns = append(res.CreatedArns, rp.Arn)
		res.Vaults[rp.VaultName]++
	}
	// The backups the day stands for have completed by the end of the
	// tick, not later.
	done := s.now().UTC()
	if done.Before(now) {
		done = now
	}
	for i := range made {
		made[i].CompletionDate = done
	}
}

// liveLifecyclesLocked deletes the source recovery points whose delete
// date passed since live mode started, and moves to cold storage those
// whose cold storage date did. The caller holds w.mu.
func (s *Server) liveLifecyclesLocked(now time.Time, res *LiveTickResult) {
	a := s.w.accounts[SourceAccount]
	due := func(at time.Time, ok bool) bool { return ok && at.After(s.live.start) && !at.After(now) }
	for _, name := range a.vaultOrder {
		v := a.vaults[name]
		if v == nil {
			continue
		}
		for _, rp := range v.rps {
			if rp.Deleted || rp.Continuous || rp.Status == statusExpired {
				continue
			}
			if due(s.lifecycleAt(rp, rp.Lifecycle.DeleteAfterDays)) {
				rp.Deleted = true
				res.ExpiredArns = append(res.ExpiredArns, rp.Arn)
				continue
			}
			if !rp.Cold && coldCapable(rp.ResourceType) && due(s.lifecycleAt(rp, rp.Lifecycle.MoveToColdStorageAfterDays)) {
				rp.Cold = true
				res.ColdArns = append(res.ColdArns, rp.Arn)
			}
		}
	}
}

// lifecycleAt is when a lifecycle step of n days falls for rp: n of its
// lifecycle days after its creation. ok is false when there is no such
// step (n nil or below 1).
func (s *Server) lifecycleAt(rp *RecoveryPoint, n *int64) (at time.Time, ok bool) {
	if n == nil || *n < 1 {
		return time.Time{}, false
	}
	return rp.CreationDate.Add(time.Duration(*n) * s.lifecycleDay(rp)), true
}

// lifecycleDay is how long one lifecycle day of rp lasts: a simulated
// day for the recovery points live mode made (and their copies), else
// 24 hours.
func (s *Server) lifecycleDay(rp *RecoveryPoint) time.Duration {
	if rp.simDays && s.live != nil && s.live.day > 0 {
		return s.live.day
	}
	return 24 * time.Hour
}

// liveLoop runs LiveTick every simulated day until stop is closed.
func (s *Server) liveLoop(stop <-chan struct{}) {
	t := time.NewTicker(s.live.day)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.LiveTick()
		}
	}
}

// appendLiveRPArn appends a recovery point ARN of the shape the seed
// gives a type (seed_names.go).
func appendLiveRPArn(b []byte, r *rand.Rand, region, typ, resourceName string) []byte {
	acct := func(b []byte, svc string) []byte {
		b = append(b, "arn:aws:"...)
		b = append(b, svc...)
		b = append(b, ':')
		b = append(b, region...)
		b = append(b, ':')
		b = append(b, SourceAccount...)
		return append(b, ':')
	}
	switch typ {
	case TypeEBS:
		b = append(append(append(b, "arn:aws:ec2:"...), region...), "::snapshot/snap-"...)
		return appendLiveHex(b, r, 17)
	case TypeEC2:
		b = append(append(append(b, "arn:aws:ec2:"...), region...), "::image/ami-"...)
		return appendLiveHex(b, r, 17)
	case TypeRDS:
		return appendUUID(append(acct(b, "rds"), "snapshot:awsbackup:job-"...), r)
	case TypeAurora:
		return appendUUID(append(acct(b, "rds"), "cluster-snapshot:awsbackup:job-"...), r)
	case TypeFSx:
		return appendLiveHex(append(acct(b, "fsx"), "backup/backup-"...), r, 17)
	case TypeRedshift:
		b = append(append(acct(b, "redshift"), "snapshot:"...), resourceName...)
		return appendUUID(append(b, "/awsbackup:job-"...), r)
	}
	// S3, EFS, DynamoDB and the types of the unknown-types variant.
	return appendUUID(append(acct(b, "backup"), "recovery-point:"...), r)
}

// appendLiveHex appends n random lowercase hex digits.
func appendLiveHex(b []byte, r *rand.Rand, n int) []byte {
	for range n {
		b = append(b, hexDigits[r.IntN(16)])
	}
	return b
}

// DeleteSourceRecoveryPoint deletes a source recovery point outside its
// lifecycle, as an operator or another tool would: it is gone from
// listings and from its vault's count at once. It reports whether a
// recovery point with that ARN was there to delete. Tests use it to
// make the state disagree with the source in a way no date predicts.
func (s *Server) DeleteSourceRecoveryPoint(arn string) bool {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	rp := s.w.accounts[SourceAccount].rpIndex[arn]
	if rp == nil || rp.Deleted {
		return false
	}
	rp.Deleted = true
	return true
}
