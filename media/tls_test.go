package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestTLSStore runs Put/ReadMetadata/derivative and SSE-C against an S3
// over TLS, where minio-go signs and checksums differently than over plain
// HTTP. It starts a MinIO of its own with a certificate it makes
// (FIELDGATE_TEST_MINIO_BIN, the binary `deploy/dev/services` runs), or
// uses MEDIA_TEST_S3_TLS_ENDPOINT and MEDIA_TEST_S3_TLS_CA (PEM) with the
// keys of FIELDGATE_TEST_S3_*.
func TestTLSStore(t *testing.T) {
	env := testS3(t)
	ep, caFile := os.Getenv("MEDIA_TEST_S3_TLS_ENDPOINT"), os.Getenv("MEDIA_TEST_S3_TLS_CA")
	var pemBytes []byte
	if ep == "" || caFile == "" {
		own := testsvc.OwnS3(t, true)
		ep, pemBytes = own.Endpoint, own.CertPEM
	} else {
		var err error
		if pemBytes, err = os.ReadFile(caFile); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in CA file")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	for _, enc := range []string{"", "sse-c"} {
		t.Run("encryption="+enc, func(t *testing.T) {
			cfg := Config{Endpoint: ep, UseTLS: true, AccessKey: env.AccessKey, SecretKey: env.SecretKey,
				Bucket: randomBucket(), Transport: tr, PartSize: 5 << 20,
				Encryption: enc, SSECKey: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", RequireEncryption: enc != ""}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := New(ctx, cfg, nil)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			t.Cleanup(func() { removeBucket(t, s.client, cfg.Bucket) })
			photo, err := os.ReadFile(testsvc.Photo(t, "gps_ne.jpg"))
			if err != nil {
				t.Fatal(err)
			}
			big := append(append([]byte{}, photo...), make([]byte, 11<<20)...) // multipart
			for _, body := range [][]byte{photo, big} {
				obj, err := s.Put(ctx, bytes.NewReader(body))
				if err != nil {
					t.Fatalf("Put(%d bytes): %v", len(body), err)
				}
				sum := sha256.Sum256(body)
				if obj.SHA256 != hex.EncodeToString(sum[:]) {
					t.Errorf("hash mismatch")
				}
				md, err := s.ReadMetadata(ctx, obj)
				if err != nil || md.Position == nil {
					t.Fatalf("ReadMetadata: %+v, %v", md, err)
				}
				if _, err := s.MakeDerivative(ctx, obj, md); err != nil {
					t.Fatalf("MakeDerivative: %v", err)
				}
			}
		})
	}
}
