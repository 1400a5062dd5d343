package omemo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// TestErrorsNameNoCorrespondent: what Decrypt and Encrypt return is
// logged by the gateway, so it names a correspondent by domain only.
// libsignal's own error for a message on a session the gateway does not
// have reads "no session found for user anna@stadt.localhost:<device>".
func TestErrorsNameNoCorrespondent(t *testing.T) {
	ctx := context.Background()
	gwStore := newMemStore()
	gw := party{newManager(t, gwStore), "tiefbau@reports.stadt.localhost"}
	anna := party{newManager(t, newMemStore()), "anna@stadt.localhost"}

	// A session anna has and the gateway lost (its retention forgot it,
	// or it was dropped by a pin): anna's next message is a plain
	// SignalMessage the gateway cannot open.
	first := send(t, ctx, anna, gw, "erste")
	if _, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, first); err != nil {
		t.Fatal(err)
	}
	reply := send(t, ctx, gw, anna, "Meldung angenommen")
	if _, err := anna.m.Decrypt(ctx, anna.addr, gw.addr, reply); err != nil {
		t.Fatal(err)
	}
	adev, _ := anna.m.Device(ctx, anna.addr)
	if err := gwStore.DeleteSession(ctx, gw.addr, anna.addr, adev); err != nil {
		t.Fatal(err)
	}
	second := send(t, ctx, anna, gw, "zweite")
	if second.Header.Keys[0].PreKey {
		t.Fatal("anna's second message should be a plain SignalMessage")
	}
	_, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, second)
	if !errors.Is(err, ErrUndecryptable) {
		t.Fatalf("decrypt without session: %v, want ErrUndecryptable", err)
	}
	if strings.Contains(err.Error(), "anna") {
		t.Errorf("Decrypt's error names the correspondent: %q", err)
	}
	if !strings.Contains(err.Error(), "stadt.localhost") {
		t.Errorf("Decrypt's error should still name the correspondent's domain: %q", err)
	}

	// Encrypting to a device without session or bundle: the error (and
	// the warning Encrypt logs) names no JID either.
	_, err = gw.m.Encrypt(ctx, gw.addr, []Recipient{{JID: "bert@stadt.localhost", Device: 77}}, []byte("x"))
	if err == nil || strings.Contains(err.Error(), "bert") {
		t.Errorf("Encrypt's error: %v; want one that names no JID", err)
	}
}

// TestFindFileLinksOnce: the same aesgcm:// link repeated in a message is
// one file, downloaded once (before, each repetition was downloaded and
// stored again: 20 repetitions of a 32 MiB link cost 640 MiB).
func TestFindFileLinksOnce(t *testing.T) {
	link := "aesgcm://upload.example/abc/foto.jpg#" + strings.Repeat("0a", 12) + strings.Repeat("1b", 32)
	other := "aesgcm://upload.example/def/foto.jpg#" + strings.Repeat("0a", 12) + strings.Repeat("1b", 32)
	body := strings.Repeat(link+"\n", 20) + other + " " + link
	got := FindFileLinks(body)
	if len(got) != 2 || got[0].Raw != link || got[1].Raw != other {
		t.Fatalf("FindFileLinks found %d links, want the two distinct ones in order", len(got))
	}
	if rest := StripFileLinks(body, got); rest != "" {
		t.Errorf("after stripping: %q", rest)
	}
}

// TestRedactLeavesDomainsAlone: a JID without a local part (the
// component's own domain, the room device's peer) is nobody's.
func TestRedactLeavesDomainsAlone(t *testing.T) {
	base := errors.New("no session found for user reports.stadt.localhost:5")
	if err := redact(base, "reports.stadt.localhost"); err != base {
		t.Errorf("redact changed %v to %v", base, err)
	}
	err := redact(base, "x@y")
	if err != base {
		t.Errorf("redact changed an error that does not name the JID: %v", err)
	}
	wrapped := redact(errors.Join(ErrUndecryptable, errors.New("user a@b.example:3")), "a@b.example")
	if !errors.Is(wrapped, ErrUndecryptable) || strings.Contains(wrapped.Error(), "a@") || !strings.Contains(wrapped.Error(), "…@b.example:3") {
		t.Errorf("redacted: %v", wrapped)
	}
}

