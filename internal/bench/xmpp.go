package bench

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/upload"
)

// inMessage is what the bench reads from received messages.
type inMessage struct {
	XMLName xml.Name `xml:"message"`
	From    string   `xml:"from,attr"`
	Type    string   `xml:"type,attr"`
	Body    string   `xml:"body"`
	// OOB are the links of the message (XEP-0066): fieldgate's room post
	// links each photo's team copy this way.
	OOB []oobX `xml:"jabber:x:oob x"`
}

type outMessage struct {
	XMLName  xml.Name  `xml:"message"`
	From     string    `xml:"from,attr,omitempty"`
	To       string    `xml:"to,attr"`
	ID       string    `xml:"id,attr"`
	Type     string    `xml:"type,attr"`
	Body     string    `xml:"body"`
	OOB      *oobX     `xml:"jabber:x:oob x,omitempty"`
	OriginID *originID `xml:"urn:xmpp:sid:0 origin-id,omitempty"`
}

type oobX struct {
	URL string `xml:"url"`
}

type originID struct {
	ID string `xml:"id,attr"`
}

type joinPresence struct {
	XMLName xml.Name `xml:"presence"`
	From    string   `xml:"from,attr,omitempty"`
	To      string   `xml:"to,attr"`
	MUC     struct {
		XMLName xml.Name `xml:"http://jabber.org/protocol/muc x"`
		History struct {
			MaxStanzas int `xml:"maxstanzas,attr"`
		} `xml:"history"`
	}
}

// caseRE finds case numbers (2026-000042) in message bodies.
var caseRE = regexp.MustCompile(`\b[0-9]{4}-[0-9]{6}\b`)

// seen records when a marker (a case number or a floor token) first
// appeared in a received message, and wakes waiters.
type seen struct {
	mu    sync.Mutex
	at    map[string]time.Time
	order []string // keys in the order they were first seen
	wake  chan struct{}
	match func(m *inMessage) []string
}

func newSeen(match func(m *inMessage) []string) *seen {
	return &seen{at: map[string]time.Time{}, wake: make(chan struct{}), match: match}
}

func (s *seen) add(m *inMessage, now time.Time) {
	keys := s.match(m)
	if len(keys) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if _, ok := s.at[k]; !ok {
			s.at[k] = now
			s.order = append(s.order, k)
		}
	}
	close(s.wake)
	s.wake = make(chan struct{})
}

// wait returns when key was first seen, or an error when ctx ends first.
func (s *seen) wait(ctx context.Context, key string) (time.Time, error) {
	for {
		s.mu.Lock()
		t, ok := s.at[key]
		wake := s.wake
		s.mu.Unlock()
		if ok {
			return t, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%s not seen: %w", key, ctx.Err())
		}
	}
}

// next waits for the (n+1)th key ever seen and returns it with its time.
func (s *seen) next(ctx context.Context, n int) (string, time.Time, error) {
	for {
		s.mu.Lock()
		var key string
		if len(s.order) > n {
			key = s.order[n]
		}
		t, wake := s.at[key], s.wake
		s.mu.Unlock()
		if key != "" {
			return key, t, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return "", time.Time{}, fmt.Errorf("no reply: %w", ctx.Err())
		}
	}
}

// count is how many keys have been seen.
func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order)
}

// client is an XMPP c2s session (a simulated field worker or the room
// member that watches reflections).
type client struct {
	sess *xmpp.Session
	conn net.Conn
	jid  jid.JID
	got  *seen

	mu       sync.Mutex
	refusals map[string]string // room → error condition of a refused join
}

