package oncall

import (
	"errors"
	"fmt"
)

// Errors of this package, matched with errors.Is.
var (
	// ErrInvalid: a calendar (or its source) cannot be used at all: too
	// large, not iCalendar, a refused URL. Single bad events or values
	// are not errors but Warnings.
	ErrInvalid = errors.New("invalid calendar")
	// ErrUnavailable: the calendar server did not deliver (status, network).
	ErrUnavailable = errors.New("calendar unavailable")
)

// kindError is a message of one of the kinds above.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
