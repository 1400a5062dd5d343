package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/routing"
)

// ErrRoomUnusable means the gateway does not post into a room: it is not
// a team room of the rules, the gateway does not own it, or its nick
// there is taken. The error text says which.
var ErrRoomUnusable = errors.New("gateway: team room not usable")

// How often the room manager looks at the rules and retries rooms.
const (
	roomCheckEvery   = 5 * time.Second
	roomRejoinEvery  = 20 * time.Second
	roomProblemRetry = time.Minute // default of Config.RoomRetry
	roomIQTimeout    = 10 * time.Second
)

// room is the gateway's view of one team room.
type room struct {
	jid       string
	ready     chan struct{} // closed once joined, owned and configured
	isReady   bool
	isJoined  bool
	aff       string // our affiliation from the self-presence
	joinErr   string // error condition of a refused join, until handled
	problem   string // why nothing is posted here ("" = none)
	synced    string // rules version of the last member-list sync
	lastJoin  time.Time
	reclaimed time.Time         // last time the gateway took its nick back
	occupants map[string]string // nick → real bare JID (non-anonymous rooms)
	elevated  map[string]bool   // nicks of occupants with owner or admin affiliation
}

func newRoom(j string) *room {
	return &room{jid: j, ready: make(chan struct{}), occupants: map[string]string{}, elevated: map[string]bool{}}
}

