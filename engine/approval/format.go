package approval

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/plan"
)

// Schema names the version of the approved-plan file. Fields are only
// ever added within one version.
const Schema = "shuffle.approved-plan/v1"

// Header is the first line of the file: what was approved, known before
// the decisions are written.
type Header struct {
	Schema    string    `json:"schema"`
	CreatedAt time.Time `json:"created_at"`
	Script    string    `json:"script"`
	// PolicyHash is the hash of every policy module the decisions were
	// made with (decide, vaults, tags).
	PolicyHash string `json:"policy_hash"`
	// MetadataHash is the SHA-256 of the metadata CSV they were made with.
	MetadataHash string `json:"metadata_hash,omitempty"`
	// The accounts and region the plan copies between.
	SourceAccount      string `json:"source_account"`
	DestinationAccount string `json:"destination_account"`
	Region             string `json:"region"`
	// VaultsToCreate are the destination vaults a run creates, with the
	// settings it gives them.
	VaultsToCreate []VaultToCreate `json:"vaults_to_create"`
	// Report is the plan report (shuffle.plan/v1) of the same plan: the
	// human summary, by vault and reason.
	Report *plan.Plan `json:"report"`
}

// VaultToCreate is a destination vault the plan creates.
type VaultToCreate struct {
	SourceVault string                   `json:"source_vault"`
	Name        string                   `json:"name"`
	Settings    plan.DestinationSettings `json:"settings"`
	// LockNeedsConfirmation: the vault gets a compliance lock, applied
	// only with --confirm-compliance-lock (or the mapping's own
	// compliance_lock = true).
	LockNeedsConfirmation bool     `json:"lock_needs_confirmation,omitempty"`
	Blocking              []string `json:"blocking,omitempty"`
}

// Same reports whether v and o create the same vault the same way.
func (v VaultToCreate) Same(o VaultToCreate) bool {
	a, _ := json.Marshal(VaultToCreate{Name: v.Name, Settings: v.Settings, LockNeedsConfirmation: v.LockNeedsConfirmation})
	b, _ := json.Marshal(VaultToCreate{Name: o.Name, Settings: o.Settings, LockNeedsConfirmation: o.LockNeedsConfirmation})
	return bytes.Equal(a, b)
}

// Describe says in one line how the vault is created: its type, key,
// lock, notifications and tags.
func (v VaultToCreate) Describe() string {
	st := v.Settings
	parts := []string{"type " + st.VaultType}
	if st.EncryptionKey != "" {
		k := st.EncryptionKey
		if st.EncryptionKeyArn != "" && st.EncryptionKeyArn != k {
			k += " = " + st.EncryptionKeyArn
		}
		parts = append(parts, "key "+k)
	}
	switch {
	case st.Lock != "":
		parts = append(parts, st.Lock)
	case st.LockMode == "" || st.LockMode == "none":
		parts = append(parts, "no lock")
	default:
		parts = append(parts, st.LockMode+" lock")
	}
	if v.LockNeedsConfirmation {
		parts = append(parts, "needs --confirm-compliance-lock")
	}
	if st.SNSTopicArn != "" {
		parts = append(parts, "notifications to "+st.SNSTopicArn+" ("+strings.Join(st.Events, ",")+")")
	}
	if len(st.Tags) > 0 {
		names := make([]string, 0, len(st.Tags))
		for k := range st.Tags {
			names = append(names, k)
		}
		sort.Strings(names)
		for i, k := range names {
			names[i] = k + "=" + st.Tags[k]
		}
		parts = append(parts, "tags "+strings.Join(names, ","))
	}
	return strings.Join(parts, "; ")
}

