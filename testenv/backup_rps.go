package testenv

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
)

var b64 = base64.RawURLEncoding

type calculatedLifecycle struct {
	DeleteAt            *epoch `json:"DeleteAt,omitempty"`
	MoveToColdStorageAt *epoch `json:"MoveToColdStorageAt,omitempty"`
}

type createdBy struct {
	BackupPlanId string `json:"BackupPlanId,omitempty"`
}

// rpOut is the RecoveryPointByBackupVault shape (and, with StorageClass,
// DescribeRecoveryPointOutput).
type rpOut struct {
	RecoveryPointArn       string               `json:"RecoveryPointArn"`
	BackupVaultName        string               `json:"BackupVaultName"`
	BackupVaultArn         string               `json:"BackupVaultArn"`
	SourceBackupVaultArn   string               `json:"SourceBackupVaultArn,omitempty"`
	ResourceArn            string               `json:"ResourceArn"`
	ResourceType           string               `json:"ResourceType"`
	ResourceName           string               `json:"ResourceName,omitempty"`
	CreatedBy              *createdBy           `json:"CreatedBy,omitempty"`
	IamRoleArn             string               `json:"IamRoleArn,omitempty"`
	Status                 string               `json:"Status"`
	StatusMessage          string               `json:"StatusMessage,omitempty"`
	CreationDate           *epoch               `json:"CreationDate,omitempty"`
	InitiationDate         *epoch               `json:"InitiationDate,omitempty"`
	CompletionDate         *epoch               `json:"CompletionDate,omitempty"`
	BackupSizeInBytes      int64                `json:"BackupSizeInBytes"`
	CalculatedLifecycle    *calculatedLifecycle `json:"CalculatedLifecycle,omitempty"`
	Lifecycle              *Lifecycle           `json:"Lifecycle,omitempty"`
	EncryptionKeyArn       string               `json:"EncryptionKeyArn,omitempty"`
	EncryptionKeyType      string               `json:"EncryptionKeyType,omitempty"`
	IsEncrypted            bool                 `json:"IsEncrypted"`
	ParentRecoveryPointArn string               `json:"ParentRecoveryPointArn,omitempty"`
	IsParent               bool                 `json:"IsParent"`
	VaultType              string               `json:"VaultType,omitempty"`
	StorageClass           string               `json:"StorageClass,omitempty"`
}

func (s *Server) rpView(v *Vault, rp *RecoveryPoint, describe bool) rpOut {
	o := rpOut{
		RecoveryPointArn: rp.Arn, BackupVaultName: v.Name, BackupVaultArn: v.Arn,
		SourceBackupVaultArn: rp.SourceVaultArn, ResourceArn: rp.ResourceArn, ResourceType: rp.ResourceType,
		ResourceName: rp.ResourceName, IamRoleArn: rp.IamRoleArn, Status: rp.Status, StatusMessage: rp.StatusMessage,
		CreationDate: ep(rp.CreationDate), InitiationDate: ep(rp.CreationDate), CompletionDate: ep(rp.CompletionDate),
		BackupSizeInBytes: rp.BackupSizeInBytes, EncryptionKeyArn: rp.EncryptionKeyArn, EncryptionKeyType: rp.EncryptionKeyType,
		IsEncrypted: rp.IsEncrypted, ParentRecoveryPointArn: rp.ParentArn, VaultType: v.VaultType,
	}
	if rp.BackupPlanId != "" {
		o.CreatedBy = &createdBy{BackupPlanId: rp.BackupPlanId}
	}
	lc := rp.Lifecycle
	if lc.DeleteAfterDays != nil || lc.MoveToColdStorageAfterDays != nil {
		o.Lifecycle = &lc
		cl := &calculatedLifecycle{}
		day := s.lifecycleDay(rp)
		if lc.DeleteAfterDays != nil {
			cl.DeleteAt = ep(rp.CreationDate.Add(time.Duration(*lc.DeleteAfterDays) * day))
		}
		if lc.MoveToColdStorageAfterDays != nil {
			cl.MoveToColdStorageAt = ep(rp.CreationDate.Add(time.Duration(*lc.MoveToColdStorageAfterDays) * day))
		}
		o.CalculatedLifecycle = cl
	}
	if describe {
		o.StorageClass = "WARM"
		if rp.Cold {
			o.StorageClass = "COLD"
		}
		if rp.Deleted {
			o.StorageClass = "DELETED"
		}
	}
	return o
}

