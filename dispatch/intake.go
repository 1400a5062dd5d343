package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
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
// posting) continues in the job queue. A report whose idempotency key was
// seen before returns the first receipt with Replayed set.
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
	rec := Receipt{ReportID: mustV7(), IncidentID: mustV7()}
	err := s.withTx(ctx, func(tx pgx.Tx) error {
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
		var lat, lon, alt *float64
		if in.Position != nil {
			lat, lon, alt = &in.Position.Lat, &in.Position.Lon, in.Position.Alt
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO reports (id, incident_id, case_number, channel, address, sender, idempotency_key,
			                     language, body, lat, lon, alt, position_source, urgent, received_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
			ON CONFLICT (channel, sender, idempotency_key) DO NOTHING`,
			rec.ReportID, rec.IncidentID, rec.CaseNumber, in.Channel, in.Address, in.Sender, in.IdempotencyKey,
			in.Language, in.Text, lat, lon, alt, in.PositionSource, in.Urgent, now)
		if err != nil {
			return fmt.Errorf("insert report: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errReplay
		}
		for _, m := range in.Media {
			if _, err := tx.Exec(ctx, `
				INSERT INTO media_objects (id, report_id, object_key, content_type, size_bytes, sha256, created_at)
				VALUES ($1,$2,$3,$4,$5,$6,$7)`,
				mustV7(), rec.ReportID, m.Key, m.ContentType, m.Size, m.SHA256, now); err != nil {
				return fmt.Errorf("insert media object: %w", err)
			}
		}
		if err := insertEvent(ctx, tx, rec.IncidentID, now, "received", in.Sender, in.Channel, "", StateReceived,
			map[string]any{"address": in.Address, "media": len(in.Media)}); err != nil {
			return err
		}
		_, err = s.queue.InsertTx(ctx, tx, processReportArgs{ReportID: rec.ReportID}, nil)
		if err != nil {
			return fmt.Errorf("enqueue processing: %w", err)
		}
		return nil
	})
	if errors.Is(err, errReplay) {
		// A concurrent retry won the race; its transaction is the report.
		return s.findByIdempotencyKey(ctx, s.pool, in)
	}
	if err != nil {
		return Receipt{}, fmt.Errorf("intake: %w", err)
	}
	s.metric.reportsAccepted.WithLabelValues(in.Channel).Inc()
	s.log.InfoContext(ctx, "report accepted", "case", rec.CaseNumber, "report", rec.ReportID,
		"channel", in.Channel, "address", in.Address, "media", len(in.Media))
	return rec, nil
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
	if in.Channel != ChannelAPI && in.Channel != ChannelXMPP {
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
		SELECT id, incident_id, case_number FROM reports
		WHERE channel = $1 AND sender = $2 AND idempotency_key = $3`,
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
