package gateway

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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
	// ours, when set, collects the origin-id → archive id of every post
	// of ours (by our nick) read, for the room's archiveIndex.
	ours map[string]string

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
//
// The searches of one room share what they read (archiveIndex): after a
// fail-over every re-sent post is looked up, and each searching the
// room's archive from its own start read the same pages again and
// again (a queue of a thousand re-sent posts after five minutes of
// faults took longer to drain than the posts took to come back). Now
// one room's searches take turns, each reads only what the room archived
// after the last one, and a post found before is answered at once.
func (g *Gateway) FindRoomPost(ctx context.Context, room, originID string, since time.Time) (string, bool, error) {
	roomJID, err := jid.Parse(room)
	if err != nil {
		return "", false, fmt.Errorf("%w: bad room %q: %w", dispatch.ErrNoArchive, room, err)
	}
	bareRoom := strings.ToLower(roomJID.Bare().String())
	idx := g.archives.of(bareRoom)
	select {
	case idx.turn <- struct{}{}:
		defer func() { <-idx.turn }()
	case <-ctx.Done():
		return "", false, fmt.Errorf("search archive of %s: %w", bareRoom, ctx.Err())
	}
	if idx.last == "" || since.Before(idx.from) || len(idx.posts) > archiveIndexMax {
		// First search of this room, or one reaching further back:
		// read from since.
		idx.from, idx.last, idx.posts = since, "", map[string]string{}
	}
	search := &mamSearch{room: bareRoom, nick: g.cfg.Nick, ours: map[string]string{}}
	last, err := g.searchArchiveFrom(ctx, roomJID.Bare(), idx.from, idx.last, search)
	search.mu.Lock()
	maps.Copy(idx.posts, search.ours)
	search.mu.Unlock()
	if last != "" {
		idx.last = last
	}
	if id, ok := idx.posts[originID]; ok {
		return id, true, nil
	}
	if err != nil {
		idx.last = "" // read again from the start next time
		return "", false, err
	}
	return "", false, nil
}

// archiveIndexMax bounds how many of our posts one room's archiveIndex
// remembers; beyond it the next search starts afresh.
const archiveIndexMax = 50_000

// archiveIndex is what the searches of one room's archive have read: our
// posts (origin-id → archive id) archived since from, up to the archive
// id last. turn lets one search at a time read.
type archiveIndex struct {
	turn  chan struct{}
	from  time.Time
	last  string
	posts map[string]string
}

// archiveIndexes holds the archiveIndex of each room searched.
type archiveIndexes struct {
	mu sync.Mutex
	m  map[string]*archiveIndex
}

func (a *archiveIndexes) of(room string) *archiveIndex {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[string]*archiveIndex{}
	}
	idx := a.m[room]
	if idx == nil {
		idx = &archiveIndex{turn: make(chan struct{}, 1), posts: map[string]string{}}
		a.m[room] = idx
	}
	return idx
}

// searchArchiveFrom pages through the room's archive (XEP-0313,
// XEP-0059) from the message after the archive id page ("" for the first
// since since) until search has found its post or the archive ends, at
// most mamMaxPages pages, within mamTimeout. It returns the id of the
// last message read ("" if none), also when it fails part way. A room
// without an archive, or one that refuses the gateway, gives an error
// wrapping dispatch.ErrNoArchive, and so does an archive longer than that.
func (g *Gateway) searchArchiveFrom(ctx context.Context, roomJID jid.JID, since time.Time, page string, search *mamSearch) (last string, err error) {
	ctx, cancel := context.WithTimeout(ctx, mamTimeout)
	defer cancel()
	sess, err := g.session(ctx)
	if err != nil {
		return "", err
	}
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
					return last, fmt.Errorf("%w: %s answered %s", dispatch.ErrNoArchive, roomJID, se.Condition)
				}
			}
			return last, fmt.Errorf("search archive of %s: %w", roomJID, err)
		}
		if res.Set.Last != "" {
			last = res.Set.Last
		}
		search.mu.Lock()
		found := search.found
		search.mu.Unlock()
		if found || res.Complete || res.Set.Last == "" {
			return last, nil
		}
		page = res.Set.Last
	}
	return last, fmt.Errorf("%w: more than %d messages in %s since %s", dispatch.ErrNoArchive,
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
	if err := g.readArchiveBack(ctx, room.Bare(), time.Now().Add(-roomCatchUpWindow), search); err != nil {
		g.log.Warn("reading the room's archive for commands written while the gateway was away failed", "room", roomJID, "err", err)
		search.mu.Lock()
		n := len(search.got)
		search.mu.Unlock()
		if n == 0 {
			return
		}
		// What was read is the newest part, where the commands written
		// during the gap are: carry them out.
	}
	search.mu.Lock()
	msgs := search.got
	search.mu.Unlock()
	slices.SortStableFunc(msgs, func(a, b inMessage) int { return a.archivedAt.Compare(b.archivedAt) })
	for i := range msgs {
		if ctx.Err() != nil {
			return // the session ended: the next gateway that joins reads on
		}
		if m := &msgs[i]; looksLikeCommand(m) {
			g.onRoomMessage(ctx, m)
		}
	}
}

// readArchiveBack reads the room's archive (XEP-0313) from its newest
// message back to since, a page (XEP-0059 before) at a time, at most
// mamMaxPages pages within mamTimeout, collecting into search. Read
// newest first, a room busier than that still has its latest messages
// read (before, reading from since forward, a room with more than 5,000
// messages in the window gave up and caught up on nothing: takes written
// during a fail-over were lost). An error says what was not read; what
// was is in search.
func (g *Gateway) readArchiveBack(ctx context.Context, roomJID jid.JID, since time.Time, search *mamSearch) error {
	ctx, cancel := context.WithTimeout(ctx, mamTimeout)
	defer cancel()
	sess, err := g.session(ctx)
	if err != nil {
		return err
	}
	page := ""
	for range mamMaxPages {
		q := history.Query{ID: randomID(), Start: since, Limit: mamPageSize, Last: true, PageID: page}
		g.mam.add(q.ID, search)
		res, err := history.FetchIQ(ctx, q, stanza.IQ{From: jid.MustParse(g.botJID()), To: roomJID}, sess)
		g.mam.remove(q.ID)
		if err != nil {
			return fmt.Errorf("read archive of %s: %w", roomJID, err)
		}
		if res.Complete || res.Set.First.ID == "" {
			return nil
		}
		page = res.Set.First.ID
	}
	return fmt.Errorf("%w: more than %d messages in %s since %s; the newest were read", dispatch.ErrNoArchive,
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
	if err != nil || fwd.OriginID == nil || from.Resourcepart() != s.nick {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ours != nil {
		s.ours[fwd.OriginID.ID] = r.ID
		return
	}
	if fwd.OriginID.ID == s.origin {
		s.stanzaID, s.found = r.ID, true
	}
}
