package gateway

import (
	"encoding/xml"
	"strings"
	"testing"
)

// TestInnerRecorder: the payload of an IQ answer read from a token
// stream is kept as XML that decodes to the same values, namespaces
// included, and the stanza itself still decodes.
func TestInnerRecorder(t *testing.T) {
	raw := `<iq type='result' id='q1' from='upload.stadt.example'>` +
		`<slot xmlns='urn:xmpp:http:upload:0'><put url='https://u.example/p/1.jpg?a=1&amp;b=2'>` +
		`<header name='Authorization'>Basic eA==</header></put><get url='https://u.example/g/1.jpg'/></slot>` +
		`<x:extra xmlns:x='urn:example' x:attr='v'>t</x:extra></iq>`
	rec := newInnerRecorder(xml.NewDecoder(strings.NewReader(raw)))
	var iq inIQ
	if err := xml.NewTokenDecoder(rec).Decode(&iq); err != nil {
		t.Fatal(err)
	}
	if iq.ID != "q1" || iq.Type != "result" {
		t.Fatalf("iq %+v", iq)
	}
	s, err := parseSlot(rec.inner())
	if err != nil {
		t.Fatalf("slot from %q: %v", rec.inner(), err)
	}
	if s.PutURL != "https://u.example/p/1.jpg?a=1&b=2" || s.GetURL != "https://u.example/g/1.jpg" || s.Header.Get("Authorization") != "Basic eA==" {
		t.Errorf("slot %+v from %q", s, rec.inner())
	}
	var extra struct {
		X struct {
			Attr string `xml:"urn:example attr,attr"`
			Text string `xml:",chardata"`
		} `xml:"urn:example extra"`
	}
	if err := xml.Unmarshal(append(append([]byte("<iq>"), rec.inner()...), "</iq>"...), &extra); err != nil || extra.X.Attr != "v" || extra.X.Text != "t" {
		t.Errorf("prefixed element: %+v %v from %q", extra, err, rec.inner())
	}
}
