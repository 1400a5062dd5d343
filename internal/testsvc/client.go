package testsvc

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/upload"
)

// Message is a message a test client received.
type Message struct {
	XMLName  xml.Name `xml:"message"`
	From     string   `xml:"from,attr"`
	To       string   `xml:"to,attr"`
	ID       string   `xml:"id,attr"`
	Type     string   `xml:"type,attr"`
	Body     string   `xml:"body"`
	OOB      []string `xml:"jabber:x:oob x>url"`
	Received *struct {
		ID string `xml:"id,attr"`
	} `xml:"urn:xmpp:receipts received"`
	StanzaID *struct {
		ID string `xml:"id,attr"`
		By string `xml:"by,attr"`
	} `xml:"urn:xmpp:sid:0 stanza-id"`
	// OriginID is the sender's XEP-0359 origin-id.
	OriginID *struct {
		ID string `xml:"id,attr"`
	} `xml:"urn:xmpp:sid:0 origin-id"`
	Error *struct {
		Type string `xml:"type,attr"`
		Text string `xml:"text"`
	} `xml:"error"`
	Archived *ArchivedMessage `xml:"urn:xmpp:mam:2 result"` // a result of RoomArchive (mam.go)
	// Delay is the XEP-0203 stamp of a message the server kept, e.g. an
	// offline message (XEP-0160): when the server received it.
	Delay *struct {
		Stamp string `xml:"stamp,attr"`
	} `xml:"urn:xmpp:delay delay"`
	// Replace is set on an XEP-0308 correction: the id of the corrected message.
	Replace *struct {
		ID string `xml:"id,attr"`
	} `xml:"urn:xmpp:message-correct:0 replace"`
	// Event is an XEP-0060 event notification (a PEP push).
	Event *PubSubEvent `xml:"http://jabber.org/protocol/pubsub#event event"`
	// OMEMO is the <encrypted/> element of an OMEMO message (XEP-0384 v0.3).
	OMEMO *OMEMOElement `xml:"eu.siacs.conversations.axolotl encrypted"`
}

// OMEMOElement is an OMEMO message's <encrypted/> as received: the
// sender's device, one Signal message (base64) per recipient device, the
// IV and the payload.
type OMEMOElement struct {
	Header struct {
		SID  uint32 `xml:"sid,attr"`
		Keys []struct {
			RID    uint32 `xml:"rid,attr"`
			PreKey bool   `xml:"prekey,attr"`
			Value  string `xml:",chardata"`
		} `xml:"key"`
		IV string `xml:"iv"`
	} `xml:"header"`
	Payload string `xml:"payload"`
}

// PubSubEvent is an XEP-0060 event notification: its node and items, with
// the device ids of an OMEMO device list (XEP-0384 v0.3).
type PubSubEvent struct {
	Items struct {
		Node string `xml:"node,attr"`
		Item []struct {
			ID      string `xml:"id,attr"`
			Devices []struct {
				ID uint32 `xml:"id,attr"`
			} `xml:"eu.siacs.conversations.axolotl list>device"`
		} `xml:"item"`
	} `xml:"items"`
}

// Client is a real XMPP client (c2s, SASL PLAIN on loopback) for tests.
type Client struct {
	t    testing.TB
	JID  jid.JID
	sess *xmpp.Session

	closed chan struct{} // closed when the server ended the stream

	mu       sync.Mutex
	msgs     []Message
	others   []Stanza // presences and IQs
	cond     chan struct{}
	features []string // answered to disco#info (AdvertiseFeatures)
	sm       streamMgmt
}

// AdvertiseFeatures makes the client answer disco#info queries (XEP-0030,
// also for an XEP-0115 caps node) with these features, as a messenger
// does; without it they get service-unavailable.
func (c *Client) AdvertiseFeatures(features ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.features = features
}

