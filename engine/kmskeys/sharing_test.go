package kmskeys

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

const dest = "222222222222"

func TestSharedWith(t *testing.T) {
	owner := `{"Sid":"Owner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}`
	policy := func(sts ...string) string {
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(append([]string{owner}, sts...), ",") + `]}`
	}
	all := `["kms:Decrypt","kms:DescribeKey","kms:CreateGrant","kms:ReEncryptFrom","kms:GenerateDataKeyWithoutPlaintext"]`
	cases := []struct {
		name        string
		policy      string
		shared      bool
		conditional bool
		missing     []string
		denied      []string
	}{
		{"the printed statement", policy(ShareStatement("aws", dest)), true, false, nil, nil},
		{"root ARN, exact actions", policy(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + dest + `:root"},"Action":` + all + `,"Resource":"*"}`), true, false, nil, nil},
		{"bare account id in a list", policy(`{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::333333333333:root","` + dest + `"]},"Action":"kms:*","Resource":"*"}`), true, false, nil, nil},
		{"a single statement, not a list", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"` + dest + `"},"Action":"kms:*"}}`, true, false, nil, nil},
		{"wildcards", policy(`{"Effect":"Allow","Principal":{"AWS":"` + dest + `"},"Action":["KMS:Decrypt","kms:Describe*","kms:CreateGrant","kms:ReEncrypt*","kms:GenerateDataKey*"]}`), true, false, nil, nil},
		{"another partition's root ARN", policy(`{"Effect":"Allow","Principal":{"AWS":"arn:aws-us-gov:iam::` + dest + `:root"},"Action":"kms:*"}`), true, false, nil, nil},
		{"not shared at all", policy(), false, false, CopyActions, nil},
		{"another account", policy(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"kms:*"}`), false, false, CopyActions, nil},
		{"a role of the account is not the account", policy(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + dest + `:role/x"},"Action":"kms:*"}`), false, false, CopyActions, nil},
		{"everyone is not the account", policy(`{"Effect":"Allow","Principal":"*","Action":"kms:*"}`), false, false, CopyActions, nil},
		{"a service principal", policy(`{"Effect":"Allow","Principal":{"Service":"backup.amazonaws.com"},"Action":"kms:*"}`), false, false, CopyActions, nil},
		{"missing CreateGrant", policy(`{"Effect":"Allow","Principal":{"AWS":"` + dest + `"},"Action":["kms:Decrypt","kms:DescribeKey","kms:ReEncryptFrom","kms:GenerateDataKeyWithoutPlaintext"]}`), false, false, []string{"kms:CreateGrant"}, nil},
		{"GenerateDataKey is not WithoutPlaintext", policy(`{"Effect":"Allow","Principal":{"AWS":"` + dest + `"},"Action":["kms:Decrypt","kms:DescribeKey","kms:CreateGrant","kms:ReEncryptFrom","kms:GenerateDataKey"]}`), false, false, []string{"kms:GenerateDataKeyWithoutPlaintext"}, nil},
		{"split across statements", policy(`{"Effect":"Allow","Principal":{"AWS":"`+dest+`"},"Action":["kms:Decrypt","kms:DescribeKey"]}`, `{"Effect":"Allow","Principal":{"AWS":["`+dest+`"]},"Action":["kms:CreateGrant","kms:ReEncrypt*","kms:GenerateDataKeyWithoutPlaintext"]}`), true, false, nil, nil},
		{"a Deny for the account wins", policy(ShareStatement("aws", dest), `{"Effect":"Deny","Principal":{"AWS":"`+dest+`"},"Action":"kms:CreateGrant"}`), false, false, nil, []string{"kms:CreateGrant"}},
		{"a Deny for everyone covers the account", policy(ShareStatement("aws", dest), `{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt"}`), false, false, nil, []string{"kms:Decrypt"}},
		{"a Deny for another account does not", policy(ShareStatement("aws", dest), `{"Effect":"Deny","Principal":{"AWS":"333333333333"},"Action":"kms:*"}`), true, false, nil, nil},
		{"a condition still allows, flagged", policy(`{"Effect":"Allow","Principal":{"AWS":"` + dest + `"},"Action":"kms:*","Condition":{"StringEquals":{"kms:ViaService":"backup.us-east-1.amazonaws.com"}}}`), true, true, nil, nil},
		{"a condition beside a plain grant is not flagged", policy(ShareStatement("aws", dest), `{"Effect":"Allow","Principal":{"AWS":"`+dest+`"},"Action":"kms:*","Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}`), true, false, nil, nil},
	}
	for _, c := range cases {
		s, err := SharedWith(c.policy, dest)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if s.Shared != c.shared || s.Conditional != c.conditional || !slices.Equal(s.Missing, c.missing) || !slices.Equal(s.Denied, c.denied) {
			t.Errorf("%s: %+v, want shared %v conditional %v missing %v denied %v", c.name, s, c.shared, c.conditional, c.missing, c.denied)
		}
	}
	if _, err := SharedWith("{not json", dest); err == nil {
		t.Error("a policy that is not JSON is an error")
	}
}

// The printed statement is the contract's, with the real account.
func TestShareStatement(t *testing.T) {
	var got map[string]any
	if err := json.Unmarshal([]byte(ShareStatement("aws", dest)), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{}
	_ = json.Unmarshal([]byte(`{"Sid":"AllowDestinationAccountCopy","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},
 "Action":["kms:Decrypt","kms:DescribeKey","kms:CreateGrant","kms:ReEncryptFrom","kms:ReEncryptTo",
 "kms:GenerateDataKey","kms:GenerateDataKeyWithoutPlaintext"],"Resource":"*"}`), &want)
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Errorf("statement\n%s\nwant\n%s", a, b)
	}
}
