package open311

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/api"
	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/slots"
	"github.com/fieldgate/fieldgate/media"
)

// Form fields of POST requests (GeoReport v2 "POST Service Request").
var postFields = map[string]bool{
	"api_key": true, "jurisdiction_id": true, "service_code": true, "lat": true, "long": true,
	"address_string": true, "address_id": true, "email": true, "device_id": true, "account_id": true,
	"first_name": true, "last_name": true, "phone": true, "description": true, "media_url": true,
}

// contactFields are personal data kept only when Config.StoreContact.
var contactFields = []string{"email", "phone", "first_name", "last_name"}

// Limits on the text of a POST: one field, all fields of a urlencoded
// body, how many fields a multipart body may carry, and the bytes of an
// Idempotency-Key (as the API's).
const (
	maxKeyBytes   = 200
	maxFieldBytes = 64 << 10
	maxFormBytes  = 1 << 20
	maxFields     = 100
)

type postResultJSON struct {
	XMLName          xml.Name  `xml:"request" json:"-"`
	ServiceRequestID string    `xml:"service_request_id" json:"service_request_id"`
	Token            string    `xml:"token" json:"token"`
	ServiceNotice    string    `xml:"service_notice" json:"service_notice"`
	AccountID        optString `xml:"account_id" json:"account_id"`
}

type postResultsXML struct {
	XMLName  xml.Name         `xml:"service_requests"`
	Requests []postResultJSON `xml:"request"`
}

