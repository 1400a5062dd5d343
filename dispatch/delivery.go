package dispatch

import (
	"context"
	"fmt"
	"strings"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Delivery evidence kinds.
const (
	DeliveryReceived  = "alert_received"  // XEP-0184 receipt
	DeliveryDisplayed = "alert_displayed" // XEP-0333 displayed marker
)

// RecordDelivery files a receipt or read marker for a 1:1 alert as audit
// evidence that the person's device got (or showed) it. It never counts as
// taking the incident: that is always an explicit act. Message ids that
// are not ours are ignored, and so is evidence from anybody who was not
// alerted about that incident (from is compared as a bare JID with the
// alert targets) and a second receipt or marker of the same kind for the
// same message: evidence cannot be forged or flooded into the audit trail.
// Rate limiting per sender is the XMPP edge's job.
func (s *Service) RecordDelivery(ctx context.Context, messageID, from, kind string) error {
	rest, ok := strings.CutPrefix(messageID, "fgi-")
	if !ok || len(rest) < 36 {
		return nil
	}
	incident, err := uuid.Parse(rest[:36])
	if err != nil {
		return nil
	}
	if kind != DeliveryReceived && kind != DeliveryDisplayed {
		return newError(ErrInvalid, func(ts msg.Texts) string { return ts.UnknownDeliveryKind(kind) })
	}
	return s.withTx(ctx, func(tx pgx.Tx) error {
		var alerted, seen bool
		if err := tx.QueryRow(ctx, `SELECT
				EXISTS (SELECT 1 FROM incident_alerts WHERE incident_id = $1 AND kind = 'person' AND target = $2),
				EXISTS (SELECT 1 FROM incident_events WHERE incident_id = $1 AND kind = $3 AND detail->>'message' = $4)`,
			incident, strings.ToLower(from), kind, messageID).Scan(&alerted, &seen); err != nil {
			return fmt.Errorf("check alert: %w", err)
		}
		if !alerted || seen {
			return nil
		}
		return insertEvent(ctx, tx, incident, Event{At: s.now(), Kind: kind, Actor: from, Via: "xmpp", Detail: map[string]any{"message": messageID}})
	})
}
