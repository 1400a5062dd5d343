package gateway

import (
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/slots"
	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/routing"
)

// Dispatcher is what the gateway needs from the domain.
type Dispatcher interface {
	Intake(ctx context.Context, in dispatch.NewReport) (dispatch.Receipt, error)
	// Replay looks up an idempotency key without storing anything; it
	// returns an error wrapping dispatch.ErrNotFound for a key never seen.
	Replay(ctx context.Context, channel, sender, key string) (dispatch.Receipt, error)
	Execute(ctx context.Context, cmd dispatch.Command) (dispatch.CommandResult, error)
	Reassign(ctx context.Context, cmd dispatch.ReassignCommand) (dispatch.CommandResult, error)
	Reply(ctx context.Context, cmd dispatch.ReplyCommand) (dispatch.CommandResult, error)
	Reject(ctx context.Context, cmd dispatch.RejectCommand) (dispatch.CommandResult, error)
	Unmerge(ctx context.Context, cmd dispatch.UnmergeCommand) (dispatch.CommandResult, error)
	CaseByPost(ctx context.Context, room, id string) (string, error)
	// ClaimRoomCommand claims a room message by the room's stanza-id on
	// its own, for a command that is refused or failed (a command carried
	// out claims it in its own transaction, dispatch.RoomClaim): true the
	// first time, false if it was claimed before (by this or another
	// gateway, live or from the archive); archivedAt is when the room
	// archived one read from its archive.
	ClaimRoomCommand(ctx context.Context, room, stanzaID string, archivedAt time.Time) (bool, error)
	RecordDelivery(ctx context.Context, messageID, from, kind string) error
	DiscardObjects(ctx context.Context, keys ...string)
	// HoldMedium gives a report the bytes of an attachment just stored
	// (its team copy is started at once, or the bytes are kept).
	HoldMedium(in *dispatch.NewReport, obj media.Object, body []byte)
}

// Media stores fetched attachments.
type Media interface {
	Put(ctx context.Context, r io.Reader) (media.Object, error)
	// PutHold is Put that hands the object and a copy of its bytes to
	// hold before they are stored, if they are at most keep bytes
	// (media.Store.PutHold). If it then fails, nothing of the object is
	// stored and the caller discards what it started from the bytes.
	PutHold(ctx context.Context, r io.Reader, keep int64, hold func(media.Object, []byte)) (media.Object, error)
	Delete(ctx context.Context, keys ...string) error
}

// Rules gives the routing rule set in force (function addresses, rooms).
type Rules interface {
	Current() *routing.RuleSet
}

// Config configures the component connection.
type Config struct {
	// Addr is the XMPP server's component listener, host:port.
	Addr string
	// Domain is the component's domain, e.g. reports.stadt.example.
	Domain string
	// Secret is the XEP-0114 shared secret.
	Secret string
	// Nick is the gateway's nickname in team rooms. Default "fieldgate".
	Nick string
	// ReflectTimeout is how long a room post waits for the room's echo
	// before it counts as failed and is retried. Default 15s.
	ReflectTimeout time.Duration
	// MaxBackoff caps the reconnect delay. Default 3s: an XMPP server that
	// is back must not wait for us (a refused port is probed every 250 ms
	// anyway, see waitReconnect).
	MaxBackoff time.Duration
	// RoomRetry is how often a team room the gateway cannot use (not its
	// owner, its nick taken, the join refused) is tried again. Default 1m.
	RoomRetry time.Duration
	// Workers is how many senders' stanzas are handled at once; one
	// sender's stanzas are always handled one after the other, in order
	// (see senderQueues). Default 32.
	Workers int
	// Fetch limits attachment downloads (allow-list, size, time-outs).
	Fetch FetchConfig
	// DownloadsPerSender caps the attachment downloads of one sender that
	// run at once. Default 2.
	DownloadsPerSender int
	// MinDownloadRate is the slowest average download (bytes per second)
	// accepted after 15 s; slower ones are cut off. Default 1024.
	MinDownloadRate int64
	// RatePerMinute and Burst limit messages per sender (token bucket):
	// Burst messages at once, then RatePerMinute on average. Defaults 30
	// and 30, so that a patrol's burst (a dozen photos with captions and a
	// location from Conversations) goes through while a flood does not.
	// A sender over the limit is refused until half the burst has refilled
	// (30 s by default) and told once which span was not taken.
	RatePerMinute int
	Burst         int
	// DeviceListSubscribers caps the device-list subscribers (OMEMO,
	// omemo_notify.go) recorded per function address. Default 10000.
	DeviceListSubscribers int
	// PingInterval is how often the gateway checks that its connection
	// still carries stanzas both ways (XEP-0199, keepalive.go), and
	// PingTimeout how long it waits for the answer before it reconnects.
	// Defaults 10 s and 15 s: a connection that died silently is left
	// within 25 s.
	PingInterval time.Duration
	PingTimeout  time.Duration
}

