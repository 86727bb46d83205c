// Package preflight is shuffle's pre-flight check of both accounts: the
// credentials and account ids, an IAM simulation of every action
// shuffle calls (the Actions list, which `shuffle iam-policy` also
// prints as minimal policies), AWS Backup's cross-account setting, the
// copy role, the destination vaults' access policies and the source
// recovery points on AWS-managed keys.
//
// It only reads, through the narrow client interfaces of clients.go
// that the caller builds (the SDK clients in production); it must not
// build AWS clients itself, write anything, or judge compliance (the
// engine adds that to the report).
package preflight
