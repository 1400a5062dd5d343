package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/dispatch"
)

// Changes is the live feed of committed incident changes
// (dispatch.ChangeFeed).
type Changes interface {
	Subscribe(scope []string, buffer int) *dispatch.Subscription
}

var _ Changes = (*dispatch.ChangeFeed)(nil)

// changeJSON is the data of one server-sent event.
type changeJSON struct {
	Kind     string               `json:"kind"`
	At       time.Time            `json:"at"`
	Incident *incidentSummaryJSON `json:"incident,omitempty"`
}

// DefaultEventsHeartbeat is how often an event stream sends its
// heartbeat event (Config.EventsHeartbeat).
const DefaultEventsHeartbeat = 15 * time.Second

// heartbeatJSON is the data of a "heartbeat" event: the interval until
// the next one, so that a client can tell a stream that stalled (a proxy
// that buffers, a connection half-open after a laptop slept or the
// network changed) from a quiet one. SSE comments would keep proxies
// from closing the stream too, but EventSource never shows them to the
// page, so a page could not tell.
type heartbeatJSON struct {
	IntervalMS int64     `json:"interval_ms"`
	At         time.Time `json:"at"`
}

// authRecheck is how often a stream checks that its session or token
// still holds: a logout, an expired session or a revoked token ends the
// stream within this time, not when the browser goes away.
const authRecheck = 5 * time.Second

// streamEvents serves GET /api/v1/events as server-sent events (HTML
// Living Standard §9.2, text/event-stream): one event "incident" per
// committed change of an incident the caller may see, with the audit
// event's id as the SSE id; "resync" when changes may have been missed
// (reload the list); "heartbeat" ({interval_ms, at}) when the stream
// opens and every Config.EventsHeartbeat after: a client that has seen
// nothing for well over interval_ms should close the stream, open it
// again and reload, as after "resync". The stream ends when the client
// falls behind; the browser's EventSource reconnects by itself.
func (s *Server) streamEvents(c *gin.Context) {
	tok := token(c)
	scope, ok := viewScope(tok)
	if !ok {
		problem(c, probForbidden, msg.Texts.EventsForbidden)
		return
	}
	if s.cfg.Changes == nil {
		problem(c, probUnavailable, msg.Texts.EventsDisabled)
		return
	}
	sub := s.cfg.Changes.Subscribe(scope, 0)
	defer sub.Close()

	w := c.Writer
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	// A first comment and retry hint, so the client knows it is connected.
	fmt.Fprint(w, ": fieldgate events\nretry: 2000\n\n")
	w.Flush()
	if isHead(c.Request) { // no content follows; the stream would never end
		return
	}

	every := s.cfg.EventsHeartbeat
	beat := func() {
		writeEvent(w, 0, "heartbeat", heartbeatJSON{IntervalMS: every.Milliseconds(), At: s.now()})
	}
	beat()
	tick := time.NewTicker(every)
	defer tick.Stop()
	recheck := time.NewTicker(authRecheck)
	defer recheck.Stop()
	ctx := c.Request.Context()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closing: // the server shuts down
			return
		case <-recheck.C:
			if !s.stillAuthorized(c) {
				return
			}
		case <-tick.C:
			beat()
		case ch, open := <-sub.C:
			if !open {
				writeEvent(w, 0, "resync", changeJSON{Kind: dispatch.ChangeResync, At: s.now()})
				return
			}
			if ch.Kind == dispatch.ChangeResync {
				writeEvent(w, 0, "resync", changeJSON{Kind: ch.Kind, At: ch.At})
				continue
			}
			if !mayView(tok, ch.Incident.Team) { // the feed filters already; check again at the edge
				continue
			}
			sum := toSummaryJSON(ch.Incident)
			writeEvent(w, ch.EventID, "incident", changeJSON{Kind: ch.Kind, At: ch.At, Incident: &sum})
		}
	}
}

func writeEvent(w gin.ResponseWriter, id int64, event string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		return
	}
	if id > 0 {
		fmt.Fprintf(w, "id: %d\n", id)
	}
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
	w.Flush()
}