// reset forgets the join state (connection lost, kicked). A known problem
// stays until a new join shows it is gone.
func (r *room) reset() {
	if r.isReady {
		r.ready = make(chan struct{})
		r.isReady = false
	}
	r.isJoined, r.aff, r.joinErr, r.synced = false, "", "", ""
	r.lastJoin = time.Time{}
	r.occupants, r.elevated = map[string]string{}, map[string]bool{}
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

// roomMembers is who belongs in a team room: the members of every team
// that uses it, plus the dispatchers. Sorted bare JIDs.
func roomMembers(rs *routing.RuleSet, roomJID string) []string {
	set := map[string]bool{}
	for _, t := range rs.Teams() {
		if strings.EqualFold(t.Room, roomJID) {
			for _, m := range t.Members {
				set[strings.ToLower(m)] = true
			}
		}
	}
	for _, d := range rs.Dispatchers() {
		set[strings.ToLower(d)] = true
	}
	out := make([]string, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// mayAct reports whether actor (a bare JID) may give commands in a room:
// a member of a team that uses the room, or a dispatcher. It is checked
// for every command, whatever the server's room configuration says.
func mayAct(rs *routing.RuleSet, roomJID, actor string) bool {
	if actor == "" {
		return false
	}
	if rs.IsDispatcher(actor) {
		return true
	}
	for _, t := range rs.Teams() {
		if strings.EqualFold(t.Room, roomJID) && slices.ContainsFunc(t.Members, func(m string) bool { return strings.EqualFold(m, actor) }) {
			return true
		}
	}
	return false
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

// wakeRooms makes the room manager look at the rooms now.
func (g *Gateway) wakeRooms() {
	select {
	case g.roomWake <- struct{}{}:
	default:
	}
}

// manageRooms makes every team room of the rules usable while the
// connection lasts: it joins (creating the room if it does not exist),
// checks that the gateway owns it, configures it members-only and
// non-anonymous (XEP-0045 §10.2), reserves the gateway's nick, and keeps
// the member list equal to the rules (§9.5, §10.6), also after a reload.
// Rooms that fail are retried and reported by RoomStatus.
func (g *Gateway) manageRooms(ctx context.Context) {
	t := time.NewTicker(roomCheckEvery)
	defer t.Stop()
	for {
		g.mu.Lock()
		sess := g.sess
		g.mu.Unlock()
		if sess == nil || ctx.Err() != nil {
			return
		}
		rs := g.rules.Current()
		for _, r := range g.roomJIDs() {
			g.stepRoom(ctx, rs, r)
		}
		select {
		case <-ctx.Done():
			return
		case <-g.roomWake:
		case <-t.C:
		}
	}
}

// stepRoom moves one room on by one step.
func (g *Gateway) stepRoom(ctx context.Context, rs *routing.RuleSet, roomJID string) {
	g.mu.Lock()
	rm, ok := g.rooms[roomJID]
	if !ok {
		rm = newRoom(roomJID)
		g.rooms[roomJID] = rm
	}
	joined, aff, joinErr, ready, problem, synced, last := rm.isJoined, rm.aff, rm.joinErr, rm.isReady, rm.problem, rm.synced, rm.lastJoin
	rm.joinErr = ""
	g.mu.Unlock()

	switch {
	case joinErr != "":
		g.joinRefused(ctx, roomJID, joinErr)
	case joined && !ready && aff != "owner":
		g.setProblem(roomJID, fmt.Sprintf("the gateway is not the room's owner (affiliation %q): %s, or let the gateway create it (see docs/xmpp-server.md)", cmpOr(aff, "none"), g.makeOwner()))
		_ = g.send(ctx, outPresence{From: g.botJID(), To: roomJID + "/" + g.cfg.Nick, Type: "unavailable"})
		g.mu.Lock()
		rm.isJoined = false
		g.mu.Unlock()
	case joined && !ready:
		if err := g.setUpRoom(ctx, rs, roomJID); err != nil {
			g.setProblem(roomJID, err.Error())
			return
		}
		if g.markReady(roomJID, rs.Version()) {
			go g.retryRoomPosts(ctx, roomJID)
		}
		go g.catchUpRoom(ctx, roomJID)
	case !joined:
		wait := roomRejoinEvery
		if problem != "" {
			wait = g.cfg.RoomRetry
		}
		if last.IsZero() || time.Since(last) >= wait {
			g.mu.Lock()
			rm.lastJoin = time.Now()
			g.mu.Unlock()
			if err := g.sendJoin(ctx, roomJID); err != nil {
				g.log.Warn("joining room failed", "room", roomJID, "err", err)
			}
		}
	case ready && synced != rs.Version():
		if err := g.syncMembers(ctx, rs, roomJID); err != nil {
			g.log.Error("updating a team room's member list failed", "room", roomJID, "err", err)
			return
		}
		g.mu.Lock()
		rm.synced = rs.Version()
		g.mu.Unlock()
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// joinRefused handles a join the room refused. A taken nick is reclaimed
// when the gateway has the rights: it reserves the nick (§9.3; Prosody
// then removes the occupant) and rejoins at once, at most once per
// roomRejoinEvery: ejabberd answers the reservation with success but drops
// it (no owner affiliation for a domain), and the occupant stays, so
// rejoining at once again would loop. Otherwise the room is reported.
func (g *Gateway) joinRefused(ctx context.Context, roomJID, cond string) {
	switch cond {
	case "conflict":
		if err := g.reserveNick(ctx, roomJID); err == nil {
			g.mu.Lock()
			rm := g.rooms[roomJID]
			again := rm != nil && time.Since(rm.reclaimed) < roomRejoinEvery
			if rm != nil && !again {
				rm.reclaimed, rm.lastJoin = time.Now(), time.Time{}
			}
			g.mu.Unlock()
			if !again {
				g.log.Warn("the gateway's nick was taken in a team room; reserved it and rejoining", "room", roomJID)
				g.wakeRooms()
				return
			}
			g.setProblem(roomJID, fmt.Sprintf("the nick %q is taken in the room and stays taken after the gateway reserved it (ejabberd keeps no reservation for a domain): its occupant must leave the room or change nick", g.cfg.Nick))
			return
		}
		g.setProblem(roomJID, fmt.Sprintf("the nick %q is taken in the room by someone else and the gateway may not reserve it: %s", g.cfg.Nick, g.makeOwner()))
	case "gone":
		g.setProblem(roomJID, "the room was destroyed (XEP-0045 §10.9) and the XMPP server keeps its address blocked (Prosody: a tombstone for muc_tombstone_expiry, 31 days) except for the room service's admins: make the gateway an admin of the room service and it creates the room again, or give the team another room in the rules")
	case "registration-required":
		g.setProblem(roomJID, fmt.Sprintf("the room is members-only and the gateway is not affiliated: %s", g.makeOwner()))
	case "not-allowed": // Prosody's answer when creation is restricted
		g.setProblem(roomJID, g.mayNotCreate())
	case "forbidden":
		// ejabberd refuses a creation that access_create denies with
		// forbidden, as it refuses a banned user: a room that does not
		// exist tells them apart.
		if g.roomMissing(ctx, roomJID) {
			g.setProblem(roomJID, g.mayNotCreate())
			return
		}
		g.setProblem(roomJID, "the gateway is banned from the room")
	default:
		g.setProblem(roomJID, fmt.Sprintf("the room refused the gateway's join (%s)", cmpOr(cond, "no reason given")))
	}
}

// makeOwner says how to make the gateway a room's owner. ejabberd (23.01
// and later, mod_muc_room process_item_change) answers a room owner's
// XEP-0045 §10.3 owner grant for a JID without a local part, such as the
// component's domain, with success yet drops it: there only an admin of
// the room service (access_admin) owns rooms.
func (g *Gateway) makeOwner() string {
	return fmt.Sprintf("make %s an owner of the room (Prosody), or an admin of the room service (ejabberd: access_admin; ejabberd ignores a room owner's grant to a domain)", g.cfg.Domain)
}

// mayNotCreate is the reason for a room that does not exist and that
// the server does not let the gateway create.
func (g *Gateway) mayNotCreate() string {
	return fmt.Sprintf("the room does not exist and the server does not let the gateway create it: let %s create rooms on the room service (Prosody: list it in the MUC component's admins; ejabberd: access_create), or have a server admin create the room and make %s its owner (see docs/xmpp-server.md)", g.cfg.Domain, g.cfg.Domain)
}

// roomMissing asks the room for its disco#info (XEP-0045 §6.4): a room
// that does not exist answers item-not-found.
func (g *Gateway) roomMissing(ctx context.Context, roomJID string) bool {
	qctx, cancel := context.WithTimeout(ctx, roomIQTimeout)
	defer cancel()
	_, err := g.request(qctx, roomJID, "get", discoInfo{})
	f := (*iqFailure)(nil)
	return errors.As(err, &f) && f.Cond == "item-not-found"
}

// setProblem records (and logs once) why a room is not used.
func (g *Gateway) setProblem(roomJID, problem string) {
	g.mu.Lock()
	rm := g.rooms[roomJID]
	changed := rm != nil && rm.problem != problem
	if rm != nil {
		rm.problem = problem
	}
	g.mu.Unlock()
	if changed {
		g.log.Error("team room not usable; nothing is posted there", "room", roomJID, "reason", problem)
	}
}

// markReady records a room as usable; it reports whether the room had a
// problem before (it is usable again).
func (g *Gateway) markReady(roomJID, version string) (again bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	rm := g.rooms[roomJID]
	if rm == nil || rm.isReady {
		return false
	}
	again = rm.problem != ""
	if again {
		g.log.Info("team room usable again", "room", roomJID)
	}
	rm.problem, rm.isReady, rm.synced = "", true, version
	close(rm.ready)
	g.log.Info("team room ready", "room", roomJID)
	return again
}

// waitingRetrier is implemented by a Dispatcher that can make deliveries
// waiting out a retry backoff due at once (dispatch.Service).
type waitingRetrier interface {
	RetryRoomPosts(ctx context.Context, room string) (int, error)
	RetryXMPPQueue(ctx context.Context) (int, error)
}

var _ waitingRetrier = (*dispatch.Service)(nil)

// retryTimeout bounds one call that makes waiting deliveries due.
const retryTimeout = 10 * time.Second

// retryRoomPosts makes the posts for a room that became usable again go
// out now instead of after their retry backoff (up to minutes).
func (g *Gateway) retryRoomPosts(ctx context.Context, roomJID string) {
	r, ok := g.disp.(waitingRetrier)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, retryTimeout)
	defer cancel()
	n, err := r.RetryRoomPosts(ctx, roomJID)
	if err != nil {
		g.log.Warn("could not make the room's waiting posts due now; they go out after their backoff", "room", roomJID, "err", err)
		return
	}
	g.log.Info("waiting posts made due now", "room", roomJID, "jobs", n)
}

// retryXMPPQueue makes everything that failed to go out while the
// component was disconnected go out now instead of after its backoff.
func (g *Gateway) retryXMPPQueue(ctx context.Context) {
	r, ok := g.disp.(waitingRetrier)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, retryTimeout)
	defer cancel()
	n, err := r.RetryXMPPQueue(ctx)
	if err != nil {
		g.log.Warn("could not make waiting XMPP deliveries due now; they go out after their backoff", "err", err)
		return
	}
	if n > 0 {
		g.log.Info("waiting XMPP deliveries made due now", "jobs", n)
	}
}

// setUpRoom configures a room the gateway owns and syncs its members.
func (g *Gateway) setUpRoom(ctx context.Context, rs *routing.RuleSet, roomJID string) error {
	name := roomJID
	for _, t := range rs.Teams() {
		if strings.EqualFold(t.Room, roomJID) {
			name = t.Name
			break
		}
	}
	qctx, cancel := context.WithTimeout(ctx, roomIQTimeout)
	defer cancel()
	_, err := g.request(qctx, roomJID, "set", teamRoomConfig(name, archivingField))
	if f := (*iqFailure)(nil); errors.As(err, &f) && f.Cond == "bad-request" {
		// ejabberd knows the archiving field as "mam" only.
		_, err = g.request(qctx, roomJID, "set", teamRoomConfig(name, archivingFieldEjabberd))
	}
	if err != nil {
		return fmt.Errorf("the room refused its configuration (members-only, non-anonymous, persistent): %w", err)
	}
	if err := g.reserveNick(ctx, roomJID); err != nil {
		return fmt.Errorf("reserving the gateway's nick %q failed: %w", g.cfg.Nick, err)
	}
	if err := g.syncMembers(ctx, rs, roomJID); err != nil {
		return fmt.Errorf("setting the member list failed: %w", err)
	}
	g.kickStrangers(ctx, rs, roomJID)
	return nil
}

// kickStrangers removes from the room (XEP-0045 §8.2, role none) every
// occupant who is neither a member of its teams, a dispatcher, nor an
// owner or admin of the room; members-only rooms on Prosody have put them
// out already (status 322), servers that do not are covered here.
func (g *Gateway) kickStrangers(ctx context.Context, rs *routing.RuleSet, roomJID string) {
	members := roomMembers(rs, roomJID)
	g.mu.Lock()
	var strangers []string
	if r := g.rooms[roomJID]; r != nil {
		for nick, real := range r.occupants {
			if nick != g.cfg.Nick && !slices.Contains(members, real) && !r.elevated[nick] {
				strangers = append(strangers, nick)
			}
		}
	}
	g.mu.Unlock()
	for _, nick := range strangers {
		qctx, cancel := context.WithTimeout(ctx, roomIQTimeout)
		_, err := g.request(qctx, roomJID, "set", adminQuery{Items: []adminItem{{Nick: nick, Role: "none"}}})
		cancel()
		if err != nil {
			g.log.Warn("putting a stranger out of a team room failed", "room", roomJID, "err", err)
		}
	}
}

// reserveNick registers the gateway's nick by affiliating its domain as
// owner with that nick (XEP-0045 §9.3 item nick; Prosody reserves it).
func (g *Gateway) reserveNick(ctx context.Context, roomJID string) error {
	qctx, cancel := context.WithTimeout(ctx, roomIQTimeout)
	defer cancel()
	_, err := g.request(qctx, roomJID, "set", adminQuery{Items: []adminItem{{Affiliation: "owner", JID: g.cfg.Domain, Nick: g.cfg.Nick}}})
	return err
}

// syncMembers makes the room's member affiliations equal to the rules.
func (g *Gateway) syncMembers(ctx context.Context, rs *routing.RuleSet, roomJID string) error {
	list := func(aff string) ([]string, error) {
		qctx, cancel := context.WithTimeout(ctx, roomIQTimeout)
		defer cancel()
		res, err := g.request(qctx, roomJID, "get", adminQuery{Items: []adminItem{{Affiliation: aff}}})
		if err != nil {
			return nil, fmt.Errorf("list %ss: %w", aff, err)
		}
		out := make([]string, 0, len(res.Items))
		for _, it := range res.Items {
			out = append(out, bare(it.JID))
		}
		return out, nil
	}
	members, err := list("member")
	if err != nil {
		return err
	}
	// Owners and admins keep their rights, and a ban (outcast) that a room
	// admin imposed stays: the gateway never lifts it by making the banned
	// JID a member again, even if the rules still list it.
	var privileged []string
	banned := 0
	want := roomMembers(rs, roomJID)
	for _, aff := range []string{"owner", "admin", "outcast"} {
		l, err := list(aff)
		if err != nil {
			return err
		}
		privileged = append(privileged, l...)
		if aff == "outcast" {
			banned = len(slices.DeleteFunc(l, func(j string) bool { return !slices.Contains(want, j) }))
		}
	}
	if banned > 0 {
		g.log.Warn("team members banned from their team room; the gateway leaves the ban alone (lift it, or remove them from the rules)", "room", roomJID, "banned", banned)
	}
	changes := memberChanges(members, privileged, want)
	for _, c := range changes {
		qctx, cancel := context.WithTimeout(ctx, roomIQTimeout)
		_, err := g.request(qctx, roomJID, "set", adminQuery{Items: []adminItem{c}})
		cancel()
		if err != nil {
			return fmt.Errorf("set %s to %s: %w", c.JID, c.Affiliation, err)
		}
	}
	if len(changes) > 0 {
		g.log.Info("team room member list updated", "room", roomJID, "changes", len(changes))
	}
	return nil
}

func (g *Gateway) sendJoin(ctx context.Context, roomJID string) error {
	p := outPresence{From: g.botJID(), To: roomJID + "/" + g.cfg.Nick, MUC: &outMUC{}}
	p.MUC.History.MaxStanzas = 0
	return g.send(ctx, p)
}

// botJID is the full JID the gateway uses as a room occupant.
func (g *Gateway) botJID() string { return g.cfg.Domain + "/" + g.cfg.Nick }

// roomPresence updates occupants and our own join state. Runs in the
// handler: it only records and wakes the room manager, never sends.
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
			r.joinErr = cmpOr(p.Error.condition(), "undefined-condition")
			g.wakeRooms()
		}
	case p.Type == "unavailable":
		if self {
			g.log.Warn("left team room (kicked, banned or room closed); rejoining", "room", roomJID)
			r.reset()
			r.lastJoin = time.Now().Add(-roomRejoinEvery + 2*time.Second)
			return
		}
		delete(r.occupants, nick)
		delete(r.elevated, nick)
	default:
		aff, real := "", ""
		if p.MUCUser != nil {
			for _, it := range p.MUCUser.Items {
				if it.JID != "" {
					real = bare(it.JID)
					r.occupants[nick] = real
				}
				aff = it.Affiliation
			}
		}
		if privileged(aff) {
			r.elevated[nick] = true
		} else {
			delete(r.elevated, nick)
		}
		if self && !r.isJoined {
			r.isJoined, r.aff = true, aff
			g.wakeRooms()
		}
		if !self && !privileged(aff) && !slices.Contains(roomMembers(g.rules.Current(), roomJID), real) {
			// Someone the rules do not let in is inside: an affiliation or
			// the configuration was changed behind the gateway's back.
			g.unready(r, "an occupant who is not a member of the room's teams entered")
		}
	}
}

// privileged reports whether a room affiliation is owner or admin, which
// the gateway leaves alone (memberChanges).
func privileged(aff string) bool { return aff == "owner" || aff == "admin" }

// roomConfigChanged reports whether m is a room's notice that its
// configuration changed (XEP-0045 §10.2.1 status 104; 170-174 for
// logging and anonymity) and then makes the gateway set the room up
// again. Runs in the handler.
func (g *Gateway) roomConfigChanged(m *inMessage) bool {
	if m.Type != "groupchat" || m.MUCUser == nil {
		return false
	}
	j, err := jid.Parse(m.From)
	if err != nil || j.Resourcepart() != "" {
		return false
	}
	changed := slices.ContainsFunc(m.MUCUser.Statuses, func(c mucCode) bool { return c.Code == 104 || c.Code >= 170 && c.Code <= 174 })
	if !changed {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.rooms[strings.ToLower(j.Bare().String())]; r != nil {
		g.unready(r, "the room's configuration was changed")
	}
	return true
}

// unready makes a ready room wait for the room manager to configure it,
// sync its members and put out strangers again (setUpRoom) before
// anything more is posted there: between an admin opening a team room
// and the gateway closing it, no incident goes in. g.mu is held.
func (g *Gateway) unready(r *room, why string) {
	if !r.isReady {
		return // being set up: setUpRoom sees the room as it is now
	}
	g.log.Warn("team room changed behind the gateway's back; setting it up again before posting", "room", r.jid, "reason", why)
	r.ready = make(chan struct{})
	r.isReady, r.synced = false, ""
	g.wakeRooms()
}

// bindOccupant records in m, as the handler reads it, the real JID
// behind the room nick that sent it. Room presence is applied inline but
// room messages wait in their room's queue, so by the time a command is
// handled its nick may belong to someone else (left, and another occupant,
// maybe a dispatcher, took the nick): the command belongs to whoever
// held the nick when it was sent. Runs in the handler.
func (g *Gateway) bindOccupant(m *inMessage) {
	j, err := jid.Parse(m.From)
	if err != nil || j.Resourcepart() == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.rooms[strings.ToLower(j.Bare().String())]; r != nil {
		m.occupant, m.bound = r.occupants[j.Resourcepart()], true
	}
}

// historySender is the real bare JID the room's archive gives for the
// author of an archived message (muc#user item, in a non-anonymous room),
// "" if it gives none or more than one (an occupant's own forged item
// beside the room's).
func historySender(m *inMessage) string {
	real := ""
	if m.MUCUser != nil {
		for _, it := range m.MUCUser.Items {
			if it.JID == "" {
				continue
			}
			if real != "" && real != bare(it.JID) {
				return ""
			}
			real = bare(it.JID)
		}
	}
	return real
}

// roomStanzaID is the stanza-id the room roomJID gave m (XEP-0359), "" if none.
func roomStanzaID(m *inMessage, roomJID string) string {
	for _, s := range m.StanzaIDs {
		if strings.EqualFold(s.By, roomJID) {
			return s.ID
		}
	}
	return ""
}

// senderJID returns the real bare JID of the occupant who sent m from
// roomJID/nick: the one bound when it was read, else the current one.
func (g *Gateway) senderJID(m *inMessage, roomJID, nick string) string {
	if m.bound {
		return m.occupant
	}
	return g.occupantJID(roomJID, nick)
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

// RoomStatus reports the team rooms that are not ready yet (pending) and
// those the gateway will not post into, with the reason (problems).
func (g *Gateway) RoomStatus() (pending []string, problems map[string]string) {
	problems = map[string]string{}
	want := g.roomJIDs()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range want {
		rm := g.rooms[r]
		switch {
		case rm != nil && rm.problem != "":
			problems[r] = rm.problem
		case rm == nil || !rm.isReady:
			pending = append(pending, r)
		}
	}
	return pending, problems
}

// waitReady waits until the gateway may post into a room: joined, owned,
// configured. It fails at once for a room with a known problem.
func (g *Gateway) waitReady(ctx context.Context, roomJID string) error {
	if _, err := g.session(ctx); err != nil {
		return err
	}
	if !slices.Contains(g.roomJIDs(), roomJID) {
		return fmt.Errorf("%w: %s is not a team room in the rules", ErrRoomUnusable, roomJID)
	}
	g.mu.Lock()
	r, ok := g.rooms[roomJID]
	if !ok {
		r = newRoom(roomJID)
		g.rooms[roomJID] = r
	}
	ready, ch, problem := r.isReady, r.ready, r.problem
	g.mu.Unlock()
	if ready {
		return nil
	}
	if problem != "" {
		return fmt.Errorf("%w: %s: %s", ErrRoomUnusable, roomJID, problem)
	}
	g.wakeRooms()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("not ready in room %s: %w", roomJID, ctx.Err())
	}
}

// PostToRoom sends a post and waits for the room to reflect it; only then
// is it delivered. In an encrypted team room its team copies go first, as
// encrypted files (sealRoomPost). It implements dispatch.Messenger.
func (g *Gateway) PostToRoom(ctx context.Context, p dispatch.RoomPost) (string, error) {
	roomJID := strings.ToLower(p.Room)
	rctx, cancel := context.WithTimeout(ctx, g.cfg.ReflectTimeout)
	defer cancel()
	if err := g.waitReady(rctx, roomJID); err != nil {
		return "", err
	}
	msg := outMessage{From: g.botJID(), To: roomJID, ID: p.OriginID, Type: "groupchat", Body: p.Body,
		OriginID: &outID{ID: p.OriginID}, Replace: replaceOf(p.Replaces)}
	for _, l := range p.Links {
		msg.OOB = append(msg.OOB, outOOB{URL: l})
	}
	if err := g.sealRoomPost(ctx, roomJID, p, &msg); err != nil {
		return "", err
	}
	return g.postAndAwaitEcho(ctx, roomJID, msg)
}

// postAndAwaitEcho sends msg, whose id is its origin-id, to the room and
// waits (at most ReflectTimeout) for the room to reflect it; it returns
// the room's stanza-id.
func (g *Gateway) postAndAwaitEcho(ctx context.Context, roomJID string, msg outMessage) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.ReflectTimeout)
	defer cancel()
	ch := make(chan string, 1)
	g.mu.Lock()
	g.pending[msg.OriginID.ID] = ch
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.pending, msg.OriginID.ID)
		g.mu.Unlock()
	}()
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
		stanzaID := roomStanzaID(m, roomJID)
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
	enc, err := g.encryptChat(ctx, m)
	if err != nil {
		return fmt.Errorf("encrypt chat message: %w", err)
	}
	msg := outMessage{From: g.addressJID(m.From), To: m.To, ID: id, Type: "chat", Body: m.Body,
		OriginID: &outID{ID: id}, Request: &outEmpty{XMLName: xmlName(nsReceipts, "request")},
		Markable: &outEmpty{XMLName: xmlName("urn:xmpp:chat-markers:0", "markable")}}
	if enc != nil {
		addr, _ := g.rules.Current().Address(m.From) // the address's language; German if it has none
		g.sealed(&msg, enc, addr.Language)
	}
	// Not kept when the write fails: the chat outbox sends it again.
	return g.sendAnswer(ctx, msg, false, nil)
}
