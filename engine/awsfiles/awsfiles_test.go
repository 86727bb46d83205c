package awsfiles

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var testFiles = Files{Config: "/h/.aws/config", Credentials: "/h/.aws/credentials"}

func TestParseBasics(t *testing.T) {
	cfg := `# a comment
[default]
region = eu-west-1 ; where we run

[profile ops]
Role_ARN = arn:aws:iam::111111111111:role/Ops
source_profile = base
s3 =
  endpoint_url = http://localhost:1 ; kept
bare-section-key = x

[ops2]
region = us-east-1
`
	creds := `[base]
aws_access_key_id = ASIAX ; rotated by cron
aws_secret_access_key = "secret"
x_security_token_expires = 2026-12-06 17:00:00+00:00

[profile nope]
aws_access_key_id = A
aws_secret_access_key = B
`
	s := Parse([]byte(cfg), []byte(creds), testFiles)
	if got, want := s.Profiles(), []string{"base", "default", "ops"}; !slices.Equal(got, want) {
		t.Fatalf("Profiles() = %v, want %v", got, want)
	}
	def, _ := s.Profile("default")
	if v, _ := def.Get("region"); v.Value != "eu-west-1" || v.File != testFiles.Config || v.Line != 3 {
		t.Errorf("default region = %+v", v)
	}
	ops, _ := s.Profile("ops")
	if v, _ := ops.Get("ROLE_ARN"); v.Value != "arn:aws:iam::111111111111:role/Ops" || v.Line != 6 {
		t.Errorf("ops role_arn = %+v", v)
	}
	if v, _ := ops.Get("s3"); v.Value != "" || v.Sub["endpoint_url"] != "http://localhost:1 ; kept" {
		t.Errorf("ops s3 = %+v", v)
	}
	base, _ := s.Profile("base")
	if v, _ := base.Get("aws_access_key_id"); v.Value != "ASIAX" || v.File != testFiles.Credentials || v.Line != 2 {
		t.Errorf("base aws_access_key_id = %+v", v)
	}
	if v, _ := base.Get("aws_secret_access_key"); v.Value != "secret" {
		t.Errorf("base aws_secret_access_key = %+v", v)
	}
	exp, from, err := base.Expiry()
	if err != nil || exp.Unix() != 1796576400 || from.Line != 4 {
		t.Errorf("base expiry = %v %+v %v", exp, from, err)
	}
}

func TestReadMissingAndUnreadable(t *testing.T) {
	dir := t.TempDir()
	s, err := Read(Files{Config: filepath.Join(dir, "none"), Credentials: filepath.Join(dir, "nor")})
	if err != nil || len(s.Profiles()) != 0 {
		t.Fatalf("missing files: %v %v", s, err)
	}
	_, err = Read(Files{Config: dir, Credentials: filepath.Join(dir, "nor")})
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("a directory as the config file: err = %v, want one naming %s", err, dir)
	}
	p := filepath.Join(dir, "credentials")
	if err := os.WriteFile(p, []byte("[x]\naws_access_key_id=A\naws_secret_access_key=B\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Read(Files{Config: filepath.Join(dir, "none"), Credentials: p})
	if err != nil {
		t.Fatal(err)
	}
	if x, ok := s.Profile("x"); !ok || x.Values["aws_access_key_id"].File != p {
		t.Fatalf("profile x = %+v %v", x, ok)
	}
}
