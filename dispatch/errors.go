package dispatch

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
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

// Error carries a domain error kind plus a message safe to show to users.
type Error struct {
	Kind    error  // one of the sentinels above
	Message string // English, for logs and API problems
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}