// ErrNotConnected means there is no component connection right now.
var ErrNotConnected = errors.New("gateway: not connected to the XMPP server")

// Gateway is the XMPP component.
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	rules   Rules
	disp    Dispatcher
	media   Media
	fetch   *Fetcher
	limiter *senderLimiter
	// presences limits presence per sender like messages, in buckets of
	// their own (inbound.go limitPresence).
	presences *senderLimiter
	// deliveries limits receipts and read markers per sender: each one
	// costs a database transaction, and a flood must not fill the audit trail.
	deliveries *senderLimiter
	downloads  *slots.PerKey // attachment downloads per sender

	in *senderQueues // decoded stanzas, in order per sender

	mu        sync.Mutex
	sess      *xmpp.Session
	connected chan struct{} // closed while a session is up
	rooms     map[string]*room
	pending   map[string]chan string     // origin-id → room's stanza-id
	iqs       map[string]chan iqResponse // our IQ requests' ids → waiting caller
	roomWake  chan struct{}
	posts     postIDs
	roomFiles postIDs        // origin-ids of team copies sent into encrypted rooms (omemo_roomfiles.go)
	mam       mamQueries     // running archive searches (mam.go)
	archives  archiveIndexes // what the searches of each room's archive have read (mam.go)
	running   atomic.Bool
	stopping  atomic.Bool    // a graceful stop is draining the session (drain)
	omemo     *omemoEdge     // nil: OMEMO off (EnableOMEMO)
	langs     *languageCache // nil: senders cannot choose a language (RememberLanguages)

	// answers keeps the answers of the last seconds, written again after
	// a lost session; answersAgain counts those (answers.go).
	answers      answerLog
	answersAgain atomic.Uint64
}

// New returns a gateway that hands what arrives to disp; Run connects it.
// Attachments are stored in m.
func New(cfg Config, disp Dispatcher, rules Rules, m Media, logger *slog.Logger) (*Gateway, error) {
	if cfg.Addr == "" || cfg.Domain == "" || cfg.Secret == "" {
		return nil, errors.New("gateway: addr, domain and secret are required")
	}
	if disp == nil || rules == nil || m == nil {
		return nil, errors.New("gateway: dispatcher, rules and media are required")
	}
	if _, err := jid.Parse(cfg.Domain); err != nil {
		return nil, fmt.Errorf("gateway: bad domain %q: %w", cfg.Domain, err)
	}
	cfg.Nick = cmp.Or(cfg.Nick, "fieldgate")
	cfg.ReflectTimeout = cmp.Or(cfg.ReflectTimeout, 15*time.Second)
	cfg.MaxBackoff = cmp.Or(cfg.MaxBackoff, 3*time.Second)
	cfg.Workers = cmp.Or(cfg.Workers, 32)
	cfg.RoomRetry = cmp.Or(cfg.RoomRetry, roomProblemRetry)
	cfg.DownloadsPerSender = cmp.Or(cfg.DownloadsPerSender, 2)
	cfg.MinDownloadRate = cmp.Or(cfg.MinDownloadRate, 1024)
	cfg.RatePerMinute = cmp.Or(cfg.RatePerMinute, 30)
	cfg.Burst = cmp.Or(cfg.Burst, 30)
	cfg.DeviceListSubscribers = cmp.Or(cfg.DeviceListSubscribers, 10000)
	cfg.PingInterval = cmp.Or(cfg.PingInterval, defaultPingInterval)
	cfg.PingTimeout = cmp.Or(cfg.PingTimeout, defaultPingTimeout)
	fetch, err := NewFetcher(cfg.Fetch)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		disp:       disp,
		media:      m,
		fetch:      fetch,
		limiter:    newSenderLimiter(cfg.RatePerMinute, cfg.Burst),
		presences:  newSenderLimiter(cfg.RatePerMinute, cfg.Burst),
		deliveries: newSenderLimiter(20, 10),
		downloads:  slots.New(cfg.DownloadsPerSender),
		cfg:        cfg,
		log:        cmp.Or(logger, slog.Default()).With("component", "gateway"),
		rules:      rules,
		connected:  make(chan struct{}),
		rooms:      map[string]*room{},
		pending:    map[string]chan string{},
		iqs:        map[string]chan iqResponse{},
		roomWake:   make(chan struct{}, 1),
	}
	g.in = newSenderQueues(cfg.Workers, queuePerSender, queueTotal, g.handleStanza)
	return g, nil
}

