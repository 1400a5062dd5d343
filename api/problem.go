package api

import (
	"errors"
	"fmt"
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
	return msg.Negotiate(c.GetHeader("Accept-Language"), "en")
}

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

func problemType(slug string) string { return "urn:fieldgate:problem:" + slug }

// abort writes a problem and stops the handler chain.
func abort(c *gin.Context, status int, slug, title, detail string) {
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(status, Problem{Type: problemType(slug), Title: title, Status: status, Detail: detail})
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
		problem(c, http.StatusRequestEntityTooLarge, "body-too-large", "Request body too large",
			func(t msg.Texts) string { return t.BodyTooLarge(humanBytes(maxErr.Limit)) })
	case errors.Is(err, errTooSlow):
		problem(c, http.StatusRequestTimeout, "too-slow", "Request Timeout", msg.Texts.BodyTooSlow)
	case errors.Is(err, slots.ErrBusy):
		c.Header("Retry-After", "10")
		problem(c, http.StatusTooManyRequests, "too-many-uploads", "Too Many Requests", msg.Texts.TooManyUploads)
	case errors.Is(err, media.ErrTooLarge):
		problem(c, http.StatusRequestEntityTooLarge, "attachment-too-large", "Attachment too large", attachmentTooLargeText(err))
	case errors.Is(err, media.ErrTypeNotAllowed):
		problem(c, http.StatusUnsupportedMediaType, "attachment-type", "Attachment type not allowed", attachmentTypeText(err))
	case errors.Is(err, media.ErrUnavailable):
		s.log.WarnContext(c.Request.Context(), "storage unavailable", "route", c.FullPath(), "err", err)
		unavailableProblem(c, "storage-unavailable", "Storage unavailable", msg.Texts.StorageUnavailable)
	case databaseUnavailable(err):
		s.log.WarnContext(c.Request.Context(), "database unavailable", "route", c.FullPath(), "err", err)
		unavailableProblem(c, "database-unavailable", "Database unavailable", msg.Texts.DatabaseUnavailable)
	case errors.As(err, &de):
		status, slug := http.StatusInternalServerError, "internal"
		switch {
		case errors.Is(err, dispatch.ErrInvalid):
			status, slug = http.StatusBadRequest, "invalid"
		case errors.Is(err, dispatch.ErrNotFound):
			status, slug = http.StatusNotFound, "not-found"
			if c.FullPath() == "/api/v1/reports" {
				status, slug = http.StatusUnprocessableEntity, "unknown-address"
			}
		case errors.Is(err, dispatch.ErrForbidden):
			status, slug = http.StatusForbidden, "forbidden"
		case errors.Is(err, dispatch.ErrConflict):
			status, slug = http.StatusConflict, "conflict"
		}
		problem(c, status, slug, http.StatusText(status), de.Text)
	default:
		s.log.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method, "route", c.FullPath(), "err", err)
		problem(c, http.StatusInternalServerError, "internal", "Internal error", msg.Texts.ServerFailed)
	}
	if status := c.Writer.Status(); status >= 400 && status < 500 {
		s.log.InfoContext(c.Request.Context(), "request rejected", "route", c.FullPath(), "status", status, "err", err)
	}
}

// RetryAfterSeconds is the Retry-After (RFC 9110 §10.2.3) sent with every
// 503: outages of the database or storage are usually over within seconds
// (a restart, a failover).
const RetryAfterSeconds = 5

// problem writes a problem whose detail is text in the client's language
// (clientLanguage) and stops the handler chain.
func problem(c *gin.Context, status int, slug, title string, text msg.Text) {
	abort(c, status, slug, title, text.In(clientLanguage(c)))
}

// unavailableProblem is unavailable with a detail in the client's language.
func unavailableProblem(c *gin.Context, slug, title string, text msg.Text) {
	unavailable(c, slug, title, text.In(clientLanguage(c)))
}

// unavailable answers 503 with Retry-After: an outage of a service we
// depend on, which a client should retry (RFC 9110 §15.6.4).
func unavailable(c *gin.Context, slug, title, detail string) {
	c.Header("Retry-After", strconv.Itoa(RetryAfterSeconds))
	abort(c, http.StatusServiceUnavailable, slug, title, detail)
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

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
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
