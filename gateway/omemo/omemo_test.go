package omemo

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// memStore is the one fake of keyStore: maps behind a mutex.
type memStore struct {
	mu     sync.Mutex
	own    map[string]ownKeys
	pk     map[string]map[uint32][]byte
	spk    map[string]map[uint32][]byte
	sess   map[string][]byte
	idents map[string][]byte
}

func newMemStore() *memStore {
	return &memStore{own: map[string]ownKeys{}, pk: map[string]map[uint32][]byte{}, spk: map[string]map[uint32][]byte{},
		sess: map[string][]byte{}, idents: map[string][]byte{}}
}

func k3(a, j string, d uint32) string { return fmt.Sprintf("%s\n%s\n%d", a, j, d) }

func (s *memStore) Own(_ context.Context, a string) (ownKeys, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.own[a]
	return o, ok, nil
}
func (s *memStore) CreateOwn(_ context.Context, a string, o ownKeys) (ownKeys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if got, ok := s.own[a]; ok {
		return got, nil
	}
	s.own[a] = o
	return o, nil
}
func (s *memStore) SetNextPreKeyID(_ context.Context, a string, n uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.own[a]
	o.NextPreKeyID = n
	s.own[a] = o
	return nil
}
func (s *memStore) mapOf(m map[string]map[uint32][]byte, a string) map[uint32][]byte {
	if m[a] == nil {
		m[a] = map[uint32][]byte{}
	}
	return m[a]
}
func (s *memStore) PreKeys(_ context.Context, a string) (map[uint32][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[uint32][]byte{}
	for k, v := range s.pk[a] {
		out[k] = v
	}
	return out, nil
}
func (s *memStore) PutPreKey(_ context.Context, a string, id uint32, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mapOf(s.pk, a)[id] = v
	return nil
}
func (s *memStore) DeletePreKey(_ context.Context, a string, id uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pk[a], id)
	return nil
}
func (s *memStore) SignedPreKeys(_ context.Context, a string) (map[uint32][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[uint32][]byte{}
	for k, v := range s.spk[a] {
		out[k] = v
	}
	return out, nil
}
func (s *memStore) PutSignedPreKey(_ context.Context, a string, id uint32, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mapOf(s.spk, a)[id] = v
	return nil
}
func (s *memStore) DeleteSignedPreKey(_ context.Context, a string, id uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.spk[a], id)
	return nil
}
func (s *memStore) Session(_ context.Context, a, j string, d uint32) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.sess[k3(a, j, d)]
	return v, ok, nil
}
func (s *memStore) PutSession(_ context.Context, a, j string, d uint32, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sess[k3(a, j, d)] = v
	return nil
}
func (s *memStore) DeleteSession(_ context.Context, a, j string, d uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sess, k3(a, j, d))
	return nil
}
func (s *memStore) SessionDevices(_ context.Context, a, j string) ([]uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []uint32
	for k := range s.sess {
		var d uint32
		if p := strings.Split(k, "\n"); p[0] == a && p[1] == j {
			fmt.Sscan(p[2], &d)
			out = append(out, d)
		}
	}
	return out, nil
}
func (s *memStore) IdentityDevices(_ context.Context, a, j string) ([]uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []uint32
	for k := range s.idents {
		var d uint32
		if p := strings.Split(k, "\n"); p[0] == a && p[1] == j {
			fmt.Sscan(p[2], &d)
			out = append(out, d)
		}
	}
	return out, nil
}
func (s *memStore) Identity(_ context.Context, a, j string, d uint32) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.idents[k3(a, j, d)]
	return v, ok, nil
}
func (s *memStore) PinIdentity(_ context.Context, a, j string, d uint32, key []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.idents[k3(a, j, d)]; ok && string(old) != string(key) {
		delete(s.sess, k3(a, j, d))
	}
	s.idents[k3(a, j, d)] = key
	return nil
}
func (s *memStore) PutIdentity(_ context.Context, a, j string, d uint32, key []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.idents[k3(a, j, d)]; !ok {
		s.idents[k3(a, j, d)] = key
	}
	return nil
}

const testKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func newManager(t *testing.T, st keyStore) *Manager {
	t.Helper()
	s, err := NewSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return New(st, s, nil)
}

// party is one side of a conversation: a Manager and the name it uses for
// its own device, which the other side sees as a JID.
type party struct {
	m    *Manager
	addr string
}

