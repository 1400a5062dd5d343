package gateway

import (
	"encoding/xml"
	"mellium.im/xmpp"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/gateway/omemo"
	"github.com/fieldgate/fieldgate/media"
)

// Namespaces used by the gateway.
const (
	nsSID       = "urn:xmpp:sid:0"
	nsOOB       = "jabber:x:oob"
	nsMUC       = "http://jabber.org/protocol/muc"
	nsMUCUser   = "http://jabber.org/protocol/muc#user"
	nsReceipts  = "urn:xmpp:receipts"
	nsGeoloc    = "http://jabber.org/protocol/geoloc"
	nsReply     = "urn:xmpp:reply:0"
	nsReactions = "urn:xmpp:reactions:0"
	nsDelay     = "urn:xmpp:delay"
	nsDiscoInfo = "http://jabber.org/protocol/disco#info"
	nsDiscoItem = "http://jabber.org/protocol/disco#items"
	nsVCard     = "vcard-temp"
	nsStanzas   = "urn:ietf:params:xml:ns:xmpp-stanzas"
	nsChatState = "http://jabber.org/protocol/chatstates"
	nsCorrect   = "urn:xmpp:message-correct:0" // XEP-0308
	nsHints     = "urn:xmpp:hints"             // XEP-0334
)

type idElem struct {
	ID string `xml:"id,attr"`
	By string `xml:"by,attr,omitempty"`
}

type oobElem struct {
	URL  string `xml:"url"`
	Desc string `xml:"desc,omitempty"`
}

// geolocElem is an XEP-0080 User Location. Its numbers are read as text
// (geolocElem.position): a client's "51,02" must not make the whole
// message undecodable and lose the report with it.
type geolocElem struct {
	Lat      *string `xml:"lat"`
	Lon      *string `xml:"lon"`
	Accuracy *string `xml:"accuracy"`
}

// bodyElem is one <body>; a message may carry several in different
// languages (RFC 6121 §5.2.3).
type bodyElem struct {
	Lang string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	Text string `xml:",chardata"`
}

// sfsElem is an XEP-0447 file share: where to download the file.
type sfsElem struct {
	URLs []struct {
		Target string `xml:"target,attr"`
	} `xml:"sources>url-data"`
}

// fallbackElem is an XEP-0428 fallback indication: the body ranges (in
// Unicode code points, end exclusive) that only serve clients without
// the feature For. No range means the whole body.
type fallbackElem struct {
	For    string `xml:"for,attr"`
	Bodies []struct {
		Start *int `xml:"start,attr"`
		End   *int `xml:"end,attr"`
	} `xml:"body"`
}

type mucUserElem struct {
	Items    []mucItem  `xml:"item"`
	Statuses []mucCode  `xml:"status"`
	Invite   *struct{}  `xml:"invite"`
	Decline  *struct{}  `xml:"decline"`
	Destroy  *struct{}  `xml:"destroy"`
	Password *string    `xml:"password"`
	Other    []xml.Name `xml:",any"`
}

type mucItem struct {
	JID         string `xml:"jid,attr"`
	Nick        string `xml:"nick,attr"`
	Role        string `xml:"role,attr"`
	Affiliation string `xml:"affiliation,attr"`
}

type mucCode struct {
	Code int `xml:"code,attr"`
}

