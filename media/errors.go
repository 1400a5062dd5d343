package media

import "errors"

// Sentinel errors. They are always wrapped with detail; match them with errors.Is.
var (
	// ErrTypeNotAllowed means the sniffed content type is not on the allow-list.
	ErrTypeNotAllowed = errors.New("media: content type not allowed")
	// ErrTooLarge means the body exceeded the size limit of its type; nothing was stored.
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
