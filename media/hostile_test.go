package media

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// fuzzCorpus returns the committed fuzz inputs (crashers found so far).
func fuzzCorpus(t testing.TB) map[string][]byte {
	t.Helper()
	paths, _ := filepath.Glob("testdata/fuzz/FuzzExtract/*")
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		v, err := decodeCorpusFile(b)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out["fuzz/"+filepath.Base(p)] = v
	}
	return out
}

// TestStoreHostileInputs stores broken and crafted files, reads their
// metadata back from S3 and makes team copies: nothing may panic, hang or
// fail the store; metadata problems end as "no position".
func TestStoreHostileInputs(t *testing.T) {
	s := newTestStore(t, nil)
	ctx := context.Background()
	inputs := map[string][]byte{
		"crafted loop":           craftedLoop(),
		"crafted count overflow": craftedCountOverflow(),
		"crafted panics":         craftedPanics(),
	}
	for _, n := range []string{"truncated.jpg", "xmp_gps_only.jpg", "gps_no_refs.jpg", "serial_owner.jpg"} {
		b, err := os.ReadFile(testsvc.Photo(t, n))
		if err != nil {
			t.Fatal(err)
		}
		inputs[n] = b
	}
	full, err := os.ReadFile(testsvc.Photo(t, "gps_ne.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	inputs["truncated gps_ne.jpg"] = full[:len(full)/3]
	inputs["truncated in EXIF"] = full[:5000]
	corrupt, _ := filepath.Glob("testdata/goexif-corrupt/*.jpg")
	for _, p := range corrupt {
		b, _ := os.ReadFile(p)
		inputs["goexif "+filepath.Base(p)] = b
	}
	fuzzed := fuzzCorpus(t)
	if len(fuzzed) == 0 {
		t.Fatal("no fuzz-found inputs committed")
	}
	for k, v := range fuzzed {
		inputs[k] = v
	}
	stored := 0
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			obj, err := s.Put(ctx, bytes.NewReader(data))
			if errors.Is(err, ErrTypeNotAllowed) {
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			stored++
			md, err := s.ReadMetadata(ctx, obj)
			if err != nil {
				t.Fatalf("ReadMetadata: %v", err)
			}
			if md.Position == nil && md.NoPositionReason == "" {
				t.Error("no position and no reason")
			}
			d, err := s.MakeDerivative(ctx, obj, md)
			switch {
			case err == nil:
				if d.Size == 0 {
					t.Error("empty derivative")
				}
			case errors.Is(err, ErrNoDerivative):
				t.Logf("no team copy: %v", err)
			default:
				t.Errorf("MakeDerivative: %v", err)
			}
		})
	}
	if stored < len(inputs)-len(fuzzed) {
		t.Errorf("only %d of %d JPEG inputs stored", stored, len(inputs))
	}
}

// TestEncryptionDegrades checks requested-but-unsupported encryption is
// reported (or fatal with RequireEncryption), never silently ignored, on a
// MinIO of the test's own without a KMS and without TLS (the shared test
// MinIO has a KMS key, so SSE-S3 works there as with a town's KMS).
func TestEncryptionDegrades(t *testing.T) {
	own := testsvc.OwnS3(t, false)
	onOwn := func(c *Config) { c.Endpoint, c.AccessKey, c.SecretKey = own.Endpoint, own.AccessKey, own.SecretKey }
	s := newTestStore(t, func(c *Config) { onOwn(c); c.Encryption = "sse-s3" })
	if on, note := s.Encrypted(); on || !strings.Contains(note, "KMS") {
		t.Errorf("sse-s3 without a KMS: encrypted=%v note=%q, want off with the server's reason", on, note)
	}
	_, err := New(context.Background(), Config{Endpoint: own.Endpoint, AccessKey: own.AccessKey, SecretKey: own.SecretKey,
		Bucket: s.cfg.Bucket, Encryption: "sse-s3", RequireEncryption: true}, nil)
	if !errors.Is(err, ErrEncryptionUnavailable) || !strings.Contains(err.Error(), "KMS") {
		t.Errorf("RequireEncryption: New = %v, want ErrEncryptionUnavailable with the server's reason", err)
	}
	c := newTestStore(t, func(c *Config) {
		onOwn(c)
		c.Encryption, c.SSECKey = "sse-c", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	})
	if on, note := c.Encrypted(); on || !strings.Contains(note, "TLS") {
		t.Errorf("sse-c over plain HTTP: encrypted=%v note=%q, want off with a TLS note", on, note)
	}
	// The shared test MinIO encrypts with SSE-S3 (deploy/dev/services).
	if on, note := newTestStore(t, func(c *Config) { c.Encryption, c.RequireEncryption = "sse-s3", true }).Encrypted(); !on {
		t.Errorf("sse-s3 on the test MinIO: off (%s); deploy/dev/services gives it a KMS key", note)
	}
}
