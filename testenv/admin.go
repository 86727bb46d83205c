package testenv

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// The admin API lives under /_testenv/ on the same listener. It answers
// only loopback clients, needs no signature, and speaks JSON.
//
//	GET  /_testenv/health                 {"ok":true,"region":...,"endpoint":...}
//	GET  /_testenv/counters               CountersSnapshot
//	POST /_testenv/counters/reset
//	GET  /_testenv/faults                 Faults
//	PUT  /_testenv/faults                 Faults (replaces all faults)
//	GET  /_testenv/quotas                 Quotas
//	PUT  /_testenv/quotas                 Quotas (zero fields take AWS defaults)
//	POST /_testenv/rotation               {"enabled":false} stops credential rotation
//	POST /_testenv/rotate                 issues new credentials (and SSO token) now
//	GET  /_testenv/credentials/{profile}  the profile's current keys as credential_process prints them
//	PUT  /_testenv/policies/{profile}     ["<policy json>", ...] replaces a profile's identity policies
//	PUT  /_testenv/global-settings/{account}  {"cross_account_backup":false}
//	POST /_testenv/vaults/finish-creating  air-gapped vaults still CREATING become AVAILABLE now
//	GET  /_testenv/variants               {"variants":[...]}
//	PUT  /_testenv/variants               {"variants":[...]} (replaces all; "all" for every one)
//	POST /_testenv/live/tick              one simulated day passes: LiveTickResult (409 when live mode is off)
func (s *Server) adminMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /_testenv/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"ok": true, "region": s.opts.Region, "endpoint": s.Endpoint(), "rotating": s.Rotating()})
	})
	m.HandleFunc("GET /_testenv/counters", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, s.counters.Snapshot())
	})
	m.HandleFunc("POST /_testenv/counters/reset", func(w http.ResponseWriter, r *http.Request) {
		s.counters.Reset()
		writeJSON(w, 200, map[string]bool{"ok": true})
	})
	m.HandleFunc("GET /_testenv/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, s.faults.get())
	})
	m.HandleFunc("PUT /_testenv/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if !readJSON(w, r, &f) {
			return
		}
		if err := s.SetFaults(f); err != nil {
			writeJSON(w, 400, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, 200, f)
	})
	m.HandleFunc("GET /_testenv/quotas", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, s.Quotas())
	})
	m.HandleFunc("PUT /_testenv/quotas", func(w http.ResponseWriter, r *http.Request) {
		var q Quotas
		if !readJSON(w, r, &q) {
			return
		}
		s.SetQuotas(q)
		writeJSON(w, 200, s.Quotas())
	})
	m.HandleFunc("GET /_testenv/memory", func(w http.ResponseWriter, r *http.Request) {
		mem := s.Memory()
		writeJSON(w, 200, map[string]string{"idempotency_memory": FormatMemory(mem.IdempotencyMemory), "copy_job_retention": FormatMemory(mem.CopyJobRetention)})
	})
	m.HandleFunc("PUT /_testenv/memory", s.adminPutMemory)
	m.HandleFunc("POST /_testenv/rotation", s.adminSetRotation)
	m.HandleFunc("POST /_testenv/rotate", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Rotate(); err != nil {
			writeJSON(w, 500, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, 200, map[string]bool{"ok": true})
	})
	m.HandleFunc("GET /_testenv/credentials/{profile}", s.adminCredentials)
	m.HandleFunc("POST /_testenv/vaults/finish-creating", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]int{"available": s.FinishCreatingVaults()})
	})
	m.HandleFunc("GET /_testenv/variants", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string][]string{"variants": s.Variants()})
	})
	m.HandleFunc("PUT /_testenv/variants", s.adminPutVariants)
	m.HandleFunc("PUT /_testenv/policies/{profile}", s.adminPutPolicies)
	m.HandleFunc("PUT /_testenv/global-settings/{account}", s.adminPutGlobalSettings)
	m.HandleFunc("POST /_testenv/live/tick", func(w http.ResponseWriter, r *http.Request) {
		if s.live == nil {
			writeJSON(w, 409, map[string]string{"error": "live mode is off: start the emulator with --live (testenv.Options.Live) to tick"})
			return
		}
		writeJSON(w, 200, s.LiveTick())
	})
	return m
}

