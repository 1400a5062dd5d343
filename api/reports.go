package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/media"
)

var errNotConnected = errors.New("not connected")

func asDomain(err error, target **dispatch.Error) bool { return errors.As(err, target) }

// bodyBufferBytes is the read buffer under a report's multipart reader.
const bodyBufferBytes = 64 << 10

// maxFieldBytes caps each non-file form field.
const maxFieldBytes = 64 << 10

// receiptJSON is the answer to a filed report.
type receiptJSON struct {
	ID         string `json:"id"`
	CaseNumber string `json:"case_number"`
	StatusURL  string `json:"status_url"`
	Replayed   bool   `json:"replayed,omitempty"`
}

// replayLookupMinBytes: a request whose body is at least this large (or of
// unknown length, chunked) asks whether its Idempotency-Key was used
// before it reads the body, so that a retried upload of megabytes is
// read and hashed, not stored again, to tell a retry from another report
// under the same key (respondReplay). A smaller body is read first: the
// intake's key insert catches a replay (dispatch.Intake returns the first
// receipt, Replayed) and the parts stored meanwhile are deleted. That
// spares every small report (text, a messenger photo) one SELECT, and
// costs a replay a rolled-back intake transaction: retries are rare.
const replayLookupMinBytes = 256 << 10

// askReplayFirst reports whether a request body of contentLength bytes
// (-1: unknown) asks for an earlier receipt before it is read.
func askReplayFirst(contentLength int64) bool {
	return contentLength < 0 || contentLength >= replayLookupMinBytes
}