func (p party) recipient(t *testing.T, ctx context.Context, forJID string, other party) Recipient {
	t.Helper()
	dev, err := other.m.Device(ctx, other.addr)
	if err != nil {
		t.Fatal(err)
	}
	r := Recipient{JID: other.addr, Device: dev}
	if need, _ := p.m.NeedsBundle(ctx, p.addr, other.addr, dev); need {
		b, err := other.m.Bundle(ctx, other.addr)
		if err != nil {
			t.Fatal(err)
		}
		// Through XML, as it travels.
		raw, err := xml.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		var back Bundle
		if err := xml.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		r.Bundle = &back
	}
	return r
}

func send(t *testing.T, ctx context.Context, from, to party, text string) *Encrypted {
	t.Helper()
	enc, err := from.m.Encrypt(ctx, from.addr, []Recipient{from.recipient(t, ctx, to.addr, to)}, []byte(text))
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	raw, err := xml.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	var back Encrypted
	if err := xml.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}

func TestConversationBothWays(t *testing.T) {
	ctx := context.Background()
	gwStore := newMemStore()
	gw := party{newManager(t, gwStore), "tiefbau@reports.stadt.localhost"}
	anna := party{newManager(t, newMemStore()), "anna@stadt.localhost"}

	first := send(t, ctx, anna, gw, "Schlagloch vor Nr. 12")
	if !first.Header.Keys[0].PreKey {
		t.Error("the first message must be a pre-key message (session set-up)")
	}
	got, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, first)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	if string(got.Plaintext) != "Schlagloch vor Nr. 12" || !got.UsedPreKey {
		t.Fatalf("got %q usedPreKey=%v", got.Plaintext, got.UsedPreKey)
	}
	if n := len(gwStore.pk[gw.addr]); n != PreKeyCount-1 {
		t.Errorf("%d pre-keys left, want %d (a used one-time pre-key is deleted)", n, PreKeyCount-1)
	}
	if changed, err := gw.m.Maintain(ctx, gw.addr); err != nil || !changed || len(gwStore.pk[gw.addr]) != PreKeyCount {
		t.Errorf("Maintain: changed=%v err=%v, %d pre-keys", changed, err, len(gwStore.pk[gw.addr]))
	}

	// The replay of the first message opens nothing.
	if _, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, first); !errors.Is(err, ErrUndecryptable) {
		t.Errorf("replayed pre-key message: %v, want ErrUndecryptable", err)
	}

	// The gateway answers; anna reads it.
	reply := send(t, ctx, gw, anna, "Meldung 2026-000001 angenommen")
	back, err := anna.m.Decrypt(ctx, anna.addr, gw.addr, reply)
	if err != nil || string(back.Plaintext) != "Meldung 2026-000001 angenommen" {
		t.Fatalf("anna reads %q, %v", back.Plaintext, err)
	}

	// A second message on the established session, after a "restart"
	// (a new Manager on the same store).
	second := send(t, ctx, anna, gw, "Nachtrag")
	gw2 := party{newManager(t, gwStore), gw.addr}
	got, err = gw2.m.Decrypt(ctx, gw2.addr, anna.addr, second)
	if err != nil || string(got.Plaintext) != "Nachtrag" {
		t.Fatalf("after restart: %q, %v", got.Plaintext, err)
	}
	if got.UsedPreKey {
		t.Error("an established session must not use a pre-key")
	}
}

func TestRejectedMessages(t *testing.T) {
	ctx := context.Background()
	gw := party{newManager(t, newMemStore()), "tiefbau@reports.stadt.localhost"}
	anna := party{newManager(t, newMemStore()), "anna@stadt.localhost"}

	// For another device of the gateway: not for us.
	enc := send(t, ctx, anna, gw, "x")
	enc.Header.Keys[0].RID++
	if _, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, enc); !errors.Is(err, ErrNotForUs) {
		t.Errorf("other device: %v", err)
	}

	// A tampered payload fails authentication.
	enc = send(t, ctx, anna, party{gw.m, gw.addr}, "Original")
	p := []byte(enc.Payload)
	if p[0] == 'A' {
		p[0] = 'B'
	} else {
		p[0] = 'A'
	}
	enc.Payload = string(p)
	if _, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, enc); !errors.Is(err, ErrUndecryptable) {
		t.Errorf("tampered payload: %v", err)
	}

	// Broken base64 and a garbage key are malformed or undecryptable, never a panic.
	enc = send(t, ctx, anna, gw, "y")
	enc.Header.IV = "!!"
	if _, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, enc); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad IV: %v", err)
	}
	enc = send(t, ctx, anna, gw, "z")
	enc.Header.Keys[0].Value = b64([]byte("not a signal message"))
	if _, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, enc); err == nil {
		t.Error("garbage key accepted")
	}

	// A stranger claiming to be anna's device with another identity key is not trusted.
	mallory := party{newManager(t, newMemStore()), anna.addr}
	mdev, _ := mallory.m.Device(ctx, mallory.addr)
	adev, _ := anna.m.Device(ctx, anna.addr)
	if mdev != adev {
		// Force the same device id to simulate the impersonation.
		st := mallory.m.store.(*memStore)
		o := st.own[mallory.addr]
		o.DeviceID = adev
		st.own[mallory.addr] = o
	}
	enc = send(t, ctx, mallory, gw, "Ich bin anna")
	if _, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, enc); !errors.Is(err, ErrUndecryptable) {
		t.Errorf("changed identity key for a known device: %v, want refusal", err)
	}
}

