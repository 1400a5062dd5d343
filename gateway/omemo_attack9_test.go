package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/fieldgate/fieldgate/gateway/omemo"
)

// countingOMEMO counts Decrypt calls; every message opens as a
// key-transport message (a session set-up without payload).
type countingOMEMO struct {
	OMEMO
	decrypts atomic.Int32
}

func (c *countingOMEMO) Decrypt(context.Context, string, string, *omemo.Encrypted) (omemo.Decrypted, error) {
	c.decrypts.Add(1)
	return omemo.Decrypted{KeyTransport: true, UsedPreKey: true}, nil
}

func (c *countingOMEMO) Maintain(context.Context, string) (bool, error) { return false, nil }

// TestPreKeyFloodLimited: PreKeySignalMessages (each may use a one-time
// pre-key and store a session and an identity key) are limited per
// sender like messages (burst 3), from however many resources and device
// ids; another sender's set-up, and a sender's messages on an
// established session, are still opened.
//
// Before: every one was decrypted, since the message rate limit comes
// after decryption and a key-transport message never reaches it: a
// hundred session set-ups from new device ids cost a hundred sessions.
func TestPreKeyFloodLimited(t *testing.T) {
	g, err := New(Config{Addr: "127.0.0.1:1", Domain: "reports.stadt.example", Secret: "s", Burst: 3, RatePerMinute: 1},
		&fakeDisp{}, staticRules{loadTestRules(t)}, noMedia{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	fake := &countingOMEMO{}
	g.EnableOMEMO(fake, OMEMOFiles{}, nil)
	to := jid.MustParse("tiefbau@reports.stadt.example")
	send := func(from string, sid uint32, prekey bool) {
		m := &inMessage{From: from, To: to.String(), Type: "chat", ID: fmt.Sprint("m", sid),
			Encrypted: &omemo.Encrypted{Header: omemo.Header{SID: sid, IV: "AAAAAAAAAAAAAAAA",
				Keys: []omemo.Key{{RID: 1, PreKey: prekey, Value: "AAAA"}}}}}
		g.encryptionPolicy(offline(), m, to, from[:len(from)-len("/r00")])
	}
	for i := range 100 {
		send(fmt.Sprintf("mallory@evil.example/r%02d", i), uint32(1000+i), true)
	}
	if n := fake.decrypts.Load(); n != 3 {
		t.Errorf("%d of 100 session set-ups from one sender decrypted, want the burst of 3", n)
	}
	send("anna@stadt.example/r01", 7, true)
	send("mallory@evil.example/r01", 1000, false)
	if n := fake.decrypts.Load(); n != 5 {
		t.Errorf("another sender's set-up or an established session's message was not opened (%d decrypts, want 5)", n)
	}
}
