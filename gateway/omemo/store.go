package omemo

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ownKeys is an address's own device. IdentityPrivate is sealed.
type ownKeys struct {
	DeviceID        uint32
	RegistrationID  uint32
	IdentityPublic  []byte // serialized (0x05 || 32 bytes)
	IdentityPrivate []byte // sealed 32 bytes
	NextPreKeyID    uint32
}

// keyStore persists each address's keys and sessions. Values passed as
// "sealed" are sealed by the Manager before they get here.
type keyStore interface {
	Own(ctx context.Context, address string) (ownKeys, bool, error)
	// CreateOwn stores own unless the address has keys already (another
	// replica won the race); it returns the keys in force.
	CreateOwn(ctx context.Context, address string, own ownKeys) (ownKeys, error)
	SetNextPreKeyID(ctx context.Context, address string, next uint32) error

	PreKeys(ctx context.Context, address string) (map[uint32][]byte, error)
	PutPreKey(ctx context.Context, address string, id uint32, sealed []byte) error
	DeletePreKey(ctx context.Context, address string, id uint32) error

	SignedPreKeys(ctx context.Context, address string) (map[uint32][]byte, error)
	PutSignedPreKey(ctx context.Context, address string, id uint32, sealed []byte) error
	DeleteSignedPreKey(ctx context.Context, address string, id uint32) error

	Session(ctx context.Context, address, jid string, device uint32) ([]byte, bool, error)
	PutSession(ctx context.Context, address, jid string, device uint32, sealed []byte) error
	DeleteSession(ctx context.Context, address, jid string, device uint32) error
	SessionDevices(ctx context.Context, address, jid string) ([]uint32, error)

	// Identity is a remote device's identity key as first seen (blind
	// trust on first use) and whether an admin pinned it.
	Identity(ctx context.Context, address, jid string, device uint32) (key []byte, found bool, err error)
	// IdentityDevices lists jid's devices whose identity key is kept.
	IdentityDevices(ctx context.Context, address, jid string) ([]uint32, error)
	PutIdentity(ctx context.Context, address, jid string, device uint32, key []byte) error
	// PinIdentity sets the key an admin verified; a session built on
	// another key is dropped.
	PinIdentity(ctx context.Context, address, jid string, device uint32, key []byte) error
}

// PG keeps OMEMO state in PostgreSQL (migration 00011).
type PG struct{ pool *pgxpool.Pool }

var _ keyStore = (*PG)(nil)

// NewPG returns the PostgreSQL store.
func NewPG(pool *pgxpool.Pool) *PG { return &PG{pool: pool} }

func (p *PG) Own(ctx context.Context, address string) (ownKeys, bool, error) {
	var o ownKeys
	var dev, reg, next int64
	err := p.pool.QueryRow(ctx, `SELECT device_id, registration_id, identity_public, identity_private, next_prekey_id
		FROM omemo_devices WHERE address = $1`, address).Scan(&dev, &reg, &o.IdentityPublic, &o.IdentityPrivate, &next)
	if errors.Is(err, pgx.ErrNoRows) {
		return ownKeys{}, false, nil
	}
	if err != nil {
		return ownKeys{}, false, fmt.Errorf("load omemo device of %s: %w", address, err)
	}
	o.DeviceID, o.RegistrationID, o.NextPreKeyID = uint32(dev), uint32(reg), uint32(next)
	return o, true, nil
}

func (p *PG) CreateOwn(ctx context.Context, address string, o ownKeys) (ownKeys, error) {
	if _, err := p.pool.Exec(ctx, `INSERT INTO omemo_devices (address, device_id, registration_id, identity_public, identity_private, next_prekey_id, created_at)
		VALUES ($1,$2,$3,$4,$5,$6, now()) ON CONFLICT (address) DO NOTHING`,
		address, int64(o.DeviceID), int64(o.RegistrationID), o.IdentityPublic, o.IdentityPrivate, int64(o.NextPreKeyID)); err != nil {
		return ownKeys{}, fmt.Errorf("create omemo device of %s: %w", address, err)
	}
	got, _, err := p.Own(ctx, address)
	return got, err
}

func (p *PG) SetNextPreKeyID(ctx context.Context, address string, next uint32) error {
	_, err := p.pool.Exec(ctx, `UPDATE omemo_devices SET next_prekey_id = $2 WHERE address = $1`, address, int64(next))
	return err
}

func (p *PG) keyMap(ctx context.Context, table, address string) (map[uint32][]byte, error) {
	rows, err := p.pool.Query(ctx, `SELECT id, record FROM `+table+` WHERE address = $1`, address)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", table, err)
	}
	defer rows.Close()
	out := map[uint32][]byte{}
	for rows.Next() {
		var id int64
		var rec []byte
		if err := rows.Scan(&id, &rec); err != nil {
			return nil, err
		}
		out[uint32(id)] = rec
	}
	return out, rows.Err()
}

