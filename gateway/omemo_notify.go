package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"sync"
	"time"

	"github.com/fieldgate/fieldgate/gateway/omemo"
	"github.com/fieldgate/fieldgate/routing"
)

// DeviceListSubscribers records who is subscribed to a function
// address's presence, and so, as XEP-0163 §4.3 has it for PEP, to its
// OMEMO device list; whose client asked for notifications; and which
// device each address last announced (*omemo.PG).
type DeviceListSubscribers interface {
	Subscribe(ctx context.Context, address, jid string, limit int) error
	Subscribed(ctx context.Context, address, jid string) (bool, error)
	Unsubscribe(ctx context.Context, address, jid string) error
	SetNotify(ctx context.Context, address, jid string, notify bool) (subscribed bool, err error)
	Notified(ctx context.Context, address string) ([]string, error)
	Announced(ctx context.Context, address string) (device uint32, ok bool, err error)
	SetAnnounced(ctx context.Context, address string, device uint32) error
}

var _ DeviceListSubscribers = (*omemo.PG)(nil)

// featureDeviceListNotify is the entity-capabilities feature by which a
// client asks for device-list notifications (XEP-0163 §4.3.1 "+notify").
const featureDeviceListNotify = omemo.NodeDeviceList + "+notify"

// capsElem is a presence's entity capabilities (XEP-0115 §4).
type capsElem struct {
	Node string `xml:"node,attr"`
	Ver  string `xml:"ver,attr"`
	Hash string `xml:"hash,attr"`
}

// deviceListEvent is a PEP event notification of an address's device
// list (XEP-0060 §7.1.2.1, XEP-0163 §4.3, XEP-0384 v0.3 §4.2).
type deviceListEvent struct {
	XMLName xml.Name `xml:"message"`
	From    string   `xml:"from,attr"`
	To      string   `xml:"to,attr"`
	ID      string   `xml:"id,attr"`
	Type    string   `xml:"type,attr"`
	Event   struct {
		Items struct {
			Node string   `xml:"node,attr"`
			Item pubsubIt `xml:"item"`
		} `xml:"items"`
	} `xml:"http://jabber.org/protocol/pubsub#event event"`
}

// capsCache remembers, per client version (XEP-0115 node#ver), whether
// it asked for device-list notifications, so that a client's features
// are asked once, not at every presence.
type capsCache struct {
	mu sync.Mutex
	m  map[string]bool
}

const maxCapsCache = 1000

// Bounds of a caps node and ver worth asking about: a ver is a base64
// hash (XEP-0115 §5.1, 28 characters for SHA-1, 88 for SHA-512), a node
// a client's URI; anything longer is not a real client's.
const (
	maxCapsNode = 512
	maxCapsVer  = 128
)

// capLog says at most once per capLogEvery and address that an address
// reached its cap of device-list subscribers.
type capLog struct {
	mu   sync.Mutex
	last map[string]time.Time
}

const capLogEvery = 10 * time.Minute

// due reports whether the cap of address should be logged now.
func (c *capLog) due(address string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]time.Time{}
	}
	if t, ok := c.last[address]; ok && now.Sub(t) < capLogEvery {
		return false
	}
	c.last[address] = now
	return true
}

func (c *capsCache) get(key string) (notify, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	notify, ok = c.m[key]
	return notify, ok
}

func (c *capsCache) put(key string, notify bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCapsCache {
		c.m = map[string]bool{}
	}
	c.m[key] = notify
}

// pushDeviceList sends the current device list of address (roomsDevice:
// the component's own, from its bare domain) to to.
func (e *omemoEdge) pushDeviceList(ctx context.Context, g *Gateway, address, to string) error {
	dl, err := e.m.DeviceList(ctx, address)
	if err != nil {
		return err
	}
	from := address
	if address == roomsDevice {
		from = ""
	}
	ev := deviceListEvent{From: g.addressJID(from), To: to, ID: "fgd-" + randomID(), Type: "headline"}
	ev.Event.Items.Node = omemo.NodeDeviceList
	ev.Event.Items.Item = pubsubIt{ID: "current", Payload: dl}
	return g.send(ctx, ev)
}

