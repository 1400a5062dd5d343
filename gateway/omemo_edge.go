package gateway

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/gateway/omemo"
	"github.com/fieldgate/fieldgate/internal/msg"
	"github.com/fieldgate/fieldgate/internal/slots"
	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/routing"
)

// OMEMO is what the gateway needs from gateway/omemo: each function
// address is an OMEMO device (XEP-0384 v0.3), keyed by its local part.
type OMEMO interface {
	DeviceList(ctx context.Context, address string) (*omemo.DeviceList, error)
	Bundle(ctx context.Context, address string) (*omemo.Bundle, error)
	Decrypt(ctx context.Context, address, from string, enc *omemo.Encrypted) (omemo.Decrypted, error)
	Encrypt(ctx context.Context, address string, rcpts []omemo.Recipient, plaintext []byte) (*omemo.Encrypted, error)
	NeedsBundle(ctx context.Context, address, jid string, dev uint32) (bool, error)
	SessionDevices(ctx context.Context, address, jid string) ([]uint32, error)
	WroteEncrypted(ctx context.Context, address, jid string) (bool, error)
	Maintain(ctx context.Context, address string) (bool, error)
	Fingerprint(ctx context.Context, address string) (string, error)
}

var _ OMEMO = (*omemo.Manager)(nil)

// omemoEdge serves the OMEMO PEP nodes of every address (the XMPP
// server's PEP serves accounts, not components), opens incoming
// <encrypted/> messages and encrypts answers to correspondents who wrote
// encrypted.
type omemoEdge struct {
	m      OMEMO
	files  OMEMOFiles
	finder *uploadFinder
	subs   DeviceListSubscribers // nil: no device-list notifications
	caps   capsCache
	capLog capLog // when a subscriber cap was last logged (omemo_notify.go)
	// reads limits device-list and bundle requests per sender like
	// messages: they are answered from the database inside the stream's
	// read loop, so a flood would hold up every other stanza.
	reads *senderLimiter
	// sessions limits per sender the messages that may start a Signal
	// session (PreKeySignalMessages): each can use a one-time pre-key,
	// store a session and an identity key and start a refill, before the
	// message's own rate limit is reached (key-transport messages never
	// reach it).
	sessions *senderLimiter
	// sending holds one photo's message to one room while it is sent.
	sending *slots.PerKey
	// contacts forgets correspondents not heard from for contactRetention
	// (omemo_housekeep.go); nil: nothing is forgotten.
	contacts         OMEMOContacts
	contactRetention time.Duration

	mu    sync.Mutex
	lists map[string]deviceListEntry // fromJID + "\n" + jid → cached device list
}

// deviceListEntry is a fetched device list, or the failure to read one.
type deviceListEntry struct {
	devices []uint32
	ok      bool
	at      time.Time
}

// Device lists are cached: a room post encrypts to every member, and must
// not wait for their servers each time. A list that could not be read is
// asked for again sooner.
const (
	deviceListTTL     = 5 * time.Minute
	deviceListMissTTL = time.Minute
)

// EnableOMEMO makes every function address an OMEMO endpoint, sends
// team copies into encrypted team rooms as encrypted files (files), and
// pushes device-list changes to the subscribers recorded in subs (nil:
// none). Call before Run. Without it, addresses publish no keys and
// encrypted messages are answered with a request to send unencrypted.
func (g *Gateway) EnableOMEMO(m OMEMO, files OMEMOFiles, subs DeviceListSubscribers) {
	g.omemo = &omemoEdge{m: m, files: files, finder: &uploadFinder{configured: files.UploadService},
		subs: subs, sending: newFileSends(), lists: map[string]deviceListEntry{},
		reads: newSenderLimiter(g.cfg.RatePerMinute, g.cfg.Burst), sessions: newSenderLimiter(g.cfg.RatePerMinute, g.cfg.Burst)}
}

