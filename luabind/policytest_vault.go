package luabind

import (
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// checkVault reads argument n, a vault table as a test writes it.
func checkVault(L *lua.LState, n int) *VaultInput {
	r := readFields(L.CheckTable(n), "", "vault.")
	v := &VaultInput{
		Name: r.str("name", true), Arn: r.str("arn", false), VaultType: r.str("vault_type", false),
		EncryptionKeyArn: r.str("encryption_key_arn", false), EncryptionKeyAliases: r.strList("encryption_key_aliases"),
		EncryptionKeyAlias: r.str("encryption_key_alias", false), Locked: r.boolean("locked"),
		MinRetentionDays: r.int64p("min_retention_days"), MaxRetentionDays: r.int64p("max_retention_days"),
		Tags: r.strMap("tags"), SNSTopicArn: r.str("sns_topic_arn", false), Events: r.strList("events"),
		AccessPolicy: r.str("access_policy", false),
	}
	if t := r.time("lock_date"); !t.IsZero() {
		v.LockDate = &t
	} else if t := r.time("lock_date_iso"); !t.IsZero() {
		v.LockDate = &t
	}
	if err := r.done(); err != nil {
		L.ArgError(n, err.Error())
	}
	keyAliases(L, n, v)
	return v
}

// keyAliases makes a test vault's key aliases what the engine gives:
// encryption_key_alias is the first of encryption_key_aliases, and
// either one alone fills in the other.
func keyAliases(L *lua.LState, n int, v *VaultInput) {
	for _, a := range append([]string{v.EncryptionKeyAlias}, v.EncryptionKeyAliases...) {
		if strings.HasPrefix(a, "alias/") {
			L.ArgError(n, fmt.Sprintf("vault.encryption_key_alias(es) %q: write the alias name without alias/, as the engine gives it", a))
		}
	}
	switch {
	case v.EncryptionKeyAlias == "" && len(v.EncryptionKeyAliases) > 0:
		v.EncryptionKeyAlias = v.EncryptionKeyAliases[0]
	case v.EncryptionKeyAlias != "" && len(v.EncryptionKeyAliases) == 0:
		v.EncryptionKeyAliases = []string{v.EncryptionKeyAlias}
	case v.EncryptionKeyAlias != "" && v.EncryptionKeyAlias != v.EncryptionKeyAliases[0]:
		L.ArgError(n, fmt.Sprintf("vault.encryption_key_alias %q is not the first of vault.encryption_key_aliases (the engine gives the first in name order)", v.EncryptionKeyAlias))
	}
}
