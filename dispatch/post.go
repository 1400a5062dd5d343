package dispatch

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// renderPost builds the team-room text of an incident and its photo links.
// It runs at send time, so links are fresh even after a long outage, and
// it shows the whole case: every part's text and photos, the position with
// its source, and plausibility flags. A non-nil reportID renders that part
// alone as an addition line (the fallback when the post cannot be corrected).
// known, if not nil, is one of the case's reports as it was just committed
// (the routing job's): it is not read again.
func (s *Service) renderPost(ctx context.Context, incidentID, reportID uuid.UUID, known *Report) (body string, links, teamCopies []string, err error) {
	c, err := s.loadCase(ctx, incidentID, reportID, known)
	if err != nil {
		return "", nil, nil, err
	}
	return s.renderCase(ctx, c, reportID != uuid.Nil)
}

// knownCase is what a post shows of an incident: the incident, its
// reports (first report first) and its plausibility flags.
type knownCase struct {
	inc   Incident
	reps  []Report
	flags []flag
}

// loadCase reads what renderCase shows: the incident with its reports, or
// with the one report reportID; flags only for a whole case.
func (s *Service) loadCase(ctx context.Context, incidentID, reportID uuid.UUID, known *Report) (knownCase, error) {
	var c knownCase
	inc, err := scanIncident(s.pool.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, incidentID))
	if err != nil {
		return c, err
	}
	c.inc = inc
	var ids []uuid.UUID
	if reportID != uuid.Nil {
		ids = []uuid.UUID{reportID}
	} else if ids, err = s.caseReports(ctx, incidentID); err != nil {
		return c, err
	}
	c.reps = make([]Report, 0, len(ids))
	for _, id := range ids {
		if known != nil && known.ID == id {
			c.reps = append(c.reps, *known)
			continue
		}
		rep, err := s.loadReport(ctx, s.pool, id)
		if err != nil {
			return c, err
		}
		c.reps = append(c.reps, rep)
	}
	if len(c.reps) == 0 {
		return c, fmt.Errorf("incident %s has no report", inc.CaseNumber)
	}
	if reportID == uuid.Nil {
		if c.flags, err = s.caseFlags(ctx, incidentID); err != nil {
			return c, err
		}
	}
	return c, nil
}