// announce pushes the device list of every address whose device is not
// the one last announced (created since, or recreated after its keys
// were lost) to the subscribers that asked for notifications, and the
// gateway's own room device to every team member when it changed. It
// runs after the keys are prepared, at every connect; what could not be
// pushed is announced at the next.
func (e *omemoEdge) announce(ctx context.Context, g *Gateway) {
	if e.subs == nil {
		return
	}
	rs := g.rules.Current()
	addrs := []string{roomsDevice}
	for _, a := range rs.Addresses() {
		if a.Encryption != routing.EncryptionOff {
			addrs = append(addrs, a.Name)
		}
	}
	for _, address := range addrs {
		dl, err := e.m.DeviceList(ctx, address)
		if err != nil || len(dl.Devices) == 0 {
			continue
		}
		cur := dl.Devices[0].ID
		last, known, err := e.subs.Announced(ctx, address)
		if err != nil {
			g.log.Warn("omemo: announced device unknown", "address", address, "err", err)
			continue
		}
		if known && last == cur {
			continue
		}
		var to []string
		switch {
		case address != roomsDevice:
			if to, err = e.subs.Notified(ctx, address); err != nil {
				g.log.Warn("omemo: subscribers unknown", "address", address, "err", err)
				continue
			}
		case known:
			// Members encrypt to the room device; on the first start nobody
			// can hold an older list, so there is nothing to correct.
			to = teamMembers(rs)
		}
		for _, j := range to {
			if err := e.pushDeviceList(ctx, g, address, j); err != nil {
				g.log.Warn("omemo: device list not pushed; again at the next connect", "address", address, "err", err)
				return
			}
		}
		if err := e.subs.SetAnnounced(ctx, address, cur); err != nil {
			g.log.Warn("omemo: announced device not recorded", "address", address, "err", err)
			continue
		}
		g.log.Info("omemo device list announced", "address", address, "device", cur, "notified", len(to))
	}
}

// teamMembers lists the members of every team room, once each.
func teamMembers(rs *routing.RuleSet) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range rs.Teams() {
		for _, m := range roomMembers(rs, t.Room) {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// omemoPresence keeps the device-list subscribers of an address, as PEP
// does for an account (XEP-0163 §4.3), and pushes the list where PEP
// would: on a new subscription, on a presence probe (a subscriber's
// client comes online and its server asks for the address's presence),
// and on available presence whose entity capabilities (XEP-0115) ask for
// devicelist+notify; that subscriber then also gets changes (announce).
// It runs after onPresence answered, in the sender's worker.
func (g *Gateway) omemoPresence(ctx context.Context, p *inPresence, addr routing.Address, sender string) {
	e := g.omemo
	if e == nil || e.subs == nil || addr.Encryption == routing.EncryptionOff {
		return
	}
	switch p.Type {
	case "unsubscribe", "unsubscribed":
		if err := e.subs.Unsubscribe(ctx, addr.Name, sender); err != nil {
			g.log.Warn("omemo: subscriber not forgotten", "address", addr.Name, "err", err)
		}
		return
	}
	if !addr.Allows(sender) {
		return // nobody who may not write to the address gets a row
	}
	switch p.Type {
	case "subscribe", "probe":
		err := e.subs.Subscribe(ctx, addr.Name, sender, g.cfg.DeviceListSubscribers)
		if errors.Is(err, omemo.ErrTooManySubscribers) {
			if e.capLog.due(addr.Name, time.Now()) {
				g.log.Warn("omemo: address has reached its cap of device-list subscribers; new subscribers get no device-list pushes (they can still fetch the list)",
					"address", addr.Name, "cap", g.cfg.DeviceListSubscribers)
			}
			return
		}
		if err != nil {
			g.log.Warn("omemo: subscriber not recorded", "address", addr.Name, "err", err)
			return
		}
		if err := e.pushDeviceList(ctx, g, addr.Name, sender); err != nil {
			g.log.Warn("omemo: device list not pushed", "address", addr.Name, "err", err)
		}
	case "":
		if p.Caps == nil || p.Caps.Node == "" || p.Caps.Ver == "" || p.From == sender ||
			len(p.Caps.Node) > maxCapsNode || len(p.Caps.Ver) > maxCapsVer {
			return
		}
		notify, ok := e.caps.get(p.Caps.Node + "#" + p.Caps.Ver)
		if !ok {
			// Ask a client for its features only when the answer matters:
			// a sender who is no subscriber costs no query.
			subscribed, err := e.subs.Subscribed(ctx, addr.Name, sender)
			if err != nil || !subscribed {
				return
			}
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			r, err := g.requestFrom(ctx, g.addressJID(addr.Name), p.From, "get", discoInfoNode{Node: p.Caps.Node + "#" + p.Caps.Ver})
			if err != nil {
				g.log.Debug("omemo: capabilities of a subscriber unknown", "err", err)
				return
			}
			notify = hasFeature(r.Inner, featureDeviceListNotify)
			e.caps.put(p.Caps.Node+"#"+p.Caps.Ver, notify)
		}
		subscribed, err := e.subs.SetNotify(ctx, addr.Name, sender, notify)
		if err != nil {
			g.log.Warn("omemo: notify not recorded", "address", addr.Name, "err", err)
			return
		}
		if subscribed && notify {
			if err := e.pushDeviceList(ctx, g, addr.Name, p.From); err != nil {
				g.log.Warn("omemo: device list not pushed", "address", addr.Name, "err", err)
			}
		}
	}
}

// discoInfoNode asks for the features behind a caps node#ver (XEP-0115 §6.2).
type discoInfoNode struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/disco#info query"`
	Node    string   `xml:"node,attr"`
}
