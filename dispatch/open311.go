package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// ServiceRequestFilter selects reports for the Open311 GeoReport v2
// "GET requests" call. Empty fields do not filter. Addresses must be set:
// only reports to addresses the town published as Open311 services are
// ever listed.
type ServiceRequestFilter struct {
	CaseNumbers  []string   // service_request_id list
	Addresses    []string   // function addresses (service codes resolved by the caller)
	Teams        []string   // agency_responsible resolved to team ids
	From, To     *time.Time // requested_datetime range, [From, To)
	UpdatedAfter *time.Time
	Open         *bool     // status open (true) or closed (false)
	Near         *Position // with RadiusM: within this many metres
	RadiusM      float64
	Limit        int // default 50, at most 1000
	Offset       int
	// PublicTeams, when not nil, leaves out requests whose incident is
	// with, or was ever routed or reassigned to, a team not in it
	// (routing.RuleSet.Open311Teams): a case handed to the youth welfare
	// office is not public.
	PublicTeams []string
}

// ServiceRequest is one report as Open311 shows it: the first report of
// an incident (follow-ups are part of it), the incident's state, the
// team's public replies and the teams it was delegated to.
type ServiceRequest struct {
	ReportID    uuid.UUID
	CaseNumber  string
	Address     string
	Text        string
	Position    *Position
	Attributes  map[string]string
	RequestedAt time.Time
	Incident    Incident
	UpdatedAt   time.Time    // the latest of the incident's change and its events
	Notes       []PublicNote // replies to the reporter, oldest first
	Delegations []string     // team ids the incident was routed or reassigned to, in order
	TeamCopies  []string     // object keys of the privacy-safe team copies
	MergedInto  string       // case number of the incident this one is a duplicate of
	Rejection   string       // reason, when rejected
}

// PublicNote is a reply a team sent to the reporter (`antwort N …`),
// the only team text Open311 shows as status_notes; internal room chat is
// never recorded as one.
type PublicNote struct {
	At   time.Time
	Text string
}

