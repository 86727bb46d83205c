package testenv

import "testing"

// TestKMSKeySharedWith: the shared-key rule of the shared contract.
func TestKMSKeySharedWith(t *testing.T) {
	const key = "arn:aws:kms:us-east-1:111111111111:key/k"
	wrap := func(sts string) string { return `{"Version":"2012-10-17","Statement":[` + sts + `]}` }
	all := `["kms:Decrypt","kms:DescribeKey","kms:CreateGrant","kms:ReEncryptFrom","kms:GenerateDataKeyWithoutPlaintext"]`
	for _, c := range []struct {
		name, policy string
		want         bool
	}{
		{"seeded statement", sharedKeyPolicy(SourceAccount, DestinationAccount), true},
		{"default policy", defaultKeyPolicy(SourceAccount), false},
		{"account id", wrap(`{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":` + all + `,"Resource":"*"}`), true},
		{"list of principals", wrap(`{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::333333333333:root","arn:aws:iam::222222222222:root"]},"Action":"kms:*","Resource":"*"}`), true},
		{"wildcards", wrap(`{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":["kms:Decrypt","kms:Describe*","kms:CreateGrant","kms:ReEncrypt*","kms:GenerateDataKey*"],"Resource":"*"}`), true},
		{"split over statements", wrap(`{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*"},` +
			`{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":["kms:CreateGrant","kms:ReEncryptFrom","kms:GenerateDataKeyWithoutPlaintext"],"Resource":"*"}`), true},
		{"conditional still counts", wrap(`{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"kms:*","Resource":"*","Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}`), true},
		{"missing CreateGrant", wrap(`{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":["kms:Decrypt","kms:DescribeKey","kms:ReEncryptFrom","kms:GenerateDataKeyWithoutPlaintext"],"Resource":"*"}`), false},
		{"another account", wrap(`{"Effect":"Allow","Principal":{"AWS":"333333333333"},"Action":"kms:*","Resource":"*"}`), false},
		{"star principal does not name the account", wrap(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}`), false},
		{"deny wins", wrap(`{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"kms:*","Resource":"*"},` +
			`{"Effect":"Deny","Principal":"*","Action":"kms:CreateGrant","Resource":"*"}`), false},
		{"AWS managed", awsManagedKeyPolicy("us-east-1", SourceAccount, "aws/ebs"), false},
		{"not JSON", `{`, false},
	} {
		if got := keySharedWith(c.policy, key, DestinationAccount); got != c.want {
			t.Errorf("%s: shared = %v, want %v", c.name, got, c.want)
		}
	}
}
