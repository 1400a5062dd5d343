package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/google/uuid"
)

// notifyChannel is the PostgreSQL channel the incident_events trigger
// (migration 00007) notifies with "<event id>,<incident id>" on commit.
const notifyChannel = "fieldgate_incident_events"

// ChangeResync is the Kind of a change that says "you may have missed
// changes, reload": sent after the feed lost its database connection or a
// subscriber fell behind.
const ChangeResync = "resync"

// IncidentChange is one committed audit event and the incident as it is
// after it, as the event stream (GET /api/v1/events) sends it.
type IncidentChange struct {
	EventID  int64
	Kind     string // the audit event's kind ("received", "take", "reassigned", ...) or ChangeResync
	At       time.Time
	Incident IncidentSummary
}

// ChangeFeed fans committed incident changes out to subscribers. Every
// replica runs one: PostgreSQL LISTEN/NOTIFY delivers each commit to all
// replicas, so a viewer connected anywhere sees changes made anywhere.
type ChangeFeed struct {
	svc *Service

	mu   sync.Mutex
	subs map[*Subscription]struct{}
	// listening is closed once the first LISTEN is in place (tests wait on it).
	listening chan struct{}
	once      sync.Once
}

// Subscription receives the changes of the incidents its scope may see.
type Subscription struct {
	// C delivers changes; it is closed when the subscriber fell behind by
	// more than its buffer (the client should reconnect and reload) or
	// Close was called.
	C     <-chan IncidentChange
	c     chan IncidentChange
	scope []string // nil = all teams
	feed  *ChangeFeed
	once  sync.Once
}

// NewChangeFeed returns the service's change feed; run it with Run.
func (s *Service) NewChangeFeed() *ChangeFeed {
	return &ChangeFeed{svc: s, subs: map[*Subscription]struct{}{}, listening: make(chan struct{})}
}

// Subscribe returns a subscription to the changes of incidents of the
// teams in scope (nil = every team, for dispatchers). buffer bounds how far
// the subscriber may lag; default 256.
func (f *ChangeFeed) Subscribe(scope []string, buffer int) *Subscription {
	if buffer <= 0 {
		buffer = 256
	}
	c := make(chan IncidentChange, buffer)
	sub := &Subscription{C: c, c: c, scope: scope, feed: f}
	f.mu.Lock()
	f.subs[sub] = struct{}{}
	f.mu.Unlock()
	return sub
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	s.closeLocked()
}

func (s *Subscription) closeLocked() {
	s.once.Do(func() {
		delete(s.feed.subs, s)
		close(s.c)
	})
}

// Listening is closed once the feed listens for the first time.
func (f *ChangeFeed) Listening() <-chan struct{} { return f.listening }

// Run listens until ctx ends, reconnecting after a lost connection (and
// then telling every subscriber to resync).
func (f *ChangeFeed) Run(ctx context.Context) error {
	lost := false
	for {
		err := f.listen(ctx, lost)
		if ctx.Err() != nil {
			return nil
		}
		f.svc.log.WarnContext(ctx, "change feed: connection lost; reconnecting", "err", err)
		lost = true
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func (f *ChangeFeed) listen(ctx context.Context, resync bool) error {
	pooled, err := f.svc.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	// A LISTENing connection must not go back to the pool.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	f.once.Do(func() { close(f.listening) })
	if resync {
		f.broadcast(IncidentChange{Kind: ChangeResync, At: f.svc.now()}, true)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if !f.watched() {
			// Nobody is subscribed: loading the change (two queries, one
			// of them the list query) would be work for no one.
			continue
		}
		ch, err := f.load(ctx, n.Payload)
		if err != nil {
			if errors.Is(err, ErrNotFound) { // deleted by retention meanwhile
				continue
			}
			f.svc.log.WarnContext(ctx, "change feed: load change", "err", err)
			continue
		}
		f.broadcast(ch, false)
	}
}

// watched reports whether anyone is subscribed.
func (f *ChangeFeed) watched() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs) > 0
}

// load reads the event and its incident named by a notification payload.
func (f *ChangeFeed) load(ctx context.Context, payload string) (IncidentChange, error) {
	idText, incText, ok := strings.Cut(payload, ",")
	eventID, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		return IncidentChange{}, fmt.Errorf("bad notification payload %q", payload)
	}
	incID, err := uuid.Parse(incText)
	if err != nil {
		return IncidentChange{}, fmt.Errorf("bad notification payload %q", payload)
	}
	ch := IncidentChange{EventID: eventID}
	if err := f.svc.pool.QueryRow(ctx, `SELECT kind, at FROM incident_events WHERE id = $1`, eventID).Scan(&ch.Kind, &ch.At); err != nil {
		return IncidentChange{}, fmt.Errorf("load event: %w", err)
	}
	page, err := f.svc.ListIncidents(ctx, IncidentFilter{Status: StatusAll, ids: []uuid.UUID{incID}, Limit: 1})
	if err != nil {
		return IncidentChange{}, err
	}
	if len(page.Items) == 0 {
		return IncidentChange{}, newError(errNoIncident, msg.Texts.IncidentNotFound)
	}
	ch.Incident = page.Items[0]
	return ch, nil
}

// broadcast hands ch to every subscriber whose scope covers its team.
// A subscriber whose buffer is full is closed rather than waited for: one
// slow browser must never hold up the others.
func (f *ChangeFeed) broadcast(ch IncidentChange, all bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for sub := range f.subs {
		if !all && !sub.Sees(ch.Incident.Team) {
			continue
		}
		select {
		case sub.c <- ch:
		default:
			sub.closeLocked()
		}
	}
}

// Sees reports whether the subscription's scope covers a team's incidents.
func (s *Subscription) Sees(team string) bool {
	return s.scope == nil || (team != "" && slices.Contains(s.scope, team))
}
