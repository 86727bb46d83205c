// Package vaultpolicy reads, evaluates and translates AWS Backup vault
// access policies: whether a policy allows or explicitly denies an
// account backup:CopyIntoBackupVault, how a source vault's policy is
// rewritten for its destination vault, and the summary of what a
// policy grants that the compliance policy judges. Replication, plan,
// pre-flight and compliance all use it, so they agree.
//
// It is pure: it must not call AWS, read the state or run Lua. Policy
// documents come in as strings and go out as strings.
package vaultpolicy
