package luabind

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

func compliancePolicy(body string) string {
	return "local M = {}\nfunction M.check(v)\n" + body + "\nend\nreturn M\n"
}

func TestComplianceResultsAndValidation(t *testing.T) {
	cases := []struct {
		name, body string
		want       []ComplianceResult // nil: the call must fail
		problem    string
	}{
		{"pass and fail", `return {
			{ rule = "lock", pass = v.locked, expected = "locked", actual = v.locked and "locked" or "not locked" },
			{ rule = "alerts", pass = false, expected = 1, actual = 0, severity = "warning", why = "page" } }`,
			[]ComplianceResult{{Rule: "lock", Pass: false, Expected: "locked", Actual: "not locked", Severity: "blocking"},
				{Rule: "alerts", Expected: "1", Actual: "0", Severity: "warning", Why: "page"}}, ""},
		{"empty list", `return {}`, []ComplianceResult{}, ""},
		{"nil", `return nil`, nil, "check returned nil"},
		{"named table", `return { rule = "x", pass = true }`, nil, "named fields"},
		{"no pass", `return { { rule = "x" } }`, nil, "result 1 (x) has no pass field"},
		{"no rule", `return { { pass = true } }`, nil, "result 1 has no rule name"},
		{"bad severity", `return { { rule = "x", pass = false, severity = "fatal" } }`, nil, `severity "fatal"`},
		{"typo field", `return { { rule = "x", pass = true, expect = "y" } }`, nil, `unknown field "expect"`},
		{"pass not bool", `return { { rule = "x", pass = "yes" } }`, nil, "pass is"},
		{"duplicate", `return { { rule = "x", pass = true }, { rule = "x", pass = false } }`, nil, "reported twice"},
		{"runtime error", `return { { rule = "x", pass = v.nope.deeper } }`, nil, "compliance.lua:3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"d.lua": decidePolicy(`return "include", "ok"`), "compliance.lua": compliancePolicy(c.body)})
			w := newWorker(t, scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"d"}, Compliance: "compliance"})
			got, err := w.Compliance(context.Background(), &ComplianceVault{Name: "v", Account: "destination"})
			if c.want == nil {
				if err == nil || !strings.Contains(err.Error(), c.problem) || !strings.HasPrefix(err.Error(), "policy compliance failed: ") {
					t.Fatalf("err = %v, want one containing %q", err, c.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("result %d = %+v, want %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestComplianceVaultTable(t *testing.T) {
	dir := writeDir(t, map[string]string{"d.lua": decidePolicy(`return "include", "ok"`), "compliance.lua": compliancePolicy(`
		return { { rule = "seen", pass = true, actual = table.concat({ v.account, v.account_id, v.lock_mode,
			tostring(v.min_retention_days), v.encryption_key_type, table.concat(v.access.accounts, "+"),
			tostring(v.access.any_principal), tostring(v.access.statements), v.source_account_id, v.destination_account_id,
			v.tags.Environment, v.events[1], v.lock_date_iso }, " ") } }`)})
	w := newWorker(t, scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"d"}, Compliance: "compliance"})
	ld := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	min := int64(30)
	got, err := w.Compliance(context.Background(), &ComplianceVault{Account: "destination", AccountID: "222222222222", Name: "v",
		Locked: true, LockMode: "compliance", LockDate: &ld, MinRetentionDays: &min, EncryptionKeyType: "CUSTOMER_MANAGED_KMS_KEY",
		Access:          AccessSummary{Accounts: []string{"111111111111", "222222222222"}, AnyPrincipal: true, Statements: 2},
		SourceAccountID: "111111111111", DestinationAccountID: "222222222222",
		Tags: map[string]string{"Environment": "prod"}, Events: []string{"COPY_JOB_FAILED"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "destination 222222222222 compliance 30 CUSTOMER_MANAGED_KMS_KEY 111111111111+222222222222 true 2 111111111111 222222222222 prod COPY_JOB_FAILED 2024-01-02T03:04:05Z"
	if got[0].Actual != want {
		t.Fatalf("vault table:\n got %s\nwant %s", got[0].Actual, want)
	}
}

func TestNoComplianceModule(t *testing.T) {
	dir := writeDir(t, map[string]string{"d.lua": decidePolicy(`return "include", "ok"`)})
	p, err := LoadPolicies(scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"d"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.HasCompliance() {
		t.Fatal("HasCompliance without a compliance module")
	}
	if _, err := LoadPolicies(scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"d"}, Compliance: "compliance"}); err == nil || !strings.Contains(err.Error(), "compliance.lua") {
		t.Fatalf("a missing compliance module: err = %v", err)
	}
	dir2 := writeDir(t, map[string]string{"d.lua": decidePolicy(`return "include", "ok"`), "c.lua": "return { nope = 1 }"})
	if _, err := LoadPolicies(scriptconfig.PolicyConfig{Dir: dir2, Decide: []string{"d"}, Compliance: "c"}); err == nil || !strings.Contains(err.Error(), "no check function") {
		t.Fatalf("a module without check: err = %v", err)
	}
}

func TestLockMode(t *testing.T) {
	ld := time.Now()
	for _, c := range []struct {
		locked bool
		ld     *time.Time
		typ    string
		want   string
	}{{false, nil, "", "none"}, {true, nil, "BACKUP_VAULT", "governance"}, {true, &ld, "", "compliance"}, {true, nil, "LOGICALLY_AIR_GAPPED_BACKUP_VAULT", "compliance"}} {
		if got := LockMode(c.locked, c.ld, c.typ); got != c.want {
			t.Errorf("LockMode(%v, %v, %q) = %q, want %q", c.locked, c.ld != nil, c.typ, got, c.want)
		}
	}
}