type discoInfoResult struct {
	XMLName xml.Name `xml:"iq"`
	Type    string   `xml:"type,attr"`
	ID      string   `xml:"id,attr"`
	To      string   `xml:"to,attr"`
	Query   struct {
		XMLName  xml.Name `xml:"http://jabber.org/protocol/disco#info query"`
		Node     string   `xml:"node,attr,omitempty"`
		Identity struct {
			Category string `xml:"category,attr"`
			Type     string `xml:"type,attr"`
		} `xml:"identity"`
		Features []struct {
			Var string `xml:"var,attr"`
		} `xml:"feature"`
	}
}

// Stanza is a presence or IQ a test client received: enough to see a
// refused room join or an IQ's answer.
type Stanza struct {
	Name  string // "presence" or "iq"
	From  string
	ID    string
	Type  string
	Error string // the defined condition of a stanza error ("" if none)
}

// Login connects acct to the test server's c2s port and starts reading.
func Login(t testing.TB, acct Account) *Client {
	t.Helper()
	env := XMPP(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	addr := jid.MustParse(acct.JID + "/test-" + randHex(4))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", env.C2S)
	if err != nil {
		t.Fatalf("testsvc: dial c2s: %v", err)
	}
	// Loopback without TLS: the session is marked secure on purpose so
	// that mellium allows SASL PLAIN; the test server permits it only here.
	sess, err := xmpp.NewSession(ctx, addr.Domain(), addr, conn, xmpp.Secure, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: []xmpp.StreamFeature{
			xmpp.SASL("", acct.Password, sasl.ScramSha1, sasl.Plain),
			xmpp.BindResource(),
		}}
	}))
	if err != nil {
		conn.Close()
		t.Fatalf("testsvc: login %s: %v", acct.JID, err)
	}
	c := &Client{t: t, JID: sess.LocalAddr(), sess: sess, cond: make(chan struct{}), closed: make(chan struct{})}
	go func() {
		_ = sess.Serve(xmpp.HandlerFunc(c.handle))
		close(c.closed)
	}()
	if err := sess.Encode(noWriteDeadline, struct {
		XMLName xml.Name `xml:"presence"`
	}{}); err != nil {
		t.Fatalf("testsvc: initial presence: %v", err)
	}
	t.Cleanup(func() {
		sess.Close()
		conn.Close()
	})
	return c
}

func (c *Client) handle(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	c.mu.Lock()
	sm := c.smElement(t, start)
	c.mu.Unlock()
	if sm {
		return nil
	}
	if start.Name.Local == "presence" || start.Name.Local == "iq" {
		var v struct {
			From  string `xml:"from,attr"`
			ID    string `xml:"id,attr"`
			Type  string `xml:"type,attr"`
			Error *struct {
				Conds []xml.Name `xml:",any"`
			} `xml:"error"`
			DiscoInfo *struct {
				Node string `xml:"node,attr"`
			} `xml:"http://jabber.org/protocol/disco#info query"`
		}
		if err := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), t)).Decode(&v); err != nil {
			return nil
		}
		c.mu.Lock()
		features := c.features
		c.mu.Unlock()
		if start.Name.Local == "iq" && v.Type == "get" && v.DiscoInfo != nil && features != nil {
			r := discoInfoResult{Type: "result", ID: v.ID, To: v.From}
			r.Query.Node = v.DiscoInfo.Node
			r.Query.Identity.Category, r.Query.Identity.Type = "client", "pc"
			for _, f := range features {
				r.Query.Features = append(r.Query.Features, struct {
					Var string `xml:"var,attr"`
				}{f})
			}
			_ = t.Encode(r)
		}
		st := Stanza{Name: start.Name.Local, From: v.From, ID: v.ID, Type: v.Type}
		if v.Error != nil {
			for _, n := range v.Error.Conds {
				if n.Local != "text" && st.Error == "" {
					st.Error = n.Local
				}
			}
		}
		c.mu.Lock()
		c.others = append(c.others, st)
		close(c.cond)
		c.cond = make(chan struct{})
		c.mu.Unlock()
		return nil
	}
	if start.Name.Local != "message" {
		return nil
	}
	var m Message
	if err := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), t)).Decode(&m); err != nil {
		return nil
	}
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	close(c.cond)
	c.cond = make(chan struct{})
	c.mu.Unlock()
	return nil
}