// Bounds of the incoming queues: stanzas waiting per sender and in all.
const (
	queuePerSender = 256
	queueTotal     = 4096
)

// Connected reports whether the component connection is up.
func (g *Gateway) Connected() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sess != nil
}

// Connection states for readiness.
const (
	StateConnected    = "connected"
	StateDisconnected = "disconnected"
	StateStandby      = "standby" // another replica holds the component connection
)

// State is the connection state: a standby replica is healthy too.
func (g *Gateway) State() string {
	switch {
	case !g.running.Load():
		return StateStandby
	case g.Connected():
		return StateConnected
	}
	return StateDisconnected
}

// Run keeps the component connected until ctx ends, reconnecting with
// jittered exponential backoff capped at Config.MaxBackoff, and at once
// when a server that refused connections accepts them again. Incoming
// reports and commands go to the dispatcher given to New.
func (g *Gateway) Run(ctx context.Context) error {
	g.running.Store(true)
	defer g.running.Store(false)
	g.stopping.Store(false) // a gateway that leads again after a drain takes messages again
	// Stanzas already taken from the server are handled to the end when
	// ctx ends (a graceful stop), on a context that outlives it by at
	// most drainTimeout (drain).
	hctx, endHandling := context.WithCancel(context.WithoutCancel(ctx))
	defer g.in.wait()
	defer endHandling() // first: a handler waiting for a session that will not come returns
	backoff := reconnectMin
	for {
		start := time.Now()
		err := g.serveOnce(ctx, hctx, endHandling)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > time.Minute {
			backoff = reconnectMin
		}
		delay := backoff/2 + rand.N(backoff)
		var de *dialError
		refused := errors.As(err, &de)
		g.log.Warn("XMPP connection lost, reconnecting", "err", err, "in", delay.Round(time.Millisecond))
		if !g.waitReconnect(ctx, delay, refused) {
			return nil
		}
		backoff = min(backoff*2, g.cfg.MaxBackoff)
	}
}

// Reconnect timing: the first retry comes after 0.25–0.75 s, each next
// one doubles up to Config.MaxBackoff (jittered ±50 %).
const (
	reconnectMin   = 500 * time.Millisecond
	reconnectProbe = 250 * time.Millisecond // how often a refused port is tried
)

// waitReconnect waits delay before the next connection attempt, or less:
// if the server refused the last dial, its port is probed every 250 ms and
// the wait ends as soon as it accepts connections again (a restarted
// server is back). It returns false when ctx ends.
func (g *Gateway) waitReconnect(ctx context.Context, delay time.Duration, refused bool) bool {
	timer := time.NewTimer(delay)
	defer timer.Stop()
	var probe <-chan time.Time
	if refused {
		t := time.NewTicker(reconnectProbe)
		defer t.Stop()
		probe = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-probe:
			pctx, cancel := context.WithTimeout(ctx, reconnectProbe)
			var d net.Dialer
			conn, err := d.DialContext(pctx, "tcp", g.cfg.Addr)
			cancel()
			if err == nil {
				conn.Close()
				g.log.Info("XMPP server accepts connections again; reconnecting now")
				return true
			}
		}
	}
}

// dialError is a failure to open the TCP connection at all.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// serveOnce connects and serves one session until it ends or ctx ends
// (then drain, before the stream is closed). Stanzas are handled on hctx.
func (g *Gateway) serveOnce(ctx, hctx context.Context, endHandling context.CancelFunc) error {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", g.cfg.Addr)
	if err != nil {
		return &dialError{fmt.Errorf("dial %s: %w", g.cfg.Addr, err)}
	}
	sess, err := component.NewSession(dctx, jid.MustParse(g.cfg.Domain), []byte(g.cfg.Secret), conn)
	if err != nil {
		conn.Close()
		return fmt.Errorf("component handshake: %w", err)
	}
	g.log.Info("XMPP component connected", "domain", g.cfg.Domain, "server", g.cfg.Addr)
	g.mu.Lock()
	g.sess = sess
	close(g.connected)
	for _, r := range g.rooms {
		r.reset()
	}
	g.mu.Unlock()

	stop := context.AfterFunc(ctx, func() {
		g.drain(endHandling)
		sess.Close()
		conn.Close()
	})
	defer stop()
	// sctx ends with this session, so that what runs for one session does
	// not pile up over reconnects.
	sctx, endSession := context.WithCancel(ctx)
	defer endSession()
	go g.manageRooms(ctx)
	go g.retryXMPPQueue(ctx)
	go g.keepAlive(sctx, conn)
	if lost := g.answers.takeLost(); len(lost) > 0 {
		go g.replayAnswers(ctx, lost)
	}
	if g.omemo != nil {
		go g.omemo.housekeep(sctx, g)
	}
	err = sess.Serve(xmpp.HandlerFunc(func(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		return g.handle(hctx, sess, t, start)
	}))

	g.mu.Lock()
	g.sess = nil
	g.connected = make(chan struct{})
	for _, r := range g.rooms {
		r.reset()
	}
	g.mu.Unlock()
	conn.Close()
	if ctx.Err() == nil {
		// Not our stop: what the server had not yet read is lost.
		g.answers.sessionLost(sess, time.Now())
	}
	if err == nil {
		err = errors.New("stream closed by server")
	}
	return err
}

