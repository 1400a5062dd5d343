package open311

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/routing"
)

// requestJSON is one service request (GeoReport v2 "GET Service
// Requests"); the XML element order is the spec's.
type requestJSON struct {
	XMLName            xml.Name      `xml:"request" json:"-"`
	ServiceRequestID   string        `xml:"service_request_id" json:"service_request_id"`
	Status             string        `xml:"status" json:"status"`
	StatusNotes        optString     `xml:"status_notes" json:"status_notes"`
	ServiceName        string        `xml:"service_name" json:"service_name"`
	ServiceCode        string        `xml:"service_code" json:"service_code"`
	Description        string        `xml:"description" json:"description"`
	AgencyResponsible  string        `xml:"agency_responsible" json:"agency_responsible"`
	ServiceNotice      optString     `xml:"service_notice" json:"service_notice"`
	RequestedDatetime  string        `xml:"requested_datetime" json:"requested_datetime"`
	UpdatedDatetime    string        `xml:"updated_datetime" json:"updated_datetime"`
	ExpectedDatetime   optString     `xml:"expected_datetime" json:"expected_datetime"`
	Address            optString     `xml:"address" json:"address"`
	AddressID          optString     `xml:"address_id" json:"address_id"`
	Zipcode            optString     `xml:"zipcode" json:"zipcode"`
	Lat                optFloat      `xml:"lat" json:"lat"`
	Long               optFloat      `xml:"long" json:"long"`
	MediaURL           optString     `xml:"media_url" json:"media_url"`
	ExtendedAttributes *extendedJSON `xml:"extended_attributes,omitempty" json:"extended_attributes,omitempty"`
}

// extendedJSON holds the CitySDK/Klarschiff extensions (extensions=true).
type extendedJSON struct {
	DetailedStatus string          `xml:"detailed_status" json:"detailed_status"`
	MediaURLs      []string        `xml:"media_urls>media_url" json:"media_urls"`
	Delegation     []string        `xml:"delegation>agency_responsible" json:"delegation"`
	Attributes     []attrValueJSON `xml:"attributes>attribute" json:"attributes"`
}

type attrValueJSON struct {
	Code  string `xml:"code" json:"code"`
	Value string `xml:"value" json:"value"`
}

type requestsXML struct {
	XMLName  xml.Name      `xml:"service_requests"`
	Requests []requestJSON `xml:"request"`
}

// Status values (GeoReport v2) and the CitySDK/Klarschiff detailed_status.
const (
	statusOpen   = "open"
	statusClosed = "closed"
)

// detailedStatus maps fieldgate's incident states to the detailed_status
// of the CitySDK/Klarschiff extension.
func detailedStatus(s dispatch.State) string {
	switch s {
	case dispatch.StateAcknowledged, dispatch.StateReassigned:
		return "IN_PROCESS"
	case dispatch.StateResolved, dispatch.StateMerged:
		return "PROCESSED"
	case dispatch.StateRejected:
		return "REJECTED"
	}
	return "RECEIVED" // received, needs_location, routed, escalated
}

// maxPage bounds page so that page × page_size cannot overflow.
const maxPage = 1_000_000

// defaultWindow is how far back a list without dates reaches (the spec
// suggests the last 90 days).
const defaultWindow = 90 * 24 * time.Hour

// getRequests answers GET requests (id == "") and GET requests/{id}.
func (h *Handler) getRequests(c *gin.Context, f format, id string) {
	rs := h.rules.Current()
	filter := dispatch.ServiceRequestFilter{PublicTeams: rs.Open311Teams()}
	pubs := published(rs)
	if id != "" {
		filter.CaseNumbers = []string{id}
	} else if c.Param("file") != "" {
		h.fail(c, f, http.StatusNotFound, func(t msg.Texts) string { return t.Open311NotFound("") })
		return
	} else if !h.parseFilter(c, f, rs, &filter, &pubs) {
		return
	}
	for _, a := range pubs {
		filter.Addresses = append(filter.Addresses, a.Name)
	}
	list, err := h.domain.ServiceRequests(c.Request.Context(), filter)
	if err != nil {
		h.serverError(c, f, err)
		return
	}
	if id != "" && len(list) == 0 {
		h.fail(c, f, http.StatusNotFound, func(t msg.Texts) string { return t.Open311NotFound(id) })
		return
	}
	ext := c.Query("extensions") == "true"
	out := make([]requestJSON, 0, len(list))
	for _, sr := range list {
		out = append(out, h.requestView(c, rs, sr, ext))
	}
	write(c, f, http.StatusOK, requestsXML{Requests: out}, out)
}

