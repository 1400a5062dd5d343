package dispatch

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
		batch, err := gather(ctx, conn)
		if err != nil {
			return err
		}
		if !f.watched() {
			// Nobody is subscribed: loading the changes would be work
			// for no one.
			continue
		}
		changes, err := f.load(ctx, batch)
		if err != nil {
			f.svc.log.WarnContext(ctx, "change feed: load changes", "err", err)
			continue
		}
		for _, ch := range changes {
			f.broadcast(ch, false)
		}
	}
}

// Gathering notifications: after the first, the feed takes whatever else
// arrives within feedGatherWait of the previous one, up to feedBatchMax,
// and loads them together. A lone change waits feedGatherWait at most; a
// burst (a storm night: several audit events per report, hundreds of
// reports a second) costs two queries per batch instead of two per event,
// so the feed keeps up instead of falling ever further behind.
const (
	feedGatherWait = 2 * time.Millisecond
	feedBatchMax   = 256
)

// gather waits for the next notification and returns it with those that
// follow it closely (see feedGatherWait), in commit order.
func gather(ctx context.Context, conn *pgx.Conn) ([]*pgconn.Notification, error) {
	n, err := conn.WaitForNotification(ctx)
	if err != nil {
		return nil, err
	}
	batch := []*pgconn.Notification{n}
	for len(batch) < feedBatchMax {
		wctx, cancel := context.WithTimeout(ctx, feedGatherWait)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			batch = append(batch, n)
		case ctx.Err() == nil && pgconn.Timeout(err):
			return batch, nil // quiet for feedGatherWait: the connection stays usable
		default:
			return nil, err
		}
	}
	return batch, nil
}

// watched reports whether anyone is subscribed.
func (f *ChangeFeed) watched() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs) > 0
}

// load reads the events named by a batch of notification payloads
// ("<event id>,<incident id>") and their incidents as they are now, in two
// queries, and returns the changes in the batch's order. An event whose
// incident is gone (deleted by retention meanwhile) is left out; a payload
// that does not parse is logged and left out.
func (f *ChangeFeed) load(ctx context.Context, batch []*pgconn.Notification) ([]IncidentChange, error) {
	eventIDs := make([]int64, 0, len(batch))
	incidentOf := make(map[int64]uuid.UUID, len(batch))
	var incidentIDs []uuid.UUID
	for _, n := range batch {
		eventID, incID, err := parseChangePayload(n.Payload)
		if err != nil {
			f.svc.log.WarnContext(ctx, "change feed: skipped a notification", "err", err)
			continue
		}
		eventIDs = append(eventIDs, eventID)
		incidentOf[eventID] = incID
		if !slices.Contains(incidentIDs, incID) {
			incidentIDs = append(incidentIDs, incID)
		}
	}
	if len(eventIDs) == 0 {
		return nil, nil
	}
	type event struct {
		kind string
		at   time.Time
	}
	events := make(map[int64]event, len(eventIDs))
	rows, err := f.svc.pool.Query(ctx, `SELECT id, kind, at FROM incident_events WHERE id = ANY($1)`, eventIDs)
	if err != nil {
		return nil, fmt.Errorf("load events: %w", err)
	}
	for rows.Next() {
		var id int64
		var e event
		if err := rows.Scan(&id, &e.kind, &e.at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load events: %w", err)
		}
		events[id] = e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load events: %w", err)
	}
	page, err := f.svc.ListIncidents(ctx, IncidentFilter{Status: StatusAll, ids: incidentIDs, Limit: len(incidentIDs)})
	if err != nil {
		return nil, err
	}
	incidents := make(map[uuid.UUID]IncidentSummary, len(page.Items))
	for _, it := range page.Items {
		incidents[it.ID] = it
	}
	changes := make([]IncidentChange, 0, len(eventIDs))
	for _, id := range eventIDs {
		e, ok := events[id]
		inc, found := incidents[incidentOf[id]]
		if !ok || !found {
			continue // deleted by retention meanwhile
		}
		changes = append(changes, IncidentChange{EventID: id, Kind: e.kind, At: e.at, Incident: inc})
	}
	return changes, nil
}

// parseChangePayload reads a notification payload "<event id>,<incident id>"
// (migration 00007's trigger).
func parseChangePayload(payload string) (int64, uuid.UUID, error) {
	idText, incText, ok := strings.Cut(payload, ",")
	eventID, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		return 0, uuid.UUID{}, fmt.Errorf("bad notification payload %q", payload)
	}
	incID, err := uuid.Parse(incText)
	if err != nil {
		return 0, uuid.UUID{}, fmt.Errorf("bad notification payload %q", payload)
	}
	return eventID, incID, nil
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