// createReport streams a multipart report: every file part goes straight to
// S3, the report is committed after the last part, and any failure deletes
// what was stored, so a rejected request leaves nothing behind.
func (s *Server) createReport(c *gin.Context) {
	ctx := c.Request.Context()
	tok := token(c)
	if !tok.Has(dispatch.RoleReporter) && !tok.Has(dispatch.RoleDispatcher) {
		problem(c, probForbidden, msg.Texts.ReporterRoleNeeded)
		return
	}
	if c.Request.ContentLength > s.cfg.MaxBodyBytes {
		// Said before it is sent: refused before a byte of it is read.
		s.fail(c, &http.MaxBytesError{Limit: s.cfg.MaxBodyBytes})
		return
	}
	key := strings.TrimSpace(c.GetHeader("Idempotency-Key"))
	if len(key) > 200 {
		problem(c, probInvalid, func(t msg.Texts) string { return t.IdempotencyKeyLonger(200) })
		return
	}
	if err := checkText([]byte(key)); err != nil {
		problem(c, probInvalidText, badTextDetail(err, msg.Texts.KeyHasNUL, msg.Texts.KeyNotUTF8))
		return
	}
	// prior is the receipt of a large body's key used before: the body is
	// then read and its files hashed, not stored, to compare it with the
	// report the key filed (respondReplay).
	var prior *dispatch.Receipt
	if key != "" && askReplayFirst(c.Request.ContentLength) {
		rec, err := s.disp.Replay(ctx, dispatch.ChannelAPI, tok.Sender(), key)
		if err == nil {
			prior = &rec
		} else if !errors.Is(err, dispatch.ErrNotFound) {
			s.fail(c, err)
			return
		}
	}
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		problem(c, probContentType, msg.Texts.MultipartNeeded)
		return
	}
	body := http.MaxBytesReader(c.Writer,
		newMinRateReader(c.Writer, c.Request.Body, s.cfg.MinBodyRate, s.cfg.BodyGrace, s.cfg.Now), s.cfg.MaxBodyBytes)
	// mime/multipart reads through a 4 KiB buffer: about 700 reads, each
	// with its read deadline and system call, for a 2.9 MB phone photo.
	// A larger buffer below it takes what the socket holds in one read.
	c.Request.Body = struct {
		io.Reader
		io.Closer
	}{bufio.NewReaderSize(body, bodyBufferBytes), body}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		problem(c, probMultipart, func(t msg.Texts) string { return t.MalformedMultipart(err.Error()) })
		return
	}

	in := dispatch.NewReport{Channel: dispatch.ChannelAPI, Sender: tok.Sender(), IdempotencyKey: key}
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
		keys = append(keys, in.PreparedOutputs(dctx)...) // their team copies go too
		s.disp.DiscardObjects(dctx, keys...)             // retried through the queue if the store refuses
	}
	var lat, lon string
	var sums []string // SHA-256 (hex) of each file, in order
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			cleanup()
			s.failMultipart(c, err)
			return
		}
		name := part.FormName()
		switch name {
		case "photo", "file", "media":
			if len(sums) >= dispatch.MaxMedia {
				part.Close()
				cleanup()
				problem(c, probInvalid, func(t msg.Texts) string { return t.TooManyAttachmentsAtMost(dispatch.MaxMedia) })
				return
			}
			if prior != nil { // a retry: compared, not stored
				h := sha256.New()
				_, err := io.Copy(h, part)
				part.Close()
				if err != nil {
					s.failMultipart(c, err)
					return
				}
				sums = append(sums, hex.EncodeToString(h.Sum(nil)))
				continue
			}
			// Its team copy is made while it is stored and the rest arrives;
			// if storing fails, cleanup removes what it made.
			held := false
			obj, err := s.putPart(ctx, tok, part, in.HeldRoom(), func(obj media.Object, body []byte) {
				held = true
				stored = append(stored, obj)
				s.disp.HoldMedium(&in, obj, body)
			})
			part.Close()
			if err != nil {
				cleanup()
				s.fail(c, err)
				return
			}
			if !held { // too large, or over the report's room
				stored = append(stored, obj)
			}
			sums = append(sums, obj.SHA256)
		case "to", "text", "lat", "lon", "urgent", "language":
			if seen[name] { // which one would count?
				part.Close()
				cleanup()
				problem(c, probInvalid, func(t msg.Texts) string { return t.FieldTwice(name) })
				return
			}
			seen[name] = true
			v, err := readField(part)
			part.Close()
			if errors.Is(err, errBadText) {
				cleanup()
				problem(c, probInvalidText, badTextDetail(err, func(t msg.Texts, at int) string { return t.FieldHasNUL(name, at) },
					func(t msg.Texts, at int) string { return t.FieldNotUTF8(name, at) }))
				return
			}
			if err != nil {
				cleanup()
				s.failMultipart(c, err)
				return
			}
			switch name {
			case "to":
				in.Address = v
				if text, ok := s.mayFileTo(tok, v); !ok {
					cleanup()
					problem(c, probAddressNotAllowed, text)
					return
				}
			case "text":
				in.Text = v
			case "lat":
				lat = v
			case "lon":
				lon = v
			case "urgent":
				urgent, ok := parseFlag(v)
				if !ok {
					cleanup()
					problem(c, probInvalid, func(t msg.Texts) string { return t.UrgentValue(v) })
					return
				}
				in.Urgent = urgent
			case "language":
				in.Language = v
			}
		default:
			part.Close()
			cleanup()
			problem(c, probInvalid, func(t msg.Texts) string { return t.UnknownFormField(name) })
			return
		}
	}
	if pos, bad := parsePosition(lat, lon); bad != nil {
		cleanup()
		problem(c, probInvalid, bad)
		return
	} else if pos != nil {
		in.Position = pos
		in.PositionSource = dispatch.SourceAPI
	}
	if prior != nil {
		s.respondReplay(c, *prior, in, sums)
		return
	}
	in.Media = stored
	rec, err := s.disp.Intake(ctx, in)
	if err != nil {
		cleanup()
		s.fail(c, err)
		return
	}
	if rec.Replayed {
		// The key was used before (a retry, or a concurrent request that
		// won); ours adds nothing.
		cleanup()
		s.respondReplay(c, rec, in, sums)
		return
	}
	s.respondReceipt(c, http.StatusAccepted, rec)
}