// parseFilter reads the query parameters of GET requests.
func (h *Handler) parseFilter(c *gin.Context, f format, rs *routing.RuleSet, filter *dispatch.ServiceRequestFilter, pubs *[]routing.Address) bool {
	if ids := c.Query("service_request_id"); ids != "" {
		filter.CaseNumbers = splitList(ids)
		if len(filter.CaseNumbers) > 100 {
			h.fail(c, f, http.StatusBadRequest, msg.Texts.Open311TooManyIDs)
			return false
		}
	}
	if codes := c.Query("service_code"); codes != "" {
		var keep []routing.Address
		for _, code := range splitList(codes) {
			a, ok := service(rs, code)
			if !ok {
				h.fail(c, f, http.StatusNotFound, func(t msg.Texts) string { return t.Open311UnknownService(code) })
				return false
			}
			keep = append(keep, a)
		}
		*pubs = keep
	}
	dates := []struct {
		name string
		dst  **time.Time
	}{{"start_date", &filter.From}, {"end_date", &filter.To}, {"updated_after", &filter.UpdatedAfter}}
	for _, d := range dates {
		if v := c.Query(d.name); v != "" {
			t, err := parseDateParam(v, d.name == "end_date", h.cfg.TimeZone)
			if err != nil {
				h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string { return t.Open311BadDate(d.name) })
				return false
			}
			*d.dst = &t
		}
	}
	if filter.From == nil && filter.To == nil && filter.UpdatedAfter == nil && len(filter.CaseNumbers) == 0 {
		from := h.cfg.Now().Add(-defaultWindow)
		filter.From = &from
	}
	if st := c.Query("status"); st != "" {
		var open, closed bool
		for _, s := range splitList(st) {
			switch s {
			case statusOpen:
				open = true
			case statusClosed:
				closed = true
			default:
				h.fail(c, f, http.StatusBadRequest, msg.Texts.Open311BadStatus)
				return false
			}
		}
		if open != closed {
			filter.Open = &open
		}
	}
	if ag := c.Query("agency_responsible"); ag != "" {
		for _, name := range splitList(ag) {
			for _, t := range rs.Teams() {
				if strings.EqualFold(t.Name, name) || t.ID == name {
					filter.Teams = append(filter.Teams, t.ID)
				}
			}
		}
		if len(filter.Teams) == 0 {
			write(c, f, http.StatusOK, requestsXML{Requests: []requestJSON{}}, []requestJSON{}) // no such agency
			return false
		}
	}
	page, size := 1, 50
	var err error
	if v := c.Query("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 || page > maxPage {
			h.fail(c, f, http.StatusBadRequest, msg.Texts.Open311BadPage)
			return false
		}
	}
	if v := c.Query("page_size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 1000 {
			h.fail(c, f, http.StatusBadRequest, msg.Texts.Open311BadPage)
			return false
		}
	}
	filter.Limit, filter.Offset = size, (page-1)*size
	lat, long, radius := c.Query("lat"), c.Query("long"), c.Query("radius")
	if lat != "" || long != "" || radius != "" {
		la, err1 := strconv.ParseFloat(lat, 64)
		lo, err2 := strconv.ParseFloat(long, 64)
		r, err3 := strconv.ParseFloat(radius, 64)
		if err1 != nil || err2 != nil || err3 != nil || !dispatch.ValidPosition(la, lo) || !(r > 0 && r <= 50000) {
			h.fail(c, f, http.StatusBadRequest, msg.Texts.Open311BadRadius)
			return false
		}
		filter.Near, filter.RadiusM = &dispatch.Position{Lat: la, Lon: lo}, r
	}
	return true
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// requestView renders one request. Reporter identity is never shown.
func (h *Handler) requestView(c *gin.Context, rs *routing.RuleSet, sr dispatch.ServiceRequest, ext bool) requestJSON {
	addr, _ := rs.Address(sr.Address)
	svc := addr.Open311
	if svc == nil {
		svc = &routing.Open311Service{Code: sr.Address}
	}
	teamName := func(id string) string {
		if t, ok := rs.Team(id); ok && t.Name != "" {
			return t.Name
		}
		return id
	}
	r := requestJSON{
		ServiceRequestID: sr.CaseNumber, Status: statusOpen, ServiceName: addr.DisplayName, ServiceCode: svc.Code,
		AgencyResponsible: teamName(sr.Incident.Team), ServiceNotice: optString(svc.Notice),
		RequestedDatetime: h.datetime(sr.RequestedAt), UpdatedDatetime: h.datetime(sr.UpdatedAt),
		Address: optString(sr.Attributes["address_string"]),
	}
	if *h.cfg.PublishDescriptions {
		r.Description = sr.Text
	}
	if !sr.Incident.State.Open() {
		r.Status = statusClosed
	}
	notes := make([]string, 0, len(sr.Notes)+1)
	for _, n := range sr.Notes {
		notes = append(notes, n.Text)
	}
	l := lang(c)
	switch {
	case sr.Incident.State == dispatch.StateRejected && sr.Rejection != "":
		notes = append(notes, map[string]string{"de": "Abgelehnt: ", "en": "Rejected: "}[l]+sr.Rejection)
	case sr.Incident.State == dispatch.StateMerged && sr.MergedInto != "":
		notes = append(notes, map[string]string{"de": "Doppelmeldung zu ", "en": "Duplicate of "}[l]+sr.MergedInto)
	}
	r.StatusNotes = optString(strings.Join(notes, "\n"))
	if svc.ExpectedWithin > 0 && sr.Incident.State.Open() {
		r.ExpectedDatetime = optString(h.datetime(sr.RequestedAt.Add(svc.ExpectedWithin)))
	}
	if p := sr.Position; p != nil {
		r.Lat, r.Long = optFloat{V: p.Lat, Set: true}, optFloat{V: p.Lon, Set: true}
	}
	var urls []string
	for _, key := range sr.TeamCopies {
		u, err := h.media.PresignGet(c.Request.Context(), key)
		if err != nil {
			h.log.WarnContext(c.Request.Context(), "open311: signing a team copy link failed", "case", sr.CaseNumber, "err", err)
			continue
		}
		urls = append(urls, u)
	}
	if len(urls) > 0 {
		r.MediaURL = optString(urls[0])
	}
	if ext {
		e := &extendedJSON{DetailedStatus: detailedStatus(sr.Incident.State), MediaURLs: urls,
			Delegation: []string{}, Attributes: []attrValueJSON{}}
		if e.MediaURLs == nil {
			e.MediaURLs = []string{}
		}
		for _, t := range sr.Delegations {
			e.Delegation = append(e.Delegation, teamName(t))
		}
		for _, a := range svc.Attributes {
			if freeText(a) && !*h.cfg.PublishDescriptions {
				continue // typed by the reporter like the description, and as private
			}
			if v, ok := sr.Attributes[a.Code]; ok {
				e.Attributes = append(e.Attributes, attrValueJSON{Code: a.Code, Value: v})
			}
		}
		r.ExtendedAttributes = e
	}
	return r
}