// drainTimeout bounds how long a stopping gateway goes on handling the
// stanzas it has taken from the server before it closes the stream;
// drainQuiet is how long it goes on refusing what arrives once the
// stanzas it had are handled (the server may have routed some to us just
// before we decided to stop).
const (
	drainTimeout = 10 * time.Second
	drainQuiet   = 300 * time.Millisecond
)

// drain ends a session on a graceful stop (SIGTERM, a rolling update):
// a message the server has delivered to the gateway has been
// acknowledged to its sender's messenger (XEP-0198), which will never
// send it again, so closing the stream at once would lose it without a
// word. New messages are refused from now on with an error the messenger
// shows (refuseStopping); those already taken are handled to the end,
// their answers sent, and what arrives for drainQuiet more is refused
// (what the server routed to us while we decided to stop is not left
// unread in the socket), for at most drainTimeout; then endHandling
// cancels what still runs.
func (g *Gateway) drain(endHandling context.CancelFunc) {
	g.stopping.Store(true)
	g.log.Info("stopping: finishing the messages already received, refusing new ones", "drain", drainTimeout)
	deadline := time.Now().Add(drainTimeout)
	idle := g.in.waitIdle(drainTimeout)
	if idle {
		// What the server routed to us while we decided to stop arrives
		// now: refuse it before the stream closes.
		time.Sleep(drainQuiet)
		idle = g.in.waitIdle(time.Until(deadline))
	}
	if !idle {
		g.log.Warn("stopping: stanzas still being handled after the drain time are cancelled", "drain", drainTimeout)
	}
	endHandling()
}

// session waits (until ctx ends) for a connection.
func (g *Gateway) session(ctx context.Context) (*xmpp.Session, error) {
	for {
		g.mu.Lock()
		s, ch := g.sess, g.connected
		g.mu.Unlock()
		if s != nil {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrNotConnected, ctx.Err())
		case <-ch:
		}
	}
}

// send encodes a stanza on the current session.
func (g *Gateway) send(ctx context.Context, v any) error {
	s, err := g.session(ctx)
	if err != nil {
		return err
	}
	return g.encode(ctx, s, v)
}

