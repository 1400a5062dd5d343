package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/dispatch"
)

// viewScope is the set of teams whose incidents a token may see: nil for
// dispatchers (every team), the token's team:<id> roles otherwise. ok is
// false when the token may see no incidents at all (reporter-only).
func viewScope(tok dispatch.Token) (scope []string, ok bool) {
	if tok.Has(dispatch.RoleDispatcher) {
		return nil, true
	}
	scope = []string{}
	for _, r := range tok.Roles {
		if team, isTeam := strings.CutPrefix(r, "team:"); isTeam && team != "" {
			scope = append(scope, team)
		}
	}
	return scope, len(scope) > 0
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// mayView reports whether the token may see an incident of team.
func mayView(tok dispatch.Token, team string) bool {
	return tok.Has(dispatch.RoleDispatcher) || (team != "" && tok.Has("team:"+team))
}

// incidentSummaryJSON is one item of GET /api/v1/incidents and of the
// event stream.
type incidentSummaryJSON struct {
	CaseNumber      string        `json:"case_number"`
	State           string        `json:"state"`
	Open            bool          `json:"open"`
	Team            string        `json:"team,omitempty"`
	Priority        string        `json:"priority"`
	Urgent          bool          `json:"urgent"`
	District        string        `json:"district,omitempty"`
	Category        string        `json:"category,omitempty"`
	Owner           string        `json:"owner,omitempty"`
	EscalationLevel int           `json:"escalation_level"`
	Text            string        `json:"text"`
	Position        *positionJSON `json:"position,omitempty"`
	Reports         int           `json:"reports"`
	Media           int           `json:"media"`
	MergedInto      string        `json:"merged_into,omitempty"`
	CreatedAt       time.Time     `json:"created_at"`
	UpdatedAt       time.Time     `json:"updated_at"`
	AcknowledgedAt  *time.Time    `json:"acknowledged_at,omitempty"`
	ResolvedAt      *time.Time    `json:"resolved_at,omitempty"`
}

func toSummaryJSON(it dispatch.IncidentSummary) incidentSummaryJSON {
	out := incidentSummaryJSON{
		CaseNumber: it.CaseNumber, State: string(it.State), Open: it.State.Open(), Team: it.Team, Priority: it.Priority,
		Urgent: it.Urgent, District: it.District, Category: it.Category, Owner: it.Owner, EscalationLevel: it.EscalationLevel,
		Text: it.Text, Reports: it.Reports, Media: it.Media, MergedInto: it.MergedInto, CreatedAt: it.CreatedAt,
		UpdatedAt: it.UpdatedAt, AcknowledgedAt: it.AcknowledgedAt, ResolvedAt: it.ResolvedAt,
	}
	if p := it.Position; p != nil {
		out.Position = &positionJSON{Lat: p.Lat, Lon: p.Lon, Source: it.PositionSource}
	}
	return out
}

type incidentPageJSON struct {
	Items []incidentSummaryJSON `json:"items"`
	// Next is the cursor of the next page, present exactly when more
	// (older) incidents match: a client that stops while it is present
	// has not seen them all. Absent on the last page.
	Next string `json:"next,omitempty"`
}

// listIncidents serves GET /api/v1/incidents: filters team, state
// (repeatable or comma-separated), status (open|closed|all), district,
// urgency (low|normal|high|urgent), max_age / min_age (Go durations such
// as 2h or 90m, or days as 3d), q (text search), cursor, limit (1-1000).
func (s *Server) listIncidents(c *gin.Context) {
	tok := token(c)
	scope, ok := viewScope(tok)
	if !ok {
		problem(c, probForbidden, msg.Texts.ListForbidden)
		return
	}
	f, err := incidentFilter(c, s.now())
	if err != nil {
		var fe filterError
		errors.As(err, &fe)
		problem(c, probInvalidFilter, fe.text)
		return
	}
	f.Scope = scope
	page, err := s.disp.ListIncidents(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := incidentPageJSON{Items: make([]incidentSummaryJSON, 0, len(page.Items)), Next: page.Next}
	for _, it := range page.Items {
		out.Items = append(out.Items, toSummaryJSON(it))
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// filterError is a query parameter of the incident list that cannot be
// read; text says which and how it should look.
type filterError struct{ text msg.Text }

func (e filterError) Error() string { return e.text.In("en") }

// incidentFilter reads the list filters from the query string.
func incidentFilter(c *gin.Context, now time.Time) (dispatch.IncidentFilter, error) {
	f := dispatch.IncidentFilter{
		Team: c.Query("team"), District: c.Query("district"), Priority: c.Query("urgency"),
		Status: c.Query("status"), Query: c.Query("q"), Cursor: c.Query("cursor"),
	}
	for _, v := range c.QueryArray("state") {
		for _, st := range strings.Split(v, ",") {
			if st = strings.TrimSpace(st); st != "" {
				f.States = append(f.States, dispatch.State(st))
			}
		}
	}
	if len(f.States) > 0 && f.Status == "" {
		f.Status = dispatch.StatusAll // explicit states need no status
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, filterError{func(t msg.Texts) string { return t.FilterLimit(1, 1000) }}
		}
		f.Limit = n
	}
	for name, dst := range map[string]*time.Time{"max_age": &f.CreatedAfter, "min_age": &f.CreatedBefore} {
		v := c.Query(name)
		if v == "" {
			continue
		}
		d, err := parseAge(v)
		if err != nil {
			return f, filterError{func(t msg.Texts) string { return t.FilterDuration(name) }}
		}
		*dst = now.Add(-d)
	}
	return f, nil
}

// parseAge reads a Go duration or a whole number of days ("3d").
func parseAge(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3650 {
			return 0, errors.New("bad days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errors.New("bad duration")
	}
	return d, nil
}

type detailMediaJSON struct {
	N           int    `json:"n"` // 1-based, as in the original's URL
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	// TeamCopyURL is a short-lived link to the privacy-safe copy (upright,
	// metadata removed); absent for files without one (HEIC, PDF, video).
	TeamCopyURL string `json:"team_copy_url,omitempty"`
	// ThumbnailURL is a short-lived link (s3.presign_ttl, like
	// TeamCopyURL) to the thumbnail made from the team copy: JPEG, longest
	// edge at most 320 px (media.DefaultThumbMaxEdge), upright, metadata
	// removed; absent while there is none (not processed yet, or a file
	// without a team copy).
	ThumbnailURL string `json:"thumbnail_url,omitempty"`
	// OriginalURL is the authenticated API path that redirects to the original.
	OriginalURL string `json:"original_url"`
}

type detailReportJSON struct {
	ID         string            `json:"id"`
	Kind       string            `json:"kind"`
	Channel    string            `json:"channel"`
	Language   string            `json:"language"`
	Text       string            `json:"text"`
	Urgent     bool              `json:"urgent"`
	Position   *positionJSON     `json:"position,omitempty"`
	ReceivedAt time.Time         `json:"received_at"`
	Media      []detailMediaJSON `json:"media"`
}

type timelineJSON struct {
	At     time.Time      `json:"at"`
	Kind   string         `json:"kind"`
	Label  string         `json:"label"` // Kind for people, in the client's language (Accept-Language)
	Actor  string         `json:"actor,omitempty"`
	Via    string         `json:"via,omitempty"`
	From   string         `json:"from_state,omitempty"`
	To     string         `json:"to_state,omitempty"`
	Detail map[string]any `json:"detail,omitempty"`
}

type alertJSON struct {
	Target     string     `json:"target"`
	Kind       string     `json:"kind"`
	Level      int        `json:"level"`
	At         time.Time  `json:"at"`
	ReceivedAt *time.Time `json:"received_at,omitempty"`
	ReadAt     *time.Time `json:"read_at,omitempty"`
}

type detailPositionJSON struct {
	positionJSON
	// Flags are plausibility warnings: no_position, sources_differ,
	// photo_old, photo_time_future, outside_area, sender_position.
	Flags []string `json:"flags"`
}

type incidentDetailJSON struct {
	incidentSummaryJSON
	Policy     string              `json:"policy,omitempty"`
	Rule       string              `json:"rule,omitempty"`
	Address    string              `json:"to"`
	Position   *detailPositionJSON `json:"position,omitempty"`
	Flags      []string            `json:"flags"`
	Duplicates []string            `json:"duplicates"`
	Reports    []detailReportJSON  `json:"reports"`
	Timeline   []timelineJSON      `json:"timeline"`
	Alerts     []alertJSON         `json:"alerts"`
}

// getIncidentDetail serves GET /api/v1/incidents/{case}: the incident
// with its reports, photos, position and flags, whole audit trail and
// alerts. A caller that may not see the case gets the same 404 as for a
// case that does not exist.
func (s *Server) getIncidentDetail(c *gin.Context) {
	d, err := s.disp.IncidentDetail(c.Request.Context(), c.Param("case"))
	tok := token(c)
	if err == nil && !mayView(tok, d.Team) {
		err = errIncidentNotFound
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	dispatcher := tok.Has(dispatch.RoleDispatcher)
	sum := toSummaryJSON(dispatch.IncidentSummary{Incident: d.Incident, MergedInto: d.MergedInto, Reports: len(d.Reports)})
	out := incidentDetailJSON{
		incidentSummaryJSON: sum, Policy: d.Policy, Rule: d.Rule, Address: d.Address, Flags: d.Flags,
		Duplicates: append([]string{}, d.Duplicates...), Reports: []detailReportJSON{}, Timeline: []timelineJSON{}, Alerts: []alertJSON{},
	}
	if p := d.Position; p != nil {
		out.Position = &detailPositionJSON{positionJSON: positionJSON{Lat: p.Lat, Lon: p.Lon, Alt: p.Alt, Source: d.PositionSource}, Flags: d.Flags}
	}
	for _, r := range d.Reports {
		rj := detailReportJSON{ID: r.ID.String(), Kind: r.Kind, Channel: r.Channel, Language: r.Language, Text: r.Text,
			Urgent: r.Urgent, ReceivedAt: r.ReceivedAt, Media: []detailMediaJSON{}}
		if p := r.Position; p != nil {
			rj.Position = &positionJSON{Lat: p.Lat, Lon: p.Lon, Alt: p.Alt, Source: r.PositionSource}
		}
		if r.Kind == "report" && out.Text == "" {
			out.Text, out.Urgent = r.Text, r.Urgent
		}
		for n, m := range r.Media {
			out.Media++
			rj.Media = append(rj.Media, detailMediaJSON{N: n + 1, ContentType: m.Object.ContentType, Size: m.Object.Size,
				TeamCopyURL: d.TeamCopyURLs[m.ID], ThumbnailURL: d.ThumbnailURLs[m.ID], OriginalURL: "/api/v1/reports/" + r.ID.String() + "/media/" + strconv.Itoa(n+1)})
		}
		out.Reports = append(out.Reports, rj)
	}
	for _, e := range d.Events {
		actor := e.Actor
		if e.FromReporter() && !dispatcher {
			actor = "reporter"
		}
		out.Timeline = append(out.Timeline, timelineJSON{At: e.At, Kind: e.Kind, Label: msg.For(clientLanguage(c)).EventName(e.Kind), Actor: actor, Via: e.Via,
			From: string(e.From), To: string(e.To), Detail: e.Detail})
	}
	for _, a := range d.Alerts {
		out.Alerts = append(out.Alerts, alertJSON{Target: a.Target, Kind: a.Kind, Level: a.Level, At: a.At,
			ReceivedAt: a.ReceivedAt, ReadAt: a.ReadAt})
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// errIncidentNotFound is what a caller gets for a case it may not see:
// the same problem as for a case that does not exist.
var errIncidentNotFound = &dispatch.Error{Kind: dispatch.ErrNotFound, Text: msg.Texts.IncidentNotFound}
