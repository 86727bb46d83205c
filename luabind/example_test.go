package luabind_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// countingHost is a Host that reports fixed summaries.
type countingHost struct{ cfg scriptconfig.Config }

func (h *countingHost) Configure(cfg scriptconfig.Config) error { h.cfg = cfg; return nil }
func (h *countingHost) Inventory(context.Context) (map[string]any, error) {
	return map[string]any{"vaults": 14, "recovery_points": 2000}, nil
}
func (h *countingHost) Enrich(context.Context) (map[string]any, error) { return nil, nil }
func (h *countingHost) Decide(context.Context) (map[string]any, error) {
	return map[string]any{"included": 1200, "excluded": 800}, nil
}
func (h *countingHost) Replicate(context.Context) (map[string]any, error) { return nil, nil }
func (h *countingHost) Copy(context.Context, scriptconfig.CopyArgs) (map[string]any, error) {
	return map[string]any{"completed": 1200}, nil
}

func ExampleRunScript() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "migrate.lua")
	os.WriteFile(script, []byte(`
local shuffle = require("shuffle")
shuffle.config{
  source = { profile = "source", account = "111111111111", region = "us-east-1" },
  destination = { profile = "destination", account = "222222222222", region = "us-east-1" },
  metadata = "testenv-run/metadata.csv",
  copy_role = "arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole",
  policies = { decide = { "apmid" } },
}
local inv = shuffle.inventory()
print(inv.recovery_points .. " recovery points in " .. inv.vaults .. " vaults")
local d = shuffle.decide()
print(d.included .. " included")
`), 0o644)

	h := &countingHost{}
	if err := luabind.RunScript(context.Background(), script, h, os.Stdout); err != nil {
		fmt.Println(err)
	}
	fmt.Println(h.cfg.Policies.Dir, h.cfg.Policies.Decide, "declared at line", h.cfg.Line)
	// Output:
	// 2000 recovery points in 14 vaults
	// 1200 included
	// policies [apmid] declared at line 3
}

func ExampleWorker_Decide() {
	p, err := luabind.LoadPolicies(scriptconfig.PolicyConfig{Dir: "../policies", Decide: []string{"apmid"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	w, _ := p.NewWorker()
	defer w.Close()
	for _, md := range []map[string]string{{"apmid": "APM0001234"}, {"apmid": "APM0003002"}, {"apmid": ""}, nil} {
		d := w.Decide(context.Background(), &luabind.RPInput{Vault: "prod-ebs-daily", ResourceType: "EBS", HasMetadata: md != nil, Metadata: md})
		fmt.Printf("%v %s: %s\n", d.Include, d.Policy, d.Reason)
	}
	// Output:
	// true apmid: APMID APM0001234 is allowed
	// false apmid: APMID APM0003002 is not in the allow set
	// false apmid: APMID missing
	// false apmid: no metadata row for resource
}
