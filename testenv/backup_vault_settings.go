package testenv

import (
	"strings"
	"time"
)

// A vault's settings: its access policy, notifications and lock.

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