// TestNoSecretsInDebugLog: with the log at debug level (log.level: debug,
// as an operator sets it to look into a problem), a conversation and a
// message the gateway cannot open leave no key material and no
// correspondent's JID in the log.
//
// Before: libsignal's own log lines were passed on at debug level:
// "Using cipherKey: [...]" (each message's key), "Decrypting ciphertext
// with record: …" (the whole session, root and chain keys), and
// "no session found for user anna@stadt.localhost:…".
func TestNoSecretsInDebugLog(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := NewSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	gw := party{New(newMemStore(), s, logger), "tiefbau@reports.stadt.localhost"}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil)) // the correspondents' side
	anna := party{New(newMemStore(), s, quiet), "anna@stadt.localhost"}
	for _, text := range []string{"erste", "zweite"} {
		if _, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, send(t, ctx, anna, gw, text)); err != nil {
			t.Fatal(err)
		}
	}
	back := send(t, ctx, gw, anna, "Meldung angenommen")
	if _, err := anna.m.Decrypt(ctx, anna.addr, gw.addr, back); err != nil {
		t.Fatal(err)
	}
	stranger := party{New(newMemStore(), s, quiet), "bert@stadt.localhost"}
	enc := send(t, ctx, stranger, gw, "x")
	enc.Header.Keys[0].PreKey = false // a SignalMessage without a session
	_, _ = gw.m.Decrypt(ctx, gw.addr, stranger.addr, enc)

	mu.Lock()
	defer mu.Unlock()
	for _, bad := range []string{"cipherKey", "record", "MAC", "anna@", "bert@"} {
		if strings.Contains(buf.String(), bad) {
			t.Errorf("the debug log holds %q:\n%.2000s", bad, buf.String())
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestWroteEncryptedOutlivesSession: a correspondent whose session was
// dropped (a pin of another key) is still one who writes encrypted; a
// stranger is not.
func TestWroteEncryptedOutlivesSession(t *testing.T) {
	ctx := context.Background()
	gwStore := newMemStore()
	gw := party{newManager(t, gwStore), "tiefbau"}
	anna := party{newManager(t, newMemStore()), "anna@stadt.localhost"}
	if _, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, send(t, ctx, anna, party{gw.m, gw.addr}, "x")); err != nil {
		t.Fatal(err)
	}
	adev, _ := anna.m.Device(ctx, anna.addr)
	if err := gw.m.Pin(ctx, gw.addr, anna.addr, adev, strings.Repeat("ab", 32)); err != nil {
		t.Fatal(err)
	}
	if devs, _ := gw.m.SessionDevices(ctx, gw.addr, anna.addr); len(devs) != 0 {
		t.Fatalf("the pin of another key kept the session: %v", devs)
	}
	if wrote, err := gw.m.WroteEncrypted(ctx, gw.addr, "Anna@stadt.localhost"); err != nil || !wrote {
		t.Errorf("WroteEncrypted after the session was dropped: %v, %v; want true", wrote, err)
	}
	if wrote, err := gw.m.WroteEncrypted(ctx, gw.addr, "bert@stadt.localhost"); err != nil || wrote {
		t.Errorf("WroteEncrypted for a stranger: %v, %v; want false", wrote, err)
	}
}

// TestForgedSenderRefused: a session belongs to the bare JID that built
// it. anna's messages (her first, a pre-key message, and a later one on
// the session) delivered as if from mallory (a captured stanza sent from
// another account) open nothing: mallory has no session with anna's
// device, and the one-time pre-key anna's first message used is gone.
// Nothing is filed as mallory's with anna's words; anna's session goes on.
func TestForgedSenderRefused(t *testing.T) {
	ctx := context.Background()
	gw := party{newManager(t, newMemStore()), "tiefbau"}
	anna := party{newManager(t, newMemStore()), "anna@stadt.localhost"}
	first := send(t, ctx, anna, gw, "erste")
	if _, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, first); err != nil {
		t.Fatal(err)
	}
	back := send(t, ctx, gw, anna, "angenommen")
	if _, err := anna.m.Decrypt(ctx, anna.addr, gw.addr, back); err != nil {
		t.Fatal(err)
	}
	second := send(t, ctx, anna, gw, "zweite")
	for name, enc := range map[string]*Encrypted{"pre-key message": first, "session message": second} {
		if d, err := gw.m.Decrypt(ctx, gw.addr, "mallory@evil.example", enc); !errors.Is(err, ErrUndecryptable) {
			t.Errorf("anna's %s as mallory's: %q, %v; want ErrUndecryptable", name, d.Plaintext, err)
		}
	}
	if d, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, second); err != nil || string(d.Plaintext) != "zweite" {
		t.Errorf("anna's own message after the forgeries: %q, %v", d.Plaintext, err)
	}
}

// TestHostileBundles: a correspondent's bundle is their own PEP data.
// Wrong key lengths, a key of another type, an identity key that signed
// nothing, no pre-keys, garbage pre-keys: each is refused as ErrMalformed
// (the device is left out of the message, Encrypt logs why), never a
// panic; a bundle with thousands of pre-keys is used with one of them.
func TestHostileBundles(t *testing.T) {
	ctx := context.Background()
	anna := newManager(t, newMemStore())
	good := func() *Bundle {
		b, err := anna.Bundle(ctx, "anna@stadt.localhost")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := map[string]func(b *Bundle){
		"identity key of 31 bytes":      func(b *Bundle) { b.IdentityKey = b64(make([]byte, 31)) },
		"identity key of 64 bytes":      func(b *Bundle) { b.IdentityKey = b64(make([]byte, 64)) },
		"identity key of another type":  func(b *Bundle) { raw := make([]byte, 33); raw[0] = 0x07; b.IdentityKey = b64(raw) },
		"identity key that signed none": func(b *Bundle) { b.IdentityKey = b64(append([]byte{5}, make([]byte, 32)...)) },
		"signature of 63 bytes":         func(b *Bundle) { b.SignedPreKeySignature = b64(make([]byte, 63)) },
		"signed pre-key not base64":     func(b *Bundle) { b.SignedPreKeyPublic.Value = "!!" },
		"no pre-keys":                   func(b *Bundle) { b.PreKeys = nil },
		"garbage pre-keys": func(b *Bundle) {
			for i := range b.PreKeys {
				b.PreKeys[i].Value = b64([]byte("x"))
			}
		},
	}
	for name, spoil := range cases {
		b := good()
		spoil(b)
		if _, err := parseBundle(b, 7); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	b := good()
	for len(b.PreKeys) < 5000 {
		b.PreKeys = append(b.PreKeys, b.PreKeys...)
	}
	if pb, err := parseBundle(b, 7); err != nil || pb == nil {
		t.Errorf("a bundle with %d pre-keys: %v", len(b.PreKeys), err)
	}
}
