package omemo

import (
	"encoding/binary"
	"fmt"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/state/record"
)

// Pre-key records are stored in a format of our own, not libsignal's
// record serialization: libsignal v0.2.1 writes a record's public key with
// its type byte (33 bytes) but reads back only 32, so a deserialized
// record carries a wrong public key (a signed pre-key then fails its
// signature check, and X3DH fails). The private key is all that is
// needed: the public key is derived from it.

// encodePreKey stores the 32-byte private key.
func encodePreKey(r *record.PreKey) []byte {
	priv := r.KeyPair().PrivateKey().Serialize()
	return priv[:]
}

func decodePreKey(id uint32, raw []byte, ser *serialize.Serializer) (*record.PreKey, error) {
	if len(raw) != 32 {
		return nil, fmt.Errorf("omemo: pre-key %d record of %d bytes", id, len(raw))
	}
	return record.NewPreKey(id, ecc.CreateKeyPair(raw), ser.PreKeyRecord), nil
}

// encodeSignedPreKey stores timestamp (8 bytes, big endian, as libsignal
// sets it), private key (32) and signature (64).
func encodeSignedPreKey(r *record.SignedPreKey) []byte {
	out := binary.BigEndian.AppendUint64(nil, uint64(r.Timestamp()))
	priv := r.KeyPair().PrivateKey().Serialize()
	sig := r.Signature()
	return append(append(out, priv[:]...), sig[:]...)
}

func decodeSignedPreKey(id uint32, raw []byte, ser *serialize.Serializer) (*record.SignedPreKey, error) {
	if len(raw) != 8+32+64 {
		return nil, fmt.Errorf("omemo: signed pre-key %d record of %d bytes", id, len(raw))
	}
	var sig [64]byte
	copy(sig[:], raw[40:])
	return record.NewSignedPreKey(id, int64(binary.BigEndian.Uint64(raw[:8])), ecc.CreateKeyPair(raw[8:40]), sig, ser.SignedPreKeyRecord), nil
}
