package dispatch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Status filters of an incident list.
const (
	StatusOpen   = "open"   // every state that still needs someone (State.Open)
	StatusClosed = "closed" // resolved, merged, rejected
	StatusAll    = "all"
)

// IncidentFilter selects incidents for the console and GET /api/v1/incidents.
// Zero fields do not filter; all given fields must match (AND).
type IncidentFilter struct {
	// Scope restricts the result to these teams (a team member's view);
	// nil = every team (dispatchers). An empty non-nil slice matches nothing.
	Scope []string
	// Team, District, Priority (low, normal, high, urgent) match exactly.
	Team, District, Priority string
	// States match any of these states; empty = every state of Status.
	States []State
	// Status is StatusOpen (default), StatusClosed or StatusAll.
	Status string
	// CreatedAfter/CreatedBefore bound created_at (the incident's age).
	CreatedAfter, CreatedBefore time.Time
	// Query searches the case number and the reports' text
	// (case-insensitive substring).
	Query string
	// Cursor continues a previous page (IncidentPage.Next).
	Cursor string
	// Limit is the page size: default 100, at most 1000.
	Limit int

	ids []uuid.UUID // only these incidents (the change feed)
}

// IncidentSummary is one line of an incident list: the incident plus what
// a map and a list show of it.
type IncidentSummary struct {
	Incident
	// Text is the first report's text.
	Text string
	// Position is the first located report's position (nil = none yet);
	// PositionSource says where it came from (SourceEXIF, SourceAPI, ...).
	Position       *Position
	PositionSource string
	Urgent         bool // the reporter marked it urgent
	Reports        int  // reports and follow-ups
	Media          int  // attachments
	MergedInto     string
}

// IncidentPage is one page of a list, newest first. Next is the cursor of
// the following page ("" = this is the last).
type IncidentPage struct {
	Items []IncidentSummary
	Next  string
}

