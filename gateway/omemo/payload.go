package omemo

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Errors of this package; match with errors.Is.
var (
	ErrMalformed     = errors.New("omemo: malformed message")
	ErrNotForUs      = errors.New("omemo: message not encrypted for this device")
	ErrUndecryptable = errors.New("omemo: message cannot be decrypted")
	ErrNoKey         = errors.New("omemo: no key configured")
)

// KeyChangedError is a message from a device whose identity key is not
// the one the gateway trusts for it: the key it showed first (blind trust
// on first use), or the one an admin pinned with `fieldgate omemo trust`.
// A reinstalled messenger that kept its device id, or an attacker, sends
// such messages; none is opened until an admin pins the new key.
// Fingerprint is the new key as clients show it (FormatFingerprint), ""
// when the message did not present it (only pre-key messages do).
type KeyChangedError struct {
	Device      uint32
	Fingerprint string
}

func (e *KeyChangedError) Error() string {
	return fmt.Sprintf("omemo: identity key of device %d changed", e.Device)
}

// encryptPayload encrypts plaintext with a fresh AES-128-GCM key and a
// 12-byte IV, as OMEMO 0.3 clients do: the payload is the ciphertext
// without the tag, and key||tag (32 bytes) is what the Signal session of
// each recipient device carries (XEP-0384 v0.3 §4.5).
func encryptPayload(plaintext []byte) (payload, keyAndTag, iv []byte, err error) {
	key := make([]byte, 16)
	iv = make([]byte, 12)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, nil, err
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, nil, nil, err
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	sealed := gcm.Seal(nil, iv, plaintext, nil)
	n := len(sealed) - gcm.Overhead()
	return sealed[:n], append(key, sealed[n:]...), iv, nil
}

// decryptPayload reverses encryptPayload. keyAndTag is 16 bytes of key
// and 16 of tag (older clients sent the key alone, with the tag appended
// to the payload: both are accepted); IVs of 12 and 16 bytes are read.
func decryptPayload(payload, keyAndTag, iv []byte) ([]byte, error) {
	var key, tag []byte
	switch len(keyAndTag) {
	case 32:
		key, tag = keyAndTag[:16], keyAndTag[16:]
	case 16:
		key = keyAndTag
	default:
		return nil, fmt.Errorf("%w: key material of %d bytes", ErrMalformed, len(keyAndTag))
	}
	if len(iv) != 12 && len(iv) != 16 {
		return nil, fmt.Errorf("%w: IV of %d bytes", ErrMalformed, len(iv))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(iv))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	ct := append(append([]byte(nil), payload...), tag...)
	pt, err := gcm.Open(nil, iv, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: payload authentication failed", ErrUndecryptable)
	}
	return pt, nil
}