// login connects acct (bare JID and password) to the c2s server at addr.
// Without TLS the session is marked secure so that SASL PLAIN is allowed:
// Target refuses anything but loopback and configured test hosts.
func login(ctx context.Context, addr string, acct Account, got *seen) (*client, error) {
	j, err := jid.Parse(acct.JID + "/bench-" + randToken(4))
	if err != nil {
		return nil, fmt.Errorf("bench: account %q: %w", acct.JID, err)
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bench: dial %s: %w", addr, err)
	}
	sess, err := xmpp.NewSession(ctx, j.Domain(), j, conn, xmpp.Secure, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: []xmpp.StreamFeature{
			xmpp.SASL("", acct.Password, sasl.ScramSha1, sasl.Plain),
			xmpp.BindResource(),
		}}
	}))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("bench: login %s: %w", acct.JID, err)
	}
	c := &client{sess: sess, conn: conn, jid: sess.LocalAddr(), got: got}
	go func() { _ = sess.Serve(xmpp.HandlerFunc(c.handle)) }()
	if err := sess.Encode(ctx, struct {
		XMLName xml.Name `xml:"presence"`
	}{}); err != nil {
		c.close()
		return nil, fmt.Errorf("bench: presence of %s: %w", acct.JID, err)
	}
	return c, nil
}

func (c *client) handle(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	if start.Name.Local == "presence" {
		var e errorStanza
		var from string
		for _, a := range start.Attr {
			if a.Name.Local == "from" {
				from = a.Value
			}
		}
		err := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), t)).Decode(&e)
		room, _, _ := strings.Cut(from, "/")
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.refusals == nil {
			c.refusals = map[string]string{}
		}
		if err == nil && e.Type == "error" {
			c.refusals[room] = e.condition()
		} else if err == nil && e.Type != "unavailable" {
			delete(c.refusals, room) // a later join went through
		}
		return nil
	}
	return readMessage(c.got, t, start)
}

// refused returns why room refused our join, or "".
func (c *client) refused(room string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refusals[room]
}

func readMessage(got *seen, t xml.TokenReader, start *xml.StartElement) error {
	if start.Name.Local != "message" || got == nil {
		return nil
	}
	now := time.Now()
	var m inMessage
	if err := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), t)).Decode(&m); err != nil {
		return nil
	}
	got.add(&m, now)
	return nil
}

func (c *client) send(ctx context.Context, v any) error {
	return c.sess.Encode(ctx, v)
}

func (c *client) join(ctx context.Context, room, nick string) error {
	return c.send(ctx, joinPresence{To: room + "/" + nick})
}

// upload puts data on the server's XEP-0363 service (upload.<domain>) and
// returns the GET URL, as Conversations or Dino do.
func (c *client) upload(ctx context.Context, name, contentType string, data []byte) (string, error) {
	slot, err := upload.GetSlot(ctx, upload.File{Name: name, Size: len(data), Type: contentType},
		jid.MustParse("upload."+c.jid.Domainpart()), c.sess)
	if err != nil {
		return "", fmt.Errorf("bench: upload slot: %w", err)
	}
	req, err := slot.Put(ctx, bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("bench: upload request: %w", err)
	}
	req.ContentLength = int64(len(data))
	if req.Header == nil { // a slot without <header/> elements (ejabberd) gives none
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("bench: upload PUT: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("bench: upload PUT: %s", resp.Status)
	}
	return slot.GetURL.String(), nil
}

func (c *client) close() {
	_ = c.sess.Close()
	_ = c.conn.Close()
}

// componentConn is an XEP-0114 component session: the floor's room
// message is sent the way the gateway sends its posts.
type componentConn struct {
	sess   *xmpp.Session
	conn   net.Conn
	domain string

	mu      sync.Mutex
	lastErr string // the last error stanza the server sent back
}

// errorStanza is any stanza of type "error" (RFC 6120 §8.3).
type errorStanza struct {
	Type  string `xml:"type,attr"`
	Error struct {
		Type  string `xml:"type,attr"`
		Inner []struct {
			XMLName xml.Name
		} `xml:",any"`
	} `xml:"error"`
}

// condition is the error type and condition (RFC 6120 §8.3.3).
func (e *errorStanza) condition() string {
	cond := e.Error.Type
	for _, in := range e.Error.Inner {
		cond += " " + in.XMLName.Local
	}
	return cond
}

func (c *componentConn) handle(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	var e errorStanza
	if err := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), t)).Decode(&e); err != nil || e.Type != "error" {
		return nil
	}
	c.mu.Lock()
	c.lastErr = start.Name.Local + " error: " + e.condition()
	c.mu.Unlock()
	return nil
}