// ListIncidents returns incidents matching f, newest first, with keyset
// paging (a cursor stays valid while new incidents arrive).
func (s *Service) ListIncidents(ctx context.Context, f IncidentFilter) (IncidentPage, error) {
	sql, args, limit, err := listQuery(f)
	if err != nil {
		return IncidentPage{}, err
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return IncidentPage{}, fmt.Errorf("list incidents: %w", err)
	}
	defer rows.Close()
	var page IncidentPage
	for rows.Next() {
		var it IncidentSummary
		var lat, lon *float64
		i := &it.Incident
		if err := rows.Scan(&i.ID, &i.CaseNumber, &i.State, &i.Address, &i.Team, &i.Priority, &i.Policy, &i.Rule, &i.District,
			&i.Category, &i.Owner, &i.EscalationLevel, &i.CreatedAt, &i.UpdatedAt, &i.AcknowledgedAt, &i.ResolvedAt,
			&it.Text, &it.Urgent, &lat, &lon, &it.PositionSource, &it.Reports, &it.Media, &it.MergedInto); err != nil {
			return IncidentPage{}, fmt.Errorf("scan incident: %w", err)
		}
		if lat != nil && lon != nil {
			it.Position = &Position{Lat: *lat, Lon: *lon}
		}
		page.Items = append(page.Items, it)
	}
	if err := rows.Err(); err != nil {
		return IncidentPage{}, fmt.Errorf("list incidents: %w", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.Next = encodeCursor(last.CreatedAt, last.ID)
	}
	return page, nil
}

// listQuery builds the SQL of ListIncidents. Every value is a bind
// parameter; only fixed fragments are concatenated.
func listQuery(f IncidentFilter) (string, []any, int, error) {
	limit := f.Limit
	switch {
	case limit == 0:
		limit = 100
	case limit < 0 || limit > 1000:
		return "", nil, 0, newError(ErrInvalid, func(ts msg.Texts) string { return ts.ListLimit(1, 1000) })
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Scope != nil {
		where = append(where, "i.team = ANY("+arg(f.Scope)+")")
	}
	if f.ids != nil {
		where = append(where, "i.id = ANY("+arg(f.ids)+")")
	}
	if f.Team != "" {
		where = append(where, "i.team = "+arg(f.Team))
	}
	if f.District != "" {
		where = append(where, "i.district = "+arg(f.District))
	}
	if f.Priority != "" {
		switch f.Priority {
		case "low", "normal", "high", "urgent":
		default:
			return "", nil, 0, newError(ErrInvalid, msg.Texts.ListUrgency)
		}
		where = append(where, "i.priority = "+arg(f.Priority))
	}
	closed := []string{string(StateResolved), string(StateMerged), string(StateRejected)}
	switch f.Status {
	case "", StatusOpen:
		where = append(where, "NOT (i.state = ANY("+arg(closed)+"))")
	case StatusClosed:
		where = append(where, "i.state = ANY("+arg(closed)+")")
	case StatusAll:
	default:
		return "", nil, 0, newError(ErrInvalid, msg.Texts.ListStatus)
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for n, st := range f.States {
			if !knownState(st) {
				return "", nil, 0, newError(ErrInvalid, func(ts msg.Texts) string { return ts.ListUnknownState(string(st)) })
			}
			states[n] = string(st)
		}
		where = append(where, "i.state = ANY("+arg(states)+")")
	}
	if !f.CreatedAfter.IsZero() {
		where = append(where, "i.created_at >= "+arg(f.CreatedAfter))
	}
	if !f.CreatedBefore.IsZero() {
		where = append(where, "i.created_at < "+arg(f.CreatedBefore))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		if len(q) > 200 {
			return "", nil, 0, newError(ErrInvalid, func(ts msg.Texts) string { return ts.ListSearchTooLong(200) })
		}
		p := arg("%" + likeEscape(q) + "%")
		where = append(where, "(i.case_number ILIKE "+p+" OR EXISTS (SELECT 1 FROM reports q WHERE q.incident_id = i.id AND q.body ILIKE "+p+"))")
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return "", nil, 0, err
		}
		where = append(where, "(i.created_at, i.id) < ("+arg(at)+", "+arg(id)+")")
	}
	cond := ""
	if len(where) > 0 {
		cond = "WHERE " + strings.Join(where, " AND ")
	}
	sql := `
		SELECT i.id, i.case_number, i.state, i.address, coalesce(i.team,''), i.priority, i.policy, i.rule, i.district, i.category,
			coalesce(i.owner,''), i.escalation_level, i.created_at, i.updated_at, i.acknowledged_at, i.resolved_at,
			coalesce(f.body,''), coalesce(f.urgent,false), p.lat, p.lon, coalesce(p.position_source,''),
			(SELECT count(*) FROM reports c WHERE c.incident_id = i.id),
			(SELECT count(*) FROM media_objects m JOIN reports mr ON mr.id = m.report_id WHERE mr.incident_id = i.id),
			coalesce((SELECT o.case_number FROM incidents o WHERE o.id = i.merged_into),'')
		FROM incidents i
		LEFT JOIN LATERAL (SELECT body, urgent FROM reports r WHERE r.incident_id = i.id AND r.kind = 'report'
			ORDER BY r.received_at LIMIT 1) f ON true
		LEFT JOIN LATERAL (SELECT lat, lon, position_source FROM reports r WHERE r.incident_id = i.id AND r.lat IS NOT NULL
			ORDER BY r.received_at LIMIT 1) p ON true
		` + cond + `
		ORDER BY i.created_at DESC, i.id DESC
		LIMIT ` + arg(limit+1)
	return sql, args, limit, nil
}

func knownState(s State) bool {
	switch s {
	case StateReceived, StateNeedsLocation, StateRouted, StateAcknowledged, StateResolved,
		StateEscalated, StateReassigned, StateMerged, StateRejected:
		return true
	}
	return false
}

// likeEscape makes s match literally inside a LIKE pattern.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// A cursor is the last item's created_at and id, opaque to clients.
func encodeCursor(at time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "." + id.String()))
}

func decodeCursor(c string) (time.Time, uuid.UUID, error) {
	bad := newError(ErrInvalid, msg.Texts.ListBadCursor)
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, uuid.Nil, bad
	}
	us, ids, ok := strings.Cut(string(raw), ".")
	if !ok {
		return time.Time{}, uuid.Nil, bad
	}
	n, err := strconv.ParseInt(us, 10, 64)
	if err != nil {
		return time.Time{}, uuid.Nil, bad
	}
	id, err := uuid.Parse(ids)
	if err != nil {
		return time.Time{}, uuid.Nil, bad
	}
	return time.UnixMicro(n).UTC(), id, nil
}

