package omemo

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
)

// MaxEncryptedFileBytes caps one aesgcm:// file: AES-GCM authenticates
// only at the end, so the ciphertext is held in memory until its tag has
// been checked, and nothing unverified is ever stored.
const MaxEncryptedFileBytes = 32 << 20

// aesgcmRe finds XEP-0454 links: aesgcm://host/path#<iv><key> in hex,
// with a 12-byte IV (24 digits; 16-byte IVs, 32 digits, from older
// clients) and a 32-byte key (64 digits).
var aesgcmRe = regexp.MustCompile(`aesgcm://[^\s<>"]+#[0-9A-Fa-f]{88,96}`)

// FileLink is an aesgcm:// link split into the https URL to download and
// the key material from its fragment.
type FileLink struct {
	Raw   string // the link as it was in the text
	HTTPS string
	iv    []byte
	key   []byte
}

// FindFileLinks returns the XEP-0454 links in a decrypted body, each
// distinct link once (a link repeated in the text is one file, downloaded
// once), in the order they first appear.
func FindFileLinks(body string) []FileLink {
	var out []FileLink
	seen := map[string]bool{}
	for _, raw := range aesgcmRe.FindAllString(body, -1) {
		if seen[raw] {
			continue
		}
		if l, err := ParseFileLink(raw); err == nil {
			seen[raw] = true
			out = append(out, l)
		}
	}
	return out
}

// ParseFileLink splits one aesgcm:// link (XEP-0454 §3).
func ParseFileLink(raw string) (FileLink, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "aesgcm" || u.Host == "" || u.User != nil {
		return FileLink{}, fmt.Errorf("%w: not an aesgcm link", ErrMalformed)
	}
	frag, err := hex.DecodeString(u.Fragment)
	if err != nil {
		return FileLink{}, fmt.Errorf("%w: aesgcm fragment is not hex", ErrMalformed)
	}
	var iv, key []byte
	switch len(frag) {
	case 12 + 32:
		iv, key = frag[:12], frag[12:]
	case 16 + 32:
		iv, key = frag[:16], frag[16:]
	default:
		return FileLink{}, fmt.Errorf("%w: aesgcm fragment of %d bytes", ErrMalformed, len(frag))
	}
	u.Scheme, u.Fragment = "https", ""
	return FileLink{Raw: raw, HTTPS: u.String(), iv: iv, key: key}, nil
}

// Open reads the whole ciphertext (at most MaxEncryptedFileBytes plus the
// tag) from r and returns the plaintext once the GCM tag verified; a
// tampered or truncated file is refused with ErrUndecryptable.
func (l FileLink) Open(r io.Reader) ([]byte, error) {
	ct, err := io.ReadAll(io.LimitReader(r, MaxEncryptedFileBytes+16+1))
	if err != nil {
		return nil, err
	}
	if len(ct) > MaxEncryptedFileBytes+16 {
		return nil, fmt.Errorf("%w: encrypted file larger than %d MiB", ErrMalformed, MaxEncryptedFileBytes>>20)
	}
	block, err := aes.NewCipher(l.key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(l.iv))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	pt, err := gcm.Open(nil, l.iv, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: the file's authentication tag does not match", ErrUndecryptable)
	}
	return pt, nil
}

// StripFileLinks removes the links from a body (they are attachments now).
func StripFileLinks(body string, links []FileLink) string {
	for _, l := range links {
		body = strings.ReplaceAll(body, l.Raw, "")
	}
	return strings.TrimSpace(body)
}

// SealedFile is a file encrypted for an aesgcm:// link (XEP-0454 §3): the
// ciphertext with its 16-byte GCM tag appended, to upload, and the
// fragment (hex of the 12-byte IV and the 32-byte AES-256 key) that turns
// the upload's download URL into the link.
type SealedFile struct {
	Ciphertext []byte
	fragment   string
}

// SealFile encrypts plaintext with a fresh AES-256-GCM key and 12-byte IV
// read from random (crypto/rand.Reader in production). The key exists
// only inside the returned value: once the link is sent, nothing keeps it.
func SealFile(random io.Reader, plaintext []byte) (SealedFile, error) {
	secret := make([]byte, 12+32)
	if _, err := io.ReadFull(random, secret); err != nil {
		return SealedFile{}, fmt.Errorf("omemo: file key: %w", err)
	}
	iv, key := secret[:12], secret[12:]
	block, err := aes.NewCipher(key)
	if err != nil {
		return SealedFile{}, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return SealedFile{}, err
	}
	return SealedFile{Ciphertext: gcm.Seal(nil, iv, plaintext, nil), fragment: hex.EncodeToString(secret)}, nil
}

// Link returns the aesgcm:// link for the ciphertext uploaded to getURL,
// the download URL of an XEP-0363 slot (https; plain http is accepted for
// loopback dev services, whose links then name http hosts).
func (f SealedFile) Link(getURL string) (string, error) {
	u, err := url.Parse(getURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return "", fmt.Errorf("%w: upload download URL is not a plain http(s) URL", ErrMalformed)
	}
	u.Scheme = "aesgcm"
	u.Fragment = f.fragment
	return u.String(), nil
}
