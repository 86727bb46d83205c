package testenv

// credential_process: the source-process profile runs
// `shuffle testenv credential-process`, which prints what
// GET /_testenv/credentials/PROFILE answers. That profile has keys of its
// own (a session of the source account's ShuffleOperator role), rotated
// with the others and never written to aws/credentials.

import (
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ProcessCredentials is the JSON a credential_process prints (version 1).
type ProcessCredentials struct {
	Version         int
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string `json:",omitempty"`
	Expiration      string `json:",omitempty"` // RFC 3339; absent for long-lived keys
}

// ProcessCredentialsFor returns a profile's current credentials in the
// credential_process format.
func (s *Server) ProcessCredentialsFor(profile string) (ProcessCredentials, bool) {
	c, ok := s.Current(profile)
	if !ok {
		return ProcessCredentials{}, false
	}
	out := ProcessCredentials{Version: 1, AccessKeyId: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
	if !c.Expires.IsZero() {
		out.Expiration = c.Expires.UTC().Format(time.RFC3339)
	}
	return out, true
}

// adminCredentials answers GET /_testenv/credentials/{profile}.
func (s *Server) adminCredentials(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("profile")
	pc, ok := s.ProcessCredentialsFor(name)
	if !ok {
		var issued []string
		for _, p := range profiles {
			if p.issued() {
				issued = append(issued, p.Name)
			}
		}
		writeJSON(w, 404, map[string]string{"error": "testenv issues no keys of its own for profile " + strconv.Quote(name) +
			" (it has keys for " + strings.Join(issued, ", ") + ")"})
		return
	}
	writeJSON(w, 200, pc)
}

// processCommand is the command line written into credential_process.
func (s *Server) processCommand(endpoint string) string {
	exe := s.opts.ProcessCommand
	if exe == "" {
		if p, err := exec.LookPath("shuffle"); err == nil {
			exe = p
		} else if p, err := os.Executable(); err == nil {
			exe = p
		} else {
			exe = "shuffle"
		}
	}
	// The SDKs run it through a shell (Go) or split it like one (the AWS
	// CLI): quote the executable, whose path may hold spaces. (A path
	// with a double quote, $ or a backslash would need more.)
	return `"` + exe + `" testenv credential-process --endpoint ` + endpoint + " --profile " + ProfileSourceProcess
}
