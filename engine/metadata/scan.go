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
	s := recordScanner{data: data, line: line, col: 1, complete: complete, checks: checks}
	s.skipEmptyLines()
	for {
		var more bool
		if s.i < len(data) && data[s.i] == '"' {
			ev, found, more = s.quotedField()
		} else {
			ev, found, more = s.unquotedField()
		}
		if !more {
			return ev, found
		}
		s.field++
	}
}

// recordScanner is scanRecord's position in the record's text.
type recordScanner struct {
	data             []byte
	i                int // the byte at hand
	line, col, field int
	complete         bool
	checks           int
}

// skipEmptyLines skips the empty lines csv skips before a record.
func (s *recordScanner) skipEmptyLines() {
	data := s.data
	for s.i < len(data) {
		if data[s.i] == '\n' {
			s.i++
		} else if data[s.i] == '\r' && s.i+1 < len(data) && data[s.i+1] == '\n' {
			s.i += 2
		} else {
			break
		}
	}
}

// charProblem says what is wrong with the character at hand (evUTF8,
// evControl or evNone); ok is false if that cannot be told from a prefix.
func (s *recordScanner) charProblem() (kind int, ok bool) {
	data, i := s.data, s.i
	if s.checks&checkControl != 0 {
		switch ctrl, short := controlAt(data[i:]); {
		case ctrl:
			return evControl, true
		case short && !s.complete:
			return evNone, false
		}
	}
	if s.checks&checkUTF8 == 0 || data[i] < utf8.RuneSelf {
		return evNone, true
	}
	if !s.complete && !utf8.FullRune(data[i:]) {
		return evNone, false
	}
	r, size := utf8.DecodeRune(data[i:])
	if r == utf8.RuneError && size == 1 {
		return evUTF8, true
	}
	return evNone, true
}

// endOfLine reports whether the byte at hand ends the line.
func (s *recordScanner) endOfLine() bool {
	data, i := s.data, s.i
	return data[i] == '\n' || data[i] == '\r' && (i+1 == len(data) || data[i+1] == '\n')
}

// checkChar checks the character at hand and steps over it; done says
// the scan ends here, with ev and found its answer.
func (s *recordScanner) checkChar() (ev event, found, done bool) {
	kind, ok := s.charProblem()
	if !ok {
		return event{}, false, true
	}
	if kind != evNone {
		return event{kind: kind, line: s.line, col: s.col, field: s.field}, true, true
	}
	s.i++
	s.col++
	return event{}, false, false
}

// quotedField scans a field that opens with a quote, up to the comma
// after it (more) or the end of the record.
func (s *recordScanner) quotedField() (ev event, found, more bool) {
	data := s.data
	oLine, oCol := s.line, s.col
	s.i++
	s.col++
	for {
		if s.i >= len(data) {
			if s.complete {
				return event{kind: evUnterminated, line: oLine, col: oCol, field: s.field}, true, false
			}
			return event{}, false, false
		}
		switch c := data[s.i]; {
		case c == '"':
			if s.i+1 < len(data) && data[s.i+1] == '"' {
				s.i += 2
				s.col += 2
				continue
			}
			qLine, qCol := s.line, s.col
			s.i++
			s.col++
			switch {
			case s.i >= len(data):
				return event{}, s.complete, false
			case data[s.i] == ',':
				s.i++
				s.col++
				return event{}, false, true
			case s.endOfLine():
				return event{}, true, false
			}
			return event{kind: evExtraneous, line: qLine, col: qCol, field: s.field, openLine: oLine, openCol: oCol}, true, false
		case c == '\n':
			s.i++
			s.line++
			s.col = 1
		default:
			if ev, found, done := s.checkChar(); done {
				return ev, found, false
			}
		}
	}
}

// unquotedField scans a field that does not open with a quote, up to
// the comma after it (more) or the end of the record.
func (s *recordScanner) unquotedField() (ev event, found, more bool) {
	data := s.data
	spaces := true
	for s.i < len(data) {
		c := data[s.i]
		switch {
		case c == ',':
			s.i++
			s.col++
			return event{}, false, true
		case s.endOfLine():
			return event{}, true, false
		case c == '"':
			return event{kind: evBareQuote, line: s.line, col: s.col, field: s.field, afterSpaces: spaces}, true, false
		}
		if ev, found, done := s.checkChar(); done {
			return ev, found, false
		}
		spaces = spaces && c == ' '
	}
	return event{}, s.complete, false
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
