package vaultpolicy

import (
	"reflect"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	cases := []struct {
		doc  string
		want Access
	}{
		{"", Access{}},
		{"{", Access{Invalid: "not a JSON object: unexpected EOF"}},
		{`{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"backup:CopyIntoBackupVault","Resource":"*"}}`,
			Access{Accounts: []string{"111111111111"}, Services: []string{}, Statements: 1}},
		{`{"Statement":[
			{"Effect":"Allow","Principal":{"AWS":["222222222222","arn:aws:iam::333333333333:role/x"],"Service":"backup.amazonaws.com"},"Action":"*","Resource":"*"},
			{"Effect":"Deny","Principal":"*","Action":"backup:DeleteRecoveryPoint","Resource":"*"}]}`,
			Access{Accounts: []string{"222222222222", "333333333333"}, Services: []string{"backup.amazonaws.com"}, Statements: 2}},
		{`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"backup:CopyIntoBackupVault","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}]}`,
			Access{Accounts: []string{}, Services: []string{}, AnyPrincipal: true, Statements: 1}},
		{`{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"111111111111"},"Action":"*","Resource":"*"}]}`,
			Access{Accounts: []string{}, Services: []string{}, AnyPrincipal: true, Statements: 1}},
	}
	for i, c := range cases {
		if got := Summarize(c.doc); !reflect.DeepEqual(got, c.want) {
			t.Errorf("case %d: got %+v, want %+v", i, got, c.want)
		}
	}
}

const (
	srcAcct  = "111111111111"
	dstAcct  = "222222222222"
	srcVault = "arn:aws:backup:us-east-1:111111111111:backup-vault:prod"
	dstVault = "arn:aws:backup:us-east-1:222222222222:backup-vault:prod-copy"
)

func TestAllowsAndDeniesCopy(t *testing.T) {
	allow := func(extra string) string {
		return `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"backup:CopyIntoBackupVault","Resource":"*"` + extra + `}`
	}
	cases := []struct {
		name   string
		stmts  string
		allows bool
		denies string
	}{
		{"empty", ``, false, ""},
		{"copy statement", allow(`,"Sid":"S"`), true, ""},
		{"account id", `{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"backup:*","Resource":"*"}`, true, ""},
		{"action case folds", `{"Effect":"Allow","Principal":{"aws":"*"},"Action":"BACKUP:copyinto*","Resource":"*"}`, true, ""},
		{"principal star", `{"Effect":"Allow","Principal":"*","Action":"*","Resource":"` + dstVault + `"}`, true, ""},
		{"other vault", `{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:backup:us-east-1:222222222222:backup-vault:other"}`, false, ""},
		{"other account", `{"Effect":"Allow","Principal":{"AWS":"333333333333"},"Action":"*","Resource":"*"}`, false, ""},
		{"condition is not counted", allow(`,"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}`), false, ""},
		{"deny wins", allow(``) + `,{"Sid":"NoCopy","Effect":"Deny","Principal":"*","Action":"backup:CopyIntoBackupVault","Resource":"*"}`, false, "NoCopy"},
		{"deny without sid", `{"Effect":"Deny","Principal":"*","Action":"backup:Copy*","Resource":"*"}`, false, "statement 1"},
	}
	for _, c := range cases {
		p, err := Parse(`{"Version":"2012-10-17","Statement":[` + c.stmts + `]}`)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := p.AllowsCopy(srcAcct, dstVault); got != c.allows {
			t.Errorf("%s: AllowsCopy = %v, want %v", c.name, got, c.allows)
		}
		if got := p.DeniesCopy(srcAcct, dstVault); got != c.denies {
			t.Errorf("%s: DeniesCopy = %q, want %q", c.name, got, c.denies)
		}
	}
}

func TestTranslatorPolicy(t *testing.T) {
	tr := Translator{SourceAccount: srcAcct, DestinationAccount: dstAcct, SourceVault: srcVault, DestinationVault: dstVault}
	src := `{"Version":"2012-10-17","Statement":[
		{"Sid":"` + CopyStatementSid + `","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},
		{"Sid":"Role","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/R","111111111111"]},"Action":"backup:DescribeBackupVault","Resource":"` + srcVault + `"},
		{"Sid":"Other","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/R","444444444444"]},"Action":"backup:DescribeBackupVault","Resource":"` + srcVault + `"},
		{"Sid":"Pattern","Effect":"Allow","Principal":"*","Action":"backup:ListRecoveryPointsByBackupVault","Resource":"arn:aws:backup:us-east-1:111111111111:backup-vault:pr*"},
		{"Sid":"AllRPs","Effect":"Deny","Principal":"*","Action":"backup:DeleteRecoveryPoint","Resource":"arn:aws:backup:us-east-1:111111111111:recovery-point:*"},
		{"Sid":"OneRP","Effect":"Deny","Principal":"*","Action":"backup:DeleteRecoveryPoint","Resource":"arn:aws:backup:us-east-1:111111111111:recovery-point:abc"},
		{"Sid":"Cond","Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":"111111111111"}}}]}`
	got, notes := tr.Policy(src)
	want := map[string]string{
		"Role":   `{"Action":"backup:DescribeBackupVault","Effect":"Allow","Principal":{"AWS":["222222222222","arn:aws:iam::222222222222:role/R"]},"Resource":"` + dstVault + `","Sid":"Role"}`,
		"AllRPs": `{"Action":"backup:DeleteRecoveryPoint","Effect":"Deny","Principal":"*","Resource":"arn:aws:backup:us-east-1:222222222222:recovery-point:*","Sid":"AllRPs"}`,
	}
	if len(got) != len(want) {
		t.Fatalf("translated %s, want %d statements", StatementList(got), len(want))
	}
	for _, st := range got {
		if c := Canonical(st); c != want[Sid(st)] {
			t.Errorf("%s:\n got %s\nwant %s", Sid(st), c, want[Sid(st)])
		}
	}
	all := strings.Join(notes, "\n")
	for _, sub := range []string{"OneRP not replicated", "Other not replicated (default): it admits 444444444444", `Pattern not replicated (default): it admits Principal "*"`, "Cond not replicated (default): its Condition names the source account", "rewritten to account 222222222222", "arn:aws:iam::111111111111:role/R"} {
		if !strings.Contains(all, sub) {
			t.Errorf("notes lack %q:\n%s", sub, all)
		}
	}
	if _, notes := tr.Policy("{"); len(notes) != 1 || !strings.Contains(notes[0], "cannot be read") {
		t.Errorf("unreadable source policy: notes %q", notes)
	}
}

func TestPolicyRoundTrip(t *testing.T) {
	doc := `{"Id":"x","Statement":{"Sid":"A","Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"n":1.50}}},"Version":"2012-10-17"}`
	p, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Id":"x","Statement":[{"Action":"*","Condition":{"NumericLessThan":{"n":1.50}},"Effect":"Allow","Principal":"*","Resource":"*","Sid":"A"}],"Version":"2012-10-17"}`
	if got := p.String(); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	q := p.Clone()
	q.Statements = append(q.Statements, CopyStatement(srcAcct, "aws"))
	if len(p.Statements) != 1 || !q.AllowsCopy(srcAcct, dstVault) {
		t.Error("Clone shares the statement list, or the copy statement does not allow copies")
	}
	for _, bad := range []string{`[]`, `{"Statement":[1]}`, `{"Statement":"x"}`} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}
