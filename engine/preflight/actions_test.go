package preflight

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/finding"
)

// The operator policies carry the KMS actions the operators need on
// Resource "*" (ListAliases has no resource-level permission): source
// DescribeKey, ListAliases and GetKeyPolicy; destination DescribeKey and
// ListAliases, besides the vault-key statement.
func TestOperatorPolicyKMSActions(t *testing.T) {
	cfg := fakeConfig()
	want := map[finding.Side][]string{
		finding.SideSource:      {"kms:DescribeKey", "kms:GetKeyPolicy", "kms:ListAliases"},
		finding.SideDestination: {"kms:DescribeKey", "kms:ListAliases"},
	}
	for side, acts := range want {
		var onAny []string
		for _, st := range OperatorPolicy(cfg, side).Statement {
			for _, a := range st.Action {
				if strings.HasPrefix(a, "kms:") && st.Resource == "*" {
					onAny = append(onAny, a)
				}
			}
		}
		sort.Strings(onAny)
		if !slices.Equal(onAny, acts) {
			t.Errorf("%s operator policy: KMS actions on \"*\" %v, want %v", side, onAny, acts)
		}
	}
	// The destination's vault-key statement stays as it was.
	var keyStmt []string
	for _, st := range OperatorPolicy(cfg, finding.SideDestination).Statement {
		if strings.HasSuffix(st.Resource, ":key/*") {
			keyStmt = st.Action
		}
	}
	if !slices.Equal(keyStmt, []string{"kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant", "kms:Decrypt", "kms:GenerateDataKey"}) {
		t.Errorf("destination vault-key statement: %v", keyStmt)
	}
}
