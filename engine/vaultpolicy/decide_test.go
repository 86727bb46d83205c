package vaultpolicy

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// The default translation keeps statements for the source account
// (rewritten to the destination) and Denies, and drops everything else
// with a note naming the statement and why.
func TestDefaultTranslation(t *testing.T) {
	tr := Translator{SourceAccount: srcAcct, DestinationAccount: dstAcct, SourceVault: srcVault, DestinationVault: dstVault}
	src := `{"Version":"2012-10-17","Statement":[
		{"Sid":"Ops","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/Ops"},"Action":"backup:DescribeBackupVault","Resource":"*"},
		{"Sid":"NoDelete","Effect":"Deny","Principal":"*","Action":"backup:DeleteRecoveryPoint","Resource":"*"},
		{"Sid":"OrgRead","Effect":"Allow","Principal":"*","Action":"backup:CopyIntoBackupVault","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}},
		{"Effect":"Allow","Principal":{"AWS":"333333333333"},"Action":"backup:*","Resource":"*"},
		{"Sid":"Svc","Effect":"Allow","Principal":{"Service":"backup.amazonaws.com"},"Action":"backup:*","Resource":"*"}]}`
	ds, notes, err := tr.Decide(context.Background(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Verdict{}
	for _, d := range ds {
		got[d.Name] = d.Verdict
	}
	want := map[string]Verdict{"Ops": Keep, "NoDelete": Keep, "OrgRead": Drop, "statement 4": Drop, "Svc": Drop}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	w := Written(ds)
	if len(w) != 2 || Canonical(w[0]) != `{"Action":"backup:DescribeBackupVault","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/Ops"},"Resource":"*","Sid":"Ops"}` {
		t.Errorf("written: %v", w)
	}
	all := strings.Join(notes, "\n")
	for _, sub := range []string{`OrgRead not replicated (default): it admits Principal "*" under the condition aws:PrincipalOrgID`,
		"statement 4 not replicated (default): it admits 333333333333", "Svc not replicated (default): it admits the Service principal"} {
		if !strings.Contains(all, sub) {
			t.Errorf("notes lack %q:\n%s", sub, all)
		}
	}
	// The written policy does not grant Principal "*".
	p := New()
	p.Statements = w
	if Summarize(p.String()).AnyPrincipal {
		t.Error(`the default translation wrote an Allow to Principal "*"`)
	}
}

func TestDecideHook(t *testing.T) {
	tr := Translator{SourceAccount: srcAcct, DestinationAccount: dstAcct, SourceVault: srcVault, DestinationVault: dstVault}
	src := `{"Statement":[{"Sid":"OrgRead","Effect":"Allow","Principal":"*","Action":"backup:CopyIntoBackupVault","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}},
		{"Sid":"Ops","Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"backup:*","Resource":"*"}]}`
	hook := func(_ context.Context, st Statement, d Decision) (Decision, error) {
		if d.Name == "OrgRead" {
			d.Verdict, d.Statement, d.By, d.Why = Keep, d.Translated, "policies/vaults.lua", "signed off by security"
		} else {
			d.Verdict, d.Statement, d.By, d.Why = Drop, nil, "policies/vaults.lua", "ops have their own role"
		}
		return d, nil
	}
	ds, notes, err := tr.Decide(context.Background(), src, hook)
	if err != nil || len(Written(ds)) != 1 || Sid(Written(ds)[0]) != "OrgRead" {
		t.Fatalf("hook decisions: %v %v", ds, err)
	}
	if all := strings.Join(notes, "\n"); !strings.Contains(all, "Ops not replicated (policies/vaults.lua): ops have their own role") ||
		!strings.Contains(all, "OrgRead kept by policies/vaults.lua: signed off by security") {
		t.Errorf("notes: %s", all)
	}
	boom := errors.New("boom")
	if _, _, err := tr.Decide(context.Background(), src, func(context.Context, Statement, Decision) (Decision, error) { return Decision{}, boom }); !errors.Is(err, boom) {
		t.Errorf("hook error: %v", err)
	}
}

func TestValidate(t *testing.T) {
	ok := Statement{"Sid": "A1", "Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::222222222222:root"}, "Action": []any{"backup:CopyIntoBackupVault"}, "Resource": "*"}
	if p := Validate(ok); p != "" {
		t.Fatalf("valid statement refused: %s", p)
	}
	bad := map[string]func(Statement){
		"Effect":           func(s Statement) { s["Effect"] = "Maybe" },
		"Action":           func(s Statement) { delete(s, "Action") },
		"NotPrincipal":     func(s Statement) { delete(s, "Principal") },
		"unknown element":  func(s Statement) { s["Principals"] = "*" },
		"Sid":              func(s Statement) { s["Sid"] = "a b" },
		"Condition":        func(s Statement) { s["Condition"] = "x" },
		"string or a list": func(s Statement) { s["Action"] = []any{1.0} },
	}
	for want, mutate := range bad {
		s := Statement{}
		for k, v := range ok {
			s[k] = v
		}
		mutate(s)
		if p := Validate(s); !strings.Contains(p, want) {
			t.Errorf("%s: Validate = %q", want, p)
		}
	}
}
