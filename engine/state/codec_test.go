package state

import (
	"reflect"
	"testing"
	"time"
)

func TestRPCodecRoundTrip(t *testing.T) {
	d35, c7 := int64(35), int64(-1)
	at := time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)
	full := &RP{
		V: schemaVersion, Arn: "arn:aws:ec2:us-east-1::snapshot/snap-1", Vault: "v", ResourceArn: "arn:aws:ec2:us-east-1:1:volume/vol-1",
		ResourceType: "EBS", ResourceName: "vol-1", Status: "COMPLETED", StatusMessage: "ok", CreationDate: at, CompletionDate: &at,
		Size: 1 << 40, DeleteAfterDays: &d35, ColdAfterDays: &c7, DeleteAt: &at, MoveToColdAt: &at,
		EncryptionKeyArn: "arn:aws:kms:k", EncryptionKeyType: "CUSTOMER_MANAGED_KMS_KEY", IsEncrypted: true,
		ParentArn: "p", BackupPlanID: "plan", IamRoleArn: "role", Seen: 7, Gone: true, GoneAt: &at, LastSeen: &at, FirstSeen: at,
		Enriched: true, MetaHash: "h", Copy: "copied",
		Meta: &Meta{Fields: map[string]string{"apmid": "APM1", "notes": "a, \"b\""}, Blank: map[string]bool{"owner": true}, Lines: []int{3, 9},
			Conflict: &Conflict{Field: "apmid", Values: []string{"A", "B"}, Lines: []int{3, 9}}},
		Decision: &Decision{Outcome: Included, Reason: "r", Rule: "policy:apmid", PolicyHash: "ph", MetaHash: "h", At: at, Priority: -7},
	}
	x := NewDecoder()
	for _, in := range []*RP{full, {V: schemaVersion, Arn: "a", Vault: "v"}, full} {
		var out, shared RP
		b := EncodeRP(in)
		if err := DecodeRP(b, &out); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*in, out) {
			t.Fatalf("round trip differs:\n in: %+v\nout: %+v", *in, out)
		}
		// A scan's Decoder (which shares strings and snapshots) decodes the same.
		if err := x.Decode(b, &shared); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*in, shared) {
			t.Fatalf("shared decode differs:\n in: %+v\nout: %+v", *in, shared)
		}
		seen, gone, err := peekSeen(b)
		if err != nil || seen != in.Seen || gone != in.Gone {
			t.Fatalf("peekSeen = %d, %v, %v; want %d, %v", seen, gone, err, in.Seen, in.Gone)
		}
		created, deleteAt, gone, err := peekDates(b)
		if err != nil || !created.Equal(in.CreationDate) || gone != in.Gone || (in.DeleteAt != nil) != !deleteAt.IsZero() || (in.DeleteAt != nil && !deleteAt.Equal(*in.DeleteAt)) {
			t.Fatalf("peekDates = %v, %v, %v, %v; want %v, %v, %v", created, deleteAt, gone, err, in.CreationDate, in.DeleteAt, in.Gone)
		}
	}
	// Every truncation is an error, never a panic or a silent zero.
	b := EncodeRP(full)
	for i := 0; i < len(b)-1; i++ {
		var out RP
		if err := DecodeRP(b[:i], &out); err == nil {
			t.Fatalf("decoding %d of %d bytes succeeded", i, len(b))
		}
		if err := x.Decode(b[:i], &out); err == nil {
			t.Fatalf("decoding %d of %d bytes with a Decoder succeeded", i, len(b))
		}
	}
}

// A snapshot's sorted keys (SortKeys) change nothing in the encoding,
// and one whose Fields changed after SortKeys still encodes its fields;
// the size hint covers the whole record, so encoding allocates once.
func TestEncodeRPWithSortedKeys(t *testing.T) {
	fields := map[string]string{"apmid": "APM1", "owner": "Zoë", "notes": "n", "env": "prod"}
	plain := &RP{V: schemaVersion, Arn: "a", Vault: "v", Meta: &Meta{Fields: fields, Lines: []int{2}},
		Decision: &Decision{Outcome: Included, Reason: "APMID APM1 is allowed", Rule: "policy:apmid"}}
	sorted := *plain
	sorted.Meta = &Meta{Fields: fields, Lines: []int{2}}
	sorted.Meta.SortKeys()
	if a, b := EncodeRP(plain), EncodeRP(&sorted); string(a) != string(b) {
		t.Fatalf("encoding with sorted keys differs:\n%q\n%q", a, b)
	}
	// Same number of fields, one renamed after SortKeys.
	stale := *plain
	stale.Meta = &Meta{Fields: map[string]string{"apmid": "APM1", "owner": "Zoë", "notes": "n", "env": "prod"}, Lines: []int{2}}
	stale.Meta.SortKeys()
	delete(stale.Meta.Fields, "env")
	stale.Meta.Fields["stage"] = "blue"
	var out RP
	b := EncodeRP(&stale)
	if err := DecodeRP(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Meta.Fields, stale.Meta.Fields) {
		t.Fatalf("fields after a change = %v, want %v", out.Meta.Fields, stale.Meta.Fields)
	}
	for _, r := range []*RP{plain, &sorted, &stale} {
		if b := EncodeRP(r); len(b) > rpSizeHint(r) {
			t.Errorf("record of %d bytes over its size hint %d", len(b), rpSizeHint(r))
		}
	}
}

// BenchmarkEncodeRP encodes a record shaped like a listed, enriched and
// decided RP of the emulator, whose metadata snapshot is shared (as the
// enrich join shares one per resource).
func BenchmarkEncodeRP(b *testing.B) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)
	d35 := int64(35)
	m := &Meta{Fields: map[string]string{"apmid": "APM0002310", "application": "Customer Portal", "owner": "Zoë Ørsted", "environment": "prod",
		"costcenter": "CC-5100", "notes": "Keep 7 years (SOX), ask \"finance-it\" before deleting", "dataclassification": "Confidential"}, Lines: []int{1234}}
	m.SortKeys()
	r := &RP{V: schemaVersion, Arn: "arn:aws:rds:us-east-1:111111111111:snapshot:awsbackup:job-1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901",
		Vault: "prod-rds-monthly", ResourceArn: "arn:aws:rds:us-east-1:111111111111:db:prod-portal-db-7438", ResourceType: "RDS", ResourceName: "prod-portal-db-7438",
		Status: "COMPLETED", CreationDate: at, CompletionDate: &at, Size: 123456789, DeleteAfterDays: &d35, DeleteAt: &at,
		EncryptionKeyArn: "arn:aws:kms:us-east-1:111111111111:key/46a4d7ac-187b-49fe-a18d-d5ed3115be2d", EncryptionKeyType: "CUSTOMER_MANAGED_KMS_KEY",
		IsEncrypted: true, BackupPlanID: "plan-3f9a", IamRoleArn: "arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole",
		Seen: 1, FirstSeen: at, Enriched: true, MetaHash: "9f86d081884c7d65", Meta: m,
		Decision: &Decision{Outcome: Included, Reason: "APMID APM0002310 is allowed", Rule: "policy:apmid", PolicyHash: "2c26b46b68ffc68f", MetaHash: "9f86d081884c7d65", At: at}}
	b.ReportAllocs()
	for b.Loop() {
		_ = EncodeRP(r)
	}
}
