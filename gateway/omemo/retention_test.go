package omemo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/gateway/omemo"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestForgetInactive: against real PostgreSQL, only what is kept about
// correspondents not heard from since the cut-off goes; recent sessions,
// their identities, pinned keys, fresh subscribers and the address's own
// keys stay, and a subscriber seen again is kept.
func TestForgetInactive(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	pg := omemo.NewPG(pool)
	sealer, err := omemo.NewSealer(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	m := omemo.New(pg, sealer, nil)
	if _, err := m.Maintain(ctx, "tiefbau"); err != nil { // the address's own device and keys
		t.Fatal(err)
	}
	now := time.Now()
	old, recent := now.Add(-200*24*time.Hour), now.Add(-time.Hour)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	// Sessions and identities: (jid, device, session last used, identity first seen, pinned).
	for _, c := range []struct {
		jid       string
		dev       int
		session   *time.Time
		firstSeen time.Time
		pinned    bool
	}{
		{"gone@stadt.example", 1, &old, old, false},      // forgotten: session and identity
		{"active@stadt.example", 2, &recent, old, false}, // stays: the session is in use
		{"pinned@stadt.example", 3, &old, old, true},     // session goes, the pinned key stays
		{"new@stadt.example", 4, nil, recent, false},     // stays: identity seen lately, no session yet
	} {
		if c.session != nil {
			exec(`INSERT INTO omemo_sessions (address, jid, device_id, record, updated_at) VALUES ('tiefbau', $1, $2, '\x00', $3)`,
				c.jid, c.dev, *c.session)
		}
		exec(`INSERT INTO omemo_identities (address, jid, device_id, identity_key, first_seen, pinned) VALUES ('tiefbau', $1, $2, '\x05', $3, $4)`,
			c.jid, c.dev, c.firstSeen, c.pinned)
	}
	for _, jid := range []string{"gone@stadt.example", "back@stadt.example", "fresh@stadt.example"} {
		if err := pg.Subscribe(ctx, "tiefbau", jid, 100); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE omemo_subscribers SET seen_at = $1 WHERE jid IN ('gone@stadt.example', 'back@stadt.example')`, old)
	// back@ subscribes again (a presence probe when its client comes online): seen now.
	if err := pg.Subscribe(ctx, "tiefbau", "back@stadt.example", 100); err != nil {
		t.Fatal(err)
	}

	f, err := pg.ForgetInactive(ctx, now.Add(-180*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := (omemo.Forgotten{Sessions: 2, Identities: 1, Subscribers: 1}); f != want {
		t.Errorf("forgot %+v, want %+v", f, want)
	}
	list := func(sql string) string {
		t.Helper()
		rows, err := pool.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return strings.Join(out, " ")
	}
	if got, want := list(`SELECT jid FROM omemo_sessions ORDER BY jid`), "active@stadt.example"; got != want {
		t.Errorf("sessions left: %q, want %q", got, want)
	}
	if got, want := list(`SELECT jid FROM omemo_identities ORDER BY jid`), "active@stadt.example new@stadt.example pinned@stadt.example"; got != want {
		t.Errorf("identities left: %q, want %q", got, want)
	}
	if got, want := list(`SELECT jid FROM omemo_subscribers ORDER BY jid`), "back@stadt.example fresh@stadt.example"; got != want {
		t.Errorf("subscribers left: %q, want %q", got, want)
	}
	// The address's own keys are untouched: it still has a bundle.
	if _, err := m.Bundle(ctx, "tiefbau"); err != nil {
		t.Errorf("own keys gone: %v", err)
	}
	// A second run finds nothing more.
	if f, err := pg.ForgetInactive(ctx, now.Add(-180*24*time.Hour)); err != nil || f.Total() != 0 {
		t.Errorf("second run forgot %+v (err %v), want nothing", f, err)
	}
}
