package omemo

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/signalerror"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/util/keyhelper"
	"go.mau.fi/libsignal/util/optional"
)

// SignedPreKeyMaxAge is how long a signed pre-key is offered before a new
// one replaces it (the previous one is kept for messages in flight).
const SignedPreKeyMaxAge = 7 * 24 * time.Hour

// Manager holds the OMEMO devices of all function addresses. It is safe
// for concurrent use; operations on one correspondent's sessions are
// serialised.
type Manager struct {
	store  keyStore
	sealer *Sealer
	ser    *serialize.Serializer
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// New builds a Manager on a store (NewPG) with the at-rest key.
func New(store keyStore, sealer *Sealer, logger *slog.Logger) *Manager {
	routeLibLogs()
	return &Manager{store: store, sealer: sealer, ser: serialize.NewProtoBufSerializer(),
		log: cmp.Or(logger, slog.Default()), now: time.Now, locks: map[string]*sync.Mutex{}}
}

func (m *Manager) lock(key string) func() {
	m.mu.Lock()
	l, ok := m.locks[key]
	if !ok {
		l = &sync.Mutex{}
		m.locks[key] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// device is an address's own device, unsealed.
type device struct {
	address string
	id      uint32
	reg     uint32
	keys    *identity.KeyPair
}

// Device returns the address's device id, creating its keys on first use.
func (m *Manager) Device(ctx context.Context, address string) (uint32, error) {
	d, err := m.device(ctx, address)
	if err != nil {
		return 0, err
	}
	return d.id, nil
}

func (m *Manager) device(ctx context.Context, address string) (*device, error) {
	own, found, err := m.store.Own(ctx, address)
	if err != nil {
		return nil, err
	}
	if !found {
		if own, err = m.create(ctx, address); err != nil {
			return nil, err
		}
	}
	priv, err := m.sealer.open(own.IdentityPrivate, "identity:"+address)
	if err != nil {
		return nil, err
	}
	pub, err := ecc.DecodePoint(own.IdentityPublic, 0)
	if err != nil {
		return nil, fmt.Errorf("omemo: identity key of %s: %w", address, err)
	}
	var pk [32]byte
	copy(pk[:], priv)
	kp := identity.NewKeyPair(identity.NewKey(pub), ecc.NewDjbECPrivateKey(pk))
	return &device{address: address, id: own.DeviceID, reg: own.RegistrationID, keys: kp}, nil
}

// create makes a device: identity key, signed pre-key and PreKeyCount
// one-time pre-keys. If another replica created one at the same time,
// theirs is kept.
func (m *Manager) create(ctx context.Context, address string) (ownKeys, error) {
	kp, err := keyhelper.GenerateIdentityKeyPair()
	if err != nil {
		return ownKeys{}, err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1<<31-1))
	if err != nil {
		return ownKeys{}, err
	}
	priv := kp.PrivateKey().Serialize()
	want := ownKeys{DeviceID: uint32(n.Int64()) + 1, RegistrationID: keyhelper.GenerateRegistrationID(),
		IdentityPublic: kp.PublicKey().Serialize(), IdentityPrivate: m.sealer.seal(priv[:], "identity:"+address),
		NextPreKeyID: PreKeyCount + 1}
	got, err := m.store.CreateOwn(ctx, address, want)
	if err != nil {
		return ownKeys{}, err
	}
	if got.DeviceID != want.DeviceID {
		return got, nil // another replica's device
	}
	spk, err := keyhelper.GenerateSignedPreKey(kp, 1, m.ser.SignedPreKeyRecord)
	if err != nil {
		return ownKeys{}, err
	}
	if err := m.store.PutSignedPreKey(ctx, address, 1, m.sealer.seal(encodeSignedPreKey(spk), placeSPK(address, 1))); err != nil {
		return ownKeys{}, err
	}
	pks, err := keyhelper.GeneratePreKeys(1, PreKeyCount, m.ser.PreKeyRecord)
	if err != nil {
		return ownKeys{}, err
	}
	for _, pk := range pks {
		id := pk.ID().Value
		if err := m.store.PutPreKey(ctx, address, id, m.sealer.seal(encodePreKey(pk), placePK(address, id))); err != nil {
			return ownKeys{}, err
		}
	}
	m.log.InfoContext(ctx, "omemo device created", "address", address, "device", got.DeviceID)
	return got, nil
}

func placePK(address string, id uint32) string {
	return "prekey:" + address + ":" + strconv.FormatUint(uint64(id), 10)
}
func placeSPK(address string, id uint32) string {
	return "spk:" + address + ":" + strconv.FormatUint(uint64(id), 10)
}
func placeSession(address, jid string, dev uint32) string {
	return "session:" + address + ":" + jid + ":" + strconv.FormatUint(uint64(dev), 10)
}

// DeviceList is the item the address serves on its device-list node.
func (m *Manager) DeviceList(ctx context.Context, address string) (*DeviceList, error) {
	id, err := m.Device(ctx, address)
	if err != nil {
		return nil, err
	}
	return &DeviceList{Devices: []Device{{ID: id}}}, nil
}

// Bundle is the item the address serves on its bundle node, with the
// newest signed pre-key and every unused one-time pre-key.
func (m *Manager) Bundle(ctx context.Context, address string) (*Bundle, error) {
	d, err := m.device(ctx, address)
	if err != nil {
		return nil, err
	}
	spk, err := m.newestSignedPreKey(ctx, address)
	if err != nil {
		return nil, err
	}
	sig := spk.Signature()
	b := &Bundle{
		SignedPreKeyPublic:    SignedPreKeyPublic{ID: spk.ID(), Value: b64(spk.KeyPair().PublicKey().Serialize())},
		SignedPreKeySignature: b64(sig[:]),
		IdentityKey:           b64(d.keys.PublicKey().Serialize()),
	}
	pks, err := m.store.PreKeys(ctx, address)
	if err != nil {
		return nil, err
	}
	ids := make([]uint32, 0, len(pks))
	for id := range pks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		rec, err := m.openPreKey(address, id, pks[id])
		if err != nil {
			return nil, err
		}
		b.PreKeys = append(b.PreKeys, PreKey{ID: id, Value: b64(rec.KeyPair().PublicKey().Serialize())})
	}
	return b, nil
}

func (m *Manager) openPreKey(address string, id uint32, sealed []byte) (*record.PreKey, error) {
	raw, err := m.sealer.open(sealed, placePK(address, id))
	if err != nil {
		return nil, err
	}
	return decodePreKey(id, raw, m.ser)
}

func (m *Manager) signedPreKeys(ctx context.Context, address string) ([]*record.SignedPreKey, error) {
	all, err := m.store.SignedPreKeys(ctx, address)
	if err != nil {
		return nil, err
	}
	var out []*record.SignedPreKey
	for id, sealed := range all {
		raw, err := m.sealer.open(sealed, placeSPK(address, id))
		if err != nil {
			return nil, err
		}
		rec, err := decodeSignedPreKey(id, raw, m.ser)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b *record.SignedPreKey) int { return cmp.Compare(a.ID(), b.ID()) })
	return out, nil
}

