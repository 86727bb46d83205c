package awsfiles

import (
	"strings"
)

// section is one bracketed section of one file, or the merge of several.
type section struct {
	name   string
	values map[string]Value
	// partial: one of aws_access_key_id and aws_secret_access_key without
	// the other. The SDK refuses such a profile ("partial credentials").
	partial bool
}

func newSection(name string) *section {
	return &section{name: name, values: map[string]Value{}}
}

// sections maps a section's full header name ("profile x", "default",
// "sso-session s") to the section.
type sections map[string]*section

// parseINI reads one file the way the SDK's internal/ini package does.
// Each line is classified on its own, in this order: blank or a line
// comment (first non-blank character '#' or ';'), a section header, a
// property (not indented), a sub-property (indented, with '=' or ':'),
// a continuation (indented). Anything else is ignored, as are properties
// before the first section or in a section with an empty name.
func parseINI(data []byte, file string) sections {
	p := &iniParser{file: file, out: sections{}}
	for i, line := range strings.Split(string(data), "\n") {
		p.line(line, i+1)
	}
	return p.out
}

type iniParser struct {
	file    string
	out     sections
	current string // section name; "" before the first header
	key     string // last property set in the current section
}

func (p *iniParser) line(line string, n int) {
	if strings.TrimSpace(line) == "" || isLineComment(line) {
		return
	}
	if name, ok := headerName(line); ok {
		p.current, p.key = name, ""
		if _, seen := p.out[name]; !seen {
			p.out[name] = newSection(name)
		}
		return
	}
	indented := isBlank(line[0])
	if !indented {
		if k, v, ok := splitKeyValue(trimRight(cutInlineComment(line))); ok {
			p.property(strings.ToLower(k), unquote(v), n)
		}
		return
	}
	rest := strings.TrimLeft(line, " \t")
	if k, v, ok := splitKeyValue(rest); ok {
		// Comments are part of a sub-property's value.
		p.subProperty(strings.ToLower(k), unquote(v), n)
		return
	}
	p.continuation(rest)
}

func (p *iniParser) property(key, value string, n int) {
	if p.current == "" {
		return
	}
	p.key = key
	p.out[p.current].values[key] = Value{Value: value, File: p.file, Line: n}
}

// subProperty is an indented "k = v". It belongs to the last property
// when that property's value is empty ("s3 =" then "  endpoint_url = x");
// otherwise it is taken as a property of its own, its value then cut at
// an inline comment (but its quotes, already removed or kept, stay so).
func (p *iniParser) subProperty(key, value string, n int) {
	if p.current == "" {
		return
	}
	sec := p.out[p.current]
	parent := sec.values[p.key]
	if p.key == "" || parent.Value != "" {
		p.property(key, strings.TrimSpace(cutInlineComment(value)), n)
		return
	}
	if parent.Sub == nil {
		parent = Value{File: parent.File, Line: parent.Line, Sub: map[string]string{}}
	}
	parent.Sub[key] = value
	sec.values[p.key] = parent
}

// continuation is an indented line that is not "k = v": it extends the
// last property's value on a new line, unless that value is empty or
// has sub-properties, in which case it is dropped.
func (p *iniParser) continuation(text string) {
	if p.key == "" {
		return
	}
	sec := p.out[p.current]
	v := sec.values[p.key]
	if v.Value != "" && v.Sub == nil {
		v.Value += "\n" + text
		sec.values[p.key] = v
	}
}

func isBlank(b byte) bool { return b == ' ' || b == '\t' }

func isLineComment(line string) bool {
	t := strings.TrimLeft(line, " \t")
	return strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";")
}

func trimRight(s string) string { return strings.TrimRight(s, " \t") }

// headerName recognises "[name]" or "[type name]" (a header line's
// comment starts at any '#' or ';', even without a blank before it) and
// returns the section's name with the type and name joined by one space.
func headerName(line string) (string, bool) {
	if i := strings.IndexAny(line, "#;"); i >= 0 {
		line = line[:i]
	}
	t := strings.TrimSpace(line)
	if len(t) < 2 || t[0] != '[' || t[len(t)-1] != ']' {
		return "", false
	}
	t = strings.TrimSpace(t[1 : len(t)-1])
	typ, name := splitHeader(t)
	if typ == "" {
		return name, true
	}
	return typ + " " + name, true
}

// splitHeader splits "type   name rest" into "type" and "name rest" at
// the first run of blanks; without a blank the whole is the name.
func splitHeader(s string) (typ, name string) {
	i := strings.IndexAny(s, " \t")
	if i <= 0 {
		return "", s
	}
	rest := strings.TrimLeft(s[i:], " \t")
	return s[:i], rest
}

// cutInlineComment cuts a property line at the first " #", " ;", "\t#"
// or "\t;": an inline comment needs a blank before it.
func cutInlineComment(s string) string {
	cut := len(s)
	for _, marker := range []string{" #", " ;", "\t#", "\t;"} {
		if i := strings.Index(s[:cut], marker); i >= 0 {
			cut = i
		}
	}
	return s[:cut]
}

// splitKeyValue splits at the first '=' or, when a ':' comes first (or
// there is no '='), at the first ':'. Key and value are trimmed.
func splitKeyValue(s string) (key, value string, ok bool) {
	eq := strings.IndexByte(s, '=')
	colon := strings.IndexByte(s, ':')
	at := eq
	if eq < 0 || (colon >= 0 && colon < eq) {
		at = colon
	}
	if at < 0 {
		return "", "", false
	}
	return strings.TrimSpace(s[:at]), strings.TrimSpace(s[at+1:]), true
}

// unquote removes one pair of matching surrounding quotes, single or
// double.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}
