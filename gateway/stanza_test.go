package gateway

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestCorrectionStanza(t *testing.T) {
	m := outMessage{From: "fieldgate@reports.example/x", To: "tiefbau@conference.example", ID: "fg-2", Type: "groupchat",
		Body: "neu", OriginID: &outID{ID: "fg-2"}, Replace: replaceOf("fg-1")}
	out, err := xml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `<replace xmlns="urn:xmpp:message-correct:0" id="fg-1"></replace>`) {
		t.Errorf("correction stanza lacks the XEP-0308 replace element: %s", out)
	}
	m.Replace = replaceOf("")
	if out, _ := xml.Marshal(m); strings.Contains(string(out), "replace") {
		t.Errorf("a new post must not carry a replace element: %s", out)
	}
}