// parseQueryTime accepts the ISO-8601 forms clients send in query
// strings, and epoch seconds.
func parseQueryTime(name, v string) (time.Time, *apiError) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return time.UnixMilli(int64(f * 1000)), nil
	}
	e := invalidParam(name + " " + strconv.Quote(v) + " is not an ISO-8601 timestamp")
	return time.Time{}, &e
}

type rpFilter struct {
	resourceArn, resourceType, planID, parent string
	after, before                             time.Time
}

func (f *rpFilter) match(rp *RecoveryPoint) bool {
	switch {
	case rp.Deleted:
		return false
	case f.resourceArn != "" && rp.ResourceArn != f.resourceArn:
		return false
	case f.resourceType != "" && rp.ResourceType != f.resourceType:
		return false
	case f.planID != "" && rp.BackupPlanId != f.planID:
		return false
	case f.parent != "" && rp.ParentArn != f.parent:
		return false
	case !f.after.IsZero() && !rp.CreationDate.After(f.after):
		return false
	case !f.before.IsZero() && !rp.CreationDate.Before(f.before):
		return false
	}
	return true
}

// scanBound is how many RPs one page looks at, matching or not. As in
// AWS, a page may come back short (even empty) with a NextToken when
// filters are selective.
const scanBound = 20000

// listPage returns the RPs of v from index start on that match f, at
// most limit of them and looking at no more than scanBound, and the
// index the next page starts at.
func (v *Vault) listPage(f *rpFilter, start, limit int) (rps []*RecoveryPoint, next int) {
	if f.resourceType == "" {
		return v.listScan(f, start, limit)
	}
	end := min(len(v.rps), start+scanBound)
	// Only the type's RPs can match: walk its index instead of every
	// RP of the vault. The result is listScan's.
	idx := v.byType[f.resourceType]
	k, _ := slices.BinarySearch(idx, int32(start))
	for ; k < len(idx) && int(idx[k]) < end; k++ {
		if rp := v.rps[idx[k]]; f.match(rp) {
			rps = append(rps, rp)
			if len(rps) == limit {
				return rps, int(idx[k]) + 1
			}
		}
	}
	return rps, max(end, start)
}

// listScan is listPage by looking at every RP in turn.
func (v *Vault) listScan(f *rpFilter, start, limit int) (rps []*RecoveryPoint, next int) {
	i := start
	for scanned := 0; i < len(v.rps) && len(rps) < limit && scanned < scanBound; i++ {
		scanned++
		if rp := v.rps[i]; f.match(rp) {
			rps = append(rps, rp)
		}
	}
	return rps, i
}

// awsResourceTypes are the resource types AWS Backup accepts in filters;
// the emulator has recovery points only for the ones in Types and
// ExtraTypes.
var awsResourceTypes = map[string]bool{
	"Aurora": true, "CloudFormation": true, "DocumentDB": true, "DynamoDB": true, "EBS": true, "EC2": true, "EFS": true,
	"EKS": true, "FSx": true, "Neptune": true, "RDS": true, "Redshift": true, "S3": true, "SAP HANA on Amazon EC2": true,
	"Storage Gateway": true, "Timestream": true, "VirtualMachine": true,
}

// acceptsResourceType says whether a ByResourceType filter is valid:
// a type AWS lists or one the emulator models, and with unknown-types
// any type at all (AWS adds types over time; shuffle must not depend on
// which ones a region accepts).
func (s *Server) acceptsResourceType(t string) bool {
	_, extra := ExtraTypes[t]
	return awsResourceTypes[t] || extra || s.variant(VariantUnknownTypes)
}