func (m *Manager) newestSignedPreKey(ctx context.Context, address string) (*record.SignedPreKey, error) {
	all, err := m.signedPreKeys(ctx, address)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("omemo: %s has no signed pre-key", address)
	}
	return all[len(all)-1], nil
}

// Maintain rotates the signed pre-key when it is older than
// SignedPreKeyMaxAge (keeping the previous one) and refills the one-time
// pre-keys to PreKeyCount. It returns whether the bundle changed.
func (m *Manager) Maintain(ctx context.Context, address string) (bool, error) {
	defer m.lock("own:" + address)()
	d, err := m.device(ctx, address)
	if err != nil {
		return false, err
	}
	changed := false
	spks, err := m.signedPreKeys(ctx, address)
	if err != nil {
		return false, err
	}
	if len(spks) == 0 {
		// A device without a signed pre-key: another replica is creating
		// it this moment (create writes the device before its keys), or its
		// creator died between the two writes. It gets one, signed by the
		// stored identity key like any other, and its bundle is published
		// again; whichever replica's write lands last is the one kept.
		spk, err := keyhelper.GenerateSignedPreKey(d.keys, 1, m.ser.SignedPreKeyRecord)
		if err != nil {
			return false, err
		}
		if err := m.store.PutSignedPreKey(ctx, address, 1, m.sealer.seal(encodeSignedPreKey(spk), placeSPK(address, 1))); err != nil {
			return false, err
		}
		m.log.WarnContext(ctx, "omemo device had no signed pre-key; made one", "address", address, "device", d.id)
		changed = true
	} else if newest := spks[len(spks)-1]; m.now().Sub(time.Unix(newest.Timestamp(), 0)) > SignedPreKeyMaxAge { // libsignal stamps seconds
		id := newest.ID() + 1
		spk, err := keyhelper.GenerateSignedPreKey(d.keys, id, m.ser.SignedPreKeyRecord)
		if err != nil {
			return false, err
		}
		if err := m.store.PutSignedPreKey(ctx, address, id, m.sealer.seal(encodeSignedPreKey(spk), placeSPK(address, id))); err != nil {
			return false, err
		}
		for _, old := range spks[:len(spks)-1] {
			if err := m.store.DeleteSignedPreKey(ctx, address, old.ID()); err != nil {
				return false, err
			}
		}
		changed = true
	}
	pks, err := m.store.PreKeys(ctx, address)
	if err != nil {
		return false, err
	}
	if missing := PreKeyCount - len(pks); missing > 0 {
		own, _, err := m.store.Own(ctx, address)
		if err != nil {
			return false, err
		}
		next := own.NextPreKeyID
		if next == 0 || next > 1<<24 {
			next = 1 // ids wrap well before libsignal's medium-value limit
		}
		// GeneratePreKeys takes the first and the last id.
		gen, err := keyhelper.GeneratePreKeys(int(next), int(next)+missing-1, m.ser.PreKeyRecord)
		if err != nil {
			return false, err
		}
		for _, pk := range gen {
			id := pk.ID().Value
			if err := m.store.PutPreKey(ctx, address, id, m.sealer.seal(encodePreKey(pk), placePK(address, id))); err != nil {
				return false, err
			}
		}
		if err := m.store.SetNextPreKeyID(ctx, address, next+uint32(missing)); err != nil {
			return false, err
		}
		changed = true
	}
	return changed, nil
}