// freeText reports whether an attribute's value is what the reporter
// typed (GeoReport v2 datatypes string and text), not a choice from the
// service definition, a number or a date.
func freeText(a routing.Open311Attribute) bool {
	return a.Datatype == "string" || a.Datatype == "text"
}

type tokenJSON struct {
	XMLName          xml.Name `xml:"request" json:"-"`
	ServiceRequestID string   `xml:"service_request_id" json:"service_request_id"`
	Token            string   `xml:"token" json:"token"`
}

type tokensXML struct {
	XMLName  xml.Name    `xml:"service_requests"`
	Requests []tokenJSON `xml:"request"`
}

// token answers GET tokens/{token} (GeoReport v2 "GET request_id from a
// token"). fieldgate assigns case numbers while a request is filed, so a
// token is the report's id, and it resolves at once.
func (h *Handler) token(c *gin.Context, f format, tok string) {
	id, err := uuid.Parse(tok)
	if err != nil {
		h.fail(c, f, http.StatusNotFound, func(t msg.Texts) string { return t.Open311TokenNotFound(tok) })
		return
	}
	v, err := h.domain.GetReport(c.Request.Context(), id)
	if err != nil && !errors.Is(err, dispatch.ErrNotFound) {
		h.serverError(c, f, err)
		return
	}
	if err != nil || v.Report.Channel != dispatch.ChannelOpen311 {
		h.fail(c, f, http.StatusNotFound, func(t msg.Texts) string { return t.Open311TokenNotFound(tok) })
		return
	}
	t := tokenJSON{ServiceRequestID: v.Report.CaseNumber, Token: tok}
	write(c, f, http.StatusOK, tokensXML{Requests: []tokenJSON{t}}, []tokenJSON{t})
}

// parseDateParam reads start_date, end_date or updated_after in the forms
// of W3C's "Date and Time Formats" note (the ISO 8601 profile GeoReport v2
// names): YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.s]]TZD. Two
// forms clients send are read too: a date-time without zone designator,
// in the town's time zone loc, and a zone whose "+" arrived as a space
// (an unencoded query). A date alone starts at midnight in loc; as the
// (exclusive) end, end is the end of the day, month or year it names.
func parseDateParam(v string, end bool, loc *time.Location) (time.Time, error) {
	if len(v) > len("2006-01-02T15:04") && strings.Count(v, " ") == 1 {
		v = strings.Replace(v, " ", "+", 1)
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	for _, p := range []struct {
		layout       string
		years, month int
		days         int
	}{{"2006-01-02", 0, 0, 1}, {"2006-01", 0, 1, 0}, {"2006", 1, 0, 0}} {
		if t, err := time.ParseInLocation(p.layout, v, loc); err == nil {
			if end {
				t = t.AddDate(p.years, p.month, p.days)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("open311: %q is not a W3C date-time", v)
}
