package testenv

// The unknown-types variant: recovery points of types shuffle does not
// know (ExtraTypes), and metadata.csv rows for their resources. They are
// made after the seed, from a random source of their own, so the default
// data stays exactly what it was; the same seed always makes the same
// ones.

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// seedUnknownTypesLocked adds the unknown-types RPs once; the caller
// holds w.mu.
func (s *Server) seedUnknownTypesLocked() {
	if s.unknownSeeded {
		return
	}
	s.unknownSeeded = true
	src := s.w.accounts[SourceAccount]
	var vaults []*Vault
	for _, name := range src.vaultOrder {
		v := src.vaults[name]
		// Standard vaults with a customer managed key: the copy of a
		// new type should fail or succeed for its type, not its key.
		if v.VaultType == "BACKUP_VAULT" && v.EncryptionKeyType == "CUSTOMER_MANAGED_KMS_KEY" {
			vaults = append(vaults, v)
		}
	}
	if len(vaults) == 0 {
		return
	}
	r := rand.New(rand.NewPCG(uint64(s.opts.Seed), 0x0dd7e5))
	now := s.now().UTC().Truncate(24 * time.Hour)
	n := max(6, s.opts.RecoveryPoints/40) // RPs in all
	var rows [][]string
	for made, i := 0, 0; made < n; i++ {
		typ := TypeEKS
		if i%2 == 1 {
			typ = TypeQuantumLedger
		}
		v := vaults[r.IntN(len(vaults))]
		res := unknownResourceArn(s.opts.Region, typ, i)
		for k := 1 + r.IntN(3); k > 0 && made < n; k-- {
			s.w.addRP(unknownRP(r, s.opts.Region, v, typ, res, now))
			made++
		}
		rows = append(rows, unknownMetadataRow(r, res))
	}
	s.addMetadataRows(rows)
}

// unknownMetadataRow is the metadata.csv row of an unknown-type
// resource: an application of the seed's, so that the policies decide
// its RPs as they decide any other.
func unknownMetadataRow(r *rand.Rand, res string) []string {
	a := seedApps[r.IntN(len(seedApps))]
	return []string{res, a.apmid, a.name, a.owner, "prod", a.costCenter, "", "Internal"}
}

// addMetadataRows appends rows to metadata.csv, and rewrites the file
// when it is already written.
func (s *Server) addMetadataRows(rows [][]string) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	_ = w.WriteAll(rows)
	s.filesMu.Lock()
	defer s.filesMu.Unlock()
	s.metadata = append(slices.Clip(s.metadata), b.Bytes()...)
	if s.opts.Dir != "" && s.Endpoint() != "" {
		if err := writeAtomic(filepath.Join(s.opts.Dir, MetadataFile), s.metadata, 0o644); err != nil {
			s.logf("testenv: unknown-types: rewrite %s: %v", MetadataFile, err)
		}
	}
}

// unknownResourceArn is the ARN of the i-th resource of an unknown type.
func unknownResourceArn(region, typ string, i int) string {
	if typ == TypeEKS {
		return "arn:aws:eks:" + region + ":" + SourceAccount + ":cluster/eks-cluster-" + strconv.Itoa(i)
	}
	return "arn:aws:quantumledger:" + region + ":" + SourceAccount + ":ledger/ledger-" + strconv.Itoa(i)
}

// unknownRP makes one completed RP of res in v, up to 30 days old.
func unknownRP(r *rand.Rand, region string, v *Vault, typ, res string, now time.Time) *RecoveryPoint {
	var id [16]byte
	for i := range id {
		id[i] = byte(r.IntN(256))
	}
	h := hex.EncodeToString(id[:])
	uuid := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	created := now.Add(-time.Duration(1+r.IntN(30*24)) * time.Hour)
	keep := int64(35)
	name := res[strings.LastIndex(res, "/")+1:]
	return &RecoveryPoint{
		Arn:       "arn:aws:backup:" + region + ":" + SourceAccount + ":recovery-point:" + uuid,
		VaultName: v.Name, Account: SourceAccount, ResourceArn: res, ResourceType: typ, ResourceName: name,
		IamRoleArn: defaultBackupRole, Status: "COMPLETED",
		CreationDate: created, CompletionDate: created.Add(time.Duration(300+r.IntN(1800)) * time.Second),
		BackupSizeInBytes: int64(1+r.IntN(200)) << 30, Lifecycle: Lifecycle{DeleteAfterDays: &keep},
		EncryptionKeyArn: v.EncryptionKeyArn, EncryptionKeyType: v.EncryptionKeyType, IsEncrypted: true,
	}
}
