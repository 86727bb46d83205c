package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

func withCall(ctx context.Context, c *call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

func callOf(r *http.Request) *call { return r.Context().Value(callKey{}).(*call) }

type backupHandler func(c *call)

// backupRoute is one REST-JSON operation.
type backupRoute struct {
	op      string
	method  string
	path    string
	handler func(s *Server) backupHandler
}

// backupRouteTable lists every Backup operation served. Each path is
// registered with and without a trailing slash, since botocore and the
// Go SDK differ.
var backupRouteTable = []backupRoute{
	{"ListBackupVaults", "GET", "/backup-vaults", func(s *Server) backupHandler { return s.listBackupVaults }},
	{"DescribeBackupVault", "GET", "/backup-vaults/{name}", func(s *Server) backupHandler { return s.describeBackupVault }},
	{"CreateBackupVault", "PUT", "/backup-vaults/{name}", func(s *Server) backupHandler { return s.createBackupVault }},
	{"DeleteBackupVault", "DELETE", "/backup-vaults/{name}", func(s *Server) backupHandler { return s.deleteBackupVault }},
	{"CreateLogicallyAirGappedBackupVault", "PUT", "/logically-air-gapped-backup-vaults/{name}", func(s *Server) backupHandler { return s.createLAGVault }},
	{"GetBackupVaultAccessPolicy", "GET", "/backup-vaults/{name}/access-policy", func(s *Server) backupHandler { return s.getAccessPolicy }},
	{"PutBackupVaultAccessPolicy", "PUT", "/backup-vaults/{name}/access-policy", func(s *Server) backupHandler { return s.putAccessPolicy }},
	{"DeleteBackupVaultAccessPolicy", "DELETE", "/backup-vaults/{name}/access-policy", func(s *Server) backupHandler { return s.deleteAccessPolicy }},
	{"GetBackupVaultNotifications", "GET", "/backup-vaults/{name}/notification-configuration", func(s *Server) backupHandler { return s.getNotifications }},
	{"PutBackupVaultNotifications", "PUT", "/backup-vaults/{name}/notification-configuration", func(s *Server) backupHandler { return s.putNotifications }},
	{"DeleteBackupVaultNotifications", "DELETE", "/backup-vaults/{name}/notification-configuration", func(s *Server) backupHandler { return s.deleteNotifications }},
	{"PutBackupVaultLockConfiguration", "PUT", "/backup-vaults/{name}/vault-lock", func(s *Server) backupHandler { return s.putVaultLock }},
	{"DeleteBackupVaultLockConfiguration", "DELETE", "/backup-vaults/{name}/vault-lock", func(s *Server) backupHandler { return s.deleteVaultLock }},
	{"ListTags", "GET", "/tags/{arn}", func(s *Server) backupHandler { return s.listTags }},
	{"TagResource", "POST", "/tags/{arn}", func(s *Server) backupHandler { return s.tagResource }},
	{"UntagResource", "POST", "/untag/{arn}", func(s *Server) backupHandler { return s.untagResource }},
	{"ListRecoveryPointsByBackupVault", "GET", "/backup-vaults/{name}/recovery-points", func(s *Server) backupHandler { return s.listRecoveryPoints }},
	{"DescribeRecoveryPoint", "GET", "/backup-vaults/{name}/recovery-points/{arn}", func(s *Server) backupHandler { return s.describeRecoveryPoint }},
	{"StartBackupJob", "PUT", "/backup-jobs", func(s *Server) backupHandler { return s.startBackupJob }},
	{"DescribeBackupJob", "GET", "/backup-jobs/{id}", func(s *Server) backupHandler { return s.describeBackupJob }},
	{"StartCopyJob", "PUT", "/copy-jobs", func(s *Server) backupHandler { return s.startCopyJob }},
	{"DescribeCopyJob", "GET", "/copy-jobs/{id}", func(s *Server) backupHandler { return s.describeCopyJob }},
	{"ListCopyJobs", "GET", "/copy-jobs", func(s *Server) backupHandler { return s.listCopyJobs }},
	{"DescribeGlobalSettings", "GET", "/global-settings", func(s *Server) backupHandler { return s.describeGlobalSettings }},
	{"UpdateGlobalSettings", "PUT", "/global-settings", func(s *Server) backupHandler { return s.updateGlobalSettings }},
}

func (s *Server) backupRoutes() (*http.ServeMux, map[string]string) {
	mux := http.NewServeMux()
	ops := map[string]string{}
	for _, rt := range backupRouteTable {
		h := rt.handler(s)
		fn := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := callOf(r)
			c.r = r
			h(c)
		})
		for _, p := range []string{rt.method + " " + rt.path, rt.method + " " + rt.path + "/{$}"} {
			mux.Handle(p, fn)
			ops[p] = rt.op
		}
	}
	return mux, ops
}

