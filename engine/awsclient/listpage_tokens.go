package awsclient

import (
	"bytes"
	"encoding/json"
	"math"
)

// The JSON tokens of a listing page, for pageDecoder (listpage_decode.go):
// whitespace, separators, member names, strings, numbers, literals, and
// skipping a value whole. Each reports false on input it does not take.

func (d *pageDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// byte skips white space and one c.
func (d *pageDecoder) byte(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// peekByte skips white space and reports whether c is next.
func (d *pageDecoder) peekByte(c byte) bool {
	d.ws()
	return d.i < len(d.b) && d.b[d.i] == c
}

// next reads the separator after a member or element: a comma (more
// follow) or the closing byte.
func (d *pageDecoder) next(closing byte) (more, ok bool) {
	d.ws()
	if d.i >= len(d.b) {
		return false, false
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		return true, true
	case closing:
		d.i++
		return false, true
	}
	return false, false
}

// end accepts only white space after the top-level object.
func (d *pageDecoder) end() bool {
	d.ws()
	return d.i == len(d.b)
}

// key reads a member name and its colon. Names with escapes are left
// to the SDK.
func (d *pageDecoder) key() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	n := bytes.IndexByte(d.b[d.i:], '"')
	if n < 0 || !plain(d.b[d.i:d.i+n]) {
		return nil, false
	}
	k := d.b[d.i : d.i+n]
	d.i += n + 1
	return k, d.byte(':')
}

// str reads a string value onto d.text and returns where it lies
// there. Unescaped bytes are copied as they are, as the SDK does; a
// string with escapes is unquoted by encoding/json, whose rules the
// SDK's decoder copies (invalid UTF-8 and lone surrogates become
// U+FFFD).
func (d *pageDecoder) str() (span, bool) {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return span{}, false
	}
	start := d.i
	d.i++
	// The common case: no escape up to the closing quote.
	if n := bytes.IndexByte(d.b[d.i:], '"'); n >= 0 {
		seg := d.b[d.i : d.i+n]
		if plain(seg) {
			d.i += n + 1
			off := len(d.text)
			d.text = append(d.text, seg...)
			return d.span(off)
		}
	}
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			var s string
			if json.Unmarshal(d.b[start:d.i], &s) != nil {
				return span{}, false
			}
			off := len(d.text)
			d.text = append(d.text, s...)
			return d.span(off)
		case c < 0x20:
			return span{}, false
		case c == '\\':
			if !d.escape() {
				return span{}, false
			}
			continue
		}
		d.i++
	}
	return span{}, false
}

// plain reports whether seg holds neither a backslash nor a control
// character.
func plain(seg []byte) bool {
	for _, c := range seg {
		if c < 0x20 || c == '\\' {
			return false
		}
	}
	return true
}

func (d *pageDecoder) span(off int) (span, bool) {
	if len(d.text) > math.MaxInt32 {
		return span{}, false
	}
	return span{int32(off), int32(len(d.text))}, true
}

// escape checks one escape sequence at d.i (the backslash) and steps
// over it.
func (d *pageDecoder) escape() bool {
	if d.i+1 >= len(d.b) {
		return false
	}
	switch d.b[d.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		d.i += 2
		return true
	case 'u':
		if d.i+6 > len(d.b) {
			return false
		}
		for _, c := range d.b[d.i+2 : d.i+6] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
		d.i += 6
		return true
	}
	return false
}

// number reads a JSON number token.
func (d *pageDecoder) number() ([]byte, bool) {
	d.ws()
	b, i := d.b, d.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == digits || (b[digits] == '0' && i-digits > 1) {
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		digits = i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == digits {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		digits = i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == digits {
			return nil, false
		}
	}
	d.i = i
	return b[start:i], true
}

func (d *pageDecoder) lit(s string) bool {
	d.ws()
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}

// skip steps over one value of a member the SDK does not know.
func (d *pageDecoder) skip(depth int) bool {
	if depth > maxDepth {
		return false
	}
	d.ws()
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		mark := len(d.text)
		_, ok := d.str()
		d.text = d.text[:mark]
		return ok
	case c == '{':
		d.i++
		if d.peekByte('}') {
			d.i++
			return true
		}
		for {
			if _, ok := d.key(); !ok || !d.skip(depth+1) {
				return false
			}
			more, ok := d.next('}')
			if !ok {
				return false
			}
			if !more {
				return true
			}
		}
	case c == '[':
		d.i++
		if d.peekByte(']') {
			d.i++
			return true
		}
		for {
			if !d.skip(depth + 1) {
				return false
			}
			more, ok := d.next(']')
			if !ok {
				return false
			}
			if !more {
				return true
			}
		}
	case c == 't':
		return d.lit("true")
	case c == 'f':
		return d.lit("false")
	case c == 'n':
		return d.lit("null")
	}
	_, ok := d.number()
	return ok
}
