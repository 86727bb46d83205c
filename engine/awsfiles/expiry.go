package awsfiles

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ExpiryFormats says which expiry formats ParseExpiry reads.
const ExpiryFormats = `RFC 3339 with Z or any offset, with or without fractional seconds ` +
	`(2026-12-06T17:00:00Z, 2026-12-06T18:00:00.5+01:00), the same with a space for the T ` +
	`(2026-12-06 17:00:00+00:00), epoch seconds (1796576400) or epoch milliseconds (1796576400000)`

// epochMillisAbove: a larger epoch number is in milliseconds (1e11
// seconds is the year 5138; 1e11 milliseconds is 1973).
const epochMillisAbove = 1e11

var expiryLayouts = []string{
	time.RFC3339Nano,                     // Z or ±hh:mm, optional fraction
	"2006-01-02T15:04:05.999999999Z0700", // ±hhmm
	"2006-01-02T15:04:05.999999999Z07",   // ±hh
}

// ParseExpiry reads an expiry as token refreshers write it: see
// ExpiryFormats.
func ParseExpiry(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty expiry; accepted: %s", ExpiryFormats)
	}
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("expiry %q: %v", s, err)
		}
		if n > epochMillisAbove {
			return time.UnixMilli(n).UTC(), nil
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if len(s) > 10 && (s[10] == ' ' || s[10] == 't') {
		s = s[:10] + "T" + s[11:]
	}
	if strings.HasSuffix(s, "z") {
		s = s[:len(s)-1] + "Z"
	}
	for _, layout := range expiryLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("expiry %q is not a time; accepted: %s", s, ExpiryFormats)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ExpiryError is an expiry that ParseExpiry cannot read. The value is an
// expiry, never a secret, so the message shows it.
type ExpiryError struct {
	File  string
	Line  int
	Key   string
	Value string
}

func (e *ExpiryError) Error() string {
	return fmt.Sprintf("%s line %d: %s = %q is not an expiry shuffle can read; write it as %s",
		e.File, e.Line, e.Key, e.Value, ExpiryFormats)
}

// Expiry is when the profile's keys expire, as a refresher wrote it: the
// first of x_security_token_expires, aws_expiration and expiration that
// the profile has with a non-empty value. The zero time and a nil error
// when it has none; an *ExpiryError naming file and line when that value
// cannot be read (the next key is not tried: the first is the one meant).
func (p Profile) Expiry() (t time.Time, from Value, err error) {
	for _, key := range expiryKeys {
		v, ok := p.Values[key]
		if !ok || strings.TrimSpace(v.Value) == "" {
			continue
		}
		t, err := ParseExpiry(v.Value)
		if err != nil {
			return time.Time{}, v, &ExpiryError{File: v.File, Line: v.Line, Key: key, Value: v.Value}
		}
		return t, v, nil
	}
	return time.Time{}, Value{}, nil
}