// backupOpName resolves the operation name of a REST-JSON request
// (for counters, faults and TPS limits) without serving it.
func (s *Server) backupOpName(r *http.Request) string {
	if _, pattern := s.backup.Handler(r); pattern != "" {
		return s.backupOps[pattern]
	}
	return "Unknown"
}

// epoch is a time written as epoch seconds, as REST-JSON bodies carry it.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return strconv.AppendFloat(nil, float64(t.UnixMilli())/1000, 'f', -1, 64), nil
}

func ep(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

var vaultNameRE = regexp.MustCompile(`^[a-zA-Z0-9\-_]{2,50}$`)
var creatorRequestIDRE = regexp.MustCompile(`^[A-Za-z0-9\-_.]{1,50}$`)

// vaultOut is the BackupVaultListMember / DescribeBackupVaultOutput shape.
type vaultOut struct {
	BackupVaultArn         string  `json:"BackupVaultArn"`
	BackupVaultName        string  `json:"BackupVaultName"`
	CreationDate           *epoch  `json:"CreationDate,omitempty"`
	CreatorRequestId       string  `json:"CreatorRequestId,omitempty"`
	EncryptionKeyArn       string  `json:"EncryptionKeyArn,omitempty"`
	EncryptionKeyType      string  `json:"EncryptionKeyType,omitempty"`
	LockDate               *epoch  `json:"LockDate,omitempty"`
	Locked                 *bool   `json:"Locked,omitempty"`
	MaxRetentionDays       *int64  `json:"MaxRetentionDays,omitempty"`
	MinRetentionDays       *int64  `json:"MinRetentionDays,omitempty"`
	NumberOfRecoveryPoints int64   `json:"NumberOfRecoveryPoints"`
	VaultState             string  `json:"VaultState,omitempty"`
	VaultType              string  `json:"VaultType"`
	AccountId              *string `json:"-"`
}

func (s *Server) vaultView(v *Vault) vaultOut {
	locked := v.Locked
	o := vaultOut{
		BackupVaultArn: v.Arn, BackupVaultName: v.Name, CreationDate: ep(v.CreationDate),
		CreatorRequestId: v.CreatorRequestId, EncryptionKeyArn: v.EncryptionKeyArn, EncryptionKeyType: v.EncryptionKeyType,
		Locked: &locked, MaxRetentionDays: v.MaxRetentionDays, MinRetentionDays: v.MinRetentionDays,
		VaultType: v.VaultType, VaultState: s.vaultState(v),
	}
	if v.LockDate != nil {
		o.LockDate = ep(*v.LockDate)
	}
	for _, rp := range v.rps {
		if !rp.Deleted {
			o.NumberOfRecoveryPoints++
		}
	}
	return o
}

func (s *Server) vaultState(v *Vault) string {
	if v.VaultType != "LOGICALLY_AIR_GAPPED_BACKUP_VAULT" {
		return ""
	}
	if v.VaultState == "CREATING" && !s.now().Before(v.AvailableAt) {
		v.VaultState = "AVAILABLE"
	}
	return v.VaultState
}

// vault finds a vault of the caller's account by the {name} path value,
// honouring backupVaultAccountId when given.
func (c *call) vault(a *account) (*Vault, *apiError) {
	name := c.r.PathValue("name")
	if !vaultNameRE.MatchString(name) {
		e := invalidParam("Invalid backup vault name " + strconv.Quote(name) + ": it must match ^[a-zA-Z0-9\\-\\_]{2,50}$")
		return nil, &e
	}
	v := a.vaults[name]
	if v == nil {
		e := apiErr(400, "ResourceNotFoundException", "Backup vault "+name+" does not exist in account "+a.id+" (region "+c.s.opts.Region+")")
		return nil, &e
	}
	return v, nil
}

// acct returns the caller's account state; the caller holds w.mu.
func (c *call) acct() *account { return c.s.w.accounts[c.p.Account] }

// withVault runs fn under the world lock with the named vault after
// authorising action on the vault's ARN.
func (c *call) withVault(action string, fn func(a *account, v *Vault)) {
	s := c.s
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	a := c.acct()
	if id := c.r.URL.Query().Get("backupVaultAccountId"); id != "" && id != a.id {
		c.fail(apiErr(403, "AccessDeniedException", "User: "+c.p.SessionArn+" is not authorized to read backup vaults of account "+id), false)
		return
	}
	arn := s.w.vaultArn(a.id, c.r.PathValue("name"))
	if e := c.authorize(action, arn, nil); e != nil {
		c.fail(*e, false)
		return
	}
	v, e := c.vault(a)
	if e != nil {
		c.fail(*e, false)
		return
	}
	fn(a, v)
}

func (s *Server) listBackupVaults(c *call) {
	if e := c.authorize("backup:ListBackupVaults", "*", nil); e != nil {
		c.fail(*e, false)
		return
	}
	q := c.r.URL.Query()
	max, start, e := pageParams(q, "vaults")
	if e != nil {
		c.fail(*e, false)
		return
	}
	if s.faults.shortPage() && max > 1 {
		max = 1 + max/3
	}
	vt := q.Get("vaultType")
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	a := c.acct()
	var out struct {
		BackupVaultList []vaultOut `json:"BackupVaultList"`
		NextToken       string     `json:"NextToken,omitempty"`
	}
	out.BackupVaultList = []vaultOut{}
	i := start
	for ; i < len(a.vaultOrder) && len(out.BackupVaultList) < max; i++ {
		v := a.vaults[a.vaultOrder[i]]
		if v == nil || (vt != "" && v.VaultType != vt) {
			continue
		}
		out.BackupVaultList = append(out.BackupVaultList, s.vaultView(v))
	}
	if i < len(a.vaultOrder) {
		out.NextToken = encodeToken("vaults", i)
	}
	c.reply(out)
}

func (s *Server) describeBackupVault(c *call) {
	c.withVault("backup:DescribeBackupVault", func(a *account, v *Vault) {
		o := s.vaultView(v)
		type describeOut struct {
			vaultOut
			SourceBackupVaultArn string `json:"SourceBackupVaultArn,omitempty"`
		}
		c.reply(describeOut{vaultOut: o})
	})
}

type createVaultIn struct {
	BackupVaultTags  map[string]string
	CreatorRequestId string
	EncryptionKeyArn string
	MinRetentionDays *int64
	MaxRetentionDays *int64
}

func (s *Server) createBackupVault(c *call) { s.createVault(c, false) }
func (s *Server) createLAGVault(c *call)    { s.createVault(c, true) }
func (s *Server) deleteAccessPolicy(c *call) {
	s.setAccessPolicy(c, "backup:DeleteBackupVaultAccessPolicy", "")
}

func (s *Server) createVault(c *call, lag bool) {
	var in createVaultIn
	if e := c.decode(&in); e != nil {
		c.fail(*e, false)
		return
	}
	action := "backup:CreateBackupVault"
	if lag {
		action = "backup:CreateLogicallyAirGappedBackupVault"
	}
	name := c.r.PathValue("name")
	if !vaultNameRE.MatchString(name) {
		c.fail(invalidParam("Invalid backup vault name "+strconv.Quote(name)+": it must match ^[a-zA-Z0-9\\-\\_]{2,50}$"), false)
		return
	}
	if in.CreatorRequestId != "" && !creatorRequestIDRE.MatchString(in.CreatorRequestId) {
		c.fail(invalidParam("CreatorRequestId must be 1-50 characters from [A-Za-z0-9-_.]"), false)
		return
	}
	if lag {
		if in.MinRetentionDays == nil || in.MaxRetentionDays == nil {
			c.fail(missingParam("MinRetentionDays and MaxRetentionDays are required for a logically air-gapped vault"), false)
			return
		}
		if *in.MinRetentionDays < 7 || *in.MaxRetentionDays > 36500 || *in.MinRetentionDays > *in.MaxRetentionDays {
			c.fail(invalidParam("MinRetentionDays must be at least 7 and at most MaxRetentionDays, and MaxRetentionDays at most 36500"), false)
			return
		}
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	a := c.acct()
	arn := s.w.vaultArn(a.id, name)
	if e := c.authorize(action, arn, nil); e != nil {
		c.fail(*e, false)
		return
	}
	if len(in.BackupVaultTags) > 0 {
		if e := c.authorize("backup:TagResource", arn, nil); e != nil {
			c.fail(*e, false)
			return
		}
	}
	if in.EncryptionKeyArn != "" && !strings.HasPrefix(in.EncryptionKeyArn, "arn:aws:kms:"+s.opts.Region+":") {
		c.fail(invalidParam("EncryptionKeyArn "+in.EncryptionKeyArn+" is not a KMS key ARN in region "+s.opts.Region), false)
		return
	}
	// Creating a vault mounts its storage and, with a customer-managed
	// key, grants AWS Backup the use of that key on the caller's behalf:
	// AWS documents these permissions as required of the caller
	// (devguide create-a-vault.html).
	if e := c.authorize("backup-storage:MountCapsule", "*", nil); e != nil {
		c.fail(*e, false)
		return
	}
	if in.EncryptionKeyArn != "" {
		for _, act := range VaultKeyActions {
			if e := c.authorize(act, in.EncryptionKeyArn, nil); e != nil {
				c.fail(*e, false)
				return
			}
		}
	}
	if v := a.vaults[name]; v != nil {
		// Same CreatorRequestId: an idempotent retry answers as before.
		if in.CreatorRequestId != "" && in.CreatorRequestId == v.CreatorRequestId {
			s.replyCreated(c, v, lag)
			return
		}
		c.fail(apiErr(400, "AlreadyExistsException", "Backup vault with the same name already exists"), false)
		return
	}
	now := s.now().UTC()
	v := &Vault{Name: name, Account: a.id, CreationDate: now, CreatorRequestId: in.CreatorRequestId,
		EncryptionKeyArn: in.EncryptionKeyArn, Tags: copyTags(in.BackupVaultTags)}
	if v.EncryptionKeyArn == "" {
		v.EncryptionKeyArn = "arn:aws:kms:" + s.opts.Region + ":" + a.id + ":key/" + awsManagedBackupKeyID(a.id)
		v.EncryptionKeyType = "AWS_OWNED_KMS_KEY"
		if !lag {
			v.EncryptionKeyType = ""
		}
	} else {
		v.EncryptionKeyType = "CUSTOMER_MANAGED_KMS_KEY"
	}
	if lag {
		v.VaultType = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"
		v.VaultState = "CREATING"
		v.AvailableAt = s.lagAvailableAt(now)
		v.Locked = true
		v.MinRetentionDays, v.MaxRetentionDays = in.MinRetentionDays, in.MaxRetentionDays
		ld := now
		v.LockDate = &ld
	}
	s.w.addVault(v)
	s.replyCreated(c, v, lag)
}

// awsManagedBackupKeyID is the stable key id the emulator uses for an
// account's aws/backup managed key.
func awsManagedBackupKeyID(acct string) string {
	h := fmt.Sprintf("%016x%016x", hashString("aws/backup"+acct), hashString(acct+"aws/backup"))
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

func (s *Server) replyCreated(c *call, v *Vault, lag bool) {
	out := map[string]any{"BackupVaultArn": v.Arn, "BackupVaultName": v.Name, "CreationDate": ep(v.CreationDate)}
	if lag {
		out["VaultState"] = s.vaultState(v)
	}
	c.reply(out)
}

func copyTags(t map[string]string) map[string]string {
	if len(t) == 0 {
		return nil
	}
	out := make(map[string]string, len(t))
	for k, v := range t {
		out[k] = v
	}
	return out
}

func (s *Server) deleteBackupVault(c *call) {
	c.withVault("backup:DeleteBackupVault", func(a *account, v *Vault) {
		for _, rp := range v.rps {
			if !rp.Deleted {
				c.fail(invalidRequest("Backup vault cannot be deleted because it contains recovery points"), false)
				return
			}
		}
		if v.LockDate != nil && !s.now().Before(*v.LockDate) {
			c.fail(invalidRequest("Backup vault "+v.Name+" is locked in compliance mode and cannot be deleted"), false)
			return
		}
		delete(a.vaults, v.Name)
		for i, n := range a.vaultOrder {
			if n == v.Name {
				a.vaultOrder[i] = "" // keep indices stable for open tokens
			}
		}
		c.reply(nil)
	})
}

func (s *Server) getAccessPolicy(c *call) {
	c.withVault("backup:GetBackupVaultAccessPolicy", func(a *account, v *Vault) {
		if v.AccessPolicy == "" {
			c.fail(notFound("Backup vault "+v.Name+" has no access policy"), false)
			return
		}
		c.reply(map[string]string{"BackupVaultArn": v.Arn, "BackupVaultName": v.Name, "Policy": v.AccessPolicy})
	})
}

func (s *Server) putAccessPolicy(c *call) {
	var in struct{ Policy string }
	if e := c.decode(&in); e != nil {
		c.fail(*e, false)
		return
	}
	if in.Policy == "" {
		c.fail(missingParam("Policy is required"), false)
		return
	}
	if _, err := ParsePolicy(in.Policy); err != nil {
		c.fail(invalidParam("Policy is not a valid access policy: "+err.Error()), false)
		return
	}
	s.setAccessPolicy(c, "backup:PutBackupVaultAccessPolicy", in.Policy)
}

func (s *Server) setAccessPolicy(c *call, action, policy string) {
	c.withVault(action, func(a *account, v *Vault) {
		v.AccessPolicy = policy
		c.reply(nil)
	})
}

func (s *Server) getNotifications(c *call) {
	c.withVault("backup:GetBackupVaultNotifications", func(a *account, v *Vault) {
		if v.SNSTopicArn == "" {
			c.fail(notFound("Backup vault "+v.Name+" has no notification configuration"), false)
			return
		}
		c.reply(map[string]any{"BackupVaultArn": v.Arn, "BackupVaultName": v.Name, "SNSTopicArn": v.SNSTopicArn, "BackupVaultEvents": v.VaultEvents})
	})
}

func (s *Server) putNotifications(c *call) {
	var in struct {
		SNSTopicArn       string
		BackupVaultEvents []string
	}
	if e := c.decode(&in); e != nil {
		c.fail(*e, false)
		return
	}
	if in.SNSTopicArn == "" || in.BackupVaultEvents == nil {
		c.fail(missingParam("SNSTopicArn and BackupVaultEvents are required"), false)
		return
	}
	c.withVault("backup:PutBackupVaultNotifications", func(a *account, v *Vault) {
		if !strings.HasPrefix(in.SNSTopicArn, "arn:aws:sns:"+s.opts.Region+":"+a.id+":") {
			c.fail(invalidParam("SNSTopicArn "+in.SNSTopicArn+" must be an SNS topic in account "+a.id+" and region "+s.opts.Region), false)
			return
		}
		v.SNSTopicArn = in.SNSTopicArn
		v.VaultEvents = append([]string(nil), in.BackupVaultEvents...)
		c.reply(nil)
	})
}

func (s *Server) deleteNotifications(c *call) {
	c.withVault("backup:DeleteBackupVaultNotifications", func(a *account, v *Vault) {
		v.SNSTopicArn, v.VaultEvents = "", nil
		c.reply(nil)
	})
}

func (s *Server) putVaultLock(c *call) {
	var in struct {
		MinRetentionDays  *int64
		MaxRetentionDays  *int64
		ChangeableForDays *int64
	}
	if e := c.decode(&in); e != nil {
		c.fail(*e, false)
		return
	}
	switch {
	case in.MinRetentionDays != nil && *in.MinRetentionDays < 1:
		c.fail(invalidParam("MinRetentionDays must be at least 1"), false)
		return
	case in.MaxRetentionDays != nil && *in.MaxRetentionDays > 36500:
		c.fail(invalidParam("MaxRetentionDays must be at most 36500"), false)
		return
	case in.MinRetentionDays != nil && in.MaxRetentionDays != nil && *in.MinRetentionDays > *in.MaxRetentionDays:
		c.fail(invalidParam("MinRetentionDays must not be greater than MaxRetentionDays"), false)
		return
	case in.ChangeableForDays != nil && *in.ChangeableForDays < 3:
		c.fail(invalidParam("ChangeableForDays must be at least 3"), false)
		return
	}
	c.withVault("backup:PutBackupVaultLockConfiguration", func(a *account, v *Vault) {
		if v.LockDate != nil && !s.now().Before(*v.LockDate) {
			c.fail(invalidRequest("Backup vault "+v.Name+" is locked in compliance mode; its lock configuration can no longer be changed"), false)
			return
		}
		v.Locked = true
		v.MinRetentionDays, v.MaxRetentionDays = in.MinRetentionDays, in.MaxRetentionDays
		v.LockDate = nil
		if in.ChangeableForDays != nil {
			ld := s.now().UTC().Add(time.Duration(*in.ChangeableForDays) * 24 * time.Hour)
			v.LockDate = &ld
		}
		c.reply(nil)
	})
}

func (s *Server) deleteVaultLock(c *call) {
	c.withVault("backup:DeleteBackupVaultLockConfiguration", func(a *account, v *Vault) {
		if v.LockDate != nil && !s.now().Before(*v.LockDate) {
			c.fail(invalidRequest("Backup vault "+v.Name+" is locked in compliance mode; the lock cannot be removed"), false)
			return
		}
		v.Locked, v.MinRetentionDays, v.MaxRetentionDays, v.LockDate = false, nil, nil, nil
		c.reply(nil)
	})
}

// taggable finds the tag map of a vault or recovery point by ARN.
func (s *Server) taggable(a *account, arn string) (*map[string]string, *apiError) {
	if strings.Contains(arn, ":backup-vault:") {
		name := arn[strings.LastIndex(arn, ":")+1:]
		if v := a.vaults[name]; v != nil && v.Arn == arn {
			return &v.Tags, nil
		}
	} else if rp := a.rpIndex[arn]; rp != nil && !rp.Deleted {
		if !Types[rp.ResourceType].Taggable {
			e := invalidParam("Resource type " + rp.ResourceType + " does not support tagging through AWS Backup; tag " + arn + " with the service that owns it")
			return nil, &e
		}
		return &rp.Tags, nil
	}
	e := notFound("Resource " + arn + " does not exist in account " + a.id)
	return nil, &e
}

func (s *Server) listTags(c *call) {
	arn := c.r.PathValue("arn")
	if e := c.authorize("backup:ListTags", arn, nil); e != nil {
		c.fail(*e, false)
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	tags, e := s.taggable(c.acct(), arn)
	if e != nil {
		c.fail(*e, false)
		return
	}
	keys := make([]string, 0, len(*tags))
	for k := range *tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	max, start, pe := pageParams(c.r.URL.Query(), "tags")
	if pe != nil {
		c.fail(*pe, false)
		return
	}
	out := struct {
		Tags      map[string]string `json:"Tags"`
		NextToken string            `json:"NextToken,omitempty"`
	}{Tags: map[string]string{}}
	i := start
	for ; i < len(keys) && len(out.Tags) < max; i++ {
		out.Tags[keys[i]] = (*tags)[keys[i]]
	}
	if i < len(keys) {
		out.NextToken = encodeToken("tags", i)
	}
	c.reply(out)
}

func (s *Server) tagResource(c *call) {
	var in struct{ Tags map[string]string }
	if e := c.decode(&in); e != nil {
		c.fail(*e, false)
		return
	}
	if len(in.Tags) == 0 {
		c.fail(missingParam("Tags is required"), false)
		return
	}
	arn := c.r.PathValue("arn")
	if e := c.authorize("backup:TagResource", arn, nil); e != nil {
		c.fail(*e, false)
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	tags, e := s.taggable(c.acct(), arn)
	if e != nil {
		c.fail(*e, false)
		return
	}
	if *tags == nil {
		*tags = map[string]string{}
	}
	for k, v := range in.Tags {
		(*tags)[k] = v
	}
	if len(*tags) > 50 {
		for k := range in.Tags {
			delete(*tags, k)
		}
		c.fail(apiErr(400, "LimitExceededException", "A resource can have at most 50 tags"), false)
		return
	}
	c.reply(nil)
}

func (s *Server) untagResource(c *call) {
	var in struct{ TagKeyList []string }
	if e := c.decode(&in); e != nil {
		c.fail(*e, false)
		return
	}
	arn := c.r.PathValue("arn")
	if e := c.authorize("backup:UntagResource", arn, nil); e != nil {
		c.fail(*e, false)
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	tags, e := s.taggable(c.acct(), arn)
	if e != nil {
		c.fail(*e, false)
		return
	}
	for _, k := range in.TagKeyList {
		delete(*tags, k)
	}
	c.reply(nil)
}

func (s *Server) describeGlobalSettings(c *call) {
	if e := c.authorize("backup:DescribeGlobalSettings", "*", nil); e != nil {
		c.fail(*e, false)
		return
	}
	s.w.mu.Lock()
	on := c.acct().crossAccountBackup
	s.w.mu.Unlock()
	c.reply(map[string]any{
		"GlobalSettings": map[string]string{
			"isCrossAccountBackupEnabled":     strconv.FormatBool(on),
			"isMpaEnabled":                    "false",
			"isDelegatedAdministratorEnabled": "false",
		},
		"LastUpdateTime": ep(time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)),
	})
}

func (s *Server) updateGlobalSettings(c *call) {
	var in struct{ GlobalSettings map[string]string }
	if e := c.decode(&in); e != nil {
		c.fail(*e, false)
		return
	}
	if e := c.authorize("backup:UpdateGlobalSettings", "*", nil); e != nil {
		c.fail(*e, false)
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	if v, ok := in.GlobalSettings["isCrossAccountBackupEnabled"]; ok {
		c.acct().crossAccountBackup = v == "true"
	}
	c.reply(nil)
}

// pageParams reads maxResults (1..1000, default 1000) and nextToken.
func pageParams(q map[string][]string, kind string) (max, start int, e *apiError) {
	if max, e = maxResults(q); e != nil {
		return 0, 0, e
	}
	if t := first(q, "nextToken"); t != "" {
		n, ok := decodeToken(kind, t)
		if !ok {
			x := invalidParam("The NextToken is not valid for this operation; start again without it")
			return 0, 0, &x
		}
		start = n
	}
	return max, start, nil
}

func maxResults(q map[string][]string) (int, *apiError) {
	v := first(q, "maxResults")
	if v == "" {
		return 1000, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		x := invalidParam("maxResults must be an integer between 1 and 1000, got " + strconv.Quote(v))
		return 0, &x
	}
	return n, nil
}

func first(q map[string][]string, k string) string {
	if v := q[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Tokens are opaque to clients: base64 of a versioned JSON object.
func encodeToken(kind string, idx int) string {
	b, _ := json.Marshal(struct {
		V int    `json:"v"`
		K string `json:"k"`
		I int    `json:"i"`
	}{1, kind, idx})
	return b64.EncodeToString(b)
}

func decodeToken(kind, tok string) (int, bool) {
	b, err := b64.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	var t struct {
		V int    `json:"v"`
		K string `json:"k"`
		I int    `json:"i"`
	}
	if json.Unmarshal(b, &t) != nil || t.V != 1 || t.K != kind || t.I < 0 {
		return 0, false
	}
	return t.I, true
}
