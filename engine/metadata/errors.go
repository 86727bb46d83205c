package metadata

import (
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parse errors: where in the file a problem is, which field, and how to
// fix it, from encoding/csv's errors and scanRecord's (scan.go).

// ParseError is returned for malformed input.
type ParseError struct {
	File         string
	Line, Column int    // 1-based; Column counts bytes
	Field        string // header name as written, when known
	Msg          string
	Hint         string

	err error // underlying csv error, if any
}

// Error gives `file:line:col: field "Name": msg; hint`.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":" + strconv.Itoa(e.Column))
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

// Unwrap returns the encoding/csv error behind e, if any.
func (e *ParseError) Unwrap() error { return e.err }

func (rd *reader) errorf(line, col int, field, hint, format string, args ...any) *ParseError {
	return &ParseError{File: rd.name, Line: line, Column: col, Field: field, Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// read reads the next record, marking where it starts so errors can be
// located in the raw text.
// checkUTF8 returns an error for the first invalid UTF-8 in rec.
func (rd *reader) checkUTF8(rec []string) error {
	for i, v := range rec {
		if utf8.ValidString(v) {
			continue
		}
		line, col := rd.cr.FieldPos(i)
		if data, complete, ok := rd.tr.record(); ok {
			if ev, found := scanRecord(data, line0(rd.cr), complete, checkUTF8); found && ev.kind == evUTF8 {
				line, col = ev.line, ev.col
			}
		}
		return rd.errorf(line, col, rd.fieldName(i), `save the file as UTF-8 (in Excel: "CSV UTF-8")`, "invalid UTF-8")
	}
	return nil
}

// line0 is the line the current record starts on.
func line0(cr *csv.Reader) int {
	l, _ := cr.FieldPos(0)
	return l
}

// fieldName is the header name of column i, once the header is read.
func (rd *reader) fieldName(i int) string {
	if i >= 0 && i < len(rd.names) {
		return rd.names[i]
	}
	return ""
}

// csvError turns an error from csv.Reader.Read into a *ParseError, or
// wraps an I/O error with the file name.
func (rd *reader) csvError(err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", rd.name, err)
	}
	e := &ParseError{File: rd.name, Line: pe.Line, Column: pe.Column, err: pe.Err}
	var ev event
	var found bool
	if data, complete, ok := rd.tr.record(); ok {
		ev, found = scanRecord(data, pe.StartLine, complete, 0)
	}
	const hint = "quote the whole field and double any quote inside it"
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		e.Msg = `bare " in an unquoted field`
		e.Hint = hint
		if found && ev.kind == evBareQuote && ev.line == pe.Line && ev.col == pe.Column {
			e.Field = rd.fieldName(ev.field)
			if ev.afterSpaces {
				e.Hint = "remove the spaces before the opening quote, or " + hint
			}
		}
	case errors.Is(pe.Err, csv.ErrQuote):
		switch {
		case found && ev.kind == evUnterminated:
			e.Line, e.Column = ev.line, ev.col
			e.Field = rd.fieldName(ev.field)
			e.Msg = "quoted field is never closed: it runs to the end of the file"
			e.Hint = `close it with a " and double any quote inside it`
		case found && ev.kind == evExtraneous && ev.line == pe.Line && ev.col == pe.Column && ev.openLine < ev.line:
			// The quote "closing" the field is on a later line than the
			// one opening it: most likely the field was never closed on
			// its line and the quote is the next field's opening one.
			// Report it where it opened.
			e.Line, e.Column = ev.openLine, ev.openCol
			e.Field = rd.fieldName(ev.field)
			e.Msg = fmt.Sprintf(`quoted field is not closed on its line: it runs to the " on line %d, col %d, where text follows`, ev.line, ev.col)
			e.Hint = fmt.Sprintf(`close it with a " on line %d; if the value really spans lines, double every quote inside it`, ev.openLine)
		case found && ev.kind == evExtraneous && ev.line == pe.Line && ev.col == pe.Column:
			e.Field = rd.fieldName(ev.field)
			e.Msg = `unexpected text after the closing " of a quoted field`
			e.Hint = hint
		default:
			e.Msg = `extraneous or missing " in a quoted field`
			if pe.StartLine != pe.Line {
				e.Msg += fmt.Sprintf(" (the row starts on line %d)", pe.StartLine)
			}
			e.Hint = hint
		}
	default:
		e.Msg = pe.Err.Error()
	}
	return e
}

// quoteShort quotes s, cut to maxQuoted bytes.
func quoteShort(s string) string {
	if len(s) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}