// Prepare creates or refreshes the keys of every address (so that the
// first bundle request does not wait for key generation).
func (e *omemoEdge) prepare(ctx context.Context, g *Gateway) {
	if _, err := e.m.Maintain(ctx, roomsDevice); err != nil {
		g.log.Error("omemo keys for team rooms not ready", "err", err)
	}
	for _, a := range g.rules.Current().Addresses() {
		if _, err := e.m.Maintain(ctx, a.Name); err != nil {
			g.log.Error("omemo keys of an address not ready", "address", a.Name, "err", err)
		}
	}
	e.announce(ctx, g)
}

// pubsubQuery is an incoming XEP-0060 request for the items of a node.
type pubsubQuery struct {
	Items *struct {
		Node string `xml:"node,attr"`
	} `xml:"items"`
	Publish   *struct{} `xml:"publish"`
	Subscribe *struct{} `xml:"subscribe"`
}

type pubsubResult struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/pubsub pubsub"`
	Items   struct {
		Node string     `xml:"node,attr"`
		Item []pubsubIt `xml:"item"`
	} `xml:"items"`
}

type pubsubIt struct {
	ID      string `xml:"id,attr,omitempty"`
	Payload any
}

// interceptIQ answers the OMEMO device-list and bundle requests (XEP-0060
// §6.5 "Retrieve items", XEP-0384 v0.3 §4.2–4.3) for addresses and takes
// the answers to the gateway's own queries. It reports whether it handled
// iq. It runs in the stream handler and writes on t.
func (e *omemoEdge) interceptIQ(g *Gateway, t xmlstream.TokenReadEncoder, iq *inIQ) bool {
	if iq.PubSub == nil || (iq.Type != "get" && iq.Type != "set") {
		return false
	}
	to, err := jid.Parse(iq.To)
	if err != nil {
		return false
	}
	local := strings.ToLower(to.Localpart())
	addr, isAddr := g.rules.Current().Address(local)
	if local == "" {
		// The gateway's own device in team rooms.
		local, isAddr = roomsDevice, true
		addr = routing.Address{Encryption: routing.EncryptionPreferred}
	}
	if !isAddr {
		return false
	}
	fail := func(typ, cond string) bool {
		_ = t.Encode(iqError{ID: iq.ID, From: iq.To, To: iq.From, Type: "error", Error: stanzaErr(typ, cond, "")})
		return true
	}
	if addr.Encryption == routing.EncryptionOff {
		return fail("cancel", "item-not-found") // publishes no keys
	}
	if iq.Type != "get" || iq.PubSub.Items == nil {
		// Nobody may publish to or subscribe at an address's nodes; the
		// gateway pushes nothing it was not asked for.
		return fail("cancel", "forbidden")
	}
	if !e.reads.allow(bare(iq.From), time.Now()) {
		return fail("wait", "resource-constraint") // RFC 6120 §8.3.3.18
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	node := iq.PubSub.Items.Node
	res := pubsubResult{}
	res.Items.Node = node
	switch {
	case node == omemo.NodeDeviceList:
		dl, err := e.m.DeviceList(ctx, local)
		if err != nil {
			g.log.Error("omemo device list", "address", local, "err", err)
			return fail("wait", "internal-server-error")
		}
		res.Items.Item = []pubsubIt{{ID: "current", Payload: dl}}
	case strings.HasPrefix(node, omemo.NodeBundlesPrefix):
		dl, err := e.m.DeviceList(ctx, local)
		if err != nil {
			return fail("wait", "internal-server-error")
		}
		if len(dl.Devices) == 0 || node != omemo.NodeBundlesPrefix+strconv.FormatUint(uint64(dl.Devices[0].ID), 10) {
			return fail("cancel", "item-not-found")
		}
		b, err := e.m.Bundle(ctx, local)
		if err != nil {
			g.log.Error("omemo bundle", "address", local, "err", err)
			return fail("wait", "internal-server-error")
		}
		res.Items.Item = []pubsubIt{{ID: "current", Payload: b}}
	default:
		return fail("cancel", "item-not-found")
	}
	_ = t.Encode(iqResult{ID: iq.ID, From: iq.To, To: iq.From, Type: "result", Payload: res})
	return true
}

type pubsubItemsGet struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/pubsub pubsub"`
	Items   struct {
		Node string `xml:"node,attr"`
	} `xml:"items"`
}

