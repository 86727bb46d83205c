package verify

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Lister lists the recovery points of one vault; verify calls it with
// destination credentials. The *backup.Client satisfies it.
type Lister interface {
	ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, opts ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error)
}

var _ Lister = (*backup.Client)(nil)

// Schema names the layout of the verify report.
const Schema = "shuffle.verify/v1"

// Field is what a verify problem names.
type Field string

// Fields a verify problem names.
const (
	Missing         Field = "missing"               // the destination RP is not in its vault
	ResourceArn     Field = "resource_arn"          // ResourceArn differs from the source RP's
	Size            Field = "size_bytes"            // BackupSizeInBytes differs from the source RP's size
	DeleteAfterDays Field = "delete_after_days"     // the lifecycle's DeleteAfterDays differs
	SourceRP        Field = "source_recovery_point" // the source RP has no record in state
)

// Problem is one copy that did not verify, and why.
type Problem struct {
	SourceVault  string `json:"source_vault"`
	SourceRPArn  string `json:"source_rp_arn"`
	DestVaultArn string `json:"destination_vault_arn"`
	DestRPArn    string `json:"destination_rp_arn"`
	Field        Field  `json:"field"`
	Want         string `json:"want"`
	Got          string `json:"got"`
}

// Vault is what verify found in one destination vault.
type Vault struct {
	Vault        string   `json:"vault"` // destination vault name
	Arn          string   `json:"arn"`
	SourceVaults []string `json:"source_vaults"`
	Completed    int64    `json:"completed"`  // completed copy records into it
	Verified     int64    `json:"verified"`   // present and matching
	Missing      int64    `json:"missing"`    // not listed in the vault
	Mismatched   int64    `json:"mismatched"` // listed, but a field differs
	Listed       int64    `json:"listed"`     // RPs the vault lists
	// Running: listed RPs of copies this state has not recorded as
	// completed yet (intent, running or retry): the copy record names
	// the RP, or the RP is a copy of the record's source RP
	// (same source vault, resource and creation second).
	Running int64 `json:"running"`
	Unknown int64 `json:"unknown"` // listed RPs no copy record of this state names (informational)
}

// Report is what a verification found.
type Report struct {
	Schema      string     `json:"schema"`
	GeneratedAt time.Time  `json:"generated_at"`
	Completed   int64      `json:"completed"`
	Verified    int64      `json:"verified"`
	Missing     int64      `json:"missing"`
	Mismatched  int64      `json:"mismatched"`
	Running     int64      `json:"running"`
	Unknown     int64      `json:"unknown"`
	Vaults      []*Vault   `json:"vaults"`
	Problems    []*Problem `json:"problems"`
	APICalls    int64      `json:"api_calls"`
}

// OK reports whether every completed copy verified.
func (r *Report) OK() bool { return r.Missing == 0 && r.Mismatched == 0 }

// Verifier checks completed copies against the destination account.
type Verifier struct {
	Store *state.Store
	Dest  Lister // destination account
	// DestAccount, when set, is passed as BackupVaultAccountId.
	DestAccount string
	PageSize    int32 // MaxResults per page (default 1000)
	Now         func() time.Time
	// Live says the state is being written while verify reads it (a
	// running `shuffle run` asked through its socket). Verify then
	// checks only the copies its first pass found completed: a copy
	// that completes while the vaults are listed is counted neither as
	// completed nor as verified, so the report stays a snapshot whose
	// verified count never exceeds its completed one. It costs about
	// 40 bytes per completed copy.
	Live bool
}

// seenKey identifies one copy record in the live snapshot: a hash of
// its source vault and RP ARN, so a million copies cost a map of
// integers rather than of strings.
func seenKey(vault, arn string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(vault))
	h.Write([]byte{0})
	h.Write([]byte(arn))
	return h.Sum64()
}

// destRP is what verify keeps of one listed destination RP.
type destRP struct {
	resourceArn string
	sourceVault string // the name in SourceBackupVaultArn
	created     int64  // CreationDate, in Unix seconds
	size        int64
	deleteAfter int64 // -1: none
	matched     bool
	late        bool // its copy completed after a live verify's first pass
}