func (c *componentConn) lastError() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

func dialComponent(ctx context.Context, addr, domain, secret string) (*componentConn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bench: dial component port %s: %w", addr, err)
	}
	d, err := jid.Parse(domain)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("bench: component domain %q: %w", domain, err)
	}
	sess, err := component.NewSession(ctx, d, []byte(secret), conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("bench: component %s: %w", domain, err)
	}
	c := &componentConn{sess: sess, conn: conn, domain: domain}
	go func() {
		_ = sess.Serve(xmpp.HandlerFunc(c.handle))
	}()
	return c, nil
}

func (c *componentConn) from() string { return c.domain + "/bench-floor" }

// join enters room under a nick of this run (a nick left behind by an
// earlier run must not block it).
func (c *componentConn) join(ctx context.Context, room, nick string) error {
	return c.sess.Encode(ctx, joinPresence{From: c.from(), To: room + "/" + nick})
}

// grantMember makes bareJID a member of room (XEP-0045 §9.3), which a
// members-only room needs before that user may enter. The component must
// own the room (it created it).
func (c *componentConn) grantMember(ctx context.Context, room, bareJID string) error {
	type item struct {
		Affiliation string `xml:"affiliation,attr"`
		JID         string `xml:"jid,attr"`
	}
	return c.sess.Encode(ctx, struct {
		XMLName xml.Name `xml:"iq"`
		From    string   `xml:"from,attr"`
		To      string   `xml:"to,attr"`
		ID      string   `xml:"id,attr"`
		Type    string   `xml:"type,attr"`
		Query   struct {
			XMLName xml.Name `xml:"http://jabber.org/protocol/muc#admin query"`
			Item    item     `xml:"item"`
		}
	}{From: c.from(), To: room, ID: randToken(8), Type: "set", Query: struct {
		XMLName xml.Name `xml:"http://jabber.org/protocol/muc#admin query"`
		Item    item     `xml:"item"`
	}{Item: item{Affiliation: "member", JID: bareJID}}})
}

func (c *componentConn) groupchat(ctx context.Context, room, body string) error {
	return c.sess.Encode(ctx, outMessage{From: c.from(), To: room, ID: randToken(8), Type: "groupchat", Body: body})
}

func (c *componentConn) close() {
	_ = c.sess.Close()
	_ = c.conn.Close()
}

// linkKey marks the first room message of a case that links a photo.
func linkKey(caseNumber string) string { return "link:" + caseNumber }

// roomMarkers returns the case numbers and floor tokens in a room message,
// and linkKey of each case number when the message carries a link
// (XEP-0066) to a team copy.
func roomMarkers(m *inMessage) []string {
	if m.Type != "groupchat" {
		return nil
	}
	keys := caseRE.FindAllString(m.Body, -1)
	if len(m.OOB) > 0 {
		for _, k := range keys {
			keys = append(keys, linkKey(k))
		}
	}
	if i := strings.Index(m.Body, floorPrefix); i >= 0 {
		keys = append(keys, strings.TrimSpace(m.Body[i:]))
	}
	return keys
}

// replyMarkers returns the case numbers in a 1:1 reply to a field worker,
// in their order: a reply may name the worker's previous case before the
// new one ("… 900 m von Meldung 2026-000042 entfernt … die neue Meldung
// 2026-000043"); the worker's seen keeps only those it had not seen.
func replyMarkers(m *inMessage) []string {
	if m.Type == "groupchat" || m.Type == "error" {
		return nil
	}
	return caseRE.FindAllString(m.Body, -1)
}
