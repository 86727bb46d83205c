package preflight

import (
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
)

// PrincipalARN turns a caller ARN into the principal to simulate: an
// assumed-role session becomes its role.
func PrincipalARN(arn string) string {
	f := strings.SplitN(arn, ":", 6)
	if len(f) == 6 && f[2] == "sts" && strings.HasPrefix(f[5], "assumed-role/") {
		parts := strings.Split(f[5], "/")
		if len(parts) >= 2 {
			return "arn:" + f[1] + ":iam::" + f[4] + ":role/" + parts[1]
		}
	}
	return arn
}

// isDenied says whether AWS refused the caller a permission; the
// simulation then names what is missing.
func isDenied(err error) bool { return awsclient.IsAccessDenied(err) }