// ServiceRequests lists reports filed over Open311 (channel open311),
// newest first.
func (s *Service) ServiceRequests(ctx context.Context, f ServiceRequestFilter) ([]ServiceRequest, error) {
	if len(f.Addresses) == 0 {
		return nil, nil
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 1000)
	args := []any{f.Addresses}
	// Only requests filed over Open311: field workers' reports to the same
	// address (XMPP, REST API) are internal and never listed publicly.
	where := `r.kind = 'report' AND r.channel = 'open311' AND r.address = ANY($1)`
	add := func(cond string, v any) {
		args = append(args, v)
		where += fmt.Sprintf(" AND "+cond, len(args))
	}
	if len(f.CaseNumbers) > 0 {
		add("r.case_number = ANY($%d)", f.CaseNumbers)
	}
	if len(f.Teams) > 0 {
		add("i.team = ANY($%d)", f.Teams)
	}
	if f.PublicTeams != nil {
		// A scalar subquery, evaluated row by row along the ordered scan
		// until the page is full: as NOT EXISTS, PostgreSQL makes it an
		// anti-join over the whole trail (50 ms at 20,000 requests, growing
		// with the table, for an anonymous read).
		add(`(i.team IS NULL OR i.team = ANY($%[1]d)) AND (SELECT bool_and(coalesce(e.detail->>'to_team', e.detail->>'team', '') = ANY($%[1]d))
			FROM incident_events e WHERE e.incident_id = i.id AND e.kind IN ('routed','reassigned')) IS NOT FALSE`, f.PublicTeams)
	}
	if f.From != nil {
		add("r.received_at >= $%d", *f.From)
	}
	if f.To != nil {
		add("r.received_at < $%d", *f.To)
	}
	if f.UpdatedAfter != nil {
		add("i.updated_at > $%d", *f.UpdatedAfter)
	}
	if f.Open != nil {
		add("(i.state NOT IN ('resolved','rejected','merged')) = $%d", *f.Open)
	}
	if f.Near != nil && f.RadiusM > 0 {
		args = append(args, f.Near.Lat, f.Near.Lon, f.RadiusM)
		n := len(args)
		// Haversine distance in metres (mean Earth radius 6,371,008.8 m).
		where += fmt.Sprintf(` AND r.lat IS NOT NULL AND 2 * 6371008.8 * asin(sqrt(
			power(sin(radians(r.lat - $%d) / 2), 2) +
			cos(radians($%d)) * cos(radians(r.lat)) * power(sin(radians(r.lon - $%d) / 2), 2))) <= $%d`, n-2, n-2, n-1, n)
	}
	args = append(args, f.Limit, f.Offset)
	rows, err := s.pool.Query(ctx, `
		SELECT r.id, r.case_number, r.address, r.body, r.lat, r.lon, r.received_at, r.attributes,
		       i.id, i.state, coalesce(i.team,''), i.priority, i.district, i.created_at, i.updated_at,
		       i.acknowledged_at, i.resolved_at, coalesce(m.case_number,'')
		FROM reports r JOIN incidents i ON i.id = r.incident_id
		LEFT JOIN incidents m ON m.id = i.merged_into
		WHERE `+where+fmt.Sprintf(`
		ORDER BY r.received_at DESC, r.id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list service requests: %w", err)
	}
	var out []ServiceRequest
	byIncident := map[uuid.UUID]int{}
	byReport := map[uuid.UUID]int{}
	for rows.Next() {
		var sr ServiceRequest
		var lat, lon *float64
		var attrs []byte
		inc := &sr.Incident
		if err := rows.Scan(&sr.ReportID, &sr.CaseNumber, &sr.Address, &sr.Text, &lat, &lon, &sr.RequestedAt, &attrs,
			&inc.ID, &inc.State, &inc.Team, &inc.Priority, &inc.District, &inc.CreatedAt, &inc.UpdatedAt,
			&inc.AcknowledgedAt, &inc.ResolvedAt, &sr.MergedInto); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan service request: %w", err)
		}
		inc.CaseNumber, inc.Address = sr.CaseNumber, sr.Address
		if lat != nil && lon != nil {
			sr.Position = &Position{Lat: *lat, Lon: *lon}
		}
		if len(attrs) > 0 {
			if err := json.Unmarshal(attrs, &sr.Attributes); err != nil {
				rows.Close()
				return nil, fmt.Errorf("decode attributes of %s: %w", sr.CaseNumber, err)
			}
		}
		sr.UpdatedAt = inc.UpdatedAt
		byIncident[inc.ID] = len(out)
		byReport[sr.ReportID] = len(out)
		out = append(out, sr)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list service requests: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	if err := s.addServiceRequestEvents(ctx, out, byIncident); err != nil {
		return nil, err
	}
	return out, s.addServiceRequestMedia(ctx, out, byReport)
}

func (s *Service) addServiceRequestEvents(ctx context.Context, out []ServiceRequest, byIncident map[uuid.UUID]int) error {
	ids := make([]uuid.UUID, 0, len(byIncident))
	for id := range byIncident {
		ids = append(ids, id)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT incident_id, at, kind, detail FROM incident_events
		WHERE incident_id = ANY($1) AND kind IN ('routed','reassigned','reply','rejected')
		ORDER BY id`, ids)
	if err != nil {
		return fmt.Errorf("load service request events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var at time.Time
		var kind string
		var raw []byte
		if err := rows.Scan(&id, &at, &kind, &raw); err != nil {
			return fmt.Errorf("scan service request event: %w", err)
		}
		var d struct {
			Team   string `json:"team"`
			ToTeam string `json:"to_team"`
			Text   string `json:"text"`
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(raw, &d)
		sr := &out[byIncident[id]]
		if at.After(sr.UpdatedAt) {
			sr.UpdatedAt = at
		}
		switch kind {
		case "routed":
			sr.Delegations = appendTeam(sr.Delegations, d.Team)
		case "reassigned":
			sr.Delegations = appendTeam(sr.Delegations, d.ToTeam)
		case "reply":
			if d.Text != "" {
				sr.Notes = append(sr.Notes, PublicNote{At: at, Text: d.Text})
			}
		case "rejected":
			sr.Rejection = d.Reason
		}
	}
	return rows.Err()
}

func appendTeam(list []string, team string) []string {
	if team == "" || (len(list) > 0 && list[len(list)-1] == team) {
		return list
	}
	return append(list, team)
}

func (s *Service) addServiceRequestMedia(ctx context.Context, out []ServiceRequest, byReport map[uuid.UUID]int) error {
	ids := make([]uuid.UUID, 0, len(byReport))
	for id := range byReport {
		ids = append(ids, id)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT report_id, derivative_key FROM media_objects
		WHERE report_id = ANY($1) AND derivative_key IS NOT NULL ORDER BY created_at, id`, ids)
	if err != nil {
		return fmt.Errorf("load service request media: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			return fmt.Errorf("scan service request media: %w", err)
		}
		sr := &out[byReport[id]]
		sr.TeamCopies = append(sr.TeamCopies, key)
	}
	return rows.Err()
}
