package gateway

import (
	"context"
	"time"

	"github.com/fieldgate/fieldgate/gateway/omemo"
)

// OMEMOContacts deletes the OMEMO state kept about correspondents who
// stopped writing (*omemo.PG).
type OMEMOContacts interface {
	ForgetInactive(ctx context.Context, before time.Time) (omemo.Forgotten, error)
}

var _ OMEMOContacts = (*omemo.PG)(nil)

// omemoHousekeeping is how often a connected gateway refreshes the
// addresses' keys (signed pre-key rotation, one-time pre-keys) and
// forgets inactive correspondents.
const omemoHousekeeping = 24 * time.Hour

// defaultContactRetention is how long OMEMO state about a correspondent
// is kept after they were last heard from, unless set: the default
// retention period of incidents (dispatch.RetentionConfig).
const defaultContactRetention = 180 * 24 * time.Hour

// ForgetOMEMOContactsAfter makes the connected gateway delete, at start
// and then once a day, the OMEMO sessions, blindly trusted identity keys
// and device-list subscribers of correspondents not heard from for
// after (0: 180 days); see omemo.PG.ForgetInactive. Call after
// EnableOMEMO and before Run; without it nothing is forgotten.
func (g *Gateway) ForgetOMEMOContactsAfter(c OMEMOContacts, after time.Duration) {
	if g.omemo == nil {
		return
	}
	if after <= 0 {
		after = defaultContactRetention
	}
	g.omemo.contacts, g.omemo.contactRetention = c, after
}

// housekeep runs while one component session lasts (ctx ends with it):
// it prepares the keys at once and again once a day, so that a gateway
// that stays connected for weeks still rotates its signed pre-keys, and
// forgets inactive correspondents each time.
func (e *omemoEdge) housekeep(ctx context.Context, g *Gateway) {
	t := time.NewTicker(omemoHousekeeping)
	defer t.Stop()
	for {
		e.prepare(ctx, g)
		e.forgetInactive(ctx, g)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// forgetInactive deletes what is kept about correspondents not heard
// from within the contact retention period, and logs the counts only.
func (e *omemoEdge) forgetInactive(ctx context.Context, g *Gateway) {
	if e.contacts == nil {
		return
	}
	f, err := e.contacts.ForgetInactive(ctx, time.Now().Add(-e.contactRetention))
	if err != nil {
		if ctx.Err() == nil {
			g.log.Warn("omemo: inactive correspondents not forgotten; retried in a day or at the next connect", "err", err)
		}
		return
	}
	if f.Total() > 0 {
		g.log.Info("omemo: forgot inactive correspondents", "sessions", f.Sessions, "identities", f.Identities,
			"subscribers", f.Subscribers, "inactive_for", e.contactRetention.String())
	}
}
