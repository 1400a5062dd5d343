package api

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/slots"
	"github.com/fieldgate/fieldgate/media"
)

// clientLanguage is the catalogue language (msg.For) for the reader of a
// response: the best match of the request's Accept-Language among German
// and English, else English: API clients are programs, whose developers
// read English.
func clientLanguage(c *gin.Context) string {
	return msg.NegotiateHTTP(c.Request.Header, c.Writer.Header(), "en")
}

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// problemKind is one problem type (RFC 9457 §3.1): the slug of its type
// URI (problemType), its HTTP status, and its title (§3.1.3), which is
// rendered in the client's language but never changes from occurrence to
// occurrence of the type.
type problemKind struct {
	slug   string
	status int
	title  msg.Text
}

// The problem types of the API. A new one gets a title in the catalogue.
var (
	probInvalid              = problemKind{"invalid", http.StatusBadRequest, msg.Texts.TitleInvalid}
	probInvalidText          = problemKind{"invalid-text", http.StatusBadRequest, msg.Texts.TitleInvalidText}
	probInvalidFilter        = problemKind{"invalid-filter", http.StatusBadRequest, msg.Texts.TitleInvalidFilter}
	probMultipart            = problemKind{"multipart", http.StatusBadRequest, msg.Texts.TitleMultipart}
	probUnauthorized         = problemKind{"unauthorized", http.StatusUnauthorized, msg.Texts.TitleUnauthorized}
	probForbidden            = problemKind{"forbidden", http.StatusForbidden, msg.Texts.TitleForbidden}
	probAddressNotAllowed    = problemKind{"address-not-allowed", http.StatusForbidden, msg.Texts.TitleAddressNotAllowed}
	probCSRF                 = problemKind{"csrf", http.StatusForbidden, msg.Texts.TitleCSRF}
	probNotFound             = problemKind{"not-found", http.StatusNotFound, msg.Texts.TitleNotFound}
	probMethod               = problemKind{"method", http.StatusMethodNotAllowed, msg.Texts.TitleMethod}
	probTooSlow              = problemKind{"too-slow", http.StatusRequestTimeout, msg.Texts.TitleTooSlow}
	probConflict             = problemKind{"conflict", http.StatusConflict, msg.Texts.TitleConflict}
	probBodyTooLarge         = problemKind{"body-too-large", http.StatusRequestEntityTooLarge, msg.Texts.TitleBodyTooLarge}
	probAttachmentTooLarge   = problemKind{"attachment-too-large", http.StatusRequestEntityTooLarge, msg.Texts.TitleAttachmentTooLarge}
	probContentType          = problemKind{"content-type", http.StatusUnsupportedMediaType, msg.Texts.TitleContentType}
	probAttachmentType       = problemKind{"attachment-type", http.StatusUnsupportedMediaType, msg.Texts.TitleAttachmentType}
	probUnknownAddress       = problemKind{"unknown-address", http.StatusUnprocessableEntity, msg.Texts.TitleUnknownAddress}
	probIdempotencyKeyReused = problemKind{"idempotency-key-reused", http.StatusUnprocessableEntity, msg.Texts.TitleIdempotencyKeyReused}
	probTooManyUploads       = problemKind{"too-many-uploads", http.StatusTooManyRequests, msg.Texts.TitleTooManyUploads}
	probInternal             = problemKind{"internal", http.StatusInternalServerError, msg.Texts.TitleInternal}
	probUnavailable          = problemKind{"unavailable", http.StatusServiceUnavailable, msg.Texts.TitleUnavailable}
	probDatabaseUnavailable  = problemKind{"database-unavailable", http.StatusServiceUnavailable, msg.Texts.TitleDatabaseUnavailable}
	probStorageUnavailable   = problemKind{"storage-unavailable", http.StatusServiceUnavailable, msg.Texts.TitleStorageUnavailable}
)

func problemType(slug string) string { return "urn:fieldgate:problem:" + slug }

// abort writes a problem of kind, its title and detail in the client's
// language (clientLanguage), and stops the handler chain.
func abort(c *gin.Context, kind problemKind, detail string) {
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(kind.status, Problem{Type: problemType(kind.slug), Title: kind.title.In(clientLanguage(c)), Status: kind.status, Detail: detail})
	// gin overwrites Content-Type in AbortWithStatusJSON; set it again.
	c.Writer.Header().Set("Content-Type", "application/problem+json")
}

