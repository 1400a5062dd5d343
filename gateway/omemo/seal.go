package omemo

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Sealer encrypts key material at rest with AES-256-GCM. The associated
// data binds each value to its place (table and row), so a sealed value
// copied to another row does not open.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer takes a 32-byte key, given as 64 hex digits or base64 (as
// FIELDGATE_OMEMO_KEY or the content of FIELDGATE_OMEMO_KEY_FILE).
func NewSealer(key string) (*Sealer, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, ErrNoKey
	}
	raw, err := hex.DecodeString(key)
	if err != nil || len(raw) != 32 {
		raw, err = base64.StdEncoding.DecodeString(key)
	}
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("omemo: the key must be 32 bytes as 64 hex digits or base64 (e.g. openssl rand -hex 32)")
	}
	block, _ := aes.NewCipher(raw)
	aead, _ := cipher.NewGCM(block)
	return &Sealer{aead: aead}, nil
}

func (s *Sealer) seal(plain []byte, place string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("omemo: no randomness: " + err.Error())
	}
	return s.aead.Seal(nonce, nonce, plain, []byte(place))
}

func (s *Sealer) open(sealed []byte, place string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("omemo: sealed value of %s too short", place)
	}
	p, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(place))
	if err != nil {
		return nil, fmt.Errorf("omemo: sealed value of %s does not open (wrong FIELDGATE_OMEMO_KEY?)", place)
	}
	return p, nil
}
