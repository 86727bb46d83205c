package testenv

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Simulated durations of a copy job, in simulated seconds: the job
// waits copyQueueSeconds in CREATED, then runs for the type's setup
// time plus size/throughput (Types). A job that fails for a
// configuration reason fails after copyFailSeconds of running.
const (
	copyQueueSeconds = 30
	copyFailSeconds  = 60
)

// simDuration converts simulated seconds into real time at CopySpeed.
func (s *Server) simDuration(simSeconds float64) time.Duration {
	return time.Duration(simSeconds / s.opts.CopySpeed * float64(time.Second))
}

// CopyDuration is the simulated running time of a successful copy of
// size bytes of type typ (excluding the CREATED wait).
func CopyDuration(typ string, size int64) time.Duration {
	ti := typeInfo(typ)
	sec := ti.SetupSeconds + float64(size)/ti.BytesPerSecond
	return time.Duration(sec * float64(time.Second))
}

func parseVaultArn(arn string) (region, acct, name string, ok bool) {
	p := strings.SplitN(arn, ":", 7)
	if len(p) != 7 || p[0] != "arn" || p[2] != "backup" || p[5] != "backup-vault" {
		return "", "", "", false
	}
	return p[3], p[4], p[6], true
}

type startCopyIn struct {
	RecoveryPointArn          string
	SourceBackupVaultName     string
	DestinationBackupVaultArn string
	IamRoleArn                string
	IdempotencyToken          string
	Lifecycle                 *Lifecycle
}

// remembers says whether StartCopyJob still answers j's idempotency
// token with j (Options.IdempotencyMemory).
func (s *Server) remembers(j *CopyJob) bool {
	m := s.tokenMemory()
	return m == 0 || (m > 0 && s.now().Sub(j.CreationDate) < m)
}

// keepsJob says whether ListCopyJobs and DescribeCopyJob still show j
// (Options.CopyJobRetention). The caller holds w.mu.
func (s *Server) keepsJob(j *CopyJob) bool {
	m := s.opts.CopyJobRetention
	return m == 0 || (m > 0 && s.now().Sub(j.CreationDate) < m)
}

