package dispatch

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fieldgate/fieldgate/internal/msg"
)

// Domain errors. Edges map them to HTTP statuses and chat replies in one
// place; anything else is an internal error.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrInvalid     = errors.New("invalid")
	ErrForbidden   = errors.New("forbidden")
	ErrUnavailable = errors.New("unavailable")
)

// errNoIncident is the ErrNotFound of a case reference that matches no
// incident, told apart so that commands can name the reference.
var errNoIncident = fmt.Errorf("incident %w", ErrNotFound)

// Error carries a domain error kind plus the text a person reads about it,
// not yet rendered: the edge that knows the reader renders it with In
// (gateway replies in the sender's or team's language, API problem
// details in the client's).
type Error struct {
	Kind error    // one of the sentinels above (or wraps one)
	Text msg.Text // what went wrong, for the reader
}

// Error is the English text, for logs.
func (e *Error) Error() string { return e.Text.In("en") }

// Unwrap makes errors.Is(err, ErrNotFound) etc. work.
func (e *Error) Unwrap() error { return e.Kind }

// In renders the error's text in lang (German unless "en").
func (e *Error) In(lang string) string { return e.Text.In(lang) }

// newError returns an *Error of kind with text.
func newError(kind error, text msg.Text) error {
	return &Error{Kind: kind, Text: text}
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}