func TestSealedAtRest(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	gw := newManager(t, st)
	fp, err := gw.Fingerprint(ctx, "tiefbau")
	if err != nil {
		t.Fatal(err)
	}
	if len(strings.ReplaceAll(fp, " ", "")) != 64 || strings.Count(fp, " ") != 7 {
		t.Errorf("fingerprint %q: 64 hex digits in groups of eight", fp)
	}
	o := st.own["tiefbau"]
	if len(o.IdentityPrivate) < 32+12+16 {
		t.Errorf("private identity key stored in %d bytes: not sealed", len(o.IdentityPrivate))
	}
	other, _ := NewSealer(strings.Repeat("ff", 32))
	if _, err := New(st, other, nil).Fingerprint(ctx, "tiefbau"); err == nil {
		t.Error("keys opened with the wrong at-rest key")
	}
	// A sealed value moved to another row does not open.
	st.pk["tiefbau"][1], st.pk["tiefbau"][2] = st.pk["tiefbau"][2], st.pk["tiefbau"][1]
	if _, err := gw.Bundle(ctx, "tiefbau"); err == nil {
		t.Error("swapped pre-key records opened")
	}
	for _, bad := range []string{"", "short", strings.Repeat("zz", 32)} {
		if _, err := NewSealer(bad); err == nil {
			t.Errorf("NewSealer(%q) accepted", bad)
		}
	}
}

func TestSignedPreKeyRotation(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	gw := newManager(t, st)
	b1, err := gw.Bundle(ctx, "tiefbau")
	if err != nil {
		t.Fatal(err)
	}
	if changed, _ := gw.Maintain(ctx, "tiefbau"); changed {
		t.Error("a fresh device changed on Maintain")
	}
	gw.now = func() time.Time { return time.Now().Add(SignedPreKeyMaxAge + time.Hour) }
	if changed, err := gw.Maintain(ctx, "tiefbau"); err != nil || !changed {
		t.Fatalf("rotation: changed=%v err=%v", changed, err)
	}
	b2, _ := gw.Bundle(ctx, "tiefbau")
	if b2.SignedPreKeyPublic.ID != b1.SignedPreKeyPublic.ID+1 || b2.SignedPreKeyPublic.Value == b1.SignedPreKeyPublic.Value {
		t.Errorf("signed pre-key not rotated: %d → %d", b1.SignedPreKeyPublic.ID, b2.SignedPreKeyPublic.ID)
	}
	if len(st.spk["tiefbau"]) != 2 {
		t.Errorf("%d signed pre-keys kept, want 2 (the previous one for messages in flight)", len(st.spk["tiefbau"]))
	}
}

// TestMaintainDeviceWithoutSignedPreKey: a device whose signed pre-key
// is not (yet) stored (another replica writes the device before its keys;
// a creator that died between the two writes) is given one, instead of
// the housekeeping crashing the gateway (seen in CI: index out of range).
func TestMaintainDeviceWithoutSignedPreKey(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	gw := newManager(t, st)
	if _, err := gw.Bundle(ctx, "tiefbau"); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	clear(st.spk["tiefbau"])
	st.mu.Unlock()
	changed, err := gw.Maintain(ctx, "tiefbau")
	if err != nil || !changed {
		t.Fatalf("Maintain of a device without a signed pre-key: changed=%v err=%v, want a new one", changed, err)
	}
	b, err := gw.Bundle(ctx, "tiefbau")
	if err != nil {
		t.Fatalf("bundle after the repair: %v", err)
	}
	if b.SignedPreKeyPublic.ID != 1 || b.SignedPreKeyPublic.Value == "" {
		t.Errorf("signed pre-key %+v, want id 1 with a key", b.SignedPreKeyPublic)
	}
}