// putPart stores one file part, handing it to hold before it is stored
// if it is at most keep bytes (media.Store.PutHold). The token's upload
// slot is taken only once the part's first bytes (enough to sniff its
// type) have arrived, so a client that opens uploads and stalls holds no
// slot of anyone's.
func (s *Server) putPart(ctx context.Context, tok dispatch.Token, part io.Reader, keep int64, hold func(media.Object, []byte)) (media.Object, error) {
	br := bufio.NewReaderSize(part, media.SniffLen)
	if _, err := br.Peek(media.SniffLen); err != nil && !errors.Is(err, io.EOF) {
		return media.Object{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, s.cfg.SlotWait)
	release, err := s.uploads.Acquire(wctx, tok.Name)
	cancel()
	if err != nil {
		return media.Object{}, err
	}
	defer release()
	return s.media.PutHold(ctx, br, keep, hold)
}

// mayFileTo checks the token's address allow-list (dispatch.Token.
// MayFileTo) against the rules: an unknown address passes here and gets
// its 422 from the domain. The string is the problem detail otherwise.
func (s *Server) mayFileTo(tok dispatch.Token, address string) (msg.Text, bool) {
	addr, ok := s.rules.Current().Address(address)
	if !ok || tok.MayFileTo(addr.Name, addr.Allows("")) {
		return nil, true
	}
	return func(t msg.Texts) string { return t.TokenAddressNotAllowed(addr.Name) }, false
}

func (s *Server) failMultipart(c *gin.Context, err error) {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) || errors.Is(err, errTooSlow) {
		s.fail(c, err)
		return
	}
	problem(c, probMultipart, func(t msg.Texts) string { return t.MalformedMultipart(err.Error()) })
}

func readField(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxFieldBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxFieldBytes {
		return "", fmt.Errorf("form field larger than %d bytes", maxFieldBytes)
	}
	if err := checkText(b); err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// errBadText is a form field that is not text: not UTF-8, or with a NUL.
var errBadText = errors.New("not valid text")

// badText is errBadText with where the bad byte is.
type badText struct {
	nul    bool // a NUL byte, else invalid UTF-8
	offset int  // of the first bad byte
}

func (b badText) Error() string {
	if b.nul {
		return fmt.Sprintf("%v: NUL byte at offset %d", errBadText, b.offset)
	}
	return fmt.Sprintf("%v: invalid UTF-8 at offset %d", errBadText, b.offset)
}

func (b badText) Unwrap() error { return errBadText }

// badTextDetail says where a field is not text (a badText err), with the
// text for a NUL byte or for invalid UTF-8 at that offset.
func badTextDetail(err error, nul, notUTF8 func(t msg.Texts, offset int) string) msg.Text {
	var b badText
	errors.As(err, &b)
	if b.nul {
		return func(t msg.Texts) string { return nul(t, b.offset) }
	}
	return func(t msg.Texts) string { return notUTF8(t, b.offset) }
}

// checkText accepts UTF-8 without NUL bytes (PostgreSQL text cannot hold
// NUL; a byte soup is not a report), and says where it is broken.
func checkText(b []byte) error {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return badText{nul: true, offset: i}
	}
	if !utf8.Valid(b) {
		i := 0
		for i < len(b) {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		return badText{offset: i}
	}
	return nil
}

// parseFlag reads a yes/no form field as forms and apps send it: an
// HTML checkbox sends "on", apps "true" or "1"; an empty field is no.
// Anything else is not guessed at (ok false): an urgent report read as
// not urgent would wait.
func parseFlag(v string) (flag, ok bool) {
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true, true
	case "false", "0", "no", "off", "":
		return false, true
	}
	return false, false
}

// decimalDegrees is the form of lat and lon: a decimal number such as
// 51.0251 or -7.5, as every phone's location API gives it. strconv's
// other forms (1e1, 0x1p5, 5_1, Inf) are not positions anyone sends.
var decimalDegrees = regexp.MustCompile(`^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$`)

// DecimalDegrees reports whether v is written as decimal degrees (an
// optional sign, digits, an optional decimal point and fraction), the
// form of every latitude and longitude parameter of the HTTP edge.
func DecimalDegrees(v string) bool { return decimalDegrees.MatchString(v) }

// parsePosition reads the lat and lon fields (WGS 84 decimal degrees).
func parsePosition(lat, lon string) (*dispatch.Position, msg.Text) {
	if lat == "" && lon == "" {
		return nil, nil
	}
	if lat == "" || lon == "" {
		return nil, msg.Texts.LatLonTogether
	}
	if !DecimalDegrees(lat) || !DecimalDegrees(lon) {
		return nil, msg.Texts.LatLonRange
	}
	la, err1 := strconv.ParseFloat(lat, 64)
	lo, err2 := strconv.ParseFloat(lon, 64)
	if err1 != nil || err2 != nil || !dispatch.ValidPosition(la, lo) {
		return nil, msg.Texts.LatLonRange
	}
	return &dispatch.Position{Lat: la, Lon: lo}, nil
}

