package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"mellium.im/xmpp/history"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/fieldgate/fieldgate/dispatch"
)

// Bounds of an archive search (XEP-0313) for one post.
const (
	mamPageSize = 100              // results per page (XEP-0059 max)
	mamMaxPages = 50               // pages searched before giving up
	mamTimeout  = 20 * time.Second // for the whole search
)

// mamResult is a message the archive sends for each match of a query
// (XEP-0313 §5.1.1): the room's stanza-id as id, the message forwarded.
type mamResult struct {
	QueryID   string `xml:"queryid,attr"`
	ID        string `xml:"id,attr"`
	Forwarded struct {
		Message struct {
			From     string  `xml:"from,attr"`
			OriginID *idElem `xml:"urn:xmpp:sid:0 origin-id"`
		} `xml:"message"`
	} `xml:"urn:xmpp:forward:0 forwarded"`
}

// mamSearch is one running search: the handler fills it while the query's
// results arrive, before the query's IQ result ends the page.
type mamSearch struct {
	room, origin, nick string

	mu       sync.Mutex
	stanzaID string
	found    bool
}

// mamQueries tracks running searches by query id.
type mamQueries struct {
	mu sync.Mutex
	m  map[string]*mamSearch
}

func (q *mamQueries) add(id string, s *mamSearch) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.m == nil {
		q.m = map[string]*mamSearch{}
	}
	q.m[id] = s
}

func (q *mamQueries) remove(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.m, id)
}

func (q *mamQueries) get(id string) *mamSearch {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.m[id]
}

// FindRoomPost searches the room's archive (XEP-0313, urn:xmpp:mam:2, as
// Prosody's muc_mam keeps it) for our post with the origin-id (XEP-0359)
// originID sent since since, paging (XEP-0059) at most 5000 messages. It
// returns the archive id, which is the room's stanza-id. A room without an
// archive, or one that refuses the gateway, gives an error wrapping
// dispatch.ErrNoArchive. It implements dispatch.Messenger.
func (g *Gateway) FindRoomPost(ctx context.Context, room, originID string, since time.Time) (string, bool, error) {
	roomJID, err := jid.Parse(room)
	if err != nil {
		return "", false, fmt.Errorf("%w: bad room %q: %w", dispatch.ErrNoArchive, room, err)
	}
	roomJID = roomJID.Bare()
	ctx, cancel := context.WithTimeout(ctx, mamTimeout)
	defer cancel()
	sess, err := g.session(ctx)
	if err != nil {
		return "", false, err
	}
	search := &mamSearch{room: strings.ToLower(roomJID.String()), origin: originID, nick: g.cfg.Nick}
	page := ""
	for range mamMaxPages {
		q := history.Query{ID: randomID(), Start: since, Limit: mamPageSize, PageID: page}
		g.mam.add(q.ID, search)
		res, err := history.FetchIQ(ctx, q, stanza.IQ{From: jid.MustParse(g.botJID()), To: roomJID}, sess)
		g.mam.remove(q.ID)
		if err != nil {
			var se stanza.Error
			if errors.As(err, &se) {
				switch se.Condition {
				case stanza.FeatureNotImplemented, stanza.ServiceUnavailable, stanza.Forbidden, stanza.ItemNotFound, stanza.NotAllowed:
					return "", false, fmt.Errorf("%w: %s answered %s", dispatch.ErrNoArchive, roomJID, se.Condition)
				}
			}
			return "", false, fmt.Errorf("search archive of %s: %w", roomJID, err)
		}
		search.mu.Lock()
		id, found := search.stanzaID, search.found
		search.mu.Unlock()
		if found {
			return id, true, nil
		}
		if res.Complete || res.Set.Last == "" {
			return "", false, nil
		}
		page = res.Set.Last
	}
	return "", false, fmt.Errorf("%w: more than %d messages in %s since %s", dispatch.ErrNoArchive,
		mamPageSize*mamMaxPages, roomJID, since.UTC().Format(time.RFC3339))
}

// mamResultIn records one archive result. Runs in the handler, so every
// result of a page is seen before the page's IQ result ends FetchIQ.
func (g *Gateway) mamResultIn(m *inMessage) {
	r := m.MAMResult
	s := g.mam.get(r.QueryID)
	if s == nil || bare(m.From) != s.room {
		return // not a search of ours, or not from the room we asked
	}
	fwd := r.Forwarded.Message
	from, err := jid.Parse(fwd.From)
	if err != nil || fwd.OriginID == nil || fwd.OriginID.ID != s.origin || from.Resourcepart() != s.nick {
		return
	}
	s.mu.Lock()
	s.stanzaID, s.found = r.ID, true
	s.mu.Unlock()
}
