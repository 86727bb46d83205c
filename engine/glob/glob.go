// Package glob is the one wildcard matcher of shuffle: * matches any
// run of characters (also none), ? matches one character, and every
// other character matches itself. The Lua helpers (helpers.glob) and
// the vault access-policy evaluation (IAM wildcards) both call it; the
// only difference between them, case folding, is the Case argument.
//
// It must stay a leaf: no imports beyond the standard library, no I/O.
package glob

import (
	"strings"
	"unicode/utf8"
)

// Case says how letters compare.
type Case int

const (
	// Sensitive compares letters exactly (helpers.glob, IAM resources).
	Sensitive Case = iota
	// Fold compares letters case-insensitively (IAM action names).
	Fold
)

// Match reports whether s matches pattern p. It runs in linear time,
// backtracking only to the last star.
func Match(p, s string, c Case) bool {
	if c == Fold {
		p, s = strings.ToLower(p), strings.ToLower(s)
	}
	px, sx := 0, 0
	nextPx, nextSx := 0, -1
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			switch ch := p[px]; ch {
			case '?':
				if sx < len(s) {
					_, n := utf8.DecodeRuneInString(s[sx:])
					px++
					sx += n
					continue
				}
			case '*':
				nextPx, nextSx = px, sx
				px++
				continue
			default:
				if sx < len(s) && s[sx] == ch {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx >= 0 && nextSx < len(s) {
			_, n := utf8.DecodeRuneInString(s[nextSx:])
			nextSx += n
			px, sx = nextPx+1, nextSx
			continue
		}
		return false
	}
	return true
}

// Any reports whether s matches any of the patterns.
func Any(patterns []string, s string, c Case) bool {
	for _, p := range patterns {
		if Match(p, s, c) {
			return true
		}
	}
	return false
}
