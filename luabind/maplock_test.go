package luabind

import (
	"context"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

func TestMapLock(t *testing.T) {
	cases := map[string]string{
		`{ mode = "governance", min_retention_days = 7 }`:                          "",
		`{ mode = "governance", min_retention_days = 7, max_retention_days = 90 }`: "",
		`{ mode = "compliance", min_retention_days = 7 }`:                          `lock.mode "compliance"; want "governance"`,
		`{ mode = "governance" }`:                                                  "without min_retention_days or max_retention_days",
		`{ mode = "governance", min_retention_days = 0.5 }`:                        "want a whole number of days",
		`{ mode = "governance", min_retention_days = 9, max_retention_days = 8 }`:  "above max_retention_days",
		`{ mode = "governance", min = 7 }`:                                         `unknown lock field "min"`,
		`"governance"`:                                                             "as lock; want a table",
	}
	for lock, problem := range cases {
		dir := writeDir(t, map[string]string{"d.lua": decidePolicy(`return "include", "ok"`),
			"vaults.lua": "local M = {}\nfunction M.map(v) return { lock = " + lock + " } end\nreturn M\n"})
		w := newWorker(t, scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"d"}, Vaults: "vaults"})
		m, err := w.MapVault(context.Background(), &VaultInput{Name: "prod-ebs"})
		switch {
		case problem == "" && (err != nil || m.Lock == nil || m.Lock.Mode != "governance" || *m.Lock.MinRetentionDays != 7):
			t.Errorf("%s: %+v %v", lock, m.Lock, err)
		case problem != "" && (err == nil || !strings.Contains(err.Error(), problem)):
			t.Errorf("%s: err %v, want %q", lock, err, problem)
		}
	}
}
