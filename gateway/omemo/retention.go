package omemo

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Forgotten counts what ForgetInactive deleted.
type Forgotten struct {
	Sessions    int64 // Double Ratchet sessions with a correspondent's device
	Identities  int64 // identity keys kept by blind trust (pinned keys stay)
	Subscribers int64 // device-list subscribers (migration 00013)
}

// Total is the number of rows deleted.
func (f Forgotten) Total() int64 { return f.Sessions + f.Identities + f.Subscribers }

// ForgetInactive deletes what is kept about correspondents who have not
// been heard from since before (GDPR Art. 5(1)(e), storage limitation):
// sessions last used before it, device-list subscribers last seen before
// it, and the blindly trusted identity keys of devices that no longer
// have a session and were first seen before it. Keys an admin pinned
// (`fieldgate omemo trust`) stay. A correspondent who writes again after
// that starts a new session from the address's bundle, which every
// OMEMO client does on its own; its key is then trusted anew.
// The function addresses' own keys are never touched.
func (p *PG) ForgetInactive(ctx context.Context, before time.Time) (Forgotten, error) {
	var f Forgotten
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		steps := []struct {
			n   *int64
			sql string
		}{
			{&f.Sessions, `DELETE FROM omemo_sessions WHERE updated_at < $1`},
			{&f.Identities, `DELETE FROM omemo_identities i WHERE NOT i.pinned AND i.first_seen < $1
				AND NOT EXISTS (SELECT 1 FROM omemo_sessions s
					WHERE s.address = i.address AND s.jid = i.jid AND s.device_id = i.device_id)`},
			{&f.Subscribers, `DELETE FROM omemo_subscribers WHERE seen_at < $1`},
		}
		for _, s := range steps {
			tag, err := tx.Exec(ctx, s.sql, before)
			if err != nil {
				return err
			}
			*s.n = tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return Forgotten{}, fmt.Errorf("forget inactive OMEMO correspondents: %w", err)
	}
	return f, nil
}