func (s *Server) listRecoveryPoints(c *call) {
	q := c.r.URL.Query()
	max, start, e := pageParams(q, "rps", s.maxPage())
	if e != nil {
		c.fail(*e, false)
		return
	}
	f := rpFilter{resourceArn: q.Get("resourceArn"), resourceType: q.Get("resourceType"), planID: q.Get("backupPlanId"), parent: q.Get("parentRecoveryPointArn")}
	if f.resourceType != "" && !s.acceptsResourceType(f.resourceType) {
		c.fail(invalidParam("resourceType "+strconv.Quote(f.resourceType)+" is not a supported resource type"), false)
		return
	}
	if v := q.Get("createdAfter"); v != "" {
		if f.after, e = parseQueryTime("createdAfter", v); e != nil {
			c.fail(*e, false)
			return
		}
	}
	if v := q.Get("createdBefore"); v != "" {
		if f.before, e = parseQueryTime("createdBefore", v); e != nil {
			c.fail(*e, false)
			return
		}
	}
	limit := s.pageLimit(max)
	lv := s.listingVariants()
	// Build the page under the lock; encode it after, so that parallel
	// listings use every core.
	var page any
	c.withVault("backup:ListRecoveryPointsByBackupVault", func(a *account, v *Vault) {
		rps, next := v.listPage(&f, start, limit)
		out := &rpPage{RecoveryPoints: make([]rpOut, 0, len(rps)), nulls: lv.nulls}
		for _, rp := range rps {
			out.RecoveryPoints = append(out.RecoveryPoints, lv.view(s.rpView(v, rp, false)))
		}
		if next < len(v.rps) {
			out.NextToken = encodeToken("rps", next)
		}
		page = out
	})
	if page != nil {
		c.reply(page)
	}
}

func (s *Server) describeRecoveryPoint(c *call) {
	arn := c.r.PathValue("arn")
	c.withVault("backup:DescribeRecoveryPoint", func(a *account, v *Vault) {
		rp := a.rpIndex[arn]
		if rp == nil || rp.VaultName != v.Name || rp.Deleted {
			c.fail(notFound("Recovery point "+arn+" does not exist in backup vault "+v.Name), false)
			return
		}
		c.reply(s.listingVariants().view(s.rpView(v, rp, true)))
	})
}

// rpArnFor makes a new recovery point ARN of the right shape for a type.
func rpArnFor(region, acct, typ, resourceName, id string) string {
	hex17 := strings.ReplaceAll(id, "-", "")[:17]
	switch typ {
	case TypeEBS:
		return "arn:aws:ec2:" + region + "::snapshot/snap-" + hex17
	case TypeEC2:
		return "arn:aws:ec2:" + region + "::image/ami-" + hex17
	case TypeRDS:
		return "arn:aws:rds:" + region + ":" + acct + ":snapshot:awsbackup:job-" + id
	case TypeAurora:
		return "arn:aws:rds:" + region + ":" + acct + ":cluster-snapshot:awsbackup:job-" + id
	case TypeFSx:
		return "arn:aws:fsx:" + region + ":" + acct + ":backup/backup-" + hex17
	case TypeRedshift:
		return "arn:aws:redshift:" + region + ":" + acct + ":snapshot:" + resourceName + "/awsbackup:job-" + id
	default:
		return "arn:aws:backup:" + region + ":" + acct + ":recovery-point:" + strings.ToUpper(id)
	}
}

// resourceTypeOf infers the AWS Backup resource type of a resource ARN.
func resourceTypeOf(arn string) (typ, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return "", "", false
	}
	svc, res := parts[2], parts[5]
	after := func(sep string) string {
		if i := strings.LastIndex(res, sep); i >= 0 {
			return res[i+1:]
		}
		return res
	}
	switch {
	case svc == "ec2" && strings.HasPrefix(res, "volume/"):
		return TypeEBS, after("/"), true
	case svc == "ec2" && strings.HasPrefix(res, "instance/"):
		return TypeEC2, after("/"), true
	case svc == "rds" && strings.HasPrefix(res, "db:"):
		return TypeRDS, after(":"), true
	case svc == "rds" && strings.HasPrefix(res, "cluster:"):
		return TypeAurora, after(":"), true
	case svc == "s3":
		return TypeS3, res, true
	case svc == "elasticfilesystem" && strings.HasPrefix(res, "file-system/"):
		return TypeEFS, after("/"), true
	case svc == "dynamodb" && strings.HasPrefix(res, "table/"):
		return TypeDynamoDB, after("/"), true
	case svc == "fsx" && strings.HasPrefix(res, "file-system/"):
		return TypeFSx, after("/"), true
	case svc == "redshift" && strings.HasPrefix(res, "cluster:"):
		return TypeRedshift, after(":"), true
	}
	return "", "", false
}