// respondReplay answers a request whose Idempotency-Key filed a report
// before: with that report's receipt (200) if the request is the same
// report again (a retry), else 422 (draft-ietf-httpapi-idempotency-key-
// header §2.7: a key reused with another payload), so that a client that
// reuses a key for a new report learns it was not filed instead of
// getting another report's case number. The same report: the same
// function address, text, position given (or none), urgency and files
// (by SHA-256, in any order).
func (s *Server) respondReplay(c *gin.Context, rec dispatch.Receipt, in dispatch.NewReport, sums []string) {
	v, err := s.disp.GetReport(c.Request.Context(), rec.ReportID)
	if err != nil && !errors.Is(err, dispatch.ErrNotFound) {
		s.fail(c, err)
		return
	}
	// A report deleted since (retention) takes its key along: nothing
	// to compare with, the receipt is all there is.
	if err == nil && !s.sameReport(v.Report, in, sums) {
		problem(c, probIdempotencyKeyReused, func(t msg.Texts) string { return t.IdempotencyKeyReused(rec.CaseNumber) })
		return
	}
	rec.Replayed = true
	s.respondReceipt(c, http.StatusOK, rec)
}

// sameReport reports whether the request in (its files' SHA-256 sums)
// files the same report as the stored one.
func (s *Server) sameReport(r dispatch.Report, in dispatch.NewReport, sums []string) bool {
	address := strings.ToLower(strings.TrimSpace(in.Address))
	address, _, _ = strings.Cut(address, "@")
	addr, _ := s.rules.Current().Address(address)
	if addr.Name != "" {
		address = addr.Name
	}
	in.Address, in.Urgent = address, in.Urgent || addr.Urgent
	return SameReport(r, in, sums)
}

// SameReport reports whether the request in, with files of the SHA-256
// sums (hex) sums, would file the stored report r again: the same
// function address (in.Address as the rules name it), text, urgency,
// position given by the client (or none) and files in any order. It
// tells a retry from an Idempotency-Key reused for another report.
func SameReport(r dispatch.Report, in dispatch.NewReport, sums []string) bool {
	if in.Address != r.Address || in.Text != r.Text || in.Urgent != r.Urgent {
		return false
	}
	if p := in.Position; p != nil {
		if r.PositionSource != dispatch.SourceAPI || r.Position == nil || r.Position.Lat != p.Lat || r.Position.Lon != p.Lon {
			return false
		}
	} else if r.PositionSource == dispatch.SourceAPI {
		return false
	}
	stored := make([]string, 0, len(r.Media))
	for _, m := range r.Media {
		stored = append(stored, m.Object.SHA256)
	}
	slices.Sort(stored)
	sums = slices.Clone(sums)
	slices.Sort(sums)
	return slices.Equal(stored, sums)
}

func (s *Server) respondReceipt(c *gin.Context, status int, rec dispatch.Receipt) {
	url := "/api/v1/reports/" + rec.ReportID.String()
	c.Header("Location", url)
	c.JSON(status, receiptJSON{ID: rec.ReportID.String(), CaseNumber: rec.CaseNumber, StatusURL: url, Replayed: rec.Replayed})
}

type positionJSON struct {
	Lat    float64  `json:"lat"`
	Lon    float64  `json:"lon"`
	Alt    *float64 `json:"alt,omitempty"`
	Source string   `json:"source"`
}

type mediaJSON struct {
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	// ThumbnailURL is a short-lived link (s3.presign_ttl) to the
	// thumbnail (JPEG, longest edge at most 320 px, upright, metadata
	// removed), as in the incident view and for the same callers: those
	// who may see the incident (dispatchers, its team), not the reporter's
	// token. Absent while there is none.
	ThumbnailURL string `json:"thumbnail_url,omitempty"`
}

type eventJSON struct {
	At    time.Time `json:"at"`
	Kind  string    `json:"kind"`
	Label string    `json:"label"` // Kind for people, in the client's language (Accept-Language)
	State string    `json:"state,omitempty"`
	Actor string    `json:"actor,omitempty"`
}