// Plausibility flags of an incident's position.
const (
	FlagNoPosition     = "no_position"       // no report brought a position
	FlagSourcesDiffer  = "sources_differ"    // reports' positions lie more than 250 m apart
	FlagPhotoOld       = "photo_old"         // a photo's capture time is more than 24 h before its report
	FlagPhotoFuture    = "photo_time_future" // a photo's capture time is more than 1 h after its report (a wrong camera clock)
	FlagOutsideArea    = "outside_area"      // the position lies in no district of the rules
	FlagSenderPosition = "sender_position"   // the position is the sender's, not a photo's GPS
)

// Alert is someone alerted about an incident outside its team room, with
// the delivery evidence their client sent (XEP-0184 receipt, XEP-0333
// displayed marker).
type Alert struct {
	Target     string // bare JID of a person or room
	Kind       string // "person" or "room"
	Level      int    // escalation level that alerted
	At         time.Time
	ReceivedAt *time.Time
	ReadAt     *time.Time
}

// IncidentDetail is everything the console shows of one incident.
type IncidentDetail struct {
	Incident
	MergedInto     string   // case number of the incident this one was merged into
	Duplicates     []string // case numbers merged into this one
	Position       *Position
	PositionSource string
	Flags          []string // plausibility flags (Flag*)
	Reports        []Report // oldest first, with media
	// TeamCopyURLs holds a short-lived link per media object ID to its
	// privacy-safe team copy (absent when there is none).
	TeamCopyURLs map[uuid.UUID]string
	// ThumbnailURLs holds a short-lived link per media object ID to its
	// thumbnail (longest edge media.Config.ThumbMaxEdge, 320 px by
	// default), absent when there is none.
	ThumbnailURLs map[uuid.UUID]string
	Events        []Event // the whole audit trail, oldest first
	Alerts        []Alert
}

// IncidentDetail loads an incident by case reference with its reports,
// media, audit trail and alerts.
func (s *Service) IncidentDetail(ctx context.Context, ref string) (IncidentDetail, error) {
	inc, err := incidentByRef(ctx, s.pool, ref, false)
	if err != nil {
		return IncidentDetail{}, err
	}
	d := IncidentDetail{Incident: inc, TeamCopyURLs: map[uuid.UUID]string{}, ThumbnailURLs: map[uuid.UUID]string{}}
	if err := s.pool.QueryRow(ctx, `SELECT coalesce((SELECT o.case_number FROM incidents i JOIN incidents o ON o.id = i.merged_into WHERE i.id = $1),'')`,
		inc.ID).Scan(&d.MergedInto); err != nil {
		return IncidentDetail{}, fmt.Errorf("load merge: %w", err)
	}
	dups, err := s.pool.Query(ctx, `SELECT case_number FROM incidents WHERE merged_into = $1 ORDER BY created_at`, inc.ID)
	if err != nil {
		return IncidentDetail{}, fmt.Errorf("load duplicates: %w", err)
	}
	if d.Duplicates, err = pgx.CollectRows(dups, pgx.RowTo[string]); err != nil {
		return IncidentDetail{}, fmt.Errorf("load duplicates: %w", err)
	}
	ids, err := s.pool.Query(ctx, `SELECT id FROM reports WHERE incident_id = $1 ORDER BY received_at, id`, inc.ID)
	if err != nil {
		return IncidentDetail{}, fmt.Errorf("load reports: %w", err)
	}
	reportIDs, err := pgx.CollectRows(ids, pgx.RowTo[uuid.UUID])
	if err != nil {
		return IncidentDetail{}, fmt.Errorf("load reports: %w", err)
	}
	for _, id := range reportIDs {
		r, err := s.loadReport(ctx, s.pool, id)
		if err != nil {
			return IncidentDetail{}, err
		}
		for _, m := range r.Media {
			if m.DerivativeKey != "" && s.media != nil {
				if u, err := s.media.PresignGet(ctx, m.DerivativeKey); err == nil {
					d.TeamCopyURLs[m.ID] = u
				} else {
					s.log.WarnContext(ctx, "presign team copy", "err", err)
				}
			}
			if m.ThumbKey != "" && s.media != nil {
				if u, err := s.media.PresignGet(ctx, m.ThumbKey); err == nil {
					d.ThumbnailURLs[m.ID] = u
				} else {
					s.log.WarnContext(ctx, "presign thumbnail", "err", err)
				}
			}
		}
		d.Reports = append(d.Reports, r)
	}
	if d.Events, err = s.events(ctx, inc.ID); err != nil {
		return IncidentDetail{}, err
	}
	if d.Alerts, err = s.alerts(ctx, inc.ID); err != nil {
		return IncidentDetail{}, err
	}
	d.Position, d.PositionSource, d.Flags = plausibility(d.Reports, inc.District, s.cfg.TimeZone)
	return d, nil
}