// encode writes a stanza on session s.
func (g *Gateway) encode(ctx context.Context, s *xmpp.Session, v any) error {
	wctx, release := writeContext(ctx)
	err := s.Encode(wctx, v)
	release()
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// writeContext returns the context for one write on the XMPP session: it
// ends when ctx ends during the write, and never after release.
// mellium.im/xmpp v0.23.0 turns a write's context into a connection
// deadline from a goroutine; with a context that ends right after the
// write returned (any caller's deferred cancel), that goroutine may
// still set the deadline into the past while the next write, from
// another goroutine, is running, which then fails with "i/o timeout".
func writeContext(ctx context.Context) (context.Context, func()) {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	return wctx, func() { stop() }
}

// handle runs inside Serve: decode, hand off, never send on the session
// (except IQ replies through t, which Serve expects) and never fail the
// stream for a bad stanza.
func (g *Gateway) handle(ctx context.Context, sess *xmpp.Session, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	// t yields the stanza's inner tokens and its end element; the decoder
	// must see the start element too or it refuses the unmatched end.
	d := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), t))
	var v any
	switch start.Name.Local {
	case "message":
		v = new(inMessage)
	case "presence":
		v = new(inPresence)
	case "iq":
		iq := new(inIQ)
		var rec *innerRecorder
		if typ := headerOf(start).typ; typ == "result" || typ == "error" {
			// An answer to one of our queries: keep its payload (rawxml.go).
			rec = newInnerRecorder(xmlstream.MultiReader(xmlstream.Token(*start), t))
			d = xml.NewTokenDecoder(rec)
		}
		if err := d.Decode(iq); err != nil {
			g.log.Warn("malformed iq answered with bad-request", "err", err)
			h := headerOf(start)
			if h.typ == "" {
				h.typ = "get" // a request without a type is answered too
			}
			if h.typ == "get" || h.typ == "set" {
				g.iqFail(t, &inIQ{From: h.from, To: h.to, ID: h.id, Type: h.typ}, "modify", "bad-request")
			}
			return nil
		}
		if rec != nil {
			iq.Inner = rec.inner()
		}
		if g.omemo != nil && g.omemo.interceptIQ(g, t, iq) {
			return nil
		}
		g.answerIQ(t, iq)
		return nil
	default:
		return nil
	}
	if err := d.Decode(v); err != nil {
		g.log.Warn("malformed stanza dropped", "kind", start.Name.Local, "err", err)
		if start.Name.Local == "message" {
			// Tell the sender instead of dropping it silently.
			b := headerOf(start)
			v = &b
		} else {
			return nil
		}
	}
	if p, ok := v.(*inPresence); ok && g.isRoomJID(p.From) {
		// Occupant bookkeeping is cheap and order-sensitive: do it inline.
		g.roomPresence(p)
		return nil
	}
	if m, ok := v.(*inMessage); ok {
		m.arrivedOn = sess
	}
	if m, ok := v.(*inMessage); ok && m.MAMResult != nil {
		g.mamResultIn(m)
		return nil
	}
	if m, ok := v.(*inMessage); ok && m.Type == "groupchat" && g.reflected(m) {
		return nil
	}
	if m, ok := v.(*inMessage); ok && g.roomConfigChanged(m) {
		return nil
	}
	if m, ok := v.(*inMessage); ok {
		g.bindOccupant(m) // before it waits in its room's queue (rooms.go)
		if g.stopping.Load() && m.Type != "groupchat" && m.Type != "error" {
			v = &stoppingMessage{m} // refused: the next gateway takes it (refuseStopping)
		}
	}
	// One sender's stanzas are handled in order (the parts of a report
	// must not overtake each other), different senders in parallel: a slow
	// attachment download holds up nobody else.
	if !g.in.submit(ctx, senderOf(v), v) {
		g.log.Warn("incoming queue full, stanza dropped", "kind", start.Name.Local)
	}
	return nil
}

// badStanza is a message that could not be decoded; its sender gets an error.
type badStanza struct{ from, to, id, typ string }

// headerOf reads the addressing attributes of a stanza that could not be
// decoded, so that it can still be answered.
func headerOf(start *xml.StartElement) badStanza {
	var b badStanza
	for _, a := range start.Attr {
		switch a.Name.Local {
		case "from":
			b.from = a.Value
		case "to":
			b.to = a.Value
		case "id":
			b.id = a.Value
		case "type":
			b.typ = a.Value
		}
	}
	return b
}

func senderOf(v any) string {
	switch s := v.(type) {
	case *badStanza:
		return bare(s.from)
	case *inMessage:
		return bare(s.From)
	case *stoppingMessage:
		return bare(s.From)
	case *inPresence:
		return bare(s.From)
	}
	return ""
}

// handleStanza handles one decoded stanza; a panic is logged and the
// next stanza is handled.
func (g *Gateway) handleStanza(ctx context.Context, v any) {
	defer func() {
		if r := recover(); r != nil {
			g.log.Error("panic handling stanza", "panic", r)
		}
	}()
	switch s := v.(type) {
	case *inMessage:
		g.onMessage(ctx, s)
	case *stoppingMessage:
		g.refuseStopping(ctx, s.inMessage)
	case *inPresence:
		g.onPresence(ctx, s)
	case *badStanza:
		if s.typ != "error" && s.typ != "groupchat" && s.from != "" {
			_ = g.sendAnswer(ctx, outMessage{From: s.to, To: s.from, ID: s.id, Type: "error",
				Error: stanzaErr("modify", "bad-request", "malformed message / fehlerhafte Nachricht")}, true, nil)
		}
	}
}

// addressJID is the full address of a function address.
func (g *Gateway) addressJID(local string) string {
	if local == "" {
		return g.cfg.Domain
	}
	return local + "@" + g.cfg.Domain
}

func bare(s string) string {
	j, err := jid.Parse(s)
	if err != nil {
		return ""
	}
	return strings.ToLower(j.Bare().String())
}