// fetchItems asks a correspondent's PEP service for the items of node and
// returns the inner XML of the answer's first item.
func (e *omemoEdge) fetchItems(ctx context.Context, g *Gateway, from, to, node string) ([]byte, error) {
	q := pubsubItemsGet{}
	q.Items.Node = node
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := g.requestFrom(ctx, from, to, "get", q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", node, err)
	}
	var res struct {
		Items struct {
			Item []struct {
				Inner []byte `xml:",innerxml"`
			} `xml:"item"`
		} `xml:"http://jabber.org/protocol/pubsub pubsub>items"`
	}
	if err := xml.Unmarshal(append(append([]byte("<iq>"), r.Inner...), "</iq>"...), &res); err != nil {
		return nil, fmt.Errorf("answer for %s: %w", node, err)
	}
	if len(res.Items.Item) == 0 {
		return nil, fmt.Errorf("%s has no items on %s", domainOf(to), node)
	}
	return res.Items.Item[0].Inner, nil
}

// openEncrypted replaces the body of an OMEMO message with its plaintext.
// It reports false when the message is done with: a resent message that
// was filed already (only its receipt is sent again), a key-transport
// message (nothing to file) or one that cannot be opened (the sender is
// told, in the address's language, that nothing was accepted).
//
// XEP-0454 files (aesgcm:// links) stay in the body: they are downloaded
// by takePlainFileLinks after the sender's rate limit and the
// idempotency check, like every attachment, so that a flood or a resent
// message costs no download. A message with more links than a report may
// have files (dispatch.MaxMedia) is refused before any download.
func (g *Gateway) openEncrypted(ctx context.Context, m *inMessage, local, lang string) bool {
	if m.Encrypted == nil {
		return true
	}
	if g.omemo == nil {
		g.reply(ctx, m, local, msg.For(lang).OMEMOOff())
		return false
	}
	if key := idempotencyKey(m); key != "" {
		// A client resends a message whose acknowledgement it missed
		// (XEP-0198) with the same ciphertext, which the Signal session
		// has consumed and refuses as a duplicate: the sender would be
		// told that a filed report was not accepted.
		if rec, err := g.disp.Replay(ctx, dispatch.ChannelXMPP, bare(m.From), key); err == nil {
			g.sendReceipt(ctx, m, local)
			g.log.Info("xmpp message replayed", "case", rec.CaseNumber, "encrypted", true)
			return false
		}
	}
	if startsSession(m.Encrypted) && !g.omemo.sessions.allow(bare(m.From), time.Now()) {
		g.replyError(ctx, m, "wait", "resource-constraint", msg.For(lang).RateLimited()) // RFC 6120 §8.3.3.18
		return false
	}
	d, err := g.omemo.m.Decrypt(ctx, local, bare(m.From), m.Encrypted)
	var changed *omemo.KeyChangedError
	switch {
	case errors.Is(err, omemo.ErrNotForUs):
		g.log.Info("omemo message for another device", "address", local)
		g.reply(ctx, m, local, msg.For(lang).OMEMONotForUs())
		return false
	case errors.As(err, &changed):
		// The admin pins the new key with `fieldgate omemo trust` once the
		// sender has shown it (their messenger's own fingerprint) to them.
		g.log.Warn("omemo message from a device whose key changed; refused until the new key is pinned",
			"address", local, "device", changed.Device, "fingerprint", changed.Fingerprint, "domain", domainOf(bare(m.From)))
		g.reply(ctx, m, local, msg.For(lang).OMEMOKeyChanged(int(changed.Device), changed.Fingerprint))
		return false
	case err != nil:
		g.log.Warn("omemo message not decrypted", "address", local, "device", m.Encrypted.Header.SID, "err", err)
		g.reply(ctx, m, local, msg.For(lang).OMEMOUndecryptable())
		return false
	}
	g.omemo.sawDevice(g.addressJID(local), bare(m.From), d.SenderDevice)
	if d.UsedPreKey {
		go func() {
			mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if _, err := g.omemo.m.Maintain(mctx, local); err != nil {
				g.log.Warn("omemo pre-key refill failed", "address", local, "err", err)
			}
		}()
	}
	if d.KeyTransport {
		return false
	}
	m.opened = true
	body := string(d.Plaintext)
	if n := len(omemo.FindFileLinks(body)); n > dispatch.MaxMedia {
		t := msg.For(lang)
		g.reply(ctx, m, local, t.ReportRejected(t.TooManyAttachments(n, dispatch.MaxMedia)))
		return false
	}
	m.Bodies = oneBody(body)
	m.OOB = nil // an OMEMO message's OOB names the encrypted file, which the body links
	// Fallback markup (XEP-0428) outside the encryption that marks the
	// body as a fallback for clients without this encryption refers to
	// the sentence just replaced; applied to the plaintext it would drop
	// the report. Markup for other features (a reply's quote) is kept:
	// clients count its ranges in the plaintext.
	m.Fallbacks = slices.DeleteFunc(m.Fallbacks, func(f fallbackElem) bool { return encryptionFallback(f.For) })
	return true
}