// Fingerprint is the address's identity key as clients show it: 64 hex
// digits (the 32 key bytes without the type byte) in groups of eight.
func (m *Manager) Fingerprint(ctx context.Context, address string) (string, error) {
	d, err := m.device(ctx, address)
	if err != nil {
		return "", err
	}
	return FormatFingerprint(d.keys.PublicKey().Serialize()), nil
}

// FormatFingerprint renders a serialized identity key for people.
func FormatFingerprint(serialized []byte) string {
	if len(serialized) == 33 {
		serialized = serialized[1:]
	}
	h := hex.EncodeToString(serialized)
	var parts []string
	for i := 0; i < len(h); i += 8 {
		parts = append(parts, h[i:min(i+8, len(h))])
	}
	return strings.Join(parts, " ")
}

// Decrypted is an opened OMEMO message.
type Decrypted struct {
	Plaintext    []byte
	SenderDevice uint32
	KeyTransport bool // no payload: a session set-up or heartbeat, nothing to file
	UsedPreKey   bool // a session was built from a one-time pre-key (call Maintain)
}

// Decrypt opens an OMEMO message that from (a bare JID) sent to address.
// It returns ErrNotForUs when no key is addressed to this device,
// ErrMalformed for broken XML values, and ErrUndecryptable (wrapped with
// the Signal error) when the session cannot open it: an unknown session,
// a replay, a changed identity key, or a tampered payload.
func (m *Manager) Decrypt(ctx context.Context, address, from string, enc *Encrypted) (Decrypted, error) {
	d, err := m.device(ctx, address)
	if err != nil {
		return Decrypted{}, err
	}
	var key *Key
	for i := range enc.Header.Keys {
		if enc.Header.Keys[i].RID == d.id {
			key = &enc.Header.Keys[i]
			break
		}
	}
	if key == nil {
		return Decrypted{}, ErrNotForUs
	}
	raw, err := decodeB64(key.Value, "key")
	if err != nil {
		return Decrypted{}, err
	}
	iv, err := decodeB64(enc.Header.IV, "iv")
	if err != nil {
		return Decrypted{}, err
	}
	payload, err := decodeB64(enc.Payload, "payload")
	if err != nil {
		return Decrypted{}, err
	}
	from = strings.ToLower(from)
	defer m.lock(address + "\n" + from)()
	st := &signalStore{m: m, dev: d}
	remote := protocol.NewSignalAddress(from, enc.Header.SID)
	cipher := session.NewCipher(session.NewBuilder(st, st, st, st, remote, m.ser), remote)
	out := Decrypted{SenderDevice: enc.Header.SID}
	var keyAndTag []byte
	var shown []byte // the identity key a pre-key message presents
	if key.PreKey {
		msg, perr := protocol.NewPreKeySignalMessageFromBytes(raw, m.ser.PreKeySignalMessage, m.ser.SignalMessage)
		if perr != nil {
			return Decrypted{}, fmt.Errorf("%w: %v", ErrMalformed, perr)
		}
		if ik := msg.IdentityKey(); ik != nil {
			shown = ik.Serialize()
		}
		keyAndTag, err = cipher.DecryptMessage(ctx, msg)
		out.UsedPreKey = err == nil
	} else {
		var sm *protocol.SignalMessage
		sm, err = protocol.NewSignalMessageFromBytes(raw, m.ser.SignalMessage)
		if err != nil {
			return Decrypted{}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		keyAndTag, err = cipher.Decrypt(ctx, sm)
	}
	if errors.Is(err, signalerror.ErrUntrustedIdentity) {
		kc := &KeyChangedError{Device: enc.Header.SID}
		if shown != nil {
			kc.Fingerprint = FormatFingerprint(shown)
		}
		err = fmt.Errorf("%w: %w", kc, err)
	}
	if err != nil {
		return Decrypted{}, redact(fmt.Errorf("%w: %w", ErrUndecryptable, err), from)
	}
	if enc.Payload == "" {
		out.KeyTransport = true
		return out, nil
	}
	out.Plaintext, err = decryptPayload(payload, keyAndTag, iv)
	return out, err
}

// Recipient is one device a message is encrypted for. Bundle is needed
// only when the address has no session with that device yet
// (NeedsBundle).
type Recipient struct {
	JID    string
	Device uint32
	Bundle *Bundle
}

// NeedsBundle reports whether address has no session with jid's device.
func (m *Manager) NeedsBundle(ctx context.Context, address, jid string, dev uint32) (bool, error) {
	_, found, err := m.store.Session(ctx, address, strings.ToLower(jid), dev)
	return !found, err
}

// Encrypt encrypts plaintext from address to every recipient device
// (XEP-0384 v0.3 §4.5). A device whose session cannot be built (a bad
// bundle, a changed identity key) is left out and logged; if none is
// left, the error says why.
func (m *Manager) Encrypt(ctx context.Context, address string, recipients []Recipient, plaintext []byte) (*Encrypted, error) {
	d, err := m.device(ctx, address)
	if err != nil {
		return nil, err
	}
	payload, keyAndTag, iv, err := encryptPayload(plaintext)
	if err != nil {
		return nil, err
	}
	enc := &Encrypted{Header: Header{SID: d.id, IV: b64(iv)}, Payload: b64(payload)}
	var firstErr error
	for _, r := range recipients {
		k, err := m.encryptKey(ctx, d, r, keyAndTag)
		if err != nil {
			m.log.WarnContext(ctx, "omemo: device left out", "address", address, "device", r.Device, "err", err)
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		enc.Header.Keys = append(enc.Header.Keys, k)
	}
	if len(enc.Header.Keys) == 0 {
		return nil, fmt.Errorf("omemo: no recipient device could be encrypted to: %w", cmp.Or(firstErr, ErrNotForUs))
	}
	return enc, nil
}

func (m *Manager) encryptKey(ctx context.Context, d *device, r Recipient, keyAndTag []byte) (Key, error) {
	jid := strings.ToLower(r.JID)
	defer m.lock(d.address + "\n" + jid)()
	st := &signalStore{m: m, dev: d}
	remote := protocol.NewSignalAddress(jid, r.Device)
	builder := session.NewBuilder(st, st, st, st, remote, m.ser)
	if _, found, err := m.store.Session(ctx, d.address, jid, r.Device); err != nil {
		return Key{}, err
	} else if !found {
		if r.Bundle == nil {
			return Key{}, fmt.Errorf("omemo: no session with device %d of a correspondent at %s and no bundle", r.Device, domainOf(jid))
		}
		b, err := parseBundle(r.Bundle, r.Device)
		if err != nil {
			return Key{}, err
		}
		if err := builder.ProcessBundle(ctx, b); err != nil {
			return Key{}, redact(fmt.Errorf("omemo: session with device %d: %w", r.Device, err), jid)
		}
	}
	msg, err := session.NewCipher(builder, remote).Encrypt(ctx, keyAndTag)
	if err != nil {
		return Key{}, redact(err, jid)
	}
	return Key{RID: r.Device, PreKey: msg.Type() == protocol.PREKEY_TYPE, Value: b64(msg.Serialize())}, nil
}

// parseBundle turns a fetched bundle into libsignal's, choosing one of its
// one-time pre-keys at random (as XEP-0384 asks, so that two senders are
// unlikely to use the same one).
func parseBundle(b *Bundle, dev uint32) (*prekey.Bundle, error) {
	idk, err := decodeKey(b.IdentityKey, "identityKey")
	if err != nil {
		return nil, err
	}
	spk, err := decodeKey(b.SignedPreKeyPublic.Value, "signedPreKeyPublic")
	if err != nil {
		return nil, err
	}
	sigRaw, err := decodeB64(b.SignedPreKeySignature, "signedPreKeySignature")
	if err != nil || len(sigRaw) != 64 {
		return nil, fmt.Errorf("%w: signedPreKeySignature", ErrMalformed)
	}
	var sig [64]byte
	copy(sig[:], sigRaw)
	if !ecc.VerifySignature(idk, spk.Serialize(), sig) {
		return nil, fmt.Errorf("%w: the signed pre-key's signature does not verify", ErrMalformed)
	}
	if len(b.PreKeys) == 0 {
		return nil, fmt.Errorf("%w: the bundle has no one-time pre-keys", ErrMalformed)
	}
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	pk := b.PreKeys[int(binary.BigEndian.Uint32(rb[:])%uint32(len(b.PreKeys)))]
	pkPub, err := decodeKey(pk.Value, "preKeyPublic")
	if err != nil {
		return nil, err
	}
	return prekey.NewBundle(0, dev, optional.NewOptionalUint32(pk.ID), b.SignedPreKeyPublic.ID, pkPub, spk, sig,
		identity.NewKey(idk)), nil
}

func decodeKey(s, what string) (ecc.ECPublicKeyable, error) {
	raw, err := decodeB64(s, what)
	if err != nil {
		return nil, err
	}
	if len(raw) == 32 { // some clients omit the type byte
		raw = append([]byte{ecc.DjbType}, raw...)
	}
	if len(raw) != 33 {
		return nil, fmt.Errorf("%w: %s of %d bytes", ErrMalformed, what, len(raw))
	}
	k, err := ecc.DecodePoint(raw, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	return k, nil
}

// sameKey compares two serialized identity keys.
func sameKey(a, b []byte) bool { return bytes.Equal(a, b) }

// SessionDevices lists the devices of jid that address has a session
// with: the devices that wrote to it encrypted (or were written to).
func (m *Manager) SessionDevices(ctx context.Context, address, jid string) ([]uint32, error) {
	return m.store.SessionDevices(ctx, address, strings.ToLower(jid))
}

// WroteEncrypted reports whether jid has written to address encrypted
// and is still remembered for it: a session, or a device's identity key
// (kept after its session was dropped by a pin or lost, until retention
// forgets the correspondent). Messages to such a correspondent must be
// encrypted or not sent.
func (m *Manager) WroteEncrypted(ctx context.Context, address, jid string) (bool, error) {
	jid = strings.ToLower(jid)
	if devs, err := m.store.SessionDevices(ctx, address, jid); err != nil || len(devs) > 0 {
		return len(devs) > 0, err
	}
	devs, err := m.store.IdentityDevices(ctx, address, jid)
	return len(devs) > 0, err
}

// Pin makes fingerprint (as FormatFingerprint shows it, spaces allowed)
// the only identity key address accepts from jid's device; a session on
// another key is dropped, so the device must start a new one.
func (m *Manager) Pin(ctx context.Context, address, jid string, device uint32, fingerprint string) error {
	raw, err := hex.DecodeString(strings.ReplaceAll(strings.ReplaceAll(fingerprint, " ", ""), "-", ""))
	if err != nil || (len(raw) != 32 && len(raw) != 33) {
		return fmt.Errorf("omemo: a fingerprint is 64 hex digits (spaces allowed)")
	}
	if len(raw) == 32 {
		raw = append([]byte{ecc.DjbType}, raw...)
	}
	if _, err := ecc.DecodePoint(raw, 0); err != nil {
		return fmt.Errorf("omemo: %w", err)
	}
	if _, err := m.device(ctx, address); err != nil {
		return err
	}
	return m.store.PinIdentity(ctx, address, strings.ToLower(jid), device, raw)
}
