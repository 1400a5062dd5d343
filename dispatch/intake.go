package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Limits on what a report may carry.
const (
	MaxTextRunes = 4000
	MaxMedia     = 20
)

// Intake commits a report durably and returns its case number. Nothing is
// sent to anyone before the transaction commits; processing (EXIF, routing,
// posting) continues in the job queue.
//
// XMPP messengers send photo, text and location as separate messages, so a
// message from the same sender to the same address within the assembly
// window joins the report being assembled; a later one, while the incident
// is open, becomes a follow-up. A message whose idempotency key was seen
// before returns the first receipt with Replayed set and stores nothing.
func (s *Service) Intake(ctx context.Context, in NewReport) (Receipt, error) {
	if err := s.validate(&in); err != nil {
		return Receipt{}, err
	}
	if in.IdempotencyKey != "" {
		if r, err := s.findByIdempotencyKey(ctx, s.pool, in); err == nil {
			return r, nil
		} else if !errors.Is(err, ErrNotFound) {
			return Receipt{}, err
		}
	} else {
		in.IdempotencyKey = "generated:" + uuid.NewString()
	}

	now := s.now()
	var rec Receipt
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		rec = Receipt{}
		// One sender's messages to one address are taken one at a time (on
		// any replica), so that concurrent parts of one report join it
		// instead of each opening a report of its own.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			in.Channel+"\n"+in.Sender+"\n"+in.Address); err != nil {
			return fmt.Errorf("lock sender: %w", err)
		}
		if in.Channel == ChannelXMPP {
			ok, err := s.appendToAssembling(ctx, tx, &in, now, &rec)
			if ok || err != nil {
				return err
			}
			ok, err = s.addFollowUp(ctx, tx, &in, now, &rec)
			if ok || err != nil {
				return err
			}
		}
		return s.insertNew(ctx, tx, &in, now, &rec)
	})
	if errors.Is(err, errReplay) {
		// A concurrent retry won the race; its transaction is the report.
		return s.findByIdempotencyKey(ctx, s.pool, in)
	}
	if err != nil {
		return Receipt{}, fmt.Errorf("intake: %w", err)
	}
	s.metric.accepted(in.Channel, in.Address, rec.Mode)
	s.log.InfoContext(ctx, "report accepted", "case", rec.CaseNumber, "report", rec.ReportID,
		"channel", in.Channel, "address", in.Address, "media", len(in.Media), "mode", rec.Mode)
	return rec, nil
}

// Modes of an accepted message.
const (
	ModeNew      = "new"      // opened a new report and incident
	ModeAppended = "appended" // joined the report being assembled
	ModeFollowUp = "followup" // added to an open incident after routing
)

func (s *Service) insertNew(ctx context.Context, tx pgx.Tx, in *NewReport, now time.Time, rec *Receipt) error {
	rec.ReportID, rec.IncidentID, rec.Mode = mustV7(), mustV7(), ModeNew
	var seq int
	year := now.In(s.cfg.TimeZone).Year()
	if err := tx.QueryRow(ctx, `
		INSERT INTO case_counters (year, last) VALUES ($1, 1)
		ON CONFLICT (year) DO UPDATE SET last = case_counters.last + 1
		RETURNING last`, year).Scan(&seq); err != nil {
		return fmt.Errorf("next case number: %w", err)
	}
	rec.CaseNumber = fmt.Sprintf("%d-%06d", year, seq)
	if _, err := tx.Exec(ctx, `
		INSERT INTO incidents (id, case_number, state, address, priority, created_at, updated_at)
		VALUES ($1, $2, 'received', $3, $4, $5, $5)`,
		rec.IncidentID, rec.CaseNumber, in.Address, priorityFor(in.Urgent), now); err != nil {
		return fmt.Errorf("insert incident: %w", err)
	}
	if err := s.insertReport(ctx, tx, in, now, rec, "report"); err != nil {
		return err
	}
	if err := insertEvent(ctx, tx, rec.IncidentID, now, "received", in.Sender, in.Channel, "", StateReceived,
		map[string]any{"address": in.Address, "media": len(in.Media)}); err != nil {
		return err
	}
	at := now
	if in.Channel == ChannelXMPP && s.cfg.AssemblyWindow > 0 {
		// Wait for the rest of the messenger's messages before routing.
		at = now.Add(s.cfg.AssemblyWindow)
		lang := in.Language
		if err := s.enqueueChat(ctx, tx, in.Address, in.Sender,
			T(lang, "received", rec.CaseNumber, int(s.cfg.AssemblyWindow.Seconds()))); err != nil {
			return err
		}
	}
	return s.enqueueProcessing(ctx, tx, rec.ReportID, at)
}