// startsSession reports whether an OMEMO message carries a
// PreKeySignalMessage (prekey="true"), which may build a new session.
func startsSession(enc *omemo.Encrypted) bool {
	return slices.ContainsFunc(enc.Header.Keys, func(k omemo.Key) bool { return k.PreKey })
}

// encryptionFallback reports whether an XEP-0428 fallback's "for" names
// an end-to-end encryption (OMEMO in either version, XEP-0380), whose
// fallback body is only a sentence for clients without it.
func encryptionFallback(ns string) bool {
	switch ns {
	case omemo.NS, "urn:xmpp:omemo:2", "urn:xmpp:omemo:1", "urn:xmpp:eme:0":
		return true
	}
	return false
}

// sawDevice forgets the cached device list of jid (as read by fromJID)
// when one of jid's devices wrote that the list does not name: a device
// added since the list was read (a new phone), which must get the answer
// to its report; the next answer reads the list again.
func (e *omemoEdge) sawDevice(fromJID, jid string, dev uint32) {
	key := fromJID + "\n" + jid
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, hit := e.lists[key]; hit && !slices.Contains(c.devices, dev) {
		delete(e.lists, key)
	}
}

// fetchEncrypted downloads an XEP-0454 file through the safe fetcher
// (the https URL must be on the upload allow-list), checks its tag and
// stores the plaintext.
func (g *Gateway) fetchEncrypted(ctx context.Context, l omemo.FileLink) (media.Object, error) {
	u := l.HTTPS
	if plain := "http" + strings.TrimPrefix(u, "https"); g.fetch.Allowed(u) != nil && g.fetch.Allowed(plain) == nil {
		u = plain // a loopback upload service allowed as plain http (dev and tests)
	}
	rc, err := g.fetch.Fetch(ctx, u)
	if err != nil {
		return media.Object{}, err
	}
	defer rc.Close()
	pt, err := l.Open(rc)
	if err != nil {
		return media.Object{}, err
	}
	return g.media.Put(ctx, bytes.NewReader(pt))
}

// encryptChat encrypts a 1:1 message to all devices of a correspondent
// who wrote to this address encrypted. It returns nil (send plaintext)
// when OMEMO is off or the correspondent never wrote encrypted. One who
// did but whose sessions are gone (dropped by `fieldgate omemo trust`
// for a changed key, or lost) gets new sessions from their bundles; if
// none can be built, the error says so and nothing goes in the clear.
func (g *Gateway) encryptChat(ctx context.Context, cm dispatch.ChatMessage) (*omemo.Encrypted, error) {
	if g.omemo == nil || cm.From == "" {
		return nil, nil
	}
	to := bare(cm.To)
	wrote, err := g.omemo.m.WroteEncrypted(ctx, cm.From, to)
	if err != nil || !wrote {
		return nil, err
	}
	rcpts, err := g.omemo.recipients(ctx, g, cm.From, g.addressJID(cm.From), to)
	if err != nil {
		return nil, err
	}
	return g.omemo.m.Encrypt(ctx, cm.From, rcpts, []byte(cm.Body))
}

