package testenv

import (
	"reflect"
	"strings"
	"testing"
)

func mustPolicy(t *testing.T, doc string) *PolicyDocument {
	t.Helper()
	p, err := ParsePolicy(doc)
	if err != nil {
		t.Fatalf("ParsePolicy(%s): %v", doc, err)
	}
	return p
}

const vaultArn = "arn:aws:backup:us-east-1:111111111111:backup-vault:src"

func TestEvaluateIdentity(t *testing.T) {
	tests := []struct {
		name     string
		policies []string
		in       EvalInput
		want     string
		sids     []string
		missing  []string
	}{
		{"allow", []string{`{"Version":"2012-10-17","Statement":{"Sid":"A","Effect":"Allow","Action":"backup:StartCopyJob","Resource":"*"}}`},
			EvalInput{Action: "backup:StartCopyJob", Resource: vaultArn}, "allowed", []string{"A"}, nil},
		{"explicit deny wins", []string{
			`{"Statement":[{"Sid":"A","Effect":"Allow","Action":"backup:*","Resource":"*"}]}`,
			`{"Statement":[{"Sid":"D","Effect":"Deny","Action":"backup:StartCopyJob","Resource":"*"}]}`},
			EvalInput{Action: "backup:StartCopyJob", Resource: vaultArn}, "explicitDeny", []string{"D"}, nil},
		{"implicit deny", []string{`{"Statement":{"Effect":"Allow","Action":"backup:ListBackupVaults","Resource":"*"}}`},
			EvalInput{Action: "backup:StartCopyJob", Resource: vaultArn}, "implicitDeny", nil, nil},
		{"no policies", nil, EvalInput{Action: "backup:StartCopyJob", Resource: "*"}, "implicitDeny", nil, nil},
		{"NotAction allows others", []string{`{"Statement":{"Sid":"N","Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`},
			EvalInput{Action: "backup:StartCopyJob", Resource: "*"}, "allowed", []string{"N"}, nil},
		{"NotAction excludes", []string{`{"Statement":{"Effect":"Allow","NotAction":["iam:*"],"Resource":"*"}}`},
			EvalInput{Action: "IAM:PassRole", Resource: "*"}, "implicitDeny", nil, nil},
		{"NotResource deny", []string{`{"Statement":[
			{"Sid":"A","Effect":"Allow","Action":"backup:*","Resource":"*"},
			{"Sid":"D","Effect":"Deny","Action":"backup:*","NotResource":"arn:aws:backup:us-east-1:111111111111:backup-vault:src"}]}`},
			EvalInput{Action: "backup:DeleteBackupVault", Resource: "arn:aws:backup:us-east-1:111111111111:backup-vault:other"}, "explicitDeny", []string{"D"}, nil},
		{"NotResource excluded", []string{`{"Statement":[
			{"Sid":"A","Effect":"Allow","Action":"backup:*","Resource":"*"},
			{"Sid":"D","Effect":"Deny","Action":"backup:*","NotResource":"arn:aws:backup:us-east-1:111111111111:backup-vault:src"}]}`},
			EvalInput{Action: "backup:DeleteBackupVault", Resource: vaultArn}, "allowed", []string{"A"}, nil},
		{"wildcard List*", []string{`{"Statement":{"Sid":"L","Effect":"Allow","Action":"backup:List*","Resource":"*"}}`},
			EvalInput{Action: "backup:ListRecoveryPointsByBackupVault", Resource: "*"}, "allowed", []string{"L"}, nil},
		{"wildcard List* no match", []string{`{"Statement":{"Effect":"Allow","Action":"backup:List*","Resource":"*"}}`},
			EvalInput{Action: "backup:GetBackupVaultAccessPolicy", Resource: "*"}, "implicitDeny", nil, nil},
		{"question mark", []string{`{"Statement":{"Sid":"Q","Effect":"Allow","Action":"backup:?utBackupVaultAccessPolicy","Resource":"*"}}`},
			EvalInput{Action: "backup:PutBackupVaultAccessPolicy", Resource: "*"}, "allowed", []string{"Q"}, nil},
		{"star action", []string{`{"Statement":{"Sid":"S","Effect":"Allow","Action":"*","Resource":"*"}}`},
			EvalInput{Action: "sts:AssumeRole", Resource: "*"}, "allowed", []string{"S"}, nil},
		{"case-insensitive action", []string{`{"Statement":{"Sid":"C","Effect":"Allow","Action":"BACKUP:startcopyjob","Resource":"*"}}`},
			EvalInput{Action: "backup:StartCopyJob", Resource: "*"}, "allowed", []string{"C"}, nil},
		{"vault resource wildcard", []string{`{"Statement":{"Sid":"V","Effect":"Allow","Action":"backup:*","Resource":"arn:aws:backup:us-east-1:111111111111:backup-vault:*"}}`},
			EvalInput{Action: "backup:DescribeBackupVault", Resource: vaultArn}, "allowed", []string{"V"}, nil},
		{"vault resource other account", []string{`{"Statement":{"Effect":"Allow","Action":"backup:*","Resource":"arn:aws:backup:us-east-1:111111111111:backup-vault:*"}}`},
			EvalInput{Action: "backup:DescribeBackupVault", Resource: "arn:aws:backup:us-east-1:222222222222:backup-vault:src"}, "implicitDeny", nil, nil},
		{"resource case-sensitive", []string{`{"Statement":{"Effect":"Allow","Action":"backup:*","Resource":"arn:aws:backup:us-east-1:111111111111:backup-vault:SRC"}}`},
			EvalInput{Action: "backup:DescribeBackupVault", Resource: vaultArn}, "implicitDeny", nil, nil},
		{"PassRole with key", []string{passRole},
			EvalInput{Action: "iam:PassRole", Resource: "arn:aws:iam::111111111111:role/backup",
				Context: map[string][]string{"IAM:PassedToService": {"backup.amazonaws.com"}}}, "allowed", []string{"P"}, nil},
		{"PassRole wrong service", []string{passRole},
			EvalInput{Action: "iam:PassRole", Resource: "arn:aws:iam::111111111111:role/backup",
				Context: map[string][]string{"iam:PassedToService": {"ec2.amazonaws.com"}}}, "implicitDeny", nil, nil},
		{"PassRole without key", []string{passRole},
			EvalInput{Action: "iam:PassRole", Resource: "arn:aws:iam::111111111111:role/backup"}, "implicitDeny", nil, []string{"iam:PassedToService"}},
		{"StringLike", []string{`{"Statement":{"Sid":"L","Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringLike":{"iam:PassedToService":"backup.*"}}}}`},
			EvalInput{Action: "iam:PassRole", Resource: "*", Context: map[string][]string{"iam:PassedToService": {"backup.amazonaws.com"}}}, "allowed", []string{"L"}, nil},
		{"StringNotEquals missing key", []string{`{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceAccount":"111111111111"}}}]}`},
			EvalInput{Action: "backup:StartCopyJob", Resource: "*"}, "allowed", []string{"A"}, []string{"aws:SourceAccount"}},
		{"StringNotEqualsIfExists missing key", []string{`{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"D","Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:SourceAccount":"111111111111"}}}]}`},
			EvalInput{Action: "backup:StartCopyJob", Resource: "*"}, "explicitDeny", []string{"D"}, []string{"aws:SourceAccount"}},
		{"StringNotEquals other account", []string{`{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"D","Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceAccount":"111111111111"}}}]}`},
			EvalInput{Action: "backup:StartCopyJob", Resource: "*", Context: map[string][]string{"aws:sourceaccount": {"333333333333"}}}, "explicitDeny", []string{"D"}, nil},
		{"IfExists present mismatch", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}}}}`},
			EvalInput{Action: "backup:StartCopyJob", Resource: "*", Context: map[string][]string{"aws:RequestedRegion": {"eu-west-1"}}}, "implicitDeny", nil, nil},
		{"IfExists absent", []string{`{"Statement":{"Sid":"I","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}}}}`},
			EvalInput{Action: "backup:StartCopyJob", Resource: "*"}, "allowed", []string{"I"}, []string{"aws:RequestedRegion"}},
		{"ForAnyValue", []string{`{"Statement":{"Sid":"F","Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}}}}`},
			EvalInput{Action: "backup:TagResource", Resource: "*", Context: map[string][]string{"aws:TagKeys": {"owner", "team"}}}, "allowed", []string{"F"}, nil},
		{"ForAnyValue none", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}}}}`},
			EvalInput{Action: "backup:TagResource", Resource: "*", Context: map[string][]string{"aws:TagKeys": {"owner"}}}, "implicitDeny", nil, nil},
		{"ForAllValues", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}}}`},
			EvalInput{Action: "backup:TagResource", Resource: "*", Context: map[string][]string{"aws:TagKeys": {"owner", "team"}}}, "implicitDeny", nil, nil},
		{"Bool and Numeric", []string{`{"Statement":{"Sid":"B","Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"backup:Days":[30]}}}}`},
			EvalInput{Action: "backup:StartBackupJob", Resource: "*", Context: map[string][]string{"aws:SecureTransport": {"TRUE"}, "backup:Days": {"7"}}}, "allowed", []string{"B"}, nil},
		{"Null", []string{`{"Statement":{"Sid":"N","Effect":"Deny","Action":"*","Resource":"*","Condition":{"Null":{"aws:SourceArn":"true"}}}}`},
			EvalInput{Action: "backup:StartBackupJob", Resource: "*"}, "explicitDeny", []string{"N"}, []string{"aws:SourceArn"}},
		{"ArnLike", []string{`{"Statement":{"Sid":"R","Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:backup:*:111111111111:backup-vault:*"}}}}`},
			EvalInput{Action: "kms:Decrypt", Resource: "*", Context: map[string][]string{"aws:SourceArn": {vaultArn}}}, "allowed", []string{"R"}, nil},
		{"unknown operator", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringSortOf":{"aws:SourceArn":"x"}}}}`},
			EvalInput{Action: "kms:Decrypt", Resource: "*", Context: map[string][]string{"aws:SourceArn": {"x"}}}, "implicitDeny", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ps []NamedPolicy
			for i, d := range tc.policies {
				ps = append(ps, NamedPolicy{Id: string(rune('a' + i)), Type: "IAM Policy", Doc: mustPolicy(t, d)})
			}
			got := EvaluateIdentity(ps, tc.in)
			if got.Decision != tc.want {
				t.Fatalf("decision = %s, want %s", got.Decision, tc.want)
			}
			var sids []string
			for _, m := range got.Matched {
				sids = append(sids, m.Statement.Sid)
			}
			if !reflect.DeepEqual(sids, tc.sids) {
				t.Errorf("matched = %q, want %q", sids, tc.sids)
			}
			if !reflect.DeepEqual(got.MissingContext, tc.missing) {
				t.Errorf("missing = %q, want %q", got.MissingContext, tc.missing)
			}
		})
	}
}