// postRequest files a service request. The api_key (a fieldgate API token
// with role reporter; also accepted as "Authorization: Bearer") must come
// before any file part of a multipart body, so that nothing is stored for
// an unauthenticated caller; every object stored for a request that is
// then refused is deleted.
func (h *Handler) postRequest(c *gin.Context, f format) {
	ctx := c.Request.Context()
	// A key that cannot be kept is refused before anything is read: a
	// long one was ignored (a retry filed twice), one with a NUL or
	// invalid UTF-8 reached PostgreSQL (500).
	key := strings.TrimSpace(c.GetHeader("Idempotency-Key"))
	if len(key) > maxKeyBytes {
		h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string { return t.IdempotencyKeyLonger(maxKeyBytes) })
		return
	}
	if !cleanText(key) {
		h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string { return t.Open311BadText("Idempotency-Key") })
		return
	}
	form := url.Values{}
	var stored []media.Object
	cleanup := func() {
		if len(stored) == 0 {
			return
		}
		keys := make([]string, len(stored))
		for i, o := range stored {
			keys[i] = o.Key
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		h.domain.DiscardObjects(dctx, keys...)
	}
	var tok *dispatch.Token
	auth := func() bool {
		if tok != nil {
			return true
		}
		if len(c.Request.Header.Values("Authorization")) > 1 { // which one would count? (RFC 6750 §3.1)
			h.fail(c, f, http.StatusBadRequest, msg.Texts.AuthorizationTwice)
			return false
		}
		key := form.Get("api_key")
		if key == "" {
			key = c.Query("api_key")
		}
		if a := c.GetHeader("Authorization"); key == "" && len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			key = a[7:]
		}
		key = strings.TrimSpace(key)
		if key == "" {
			h.fail(c, f, http.StatusForbidden, msg.Texts.Open311APIKey)
			return false
		}
		t, err := h.domain.Authenticate(ctx, key)
		if err != nil {
			if !errors.Is(err, dispatch.ErrNotFound) && !errors.Is(err, dispatch.ErrForbidden) && !isDomain(err) {
				h.serverError(c, f, err)
				return false
			}
			h.fail(c, f, http.StatusForbidden, msg.Texts.Open311APIKey)
			return false
		}
		if !t.Has(dispatch.RoleReporter) && !t.Has(dispatch.RoleDispatcher) {
			h.fail(c, f, http.StatusForbidden, msg.Texts.Open311APIKeyRole)
			return false
		}
		tok = &t
		return true
	}

	switch ct, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); ct {
	case "application/x-www-form-urlencoded":
		if c.Request.PostForm == nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBytes)
			if err := c.Request.ParseForm(); err != nil {
				h.failRead(c, f, err)
				return
			}
		}
		form = c.Request.PostForm
	case "multipart/form-data":
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, h.cfg.MaxBodyBytes)
		mr, err := c.Request.MultipartReader()
		if err != nil {
			h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string { return t.Open311Malformed(err.Error()) })
			return
		}
		fields := 0
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				cleanup()
				h.failRead(c, f, err)
				return
			}
			name := part.FormName()
			if name == "media" {
				if !auth() {
					part.Close()
					cleanup()
					return
				}
				if len(stored) >= dispatch.MaxMedia {
					part.Close()
					cleanup()
					h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string { return t.Open311TooMany(dispatch.MaxMedia) })
					return
				}
				obj, err := h.media.Put(ctx, part)
				part.Close()
				if err != nil {
					cleanup()
					h.failMedia(c, f, err)
					return
				}
				stored = append(stored, obj)
				continue
			}
			b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			part.Close()
			if err != nil {
				cleanup()
				h.failRead(c, f, err)
				return
			}
			if len(b) > maxFieldBytes {
				cleanup()
				h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string { return t.Open311TooLong(name) })
				return
			}
			if fields++; fields > maxFields {
				cleanup()
				h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string { return t.Open311TooMany(maxFields) })
				return
			}
			form.Add(name, string(b))
		}
	default:
		h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string {
			return t.Open311Malformed("send application/x-www-form-urlencoded or multipart/form-data")
		})
		return
	}
	if j := form.Get("jurisdiction_id"); j != "" && h.cfg.JurisdictionID != "" && j != h.cfg.JurisdictionID {
		cleanup()
		h.fail(c, f, http.StatusNotFound, func(t msg.Texts) string { return t.Open311Jurisdiction(j) })
		return
	}
	if !auth() {
		cleanup()
		return
	}
	in, notice, ok := h.newReport(c, f, form, *tok)
	if !ok {
		cleanup()
		return
	}
	if u := strings.TrimSpace(form.Get("media_url")); u != "" {
		obj, ok := h.fetchMedia(c, f, u)
		if !ok {
			cleanup()
			return
		}
		stored = append(stored, obj)
	}
	in.Media = stored
	if key != "" {
		in.IdempotencyKey = key
		if rec, err := h.domain.Replay(ctx, dispatch.ChannelOpen311, in.Sender, key); err == nil {
			cleanup()
			h.respondReplay(c, f, rec, in, notice)
			return
		}
	}
	rec, err := h.domain.Intake(ctx, in)
	if err != nil {
		cleanup()
		var de *dispatch.Error
		switch {
		case errors.Is(err, media.ErrUnavailable):
			h.fail(c, f, http.StatusServiceUnavailable, msg.Texts.Open311Storage)
		case errors.As(err, &de) && errors.Is(err, dispatch.ErrInvalid):
			h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string { return t.Open311InvalidReport(de.In(lang(c))) })
		case errors.As(err, &de) && errors.Is(err, dispatch.ErrNotFound):
			h.fail(c, f, http.StatusNotFound, func(t msg.Texts) string { return t.Open311UnknownService(form.Get("service_code")) })
		default:
			h.serverError(c, f, err)
		}
		return
	}
	if rec.Replayed { // a concurrent request with the key won
		cleanup()
		h.respondReplay(c, f, rec, in, notice)
		return
	}
	h.respondPosted(c, f, http.StatusCreated, rec, notice)
}

// respondReplay answers a request whose Idempotency-Key filed a request
// before: with its receipt (200) if this is the same request again (a
// retry), else 422 (draft-ietf-httpapi-idempotency-key-header §2.7), so
// that a client reusing a key learns its new request was not filed
// instead of getting another one's service_request_id.
func (h *Handler) respondReplay(c *gin.Context, f format, rec dispatch.Receipt, in dispatch.NewReport, notice string) {
	v, err := h.domain.GetReport(c.Request.Context(), rec.ReportID)
	if err != nil && !errors.Is(err, dispatch.ErrNotFound) {
		h.serverError(c, f, err)
		return
	}
	sums := make([]string, 0, len(in.Media))
	for _, m := range in.Media {
		sums = append(sums, m.SHA256)
	}
	if addr, ok := h.rules.Current().Address(in.Address); ok && addr.Urgent {
		in.Urgent = true
	}
	// A request deleted since (retention) takes its key along.
	if err == nil && !api.SameReport(v.Report, in, sums) {
		h.fail(c, f, http.StatusUnprocessableEntity, func(t msg.Texts) string { return t.IdempotencyKeyReused(rec.CaseNumber) })
		return
	}
	h.respondPosted(c, f, http.StatusOK, rec, notice)
}

