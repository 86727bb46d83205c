package metadata

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Control characters.
//
// A field may hold a tab and, when quoted, line breaks (LF or CRLF, read
// as LF). Any other control character is rejected wherever it is, header
// included: the C0 controls (U+0000-U+001F, among them NUL and a
// carriage return not followed by a line feed), DEL (U+007F) and the C1
// controls (U+0080-U+009F). They are invisible in editors and
// spreadsheets, would be kept in the value (an APMID holding a NUL
// matches no allow list and prints as garbage), and mostly come from a
// file that was saved in another encoding, with old Mac line endings or
// pasted from a terminal.

// controlAt reports whether b starts with a control character that a
// field may not hold. short is true when b is too short to tell (a CR
// or the first byte of a two-byte sequence at its end).
func controlAt(b []byte) (ctrl, short bool) {
	if len(b) == 0 {
		return false, true
	}
	switch c := b[0]; {
	case c == '\r':
		if len(b) == 1 {
			return false, true // csv drops a CR before the end of the input
		}
		return b[1] != '\n', false
	case c == '\t', c == '\n':
		return false, false
	case c < 0x20, c == 0x7f:
		return true, false
	case c == 0xc2: // U+0080-U+009F are C2 80 - C2 9F
		if len(b) == 1 {
			return false, true
		}
		return b[1] >= 0x80 && b[1] <= 0x9f, false
	}
	return false, false
}

// firstControl returns the index in v of the first control character a
// field may not hold, or -1. v is a parsed value: CRLF line breaks
// inside it are already LF, so any CR left is a bare one.
func firstControl(v string) int {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\t', c == '\n':
		case c < 0x20, c == 0x7f:
			return i
		case c == 0xc2 && i+1 < len(v) && v[i+1] >= 0x80 && v[i+1] <= 0x9f:
			return i
		}
	}
	return -1
}

// controlNames names the control characters met in practice.
var controlNames = map[rune]string{
	0x00: "NUL", 0x08: "backspace", 0x0b: "vertical tab", 0x0c: "form feed",
	0x0d: "carriage return", 0x1a: "SUB (Ctrl-Z)", 0x1b: "escape", 0x7f: "DEL", 0x85: "next line (NEL)",
}

// describeControl gives the message and the hint for control character r.
func describeControl(r rune) (msg, hint string) {
	name := fmt.Sprintf("U+%04X", r)
	if n, ok := controlNames[r]; ok {
		name = n + " (" + name + ")"
	}
	switch r {
	case '\r':
		return "control character " + name + " not followed by a line feed",
			"save the file with LF or CRLF line endings (old Mac CR-only endings are not read), or delete the character"
	case 0:
		return "control character " + name,
			"delete it; NUL bytes often mean the file was saved as UTF-16 or is not text: save it as UTF-8 CSV"
	}
	return "control character " + name,
		"delete it or replace it with a space; control characters are invisible in editors and would be kept in the value"
}

// checkControl returns an error for the first control character in rec
// that a field may not hold, located in the raw text when it is kept.
func (rd *reader) checkControl(rec []string) error {
	for i, v := range rec {
		j := firstControl(v)
		if j < 0 {
			continue
		}
		r, _ := utf8.DecodeRuneInString(v[j:])
		line, col := rd.cr.FieldPos(i)
		if data, complete, ok := rd.tr.record(); ok {
			if ev, found := scanRecord(data, line0(rd.cr), complete, checkControl); found && ev.kind == evControl && ev.field == i {
				line, col = ev.line, ev.col
			}
		}
		msg, hint := describeControl(r)
		return rd.errorf(line, col, rd.fieldName(i), hint, "%s", msg)
	}
	return nil
}

// checkArnLineBreak rejects an ARN value holding a line break (a quoted
// ARN cell that spans lines): no resource's ARN does, so the row would
// match nothing.
func (rd *reader) checkArnLineBreak(arn string) error {
	if !strings.Contains(arn, "\n") {
		return nil
	}
	line, col := rd.cr.FieldPos(rd.arnCol)
	return rd.errorf(line, col, rd.names[rd.arnCol],
		`an ARN is one line: remove the line break, or close the quote where the ARN ends`,
		"line break inside the ARN %s", quoteShort(arn))
}