// adminPutMemory sets how long idempotency tokens and finished copy
// jobs are remembered.
func (s *Server) adminPutMemory(w http.ResponseWriter, r *http.Request) {
	var in struct {
		IdempotencyMemory *string `json:"idempotency_memory"`
		CopyJobRetention  *string `json:"copy_job_retention"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	mem := s.Memory()
	for _, f := range []struct {
		name string
		v    *string
		d    *time.Duration
	}{{"idempotency_memory", in.IdempotencyMemory, &mem.IdempotencyMemory}, {"copy_job_retention", in.CopyJobRetention, &mem.CopyJobRetention}} {
		if f.v == nil {
			continue
		}
		d, err := ParseMemory(*f.v)
		if err != nil {
			writeJSON(w, 400, map[string]string{"error": f.name + " " + err.Error()})
			return
		}
		*f.d = d
	}
	s.SetMemory(mem)
	writeJSON(w, 200, map[string]string{"idempotency_memory": FormatMemory(mem.IdempotencyMemory), "copy_job_retention": FormatMemory(mem.CopyJobRetention)})
}

// adminPutVariants replaces the variants in force.
func (s *Server) adminPutVariants(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Variants *[]string `json:"variants"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Variants == nil {
		writeJSON(w, 400, map[string]string{"error": `body must be {"variants": ["NAME", ...]}`})
		return
	}
	if err := s.SetVariants(*in.Variants); err != nil {
		writeJSON(w, 400, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, 200, map[string][]string{"variants": s.Variants()})
}

// adminSetRotation turns the credential rotation on or off.
func (s *Server) adminSetRotation(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Enabled *bool `json:"enabled"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Enabled == nil {
		writeJSON(w, 400, map[string]string{"error": `body must be {"enabled": true|false}`})
		return
	}
	s.SetRotation(*in.Enabled)
	writeJSON(w, 200, map[string]bool{"enabled": *in.Enabled})
}

// adminPutPolicies replaces a profile's identity policies: a JSON list
// of policy documents, as strings or objects.
func (s *Server) adminPutPolicies(w http.ResponseWriter, r *http.Request) {
	var raw []json.RawMessage
	if !readJSON(w, r, &raw) {
		return
	}
	docs := make([]string, len(raw))
	for i, d := range raw {
		var str string
		if json.Unmarshal(d, &str) == nil {
			docs[i] = str
		} else {
			docs[i] = string(d)
		}
	}
	if err := s.SetPolicies(r.PathValue("profile"), docs); err != nil {
		writeJSON(w, 400, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, 200, map[string]bool{"ok": true})
}

// adminPutGlobalSettings sets an account's cross-account backup setting.
func (s *Server) adminPutGlobalSettings(w http.ResponseWriter, r *http.Request) {
	var in struct {
		CrossAccountBackup *bool `json:"cross_account_backup"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.CrossAccountBackup == nil {
		writeJSON(w, 400, map[string]string{"error": `body must be {"cross_account_backup": true|false}`})
		return
	}
	if err := s.SetCrossAccountBackup(r.PathValue("account"), *in.CrossAccountBackup); err != nil {
		writeJSON(w, 400, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, 200, map[string]bool{"ok": true})
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		writeJSON(w, 403, map[string]string{"error": "the testenv admin API answers loopback clients only"})
		return
	}
	s.adminOnce.Do(func() { s.admin = s.adminMux() })
	if _, pattern := s.admin.Handler(r); pattern == "" {
		writeJSON(w, 404, map[string]string{"error": "no admin endpoint " + r.Method + " " + r.URL.Path + "; see docs/testenv.md"})
		return
	}
	s.admin.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err == nil {
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
	}
	if err != nil {
		writeJSON(w, 400, map[string]string{"error": "bad request body: " + err.Error()})
		return false
	}
	return true
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) error { return s.faults.set(f) }

// Quotas returns the quotas in force.
func (s *Server) Quotas() Quotas {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	return s.opts.Quotas
}

// SetQuotas replaces the quotas; zero fields take the AWS defaults.
func (s *Server) SetQuotas(q Quotas) {
	q.defaults()
	s.w.mu.Lock()
	s.opts.Quotas = q
	s.w.mu.Unlock()
}

// SetCrossAccountBackup turns an account's cross-account backup setting on or off.
func (s *Server) SetCrossAccountBackup(acct string, on bool) error {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	a := s.w.accounts[acct]
	if a == nil {
		return errUnknownAccount(acct)
	}
	a.crossAccountBackup = on
	return nil
}

type errUnknownAccount string

func (e errUnknownAccount) Error() string {
	return "unknown account " + string(e) + "; testenv has " + SourceAccount + " and " + DestinationAccount
}

// Memory is how long the emulator remembers copy jobs: the idempotency
// tokens StartCopyJob answers and the jobs ListCopyJobs lists (Options).
type Memory struct {
	IdempotencyMemory time.Duration
	CopyJobRetention  time.Duration
}

// Memory returns the memory settings in force.
func (s *Server) Memory() Memory {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	return Memory{IdempotencyMemory: s.opts.IdempotencyMemory, CopyJobRetention: s.opts.CopyJobRetention}
}

// SetMemory changes how long tokens and jobs are remembered, from now
// on and for the jobs already made: a test rehearses an account whose
// job history lapsed between two runs.
func (s *Server) SetMemory(m Memory) {
	s.w.mu.Lock()
	s.opts.IdempotencyMemory, s.opts.CopyJobRetention = m.IdempotencyMemory, m.CopyJobRetention
	s.w.mu.Unlock()
}

// ParseMemory reads a memory setting as the CLI and the admin API take
// it: "forever" (0), "none" (negative) or a positive duration.
func ParseMemory(v string) (time.Duration, error) {
	switch v {
	case "forever", "":
		return 0, nil
	case "none":
		return -1, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: want forever, none, or a positive duration such as 24h", v)
	}
	return d, nil
}

// FormatMemory is ParseMemory's inverse.
func FormatMemory(d time.Duration) string {
	switch {
	case d == 0:
		return "forever"
	case d < 0:
		return "none"
	}
	return d.String()
}