func (s *Server) startCopyJob(c *call) {
	var in startCopyIn
	if e := c.decode(&in); e != nil {
		c.fail(*e, false)
		return
	}
	s.counters.startCopy(in.RecoveryPointArn)
	if e := checkStartCopy(c, in); e != nil {
		c.fail(*e, false)
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	a := c.acct()
	if in.IdempotencyToken != "" {
		if j := a.jobsByToken[in.IdempotencyToken]; j != nil && s.remembers(j) {
			c.reply(map[string]any{"CopyJobId": j.Id, "CreationDate": ep(j.CreationDate), "IsParent": false})
			return
		}
	}
	src, rp, e := s.copySource(a, in)
	if e != nil {
		c.fail(*e, false)
		return
	}
	destAcct, destName, e := s.copyDestination(in.DestinationBackupVaultArn)
	if e != nil {
		c.fail(*e, false)
		return
	}
	if e := s.copyQuotas(a, rp, in.DestinationBackupVaultArn); e != nil {
		c.fail(*e, false)
		return
	}
	j := s.newCopyJob(a, src, rp, in, destAcct, destName)
	c.reply(map[string]any{"CopyJobId": j.Id, "CreationDate": ep(j.CreationDate), "IsParent": false})
}

// checkStartCopy checks a StartCopyJob's parameters and the caller's
// permissions, before any state is looked at.
func checkStartCopy(c *call, in startCopyIn) *apiError {
	if in.RecoveryPointArn == "" || in.SourceBackupVaultName == "" || in.DestinationBackupVaultArn == "" || in.IamRoleArn == "" {
		return missingParam("RecoveryPointArn, SourceBackupVaultName, DestinationBackupVaultArn and IamRoleArn are required").ptr()
	}
	if e := c.authorize("backup:StartCopyJob", in.RecoveryPointArn, nil); e != nil {
		return e
	}
	if e := c.authorize("iam:PassRole", in.IamRoleArn, map[string][]string{"iam:PassedToService": {"backup.amazonaws.com"}}); e != nil {
		return e
	}
	if lc := in.Lifecycle; lc != nil && lc.DeleteAfterDays != nil && lc.MoveToColdStorageAfterDays != nil &&
		*lc.DeleteAfterDays != -1 && *lc.DeleteAfterDays < *lc.MoveToColdStorageAfterDays+90 {
		return invalidParam("Lifecycle DeleteAfterDays must be at least 90 days greater than MoveToColdStorageAfterDays").ptr()
	}
	return nil
}

// copySource finds the source vault and recovery point of a copy, and
// checks the role and that the recovery point can be copied.
func (s *Server) copySource(a *account, in startCopyIn) (*Vault, *RecoveryPoint, *apiError) {
	src := a.vaults[in.SourceBackupVaultName]
	if src == nil {
		return nil, nil, notFound("Backup vault " + in.SourceBackupVaultName + " does not exist in account " + a.id).ptr()
	}
	rp := a.rpIndex[in.RecoveryPointArn]
	if rp == nil || rp.Deleted || rp.VaultName != src.Name {
		return nil, nil, notFound("Recovery point " + in.RecoveryPointArn + " does not exist in backup vault " + src.Name).ptr()
	}
	if r := s.iam.role(in.IamRoleArn); r == nil || r.Account != a.id {
		return nil, nil, invalidParam("IAM role " + in.IamRoleArn + " does not exist in account " + a.id + " or cannot be assumed by AWS Backup").ptr()
	}
	switch {
	case rp.Continuous:
		return nil, nil, invalidRequest("Recovery point " + rp.Arn + " is a continuous backup; AWS Backup does not support on-demand copies of continuous backups").ptr()
	case rp.Status != "COMPLETED":
		return nil, nil, invalidRequest("Recovery point " + rp.Arn + " is in status " + rp.Status + "; only COMPLETED recovery points can be copied").ptr()
	case rp.Cold:
		return nil, nil, invalidRequest("Recovery point " + rp.Arn + " is in cold storage; backups in cold storage or archive tiers cannot be copied").ptr()
	case !typeInfo(rp.ResourceType).CrossAccountCopy:
		return nil, nil, invalidRequest("Copy is not supported for resource type " + rp.ResourceType).ptr()
	}
	return src, rp, nil
}

// copyDestination checks a copy's destination vault ARN names this
// region and an account of the organization.
func (s *Server) copyDestination(arn string) (destAcct, destName string, e *apiError) {
	region, destAcct, destName, ok := parseVaultArn(arn)
	if !ok {
		return "", "", invalidParam("DestinationBackupVaultArn " + arn + " is not a backup vault ARN").ptr()
	}
	if region != s.opts.Region {
		return "", "", invalidParam("DestinationBackupVaultArn is in region " + region + "; this emulator serves only " + s.opts.Region).ptr()
	}
	if s.w.accounts[destAcct] == nil {
		return "", "", invalidParam("DestinationBackupVaultArn names account " + destAcct + ", which is not in this organization").ptr()
	}
	return destAcct, destName, nil
}

// copyQuotas checks the concurrency quotas: per resource, per account,
// per destination vault.
func (s *Server) copyQuotas(a *account, rp *RecoveryPoint, destVaultArn string) *apiError {
	q := s.opts.Quotas
	res, acctN, vaultN := s.inflightCounts(a.id, rp.ResourceArn, destVaultArn)
	switch {
	case res >= q.ResourceJobs:
		return s.limitExceeded(RefusalResource, "Resource "+rp.ResourceArn+" already has a job in progress; only "+strconv.Itoa(q.ResourceJobs)+" concurrent backup or copy job is allowed per resource")
	case acctN >= q.AccountCopyJobs:
		return s.limitExceeded(RefusalAccount, "The maximum number of concurrent copy jobs ("+strconv.Itoa(q.AccountCopyJobs)+") for account "+a.id+" has been reached")
	case q.OverLimit && vaultN >= q.VaultCopyJobs:
		return s.limitExceeded(RefusalVault, "The maximum number of concurrent copy jobs ("+strconv.Itoa(q.VaultCopyJobs)+") into backup vault "+destVaultArn+" has been reached")
	}
	return s.busyRefusal(rp)
}

// newCopyJob creates and registers a copy job, with its simulated
// queueing and run times and any failure it is bound for.
func (s *Server) newCopyJob(a *account, src *Vault, rp *RecoveryPoint, in startCopyIn, destAcct, destName string) *CopyJob {
	now := s.now().UTC()
	lc := rp.Lifecycle
	if in.Lifecycle != nil {
		lc = *in.Lifecycle
	}
	j := &CopyJob{
		Id: strings.ToUpper(newUUID()), Account: a.id, SourceVaultArn: src.Arn, SourceRPArn: rp.Arn,
		DestVaultArn: in.DestinationBackupVaultArn, ResourceArn: rp.ResourceArn, ResourceType: rp.ResourceType,
		ResourceName: rp.ResourceName, IamRoleArn: in.IamRoleArn, BackupSizeInBytes: rp.BackupSizeInBytes,
		Lifecycle: lc, State: "CREATED", CreationDate: now, IdempotencyToken: in.IdempotencyToken,
		destVaultName: destName, destAccount: destAcct,
	}
	j.FailMessage, j.MessageCategory = s.copyPrecheck(a, rp, j)
	queue := float64(copyQueueSeconds)
	if s.faults.createdDelay() {
		queue = 2 * 3600 * 0.9 // AWS retrying internally: CREATED for most of 2 h
	}
	j.StartAt = now.Add(s.simDuration(queue))
	run := CopyDuration(rp.ResourceType, rp.BackupSizeInBytes).Seconds()
	if j.FailMessage == "" && s.faults.copyFails() {
		j.FailMessage, j.MessageCategory = "Copy job failed because of an internal service error. Retry the copy job.", "InternalError"
		run = run / 2
	} else if j.FailMessage != "" {
		run = copyFailSeconds
	}
	j.DoneAt = j.StartAt.Add(s.simDuration(run))
	j.FailMessage = s.failText(j.FailMessage, j.MessageCategory)
	a.jobs[j.Id] = j
	a.jobOrder = append(a.jobOrder, j)
	if j.IdempotencyToken != "" {
		a.jobsByToken[j.IdempotencyToken] = j
	}
	s.inflightAdd(j)
	s.counters.jobCreated(rp.Arn, j.DestVaultArn)
	return j
}

// copyPrecheck decides whether a started job will end FAILED, and why,
// for the rules AWS enforces asynchronously.
func (s *Server) copyPrecheck(a *account, rp *RecoveryPoint, j *CopyJob) (msg, category string) {
	dest := s.w.accounts[j.destAccount]
	dv := dest.vaults[j.destVaultName]
	if dv == nil || dv.Arn != j.DestVaultArn {
		return "Copy job failed because the destination backup vault " + j.DestVaultArn + " does not exist.", "ResourceNotFound"
	}
	if j.destAccount != a.id {
		if !a.crossAccountBackup || !dest.crossAccountBackup {
			return "Copy job failed. Cross-account backup is not enabled for the organization. Enable it in the AWS Backup settings of the management account.", "AccessDenied"
		}
		allowed := false
		if dv.AccessPolicy != "" {
			if doc, err := ParsePolicy(dv.AccessPolicy); err == nil {
				res := EvaluateResource(NamedPolicy{Id: "BackupVaultAccessPolicy", Type: "Resource Policy", Doc: doc}, EvalInput{
					Action: "backup:CopyIntoBackupVault", Resource: dv.Arn,
					Principal: j.IamRoleArn, PrincipalAccount: a.id,
				})
				allowed = res.Decision == "allowed"
			}
		}
		if !allowed {
			return "Copy job failed because the destination backup vault access policy does not allow account " + a.id + " to perform backup:CopyIntoBackupVault on " + dv.Arn + ".", "AccessDenied"
		}
		if msg := s.copyKeyRefusal(a, rp, j.destAccount); msg != "" {
			return msg, "AccessDenied"
		}
	}
	if dv.VaultType == "LOGICALLY_AIR_GAPPED_BACKUP_VAULT" && s.vaultState(dv) != "AVAILABLE" {
		return "Copy job failed because the destination backup vault " + dv.Arn + " is not AVAILABLE.", "InvalidParameters"
	}
	if dv.Locked {
		del := j.Lifecycle.DeleteAfterDays
		if del != nil && *del == -1 {
			del = nil
		}
		switch {
		case dv.MinRetentionDays != nil && del != nil && *del < *dv.MinRetentionDays:
			return "Copy job failed because the recovery point retention of " + strconv.FormatInt(*del, 10) + " days is less than the destination backup vault lock MinRetentionDays of " + strconv.FormatInt(*dv.MinRetentionDays, 10) + ".", "InvalidParameters"
		case dv.MaxRetentionDays != nil && del == nil:
			return "Copy job failed because the recovery point is retained indefinitely, which exceeds the destination backup vault lock MaxRetentionDays of " + strconv.FormatInt(*dv.MaxRetentionDays, 10) + ".", "InvalidParameters"
		case dv.MaxRetentionDays != nil && *del > *dv.MaxRetentionDays:
			return "Copy job failed because the recovery point retention of " + strconv.FormatInt(*del, 10) + " days exceeds the destination backup vault lock MaxRetentionDays of " + strconv.FormatInt(*dv.MaxRetentionDays, 10) + ".", "InvalidParameters"
		}
	}
	return "", ""
}

// inflight tracking. The caller holds w.mu.

func (s *Server) inflightCounts(acct, resource, destVault string) (res, acctN, vaultN int) {
	for _, j := range s.inflight {
		if j.ResourceArn == resource {
			res++
		}
		if j.Account == acct {
			acctN++
			if j.DestVaultArn == destVault {
				vaultN++
			}
		}
	}
	return
}

func (s *Server) inflightAdd(j *CopyJob) { s.inflight = append(s.inflight, j) }

// advanceLocked moves copy jobs along the simulated clock: CREATED →
// RUNNING at StartAt, then COMPLETED (creating the destination recovery
// point) or FAILED at DoneAt.
func (s *Server) advanceLocked() {
	if len(s.inflight) == 0 {
		return
	}
	now := s.now()
	keep := s.inflight[:0]
	for _, j := range s.inflight {
		if j.State == "CREATED" && !now.Before(j.StartAt) {
			j.State = "RUNNING"
		}
		if j.State == "RUNNING" && !now.Before(j.DoneAt) {
			s.finishLocked(j)
			continue
		}
		keep = append(keep, j)
	}
	for i := len(keep); i < len(s.inflight); i++ {
		s.inflight[i] = nil
	}
	s.inflight = keep
}

func (s *Server) finishLocked(j *CopyJob) {
	j.CompletionDate = j.DoneAt.UTC()
	if j.FailMessage != "" {
		j.State, j.StatusMessage = "FAILED", j.FailMessage
		return
	}
	dest := s.w.accounts[j.destAccount]
	dv := dest.vaults[j.destVaultName]
	src := s.w.accounts[j.Account].rpIndex[j.SourceRPArn]
	if dv == nil || src == nil {
		j.State, j.StatusMessage, j.MessageCategory = "FAILED", "Copy job failed because the destination backup vault "+j.DestVaultArn+" no longer exists.", "ResourceNotFound"
		return
	}
	rp := &RecoveryPoint{
		Arn: rpArnFor(s.opts.Region, dest.id, src.ResourceType, src.ResourceName, strings.ToLower(newUUID())), VaultName: dv.Name, Account: dest.id,
		SourceVaultArn: j.SourceVaultArn, ResourceArn: src.ResourceArn, ResourceType: src.ResourceType, ResourceName: src.ResourceName,
		IamRoleArn: j.IamRoleArn, Status: "COMPLETED", CreationDate: src.CreationDate, CompletionDate: j.CompletionDate,
		BackupSizeInBytes: src.BackupSizeInBytes, Lifecycle: j.Lifecycle, IsEncrypted: true,
		EncryptionKeyArn: src.EncryptionKeyArn, EncryptionKeyType: src.EncryptionKeyType,
		simDays: src.simDays, // a copy keeps counting the days of its source's calendar
	}
	if typeInfo(src.ResourceType).FullyManaged {
		rp.EncryptionKeyArn, rp.EncryptionKeyType = dv.EncryptionKeyArn, dv.EncryptionKeyType
	}
	s.w.addRP(rp)
	j.State, j.DestRPArn, j.MessageCategory = "COMPLETED", rp.Arn, "SUCCESS"
}

type copyJobOut struct {
	AccountId                         string     `json:"AccountId"`
	CopyJobId                         string     `json:"CopyJobId"`
	SourceBackupVaultArn              string     `json:"SourceBackupVaultArn"`
	SourceRecoveryPointArn            string     `json:"SourceRecoveryPointArn"`
	DestinationBackupVaultArn         string     `json:"DestinationBackupVaultArn"`
	DestinationRecoveryPointArn       string     `json:"DestinationRecoveryPointArn,omitempty"`
	DestinationVaultType              string     `json:"DestinationVaultType,omitempty"`
	DestinationVaultLockState         string     `json:"DestinationVaultLockState,omitempty"`
	ResourceArn                       string     `json:"ResourceArn"`
	ResourceType                      string     `json:"ResourceType"`
	ResourceName                      string     `json:"ResourceName,omitempty"`
	State                             string     `json:"State"`
	StatusMessage                     string     `json:"StatusMessage,omitempty"`
	MessageCategory                   string     `json:"MessageCategory,omitempty"`
	CreationDate                      *epoch     `json:"CreationDate"`
	CompletionDate                    *epoch     `json:"CompletionDate,omitempty"`
	BackupSizeInBytes                 int64      `json:"BackupSizeInBytes"`
	IamRoleArn                        string     `json:"IamRoleArn"`
	IsParent                          bool       `json:"IsParent"`
	DestinationRecoveryPointLifecycle *Lifecycle `json:"DestinationRecoveryPointLifecycle,omitempty"`
}

func (s *Server) copyJobView(j *CopyJob) copyJobOut {
	o := copyJobOut{
		AccountId: j.Account, CopyJobId: j.Id, SourceBackupVaultArn: j.SourceVaultArn, SourceRecoveryPointArn: j.SourceRPArn,
		DestinationBackupVaultArn: j.DestVaultArn, DestinationRecoveryPointArn: j.DestRPArn,
		ResourceArn: j.ResourceArn, ResourceType: j.ResourceType, ResourceName: j.ResourceName,
		State: j.State, StatusMessage: j.StatusMessage, CreationDate: ep(j.CreationDate), CompletionDate: ep(j.CompletionDate),
		BackupSizeInBytes: j.BackupSizeInBytes, IamRoleArn: j.IamRoleArn,
	}
	if j.State == "COMPLETED" || j.State == "FAILED" {
		o.MessageCategory = j.MessageCategory
	}
	if j.Lifecycle.DeleteAfterDays != nil || j.Lifecycle.MoveToColdStorageAfterDays != nil {
		lc := j.Lifecycle
		o.DestinationRecoveryPointLifecycle = &lc
	}
	if dv := s.w.accounts[j.destAccount].vaults[j.destVaultName]; dv != nil {
		o.DestinationVaultType = dv.VaultType
		o.DestinationVaultLockState = "UNLOCKED"
		if dv.Locked {
			o.DestinationVaultLockState = "LOCKED"
		}
	}
	return o
}

func (s *Server) describeCopyJob(c *call) {
	id := c.r.PathValue("id")
	if e := c.authorize("backup:DescribeCopyJob", "*", nil); e != nil {
		c.fail(*e, false)
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	j := c.acct().jobs[id]
	if j == nil || !s.keepsJob(j) {
		c.fail(notFound("Copy job "+id+" does not exist in account "+c.p.Account), false)
		return
	}
	c.reply(map[string]any{"CopyJob": s.copyJobView(j)})
}

var copyJobStates = map[string]bool{"CREATED": true, "RUNNING": true, "COMPLETED": true, "FAILED": true, "PARTIAL": true}

func (s *Server) listCopyJobs(c *call) {
	if e := c.authorize("backup:ListCopyJobs", "*", nil); e != nil {
		c.fail(*e, false)
		return
	}
	q := c.r.URL.Query()
	max, e := maxResults(q, s.maxPage())
	if e != nil {
		c.fail(*e, false)
		return
	}
	max = s.pageLimit(max)
	f, e := parseCopyJobFilter(q)
	if e != nil {
		c.fail(*e, false)
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	a := c.acct()
	// Newest first. The token holds the absolute index of the next job,
	// counting down, so jobs started while paging don't shift it.
	i := len(a.jobOrder) - 1
	if t := first(q, "nextToken"); t != "" {
		n, ok := decodeToken("copyjobs", t)
		if !ok || n >= len(a.jobOrder) {
			c.fail(invalidParam("The NextToken is not valid for this operation; start again without it"), false)
			return
		}
		i = n
	}
	out := struct {
		CopyJobs  []copyJobOut `json:"CopyJobs"`
		NextToken string       `json:"NextToken,omitempty"`
	}{CopyJobs: []copyJobOut{}}
	for ; i >= 0 && len(out.CopyJobs) < max; i-- {
		j := a.jobOrder[i]
		if !f.createdAfter.IsZero() && !j.CreationDate.After(f.createdAfter) {
			// Jobs are kept in creation order: every older one fails the
			// createdAfter filter too, so the listing ends here.
			i = -1
			break
		}
		if !s.keepsJob(j) {
			// Forgotten by age: every older job is forgotten too.
			i = -1
			break
		}
		if f.match(j) {
			out.CopyJobs = append(out.CopyJobs, s.copyJobView(j))
		}
	}
	if i >= 0 {
		out.NextToken = encodeToken("copyjobs", i)
	}
	s.replyListing(c, out, "CopyJobs", copyJobOptional)
}

// copyJobFilter is ListCopyJobs' query filters.
type copyJobFilter struct {
	state, resourceArn, resourceType, destVault string
	accountID, parent, category, srcRP          string
	createdAfter, createdBefore                 time.Time
	completeAfter, completeBefore               time.Time
}

// parseCopyJobFilter reads the filters from ListCopyJobs' query.
func parseCopyJobFilter(q url.Values) (copyJobFilter, *apiError) {
	var f copyJobFilter
	type tf struct {
		name string
		t    *time.Time
	}
	for _, tf := range []tf{{"createdAfter", &f.createdAfter}, {"createdBefore", &f.createdBefore}, {"completeAfter", &f.completeAfter}, {"completeBefore", &f.completeBefore}} {
		if v := q.Get(tf.name); v != "" {
			t, e := parseQueryTime(tf.name, v)
			if e != nil {
				return f, e
			}
			*tf.t = t
		}
	}
	f.state = q.Get("state")
	if f.state != "" && !copyJobStates[f.state] {
		return f, invalidParam("state " + strconv.Quote(f.state) + " is not one of CREATED, RUNNING, COMPLETED, FAILED, PARTIAL").ptr()
	}
	f.resourceArn, f.resourceType, f.destVault = q.Get("resourceArn"), q.Get("resourceType"), q.Get("destinationVaultArn")
	f.accountID, f.parent, f.category, f.srcRP = q.Get("accountId"), q.Get("parentJobId"), q.Get("messageCategory"), q.Get("sourceRecoveryPointArn")
	return f, nil
}

// match says whether j passes the filters.
func (f copyJobFilter) match(j *CopyJob) bool {
	switch {
	case f.state != "" && j.State != f.state,
		f.resourceArn != "" && j.ResourceArn != f.resourceArn,
		f.resourceType != "" && j.ResourceType != f.resourceType,
		f.destVault != "" && j.DestVaultArn != f.destVault,
		f.accountID != "" && j.Account != f.accountID,
		f.parent != "",
		f.srcRP != "" && j.SourceRPArn != f.srcRP,
		!f.createdAfter.IsZero() && !j.CreationDate.After(f.createdAfter),
		!f.createdBefore.IsZero() && !j.CreationDate.Before(f.createdBefore),
		!f.completeAfter.IsZero() && (j.CompletionDate.IsZero() || !j.CompletionDate.After(f.completeAfter)),
		!f.completeBefore.IsZero() && (j.CompletionDate.IsZero() || !j.CompletionDate.Before(f.completeBefore)):
		return false
	}
	if f.category != "" && f.category != "ANY" && f.category != "AGGREGATE_ALL" {
		mc := j.MessageCategory
		if j.State != "COMPLETED" && j.State != "FAILED" {
			mc = ""
		}
		if !strings.EqualFold(mc, f.category) {
			return false
		}
	}
	return true
}
