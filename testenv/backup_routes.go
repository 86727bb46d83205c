package testenv

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// The AWS Backup REST-JSON routes, each call's context, and times as
// epoch seconds in JSON.

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
