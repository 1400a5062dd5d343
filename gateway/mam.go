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
		// Delay is when the room archived it (XEP-0297, XEP-0203).
		Delay *struct {
			Stamp string `xml:"stamp,attr"`
		} `xml:"urn:xmpp:delay delay"`
		Message inMessage `xml:"message"`
	} `xml:"urn:xmpp:forward:0 forwarded"`
}

// mamSearch is one running search: the handler fills it while the query's
// results arrive, before the query's IQ result ends the page. It looks
// for our post with the origin-id origin, or, with collect, keeps every
// message.
type mamSearch struct {
	room, origin, nick string
	collect            bool

	mu       sync.Mutex
	stanzaID string
	found    bool
	got      []inMessage
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
	search := &mamSearch{room: strings.ToLower(roomJID.Bare().String()), origin: originID, nick: g.cfg.Nick}
	if err := g.searchArchive(ctx, roomJID.Bare(), since, search); err != nil {
		return "", false, err
	}
	search.mu.Lock()
	defer search.mu.Unlock()
	return search.stanzaID, search.found, nil
}

// searchArchive pages through the room's archive (XEP-0313, XEP-0059)
// from since until search has found its post or the archive ends, at most
// mamMaxPages pages, within mamTimeout. A room without an archive, or
// one that refuses the gateway, gives an error wrapping
// dispatch.ErrNoArchive, and so does an archive longer than that.
func (g *Gateway) searchArchive(ctx context.Context, roomJID jid.JID, since time.Time, search *mamSearch) error {
	ctx, cancel := context.WithTimeout(ctx, mamTimeout)
	defer cancel()
	sess, err := g.session(ctx)
	if err != nil {
		return err
	}
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
					return fmt.Errorf("%w: %s answered %s", dispatch.ErrNoArchive, roomJID, se.Condition)
				}
			}
			return fmt.Errorf("search archive of %s: %w", roomJID, err)
		}
		search.mu.Lock()
		found := search.found
		search.mu.Unlock()
		if found || res.Complete || res.Set.Last == "" {
			return nil
		}
		page = res.Set.Last
	}
	return fmt.Errorf("%w: more than %d messages in %s since %s", dispatch.ErrNoArchive,
		mamPageSize*mamMaxPages, roomJID, since.UTC().Format(time.RFC3339))
}

// roomCatchUpWindow is how far back a gateway that has joined a team room
// reads the room's archive for commands written while no gateway was in
// it (catchUpRoom). Claims of room commands are kept longer
// (dispatch.RoomClaim).
const roomCatchUpWindow = 5 * time.Minute

// catchUpRoom carries out the commands ("ok 42", a 👍, a reply) written
// into a team room while no gateway was in it (a fail-over, a reconnect,
// the XMPP server restarting): once the gateway has joined, it reads the
// room's archive (XEP-0313) of the last roomCatchUpWindow and hands each
// command to the room command handler as an archived message, as the
// author the archive names (muc#user item of a non-anonymous room).
// Commands carried out before, live or by another gateway, are claimed
// already and skipped (dispatch.RoomClaim). A room without an
// archive is not caught up (logged).
func (g *Gateway) catchUpRoom(ctx context.Context, roomJID string) {
	room, err := jid.Parse(roomJID)
	if err != nil {
		return
	}
	search := &mamSearch{room: strings.ToLower(room.Bare().String()), collect: true}
	if err := g.searchArchive(ctx, room.Bare(), time.Now().Add(-roomCatchUpWindow), search); err != nil {
		g.log.Warn("reading the room's archive for commands written while the gateway was away failed", "room", roomJID, "err", err)
		return
	}
	search.mu.Lock()
	msgs := search.got
	search.mu.Unlock()
	for i := range msgs {
		if m := &msgs[i]; looksLikeCommand(m) {
			g.onRoomMessage(ctx, m)
		}
	}
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
	if s.collect {
		// An archived room message: the result's id is the room's
		// stanza-id of it (XEP-0313 §5.1.1, XEP-0359).
		fwd.Type, fwd.history = "groupchat", true
		fwd.StanzaIDs = []idElem{{ID: r.ID, By: s.room}}
		if d := r.Forwarded.Delay; d != nil {
			fwd.archivedAt, _ = time.Parse(time.RFC3339, d.Stamp) // zero if absent: not carried out
		}
		fwd.Delay, fwd.MAMResult = nil, nil
		s.mu.Lock()
		s.got = append(s.got, fwd)
		s.mu.Unlock()
		return
	}
	from, err := jid.Parse(fwd.From)
	if err != nil || fwd.OriginID == nil || fwd.OriginID.ID != s.origin || from.Resourcepart() != s.nick {
		return
	}
	s.mu.Lock()
	s.stanzaID, s.found = r.ID, true
	s.mu.Unlock()
}