// copyKey is what links a copy to its source RP: AWS names no source RP
// on a destination RP, but a copy keeps its source's vault, resource
// and creation date (as adoption matches them, engine/copier/adopt.go).
type copyKey struct {
	vault, resource string
	created         int64
}

// pending is what verify keeps of the copies under way into one
// destination vault: the destination RPs their records name, and the
// keys of their source RPs.
type pending struct {
	rps  map[string]bool
	keys map[copyKey]bool
}

// unfinished reports whether a copy record is a copy under way: not
// completed yet, and neither failed nor held.
func unfinished(st string) bool {
	switch st {
	case state.CopyIntent, state.CopyRunning, state.CopyRetry:
		return true
	}
	return false
}

// Run checks every completed copy record against its destination
// vault: the destination RP must be listed there, with the source RP's
// resource ARN, size and DeleteAfterDays. Each destination vault is
// listed once; only one vault's listing is held in memory at a time.
func (v *Verifier) Run(ctx context.Context) (*Report, error) {
	if v.Now == nil {
		v.Now = time.Now
	}
	if v.PageSize <= 0 {
		v.PageSize = 1000
	}
	rep := &Report{Schema: Schema, GeneratedAt: v.Now().UTC(), Vaults: []*Vault{}, Problems: []*Problem{}}
	// Pass 1: which destination vaults hold completed copies, and from
	// which source vaults.
	// Also, per destination vault, the copies under way into it.
	byArn := map[string]*Vault{}
	sources := map[string]map[string]bool{}
	pend := map[string]*pending{}
	var seen map[uint64]struct{}
	if v.Live {
		seen = map[uint64]struct{}{}
	}
	err := v.Store.ScanCopies(func(r *state.CopyRecord) error {
		if unfinished(r.State) {
			p := pend[r.DestVaultArn]
			if p == nil {
				p = &pending{rps: map[string]bool{}, keys: map[copyKey]bool{}}
				pend[r.DestVaultArn] = p
			}
			if r.DestRPArn != "" {
				p.rps[r.DestRPArn] = true
			}
			p.keys[copyKey{r.Vault, r.ResourceArn, r.Created.Unix()}] = true
			return nil
		}
		if r.State != state.CopyCompleted {
			return nil
		}
		vv := byArn[r.DestVaultArn]
		if vv == nil {
			vv = &Vault{Vault: vaultNameFromArn(r.DestVaultArn), Arn: r.DestVaultArn}
			byArn[r.DestVaultArn] = vv
			sources[r.DestVaultArn] = map[string]bool{}
			rep.Vaults = append(rep.Vaults, vv)
		}
		vv.Completed++
		if seen != nil {
			seen[seenKey(r.Vault, r.Arn)] = struct{}{}
		}
		sources[r.DestVaultArn][r.Vault] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(rep.Vaults, func(i, j int) bool {
		a, b := rep.Vaults[i], rep.Vaults[j]
		return a.Vault < b.Vault || (a.Vault == b.Vault && a.Arn < b.Arn)
	})
	for _, vv := range rep.Vaults {
		for s := range sources[vv.Arn] {
			vv.SourceVaults = append(vv.SourceVaults, s)
		}
		sort.Strings(vv.SourceVaults)
		if err := v.vault(ctx, rep, vv, pend[vv.Arn], seen); err != nil {
			return nil, err
		}
		rep.Completed += vv.Completed
		rep.Verified += vv.Verified
		rep.Missing += vv.Missing
		rep.Mismatched += vv.Mismatched
		rep.Running += vv.Running
		rep.Unknown += vv.Unknown
	}
	return rep, nil
}

// vault lists one destination vault and checks the copies into it.
// pend, when not nil, is the copies under way into it; seen, when not
// nil, is the completed copies the first pass counted (Live).
func (v *Verifier) vault(ctx context.Context, rep *Report, vv *Vault, pend *pending, seen map[uint64]struct{}) error {
	listed := map[string]*destRP{}
	in := &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(vv.Vault), MaxResults: aws.Int32(v.PageSize)}
	if v.DestAccount != "" {
		in.BackupVaultAccountId = aws.String(v.DestAccount)
	}
	p := backup.NewListRecoveryPointsByBackupVaultPaginator(v.Dest, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		rep.APICalls++
		if err != nil {
			return fmt.Errorf("verify: list destination vault %s: %w", vv.Vault, err)
		}
		for _, r := range out.RecoveryPoints {
			// Copies of the strings kept for the whole vault: with
			// (*awsclient.ListingStats).FastListing an RP's strings share one allocation
			// with all its other fields.
			d := &destRP{resourceArn: strings.Clone(aws.ToString(r.ResourceArn)), size: aws.ToInt64(r.BackupSizeInBytes), deleteAfter: -1,
				sourceVault: strings.Clone(vaultNameFromArn(aws.ToString(r.SourceBackupVaultArn)))}
			if r.CreationDate != nil {
				d.created = r.CreationDate.Unix()
			}
			if r.Lifecycle != nil && r.Lifecycle.DeleteAfterDays != nil {
				d.deleteAfter = *r.Lifecycle.DeleteAfterDays
			}
			listed[strings.Clone(aws.ToString(r.RecoveryPointArn))] = d
		}
	}
	vv.Listed = int64(len(listed))
	for _, src := range vv.SourceVaults {
		err := query.JoinCopies(v.Store, src, func(rp *state.RP, rec *state.CopyRecord) error {
			if rec == nil || rec.State != state.CopyCompleted || rec.DestVaultArn != vv.Arn {
				return nil
			}
			if seen != nil {
				if _, ok := seen[seenKey(rec.Vault, rec.Arn)]; !ok {
					// Completed after the first pass: under way in
					// the snapshot, so counted as running if listed.
					if d := listed[rec.DestRPArn]; d != nil {
						d.late = true
					}
					return nil
				}
			}
			v.check(rep, vv, rp, rec, listed)
			return ctx.Err()
		})
		if err != nil {
			return err
		}
	}
	var matched int64
	for arn, d := range listed {
		switch {
		case d.matched:
			matched++
		case d.late || pend != nil && (pend.rps[arn] || pend.keys[copyKey{d.sourceVault, d.resourceArn, d.created}]):
			vv.Running++
		}
	}
	vv.Unknown = vv.Listed - matched - vv.Running
	return nil
}

// check compares one completed copy with its listed destination RP.
func (v *Verifier) check(rep *Report, vv *Vault, rp *state.RP, rec *state.CopyRecord, listed map[string]*destRP) {
	problem := func(field Field, want, got string) {
		rep.Problems = append(rep.Problems, &Problem{
			SourceVault: rec.Vault, SourceRPArn: rec.Arn, DestVaultArn: rec.DestVaultArn, DestRPArn: rec.DestRPArn,
			Field: field, Want: want, Got: got,
		})
	}
	d := listed[rec.DestRPArn]
	if rec.DestRPArn == "" || d == nil {
		vv.Missing++
		got := "not listed in " + vv.Vault
		if rec.DestRPArn == "" {
			got = "the copy record names no destination RP"
		}
		problem(Missing, "present", got)
		return
	}
	d.matched = true
	if rp == nil {
		vv.Mismatched++
		problem(SourceRP, "a recovery point record in state", "none")
		return
	}
	bad := false
	if d.resourceArn != rp.ResourceArn {
		problem(ResourceArn, rp.ResourceArn, d.resourceArn)
		bad = true
	}
	if d.size != rp.Size {
		problem(Size, strconv.FormatInt(rp.Size, 10), strconv.FormatInt(d.size, 10))
		bad = true
	}
	want := int64(-1)
	if rp.DeleteAfterDays != nil && *rp.DeleteAfterDays >= 0 {
		want = *rp.DeleteAfterDays
	}
	got := d.deleteAfter
	if got < 0 {
		got = -1
	}
	if want != got {
		problem(DeleteAfterDays, days(want), days(got))
		bad = true
	}
	if bad {
		vv.Mismatched++
	} else {
		vv.Verified++
	}
}

func days(n int64) string {
	if n < 0 {
		return "none"
	}
	return strconv.FormatInt(n, 10)
}

// vaultNameFromArn returns NAME from arn:…:backup-vault:NAME.
func vaultNameFromArn(arn string) string {
	if i := strings.LastIndex(arn, ":backup-vault:"); i >= 0 {
		return arn[i+len(":backup-vault:"):]
	}
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