// renderCase renders a case loaded by loadCase (or known as committed); an
// addition renders its one report as an addition line.
func (s *Service) renderCase(ctx context.Context, c knownCase, addition bool) (body string, links, teamCopies []string, err error) {
	inc, reps := c.inc, c.reps
	if len(reps) == 0 {
		return "", nil, nil, fmt.Errorf("incident %s has no report", inc.CaseNumber)
	}
	rs := s.rules.Current()
	team, _ := rs.Team(inc.Team)
	lang := cmp.Or(team.Language, "de")
	teamName := cmp.Or(team.Name, inc.Team)

	var b strings.Builder
	if addition {
		b.WriteString(msg.For(lang).FollowupPost(inc.CaseNumber))
	} else {
		b.WriteString("🆕 ")
		b.WriteString(msg.For(lang).PostHeader(inc.CaseNumber, teamName))
		if inc.Priority == "urgent" {
			b.WriteString(" · ⚠️ " + msg.For(lang).UrgentLabel())
		}
	}
	b.WriteString("\n")
	for _, rep := range reps {
		if t := QuoteUserText(rep.Text); t != "" {
			b.WriteString(t)
			b.WriteString("\n")
		}
	}
	main := reps[0]
	switch p := main.Position; {
	case p != nil:
		lat := strconv.FormatFloat(p.Lat, 'f', 6, 64)
		lon := strconv.FormatFloat(p.Lon, 'f', 6, 64)
		b.WriteString("📍 ")
		if inc.District != "" && !addition {
			b.WriteString(msg.For(lang).DistrictLabel(inc.District) + " · ")
		}
		fmt.Fprintf(&b, "geo:%s,%s · https://www.openstreetmap.org/?mlat=%s&mlon=%s#map=18/%s/%s", lat, lon, lat, lon, lat, lon)
		b.WriteString(" · " + msg.For(lang).PositionSource(sourceNames(lang, reps)) + "\n")
	case !addition:
		b.WriteString(msg.For(lang).NoPosition() + "\n")
	}
	if !addition {
		written := map[string]bool{} // the case's parts may flag alike
		for _, f := range c.flags {
			if line := "⚠️ " + flagText(lang, s.cfg.TimeZone, f) + "\n"; !written[line] {
				written[line] = true
				b.WriteString(line)
			}
		}
		if pol, ok := rs.Policy(inc.Policy); ok && pol.Confirmers > 1 {
			b.WriteString(msg.For(lang).TwoPerson(pol.Confirmers) + "\n")
		}
	}
	if s.media != nil {
		for _, rep := range reps {
			for _, m := range rep.Media {
				if m.DerivativeKey == "" {
					// No privacy-safe team copy (HEIC, PDF, video, undecodable):
					// the original is never linked in a room; dispatchers and the
					// team fetch it through the API, which checks their rights.
					b.WriteString(msg.For(lang).AttachmentNoPreview(m.Object.ContentType, m.Object.Size, inc.CaseNumber) + "\n")
					continue
				}
				u, err := s.media.PresignGet(ctx, m.DerivativeKey)
				if err != nil {
					s.log.WarnContext(ctx, "photo link failed", "case", inc.CaseNumber, "err", err)
					b.WriteString(msg.For(lang).AttachmentNoPreview(m.Object.ContentType, m.Object.Size, inc.CaseNumber) + "\n")
					continue
				}
				links = append(links, u)
				teamCopies = append(teamCopies, m.DerivativeKey)
				b.WriteString(msg.For(lang).PhotoLine(u) + "\n")
			}
		}
	}
	n := caseSeq(inc.CaseNumber)
	if inc.State == StateAcknowledged {
		// Taken (by both confirmers under the two-person rule): only resolving is left.
		b.WriteString(msg.For(lang).ActionsTaken(n))
	} else {
		b.WriteString(msg.For(lang).Actions(n, n))
	}
	return b.String(), links, teamCopies, nil
}

// caseReports lists the reports of an incident that are processed (or the
// first one), first report first.
func (s *Service) caseReports(ctx context.Context, incidentID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id FROM reports WHERE incident_id = $1 AND (kind = 'report' OR processed_at IS NOT NULL)
		ORDER BY kind <> 'report', received_at, id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("load incident reports: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("load incident reports: %w", err)
	}
	return ids, nil
}

// caseFlags loads the plausibility flags of an incident from its trail.
func (s *Service) caseFlags(ctx context.Context, incidentID uuid.UUID) ([]flag, error) {
	rows, err := s.pool.Query(ctx, `SELECT detail FROM incident_events WHERE incident_id = $1 AND kind = 'plausibility' ORDER BY id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("load flags: %w", err)
	}
	defer rows.Close()
	var flags []flag
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("scan flag: %w", err)
		}
		var d struct {
			Flag      string `json:"flag"`
			DistanceM int    `json:"distance_m"`
			Other     string `json:"other_case"`
			TakenAt   string `json:"taken_at"`
			AgeH      int    `json:"age_h"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			continue
		}
		f := flag{Kind: d.Flag, DistanceM: d.DistanceM, Other: d.Other, AgeH: d.AgeH}
		f.TakenAt, _ = time.Parse(time.RFC3339, d.TakenAt)
		flags = append(flags, f)
	}
	return flags, rows.Err()
}

// sourceNames lists where the positions of a case's reports came from.
func sourceNames(lang string, reps []Report) string {
	var names []string
	seen := map[string]bool{}
	for _, r := range reps {
		if r.Position == nil || r.PositionSource == "" || seen[r.PositionSource] {
			continue
		}
		seen[r.PositionSource] = true
		names = append(names, sourceName(msg.For(lang), r.PositionSource))
	}
	return strings.Join(names, ", ")
}

// sourceName names a position source (Report.PositionSource) for a post.
func sourceName(t msg.Texts, source string) string {
	switch source {
	case SourceEXIF:
		return t.SourceEXIF()
	case SourceXMP:
		return t.SourceXMP()
	case SourceAPI:
		return t.SourceAPI()
	case SourceGeoURI:
		return t.SourceGeoURI()
	case SourceXEP0080:
		return t.SourceXEP0080()
	}
	return source
}