func (h *Handler) respondPosted(c *gin.Context, f format, status int, rec dispatch.Receipt, notice string) {
	r := postResultJSON{ServiceRequestID: rec.CaseNumber, Token: rec.ReportID.String(), ServiceNotice: notice}
	write(c, f, status, postResultsXML{Requests: []postResultJSON{r}}, []postResultJSON{r})
}

// newReport validates the form against the service and builds the report.
// It answers the error itself and returns false on bad input.
func (h *Handler) newReport(c *gin.Context, f format, form url.Values, tok dispatch.Token) (dispatch.NewReport, string, bool) {
	l := lang(c)
	for k, vs := range form {
		if !postFields[k] && !strings.HasPrefix(k, "attribute[") {
			h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string { return t.Open311Field(k) })
			return dispatch.NewReport{}, "", false
		}
		if len(vs) > 1 && postFields[k] { // which one would count? (attributes check their own)
			h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string { return t.FieldTwice(k) })
			return dispatch.NewReport{}, "", false
		}
		for _, v := range append(vs, k) {
			if !cleanText(v) {
				h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string { return t.Open311BadText(k) })
				return dispatch.NewReport{}, "", false
			}
		}
	}
	code := strings.TrimSpace(form.Get("service_code"))
	addr, ok := service(h.rules.Current(), code)
	if !ok {
		h.fail(c, f, http.StatusNotFound, func(t msg.Texts) string { return t.Open311UnknownService(code) })
		return dispatch.NewReport{}, "", false
	}
	// The key's address list, as in the API (dispatch.Token.MayFileTo).
	// This checked for a method Token does not have, so it never ran: a
	// key for public addresses only filed to any published one.
	if !tok.MayFileTo(addr.Name, addr.Allows("")) {
		h.fail(c, f, http.StatusForbidden, func(t msg.Texts) string { return t.Open311APIKeyAddress(code) })
		return dispatch.NewReport{}, "", false
	}
	in := dispatch.NewReport{Channel: dispatch.ChannelOpen311, Address: addr.Name, Sender: tok.Sender(), Language: l}
	lat, long := strings.TrimSpace(form.Get("lat")), strings.TrimSpace(form.Get("long"))
	addrString := strings.TrimSpace(form.Get("address_string"))
	switch {
	case lat != "" || long != "":
		la, err1 := strconv.ParseFloat(lat, 64)
		lo, err2 := strconv.ParseFloat(long, 64)
		if err1 != nil || err2 != nil || !api.DecimalDegrees(lat) || !api.DecimalDegrees(long) || !dispatch.ValidPosition(la, lo) {
			h.fail(c, f, http.StatusBadRequest, msg.Texts.Open311BadPosition)
			return dispatch.NewReport{}, "", false
		}
		in.Position, in.PositionSource = &dispatch.Position{Lat: la, Lon: lo}, dispatch.SourceAPI
	case addrString == "":
		h.fail(c, f, http.StatusBadRequest, msg.Texts.Open311NoLocation)
		return dispatch.NewReport{}, "", false
	}
	values, lines, aerr := attributeValues(form, addr.Open311)
	if aerr != nil {
		h.fail(c, f, http.StatusBadRequest, aerr.text)
		return dispatch.NewReport{}, "", false
	}
	values["service_code"] = code
	if addrString != "" {
		values["address_string"] = addrString
	}
	parts := []string{strings.TrimSpace(form.Get("description"))}
	if addrString != "" {
		parts = append(parts, map[string]string{"de": "Adresse: ", "en": "Address: "}[l]+addrString)
	}
	parts = append(parts, lines...)
	in.Text = strings.TrimSpace(strings.Join(parts, "\n"))
	notice := addr.Open311.Notice
	contact := false
	for _, k := range contactFields {
		if v := strings.TrimSpace(form.Get(k)); v != "" {
			contact = true
			if h.cfg.StoreContact {
				values["contact_"+k] = v
			}
		}
	}
	if contact && !h.cfg.StoreContact {
		notice = strings.TrimSpace(notice + " " + msg.For(l).Open311ContactDropped())
	}
	in.Attributes = values
	return in, notice, true
}

