package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// CaseByPost returns the case number of the incident a room post belongs
// to, by the room's stanza-id or by our own message id (origin-id), which
// is what clients reference in replies (XEP-0461) and reactions (XEP-0444).
func (s *Service) CaseByPost(ctx context.Context, room, id string) (string, error) {
	var c string
	err := s.pool.QueryRow(ctx, `
		SELECT i.case_number FROM room_posts p JOIN incidents i ON i.id = p.incident_id
		WHERE p.room = $1 AND (p.stanza_id = $2 OR p.origin_id = $2)
		LIMIT 1`, strings.ToLower(room), id).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", newError(ErrNotFound, msg.Texts.NotAnIncidentPost)
	}
	if err != nil {
		return "", fmt.Errorf("find post: %w", err)
	}
	return c, nil
}

// Incident returns an incident by a case reference ("2026-000042", "42").
func (s *Service) Incident(ctx context.Context, ref string) (Incident, error) {
	return incidentByRef(ctx, s.pool, ref, false)
}

// roomCommandKeep is how long a claimed room command is remembered: longer
// than the archive a gateway reads when it joins a room (gateway
// roomCatchUpWindow), so a command is never carried out twice.
const roomCommandKeep = time.Hour

// RoomClaim names the team-room message a command was written in, by the
// room's stanza-id (XEP-0359), so that the command is carried out once
// whichever gateway sees it first: live, or in the room's archive
// (XEP-0313) when the next one joins. A command given with a RoomClaim
// claims it in the transaction of its effect: one that fails or whose
// process dies before the commit leaves the message unclaimed, and the
// archive's reader carries it out. The zero RoomClaim claims nothing
// (a command from the API or a 1:1 chat).
type RoomClaim struct {
	Room     string // the room's bare JID
	StanzaID string // the room's stanza-id of the message
	// ArchivedAt is when the room archived a message read from its
	// archive (zero for a live one): one archived before the claims began
	// (the migration that made them) is never claimed, since the gateway
	// that carried it out then claimed nothing.
	ArchivedAt time.Time
}

// ErrClaimed is the error of a command whose room message (RoomClaim) was
// claimed before: carried out, or refused, by this or another gateway.
// Nothing was done; nobody is to be told.
var ErrClaimed = errors.New("room command claimed before")

// ClaimRoomCommand claims the room message with the room's stanza-id
// (XEP-0359) on its own, for a command that had no effect to commit it
// with (refused, or failed and its writer told so): then no gateway that
// joins carries it out from the room's archive. It returns true the first
// time, false if it was claimed before: carried out live by this or
// another gateway, or already read from the room's archive (XEP-0313) by
// a gateway that joined. archivedAt is as RoomClaim.ArchivedAt.
func (s *Service) ClaimRoomCommand(ctx context.Context, room, stanzaID string, archivedAt time.Time) (bool, error) {
	first, err := claimRoomMessage(ctx, s.pool, RoomClaim{Room: room, StanzaID: stanzaID, ArchivedAt: archivedAt})
	if err != nil {
		return false, fmt.Errorf("claim room command: %w", err)
	}
	return first, nil
}

// claimInTx claims c in the transaction of a command's effect, first
// thing (so two gateways' transactions for one message queue on the
// claim's key before either locks an incident): ErrClaimed if it was
// claimed before. The zero RoomClaim claims nothing.
func claimInTx(ctx context.Context, tx pgx.Tx, c RoomClaim) error {
	if c.StanzaID == "" {
		return nil
	}
	first, err := claimRoomMessage(ctx, tx, c)
	switch {
	case err != nil:
		return fmt.Errorf("claim room command: %w", err)
	case !first:
		return ErrClaimed
	}
	return nil
}

// claimRoomMessage inserts the claim of c (true: the first). Claims older
// than roomCommandKeep are deleted on the way (no personal data: room
// and id), skipping any another transaction holds, so that claims never
// wait for each other over old rows.
func claimRoomMessage(ctx context.Context, db batchSender, c RoomClaim) (bool, error) {
	var at *time.Time
	if !c.ArchivedAt.IsZero() {
		at = &c.ArchivedAt
	}
	var b pgx.Batch
	b.Queue(`DELETE FROM room_commands WHERE (room, stanza_id) IN (SELECT room, stanza_id FROM room_commands
		WHERE claimed_at < now() - $1 * interval '1 second' AND room <> '' LIMIT 100 FOR UPDATE SKIP LOCKED)`, roomCommandKeep.Seconds())
	claim := b.Queue(`INSERT INTO room_commands (room, stanza_id)
		SELECT $1, $2 WHERE $3::timestamptz IS NULL
			OR $3 >= (SELECT claimed_at FROM room_commands WHERE room = '' AND stanza_id = 'claims-since')
		ON CONFLICT DO NOTHING`, strings.ToLower(c.Room), c.StanzaID, at)
	first := false
	claim.Exec(func(tag pgconn.CommandTag) error {
		first = tag.RowsAffected() == 1
		return nil
	})
	if err := db.SendBatch(ctx, &b).Close(); err != nil {
		return false, err
	}
	return first, nil
}