func (s *Service) events(ctx context.Context, incident uuid.UUID) ([]Event, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT e.at, e.kind, e.actor, e.via, coalesce(e.from_state,''), coalesce(e.to_state,''), e.detail, `+reporterActorSQL+`
		FROM incident_events e WHERE e.incident_id = $1 ORDER BY e.id`, incident)
	if err != nil {
		return nil, fmt.Errorf("load events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var d []byte
		if err := rows.Scan(&e.At, &e.Kind, &e.Actor, &e.Via, &e.From, &e.To, &d, &e.ReporterActor); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		if err := json.Unmarshal(d, &e.Detail); err != nil {
			return nil, fmt.Errorf("decode event detail: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// alerts joins incident_alerts with the delivery evidence events, whose
// actor is the JID the receipt came from (possibly with a resource).
func (s *Service) alerts(ctx context.Context, incident uuid.UUID) ([]Alert, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT a.target, a.kind, a.level, a.at,
			(SELECT min(e.at) FROM incident_events e WHERE e.incident_id = a.incident_id AND e.kind = $2
				AND lower(split_part(e.actor,'/',1)) = lower(a.target)),
			(SELECT min(e.at) FROM incident_events e WHERE e.incident_id = a.incident_id AND e.kind = $3
				AND lower(split_part(e.actor,'/',1)) = lower(a.target))
		FROM incident_alerts a WHERE a.incident_id = $1 ORDER BY a.at, a.target`, incident, DeliveryReceived, DeliveryDisplayed)
	if err != nil {
		return nil, fmt.Errorf("load alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var a Alert
		if err := rows.Scan(&a.Target, &a.Kind, &a.Level, &a.At, &a.ReceivedAt, &a.ReadAt); err != nil {
			return nil, fmt.Errorf("scan alert: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// plausibility picks the incident's position (the first located report)
// and flags what makes it doubtful. A capture time without its UTC offset
// is read in loc, the town's zone. It is pure so it can be unit-tested.
func plausibility(reports []Report, district string, loc *time.Location) (*Position, string, []string) {
	var pos *Position
	var src string
	flags := []string{}
	for _, r := range reports {
		if r.Position == nil {
			continue
		}
		if pos == nil {
			pos, src = r.Position, r.PositionSource
			continue
		}
		if distanceM(pos.Lat, pos.Lon, r.Position.Lat, r.Position.Lon) > 250 {
			flags = appendOnce(flags, FlagSourcesDiffer)
		}
	}
	for _, r := range reports {
		for _, m := range r.Media {
			if md := m.Metadata; md != nil {
				old, future := photoTime(md.TakenAt(loc), r.ReceivedAt, 24*time.Hour)
				if old {
					flags = appendOnce(flags, FlagPhotoOld)
				}
				if future {
					flags = appendOnce(flags, FlagPhotoFuture)
				}
				if md.Position != nil && pos != nil &&
					distanceM(pos.Lat, pos.Lon, md.Position.Lat, md.Position.Lon) > 250 {
					flags = appendOnce(flags, FlagSourcesDiffer)
				}
			}
		}
	}
	switch {
	case pos == nil:
		flags = append(flags, FlagNoPosition)
	case district == "":
		flags = append(flags, FlagOutsideArea)
	}
	if pos != nil && src != SourceEXIF {
		flags = append(flags, FlagSenderPosition)
	}
	return pos, src, flags
}

func appendOnce(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