func TestBundleXML(t *testing.T) {
	ctx := context.Background()
	gw := newManager(t, newMemStore())
	b, err := gw.Bundle(ctx, "tiefbau")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := xml.Marshal(b)
	s := string(raw)
	for _, want := range []string{`<bundle xmlns="eu.siacs.conversations.axolotl">`, `<signedPreKeyPublic signedPreKeyId="1">`,
		`<signedPreKeySignature>`, `<identityKey>`, `<prekeys><preKeyPublic preKeyId="1">`} {
		if !strings.Contains(s, want) {
			t.Errorf("bundle XML lacks %s:\n%.300s", want, s)
		}
	}
	if n := strings.Count(s, "<preKeyPublic "); n != PreKeyCount {
		t.Errorf("%d pre-keys in the bundle", n)
	}
	dl, _ := gw.DeviceList(ctx, "tiefbau")
	raw, _ = xml.Marshal(dl)
	if !strings.HasPrefix(string(raw), `<list xmlns="eu.siacs.conversations.axolotl"><device id="`) {
		t.Errorf("device list XML %s", raw)
	}
	// A bundle whose signature does not verify is refused.
	b.SignedPreKeySignature = b64(make([]byte, 64))
	if _, err := parseBundle(b, 1); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad signature: %v", err)
	}
}

func TestFileLinks(t *testing.T) {
	key := make([]byte, 32)
	iv := make([]byte, 12)
	for i := range key {
		key[i] = byte(i)
	}
	plain := []byte("\xff\xd8\xff JPEG bytes")
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	ct := gcm.Seal(nil, iv, plain, nil)
	raw := "aesgcm://upload.stadt.example/share/abc/foto.jpg#" + hex.EncodeToString(append(iv, key...))
	body := "Schaden am Gully " + raw + " bitte prüfen"
	links := FindFileLinks(body)
	if len(links) != 1 || links[0].HTTPS != "https://upload.stadt.example/share/abc/foto.jpg" {
		t.Fatalf("links %+v", links)
	}
	got, err := links[0].Open(bytes.NewReader(ct))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %q %v", got, err)
	}
	if s := StripFileLinks(body, links); strings.Contains(s, "aesgcm") || strings.Contains(s, hex.EncodeToString(key)) {
		t.Errorf("stripped body keeps the link or its key: %q", s)
	}
	tampered := append([]byte(nil), ct...)
	tampered[0] ^= 1
	if _, err := links[0].Open(bytes.NewReader(tampered)); !errors.Is(err, ErrUndecryptable) {
		t.Errorf("tampered file: %v, want ErrUndecryptable", err)
	}
	if _, err := links[0].Open(bytes.NewReader(ct[:len(ct)-1])); !errors.Is(err, ErrUndecryptable) {
		t.Errorf("truncated file: %v", err)
	}
	for _, bad := range []string{"aesgcm://host/x#00", "aesgcm://user@host/x#" + strings.Repeat("0", 88), "https://host/x#" + strings.Repeat("0", 88)} {
		if _, err := ParseFileLink(bad); err == nil {
			t.Errorf("ParseFileLink(%q) accepted", bad)
		}
	}
}

func TestPinnedIdentity(t *testing.T) {
	ctx := context.Background()
	gw := party{newManager(t, newMemStore()), "tiefbau"}
	anna := party{newManager(t, newMemStore()), "anna@stadt.localhost"}
	dev, _ := anna.m.Device(ctx, anna.addr)
	// The admin pins another key for anna's device: her real key is refused.
	other := party{newManager(t, newMemStore()), "other"}
	fpOther, _ := other.m.Fingerprint(ctx, other.addr)
	if err := gw.m.Pin(ctx, gw.addr, anna.addr, dev, fpOther); err != nil {
		t.Fatal(err)
	}
	if _, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, send(t, ctx, anna, gw, "x")); !errors.Is(err, ErrUndecryptable) {
		t.Errorf("a device whose key differs from the pinned one: %v", err)
	}
	// Pinning her real fingerprint lets her through.
	fp, _ := anna.m.Fingerprint(ctx, anna.addr)
	if err := gw.m.Pin(ctx, gw.addr, anna.addr, dev, fp); err != nil {
		t.Fatal(err)
	}
	anna2 := party{newManager(t, anna.m.store), anna.addr} // fresh sessions on anna's side
	anna2.m.store.(*memStore).sess = map[string][]byte{}
	got, err := gw.m.Decrypt(ctx, gw.addr, anna.addr, send(t, ctx, anna2, gw, "verified"))
	if err != nil || string(got.Plaintext) != "verified" {
		t.Errorf("pinned key: %q %v", got.Plaintext, err)
	}
	for _, bad := range []string{"", "xyz", strings.Repeat("0", 10)} {
		if err := gw.m.Pin(ctx, gw.addr, anna.addr, dev, bad); err == nil {
			t.Errorf("Pin(%q) accepted", bad)
		}
	}
}
