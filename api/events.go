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

// heartbeat keeps proxies from closing an idle stream.
const heartbeat = 15 * time.Second

// authRecheck is how often a stream checks that its session or token
// still holds: a logout, an expired session or a revoked token ends the
// stream within this time, not when the browser goes away.
const authRecheck = 5 * time.Second

// streamEvents serves GET /api/v1/events as server-sent events (HTML
// Living Standard §9.2, text/event-stream): one event "incident" per
// committed change of an incident the caller may see, with the audit
// event's id as the SSE id; "resync" when changes may have been missed
// (reload the list). The stream ends when the client falls behind; the
// browser's EventSource reconnects by itself.
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

	tick := time.NewTicker(heartbeat)
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
			fmt.Fprint(w, ": ping\n\n")
			w.Flush()
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
