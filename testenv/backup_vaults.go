package testenv

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// AWS Backup vaults: list, describe, create (plain and logically
// air-gapped) and delete.

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
	o.NumberOfRecoveryPoints = s.staleCount(v, o.NumberOfRecoveryPoints)
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
	max, start, e := pageParams(q, "vaults", s.maxPage())
	if e != nil {
		c.fail(*e, false)
		return
	}
	max = s.pageLimit(max)
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
	s.replyListing(c, out, "BackupVaultList", vaultOptional)
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
	if e := in.check(name, lag); e != nil {
		c.fail(*e, false)
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	a := c.acct()
	arn := s.w.vaultArn(a.id, name)
	if e := s.authorizeCreate(c, action, arn, in); e != nil {
		c.fail(*e, false)
		return
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
	v := s.newVault(a, name, in, lag)
	s.w.addVault(v)
	s.replyCreated(c, v, lag)
}

// check checks a create call's parameters that need no state.
func (in createVaultIn) check(name string, lag bool) *apiError {
	if !vaultNameRE.MatchString(name) {
		return invalidParam("Invalid backup vault name " + strconv.Quote(name) + ": it must match ^[a-zA-Z0-9\\-\\_]{2,50}$").ptr()
	}
	if in.CreatorRequestId != "" && !creatorRequestIDRE.MatchString(in.CreatorRequestId) {
		return invalidParam("CreatorRequestId must be 1-50 characters from [A-Za-z0-9-_.]").ptr()
	}
	if lag {
		if in.MinRetentionDays == nil || in.MaxRetentionDays == nil {
			return missingParam("MinRetentionDays and MaxRetentionDays are required for a logically air-gapped vault").ptr()
		}
		if *in.MinRetentionDays < 7 || *in.MaxRetentionDays > 36500 || *in.MinRetentionDays > *in.MaxRetentionDays {
			return invalidParam("MinRetentionDays must be at least 7 and at most MaxRetentionDays, and MaxRetentionDays at most 36500").ptr()
		}
	}
	return nil
}

// authorizeCreate checks the caller may create the vault arn with in's
// tags and key, and that the key is in the region.
func (s *Server) authorizeCreate(c *call, action, arn string, in createVaultIn) *apiError {
	if e := c.authorize(action, arn, nil); e != nil {
		return e
	}
	if len(in.BackupVaultTags) > 0 {
		if e := c.authorize("backup:TagResource", arn, nil); e != nil {
			return e
		}
	}
	if in.EncryptionKeyArn != "" && !strings.HasPrefix(in.EncryptionKeyArn, "arn:aws:kms:"+s.opts.Region+":") {
		return invalidParam("EncryptionKeyArn " + in.EncryptionKeyArn + " is not a KMS key ARN in region " + s.opts.Region).ptr()
	}
	// Creating a vault mounts its storage and, with a customer-managed
	// key, grants AWS Backup the use of that key on the caller's behalf:
	// AWS documents these permissions as required of the caller
	// (devguide create-a-vault.html).
	if e := c.authorize("backup-storage:MountCapsule", "*", nil); e != nil {
		return e
	}
	if in.EncryptionKeyArn != "" {
		for _, act := range VaultKeyActions {
			if e := c.authorize(act, in.EncryptionKeyArn, nil); e != nil {
				return e
			}
		}
	}
	return nil
}

// newVault is the vault a create call makes: with the account's
// aws/backup key when none is given; air-gapped ones locked and
// CREATING for a while.
func (s *Server) newVault(a *account, name string, in createVaultIn, lag bool) *Vault {
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
	return v
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
