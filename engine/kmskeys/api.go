// Package kmskeys is what shuffle learns about KMS keys from KMS
// itself: which key an alias names in an account, who manages a key
// (AWS or the customer), and whether a key's policy lets another account
// use it. It defines the narrow KMS interface it calls; the session
// passes in one client per account (a *kms.Client satisfies it).
//
// It must not decide eligibility or write vaults: plan, replicate and
// preflight ask it and decide for themselves. It must not guess from a
// key's ARN or alias what KMS would answer.
package kmskeys

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// API is the KMS calls shuffle makes (*kms.Client satisfies it). Every
// call only reads.
type API interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, opts ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	ListAliases(ctx context.Context, in *kms.ListAliasesInput, opts ...func(*kms.Options)) (*kms.ListAliasesOutput, error)
	GetKeyPolicy(ctx context.Context, in *kms.GetKeyPolicyInput, opts ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error)
}

var _ API = (*kms.Client)(nil)

// Accounts are the KMS clients of both accounts. Either may be nil
// (tests that inject only AWS Backup clients): then nothing can be
// described or resolved, and callers take the answer they take for a
// key KMS refuses to describe.
type Accounts struct {
	Source, Destination API
}
