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
		ParentArn: "p", BackupPlanID: "plan", IamRoleArn: "role", Seen: 7, Gone: true, FirstSeen: at,
		Enriched: true, MetaHash: "h", Copy: "copied",
		Meta: &Meta{Fields: map[string]string{"apmid": "APM1", "notes": "a, \"b\""}, Blank: map[string]bool{"owner": true}, Lines: []int{3, 9},
			Conflict: &Conflict{Field: "apmid", Values: []string{"A", "B"}, Lines: []int{3, 9}}},
		Decision: &Decision{Outcome: Included, Reason: "r", Rule: "policy:apmid", PolicyHash: "ph", MetaHash: "h", At: at},
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
