package glob

import "testing"

func TestMatch(t *testing.T) {
	cases := []struct {
		p, s string
		c    Case
		want bool
	}{
		{"prod-*-daily", "prod-ebs-daily", Sensitive, true},
		{"prod-*", "dev-ebs", Sensitive, false},
		{"?bc", "äbc", Sensitive, true},
		{"a*b*c", "axxbyyc", Sensitive, true},
		{"a*b*c", "axxbyy", Sensitive, false},
		{"*", "", Sensitive, true},
		{"", "", Sensitive, true},
		{"?", "", Sensitive, false},
		{"backup:*", "backup:CopyIntoBackupVault", Sensitive, true},
		{"Backup:copyinto*", "backup:CopyIntoBackupVault", Sensitive, false},
		{"Backup:copyinto*", "backup:CopyIntoBackupVault", Fold, true},
		{"arn:aws:backup:*:111111111111:backup-vault:a?c", "arn:aws:backup:us-east-1:111111111111:backup-vault:abc", Sensitive, true},
		{"arn:aws:backup:*:111111111111:backup-vault:A*", "arn:aws:backup:us-east-1:111111111111:backup-vault:abc", Sensitive, false},
		{"**a", "bba", Sensitive, true},
	}
	for _, c := range cases {
		if got := Match(c.p, c.s, c.c); got != c.want {
			t.Errorf("Match(%q, %q, %v) = %v, want %v", c.p, c.s, c.c, got, c.want)
		}
	}
	if !Any([]string{"x", "b*"}, "bc", Sensitive) || Any(nil, "bc", Sensitive) {
		t.Error("Any")
	}
}
