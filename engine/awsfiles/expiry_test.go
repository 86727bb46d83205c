package awsfiles

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseExpiry(t *testing.T) {
	at := time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2026-12-06T17:00:00Z", at},
		{"2026-12-06T18:00:00+01:00", at},
		{"2026-12-06T12:00:00-05:00", at},
		{"2026-12-06T17:00:00.250Z", at.Add(250 * time.Millisecond)},
		{"2026-12-06T12:00:00.123456789-05:00", at.Add(123456789)},
		{"2026-12-06 17:00:00+00:00", at},
		{"2026-12-06 19:30:00+02:30", at},
		{"2026-12-06 17:00:00Z", at},
		{"2026-12-06T17:00:00+0000", at},
		{"  2026-12-06T17:00:00Z  ", at},
		{"2026-12-06t17:00:00z", at},
		{"1796576400", at},
		{"1796576400000", at},
		{"1796576400250", at.Add(250 * time.Millisecond)},
	} {
		got, err := ParseExpiry(c.in)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseExpiry(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, junk := range []string{"", "soon", "2026-12-06", "2026-12-06T17:00:00", "17:00 tomorrow",
		"2026-13-06T17:00:00Z", "1796576400.5", "-1796576400", "0x6B0B7A10", "Sun, 06 Dec 2026 17:00:00 GMT"} {
		if got, err := ParseExpiry(junk); err == nil {
			t.Errorf("ParseExpiry(%q) = %v, want an error", junk, got)
		}
	}
}

func TestProfileExpiry(t *testing.T) {
	creds := `[all]
aws_access_key_id = ASIA1
aws_secret_access_key = do-not-print-me
aws_session_token = nor-me
expiration = 1
aws_expiration = 2
x_security_token_expires = 2026-12-06T17:00:00Z
[second]
aws_expiration = 1796576400000
expiration = 1
[empty-first]
x_security_token_expires =
expiration = 1796576400
[bad]
aws_secret_access_key = do-not-print-me
aws_session_token = nor-me
x_security_token_expires = next tuesday ; says the refresher
expiration = 1796576400
[none]
aws_access_key_id = ASIA1
`
	s := Parse(nil, []byte(creds), testFiles)
	want := time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)
	for name, line := range map[string]int{"all": 7, "second": 9, "empty-first": 13} {
		p, _ := s.Profile(name)
		got, from, err := p.Expiry()
		if err != nil || !got.Equal(want) || from.Line != line || from.File != testFiles.Credentials {
			t.Errorf("%s: Expiry() = %v from %+v, %v; want %v from line %d", name, got, from, err, want, line)
		}
	}
	none, _ := s.Profile("none")
	if got, from, err := none.Expiry(); !got.IsZero() || from.File != "" || err != nil {
		t.Errorf("none: Expiry() = %v, %+v, %v; want zero, nil", got, from, err)
	}

	bad, _ := s.Profile("bad")
	_, _, err := bad.Expiry()
	var ee *ExpiryError
	if !errors.As(err, &ee) {
		t.Fatalf("bad: Expiry() error = %v, want *ExpiryError", err)
	}
	if ee.File != testFiles.Credentials || ee.Line != 17 || ee.Key != "x_security_token_expires" || ee.Value != "next tuesday" {
		t.Errorf("bad: %+v", ee)
	}
	msg := err.Error()
	for _, part := range []string{testFiles.Credentials + " line 17", "x_security_token_expires", `"next tuesday"`, "RFC 3339", "epoch seconds"} {
		if !strings.Contains(msg, part) {
			t.Errorf("the message %q does not name %q", msg, part)
		}
	}
	for _, secret := range []string{"do-not-print-me", "nor-me"} {
		if strings.Contains(msg, secret) {
			t.Errorf("the message %q shows a secret", msg)
		}
	}
}

// The SDK refuses a profile whose credentials file section has only one
// of the two keys ("partial credentials"), and its merged section keeps
// the config file's pair: so does this reader, and the config file's
// expiry stays with that pair.
func TestPartialKeysDoNotReplaceThePair(t *testing.T) {
	cfg := "[profile half]\naws_access_key_id = AKIACFG\naws_secret_access_key = scfg\nexpiration = 1796576400\n"
	creds := "[half]\naws_access_key_id = AKIANEW\nx_security_token_expires = 2020-01-01T00:00:00Z\n"
	p, _ := Parse([]byte(cfg), []byte(creds), testFiles).Profile("half")
	if v, _ := p.Get("aws_access_key_id"); v.Value != "AKIACFG" || v.File != testFiles.Config {
		t.Errorf("aws_access_key_id = %+v, want the config file's", v)
	}
	if exp, _, err := p.Expiry(); err != nil || exp.Unix() != 1796576400 {
		t.Errorf("Expiry() = %v, %v; want the config file's", exp, err)
	}
}