func (s *Service) insertReport(ctx context.Context, tx pgx.Tx, in *NewReport, now time.Time, rec *Receipt, kind string) error {
	var lat, lon, alt *float64
	if in.Position != nil {
		lat, lon, alt = &in.Position.Lat, &in.Position.Lon, in.Position.Alt
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO reports (id, incident_id, case_number, kind, channel, address, sender,
		                     language, body, lat, lon, alt, position_source, urgent, received_at, attributes)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)`,
		rec.ReportID, rec.IncidentID, rec.CaseNumber, kind, in.Channel, in.Address, in.Sender,
		in.Language, in.Text, lat, lon, alt, in.PositionSource, in.Urgent, now, nilIfEmpty(in.Attributes)); err != nil {
		return fmt.Errorf("insert report: %w", err)
	}
	return s.attach(ctx, tx, in, now, rec.ReportID)
}

// attach stores the message's idempotency key and media for a report.
func (s *Service) attach(ctx context.Context, tx pgx.Tx, in *NewReport, now time.Time, reportID uuid.UUID) error {
	tag, err := tx.Exec(ctx, `
		INSERT INTO idempotency_keys (channel, sender, key, report_id, created_at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT DO NOTHING`, in.Channel, in.Sender, in.IdempotencyKey, reportID, now)
	if err != nil {
		return fmt.Errorf("record idempotency key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errReplay
	}
	for _, m := range in.Media {
		if _, err := tx.Exec(ctx, `
			INSERT INTO media_objects (id, report_id, object_key, content_type, size_bytes, sha256, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7)`,
			mustV7(), reportID, m.Key, m.ContentType, m.Size, m.SHA256, now); err != nil {
			return fmt.Errorf("insert media object: %w", err)
		}
	}
	return nil
}

// appendToAssembling adds the message to the sender's report that is still
// inside its assembly window (not yet routed).
func (s *Service) appendToAssembling(ctx context.Context, tx pgx.Tx, in *NewReport, now time.Time, rec *Receipt) (bool, error) {
	if s.cfg.AssemblyWindow <= 0 {
		return false, nil
	}
	err := tx.QueryRow(ctx, `
		SELECT id, incident_id, case_number FROM reports
		WHERE channel = $1 AND sender = $2 AND address = $3 AND kind = 'report'
		  AND processed_at IS NULL AND received_at > $4
		ORDER BY received_at DESC LIMIT 1 FOR UPDATE`,
		in.Channel, in.Sender, in.Address, now.Add(-s.cfg.AssemblyWindow)).Scan(&rec.ReportID, &rec.IncidentID, &rec.CaseNumber)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find report being assembled: %w", err)
	}
	rec.Mode = ModeAppended
	var lat, lon, alt *float64
	if in.Position != nil {
		lat, lon, alt = &in.Position.Lat, &in.Position.Lon, in.Position.Alt
	}
	if _, err := tx.Exec(ctx, `
		UPDATE reports SET
		  body = CASE WHEN $2 = '' THEN body WHEN body = '' THEN $2 ELSE body || E'\n' || $2 END,
		  lat = coalesce(lat, $3), lon = coalesce(lon, $4), alt = CASE WHEN lat IS NULL THEN $5 ELSE alt END,
		  position_source = CASE WHEN lat IS NULL AND $3::double precision IS NOT NULL THEN $6 ELSE position_source END,
		  urgent = urgent OR $7
		WHERE id = $1`, rec.ReportID, in.Text, lat, lon, alt, in.PositionSource, in.Urgent); err != nil {
		return false, fmt.Errorf("append to report: %w", err)
	}
	if utf8.RuneCountInString(in.Text) > 0 {
		var n int
		if err := tx.QueryRow(ctx, `SELECT char_length(body) FROM reports WHERE id = $1`, rec.ReportID).Scan(&n); err != nil {
			return false, err
		}
		if n > MaxTextRunes {
			return false, errorf(ErrInvalid, "text too long: %d characters, at most %d", n, MaxTextRunes)
		}
	}
	return true, s.attach(ctx, tx, in, now, rec.ReportID)
}

// addFollowUp attaches the message to the sender's latest open incident at
// this address if it was routed within the follow-up window. A text that
// starts with "neu"/"new" always opens a new report instead.
func (s *Service) addFollowUp(ctx context.Context, tx pgx.Tx, in *NewReport, now time.Time, rec *Receipt) (bool, error) {
	if s.cfg.FollowUpWindow <= 0 || startsNewReport(in.Text) {
		return false, nil
	}
	err := tx.QueryRow(ctx, `
		SELECT r.incident_id, r.case_number FROM reports r JOIN incidents i ON i.id = r.incident_id
		WHERE r.channel = $1 AND r.sender = $2 AND r.address = $3 AND r.kind = 'report'
		  AND r.processed_at IS NOT NULL AND r.received_at > $4
		  AND i.state NOT IN ('resolved','merged','rejected')
		ORDER BY r.received_at DESC LIMIT 1`,
		in.Channel, in.Sender, in.Address, now.Add(-s.cfg.FollowUpWindow)).Scan(&rec.IncidentID, &rec.CaseNumber)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find open incident: %w", err)
	}
	rec.ReportID, rec.Mode = mustV7(), ModeFollowUp
	if err := s.insertReport(ctx, tx, in, now, rec, "followup"); err != nil {
		return false, err
	}
	if err := insertEvent(ctx, tx, rec.IncidentID, now, "followup", in.Sender, in.Channel, "", "",
		map[string]any{"media": len(in.Media)}); err != nil {
		return false, err
	}
	if err := s.completeLocation(ctx, tx, in, now, rec.IncidentID); err != nil {
		return false, err
	}
	if err := s.enqueueChat(ctx, tx, in.Address, in.Sender, T(in.Language, "followup_received", rec.CaseNumber)); err != nil {
		return false, err
	}
	return true, s.enqueueProcessing(ctx, tx, rec.ReportID, now)
}

// completeLocation gives a report that had none the position of its
// follow-up, and takes its incident out of needs_location.
func (s *Service) completeLocation(ctx context.Context, tx pgx.Tx, in *NewReport, now time.Time, incident uuid.UUID) error {
	if in.Position == nil {
		return nil
	}
	tag, err := tx.Exec(ctx, `
		UPDATE reports SET lat = $2, lon = $3, alt = $4, position_source = $5
		WHERE incident_id = $1 AND kind = 'report' AND lat IS NULL`,
		incident, in.Position.Lat, in.Position.Lon, in.Position.Alt, in.PositionSource)
	if err != nil {
		return fmt.Errorf("complete location: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	tag, err = tx.Exec(ctx, `UPDATE incidents SET state = 'routed', updated_at = $2 WHERE id = $1 AND state = 'needs_location'`, incident, now)
	if err != nil {
		return fmt.Errorf("leave needs location: %w", err)
	}
	from, to := State(""), State("")
	if tag.RowsAffected() == 1 {
		from, to = StateNeedsLocation, StateRouted
	}
	return insertEvent(ctx, tx, incident, now, "location_received", in.Sender, in.Channel, from, to,
		map[string]any{"source": in.PositionSource})
}

func startsNewReport(text string) bool {
	t := strings.ToLower(strings.TrimSpace(text))
	for _, p := range []string{"neu ", "neu:", "#neu", "new ", "new:", "#new"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return t == "neu" || t == "new"
}

func (s *Service) enqueueProcessing(ctx context.Context, tx pgx.Tx, reportID uuid.UUID, at time.Time) error {
	opts := processReportArgs{}.InsertOpts()
	opts.ScheduledAt = at
	if _, err := s.queue.InsertTx(ctx, tx, processReportArgs{ReportID: reportID}, &opts); err != nil {
		return fmt.Errorf("enqueue processing: %w", err)
	}
	return nil
}

var errReplay = errors.New("idempotency key already used")

func (s *Service) validate(in *NewReport) error {
	in.Address = strings.ToLower(strings.TrimSpace(in.Address))
	if in.Address == "" {
		return errorf(ErrInvalid, "missing function address (field 'to')")
	}
	rs := s.rules.Current()
	addr, ok := rs.Address(in.Address)
	if !ok {
		return errorf(ErrNotFound, "unknown function address %q; valid addresses: %s", in.Address, strings.Join(s.AddressNames(), ", "))
	}
	if in.Channel == ChannelXMPP && !addr.Allows(in.Sender) {
		return errorf(ErrForbidden, "sender may not write to %q", in.Address)
	}
	if in.Channel != ChannelAPI && in.Channel != ChannelXMPP && in.Channel != ChannelOpen311 {
		return errorf(ErrInvalid, "unknown channel %q", in.Channel)
	}
	if in.Sender == "" {
		return errorf(ErrInvalid, "missing sender")
	}
	if !utf8.ValidString(in.Text) {
		return errorf(ErrInvalid, "text is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(in.Text); n > MaxTextRunes {
		return errorf(ErrInvalid, "text too long: %d characters, at most %d", n, MaxTextRunes)
	}
	if strings.TrimSpace(in.Text) == "" && len(in.Media) == 0 && in.Position == nil {
		return errorf(ErrInvalid, "empty report: send a text, a photo or a location")
	}
	if len(in.Media) > MaxMedia {
		return errorf(ErrInvalid, "too many attachments: %d, at most %d", len(in.Media), MaxMedia)
	}
	if p := in.Position; p != nil {
		if !ValidPosition(p.Lat, p.Lon) {
			return errorf(ErrInvalid, "position out of range: lat must be in [-90,90], lon in [-180,180], and not 0,0")
		}
		if in.PositionSource == "" {
			in.PositionSource = SourceAPI
		}
	} else {
		in.PositionSource = ""
	}
	switch in.Language {
	case "":
		in.Language = addr.Language
		if in.Language == "" {
			in.Language = "de"
		}
	case "de", "en":
	default:
		in.Language = "de"
	}
	if len(in.IdempotencyKey) > 200 {
		return errorf(ErrInvalid, "idempotency key too long (at most 200 characters)")
	}
	if addr.Urgent {
		in.Urgent = true
	}
	return nil
}

// ValidPosition reports whether lat/lon is a usable WGS84 position. 0,0 is
// refused: it is what broken GPS chips and forms send, never a real report.
func ValidPosition(lat, lon float64) bool {
	if lat != lat || lon != lon { // NaN
		return false
	}
	if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return false
	}
	return !(lat == 0 && lon == 0)
}

// AddressNames lists the function addresses, sorted.
func (s *Service) AddressNames() []string {
	var names []string
	for _, a := range s.rules.Current().Addresses() {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	return names
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Service) findByIdempotencyKey(ctx context.Context, q querier, in NewReport) (Receipt, error) {
	var r Receipt
	err := q.QueryRow(ctx, `
		SELECT r.id, r.incident_id, r.case_number FROM idempotency_keys k JOIN reports r ON r.id = k.report_id
		WHERE k.channel = $1 AND k.sender = $2 AND k.key = $3`,
		in.Channel, in.Sender, in.IdempotencyKey).Scan(&r.ReportID, &r.IncidentID, &r.CaseNumber)
	if errors.Is(err, pgx.ErrNoRows) {
		return Receipt{}, ErrNotFound
	}
	if err != nil {
		return Receipt{}, fmt.Errorf("look up idempotency key: %w", err)
	}
	r.Replayed = true
	return r, nil
}

func insertEvent(ctx context.Context, tx pgx.Tx, incident uuid.UUID, at any, kind, actor, via string, from, to State, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	d, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("encode event detail: %w", err)
	}
	var fromS, toS *string
	if from != "" {
		f := string(from)
		fromS = &f
	}
	if to != "" {
		t := string(to)
		toS = &t
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO incident_events (incident_id, at, kind, actor, via, from_state, to_state, detail)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, incident, at, kind, actor, via, fromS, toS, d); err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	return nil
}

// nilIfEmpty stores SQL NULL, not JSON null, for a report without
// structured fields.
func nilIfEmpty(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

func priorityFor(urgent bool) string {
	if urgent {
		return "urgent"
	}
	return "normal"
}

func mustV7() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		// Only fails when the system's random source fails.
		panic(err)
	}
	return id
}
