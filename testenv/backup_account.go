package testenv

import (
	"strconv"
	"time"
)

// The account's AWS Backup global settings.

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
