package oncall

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"

	"golang.org/x/text/encoding/unicode"
)

// Structural limits for imported calendars (untrusted input).
const (
	MaxCalendarSize   = 2 << 20 // bytes of iCalendar text
	maxLineLen        = 4096    // bytes of one unfolded content line we keep
	maxLineSemicolons = 64      // parameters and rule parts in one line
	maxNesting        = 8       // BEGIN depth
)

// lineParam is the parameter sanitize adds to every kept property: the
// number of the physical line where the property starts, so that
// warnings name it although the library parser does not keep positions.
// beginProp is the property it adds after BEGIN:VEVENT, for the same
// reason. Input carrying either name is dropped.
const (
	lineParam = "X-FIELDGATE-LINE"
	beginProp = "X-FIELDGATE-BEGIN"
)

// keptProps are the properties the import reads; the others (descriptions,
// alarms, attachments) are dropped before parsing, which keeps the
// library's work proportional to what matters.
var keptProps = map[string]bool{
	"BEGIN": true, "END": true, "UID": true, "SUMMARY": true, "STATUS": true,
	"DTSTART": true, "DTEND": true, "DURATION": true, "RRULE": true, "EXRULE": true,
	"EXDATE": true, "RDATE": true, "RECURRENCE-ID": true, "ATTENDEE": true, "ORGANIZER": true,
	"CATEGORIES": true, "X-FIELDGATE-PERSON": true, "TZID": true, "X-LIC-LOCATION": true,
	"TZOFFSETFROM": true, "TZOFFSETTO": true,
	"METHOD": true, "X-WR-TIMEZONE": true, // calendar-level (RFC 5546 §1.4; Apple, Google)
	"SEQUENCE": true, // which version of an event is the latest
}

// sanitize unfolds content lines (RFC 5545 §3.1), drops the properties not
// read (keeping also the extra names, upper case), checks the structural
// limits and returns the lines with upper-case names, each tagged with
// its line number.
func sanitize(data []byte, extra ...string) ([]byte, error) {
	data, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	depth, lineNo := 0, 0
	var cur []byte
	curLine := 0
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		line := cur
		cur = nil
		i := bytes.IndexAny(line, ";:")
		if i <= 0 {
			return errorf(ErrInvalid, "calendar: line %d: not a content line (NAME:value)", curLine)
		}
		name := strings.ToUpper(string(line[:i]))
		if name == beginProp || (!keptProps[name] && !containsFold(extra, name)) {
			return nil
		}
		if len(line) > maxLineLen {
			return errorf(ErrInvalid, "calendar: line %d: %s longer than %d bytes", curLine, name, maxLineLen)
		}
		if bytes.Count(line, []byte(";")) > maxLineSemicolons {
			return errorf(ErrInvalid, "calendar: line %d: too many parameters", curLine)
		}
		rest := line[i:]
		switch name {
		case "BEGIN", "END":
			rest = bytes.ToUpper(bytes.TrimSpace(rest))
			if name == "BEGIN" {
				depth++
				if depth > maxNesting {
					return errorf(ErrInvalid, "calendar: line %d: components nested deeper than %d", curLine, maxNesting)
				}
			} else {
				depth--
			}
			out.WriteString(name)
			out.Write(rest)
			out.WriteString("\r\n")
			if name == "BEGIN" && string(rest) == ":VEVENT" {
				out.WriteString(beginProp + ":" + strconv.Itoa(curLine) + "\r\n")
			}
			return nil
		}
		out.WriteString(name)
		out.WriteString(";" + lineParam + "=" + strconv.Itoa(curLine))
		out.Write(rest)
		out.WriteString("\r\n")
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), MaxCalendarSize+1)
	for sc.Scan() {
		lineNo++
		l := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') {
			if len(cur)+len(l) > MaxCalendarSize {
				return nil, errorf(ErrInvalid, "calendar: line %d too long", lineNo)
			}
			cur = append(cur, l[1:]...)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		if len(l) == 0 {
			continue
		}
		cur, curLine = append(cur[:0:0], l...), lineNo
	}
	if err := sc.Err(); err != nil {
		return nil, errorf(ErrInvalid, "calendar: %v", err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if out.Len() == 0 {
		return nil, errorf(ErrInvalid, "calendar: empty")
	}
	return out.Bytes(), nil
}

// decodeText returns the calendar as UTF-8 text with LF line ends: a
// UTF-8 byte order mark is dropped, UTF-16 with a byte order mark (as
// some Windows tools save .ics files) is decoded, and lone CR line ends
// (classic Mac OS exports) become LF, so that line numbers stay those an
// editor shows.
func decodeText(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		data = data[3:]
	case bytes.HasPrefix(data, []byte("\xff\xfe")), bytes.HasPrefix(data, []byte("\xfe\xff")):
		d, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
		if err != nil {
			return nil, errorf(ErrInvalid, "calendar: not valid UTF-16 text: %v; save the file as UTF-8", err)
		}
		data = d
	}
	if cr := bytes.Count(data, []byte("\r")); cr > 0 && cr != bytes.Count(data, []byte("\r\n")) {
		data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	}
	return data, nil // CRLF alone is left to the line scanner
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
