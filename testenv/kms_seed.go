package testenv

import (
	"math/rand/v2"
	"strings"
	"time"
)

// The seeded KMS picture (docs/testenv.md, "KMS"). seedKeys makes the
// keys the vaults and recovery points use, from the setup random
// source; seedKMS adds everything else from a source of its own, so the
// vaults and recovery points of a seed stay what they were:
//   - the destination's CMKs for the source's resource key aliases
//     (ebs-data, rds-data, fsx-data; not redshift-data, on purpose) and
//     its AWS managed aws/ebs and aws/rds;
//   - the aliases AWS predefines for services whose AWS managed key does
//     not exist yet (no TargetKeyId);
//   - creation dates, descriptions and key policies: AWS's default
//     policy on every CMK, plus the statement that shares each source
//     CMK with the destination account except redshift-data's; AWS's
//     own policy on AWS managed keys, which allows only their account.

// unsharedSourceAlias is the source CMK the seed leaves unshared and
// without a destination namesake.
const unsharedSourceAlias = "redshift-data"

// seedKMS completes the KMS picture; r is the KMS random source.
func (g *seedGen) seedKMS(r *rand.Rand, now time.Time) {
	for _, alias := range []string{"ebs-data", "rds-data", "fsx-data"} {
		g.w.addKey(DestinationAccount, &KMSKey{Arn: g.keyArn(r, DestinationAccount), Alias: alias})
	}
	for _, alias := range []string{"aws/ebs", "aws/rds"} {
		g.w.addKey(DestinationAccount, &KMSKey{Arn: kmsKeyArn(g.region, DestinationAccount, awsManagedKeyID(DestinationAccount, alias)), Alias: alias, AWSManaged: true})
	}
	predefined := map[string][]string{SourceAccount: {"aws/dynamodb", "aws/s3"}, DestinationAccount: {"aws/dynamodb", "aws/fsx", "aws/s3"}}
	for _, acct := range []string{SourceAccount, DestinationAccount} {
		a := g.w.accounts[acct]
		for _, k := range a.keysInOrder() {
			k.Created = now.AddDate(-3, 0, 0).Add(time.Duration(r.IntN(2*365*86400)) * time.Second)
			k.Description = "Customer managed key for " + k.Alias
			k.Policy = defaultKeyPolicy(acct)
			if k.AWSManaged {
				k.Description = managedKeyDescription(k.Alias)
				k.Policy = awsManagedKeyPolicy(g.region, acct, k.Alias)
			} else if acct == SourceAccount && k.Alias != unsharedSourceAlias {
				k.Policy = sharedKeyPolicy(acct, DestinationAccount)
			}
			for _, al := range a.aliasesOf(k.Arn) {
				al.Created, al.Updated = k.Created, k.Created
			}
		}
		for _, name := range predefined[acct] {
			a.aliases["alias/"+name] = &kmsAlias{Name: "alias/" + name}
		}
	}
}

// defaultKeyPolicy is the policy KMS gives a CMK made without one: the
// account's IAM policies decide.
func defaultKeyPolicy(acct string) string {
	return `{"Version":"2012-10-17","Id":"key-default-1","Statement":[` + enableIAMStatement(acct) + `]}`
}

func enableIAMStatement(acct string) string {
	return `{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"}`
}

// ShareKeyStatement is the key policy statement that shares a key with
// the destination account for AWS Backup copies.
func ShareKeyStatement(dest string) string {
	return `{"Sid":"AllowDestinationAccountCopy","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + dest + `:root"},` +
		`"Action":["kms:Decrypt","kms:DescribeKey","kms:CreateGrant","kms:ReEncryptFrom","kms:ReEncryptTo",` +
		`"kms:GenerateDataKey","kms:GenerateDataKeyWithoutPlaintext"],"Resource":"*"}`
}

// sharedKeyPolicy is the default policy plus ShareKeyStatement.
func sharedKeyPolicy(acct, dest string) string {
	return `{"Version":"2012-10-17","Id":"key-default-1","Statement":[` + enableIAMStatement(acct) + `,` + ShareKeyStatement(dest) + `]}`
}

// managedServices maps an AWS managed key's alias to the service that
// may use it (kms:ViaService) and the description AWS gives it.
var managedServices = map[string][2]string{
	"aws/backup":   {"backup", "Default key that protects my backups when no other key is defined"},
	"aws/ebs":      {"ec2", "Default key that protects my EBS volumes when no other key is defined"},
	"aws/rds":      {"rds", "Default key that protects my RDS database volumes when no other key is defined"},
	"aws/fsx":      {"fsx", "Default key that protects my FSx filesystems when no other key is defined"},
	"aws/dynamodb": {"dynamodb", "Default key that protects my DynamoDB data when no other key is defined"},
	"aws/s3":       {"s3", "Default key that protects my S3 objects when no other key is defined"},
}

func managedKeyDescription(alias string) string {
	if m, ok := managedServices[alias]; ok {
		return m[1]
	}
	return "Default key for " + alias
}

// awsManagedKeyPolicy is the shape of the policy AWS gives its managed
// keys: use only through the service and only by the key's own account
// (kms:ViaService, kms:CallerAccount), and read access to the key's
// metadata for the account. It never allows another account.
func awsManagedKeyPolicy(region, acct, alias string) string {
	svc := strings.TrimPrefix(alias, "aws/")
	if m, ok := managedServices[alias]; ok {
		svc = m[0]
	}
	return `{"Version":"2012-10-17","Id":"auto-` + strings.TrimPrefix(alias, "aws/") + `-2","Statement":[` +
		`{"Sid":"Allow access through ` + svc + ` for all principals in the account that are authorized to use it","Effect":"Allow",` +
		`"Principal":{"AWS":"*"},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:CreateGrant","kms:DescribeKey"],` +
		`"Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"` + svc + `.` + region + `.amazonaws.com","kms:CallerAccount":"` + acct + `"}}},` +
		`{"Sid":"Allow direct access to key metadata to the account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},` +
		`"Action":["kms:Describe*","kms:Get*","kms:List*","kms:RevokeGrant"],"Resource":"*"}]}`
}