// Decision is one approved copy: a recovery point and where it goes.
type Decision struct {
	SourceVault      string            `json:"source_vault"`
	RecoveryPoint    string            `json:"recovery_point_arn"`
	ResourceArn      string            `json:"resource_arn"`
	ResourceType     string            `json:"resource_type,omitempty"`
	Bytes            int64             `json:"bytes"`
	DestinationVault string            `json:"destination_vault"`
	DestinationKey   string            `json:"destination_key,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	// TagsError is why the tags policy gave no tags for the RP.
	TagsError string `json:"tags_error,omitempty"`
}

// Trailer is the last line: what was counted while the decisions were
// written, and the checksum over the whole file.
type Trailer struct {
	Decisions int64 `json:"decisions"`
	Bytes     int64 `json:"bytes"`
	// ByVault are the decisions by source vault.
	ByVault map[string]VaultTotal `json:"by_vault"`
	// Inventory fingerprints every recovery point listed when the plan
	// was made, included or not.
	Inventory Fingerprint `json:"inventory"`
	// Checksum is "sha256:" and the hex SHA-256 of every line before the
	// trailer and of the trailer with this field empty.
	Checksum string `json:"checksum"`
}

// VaultTotal counts one source vault's decisions.
type VaultTotal struct {
	DestinationVault string `json:"destination_vault"`
	Decisions        int64  `json:"decisions"`
	Bytes            int64  `json:"bytes"`
}

// File is an approved plan as read and verified: its header and trailer.
type File struct {
	Path string
	Header
	Trailer Trailer
}

// Writer streams an approved plan into a file: the header when it is
// made, then Add for each decision, then Close.
type Writer struct {
	path, tmp string
	f         *os.File
	gz        *gzip.Writer
	buf       *bufio.Writer
	sum       hash.Hash
	out       io.Writer // buf, and the checksum
	tr        Trailer
	inv       *Fingerprinter
	err       error
}

// Create starts the file at path (written to a temporary file beside it
// and renamed into place by Close) and writes h.
func Create(path string, h Header) (*Writer, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("approved plan %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil { // for the reviewers, like any report
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("approved plan %s: %w", path, err)
	}
	w := &Writer{path: path, tmp: f.Name(), f: f, sum: sha256.New(), tr: Trailer{ByVault: map[string]VaultTotal{}}, inv: NewFingerprinter()}
	w.gz = gzip.NewWriter(f)
	w.buf = bufio.NewWriterSize(w.gz, 1<<16)
	w.out = io.MultiWriter(w.buf, w.sum)
	h.Schema = Schema
	w.line(h)
	return w, w.err
}

// line writes v as one JSON line into the file and the checksum.
func (w *Writer) line(v any) {
	if w.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.err = err
		return
	}
	_, w.err = w.out.Write(append(b, '\n'))
}

// Add writes one decision.
func (w *Writer) Add(d Decision) error {
	w.line(d)
	t := w.tr.ByVault[d.SourceVault]
	t.DestinationVault = d.DestinationVault
	t.Decisions++
	t.Bytes += d.Bytes
	w.tr.ByVault[d.SourceVault] = t
	w.tr.Decisions++
	w.tr.Bytes += d.Bytes
	return w.err
}

// Listed adds a listed recovery point (included or not) to the
// inventory's fingerprint; call it in the state's order.
func (w *Writer) Listed(vault, arn string, created time.Time, status string) {
	w.inv.Add(vault, arn, created, status)
}

// Close writes the trailer and puts the file in place; on an error it
// removes what it wrote.
func (w *Writer) Close() error {
	w.tr.Inventory = w.inv.Sum()
	b, err := json.Marshal(w.tr)
	if err == nil && w.err == nil {
		w.sum.Write(append(b, '\n'))
		w.tr.Checksum = "sha256:" + hex.EncodeToString(w.sum.Sum(nil))
		w.line(w.tr)
	}
	err = errors.Join(err, w.err, w.buf.Flush(), w.gz.Close(), w.f.Sync(), w.f.Close())
	if err == nil {
		err = os.Rename(w.tmp, w.path)
	}
	if err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("approved plan %s: %w", w.path, err)
	}
	return nil
}

// Abort removes what was written.
func (w *Writer) Abort() {
	w.gz.Close()
	w.f.Close()
	os.Remove(w.tmp)
}

// ErrEdited is what Read returns (wrapped, with the file and the
// checksums) for a file whose checksum does not match.
var ErrEdited = errors.New("approved plan was edited after shuffle wrote it")

// FileError is an approved-plan file shuffle refuses: not one, damaged,
// truncated or edited.
type FileError struct {
	Path string
	Line int64 // 0: the file as a whole
	Err  error
}

func (e *FileError) Error() string {
	where := e.Path
	if e.Line > 0 {
		where = fmt.Sprintf("%s, line %d", e.Path, e.Line)
	}
	return fmt.Sprintf("%s: %v; make a new plan with shuffle plan --out", where, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// Read reads and verifies the approved plan at path, handing each
// decision to fn (nil: none wanted) as it goes. What fn was given is
// only valid when Read returns no error: the checksum is checked at the
// end.
func Read(path string, fn func(Decision) error) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: errors.Unwrap(err)}
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, &FileError{Path: path, Err: fmt.Errorf("not an approved plan (not gzip: %v)", err)}
	}
	out := &File{Path: path}
	if err := read(bufio.NewReaderSize(gz, 1<<16), out, fn); err != nil {
		return nil, err
	}
	return out, nil
}

// read parses the lines of an approved plan into out.
func read(r *bufio.Reader, out *File, fn func(Decision) error) error {
	sum := sha256.New()
	var n, decisions int64
	fail := func(line int64, format string, args ...any) error {
		return &FileError{Path: out.Path, Line: line, Err: fmt.Errorf(format, args...)}
	}
	for {
		b, err := r.ReadBytes('\n')
		if err == io.EOF && len(b) == 0 {
			return fail(0, "truncated: it ends after %d lines without its trailer (the last line, with the checksum)", n)
		}
		if err != nil && err != io.EOF {
			return fail(n+1, "damaged or truncated: %v", err)
		}
		n++
		switch {
		case n == 1:
			if err := json.Unmarshal(b, &out.Header); err != nil || out.Schema == "" {
				return fail(1, "not an approved plan: the first line is not its header (%v)", err)
			}
			if out.Schema != Schema {
				return fail(1, "schema %q; this shuffle reads %s", out.Schema, Schema)
			}
		case bytes.HasPrefix(b, []byte(`{"decisions":`)):
			return trailer(r, out, b, sum, n, decisions)
		case fn == nil:
			// Only verifying: a decision line is counted, not parsed
			// (the checksum covers its content).
			if !bytes.HasPrefix(b, []byte(`{"source_vault":`)) {
				return fail(n, "not a decision")
			}
			decisions++
		default:
			var d Decision
			if err := json.Unmarshal(b, &d); err != nil || d.RecoveryPoint == "" {
				return fail(n, "not a decision (%v)", err)
			}
			decisions++
			if err := fn(d); err != nil {
				return err
			}
		}
		sum.Write(b)
	}
}

// trailer checks the trailer line b (line n) and that nothing follows.
func trailer(r *bufio.Reader, out *File, b []byte, sum hash.Hash, n, decisions int64) error {
	fail := func(format string, args ...any) error {
		return &FileError{Path: out.Path, Line: n, Err: fmt.Errorf(format, args...)}
	}
	if err := json.Unmarshal(b, &out.Trailer); err != nil {
		return fail("damaged trailer: %v", err)
	}
	if rest, err := r.ReadBytes('\n'); len(rest) > 0 || err != io.EOF {
		return fail("lines after the trailer: the file was edited or damaged")
	}
	want := out.Trailer.Checksum
	t := out.Trailer
	t.Checksum = ""
	tb, _ := json.Marshal(t)
	sum.Write(append(tb, '\n'))
	got := "sha256:" + hex.EncodeToString(sum.Sum(nil))
	if got != want {
		return &FileError{Path: out.Path, Err: fmt.Errorf("%w (checksum %s does not match its content, %s)", ErrEdited, want, got)}
	}
	if decisions != t.Decisions {
		return fail("%d decisions, the trailer counts %d", decisions, t.Decisions)
	}
	return nil
}

// SortedVaults are the names of the vaults in ByVault, sorted.
func (t Trailer) SortedVaults() []string {
	names := make([]string, 0, len(t.ByVault))
	for n := range t.ByVault {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CheckScope refuses a plan made for other accounts or another region
// than a run copies between.
func (f *File) CheckScope(source, destination, region string) error {
	if f.SourceAccount == source && f.DestinationAccount == destination && f.Region == region {
		return nil
	}
	return &FileError{Path: f.Path, Err: fmt.Errorf("the plan copies from account %s to %s in %s, this script from %s to %s in %s",
		f.SourceAccount, f.DestinationAccount, f.Region, source, destination, region)}
}