// fetchMedia downloads media_url through the safe fetcher into the store.
func (h *Handler) fetchMedia(c *gin.Context, f format, u string) (media.Object, bool) {
	if h.fetcher == nil {
		h.fail(c, f, http.StatusBadRequest, msg.Texts.Open311MediaURLOff)
		return media.Object{}, false
	}
	ctx := c.Request.Context()
	body, err := h.fetcher.Fetch(ctx, u)
	if err != nil {
		h.log.InfoContext(ctx, "open311: media_url refused", "err", err)
		reason := publicReason(err)
		h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string { return t.Open311MediaURLRefused(reason(t)) })
		return media.Object{}, false
	}
	defer body.Close()
	obj, err := h.media.Put(ctx, body)
	if err != nil {
		h.failMedia(c, f, err)
		return media.Object{}, false
	}
	return obj, true
}

// publicReason says why a URL was not fetched without echoing anything
// about the target (no addresses, no paths). The fetcher's errors are
// matched by their text: this package does not import the gateway.
func publicReason(err error) msg.Text {
	switch {
	case strings.Contains(err.Error(), "not allowed"):
		return msg.Texts.URLHostNotAllowed
	case strings.Contains(err.Error(), "too large"):
		return msg.Texts.AttachmentTooLarge
	}
	return msg.Texts.AttachmentUnavailable
}

func (h *Handler) failMedia(c *gin.Context, f format, err error) {
	var maxErr *http.MaxBytesError
	var tooLarge *media.TooLargeError
	var badType *media.TypeNotAllowedError
	switch {
	case errors.As(err, &badType) && badType.Detected != "":
		h.fail(c, f, http.StatusUnsupportedMediaType, func(t msg.Texts) string { return t.Open311MediaType(badType.Detected) })
	case errors.Is(err, media.ErrTypeNotAllowed):
		h.fail(c, f, http.StatusUnsupportedMediaType, msg.Texts.AttachmentType)
	case errors.As(err, &tooLarge):
		h.fail(c, f, http.StatusRequestEntityTooLarge, func(t msg.Texts) string { return t.Open311MediaTooLarge(tooLarge.Limit) })
	case errors.As(err, &maxErr):
		h.fail(c, f, http.StatusRequestEntityTooLarge, func(t msg.Texts) string { return t.Open311MediaTooLarge(maxErr.Limit) })
	case errors.Is(err, media.ErrTooLarge):
		h.fail(c, f, http.StatusRequestEntityTooLarge, msg.Texts.AttachmentTooLarge)
	case errors.Is(err, media.ErrUnavailable):
		h.fail(c, f, http.StatusServiceUnavailable, msg.Texts.Open311Storage)
	default:
		h.failRead(c, f, err)
	}
}

func (h *Handler) failRead(c *gin.Context, f format, err error) {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		h.fail(c, f, http.StatusRequestEntityTooLarge, func(t msg.Texts) string {
			return t.Open311MediaTooLarge(maxErr.Limit)
		})
		return
	}
	if errors.Is(err, slots.ErrTooSlow) {
		h.fail(c, f, http.StatusRequestTimeout, msg.Texts.BodyTooSlow)
		return
	}
	h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string { return t.Open311Malformed(err.Error()) })
}

func (h *Handler) serverError(c *gin.Context, f format, err error) {
	h.log.ErrorContext(c.Request.Context(), "open311 request failed", "route", c.Request.URL.Path, "err", err)
	h.fail(c, f, http.StatusInternalServerError, msg.Texts.Open311Internal)
}

func isDomain(err error) bool {
	var de *dispatch.Error
	return errors.As(err, &de)
}