// noWriteDeadline is the context of every write of the test client.
// mellium.im/xmpp v0.23.0 turns a write context into a connection
// deadline from a goroutine: when the context ends right after the write
// returned (a deferred cancel), that goroutine may still set the
// deadline into the past while the next write runs, which then fails
// with "i/o timeout" (seen as flaky sends in tight loops). A context
// that never ends sets no deadline; the tests have their own time-outs.
var noWriteDeadline = context.Background()

// Send sends a raw stanza (a struct that marshals to XML).
func (c *Client) Send(v any) {
	c.t.Helper()
	if err := c.sess.Encode(noWriteDeadline, v); err != nil {
		c.t.Fatalf("testsvc: send: %v", err)
	}
}

// SendRaw sends literal XML (for crafted-stanza tests).
func (c *Client) SendRaw(raw string) {
	c.t.Helper()
	if err := c.sess.Send(noWriteDeadline, xml.NewDecoder(strings.NewReader(raw))); err != nil {
		c.t.Fatalf("testsvc: send raw: %v", err)
	}
}

type outMsg struct {
	XMLName xml.Name `xml:"message"`
	To      string   `xml:"to,attr"`
	ID      string   `xml:"id,attr"`
	Type    string   `xml:"type,attr"`
	Body    string   `xml:"body"`
}

// Chat sends a chat message and returns its id.
func (c *Client) Chat(to, body string) string {
	id := randHex(8)
	c.Send(outMsg{To: to, ID: id, Type: "chat", Body: body})
	return id
}

// JoinRoom enters a MUC room with nick (no history).
func (c *Client) JoinRoom(room, nick string) { c.JoinRoomHistory(room, nick, 0) }

// JoinRoomHistory enters a MUC room asking for the last n messages, and
// waits up to 30 s for the room's answer: the occupant's own presence
// (XEP-0045 §7.2.3) or an error. A message sent into the room after it
// returns reaches this client; without the wait a post filed right after
// the join could reach a busy server's room before the client was in it
// (and history 0 would not bring it). It does not fail the test: a test
// that expects a refusal reads it with JoinRoomResult.
func (c *Client) JoinRoomHistory(room, nick string, n int) {
	c.sendJoin(room, nick, n)
	full := room + "/" + nick
	deadline := time.After(30 * time.Second)
	for seen := 0; ; {
		c.mu.Lock()
		all, ch := c.others, c.cond
		c.mu.Unlock()
		for ; seen < len(all); seen++ {
			if st := all[seen]; st.Name == "presence" && strings.EqualFold(st.From, full) && (st.Type == "" || st.Type == "error") {
				return
			}
		}
		select {
		case <-ch:
		case <-deadline:
			return
		}
	}
}

func (c *Client) sendJoin(room, nick string, n int) {
	c.Send(struct {
		XMLName xml.Name `xml:"presence"`
		To      string   `xml:"to,attr"`
		X       struct {
			XMLName xml.Name `xml:"http://jabber.org/protocol/muc x"`
			History struct {
				Max int `xml:"maxstanzas,attr"`
			} `xml:"history"`
		}
	}{To: room + "/" + nick, X: struct {
		XMLName xml.Name `xml:"http://jabber.org/protocol/muc x"`
		History struct {
			Max int `xml:"maxstanzas,attr"`
		} `xml:"history"`
	}{History: struct {
		Max int `xml:"maxstanzas,attr"`
	}{Max: n}}})
}

// Groupchat writes body into a room.
func (c *Client) Groupchat(room, body string) {
	c.Send(outMsg{To: room, ID: randHex(8), Type: "groupchat", Body: body})
}

// WaitMessage waits for the first received message (old or new) that
// match accepts, failing the test after timeout.
func (c *Client) WaitMessage(timeout time.Duration, what string, match func(Message) bool) Message {
	c.t.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		c.mu.Lock()
		msgs, ch := c.msgs, c.cond
		c.mu.Unlock()
		for ; seen < len(msgs); seen++ {
			if match(msgs[seen]) {
				return msgs[seen]
			}
		}
		select {
		case <-ch:
		case <-deadline:
			var got strings.Builder
			for _, m := range msgs {
				fmt.Fprintf(&got, "\n  %s %s: %.200q", m.Type, m.From, m.Body)
			}
			c.t.Fatalf("testsvc: %s did not receive %s within %v; got %d messages:%s", c.JID, what, timeout, len(msgs), got.String())
			return Message{}
		}
	}
}