// sealAnswer encrypts an immediate answer (a hint, a refusal, the result
// of a 1:1 command) to a message the gateway decrypted, like the receipt
// (encryptChat): to the writer's devices. It reports false when that
// fails; the answer is then not sent at all, since it may name case
// numbers and colleagues, which must not go in the clear to someone who
// wrote encrypted.
func (g *Gateway) sealAnswer(ctx context.Context, local string, out *outMessage) bool {
	enc, err := g.encryptChat(ctx, dispatch.ChatMessage{From: local, To: out.To, Body: out.Body})
	if err != nil || enc == nil {
		g.log.Warn("omemo: answer to an encrypted message could not be encrypted; not sent", "address", local, "err", err)
		return false
	}
	addr, _ := g.rules.Current().Address(local)
	g.sealed(out, enc, addr.Language)
	return true
}

// recipients lists the devices of jid that a message from address (as
// fromJID) is encrypted to: all devices on jid's device list; where the
// list cannot be read (many servers let only presence subscribers read
// it: Prosody's default for PEP), the devices that wrote to address.
// Devices without a session come with their bundle.
func (e *omemoEdge) recipients(ctx context.Context, g *Gateway, address, fromJID, jid string) ([]omemo.Recipient, error) {
	devices, err := e.m.SessionDevices(ctx, address, jid)
	if err != nil {
		return nil, err
	}
	if listed, ok := e.deviceList(ctx, g, fromJID, jid); ok {
		devices = boundDevices(listed, devices)
	}
	var rcpts []omemo.Recipient
	for _, dev := range devices {
		r := omemo.Recipient{JID: jid, Device: dev}
		need, err := e.m.NeedsBundle(ctx, address, jid, dev)
		if err != nil {
			return nil, err
		}
		if need {
			braw, err := e.fetchItems(ctx, g, fromJID, jid, omemo.NodeBundlesPrefix+strconv.FormatUint(uint64(dev), 10))
			if err != nil {
				g.log.Debug("omemo bundle of a device not available", "device", dev, "err", err)
				continue
			}
			var b omemo.Bundle
			if err := xml.Unmarshal(braw, &b); err != nil {
				continue
			}
			r.Bundle = &b
		}
		rcpts = append(rcpts, r)
	}
	return rcpts, nil
}

// maxDevicesPerJID bounds how many devices of one correspondent a message
// is encrypted to. A device list is the correspondent's own PEP data:
// hostile, it names thousands of ids (each a database look-up and a
// bundle request to their server, with the answer's ratchet step and key
// in every message), or one id thousands of times. People have a phone, a
// desktop, a tablet; Conversations, Dino and Monal keep dead ids for a while.
const maxDevicesPerJID = 32

