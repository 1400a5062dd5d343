package media

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		head string
		want string
	}{
		{"\xff\xd8\xff\xe0\x00\x10JFIF", TypeJPEG},
		{"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", TypePNG},
		{"RIFF\x10\x00\x00\x00WEBPVP8 ", TypeWebP},
		{"%PDF-1.7\n", TypePDF},
		{"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", TypeHEIC},
		{"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", TypeHEIC},
		{"\x00\x00\x00\x14ftypmif1\x00\x00\x00\x00mif1", TypeHEIF},
		{"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1avif", "image/avif"},
		{"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", TypeMP4},
		{"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", TypeMOV},
		{"MZ\x90\x00\x03\x00\x00\x00", "application/octet-stream"},
		{"PK\x03\x04\x14\x00", "application/zip"},
		{"<html><body>", "text/html; charset=utf-8"},
		{"\xff\xd8", "text/plain; charset=utf-8"}, // too short for JPEG: not allowed
	} {
		if got := Sniff([]byte(tc.head)); got != tc.want {
			t.Errorf("Sniff(%q) = %q, want %q", tc.head, got, tc.want)
		}
		if _, ok := Limit(DefaultTypes(), Sniff([]byte(tc.head))); ok && strings.HasPrefix(tc.head, "MZ") {
			t.Errorf("executable allowed by default")
		}
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	c, err := Config{Endpoint: "x:1", Bucket: "b"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.PartSize != DefaultPartSize || c.MaxConcurrent != DefaultMaxConcurrent || c.PresignTTL != DefaultPresignTTL || len(c.Types) != 7 {
		t.Errorf("defaults not applied: %+v", c)
	}
	if c.DerivativeMaxEdge != 1600 || c.ThumbMaxEdge != 320 || c.TeamCopyQuality != 80 {
		t.Errorf("team copy defaults: edge %d, thumbnail %d, quality %d; want 1600, 320, 80", c.DerivativeMaxEdge, c.ThumbMaxEdge, c.TeamCopyQuality)
	}
	for name, bad := range map[string]Config{
		"no endpoint":   {Bucket: "b"},
		"no bucket":     {Endpoint: "x:1"},
		"small part":    {Endpoint: "x:1", Bucket: "b", PartSize: 1 << 20},
		"zero limit":    {Endpoint: "x:1", Bucket: "b", Types: []TypeRule{{TypeJPEG, 0}}},
		"over 10k":      {Endpoint: "x:1", Bucket: "b", PartSize: 5 << 20, Types: []TypeRule{{TypeMP4, 60 << 30}}},
		"bad enc":       {Endpoint: "x:1", Bucket: "b", Encryption: "aes"},
		"sse-c no key":  {Endpoint: "x:1", Bucket: "b", Encryption: "sse-c"},
		"sse-c bad key": {Endpoint: "x:1", Bucket: "b", Encryption: "sse-c", SSECKey: "c2hvcnQ="},
		"ttl too long":  {Endpoint: "x:1", Bucket: "b", PresignTTL: 8 * 24 * time.Hour},
		"tiny copy":     {Endpoint: "x:1", Bucket: "b", DerivativeMaxEdge: 100},
		"huge copy":     {Endpoint: "x:1", Bucket: "b", DerivativeMaxEdge: 10000},
		"thumb > copy":  {Endpoint: "x:1", Bucket: "b", DerivativeMaxEdge: 400, ThumbMaxEdge: 500},
		"quality 101":   {Endpoint: "x:1", Bucket: "b", TeamCopyQuality: 101},
		"quality < 0":   {Endpoint: "x:1", Bucket: "b", TeamCopyQuality: -5},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestKeys(t *testing.T) {
	now := time.Date(2026, 11, 22, 23, 30, 0, 0, time.FixedZone("CET", 3600))
	k := newKey(PrefixOriginal, now)
	if !strings.HasPrefix(k, "orig/2026/11/") || validKey(k) != nil {
		t.Errorf("newKey = %q", k)
	}
	if k2 := newKey(PrefixOriginal, now); k2 == k {
		t.Error("keys repeat")
	}
	for _, bad := range []string{"", "orig/2026/11/../../x", "public/2026/11/" + k[13:], k + "/x", "orig/2026/11/photo.jpg"} {
		if !errors.Is(validKey(bad), ErrInvalidKey) {
			t.Errorf("validKey(%q) accepted", bad)
		}
	}
}

// blockingReader blocks until release is closed.
type blockingReader struct{ release chan struct{} }

func (b blockingReader) Read(p []byte) (int, error) { <-b.release; return 0, io.EOF }

func TestPutConcurrencyCap(t *testing.T) {
	s := &Store{sem: make(chan struct{}, 1), cfg: Config{Now: time.Now}}
	release := make(chan struct{})
	started := make(chan struct{})
	go func() {
		s.sem <- struct{}{} // hold the only slot, as a running upload does
		close(started)
		<-release
		<-s.sem
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Put(ctx, blockingReader{release})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "upload slot") {
		t.Fatalf("Put with all slots busy = %v, want a context error while waiting for a slot", err)
	}
	close(release)
}