// roomCorrectArgs: bring a case's room post up to date after a part
// joined: a correction of the post (XEP-0308), or an addition line.
type roomCorrectArgs struct {
	IncidentID uuid.UUID `json:"incident_id"`
	ReportID   uuid.UUID `json:"report_id"` // the part that joined
	Room       string    `json:"room"`
}

func (roomCorrectArgs) Kind() string                 { return "room_correct" }
func (roomCorrectArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: queueXMPP} }

// enqueueCorrections queues a correction for every room the case was posted in.
func (s *Service) enqueueCorrections(ctx context.Context, tx pgx.Tx, incident, report uuid.UUID) error {
	rows, err := tx.Query(ctx, `SELECT DISTINCT room FROM room_posts WHERE incident_id = $1 AND replaces IS NULL`, incident)
	if err != nil {
		return fmt.Errorf("load post rooms: %w", err)
	}
	rooms, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("load post rooms: %w", err)
	}
	for _, room := range rooms {
		if _, err := s.queue.InsertTx(ctx, tx, roomCorrectArgs{IncidentID: incident, ReportID: report, Room: room}, nil); err != nil {
			return fmt.Errorf("enqueue post correction: %w", err)
		}
	}
	return nil
}

type roomCorrectWorker struct {
	river.WorkerDefaults[roomCorrectArgs]
	s *Service
}

func (w *roomCorrectWorker) Timeout(*river.Job[roomCorrectArgs]) time.Duration {
	return 30 * time.Second
}

func (w *roomCorrectWorker) Work(ctx context.Context, job *river.Job[roomCorrectArgs]) error {
	return w.s.correctPost(ctx, job.Args)
}

// correctPost replaces the case's first post in the room with the case as
// it is now (XEP-0308 Last Message Correction: the replace element names
// the id of the original message, which Conversations, Dino, Gajim and
// Monal show in place). If the post is older than Config.CorrectionWindow
// or the case was taken, the part is posted as an addition line instead,
// so that nobody misses it.
func (s *Service) correctPost(ctx context.Context, a roomCorrectArgs) error {
	var origin string
	var postedAt *time.Time
	err := s.pool.QueryRow(ctx, `SELECT origin_id, posted_at FROM room_posts
		WHERE incident_id = $1 AND room = $2 AND replaces IS NULL ORDER BY origin_id LIMIT 1`,
		a.IncidentID, a.Room).Scan(&origin, &postedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find post to correct: %w", err)
	}
	if postedAt == nil {
		// The post itself is still on its way; it will show the part, but
		// a correction after it costs nothing and covers the race.
		return river.JobSnooze(300 * time.Millisecond)
	}
	var owner string
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(owner,'') FROM incidents WHERE id = $1`, a.IncidentID).Scan(&owner); err != nil {
		return fmt.Errorf("load incident: %w", err)
	}
	now := s.now()
	if owner != "" || now.Sub(*postedAt) > s.cfg.CorrectionWindow {
		return s.withTx(ctx, func(tx pgx.Tx) error {
			return s.enqueueRoomPostFor(ctx, tx, a.IncidentID, a.ReportID, a.Room, "")
		})
	}
	post := RoomPost{Room: a.Room, OriginID: "fg-" + mustV7().String(), Replaces: origin}
	if post.Body, post.Links, post.TeamCopies, err = s.renderPost(ctx, a.IncidentID, uuid.Nil, nil); err != nil {
		return err
	}
	stanzaID, err := s.msgr.PostToRoom(ctx, post)
	if err != nil {
		return fmt.Errorf("correct post in %s: %w", a.Room, err)
	}
	return s.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO room_posts (origin_id, incident_id, room, stanza_id, posted_at, replaces)
			VALUES ($1,$2,$3,$4,$5,$6)`, post.OriginID, a.IncidentID, a.Room, stanzaID, now, origin); err != nil {
			return fmt.Errorf("record correction: %w", err)
		}
		return insertEvent(ctx, tx, a.IncidentID, Event{At: now, Kind: "post_corrected", Actor: "fieldgate", Via: "xmpp", Detail: map[string]any{"room": a.Room, "report": a.ReportID.String()}})
	})
}
