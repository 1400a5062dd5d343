package gateway

import (
	"testing"

	"github.com/fieldgate/fieldgate/gateway/omemo"
)

// TestSealedFallbackInRecipientsLanguage: the plaintext body of an OMEMO
// message (XEP-0384 §7, for clients without OMEMO) is in the language
// given (the address's or the team's), German by default, and a sealed
// message carries no link in the clear.
func TestSealedFallbackInRecipientsLanguage(t *testing.T) {
	g := &Gateway{}
	for lang, want := range map[string]string{
		"":   "[OMEMO-verschlüsselte Nachricht – Ihr Messenger kann sie nicht anzeigen]",
		"de": "[OMEMO-verschlüsselte Nachricht – Ihr Messenger kann sie nicht anzeigen]",
		"en": "[OMEMO encrypted message – your client cannot show it]",
	} {
		m := outMessage{Body: "Meldung 2026-000042 angenommen", OOB: []outOOB{{URL: "https://upload.example/x.jpg"}}}
		g.sealed(&m, &omemo.Encrypted{}, lang)
		if m.Body != want {
			t.Errorf("lang %q: body %q, want %q", lang, m.Body, want)
		}
		if m.OOB != nil || m.Encrypted == nil || m.Encryption == nil || m.Store == nil {
			t.Errorf("lang %q: sealed message %+v keeps a link or lacks the OMEMO elements", lang, m)
		}
	}
}
