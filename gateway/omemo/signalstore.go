package omemo

import (
	"context"
	"errors"
	"fmt"

	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/state/store"
)

// signalStore adapts the Manager's sealed store to libsignal's store
// interfaces for one address's device.
type signalStore struct {
	m   *Manager
	dev *device
}

var (
	_ store.IdentityKey  = (*signalStore)(nil)
	_ store.PreKey       = (*signalStore)(nil)
	_ store.SignedPreKey = (*signalStore)(nil)
	_ store.Session      = (*signalStore)(nil)
)

var errNoPreKey = errors.New("omemo: no such pre-key (used already?)")

func (s *signalStore) GetIdentityKeyPair() *identity.KeyPair { return s.dev.keys }
func (s *signalStore) GetLocalRegistrationID() uint32        { return s.dev.reg }

func (s *signalStore) SaveIdentity(ctx context.Context, a *protocol.SignalAddress, k *identity.Key) error {
	return s.m.store.PutIdentity(ctx, s.dev.address, a.Name(), a.DeviceID(), k.Serialize())
}

// IsTrustedIdentity is blind trust before verification: the first key a
// device shows is kept; a different key later for the same device is not
// trusted (a re-installed client gets a new device id).
func (s *signalStore) IsTrustedIdentity(ctx context.Context, a *protocol.SignalAddress, k *identity.Key) (bool, error) {
	known, found, err := s.m.store.Identity(ctx, s.dev.address, a.Name(), a.DeviceID())
	if err != nil {
		return false, err
	}
	return !found || sameKey(known, k.Serialize()), nil
}

func (s *signalStore) LoadPreKey(ctx context.Context, id uint32) (*record.PreKey, error) {
	all, err := s.m.store.PreKeys(ctx, s.dev.address)
	if err != nil {
		return nil, err
	}
	sealed, ok := all[id]
	if !ok {
		return nil, fmt.Errorf("%w: %d", errNoPreKey, id)
	}
	return s.m.openPreKey(s.dev.address, id, sealed)
}

func (s *signalStore) StorePreKey(ctx context.Context, id uint32, r *record.PreKey) error {
	return s.m.store.PutPreKey(ctx, s.dev.address, id, s.m.sealer.seal(encodePreKey(r), placePK(s.dev.address, id)))
}

func (s *signalStore) ContainsPreKey(ctx context.Context, id uint32) (bool, error) {
	all, err := s.m.store.PreKeys(ctx, s.dev.address)
	if err != nil {
		return false, err
	}
	_, ok := all[id]
	return ok, nil
}

func (s *signalStore) RemovePreKey(ctx context.Context, id uint32) error {
	return s.m.store.DeletePreKey(ctx, s.dev.address, id)
}

func (s *signalStore) LoadSignedPreKey(ctx context.Context, id uint32) (*record.SignedPreKey, error) {
	all, err := s.m.signedPreKeys(ctx, s.dev.address)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if r.ID() == id {
			return r, nil
		}
	}
	return nil, fmt.Errorf("omemo: no signed pre-key %d", id)
}

func (s *signalStore) LoadSignedPreKeys(ctx context.Context) ([]*record.SignedPreKey, error) {
	return s.m.signedPreKeys(ctx, s.dev.address)
}

func (s *signalStore) StoreSignedPreKey(ctx context.Context, id uint32, r *record.SignedPreKey) error {
	return s.m.store.PutSignedPreKey(ctx, s.dev.address, id, s.m.sealer.seal(encodeSignedPreKey(r), placeSPK(s.dev.address, id)))
}

func (s *signalStore) ContainsSignedPreKey(ctx context.Context, id uint32) (bool, error) {
	_, err := s.LoadSignedPreKey(ctx, id)
	return err == nil, nil
}

func (s *signalStore) RemoveSignedPreKey(ctx context.Context, id uint32) error {
	return s.m.store.DeleteSignedPreKey(ctx, s.dev.address, id)
}

func (s *signalStore) LoadSession(ctx context.Context, a *protocol.SignalAddress) (*record.Session, error) {
	sealed, found, err := s.m.store.Session(ctx, s.dev.address, a.Name(), a.DeviceID())
	if err != nil {
		return nil, err
	}
	if !found {
		return record.NewSession(s.m.ser.Session, s.m.ser.State), nil
	}
	raw, err := s.m.sealer.open(sealed, placeSession(s.dev.address, a.Name(), a.DeviceID()))
	if err != nil {
		return nil, err
	}
	return record.NewSessionFromBytes(raw, s.m.ser.Session, s.m.ser.State)
}

func (s *signalStore) GetSubDeviceSessions(ctx context.Context, name string) ([]uint32, error) {
	return s.m.store.SessionDevices(ctx, s.dev.address, name)
}

func (s *signalStore) StoreSession(ctx context.Context, a *protocol.SignalAddress, r *record.Session) error {
	return s.m.store.PutSession(ctx, s.dev.address, a.Name(), a.DeviceID(),
		s.m.sealer.seal(r.Serialize(), placeSession(s.dev.address, a.Name(), a.DeviceID())))
}

func (s *signalStore) ContainsSession(ctx context.Context, a *protocol.SignalAddress) (bool, error) {
	_, found, err := s.m.store.Session(ctx, s.dev.address, a.Name(), a.DeviceID())
	return found, err
}

func (s *signalStore) DeleteSession(ctx context.Context, a *protocol.SignalAddress) error {
	return s.m.store.DeleteSession(ctx, s.dev.address, a.Name(), a.DeviceID())
}

func (s *signalStore) DeleteAllSessions(context.Context) error {
	return errors.New("omemo: deleting all sessions of an address is not supported")
}