func (p *PG) PreKeys(ctx context.Context, address string) (map[uint32][]byte, error) {
	return p.keyMap(ctx, "omemo_prekeys", address)
}

func (p *PG) PutPreKey(ctx context.Context, address string, id uint32, sealed []byte) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO omemo_prekeys (address, id, record) VALUES ($1,$2,$3)
		ON CONFLICT (address, id) DO UPDATE SET record = excluded.record`, address, int64(id), sealed)
	return err
}

func (p *PG) DeletePreKey(ctx context.Context, address string, id uint32) error {
	_, err := p.pool.Exec(ctx, `DELETE FROM omemo_prekeys WHERE address = $1 AND id = $2`, address, int64(id))
	return err
}

func (p *PG) SignedPreKeys(ctx context.Context, address string) (map[uint32][]byte, error) {
	return p.keyMap(ctx, "omemo_signed_prekeys", address)
}

func (p *PG) PutSignedPreKey(ctx context.Context, address string, id uint32, sealed []byte) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO omemo_signed_prekeys (address, id, record, created_at) VALUES ($1,$2,$3, now())
		ON CONFLICT (address, id) DO UPDATE SET record = excluded.record`, address, int64(id), sealed)
	return err
}

func (p *PG) DeleteSignedPreKey(ctx context.Context, address string, id uint32) error {
	_, err := p.pool.Exec(ctx, `DELETE FROM omemo_signed_prekeys WHERE address = $1 AND id = $2`, address, int64(id))
	return err
}

func (p *PG) Session(ctx context.Context, address, jid string, device uint32) ([]byte, bool, error) {
	var rec []byte
	err := p.pool.QueryRow(ctx, `SELECT record FROM omemo_sessions WHERE address = $1 AND jid = $2 AND device_id = $3`,
		address, jid, int64(device)).Scan(&rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return rec, err == nil, err
}

func (p *PG) PutSession(ctx context.Context, address, jid string, device uint32, sealed []byte) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO omemo_sessions (address, jid, device_id, record, updated_at) VALUES ($1,$2,$3,$4, now())
		ON CONFLICT (address, jid, device_id) DO UPDATE SET record = excluded.record, updated_at = now()`, address, jid, int64(device), sealed)
	return err
}

func (p *PG) DeleteSession(ctx context.Context, address, jid string, device uint32) error {
	_, err := p.pool.Exec(ctx, `DELETE FROM omemo_sessions WHERE address = $1 AND jid = $2 AND device_id = $3`, address, jid, int64(device))
	return err
}

func (p *PG) SessionDevices(ctx context.Context, address, jid string) ([]uint32, error) {
	return p.devices(ctx, `SELECT device_id FROM omemo_sessions WHERE address = $1 AND jid = $2 ORDER BY device_id`, address, jid)
}

// IdentityDevices lists jid's devices whose identity key address keeps
// (first seen, or pinned).
func (p *PG) IdentityDevices(ctx context.Context, address, jid string) ([]uint32, error) {
	return p.devices(ctx, `SELECT device_id FROM omemo_identities WHERE address = $1 AND jid = $2 ORDER BY device_id`, address, jid)
}

func (p *PG) devices(ctx context.Context, query, address, jid string) ([]uint32, error) {
	rows, err := p.pool.Query(ctx, query, address, jid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		out = append(out, uint32(d))
	}
	return out, rows.Err()
}

func (p *PG) Identity(ctx context.Context, address, jid string, device uint32) ([]byte, bool, error) {
	var key []byte
	err := p.pool.QueryRow(ctx, `SELECT identity_key FROM omemo_identities WHERE address = $1 AND jid = $2 AND device_id = $3`,
		address, jid, int64(device)).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return key, err == nil, err
}

func (p *PG) PutIdentity(ctx context.Context, address, jid string, device uint32, key []byte) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO omemo_identities (address, jid, device_id, identity_key, first_seen) VALUES ($1,$2,$3,$4, now())
		ON CONFLICT (address, jid, device_id) DO NOTHING`, address, jid, int64(device), key)
	return err
}

func (p *PG) PinIdentity(ctx context.Context, address, jid string, device uint32, key []byte) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	var old []byte
	err = tx.QueryRow(ctx, `SELECT identity_key FROM omemo_identities WHERE address = $1 AND jid = $2 AND device_id = $3 FOR UPDATE`,
		address, jid, int64(device)).Scan(&old)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if old != nil && string(old) != string(key) {
		if _, err := tx.Exec(ctx, `DELETE FROM omemo_sessions WHERE address = $1 AND jid = $2 AND device_id = $3`, address, jid, int64(device)); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO omemo_identities (address, jid, device_id, identity_key, first_seen, pinned) VALUES ($1,$2,$3,$4, now(), true)
		ON CONFLICT (address, jid, device_id) DO UPDATE SET identity_key = excluded.identity_key, pinned = true`, address, jid, int64(device), key); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
