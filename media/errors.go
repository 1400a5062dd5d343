package media

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Sentinel errors. They are always wrapped with detail; match them with errors.Is.
var (
	// ErrTypeNotAllowed means the sniffed content type is not on the
	// allow-list; Put returns it as a *TypeNotAllowedError.
	ErrTypeNotAllowed = errors.New("media: content type not allowed")
	// ErrTooLarge means the body exceeded the size limit of its type;
	// nothing was stored. Put returns it as a *TooLargeError.
	ErrTooLarge = errors.New("media: body exceeds size limit")
	// ErrUnavailable means the object store cannot be reached or refused our credentials.
	ErrUnavailable = errors.New("media: object store unavailable")
	// ErrNoDerivative means no team copy can be made: the type has none (PDF,
	// MP4), or the image is too large or its pixel data unreadable.
	ErrNoDerivative = errors.New("media: no derivative for this content type")
	// ErrInvalidKey means a key was not one this package generates.
	ErrInvalidKey = errors.New("media: invalid object key")
	// ErrNoMetadata means a file carries no readable EXIF; Extract still returns
	// a Metadata with the reason, so callers rarely need to check for it.
	ErrNoMetadata = errors.New("media: no readable metadata")
)

// TooLargeError is an upload over the size limit of its sniffed type
// (Config.Types); nothing was stored. It matches ErrTooLarge. Its values
// are for the edge that words the refusal for a person; Error is for logs.
type TooLargeError struct {
	// ContentType is the sniffed type, such as "image/jpeg".
	ContentType string
	// Limit is the most bytes allowed for ContentType.
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("media: %s over the %d-byte limit", e.ContentType, e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// TypeNotAllowedError is an upload whose sniffed type is not on the
// allow-list (Config.Types), or an empty one; nothing was stored. It
// matches ErrTypeNotAllowed.
type TypeNotAllowedError struct {
	// Detected is the type sniffed from the first bytes (Sniff), such as
	// "text/html"; "" when Sniff recognises none (an executable, say) or
	// the body is empty.
	Detected string
	// Empty means the body had no bytes at all.
	Empty bool
	// Allowed is the allow-list's content types, sorted.
	Allowed []string
}

func (e *TypeNotAllowedError) Error() string {
	switch {
	case e.Empty:
		return "media: content type not allowed: empty body"
	case e.Detected == "":
		return "media: content type not allowed: not recognised"
	}
	return fmt.Sprintf("media: content type not allowed: detected %q", e.Detected)
}

// Is makes errors.Is(err, ErrTypeNotAllowed) true.
func (e *TypeNotAllowedError) Is(target error) bool { return target == ErrTypeNotAllowed }

// typeNotAllowed is the refusal of a body whose sniffed type is detected
// ("" if none), naming the allow-list.
func (s *Store) typeNotAllowed(detected string, empty bool) *TypeNotAllowedError {
	return &TypeNotAllowedError{Detected: detected, Empty: empty, Allowed: slices.Sorted(maps.Keys(s.rules))}
}
