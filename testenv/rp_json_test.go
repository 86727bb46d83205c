package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// appendJSON writes exactly what encoding/json (HTML escaping off) wrote
// for a listing page, for every optional field present or absent and for
// strings that need escaping.
func TestRPPageJSONMatchesEncodingJSON(t *testing.T) {
	i64 := func(n int64) *int64 { return &n }
	at := time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	odd := []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\r", "\b\f\x00\x1f\x7f", "<html> & co", "Zoë Ørsted", "\u2028 \u2029", "bad \xff utf8 \xe2\x82", "日本語 ✓ 🎉"}
	var rps []rpOut
	for i := 0; i < 80; i++ {
		s := odd[i%len(odd)]
		o := rpOut{
			RecoveryPointArn: "arn:aws:backup:us-east-1:111111111111:recovery-point:" + s,
			BackupVaultName:  s, BackupVaultArn: "arn:v/" + s, ResourceArn: s, ResourceType: "EBS", Status: s,
			BackupSizeInBytes: int64(i) * 1_000_003, IsEncrypted: i%2 == 0, IsParent: i%3 == 0,
		}
		if i%2 == 1 {
			o.SourceBackupVaultArn, o.ResourceName, o.IamRoleArn, o.StatusMessage = s+"1", s+"2", s+"3", s+"4"
			o.EncryptionKeyArn, o.EncryptionKeyType, o.ParentRecoveryPointArn, o.VaultType = s+"5", "CUSTOMER_MANAGED_KMS_KEY", s+"6", "BACKUP_VAULT"
			o.CreationDate, o.InitiationDate = ep(at.Add(time.Duration(i)*time.Hour)), ep(at)
		}
		if i%4 == 2 {
			o.CompletionDate = ep(at.Add(-time.Duration(i) * time.Millisecond))
			o.CreatedBy = &createdBy{}
			o.StorageClass = "WARM"
		}
		if i%4 == 3 {
			o.CreatedBy = &createdBy{BackupPlanId: "plan-" + s}
		}
		switch i % 5 {
		case 1:
			o.Lifecycle = &Lifecycle{DeleteAfterDays: i64(35)}
			o.CalculatedLifecycle = &calculatedLifecycle{DeleteAt: ep(at.AddDate(0, 0, 35))}
		case 2:
			o.Lifecycle = &Lifecycle{MoveToColdStorageAfterDays: i64(7)}
			o.CalculatedLifecycle = &calculatedLifecycle{MoveToColdStorageAt: ep(at.AddDate(0, 0, 7))}
		case 3:
			o.Lifecycle = &Lifecycle{MoveToColdStorageAfterDays: i64(7), DeleteAfterDays: i64(120)}
			o.CalculatedLifecycle = &calculatedLifecycle{DeleteAt: ep(at.AddDate(0, 0, 120)), MoveToColdStorageAt: ep(at.AddDate(0, 0, 7))}
		case 4:
			o.Lifecycle = &Lifecycle{}
			o.CalculatedLifecycle = &calculatedLifecycle{}
		}
		rps = append(rps, o)
	}
	for _, p := range []*rpPage{{RecoveryPoints: rps, NextToken: "tok/" + odd[2]}, {RecoveryPoints: []rpOut{}}, {}} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(p); err != nil {
			t.Fatal(err)
		}
		got := append(p.appendJSON(nil), '\n')
		if !bytes.Equal(got, want.Bytes()) {
			i := 0
			for i < len(got) && i < len(want.Bytes()) && got[i] == want.Bytes()[i] {
				i++
			}
			t.Fatalf("appendJSON differs from encoding/json at byte %d:\n got  …%s\n want …%s", i, snippet(got, i), snippet(want.Bytes(), i))
		}
	}
}

func snippet(b []byte, i int) string {
	lo, hi := max(0, i-40), min(len(b), i+40)
	return fmt.Sprintf("%q", b[lo:hi])
}
