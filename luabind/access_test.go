package luabind

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

func accessWorker(t *testing.T, fn string) *Worker {
	t.Helper()
	src := "local M = {}\nfunction M.map(v) return { name = v.name } end\n"
	if fn != "" {
		src += "function M.access_statement(st, ctx)\n" + fn + "\nend\n"
	}
	src += "return M\n"
	dir := writeDir(t, map[string]string{"d.lua": decidePolicy(`return "include", "ok"`), "vaults.lua": src})
	return newWorker(t, scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"d"}, Vaults: "vaults"})
}

func orgStatement() map[string]any {
	return map[string]any{"Sid": "OrgRead", "Effect": "Allow", "Principal": "*", "Action": "backup:CopyIntoBackupVault", "Resource": "*",
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": "o-abc"}}, "N": json.Number("3")}
}

func accessInput() *AccessInput {
	return &AccessInput{Vault: &VaultInput{Name: "prod-ebs"}, Statement: orgStatement(), Translated: orgStatement(), Index: 1, Name: "OrgRead",
		Default: "drop", DefaultReason: `it admits Principal "*"`, DestinationName: "prod-ebs", SourceAccountID: "111111111111", DestinationAccountID: "222222222222"}
}

func TestAccessStatementAnswers(t *testing.T) {
	cases := []struct {
		name, body string
		verdict    AccessVerdict
		reason     string
		problem    string
	}{
		{"keep", `return "keep", "signed off"`, AccessKeep, "signed off", ""},
		{"drop", `return "drop"`, AccessDrop, "", ""},
		{"default", `return nil`, AccessDefault, "", ""},
		{"sees the statement and ctx", `if st.Condition.StringEquals["aws:PrincipalOrgID"] == "o-abc" and ctx.default == "drop" and ctx.vault.name == "prod-ebs" and ctx.sid == "OrgRead" and ctx.index == 1 and ctx.translated.N == 3 then return "drop", "org" end`, AccessDrop, "org", ""},
		{"rewrite", `return { Sid = "Org", Effect = "Allow", Principal = { AWS = { "arn:aws:iam::222222222222:root" } }, Action = "backup:CopyIntoBackupVault", Resource = "*" }, "narrowed"`, AccessRewrite, "narrowed", ""},
		{"bad word", `return "allow"`, "", "", `policies-dir/vaults.lua: access_statement for vault prod-ebs, statement OrgRead returned "allow"; want "keep", "drop"`},
		{"bad type", `return 3`, "", "", `returned the number 3`},
		{"bad reason", `return "keep", {}`, "", "", `as its reason; want a string`},
		{"runtime error", `return st.nope.deeper`, "", "", `access_statement for vault prod-ebs, statement OrgRead: `},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := accessWorker(t, c.body)
			got, err := w.AccessStatement(context.Background(), accessInput())
			if c.problem != "" {
				msg := ""
				if err != nil {
					msg = strings.Replace(err.Error(), w.p.cfg.Dir, "policies-dir", 1)
				}
				if err == nil || !strings.Contains(msg, c.problem) {
					t.Fatalf("err = %v, want one containing %q", err, c.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Verdict != c.verdict || got.Reason != c.reason {
				t.Fatalf("got %+v, want %s %q", got, c.verdict, c.reason)
			}
			if c.verdict == AccessRewrite {
				b, _ := json.Marshal(got.Statement)
				if string(b) != `{"Action":"backup:CopyIntoBackupVault","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:root"]},"Resource":"*","Sid":"Org"}` {
					t.Errorf("rewritten statement %s", b)
				}
			}
		})
	}
}

func TestAccessStatementKeepUntranslatable(t *testing.T) {
	w := accessWorker(t, `return "keep"`)
	in := accessInput()
	in.Translated = nil
	if _, err := w.AccessStatement(context.Background(), in); err == nil || !strings.Contains(err.Error(), "cannot be moved to the destination") {
		t.Fatalf("keep of an untranslatable statement: %v", err)
	}
}

func TestAccessStatementAbsentOrNotAFunction(t *testing.T) {
	w := accessWorker(t, "")
	if w.HasAccessRule() {
		t.Fatal("HasAccessRule without access_statement")
	}
	if a, err := w.AccessStatement(context.Background(), accessInput()); err != nil || a.Verdict != AccessDefault {
		t.Fatalf("without access_statement: %+v %v", a, err)
	}
	dir := writeDir(t, map[string]string{"d.lua": decidePolicy(`return "include", "ok"`),
		"vaults.lua": "local M = {}\nfunction M.map(v) return {} end\nM.access_statement = \"keep\"\nreturn M\n"})
	p, err := LoadPolicies(scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"d"}, Vaults: "vaults"})
	if err == nil {
		_, err = p.NewWorker()
	}
	if err == nil || !strings.Contains(err.Error(), `vaults.lua: access_statement is "keep"; want a function`) {
		t.Fatalf("access_statement not a function: %v", err)
	}
}

func TestAccessStatementTimeLimit(t *testing.T) {
	dir := writeDir(t, map[string]string{"d.lua": decidePolicy(`return "include", "ok"`),
		"vaults.lua": "local M = {}\nfunction M.map(v) return {} end\nfunction M.access_statement() while true do end end\nreturn M\n"})
	p, err := LoadPolicies(scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"d"}, Vaults: "vaults", Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w, err := p.NewWorker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.AccessStatement(context.Background(), accessInput()); err == nil || !strings.Contains(err.Error(), "access_statement for vault prod-ebs") {
		t.Fatalf("endless access_statement: %v", err)
	}
}

func TestOnProposedFailure(t *testing.T) {
	for body, want := range map[string]string{"": "block-vault", `M.on_proposed_failure = "stop-run"`: "stop-run", `M.on_proposed_failure = "stop"`: "want \"block-vault\""} {
		dir := writeDir(t, map[string]string{"d.lua": decidePolicy(`return "include", "ok"`),
			"compliance.lua": "local M = {}\n" + body + "\nfunction M.check(v) return {} end\nreturn M\n"})
		w := newWorker(t, scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"d"}, Compliance: "compliance"})
		got, err := w.OnProposedFailure()
		if (err == nil && string(got) != want) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %q %v, want %q", body, got, err, want)
		}
	}
}
