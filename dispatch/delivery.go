package dispatch

import (
	"context"
	"fmt"
	"strings"

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
// are not ours are ignored.
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
		return errorf(ErrInvalid, "unknown delivery kind %q", kind)
	}
	return s.withTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incidents WHERE id = $1)`, incident).Scan(&exists); err != nil {
			return fmt.Errorf("check incident: %w", err)
		}
		if !exists {
			return nil
		}
		return insertEvent(ctx, tx, incident, Event{At: s.now(), Kind: kind, Actor: from, Via: "xmpp", Detail: map[string]any{"message": messageID}})
	})
}
