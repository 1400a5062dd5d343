package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Right of access (GDPR Art. 15)
//
// StoredAbout collects what the database holds about one person, named
// by the identifier fieldgate stores: a bare JID (messenger reporters,
// team members, console users), "token:<name>" (API and Open311 apps),
// or an e-mail address or phone number an Open311 citizen gave (kept only
// with open311.store_contact). `fieldgate privacy show` prints it as JSON
// and copies the person's photos. Reports that merely mention the person
// in their text are not found by it.

// PersonalData is everything stored about one subject, oldest first in
// each list. Times are UTC.
type PersonalData struct {
	Subject string `json:"subject"`
	// Reports the subject sent, or that name them as Open311 contact.
	Reports []SubjectReport `json:"reports"`
	// Trail is the audit trail's entries with the subject as actor
	// (take, resolve, reply, reassign …; confirmations included).
	Trail []SubjectAction `json:"trail"`
	// Owned are the case numbers of incidents the subject has taken.
	Owned []string `json:"owned"`
	// Alerts are escalation alerts sent to the subject.
	Alerts []SubjectAlert `json:"alerts"`
	// Languages are reply-language choices (per channel).
	Languages []SubjectLanguage `json:"languages"`
	// OMEMO is what the function addresses keep to write to the subject
	// encrypted (XEP-0384): sessions, identity keys, device-list
	// subscriptions.
	OMEMO []SubjectOMEMO `json:"omemo"`
	// Console lists the subject's console sessions and login links.
	Console []SubjectSignIn `json:"console"`
	// Messages are 1:1 messages to the subject that are still stored:
	// replies not sent yet, and alerts in the job queue.
	Messages []SubjectMessage `json:"messages"`
}

// SubjectReport is one stored report.
type SubjectReport struct {
	CaseNumber string            `json:"case_number"`
	Kind       string            `json:"kind"`    // report or followup
	Channel    string            `json:"channel"` // xmpp, api, open311
	Address    string            `json:"address"` // the function address written to
	Sender     string            `json:"sender"`
	ReceivedAt time.Time         `json:"received_at"`
	Text       string            `json:"text"`
	Position   *Position         `json:"position,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Media      []SubjectMedium   `json:"media"`
	// IncidentState and IncidentUpdatedAt say when retention deletes the
	// report: once the incident is closed and its period has passed.
	IncidentState     State     `json:"incident_state"`
	IncidentUpdatedAt time.Time `json:"incident_updated_at"`
}

// SubjectMedium is one photo or file of a report: the original as sent
// (with its metadata), and the team copy and thumbnail made from it.
type SubjectMedium struct {
	Key         string          `json:"key"` // S3 key of the original
	ContentType string          `json:"content_type"`
	SizeBytes   int64           `json:"size_bytes"`
	TeamCopy    string          `json:"team_copy,omitempty"`
	Thumbnail   string          `json:"thumbnail,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"` // what was read from it (EXIF: position, time, camera)
}

// SubjectAction is one audit trail entry.
type SubjectAction struct {
	CaseNumber string    `json:"case_number"`
	At         time.Time `json:"at"`
	Kind       string    `json:"kind"`
	Via        string    `json:"via"`
}

// SubjectAlert is one escalation alert.
type SubjectAlert struct {
	CaseNumber string    `json:"case_number"`
	Level      int       `json:"level"`
	At         time.Time `json:"at"`
}

// SubjectLanguage is one reply-language choice.
type SubjectLanguage struct {
	Channel  string    `json:"channel"`
	Language string    `json:"language"`
	SetAt    time.Time `json:"set_at"`
}

// SubjectOMEMO is what one function address keeps about the subject.
type SubjectOMEMO struct {
	Address    string    `json:"address"`
	What       string    `json:"what"` // session, identity or subscription
	DeviceID   int64     `json:"device_id,omitempty"`
	LastChange time.Time `json:"last_change"`
}

// SubjectSignIn is a console session or login link.
type SubjectSignIn struct {
	What      string    `json:"what"` // session or login_link
	Method    string    `json:"method,omitempty"`
	Name      string    `json:"name,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	UsedAt    time.Time `json:"used_at,omitzero"`
}