// boundDevices returns the ids of a device list once each, at most
// maxDevicesPerJID of them: first those that have a session (they wrote
// or were written to), then the others in the list's order.
func boundDevices(listed, sessions []uint32) []uint32 {
	out := make([]uint32, 0, min(len(listed), maxDevicesPerJID))
	add := func(d uint32, want bool) {
		if len(out) < maxDevicesPerJID && slices.Contains(sessions, d) == want && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	for _, d := range listed {
		add(d, true)
	}
	for _, d := range listed {
		add(d, false)
	}
	return out
}

// deviceListChatTTL is how long a list read for a 1:1 answer is used: a
// device the person removed from their list (a lost phone) must not get
// the next answer; the answers to one message (receipt, hints) share a
// read.
const deviceListChatTTL = 2 * time.Second

// deviceList returns jid's OMEMO device list as fromJID can read it,
// from the cache or its PEP service (at most 3 s). Lists for team rooms
// (fromJID is the component's domain) are used for deviceListTTL, those
// for 1:1 answers for deviceListChatTTL.
func (e *omemoEdge) deviceList(ctx context.Context, g *Gateway, fromJID, jid string) ([]uint32, bool) {
	key := fromJID + "\n" + jid
	e.mu.Lock()
	c, hit := e.lists[key]
	e.mu.Unlock()
	ttl := deviceListTTL
	if fromJID != g.cfg.Domain {
		ttl = deviceListChatTTL
	}
	if hit && ((!c.ok && time.Since(c.at) < deviceListMissTTL) || (c.ok && time.Since(c.at) < ttl)) {
		return c.devices, c.ok
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c = deviceListEntry{at: time.Now()}
	if raw, err := e.fetchItems(ctx, g, fromJID, jid, omemo.NodeDeviceList); err != nil {
		g.log.Debug("omemo device list not readable; using the devices that wrote", "err", err)
	} else {
		var dl omemo.DeviceList
		if err := xml.Unmarshal(raw, &dl); err == nil && len(dl.Devices) > 0 {
			for _, d := range dl.Devices {
				c.devices = append(c.devices, d.ID)
			}
			c.ok = true
		}
	}
	e.mu.Lock()
	e.lists[key] = c
	e.mu.Unlock()
	return c.devices, c.ok
}

// roomsDevice is the OMEMO device of the gateway itself in team rooms:
// its occupant's real JID is the component's domain, which has no local
// part, so the name cannot collide with a function address.
const roomsDevice = "@rooms"

// roomRecipients lists the devices a message to a team room is encrypted
// to (XEP-0384 in a members-only, non-anonymous room): every member's,
// when each member has at least one device the gateway knows. It returns
// nil when the room's messages stay plaintext (OMEMO off, no members, a
// member without a known device), so that nobody of the team is locked
// out of a case.
func (g *Gateway) roomRecipients(ctx context.Context, roomJID string) []omemo.Recipient {
	if g.omemo == nil {
		return nil
	}
	members := roomMembers(g.rules.Current(), roomJID)
	if len(members) == 0 {
		return nil
	}
	var rcpts []omemo.Recipient
	for _, mem := range members {
		r, err := g.omemo.recipients(ctx, g, roomsDevice, g.cfg.Domain, mem)
		if err != nil || len(r) == 0 {
			return nil // a member without a known device: plaintext
		}
		rcpts = append(rcpts, r...)
	}
	return rcpts
}

// sealRoomMessage encrypts a message to a team room for rcpts (from
// roomRecipients; nil leaves it plaintext). Links go inside the
// encrypted text.
func (g *Gateway) sealRoomMessage(ctx context.Context, roomJID string, rcpts []omemo.Recipient, msg *outMessage) {
	if len(rcpts) == 0 || msg.Body == "" {
		return
	}
	body := msg.Body
	for _, o := range msg.OOB {
		body += "\n" + o.URL
	}
	enc, err := g.omemo.m.Encrypt(ctx, roomsDevice, rcpts, []byte(body))
	if err != nil {
		g.log.Warn("omemo: room post not encrypted", "room", roomJID, "err", err)
		return
	}
	g.sealed(msg, enc, teamLanguage(g.rules.Current(), roomJID))
}

// sealed turns m into an OMEMO message: a fallback body for clients
// without OMEMO (XEP-0384 §7) in lang, the XEP-0380 encryption hint and a
// store hint (XEP-0334) so that servers archive it.
func (g *Gateway) sealed(m *outMessage, enc *omemo.Encrypted, lang string) {
	m.Body = msg.For(lang).OMEMOFallback()
	m.OOB = nil
	m.Encrypted = enc
	m.Encryption = &encryptionHint{Namespace: omemo.NS, Name: "OMEMO"}
	m.Store = &outEmpty{XMLName: xmlName(nsHints, "store")}
}

type encryptionHint struct {
	XMLName   xml.Name `xml:"urn:xmpp:eme:0 encryption"`
	Namespace string   `xml:"namespace,attr"`
	Name      string   `xml:"name,attr"`
}

// openRoomEncrypted opens a member's OMEMO message in a team room (a
// command such as "ok 42"). It reports false when there is nothing to act
// on: a key-transport message, or one that cannot be opened (the writer
// is told in the room).
func (g *Gateway) openRoomEncrypted(ctx context.Context, m *inMessage, roomJID, nick string) bool {
	if g.omemo == nil {
		return false
	}
	actor := g.senderJID(m, roomJID, nick)
	if actor == "" {
		return false
	}
	d, err := g.omemo.m.Decrypt(ctx, roomsDevice, actor, m.Encrypted)
	if err != nil {
		if !errors.Is(err, omemo.ErrNotForUs) {
			g.log.Info("omemo room message not decrypted", "room", roomJID, "err", err)
			g.roomReply(ctx, roomJID, nick+": "+msg.For(teamLanguage(g.rules.Current(), roomJID)).OMEMORoomUndecryptable())
		}
		return false
	}
	g.omemo.sawDevice(g.cfg.Domain, actor, d.SenderDevice)
	if d.KeyTransport {
		return false
	}
	m.Bodies = oneBody(string(d.Plaintext))
	return true
}

// encryptionPolicy applies the address's OMEMO policy to a 1:1 message
// and opens it when it is encrypted. It reports false when the message is
// done with (answered or nothing to file). Strangers and unknown
// addresses pass through to be refused as usual.
func (g *Gateway) encryptionPolicy(ctx context.Context, m *inMessage, to jid.JID, sender string) bool {
	local := strings.ToLower(to.Localpart())
	addr, ok := g.rules.Current().Address(local)
	if !ok || !addr.Allows(sender) {
		return true
	}
	if m.Encrypted == nil && (m.OMEMO2 != nil || m.OpenPGP != nil || m.LegacyPGP != nil ||
		(m.EME != nil && m.EME.Namespace != omemo.NS)) {
		// Encrypted in a way the gateway cannot read: the body is only the
		// sender client's fallback sentence, so nothing is filed.
		g.log.Info("message in an unsupported encryption refused", "address", local)
		g.reply(ctx, m, local, msg.For(addr.Language).OMEMOUnsupported())
		return false
	}
	if m.Encrypted == nil {
		if addr.Encryption == routing.EncryptionRequired && strings.TrimSpace(reportText(m)) != "" && !m.retracts() {
			g.reply(ctx, m, local, msg.For(addr.Language).OMEMORequired())
			return false
		}
		return true
	}
	if addr.Encryption == routing.EncryptionOff {
		g.reply(ctx, m, local, msg.For(addr.Language).OMEMOOff())
		return false
	}
	return g.openEncrypted(ctx, m, local, addr.Language)
}

// dataForm is an XEP-0004 result form (for XEP-0128 disco extensions).
type dataForm struct {
	Type   string      `xml:"type,attr"`
	Fields []formField `xml:"field"`
}

type formField struct {
	Var    string   `xml:"var,attr"`
	Type   string   `xml:"type,attr,omitempty"`
	Values []string `xml:"value"`
}

// omemoDiscoForm publishes an address's OMEMO device and fingerprint in
// its disco#info (XEP-0128), so that people can compare what their client
// shows with what the town publishes.
func (g *Gateway) omemoDiscoForm(local string, addr routing.Address) *dataForm {
	if g.omemo == nil || addr.Encryption == routing.EncryptionOff {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	dl, err := g.omemo.m.DeviceList(ctx, local)
	if err != nil || len(dl.Devices) == 0 {
		return nil
	}
	fp, err := g.omemo.m.Fingerprint(ctx, local)
	if err != nil {
		return nil
	}
	return &dataForm{Type: "result", Fields: []formField{
		{Var: "FORM_TYPE", Type: "hidden", Values: []string{"urn:fieldgate:omemo:0"}},
		{Var: "device", Values: []string{strconv.FormatUint(uint64(dl.Devices[0].ID), 10)}},
		{Var: "fingerprint", Values: []string{fp}},
		{Var: "policy", Values: []string{addr.Encryption}},
	}}
}