func (s *Server) startBackupJob(c *call) {
	var in struct {
		BackupVaultName  string
		IamRoleArn       string
		ResourceArn      string
		IdempotencyToken string
		Lifecycle        *Lifecycle
	}
	if e := c.decode(&in); e != nil {
		c.fail(*e, false)
		return
	}
	if in.BackupVaultName == "" || in.IamRoleArn == "" || in.ResourceArn == "" {
		c.fail(missingParam("BackupVaultName, IamRoleArn and ResourceArn are required"), false)
		return
	}
	typ, name, ok := resourceTypeOf(in.ResourceArn)
	if !ok {
		c.fail(invalidParam("Resource "+in.ResourceArn+" is not of a resource type AWS Backup supports here"), false)
		return
	}
	if e := c.authorize("backup:StartBackupJob", s.w.vaultArn(c.p.Account, in.BackupVaultName), nil); e != nil {
		c.fail(*e, false)
		return
	}
	if e := c.authorize("iam:PassRole", in.IamRoleArn, map[string][]string{"iam:PassedToService": {"backup.amazonaws.com"}}); e != nil {
		c.fail(*e, false)
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	a := c.acct()
	v := a.vaults[in.BackupVaultName]
	if v == nil {
		c.fail(notFound("Backup vault "+in.BackupVaultName+" does not exist in account "+a.id), false)
		return
	}
	if in.IdempotencyToken != "" {
		for _, j := range a.backupJobs {
			if j.token == in.IdempotencyToken {
				c.reply(map[string]any{"BackupJobId": j.Id, "RecoveryPointArn": j.RPArn, "CreationDate": ep(j.CreationDate), "IsParent": false})
				return
			}
		}
	}
	now := s.now().UTC()
	id := newUUID()
	rp := &RecoveryPoint{
		Arn: rpArnFor(s.opts.Region, a.id, typ, name, id), VaultName: v.Name, Account: a.id,
		ResourceArn: in.ResourceArn, ResourceType: typ, ResourceName: name, IamRoleArn: in.IamRoleArn,
		Status: "COMPLETED", CreationDate: now, CompletionDate: now,
		BackupSizeInBytes: int64(1+hashString(in.ResourceArn)%500) << 30,
		IsEncrypted:       true, EncryptionKeyArn: v.EncryptionKeyArn, EncryptionKeyType: v.EncryptionKeyType,
	}
	if in.Lifecycle != nil {
		rp.Lifecycle = *in.Lifecycle
	}
	s.w.addRP(rp)
	j := &backupJob{Id: strings.ToUpper(id), Account: a.id, VaultName: v.Name, ResourceArn: in.ResourceArn, ResourceType: typ,
		IamRoleArn: in.IamRoleArn, RPArn: rp.Arn, CreationDate: now, State: "COMPLETED", token: in.IdempotencyToken, size: rp.BackupSizeInBytes}
	a.backupJobs[j.Id] = j
	c.reply(map[string]any{"BackupJobId": j.Id, "RecoveryPointArn": j.RPArn, "CreationDate": ep(j.CreationDate), "IsParent": false})
}

func (s *Server) describeBackupJob(c *call) {
	id := c.r.PathValue("id")
	if e := c.authorize("backup:DescribeBackupJob", "*", nil); e != nil {
		c.fail(*e, false)
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	a := c.acct()
	j := a.backupJobs[id]
	if j == nil {
		c.fail(notFound("Backup job "+id+" does not exist"), false)
		return
	}
	c.reply(map[string]any{
		"AccountId": j.Account, "BackupJobId": j.Id, "BackupVaultName": j.VaultName, "BackupVaultArn": s.w.vaultArn(a.id, j.VaultName),
		"ResourceArn": j.ResourceArn, "ResourceType": j.ResourceType, "RecoveryPointArn": j.RPArn, "IamRoleArn": j.IamRoleArn,
		"State": j.State, "CreationDate": ep(j.CreationDate), "CompletionDate": ep(j.CreationDate), "BackupSizeInBytes": j.size,
		"PercentDone": "100.0", "IsParent": false,
	})
}