// inMessage is an incoming message with the extensions fieldgate reads.
type inMessage struct {
	XMLName   xml.Name    `xml:"message"`
	From      string      `xml:"from,attr"`
	To        string      `xml:"to,attr"`
	ID        string      `xml:"id,attr"`
	Type      string      `xml:"type,attr"`
	Lang      string      `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	Bodies    []bodyElem  `xml:"body"`
	Subject   *string     `xml:"subject"`
	OriginID  *idElem     `xml:"urn:xmpp:sid:0 origin-id"`
	StanzaIDs []idElem    `xml:"urn:xmpp:sid:0 stanza-id"`
	OOB       []oobElem   `xml:"jabber:x:oob x"`
	Geoloc    *geolocElem `xml:"http://jabber.org/protocol/geoloc geoloc"`
	// Files shared the XEP-0447 way (Dino, Cheogram): their sources' URLs
	// are attachments like XEP-0066 OOB ones.
	FileSharing []sfsElem `xml:"urn:xmpp:sfs:0 file-sharing"`
	// Fallbacks (XEP-0428) say which part of the body is only there for
	// clients without a feature, e.g. the quote of an XEP-0461 reply.
	Fallbacks []fallbackElem `xml:"urn:xmpp:fallback:0 fallback"`
	// Retract and ApplyTo are an XEP-0424 retraction (v1, and v0 inside
	// an XEP-0422 fastening).
	Retract *idElem `xml:"urn:xmpp:message-retract:1 retract"`
	ApplyTo *struct {
		Retract *struct{} `xml:"urn:xmpp:message-retract:0 retract"`
	} `xml:"urn:xmpp:fasten:0 apply-to"`
	// Replace marks an XEP-0308 correction of the sender's message ID.
	Replace   *idElem      `xml:"urn:xmpp:message-correct:0 replace"`
	Request   *struct{}    `xml:"urn:xmpp:receipts request"`
	Received  *idElem      `xml:"urn:xmpp:receipts received"`
	Displayed *idElem      `xml:"urn:xmpp:chat-markers:0 displayed"`
	Reply     *replyElem   `xml:"urn:xmpp:reply:0 reply"`
	Reactions *reactElem   `xml:"urn:xmpp:reactions:0 reactions"`
	Delay     *struct{}    `xml:"urn:xmpp:delay delay"`
	MUCUser   *mucUserElem `xml:"http://jabber.org/protocol/muc#user x"`
	Error     *errorElem   `xml:"error"`
	MAMResult *mamResult   `xml:"urn:xmpp:mam:2 result"` // an archive search result (mam.go)
	// Encrypted is an OMEMO payload (XEP-0384 v0.3, gateway/omemo).
	Encrypted *omemo.Encrypted `xml:"eu.siacs.conversations.axolotl encrypted"`
	// Encryption the gateway cannot open: OMEMO 2 (XEP-0384 v0.8+),
	// OpenPGP for XMPP (XEP-0373), legacy PGP (XEP-0027), and the generic
	// XEP-0380 marker. Their body is a fallback sentence, never the report.
	OMEMO2    *struct{} `xml:"urn:xmpp:omemo:2 encrypted"`
	OpenPGP   *struct{} `xml:"urn:xmpp:openpgp:0 openpgp"`
	LegacyPGP *struct{} `xml:"jabber:x:encrypted x"`
	EME       *struct {
		Namespace string `xml:"namespace,attr"`
	} `xml:"urn:xmpp:eme:0 encryption"`
	// decrypted are the XEP-0454 attachments of an opened OMEMO message,
	// already stored.
	decrypted []media.Object
	// opened is set on an OMEMO message the gateway decrypted: answers to
	// it go encrypted too (sealAnswer).
	opened bool
	// arrivedOn is the session the message came in on (sendAnswer).
	arrivedOn *xmpp.Session
	// occupant is the real bare JID behind the sending room nick when the
	// message was read (bindOccupant), "" for an anonymous occupant;
	// bound says it was looked up.
	occupant string
	bound    bool
	// history is set on a message of the room's archive that the gateway
	// asked for itself (catchUpRoom), never on one it was sent; archivedAt
	// is when the room archived it.
	history    bool
	archivedAt time.Time
}

type replyElem struct {
	To string `xml:"to,attr"`
	ID string `xml:"id,attr"`
}

type reactElem struct {
	ID        string   `xml:"id,attr"`
	Reactions []string `xml:"reaction"`
}

type errorElem struct {
	Type  string     `xml:"type,attr"`
	Conds []xml.Name `xml:",any"`
}

// body returns the message's body. Of several (RFC 6121 §5.2.3: one per
// xml:lang) it is the one in the stanza's own language, else the one
// without a language of its own, else the first.
func (m *inMessage) body() string {
	if len(m.Bodies) == 0 {
		return ""
	}
	for _, b := range m.Bodies {
		if b.Lang == "" || strings.EqualFold(b.Lang, m.Lang) {
			return b.Text
		}
	}
	return m.Bodies[0].Text
}

// retracts reports whether the message retracts an earlier one (XEP-0424).
func (m *inMessage) retracts() bool {
	return m.Retract != nil || (m.ApplyTo != nil && m.ApplyTo.Retract != nil)
}

// oneBody is the bodies of a message with the single body s.
func oneBody(s string) []bodyElem { return []bodyElem{{Text: s}} }

// inPresence is an incoming presence.
type inPresence struct {
	XMLName xml.Name     `xml:"presence"`
	From    string       `xml:"from,attr"`
	To      string       `xml:"to,attr"`
	ID      string       `xml:"id,attr"`
	Type    string       `xml:"type,attr"`
	MUCUser *mucUserElem `xml:"http://jabber.org/protocol/muc#user x"`
	Error   *errorElem   `xml:"error"`
	Caps    *capsElem    `xml:"http://jabber.org/protocol/caps c"` // XEP-0115 (omemo_notify.go)
}

// inIQ is an incoming IQ: the payload's name, and for answers to our own
// requests the error and the items of an affiliation list (XEP-0045 §9.5).
type inIQ struct {
	XMLName    xml.Name    `xml:"iq"`
	From       string      `xml:"from,attr"`
	To         string      `xml:"to,attr"`
	ID         string      `xml:"id,attr"`
	Type       string      `xml:"type,attr"`
	Error      *errorElem  `xml:"error"`
	AdminItems []adminItem `xml:"http://jabber.org/protocol/muc#admin query>item"`
	Payload    struct {
		XMLName xml.Name
		Node    string `xml:"node,attr"`
	} `xml:",any"`
	// PubSub is an XEP-0060 request (OMEMO device lists and bundles).
	PubSub *pubsubQuery `xml:"http://jabber.org/protocol/pubsub pubsub"`
	// Inner is the raw payload, for answers to the gateway's own queries.
	Inner []byte `xml:"-"`
}

// outMessage is a message the gateway sends.
type outMessage struct {
	XMLName  xml.Name    `xml:"message"`
	From     string      `xml:"from,attr"`
	To       string      `xml:"to,attr"`
	ID       string      `xml:"id,attr,omitempty"`
	Type     string      `xml:"type,attr,omitempty"`
	Body     string      `xml:"body,omitempty"`
	OriginID *outID      `xml:"origin-id,omitempty"`
	Replace  *outReplace `xml:"replace,omitempty"`
	OOB      []outOOB    `xml:"x,omitempty"`
	Request  *outEmpty   `xml:"request,omitempty"`
	Received *outRcpt    `xml:"received,omitempty"`
	Markable *outEmpty   `xml:"markable,omitempty"`
	NoStore  *outEmpty   `xml:"no-store,omitempty"`
	Error    *outError   `xml:"error,omitempty"`
	// An OMEMO payload and its hints (omemo_edge.go sealed).
	Encrypted  *omemo.Encrypted `xml:"eu.siacs.conversations.axolotl encrypted,omitempty"`
	Encryption *encryptionHint  `xml:"encryption,omitempty"`
	Store      *outEmpty        `xml:"store,omitempty"`
}

type outID struct {
	XMLName xml.Name `xml:"urn:xmpp:sid:0 origin-id"`
	ID      string   `xml:"id,attr"`
}

type outOOB struct {
	XMLName xml.Name `xml:"jabber:x:oob x"`
	URL     string   `xml:"url"`
}

type outEmpty struct {
	XMLName xml.Name
}

type outRcpt struct {
	XMLName xml.Name `xml:"urn:xmpp:receipts received"`
	ID      string   `xml:"id,attr"`
}

type outError struct {
	Type string `xml:"type,attr"`
	Cond outEmpty
	Text *outText `xml:"urn:ietf:params:xml:ns:xmpp-stanzas text,omitempty"`
}

type outText struct {
	Lang string `xml:"xml:lang,attr,omitempty"`
	Text string `xml:",chardata"`
}

// outPresence is a presence the gateway sends.
type outPresence struct {
	XMLName xml.Name `xml:"presence"`
	From    string   `xml:"from,attr"`
	To      string   `xml:"to,attr"`
	ID      string   `xml:"id,attr,omitempty"`
	Type    string   `xml:"type,attr,omitempty"`
	MUC     *outMUC  `xml:"x,omitempty"`
	Status  string   `xml:"status,omitempty"`
	// Nick is the function address's display name (XEP-0172 User
	// Nickname): Conversations shows it for a contact the user saved
	// without a name, instead of the bare local part ("tiefbau").
	Nick  *outNick  `xml:"nick,omitempty"`
	Error *outError `xml:"error,omitempty"`
}

type outNick struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/nick nick"`
	Name    string   `xml:",chardata"`
}

// nickOf is the XEP-0172 element for name; nil for "".
func nickOf(name string) *outNick {
	if name == "" {
		return nil
	}
	return &outNick{Name: name}
}

type outMUC struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/muc x"`
	History struct {
		MaxStanzas int `xml:"maxstanzas,attr"`
	} `xml:"history"`
}

func stanzaErr(typ, cond, text string) *outError {
	e := &outError{Type: typ, Cond: outEmpty{XMLName: xml.Name{Space: nsStanzas, Local: cond}}}
	if text != "" {
		e.Text = &outText{Text: text}
	}
	return e
}

// outReplace makes a message correct the earlier one with ID (XEP-0308 §3).
type outReplace struct {
	XMLName xml.Name `xml:"urn:xmpp:message-correct:0 replace"`
	ID      string   `xml:"id,attr"`
}

// replaceOf is the XEP-0308 element for id; nil for "".
func replaceOf(id string) *outReplace {
	if id == "" {
		return nil
	}
	return &outReplace{ID: id}
}
