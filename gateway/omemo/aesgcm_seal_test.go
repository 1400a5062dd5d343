package omemo

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

// TestSealFileRoundTrip: a sealed team copy opens with the key from its
// own link, every file gets a fresh key and IV, and a changed byte fails
// the tag check.
func TestSealFileRoundTrip(t *testing.T) {
	plain := []byte("\xff\xd8\xff team copy bytes")
	a, err := SealFile(rand.Reader, plain)
	if err != nil {
		t.Fatal(err)
	}
	b, err := SealFile(rand.Reader, plain)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Ciphertext, b.Ciphertext) || a.fragment == b.fragment {
		t.Fatal("two seals of the same file share key material")
	}
	if len(a.Ciphertext) != len(plain)+16 || bytes.Contains(a.Ciphertext, plain[3:]) {
		t.Fatalf("ciphertext of %d bytes (want plaintext + 16-byte tag), or it shows the plaintext", len(a.Ciphertext))
	}
	link, err := a.Link("https://upload.stadt.example/share/8f3a/c0ffee.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, "aesgcm://upload.stadt.example/share/8f3a/c0ffee.jpg#") || len(link[strings.Index(link, "#")+1:]) != 88 {
		t.Fatalf("link %q: want aesgcm:// with an 88-digit fragment (12-byte IV, 32-byte key)", link)
	}
	l, err := ParseFileLink(link)
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.Open(bytes.NewReader(a.Ciphertext))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open own link: %q %v", got, err)
	}
	if _, err := l.Open(bytes.NewReader(b.Ciphertext)); !errors.Is(err, ErrUndecryptable) {
		t.Errorf("another file under this link's key: %v, want ErrUndecryptable", err)
	}
	for _, bad := range []string{"", "ftp://host/x", "https://user@host/x", "https://host/x#frag", "https:///x"} {
		if _, err := a.Link(bad); err == nil {
			t.Errorf("Link(%q) accepted", bad)
		}
	}
}

func TestSealFileNoRandomness(t *testing.T) {
	if _, err := SealFile(bytes.NewReader(make([]byte, 10)), []byte("x")); err == nil {
		t.Fatal("sealed with 10 random bytes for a 44-byte key and IV")
	}
}

// BenchmarkSealFile seals a 300 KB team copy (a phone photo's team copy
// is of that size) for an aesgcm:// link: fresh key and IV, AES-256-GCM.
// BenchmarkSealFileFloor is the raw floor in the same run: AES-256-GCM
// with a fixed key, nothing else.
func BenchmarkSealFile(b *testing.B) {
	plain := make([]byte, 300<<10)
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		if _, err := SealFile(rand.Reader, plain); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealFileFloor(b *testing.B) {
	plain := make([]byte, 300<<10)
	block, _ := aes.NewCipher(make([]byte, 32))
	gcm, _ := cipher.NewGCM(block)
	iv := make([]byte, 12)
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		_ = gcm.Seal(nil, iv, plain, nil)
	}
}