// Messages returns everything received so far.
func (c *Client) Messages() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.msgs...)
}

// Upload puts a file on the server's XEP-0363 upload service and returns
// the GET URL, as Conversations or Dino do before sending it.
func (c *Client) Upload(path, contentType string) string {
	c.t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	slot, err := upload.GetSlot(ctx, upload.File{Name: filepath.Base(path), Size: len(data), Type: contentType},
		jid.MustParse("upload."+c.JID.Domainpart()), c.sess)
	if err != nil {
		c.t.Fatalf("testsvc: upload slot: %v", err)
	}
	req, err := slot.Put(ctx, bytes.NewReader(data))
	if err != nil {
		c.t.Fatal(err)
	}
	req.ContentLength = int64(len(data))
	if req.Header == nil { // a slot without PUT headers (ejabberd) leaves it nil
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("testsvc: upload PUT: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		c.t.Fatalf("testsvc: upload PUT: %s", resp.Status)
	}
	return slot.GetURL.String()
}

// ReportMessage is a message to a function address as messengers send it.
type ReportMessage struct {
	XMLName  xml.Name `xml:"message"`
	To       string   `xml:"to,attr"`
	ID       string   `xml:"id,attr"`
	Type     string   `xml:"type,attr"`
	Body     string   `xml:"body,omitempty"`
	OOB      *oobX    `xml:"jabber:x:oob x,omitempty"`
	OriginID *struct {
		XMLName xml.Name `xml:"urn:xmpp:sid:0 origin-id"`
		ID      string   `xml:"id,attr"`
	}
	Request *struct {
		XMLName xml.Name `xml:"urn:xmpp:receipts request"`
	}
}

type oobX struct {
	URL string `xml:"url"`
}

// SendReport sends body (and an OOB URL if given) with a receipt request
// and an origin-id equal to id; it returns id.
func (c *Client) SendReport(to, id, body, oobURL string) string {
	if id == "" {
		id = randHex(8)
	}
	m := ReportMessage{To: to, ID: id, Type: "chat", Body: body}
	m.OriginID = &struct {
		XMLName xml.Name `xml:"urn:xmpp:sid:0 origin-id"`
		ID      string   `xml:"id,attr"`
	}{ID: id}
	m.Request = &struct {
		XMLName xml.Name `xml:"urn:xmpp:receipts request"`
	}{}
	if oobURL != "" {
		m.OOB = &oobX{URL: oobURL}
	}
	c.Send(m)
	return id
}

// React sends an XEP-0444 reaction to message id in a room.
func (c *Client) React(room, id, emoji string) {
	c.Send(struct {
		XMLName   xml.Name `xml:"message"`
		To        string   `xml:"to,attr"`
		ID        string   `xml:"id,attr"`
		Type      string   `xml:"type,attr"`
		Reactions struct {
			XMLName  xml.Name `xml:"urn:xmpp:reactions:0 reactions"`
			ID       string   `xml:"id,attr"`
			Reaction []string `xml:"reaction"`
		}
	}{To: room, ID: randHex(8), Type: "groupchat", Reactions: struct {
		XMLName  xml.Name `xml:"urn:xmpp:reactions:0 reactions"`
		ID       string   `xml:"id,attr"`
		Reaction []string `xml:"reaction"`
	}{ID: id, Reaction: []string{emoji}}})
}

// DiscoInfo asks an entity for its XEP-0030 identity and features.
func (c *Client) DiscoInfo(to string) disco.Info {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := disco.GetInfo(ctx, "", jid.MustParse(to), c.sess)
	if err != nil {
		c.t.Fatalf("testsvc: disco#info %s: %v", to, err)
	}
	return info
}

// Reply sends an XEP-0461 reply to message id in a room, with the quoted
// fallback line clients put in front.
func (c *Client) Reply(room, toNick, id, quoted, body string) {
	c.Send(struct {
		XMLName xml.Name `xml:"message"`
		To      string   `xml:"to,attr"`
		ID      string   `xml:"id,attr"`
		Type    string   `xml:"type,attr"`
		Body    string   `xml:"body"`
		Reply   struct {
			XMLName xml.Name `xml:"urn:xmpp:reply:0 reply"`
			To      string   `xml:"to,attr"`
			ID      string   `xml:"id,attr"`
		}
	}{To: room, ID: randHex(8), Type: "groupchat", Body: "> " + quoted + "\n" + body, Reply: struct {
		XMLName xml.Name `xml:"urn:xmpp:reply:0 reply"`
		To      string   `xml:"to,attr"`
		ID      string   `xml:"id,attr"`
	}{To: room + "/" + toNick, ID: id}})
}

// SendGeoloc sends text with an XEP-0080 location element.
func (c *Client) SendGeoloc(to, body string, lat, lon float64) {
	c.Send(struct {
		XMLName xml.Name `xml:"message"`
		To      string   `xml:"to,attr"`
		ID      string   `xml:"id,attr"`
		Type    string   `xml:"type,attr"`
		Body    string   `xml:"body"`
		Geoloc  struct {
			XMLName xml.Name `xml:"http://jabber.org/protocol/geoloc geoloc"`
			Lat     float64  `xml:"lat"`
			Lon     float64  `xml:"lon"`
		}
	}{To: to, ID: randHex(8), Type: "chat", Body: body, Geoloc: struct {
		XMLName xml.Name `xml:"http://jabber.org/protocol/geoloc geoloc"`
		Lat     float64  `xml:"lat"`
		Lon     float64  `xml:"lon"`
	}{Lat: lat, Lon: lon}})
}

// Stanzas returns the presences and IQs received so far.
func (c *Client) Stanzas() []Stanza {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Stanza(nil), c.others...)
}

