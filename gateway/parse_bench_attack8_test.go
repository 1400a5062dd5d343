package gateway

import (
	"encoding/xml"
	"testing"
)

// BenchmarkMessengerParse measures what the gateway does with every 1:1
// message before any I/O: decoding the stanza with its extensions and
// looking for a position in geo: URIs, map links and typed coordinates.
// The floor is decoding the same stanza into a bare body, in the same
// run; compare the two (ns/op), never assert them.
func BenchmarkMessengerParse(b *testing.B) {
	raw := []byte(`<message from="streife1@stadt.example/phone" to="tiefbau@reports.stadt.example" id="m1" type="chat" xml:lang="en">` +
		`<body>&gt; Meldung 2026-000001 angenommen.
Ampel ausgefallen an der Kreuzung, siehe https://www.google.com/maps/place/Rathaus/@51.0240,7.5900,17z/data=!3m1!4b1!8m2!3d51.0251!4d7.5919 bitte schnell</body>` +
		`<x xmlns="jabber:x:oob"><url>https://upload.stadt.example/abc/foto.jpg</url></x>` +
		`<reply xmlns="urn:xmpp:reply:0" to="tiefbau@reports.stadt.example" id="fg-1"/>` +
		`<fallback xmlns="urn:xmpp:fallback:0" for="urn:xmpp:reply:0"><body start="0" end="33"/></fallback>` +
		`<origin-id xmlns="urn:xmpp:sid:0" id="m1"/><request xmlns="urn:xmpp:receipts"/><active xmlns="http://jabber.org/protocol/chatstates"/></message>`)
	b.Run("floor-decode-body", func(b *testing.B) {
		for b.Loop() {
			var m struct {
				Body string `xml:"body"`
			}
			if err := xml.Unmarshal(raw, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gateway", func(b *testing.B) {
		for b.Loop() {
			var m inMessage
			if err := xml.Unmarshal(raw, &m); err != nil {
				b.Fatal(err)
			}
			body := reportText(&m)
			f := findGeo(body)
			if !f.OK {
				f = findMapLink(body)
			}
			if !f.OK {
				f = findCoordinates(body)
			}
			if !f.OK {
				b.Fatal("no position")
			}
		}
	})
}
