package gateway

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/fieldgate/fieldgate/dispatch"
)

// room is the gateway's view of one team room.
type room struct {
	jid       string
	joined    chan struct{} // closed once our self-presence arrived
	isJoined  bool
	occupants map[string]string // nick → real bare JID (non-anonymous rooms)
}

func newRoom(j string) *room {
	return &room{jid: j, joined: make(chan struct{}), occupants: map[string]string{}}
}

// reset forgets the join state (connection lost, kicked).
func (r *room) reset() {
	if r.isJoined {
		r.joined = make(chan struct{})
		r.isJoined = false
	}
	r.occupants = map[string]string{}
}

// roomJIDs lists the rooms of all teams in the current rules.
func (g *Gateway) roomJIDs() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range g.rules.Current().Teams() {
		r := strings.ToLower(t.Room)
		if r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

func (g *Gateway) isRoomJID(from string) bool {
	j, err := jid.Parse(from)
	if err != nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.rooms[strings.ToLower(j.Bare().String())]
	return ok
}

// joinRooms joins every team room after a (re)connect and keeps retrying
// rooms that did not answer, until the connection goes away.
func (g *Gateway) joinRooms(ctx context.Context) {
	for {
		g.mu.Lock()
		sess := g.sess
		g.mu.Unlock()
		if sess == nil || ctx.Err() != nil {
			return
		}
		for _, r := range g.roomJIDs() {
			g.mu.Lock()
			rm, ok := g.rooms[r]
			if !ok {
				rm = newRoom(r)
				g.rooms[r] = rm
			}
			joined := rm.isJoined
			g.mu.Unlock()
			if !joined {
				if err := g.sendJoin(ctx, r); err != nil {
					g.log.Warn("joining room failed", "room", r, "err", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Second):
		}
	}
}

func (g *Gateway) sendJoin(ctx context.Context, roomJID string) error {
	p := outPresence{From: g.botJID(), To: roomJID + "/" + g.cfg.Nick, MUC: &outMUC{}}
	p.MUC.History.MaxStanzas = 0
	return g.send(ctx, p)
}

// botJID is the full JID the gateway uses as a room occupant.
func (g *Gateway) botJID() string { return g.cfg.Domain + "/" + g.cfg.Nick }

// roomPresence updates occupants and our own join state. Runs in the handler.
func (g *Gateway) roomPresence(p *inPresence) {
	j, err := jid.Parse(p.From)
	if err != nil {
		return
	}
	roomJID, nick := strings.ToLower(j.Bare().String()), j.Resourcepart()
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.rooms[roomJID]
	if r == nil {
		return
	}
	self := nick == g.cfg.Nick
	if p.MUCUser != nil {
		for _, s := range p.MUCUser.Statuses {
			if s.Code == 110 {
				self = true
			}
		}
	}
	switch {
	case p.Type == "error":
		if self {
			g.log.Warn("room refused join", "room", roomJID, "error", fmt.Sprint(p.Error))
		}
	case p.Type == "unavailable":
		if self {
			g.log.Warn("left room (kicked, banned or room closed); rejoining", "room", roomJID)
			r.reset()
			go func() {
				time.Sleep(2 * time.Second)
				_ = g.sendJoin(context.Background(), roomJID)
			}()
			return
		}
		delete(r.occupants, nick)
	default:
		if p.MUCUser != nil {
			for _, it := range p.MUCUser.Items {
				if it.JID != "" {
					r.occupants[nick] = bare(it.JID)
				}
			}
		}
		if self && !r.isJoined {
			r.isJoined = true
			close(r.joined)
			g.log.Info("joined room", "room", roomJID)
		}
	}
}

// occupantJID returns the real bare JID behind a room nick, or "".
func (g *Gateway) occupantJID(roomJID, nick string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.rooms[roomJID]; r != nil {
		return r.occupants[nick]
	}
	return ""
}

// waitJoined waits until the gateway is in the room, joining it if needed.
func (g *Gateway) waitJoined(ctx context.Context, roomJID string) error {
	if _, err := g.session(ctx); err != nil {
		return err
	}
	g.mu.Lock()
	r, ok := g.rooms[roomJID]
	if !ok {
		r = newRoom(roomJID)
		g.rooms[roomJID] = r
	}
	joined, ch := r.isJoined, r.joined
	g.mu.Unlock()
	if joined {
		return nil
	}
	if !ok {
		if err := g.sendJoin(ctx, roomJID); err != nil {
			return err
		}
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("not in room %s: %w", roomJID, ctx.Err())
	}
}

// PostToRoom sends a post and waits for the room to reflect it; only then
// is it delivered. It implements dispatch.Messenger.
func (g *Gateway) PostToRoom(ctx context.Context, p dispatch.RoomPost) (string, error) {
	roomJID := strings.ToLower(p.Room)
	ctx, cancel := context.WithTimeout(ctx, g.cfg.ReflectTimeout)
	defer cancel()
	if err := g.waitJoined(ctx, roomJID); err != nil {
		return "", err
	}
	ch := make(chan string, 1)
	g.mu.Lock()
	g.pending[p.OriginID] = ch
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.pending, p.OriginID)
		g.mu.Unlock()
	}()
	msg := outMessage{From: g.botJID(), To: roomJID, ID: p.OriginID, Type: "groupchat", Body: p.Body,
		OriginID: &outID{ID: p.OriginID}}
	for _, l := range p.Links {
		msg.OOB = append(msg.OOB, outOOB{URL: l})
	}
	if err := g.send(ctx, msg); err != nil {
		return "", err
	}
	select {
	case id := <-ch:
		return id, nil
	case <-ctx.Done():
		return "", fmt.Errorf("room %s did not reflect the post: %w", roomJID, ctx.Err())
	}
}

// reflected consumes the room's echo of our own posts. Runs in the handler.
func (g *Gateway) reflected(m *inMessage) bool {
	j, err := jid.Parse(m.From)
	if err != nil || j.Resourcepart() != g.cfg.Nick {
		return false
	}
	roomJID := strings.ToLower(j.Bare().String())
	g.mu.Lock()
	_, isRoom := g.rooms[roomJID]
	var ch chan string
	if m.OriginID != nil {
		ch = g.pending[m.OriginID.ID]
	}
	g.mu.Unlock()
	if !isRoom {
		return false
	}
	if m.OriginID != nil {
		stanzaID := ""
		for _, s := range m.StanzaIDs {
			if strings.EqualFold(s.By, roomJID) {
				stanzaID = s.ID
			}
		}
		if stanzaID != "" {
			g.posts.add(stanzaID, m.OriginID.ID)
		}
		if ch != nil {
			select {
			case ch <- stanzaID:
			default:
			}
		}
	}
	return true
}

// postIDs maps the room's stanza-ids of our recent posts to our origin-ids.
// Clients reference a post by its stanza-id; the database learns it only
// after the echo, so a quick 👍 could otherwise miss its post.
type postIDs struct {
	mu    sync.Mutex
	ids   map[string]string
	order []string
}

const maxPostIDs = 10000

func (p *postIDs) add(stanzaID, originID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids == nil {
		p.ids = map[string]string{}
	}
	if _, ok := p.ids[stanzaID]; ok {
		return
	}
	if len(p.order) >= maxPostIDs {
		delete(p.ids, p.order[0])
		p.order = p.order[1:]
	}
	p.ids[stanzaID] = originID
	p.order = append(p.order, stanzaID)
}

// origin returns our origin-id for a stanza-id, or id itself.
func (p *postIDs) origin(id string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if o, ok := p.ids[id]; ok {
		return o
	}
	return id
}

// SendChat sends a 1:1 message from a function address. It implements
// dispatch.Messenger.
func (g *Gateway) SendChat(ctx context.Context, m dispatch.ChatMessage) error {
	id := m.ID
	if id == "" {
		id = "fg-" + randomID()
	}
	if enc, err := g.encryptChat(ctx, m); err != nil {
		return fmt.Errorf("encrypt chat message: %w", err)
	} else if enc != nil {
		return g.sendEncrypted(ctx, m, id, enc)
	}
	return g.send(ctx, outMessage{From: g.addressJID(m.From), To: m.To, ID: id, Type: "chat", Body: m.Body,
		OriginID: &outID{ID: id}, Request: &outEmpty{XMLName: xmlName(nsReceipts, "request")},
		Markable: &outEmpty{XMLName: xmlName("urn:xmpp:chat-markers:0", "markable")}})
}
