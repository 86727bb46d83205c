package vaultpolicy

import "strings"

// Partition is an ARN's partition ("aws" when arn is not an ARN).
func Partition(arn string) string {
	if f := strings.SplitN(arn, ":", 3); len(f) == 3 && f[0] == "arn" && f[1] != "" {
		return f[1]
	}
	return "aws"
}

// Account is an ARN's account id ("" when arn is not an ARN).
func Account(arn string) string {
	if f := strings.SplitN(arn, ":", 6); len(f) == 6 && f[0] == "arn" {
		return f[4]
	}
	return ""
}

// IsAccountID reports whether s is a 12-digit account id.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
