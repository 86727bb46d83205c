package metadata

// The raw-text side of the reader: tracker keeps the bytes of the record
// being parsed, and scanRecord walks them the way encoding/csv does to
// locate problems by line and column.

import (
	"io"
	"unicode/utf8"
)

// Event kinds found by scanRecord.
const (
	evNone = iota
	evBareQuote
	evExtraneous
	evUnterminated
	evUTF8
	evControl
)

// What scanRecord checks besides quoting.
const (
	checkUTF8    = 1 << iota // invalid UTF-8
	checkControl             // control characters (see controlAt)
)

type event struct {
	kind        int
	line, col   int
	field       int
	afterSpaces bool // bare quote preceded only by spaces in its field
	// openLine and openCol are where the quoted field of an evExtraneous
	// opened.
	openLine, openCol int
}

// scanRecord walks the raw text of one CSV record, which starts on line
// (after any empty lines), the way encoding/csv parses it, and returns
// the first quoting problem, or the first character that checks
// (checkUTF8, checkControl) finds wrong. complete says data runs to the
// end of the input; otherwise it is a prefix, and found is false if the
// answer lies beyond it.
func scanRecord(data []byte, line int, complete bool, checks int) (ev event, found bool) {
	i := 0
	for i < len(data) { // csv skips empty lines
		if data[i] == '\n' {
			i++
		} else if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i += 2
		} else {
			break
		}
	}
	col, field := 1, 0
	// charProblem says what is wrong with the character at data[i]
	// (evUTF8, evControl or evNone); ok is false if that cannot be told
	// from a prefix.
	charProblem := func() (kind int, ok bool) {
		if checks&checkControl != 0 {
			switch ctrl, short := controlAt(data[i:]); {
			case ctrl:
				return evControl, true
			case short && !complete:
				return evNone, false
			}
		}
		if checks&checkUTF8 == 0 || data[i] < utf8.RuneSelf {
			return evNone, true
		}
		if !complete && !utf8.FullRune(data[i:]) {
			return evNone, false
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return evUTF8, true
		}
		return evNone, true
	}
	// endOfLine reports whether data[i] ends the line.
	endOfLine := func() bool {
		return data[i] == '\n' || data[i] == '\r' && (i+1 == len(data) || data[i+1] == '\n')
	}
fields:
	for {
		// Start of a field.
		if i < len(data) && data[i] == '"' {
			oLine, oCol := line, col
			i++
			col++
			for {
				if i >= len(data) {
					if complete {
						return event{kind: evUnterminated, line: oLine, col: oCol, field: field}, true
					}
					return event{}, false
				}
				switch c := data[i]; {
				case c == '"':
					if i+1 < len(data) && data[i+1] == '"' {
						i += 2
						col += 2
						continue
					}
					qLine, qCol := line, col
					i++
					col++
					if i >= len(data) {
						return event{}, complete
					}
					if data[i] == ',' {
						i++
						col++
						field++
						continue fields
					}
					if endOfLine() {
						return event{}, true
					}
					return event{kind: evExtraneous, line: qLine, col: qCol, field: field, openLine: oLine, openCol: oCol}, true
				case c == '\n':
					i++
					line++
					col = 1
				default:
					kind, ok := charProblem()
					if !ok {
						return event{}, false
					}
					if kind != evNone {
						return event{kind: kind, line: line, col: col, field: field}, true
					}
					i++
					col++
				}
			}
		}
		// Unquoted field.
		{
			spaces := true
			for i < len(data) {
				c := data[i]
				switch {
				case c == ',':
					i++
					col++
					field++
					continue fields
				case endOfLine():
					return event{}, true
				case c == '"':
					return event{kind: evBareQuote, line: line, col: col, field: field, afterSpaces: spaces}, true
				}
				kind, ok := charProblem()
				if !ok {
					return event{}, false
				}
				if kind != evNone {
					return event{kind: kind, line: line, col: col, field: field}, true
				}
				spaces = spaces && c == ' '
				i++
				col++
			}
			return event{}, complete
		}
	}
}

// tracker passes reads through to r, keeping the raw bytes of the record
// being parsed (up to maxRetain) so that errors can be located exactly.
type tracker struct {
	r    io.Reader
	buf  []byte // raw bytes from stream offset base
	base int64
	mark int64 // stream offset where the current record starts
	read int64 // bytes read from r
	full bool  // bytes after buf were dropped
	eof  bool
}

func (t *tracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		if !t.full {
			kept := len(t.buf) - int(min(max(t.mark-t.base, 0), int64(len(t.buf))))
			if kept+n > maxRetain {
				t.full = true
			} else {
				t.buf = append(t.buf, p[:n]...)
			}
		}
		t.read += int64(n)
	}
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

// setMark notes that the next record starts at stream offset off and
// drops what comes before.
func (t *tracker) setMark(off int64) {
	t.mark = off
	end := t.base + int64(len(t.buf))
	if t.full {
		if off > end {
			// Nothing of this record is kept: start again from here.
			t.buf, t.base, t.full = t.buf[:0], t.read, false
		}
		return
	}
	rel := off - t.base
	if rel >= 32<<10 && rel <= int64(len(t.buf)) && rel >= int64(len(t.buf)/2) {
		n := copy(t.buf, t.buf[rel:])
		t.buf = t.buf[:n]
		t.base = off
	}
}

// record returns the raw bytes of the current record as far as they are
// kept; complete says they run to the end of the input.
func (t *tracker) record() (data []byte, complete, ok bool) {
	rel := t.mark - t.base
	if rel < 0 || rel > int64(len(t.buf)) {
		return nil, false, false
	}
	return t.buf[rel:], t.eof && !t.full, true
}