// fail maps an error to a problem in one place: domain errors keep their
// message, anything unmapped is a 500 whose detail stays in the log.
func (s *Server) fail(c *gin.Context, err error) {
	var maxErr *http.MaxBytesError
	var de *dispatch.Error
	switch {
	case errors.As(err, &maxErr):
		problem(c, probBodyTooLarge, func(t msg.Texts) string { return t.BodyTooLarge(maxErr.Limit) })
	case errors.Is(err, errTooSlow):
		problem(c, probTooSlow, msg.Texts.BodyTooSlow)
	case errors.Is(err, slots.ErrBusy):
		c.Header("Retry-After", "10")
		problem(c, probTooManyUploads, msg.Texts.TooManyUploads)
	case errors.Is(err, media.ErrTooLarge):
		problem(c, probAttachmentTooLarge, attachmentTooLargeText(err))
	case errors.Is(err, media.ErrTypeNotAllowed):
		problem(c, probAttachmentType, attachmentTypeText(err))
	case errors.Is(err, media.ErrUnavailable):
		s.log.WarnContext(c.Request.Context(), "storage unavailable", "route", c.FullPath(), "err", err)
		unavailableProblem(c, probStorageUnavailable, msg.Texts.StorageUnavailable)
	case databaseUnavailable(err):
		s.log.WarnContext(c.Request.Context(), "database unavailable", "route", c.FullPath(), "err", err)
		unavailableProblem(c, probDatabaseUnavailable, msg.Texts.DatabaseUnavailable)
	case errors.As(err, &de):
		kind := probInternal
		switch {
		case errors.Is(err, dispatch.ErrInvalid):
			kind = probInvalid
		case errors.Is(err, dispatch.ErrNotFound):
			kind = probNotFound
			if c.FullPath() == "/api/v1/reports" {
				kind = probUnknownAddress
			}
		case errors.Is(err, dispatch.ErrForbidden):
			kind = probForbidden
		case errors.Is(err, dispatch.ErrConflict):
			kind = probConflict
		}
		problem(c, kind, de.Text)
	default:
		s.log.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method, "route", c.FullPath(), "err", err)
		problem(c, probInternal, msg.Texts.ServerFailed)
	}
	if status := c.Writer.Status(); status >= 400 && status < 500 {
		s.log.InfoContext(c.Request.Context(), "request rejected", "route", c.FullPath(), "status", status, "err", err)
	}
}

// RetryAfterSeconds is the Retry-After (RFC 9110 §10.2.3) sent with every
// 503: outages of the database or storage are usually over within seconds
// (a restart, a failover).
const RetryAfterSeconds = 5

// problem writes a problem of kind whose title and detail (text) are in
// the client's language (clientLanguage) and stops the handler chain.
func problem(c *gin.Context, kind problemKind, text msg.Text) {
	abort(c, kind, text.In(clientLanguage(c)))
}

// unavailableProblem answers a problem of kind (a 503) with Retry-After:
// an outage of a service we depend on, which a client should retry (RFC
// 9110 §15.6.4).
func unavailableProblem(c *gin.Context, kind problemKind, text msg.Text) {
	c.Header("Retry-After", strconv.Itoa(RetryAfterSeconds))
	problem(c, kind, text)
}

// databaseUnavailable reports whether err means PostgreSQL cannot be
// reached or is not accepting work right now (as opposed to a query that
// failed): a failed connect, a connection lost mid-query, SQLSTATE class 08
// (connection exception), 57P01–57P03 (shutdown, cannot connect now),
// 53300 (too many connections).
func databaseUnavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "53300"
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	// pgx reports a connection that died mid-statement as closed.
	return pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed")
}

// attachmentTooLargeText words a media.ErrTooLarge with the type and limit
// its *media.TooLargeError carries.
func attachmentTooLargeText(err error) msg.Text {
	var tl *media.TooLargeError
	if !errors.As(err, &tl) {
		return msg.Texts.AttachmentTooLarge
	}
	return func(t msg.Texts) string { return t.ProblemAttachmentTooLarge(tl.ContentType, tl.Limit) }
}

// attachmentTypeText words a media.ErrTypeNotAllowed with the type its
// *media.TypeNotAllowedError detected.
func attachmentTypeText(err error) msg.Text {
	var tn *media.TypeNotAllowedError
	switch {
	case !errors.As(err, &tn):
		return msg.Texts.AttachmentType
	case tn.Empty:
		return msg.Texts.ProblemAttachmentEmpty
	case tn.Detected == "":
		return func(t msg.Texts) string { return t.ProblemAttachmentUnknownType(strings.Join(tn.Allowed, ", ")) }
	}
	return func(t msg.Texts) string { return t.ProblemAttachmentType(tn.Detected, strings.Join(tn.Allowed, ", ")) }
}
