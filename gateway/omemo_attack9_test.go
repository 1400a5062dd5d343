package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

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

// devicesOMEMO has sessions with some devices and counts the bundle
// look-ups for the others.
type devicesOMEMO struct {
	OMEMO
	sessions []uint32
	lookups  atomic.Int32
}

func (d *devicesOMEMO) SessionDevices(context.Context, string, string) ([]uint32, error) {
	return d.sessions, nil
}

func (d *devicesOMEMO) NeedsBundle(_ context.Context, _, _ string, dev uint32) (bool, error) {
	d.lookups.Add(1)
	return !slices.Contains(d.sessions, dev), nil
}

// TestHostileDeviceListBounded: a correspondent's device list (their own
// PEP data) with 5,000 ids, one of them 1,000 times, costs at most
// maxDevicesPerJID look-ups per answer, and the device that wrote (it has
// a session) is always among them, once.
//
// Before: every listed id was looked up and, without a session, its
// bundle asked for at the correspondent's server (10 s each at most),
// and a repeated id got one key per repetition.
func TestHostileDeviceListBounded(t *testing.T) {
	g, err := New(Config{Addr: "127.0.0.1:1", Domain: "reports.stadt.example", Secret: "s"},
		&fakeDisp{}, staticRules{loadTestRules(t)}, noMedia{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	fake := &devicesOMEMO{sessions: []uint32{4711}}
	g.EnableOMEMO(fake, OMEMOFiles{}, nil)
	var listed []uint32
	for i := range 5000 {
		listed = append(listed, uint32(i+1))
	}
	for range 1000 {
		listed = append(listed, 4711)
	}
	from, worker := "tiefbau@reports.stadt.example", "mallory@evil.example"
	g.omemo.lists[from+"\n"+worker] = deviceListEntry{devices: listed, ok: true, at: time.Now()}
	rcpts, err := g.omemo.recipients(offline(), g, "tiefbau", from, worker)
	if err != nil {
		t.Fatal(err)
	}
	if n := fake.lookups.Load(); n > maxDevicesPerJID {
		t.Errorf("%d device look-ups for one answer, want at most %d", n, maxDevicesPerJID)
	}
	found := 0
	for _, r := range rcpts {
		if r.Device == 4711 {
			found++
		}
	}
	if found != 1 {
		t.Errorf("the device that wrote is a recipient %d times, want once", found)
	}
}

func TestBoundDevices(t *testing.T) {
	got := boundDevices([]uint32{1, 2, 2, 3, 9, 3}, []uint32{9, 3})
	if want := []uint32{3, 9, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("boundDevices = %v, want %v", got, want)
	}
}

// TestSawDeviceForgetsStaleList: a device that writes and is not on the
// cached device list (a member's or worker's new device) drops the cached
// list, so the next message reads it again; a listed device keeps it.
func TestSawDeviceForgetsStaleList(t *testing.T) {
	e := &omemoEdge{lists: map[string]deviceListEntry{}}
	key := "reports.stadt.example\nanna@stadt.example"
	e.lists[key] = deviceListEntry{devices: []uint32{1, 2}, ok: true, at: time.Now()}
	e.sawDevice("reports.stadt.example", "anna@stadt.example", 2)
	if _, ok := e.lists[key]; !ok {
		t.Fatal("a listed device dropped the cached list")
	}
	e.sawDevice("reports.stadt.example", "anna@stadt.example", 3)
	if _, ok := e.lists[key]; ok {
		t.Error("a device the cached list does not name left the list cached")
	}
}