const passRole = `{"Version":"2012-10-17","Statement":[{"Sid":"P","Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111111111111:role/*",
	"Condition":{"StringEquals":{"iam:PassedToService":"backup.amazonaws.com"}}}]}`

func TestEvaluateResource(t *testing.T) {
	const dest = "arn:aws:backup:us-east-1:222222222222:backup-vault:dst"
	acct := `{"Version":"2012-10-17","Statement":[{"Sid":"Copy","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"backup:CopyIntoBackupVault","Resource":"*"}]}`
	tests := []struct {
		name, doc string
		in        EvalInput
		want      string
	}{
		{"root principal, assumed-role caller", acct, EvalInput{Action: "backup:CopyIntoBackupVault", Resource: dest,
			Principal: "arn:aws:sts::111111111111:assumed-role/BackupRole/session", PrincipalAccount: "111111111111"}, "allowed"},
		{"root principal, account from ARN", acct, EvalInput{Action: "backup:CopyIntoBackupVault", Resource: dest,
			Principal: "arn:aws:sts::111111111111:assumed-role/BackupRole/session"}, "allowed"},
		{"root principal, other account", acct, EvalInput{Action: "backup:CopyIntoBackupVault", Resource: dest,
			Principal: "arn:aws:sts::333333333333:assumed-role/BackupRole/session", PrincipalAccount: "333333333333"}, "implicitDeny"},
		{"root principal, other action", acct, EvalInput{Action: "backup:DeleteBackupVault", Resource: dest,
			Principal: "arn:aws:iam::111111111111:role/BackupRole", PrincipalAccount: "111111111111"}, "implicitDeny"},
		{"account id principal", `{"Statement":{"Effect":"Allow","Principal":{"AWS":["111111111111"]},"Action":"backup:*","Resource":"*"}}`,
			EvalInput{Action: "backup:CopyIntoBackupVault", Resource: dest, Principal: "arn:aws:iam::111111111111:role/X", PrincipalAccount: "111111111111"}, "allowed"},
		{"star principal", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"backup:CopyIntoBackupVault","Resource":"*"}}`,
			EvalInput{Action: "backup:CopyIntoBackupVault", Resource: dest, Principal: "arn:aws:iam::333333333333:role/X", PrincipalAccount: "333333333333"}, "allowed"},
		{"AWS star principal", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"backup:CopyIntoBackupVault","Resource":"*"}}`,
			EvalInput{Action: "backup:CopyIntoBackupVault", Resource: dest, Principal: "arn:aws:iam::333333333333:role/X", PrincipalAccount: "333333333333"}, "allowed"},
		{"role principal, session", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/path/R"},"Action":"sts:AssumeRole"}}`,
			EvalInput{Action: "sts:AssumeRole", Resource: "*", Principal: "arn:aws:sts::111111111111:assumed-role/R/s1", PrincipalAccount: "111111111111"}, "allowed"},
		{"role principal, other role", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/R"},"Action":"sts:AssumeRole"}}`,
			EvalInput{Action: "sts:AssumeRole", Resource: "*", Principal: "arn:aws:sts::111111111111:assumed-role/R2/s1", PrincipalAccount: "111111111111"}, "implicitDeny"},
		{"service principal", `{"Statement":{"Effect":"Allow","Principal":{"Service":"backup.amazonaws.com"},"Action":"sts:AssumeRole"}}`,
			EvalInput{Action: "sts:AssumeRole", Resource: "*", Principal: "backup.amazonaws.com"}, "allowed"},
		{"deny other accounts", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"backup:*","Resource":"*"},
			{"Effect":"Deny","NotPrincipal":{"AWS":"111111111111"},"Action":"backup:*","Resource":"*"}]}`,
			EvalInput{Action: "backup:CopyIntoBackupVault", Resource: dest, Principal: "arn:aws:iam::333333333333:role/X", PrincipalAccount: "333333333333"}, "explicitDeny"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NamedPolicy{Id: "vault", Type: "Resource Policy", Doc: mustPolicy(t, tc.doc)}
			got := EvaluateResource(p, tc.in)
			if got.Decision != tc.want {
				t.Fatalf("decision = %s, want %s", got.Decision, tc.want)
			}
			if tc.want == "allowed" && (len(got.Matched) != 1 || got.Matched[0].PolicyId != "vault" || got.Matched[0].PolicyType != "Resource Policy") {
				t.Errorf("matched = %+v", got.Matched)
			}
		})
	}
	// Identity evaluation ignores the Principal element.
	if got := EvaluateIdentity([]NamedPolicy{{Id: "p", Doc: mustPolicy(t, acct)}}, EvalInput{Action: "backup:CopyIntoBackupVault", Resource: dest,
		Principal: "arn:aws:iam::333333333333:role/X", PrincipalAccount: "333333333333"}); got.Decision != "allowed" {
		t.Errorf("identity decision = %s", got.Decision)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	tests := []struct{ doc, want string }{
		{`{"Statement":[`, "not valid JSON"},
		{`{"Statement":{"Effect":"Allow","Action":"*"}} x`, "not valid JSON"},
		{`[]`, "must be a JSON object"},
		{`{"Version":"2012-10-17"}`, "no Statement"},
		{`{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*"}}`, "Version"},
		{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Permit","Action":"*","Resource":"*"}]}`, "statement 2: Effect must be Allow or Deny"},
		{`{"Statement":{"Effect":"Allow","Resource":"*"}}`, "statement 1: missing Action"},
		{`{"Statement":{"Effect":"Allow","Action":"*","NotAction":"*"}}`, "both Action and NotAction"},
		{`{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, "Action must not be empty"},
		{`{"Statement":{"Effect":"Allow","Action":[1],"Resource":"*"}}`, "Action must be a string or an array of strings"},
		{`{"Statement":{"Effect":"Allow","Action":"*","Principal":"me"}}`, `Principal must be "*"`},
		{`{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEquals":"x"}}}`, "Condition StringEquals must be an object"},
		{`{"Statement":{"Effect":"Allow","Action":"*","Actions":"*"}}`, `unknown element "Actions"`},
	}
	for _, tc := range tests {
		_, err := ParsePolicy(tc.doc)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePolicy(%s) = %v, want error containing %q", tc.doc, err, tc.want)
		}
	}
}

func TestParsePolicyValues(t *testing.T) {
	p := mustPolicy(t, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"Bool":{"aws:SecureTransport":false},"NumericEquals":{"n":[1,2.5,"3"]}}}}`)
	st := p.Statements[0]
	if !reflect.DeepEqual(st.Principal, map[string][]string{"*": {"*"}}) || st.NotPrincipal != nil || st.Resource != nil {
		t.Errorf("statement = %+v", st)
	}
	want := map[string]map[string][]string{"Bool": {"aws:SecureTransport": {"false"}}, "NumericEquals": {"n": {"1", "2.5", "3"}}}
	if !reflect.DeepEqual(st.Condition, want) {
		t.Errorf("condition = %v", st.Condition)
	}
}

func TestStatementPositions(t *testing.T) {
	doc := `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "One",
      "Effect": "Allow",
      "Action": "backup:*",
      "Resource": "*"
    },
    {"Sid": "Two", "Effect": "Deny", "Action": "iam:*", "Resource": {"nested": 1}}
  ]
}`
	// The invalid Resource above must fail parsing; fix it and check positions.
	if _, err := ParsePolicy(doc); err == nil {
		t.Fatal("want error for object Resource")
	}
	doc = strings.Replace(doc, `{"nested": 1}`, `["*"]`, 1)
	p := mustPolicy(t, doc)
	type pos struct{ sl, sc, el, ec int }
	want := []pos{{4, 5, 9, 5}, {10, 5, 10, 74}}
	for i, st := range p.Statements {
		got := pos{st.StartLine, st.StartCol, st.EndLine, st.EndCol}
		if got != want[i] || st.Index != i {
			t.Errorf("statement %d: pos %+v index %d, want %+v", i, got, st.Index, want[i])
		}
	}
	single := "{\"Statement\":\n\t{\"Effect\":\"Allow\",\n\t \"Action\":\"*\"}}"
	st := mustPolicy(t, single).Statements[0]
	if got := (pos{st.StartLine, st.StartCol, st.EndLine, st.EndCol}); got != (pos{2, 2, 3, 15}) {
		t.Errorf("single statement pos %+v", got)
	}
}