// SubjectMessage is a 1:1 message from a function address to the subject
// that fieldgate still holds: a reply or status message not sent yet
// (chat_outbox, until it is out; a day at most, see retainUnsentChats), or
// an escalation alert or owner notice of the job queue (river_job kind
// chat_message, whose arguments keep the text until river's cleaner
// deletes the job: an hour after it was sent (CompletedJobRetention), a
// week after it was given up).
type SubjectMessage struct {
	From      string    `json:"from"` // the function address
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
	// State is "unsent" (chat_outbox), or the queue job's state
	// (available, scheduled, retryable, running, completed, discarded,
	// cancelled).
	State string `json:"state"`
}

// StoredAbout returns what the database holds about subject (matched
// without regard to case; a JID with a resource is taken as its bare
// JID). An empty subject is an error.
func StoredAbout(ctx context.Context, q rowQuerier, subject string) (PersonalData, error) {
	subject = strings.ToLower(strings.TrimSpace(subject))
	if !strings.HasPrefix(subject, "token:") && strings.Contains(subject, "@") {
		subject, _, _ = strings.Cut(subject, "/")
	}
	if subject == "" {
		return PersonalData{}, fmt.Errorf("privacy: no subject given")
	}
	d := PersonalData{Subject: subject, Reports: []SubjectReport{}, Trail: []SubjectAction{}, Owned: []string{}, Alerts: []SubjectAlert{},
		Languages: []SubjectLanguage{}, OMEMO: []SubjectOMEMO{}, Console: []SubjectSignIn{}, Messages: []SubjectMessage{}}
	if err := subjectReports(ctx, q, &d); err != nil {
		return d, err
	}
	steps := []struct {
		what string
		sql  string
		scan func(pgx.Rows) error
	}{
		{"trail", `SELECT i.case_number, e.at, e.kind, e.via FROM incident_events e JOIN incidents i ON i.id = e.incident_id
			WHERE lower(e.actor) = $1
			UNION ALL SELECT i.case_number, c.at, 'confirmation', c.via FROM incident_confirmations c JOIN incidents i ON i.id = c.incident_id
			WHERE lower(c.actor) = $1 ORDER BY 2`, func(r pgx.Rows) error {
			var a SubjectAction
			err := r.Scan(&a.CaseNumber, &a.At, &a.Kind, &a.Via)
			d.Trail = append(d.Trail, a)
			return err
		}},
		{"owned", `SELECT case_number FROM incidents WHERE lower(owner) = $1 ORDER BY created_at`, func(r pgx.Rows) error {
			var c string
			err := r.Scan(&c)
			d.Owned = append(d.Owned, c)
			return err
		}},
		{"alerts", `SELECT i.case_number, a.level, a.at FROM incident_alerts a JOIN incidents i ON i.id = a.incident_id
			WHERE lower(a.target) = $1 ORDER BY a.at`, func(r pgx.Rows) error {
			var a SubjectAlert
			err := r.Scan(&a.CaseNumber, &a.Level, &a.At)
			d.Alerts = append(d.Alerts, a)
			return err
		}},
		{"languages", `SELECT channel, language, set_at FROM sender_languages WHERE lower(sender) = $1 ORDER BY set_at`, func(r pgx.Rows) error {
			var l SubjectLanguage
			err := r.Scan(&l.Channel, &l.Language, &l.SetAt)
			d.Languages = append(d.Languages, l)
			return err
		}},
		{"omemo", `SELECT address, 'session', device_id, updated_at FROM omemo_sessions WHERE lower(jid) = $1
			UNION ALL SELECT address, 'identity', device_id, first_seen FROM omemo_identities WHERE lower(jid) = $1
			UNION ALL SELECT address, 'subscription', 0, seen_at FROM omemo_subscribers WHERE lower(jid) = $1
			ORDER BY 4`, func(r pgx.Rows) error {
			var o SubjectOMEMO
			err := r.Scan(&o.Address, &o.What, &o.DeviceID, &o.LastChange)
			d.OMEMO = append(d.OMEMO, o)
			return err
		}},
		{"console", `SELECT 'session', method, display_name, created_at, expires_at, NULL::timestamptz FROM console_sessions WHERE lower(subject) = $1
			UNION ALL SELECT 'login_link', '', '', created_at, expires_at, used_at FROM console_login_links WHERE lower(subject) = $1
			ORDER BY 4`, func(r pgx.Rows) error {
			var s SubjectSignIn
			var used *time.Time
			err := r.Scan(&s.What, &s.Method, &s.Name, &s.CreatedAt, &s.ExpiresAt, &used)
			if used != nil {
				s.UsedAt = *used
			}
			d.Console = append(d.Console, s)
			return err
		}},
		{"messages", `SELECT from_addr, body, created_at, 'unsent' FROM chat_outbox WHERE lower(to_jid) = $1
			UNION ALL SELECT args->>'from', args->>'body', created_at, state::text FROM river_job
			WHERE kind = 'chat_message' AND lower(args->>'to') = $1
			ORDER BY 3`, func(r pgx.Rows) error {
			var m SubjectMessage
			err := r.Scan(&m.From, &m.Text, &m.CreatedAt, &m.State)
			d.Messages = append(d.Messages, m)
			return err
		}},
	}
	for _, st := range steps {
		rows, err := q.Query(ctx, st.sql, subject)
		if err != nil {
			return d, fmt.Errorf("privacy: %s: %w", st.what, err)
		}
		for rows.Next() {
			if err := st.scan(rows); err != nil {
				rows.Close()
				return d, fmt.Errorf("privacy: scan %s: %w", st.what, err)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return d, fmt.Errorf("privacy: %s: %w", st.what, err)
		}
	}
	return d, nil
}

// subjectReports adds the reports the subject sent or is the Open311
// contact of, with their media.
func subjectReports(ctx context.Context, q rowQuerier, d *PersonalData) error {
	rows, err := q.Query(ctx, `
		SELECT r.id, r.case_number, r.kind, r.channel, r.address, r.sender, r.received_at, r.body, r.lat, r.lon,
		       r.attributes, i.state, i.updated_at
		FROM reports r JOIN incidents i ON i.id = r.incident_id
		WHERE lower(r.sender) = $1 OR lower(r.attributes->>'contact_email') = $1 OR r.attributes->>'contact_phone' = $1
		ORDER BY r.received_at, r.id`, d.Subject)
	if err != nil {
		return fmt.Errorf("privacy: reports: %w", err)
	}
	var ids []uuid.UUID
	byID := map[uuid.UUID]int{}
	for rows.Next() {
		var id uuid.UUID
		var r SubjectReport
		var lat, lon *float64
		var attrs []byte
		if err := rows.Scan(&id, &r.CaseNumber, &r.Kind, &r.Channel, &r.Address, &r.Sender, &r.ReceivedAt, &r.Text, &lat, &lon,
			&attrs, &r.IncidentState, &r.IncidentUpdatedAt); err != nil {
			rows.Close()
			return fmt.Errorf("privacy: scan report: %w", err)
		}
		if lat != nil && lon != nil {
			r.Position = &Position{Lat: *lat, Lon: *lon}
		}
		if len(attrs) > 0 {
			if err := json.Unmarshal(attrs, &r.Attributes); err != nil {
				rows.Close()
				return fmt.Errorf("privacy: attributes of %s: %w", r.CaseNumber, err)
			}
		}
		r.Media = []SubjectMedium{}
		byID[id] = len(d.Reports)
		ids = append(ids, id)
		d.Reports = append(d.Reports, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("privacy: reports: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err = q.Query(ctx, `
		SELECT report_id, object_key, content_type, size_bytes, coalesce(derivative_key, ''), coalesce(thumb_key, ''), metadata
		FROM media_objects WHERE report_id = ANY($1) ORDER BY created_at, id`, ids)
	if err != nil {
		return fmt.Errorf("privacy: media: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var m SubjectMedium
		var md []byte
		if err := rows.Scan(&id, &m.Key, &m.ContentType, &m.SizeBytes, &m.TeamCopy, &m.Thumbnail, &md); err != nil {
			return fmt.Errorf("privacy: scan media: %w", err)
		}
		if len(md) > 0 {
			m.Metadata = md
		}
		r := &d.Reports[byID[id]]
		r.Media = append(r.Media, m)
	}
	return rows.Err()
}
