// Package omemo makes every function address an OMEMO endpoint ("end to
// gateway" encryption): XEP-0384 version 0.3, the namespace
// eu.siacs.conversations.axolotl that Conversations, Monal, Dino, Gajim
// and profanity use today.
//
// Each address has its own device: an identity key, a signed pre-key and
// 100 one-time pre-keys, kept in PostgreSQL sealed with AES-256-GCM under
// a key from the environment (never the YAML). Sessions are persisted, so
// a restart or another replica continues them. The Signal protocol itself
// (X3DH and the Double Ratchet, message format version 3) comes from
// go.mau.fi/libsignal; this package adds the OMEMO layer around it: the
// AES-128-GCM payload whose key and tag the Signal session carries
// (XEP-0384 v0.3 §4.5), the device list and bundle items (§4.2, §4.3) a
// component must serve itself (XEP-0060 items, XEP-0163 semantics), and
// the XML of <encrypted/> messages.
package omemo

// Namespaces and PEP nodes of XEP-0384 v0.3.
const (
	NS                = "eu.siacs.conversations.axolotl"
	NodeDeviceList    = NS + ".devicelist"
	NodeBundlesPrefix = NS + ".bundles:"
	NSPubSub          = "http://jabber.org/protocol/pubsub"
	NSPubSubEvent     = "http://jabber.org/protocol/pubsub#event"
)

// PreKeyCount is how many one-time pre-keys a bundle offers; used ones are
// replaced as they are consumed (XEP-0384 v0.3 §4.3 asks for at least 20).
const PreKeyCount = 100
