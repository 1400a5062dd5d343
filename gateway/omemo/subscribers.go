package omemo

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrTooManySubscribers means an address already has as many
// device-list subscribers as it may keep (Subscribe's limit).
var ErrTooManySubscribers = errors.New("omemo: the address has reached its cap of device-list subscribers")

// Subscribe records that jid (bare) is subscribed to the presence of
// address, and so to its device list (XEP-0163 §4.3: a presence
// subscription is a PEP subscription). Migration 00013. An address keeps
// at most limit subscribers: a new one beyond that is refused with
// ErrTooManySubscribers (one already recorded stays and gets nil). The
// count and the insert are serialised per address (a transaction-scoped
// advisory lock), so concurrent subscribers cannot overshoot the cap.
// A subscriber already recorded is marked as seen (ForgetInactive).
func (p *PG) Subscribe(ctx context.Context, address, jid string, limit int) error {
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('omemo_subscribers ' || $1, 0))`, address); err != nil {
			return err
		}
		var exists bool
		var n int
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM omemo_subscribers WHERE address = $1 AND jid = $2),
			(SELECT count(*) FROM omemo_subscribers WHERE address = $1)`, address, jid).Scan(&exists, &n); err != nil {
			return err
		}
		switch {
		case exists:
			_, err := tx.Exec(ctx, `UPDATE omemo_subscribers SET seen_at = now() WHERE address = $1 AND jid = $2`, address, jid)
			return err
		case n >= limit:
			return ErrTooManySubscribers
		}
		_, err := tx.Exec(ctx, `INSERT INTO omemo_subscribers (address, jid, subscribed_at) VALUES ($1, $2, now())
			ON CONFLICT (address, jid) DO NOTHING`, address, jid)
		return err
	})
	if err != nil {
		return fmt.Errorf("record subscriber of %s: %w", address, err)
	}
	return nil
}

// Subscribed reports whether jid (bare) is a recorded subscriber of address.
func (p *PG) Subscribed(ctx context.Context, address, jid string) (bool, error) {
	var ok bool
	if err := p.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM omemo_subscribers WHERE address = $1 AND jid = $2)`,
		address, jid).Scan(&ok); err != nil {
		return false, fmt.Errorf("look up subscriber of %s: %w", address, err)
	}
	return ok, nil
}

// Unsubscribe forgets a subscriber.
func (p *PG) Unsubscribe(ctx context.Context, address, jid string) error {
	if _, err := p.pool.Exec(ctx, `DELETE FROM omemo_subscribers WHERE address = $1 AND jid = $2`, address, jid); err != nil {
		return fmt.Errorf("forget subscriber of %s: %w", address, err)
	}
	return nil
}

// SetNotify records whether a subscriber's client asked for device-list
// notifications (its entity capabilities, XEP-0115, list
// eu.siacs.conversations.axolotl.devicelist+notify). It reports false
// for a JID that is not subscribed (nothing is recorded then). It also
// marks the subscriber as seen (ForgetInactive).
func (p *PG) SetNotify(ctx context.Context, address, jid string, notify bool) (bool, error) {
	tag, err := p.pool.Exec(ctx, `UPDATE omemo_subscribers SET notify = $3, seen_at = now() WHERE address = $1 AND jid = $2`, address, jid, notify)
	if err != nil {
		return false, fmt.Errorf("record notify of a subscriber of %s: %w", address, err)
	}
	return tag.RowsAffected() > 0, nil
}

// Notified lists the subscribers of address that asked for device-list
// notifications.
func (p *PG) Notified(ctx context.Context, address string) ([]string, error) {
	rows, err := p.pool.Query(ctx, `SELECT jid FROM omemo_subscribers WHERE address = $1 AND notify ORDER BY jid`, address)
	if err != nil {
		return nil, fmt.Errorf("load subscribers of %s: %w", address, err)
	}
	jids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("load subscribers of %s: %w", address, err)
	}
	return jids, nil
}

// Announced returns the device last announced for address (ok false if
// none was).
func (p *PG) Announced(ctx context.Context, address string) (uint32, bool, error) {
	var dev int64
	err := p.pool.QueryRow(ctx, `SELECT device_id FROM omemo_announced WHERE address = $1`, address).Scan(&dev)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("load announced device of %s: %w", address, err)
	}
	return uint32(dev), true, nil
}

// SetAnnounced records the device announced for address.
func (p *PG) SetAnnounced(ctx context.Context, address string, device uint32) error {
	if _, err := p.pool.Exec(ctx, `INSERT INTO omemo_announced (address, device_id, announced_at) VALUES ($1, $2, now())
		ON CONFLICT (address) DO UPDATE SET device_id = excluded.device_id, announced_at = excluded.announced_at`,
		address, int64(device)); err != nil {
		return fmt.Errorf("record announced device of %s: %w", address, err)
	}
	return nil
}
