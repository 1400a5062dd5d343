package gateway

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"mellium.im/xmlstream"

	"github.com/fieldgate/fieldgate/gateway/omemo"
	"github.com/fieldgate/fieldgate/routing"
)

// fakeSubs counts what the gateway asks of the subscriber store.
type fakeSubs struct {
	mu         sync.Mutex
	subscribe  map[string]int // jid → Subscribe calls
	subscribed int            // Subscribed calls (each may be followed by a disco#info query)
	full       bool           // Subscribe refuses: the cap is reached
	isSub      bool
}

func (f *fakeSubs) Subscribe(_ context.Context, _, jid string, _ int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subscribe == nil {
		f.subscribe = map[string]int{}
	}
	f.subscribe[jid]++
	if f.full {
		return fmt.Errorf("record: %w", omemo.ErrTooManySubscribers)
	}
	return nil
}

func (f *fakeSubs) Subscribed(context.Context, string, string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subscribed++
	return f.isSub, nil
}

func (f *fakeSubs) calls(jid string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subscribe[jid]
}

func (f *fakeSubs) Unsubscribe(context.Context, string, string) error { return nil }
func (f *fakeSubs) SetNotify(context.Context, string, string, bool) (bool, error) {
	return false, nil
}
func (f *fakeSubs) Notified(context.Context, string) ([]string, error) { return nil, nil }
func (f *fakeSubs) Announced(context.Context, string) (uint32, bool, error) {
	return 0, false, nil
}
func (f *fakeSubs) SetAnnounced(context.Context, string, uint32) error { return nil }

// listOnly is an OMEMO whose only working part is a device list.
type listOnly struct{ OMEMO }

func (listOnly) DeviceList(context.Context, string) (*omemo.DeviceList, error) {
	return &omemo.DeviceList{}, nil
}