type reportJSON struct {
	ID           string        `json:"id"`
	CaseNumber   string        `json:"case_number"`
	State        string        `json:"state"`
	Address      string        `json:"to"`
	Team         string        `json:"team,omitempty"`
	Priority     string        `json:"priority"`
	District     string        `json:"district,omitempty"`
	Owner        string        `json:"owner,omitempty"`
	Text         string        `json:"text"`
	Position     *positionJSON `json:"position,omitempty"`
	Media        []mediaJSON   `json:"media"`
	ReceivedAt   time.Time     `json:"received_at"`
	Acknowledged *time.Time    `json:"acknowledged_at,omitempty"`
	Resolved     *time.Time    `json:"resolved_at,omitempty"`
	Events       []eventJSON   `json:"events"`
}

// viewableReport loads a report the token may see: its own, its team's,
// or any for dispatchers. Others get the same 404 as a missing report, so
// ids of other people's reports are not confirmed.
func (s *Server) viewableReport(c *gin.Context) (dispatch.ReportView, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		problem(c, probNotFound, msg.Texts.ReportNotFoundID)
		return dispatch.ReportView{}, false
	}
	v, err := s.disp.GetReport(c.Request.Context(), id)
	if errors.Is(err, dispatch.ErrNotFound) {
		problem(c, probNotFound, msg.Texts.ReportNotFoundID)
		return dispatch.ReportView{}, false
	}
	if err != nil {
		s.fail(c, err)
		return dispatch.ReportView{}, false
	}
	tok := token(c)
	if v.Report.Sender != tok.Sender() && !mayView(tok, v.Incident.Team) {
		problem(c, probNotFound, msg.Texts.ReportNotFoundID)
		return dispatch.ReportView{}, false
	}
	return v, true
}

// getMedia redirects to a short-lived link to attachment n (1-based) of a
// report, after checking the token's rights; originals are never linked
// in rooms, so this is how a team opens a HEIC photo, a PDF or a video.
func (s *Server) getMedia(c *gin.Context) {
	v, ok := s.viewableReport(c)
	if !ok {
		return
	}
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 || n > len(v.Report.Media) {
		problem(c, probNotFound, func(t msg.Texts) string { return t.AttachmentCount(len(v.Report.Media)) })
		return
	}
	u, err := s.media.PresignOriginal(c.Request.Context(), v.Report.Media[n-1].Object.Key)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusFound, u)
}

// thumbnailURL signs a link to a thumbnail key, or returns "" when there
// is none or the store cannot sign (logged without the link: a presigned
// URL is a credential).
func (s *Server) thumbnailURL(ctx context.Context, key string) string {
	if key == "" || s.media == nil {
		return ""
	}
	u, err := s.media.PresignGet(ctx, key)
	if err != nil {
		s.log.WarnContext(ctx, "presign thumbnail", "err", err)
		return ""
	}
	return u
}

func (s *Server) getReport(c *gin.Context) {
	v, ok := s.viewableReport(c)
	if !ok {
		return
	}
	tok := token(c)
	dispatcher := tok.Has(dispatch.RoleDispatcher)
	texts := msg.For(clientLanguage(c))
	out := reportJSON{
		ID: v.Report.ID.String(), CaseNumber: v.Report.CaseNumber, State: string(v.Incident.State),
		Address: v.Report.Address, Team: v.Incident.Team, Priority: v.Incident.Priority, District: v.Incident.District,
		Text: v.Report.Text, ReceivedAt: v.Report.ReceivedAt, Acknowledged: v.Incident.AcknowledgedAt,
		Resolved: v.Incident.ResolvedAt, Media: []mediaJSON{}, Events: []eventJSON{},
	}
	if mayView(tok, v.Incident.Team) {
		out.Owner = v.Incident.Owner
	}
	if p := v.Report.Position; p != nil {
		out.Position = &positionJSON{Lat: p.Lat, Lon: p.Lon, Alt: p.Alt, Source: v.Report.PositionSource}
	}
	seesIncident := mayView(tok, v.Incident.Team)
	for _, m := range v.Report.Media {
		mj := mediaJSON{ContentType: m.Object.ContentType, Size: m.Object.Size, SHA256: m.Object.SHA256}
		if seesIncident {
			mj.ThumbnailURL = s.thumbnailURL(c.Request.Context(), m.ThumbKey)
		}
		out.Media = append(out.Media, mj)
	}
	for _, e := range v.Events {
		ej := eventJSON{At: e.At, Kind: e.Kind, Label: texts.EventName(e.Kind), State: string(e.To)}
		if dispatcher {
			ej.Actor = e.Actor
		}
		out.Events = append(out.Events, ej)
	}
	c.JSON(http.StatusOK, out)
}