// WaitStanza waits for the first received presence or IQ (old or new)
// that match accepts, failing the test after timeout.
func (c *Client) WaitStanza(timeout time.Duration, what string, match func(Stanza) bool) Stanza {
	c.t.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		c.mu.Lock()
		all, ch := c.others, c.cond
		c.mu.Unlock()
		for ; seen < len(all); seen++ {
			if match(all[seen]) {
				return all[seen]
			}
		}
		select {
		case <-ch:
		case <-deadline:
			c.t.Fatalf("testsvc: %s did not receive %s within %v; got %+v", c.JID, what, timeout, all)
			return Stanza{}
		}
	}
}

// HasStanza reports whether a presence or IQ that match accepts was
// received so far.
func (c *Client) HasStanza(match func(Stanza) bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.others {
		if match(st) {
			return true
		}
	}
	return false
}

// JoinRoomResult enters a room and waits for the room's answer: "" when
// the join succeeded (self-presence), else the error condition, e.g.
// "registration-required" for a members-only room.
func (c *Client) JoinRoomResult(room, nick string, timeout time.Duration) string {
	c.t.Helper()
	c.sendJoin(room, nick, 0)
	full := room + "/" + nick
	st := c.WaitStanza(timeout, "the answer to joining "+full, func(s Stanza) bool {
		return s.Name == "presence" && strings.EqualFold(s.From, full) && (s.Type == "" || s.Type == "error")
	})
	return st.Error
}

// WaitClosed waits until the server has ended the client's stream (a
// stream error such as RFC 6120 §4.9.3.9 <invalid-from/>) and fails the
// test if it is still open after timeout.
func (c *Client) WaitClosed(timeout time.Duration, why string) {
	c.t.Helper()
	select {
	case <-c.closed:
	case <-time.After(timeout):
		c.t.Fatalf("testsvc: the server kept the stream of %s open for %v after %s", c.JID, timeout, why)
	}
}

// TrySendRaw sends literal XML and returns the error instead of failing
// the test: for stanzas the server may answer by closing the stream.
func (c *Client) TrySendRaw(raw string) error {
	return c.sess.Send(noWriteDeadline, xml.NewDecoder(strings.NewReader(raw)))
}