// newPresenceGateway is a gateway with OMEMO on, never connected, that
// takes burst presences per sender; its log goes to the returned buffer.
func newPresenceGateway(t *testing.T, burst int) (*Gateway, *fakeSubs, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	var mu sync.Mutex
	g, err := New(Config{Addr: "127.0.0.1:1", Domain: "reports.stadt.example", Secret: "s", Burst: burst, RatePerMinute: 1},
		&fakeDisp{}, staticRules{loadTestRules(t)}, noMedia{}, slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	subs := &fakeSubs{}
	g.EnableOMEMO(listOnly{}, OMEMOFiles{}, subs)
	return g, subs, &buf
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// offline is a context under which every send fails at once (the test
// gateway is never connected), so that only the bookkeeping runs.
func offline() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestPresenceFloodLimited: a subscribe flood from one sender, from many
// resources, is held by the per-sender limit (burst 3): three rows are
// asked for, not a hundred, and the hold is logged once; another sender
// is still served; unavailable presence costs nothing.
func TestPresenceFloodLimited(t *testing.T) {
	g, subs, logs := newPresenceGateway(t, 3)
	ctx := offline()
	for i := range 100 {
		g.onPresence(ctx, &inPresence{From: fmt.Sprintf("mallory@evil.example/r%d", i), To: "tiefbau@reports.stadt.example", Type: "subscribe"})
	}
	if n := subs.calls("mallory@evil.example"); n != 3 {
		t.Errorf("a flood of 100 subscriptions led to %d subscriber writes, want 3 (the burst)", n)
	}
	if n := strings.Count(logs.String(), "presence rate-limited"); n != 1 {
		t.Errorf("the hold was logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), "mallory") {
		t.Errorf("the log names the sender:\n%s", logs)
	}
	g.onPresence(ctx, &inPresence{From: "anna@stadt.example/phone", To: "tiefbau@reports.stadt.example", Type: "subscribe"})
	if n := subs.calls("anna@stadt.example"); n != 1 {
		t.Errorf("another sender's subscription was written %d times, want 1", n)
	}
	for range 10 {
		g.onPresence(ctx, &inPresence{From: "bob@stadt.example/phone", To: "tiefbau@reports.stadt.example", Type: "unavailable"})
	}
	g.onPresence(ctx, &inPresence{From: "bob@stadt.example/phone", To: "tiefbau@reports.stadt.example", Type: "subscribe"})
	if n := subs.calls("bob@stadt.example"); n != 1 {
		t.Errorf("unavailable presence used up the sender's presence budget (%d writes, want 1)", n)
	}
}

// TestCapsFloodLimited: presence with ever new entity capabilities
// (XEP-0115) costs at most one subscriber lookup, and so at most one
// disco#info query, per token of the sender's limit; absurd caps cost
// none; a sender who is not a subscriber is never asked for features.
func TestCapsFloodLimited(t *testing.T) {
	g, subs, _ := newPresenceGateway(t, 4)
	ctx := offline()
	subs.isSub = true
	for i := range 50 {
		g.onPresence(ctx, &inPresence{From: "mallory@stadt.example/r", To: "tiefbau@reports.stadt.example",
			Caps: &capsElem{Node: "https://evil.example", Ver: fmt.Sprintf("v%d", i), Hash: "sha-1"}})
	}
	if subs.subscribed != 4 {
		t.Errorf("50 presences with new caps led to %d lookups, want 4 (the burst)", subs.subscribed)
	}
	subs.subscribed = 0
	g.onPresence(ctx, &inPresence{From: "eve@stadt.example/r", To: "tiefbau@reports.stadt.example",
		Caps: &capsElem{Node: "https://evil.example", Ver: strings.Repeat("A", 100000), Hash: "sha-1"}})
	g.onPresence(ctx, &inPresence{From: "eve@stadt.example/r", To: "tiefbau@reports.stadt.example",
		Caps: &capsElem{Node: strings.Repeat("n", 100000), Ver: "abc", Hash: "sha-1"}})
	if subs.subscribed != 0 {
		t.Errorf("absurdly long caps were looked up (%d)", subs.subscribed)
	}
	if len(g.omemo.caps.m) > 4 {
		t.Errorf("the caps cache holds %d entries", len(g.omemo.caps.m))
	}
}

// TestNoSubscriberRowForStrangers: somebody who may not write to an
// address gets no subscriber row by subscribe or probe.
func TestNoSubscriberRowForStrangers(t *testing.T) {
	g, subs, _ := newPresenceGateway(t, 10)
	addr := routing.Address{Name: "jugendamt", Allow: []string{"stadt.example"}, Encryption: routing.EncryptionPreferred}
	for _, typ := range []string{"subscribe", "probe"} {
		g.omemoPresence(offline(), &inPresence{From: "eve@evil.example/x", Type: typ}, addr, "eve@evil.example")
		g.omemoPresence(offline(), &inPresence{From: "anna@stadt.example", Type: typ}, addr, "anna@stadt.example")
	}
	if n := subs.calls("eve@evil.example"); n != 0 {
		t.Errorf("a stranger's presence wrote %d subscriber rows", n)
	}
	if n := subs.calls("anna@stadt.example"); n != 2 {
		t.Errorf("an allowed sender's subscribe and probe: %d writes, want 2", n)
	}
}

// TestSubscriberCapLogged: an address at its cap refuses new subscribers
// and says so in the log once, not once per refusal.
func TestSubscriberCapLogged(t *testing.T) {
	g, subs, logs := newPresenceGateway(t, 10)
	subs.full = true
	for i := range 5 {
		g.onPresence(offline(), &inPresence{From: fmt.Sprintf("u%d@stadt.example", i), To: "tiefbau@reports.stadt.example", Type: "subscribe"})
	}
	if n := strings.Count(logs.String(), "cap of device-list subscribers"); n != 1 {
		t.Errorf("the cap was logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), "subscriber not recorded") {
		t.Errorf("the cap is logged as a failure:\n%s", logs)
	}
}

// recordingEncoder is the stream's encoder as interceptIQ sees it; it
// keeps what was answered.
type recordingEncoder struct {
	xmlstream.TokenReadEncoder
	out []any
}

func (r *recordingEncoder) Encode(v any) error { r.out = append(r.out, v); return nil }

// TestPubSubReadFloodLimited: device-list requests, answered from the
// database inside the stream's read loop, are limited per sender (burst
// 3); the rest get an error (wait, resource-constraint) at once, another
// sender is still answered.
func TestPubSubReadFloodLimited(t *testing.T) {
	g, _, _ := newPresenceGateway(t, 3)
	ask := func(from string) string {
		enc := &recordingEncoder{}
		iq := &inIQ{From: from, To: "tiefbau@reports.stadt.example", ID: "q", Type: "get", PubSub: &pubsubQuery{}}
		iq.PubSub.Items = &struct {
			Node string `xml:"node,attr"`
		}{Node: omemo.NodeDeviceList}
		if !g.omemo.interceptIQ(g, enc, iq) || len(enc.out) != 1 {
			t.Fatalf("request not answered once: %+v", enc.out)
		}
		if e, ok := enc.out[0].(iqError); ok {
			return e.Error.Type + " " + e.Error.Cond.XMLName.Local
		}
		return "result"
	}
	var got []string
	for i := range 10 {
		got = append(got, ask(fmt.Sprintf("mallory@evil.example/r%d", i)))
	}
	want := "result result result wait resource-constraint wait resource-constraint"
	if s := strings.Join(got[:5], " "); s != want {
		t.Errorf("answers %q, want %q", s, want)
	}
	if a := ask("anna@stadt.example/phone"); a != "result" {
		t.Errorf("another sender got %q", a)
	}
}
