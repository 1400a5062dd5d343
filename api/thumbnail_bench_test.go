package api_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// BenchmarkThumbnailLinks measures what the thumbnail links cost, each
// beside its raw floor in the same run (real PostgreSQL and MinIO):
//
//   - presign: media.Store.PresignGet against minio-go's PresignedGetObject;
//   - cover: GET /api/v1/incidents/{case}/thumbnail (HTTP, token, case
//     lookup, query, presign, 302) against its query plus a raw presign;
//   - detail: GET /api/v1/incidents/{case} of a one-photo case with its
//     thumbnail link against the same JSON without one (thumb_key NULL).
//
// go test -run '^$' -bench BenchmarkThumbnailLinks -benchtime 2000x ./api/
func BenchmarkThumbnailLinks(b *testing.B) {
	ctx := context.Background()
	e := newThumbEnv(b)
	rec := e.filePhoto(b)
	var key, incident string
	deadline := time.Now().Add(30 * time.Second)
	for e.pool.QueryRow(ctx, `SELECT m.thumb_key, r.incident_id::text FROM media_objects m JOIN reports r ON r.id = m.report_id
		WHERE r.id = $1 AND m.thumb_key IS NOT NULL`, rec.ID).Scan(&key, &incident) != nil {
		if time.Now().After(deadline) {
			b.Fatal("no thumbnail within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	s3 := testsvc.S3(b)
	raw, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")})
	if err != nil {
		b.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(b *testing.B, path string, want int) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens["tief"])
		resp, err := noRedirect.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			b.Fatalf("GET %s: %s", path, resp.Status)
		}
	}

	b.Run("presign/floor", func(b *testing.B) {
		for b.Loop() {
			if _, err := raw.PresignedGetObject(ctx, e.bucket, key, 15*time.Minute, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("presign/PresignGet", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.store.PresignGet(ctx, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cover/floor", func(b *testing.B) {
		for b.Loop() {
			var k string
			if err := e.pool.QueryRow(ctx, `SELECT m.thumb_key FROM reports r JOIN media_objects m ON m.report_id = r.id
				WHERE r.incident_id = $1 AND m.thumb_key IS NOT NULL ORDER BY r.received_at, r.id, m.created_at, m.id LIMIT 1`, incident).Scan(&k); err != nil {
				b.Fatal(err)
			}
			if _, err := raw.PresignedGetObject(ctx, e.bucket, k, 15*time.Minute, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cover/endpoint", func(b *testing.B) {
		for b.Loop() {
			get(b, "/api/v1/incidents/"+rec.CaseNumber+"/thumbnail", http.StatusFound)
		}
	})
	b.Run("detail/with-thumbnail", func(b *testing.B) {
		for b.Loop() {
			get(b, "/api/v1/incidents/"+rec.CaseNumber, http.StatusOK)
		}
	})
	if _, err := e.pool.Exec(ctx, `UPDATE media_objects SET thumb_key = NULL WHERE report_id = $1`, rec.ID); err != nil {
		b.Fatal(err)
	}
	b.Run("detail/floor-without-thumbnail", func(b *testing.B) {
		for b.Loop() {
			get(b, "/api/v1/incidents/"+rec.CaseNumber, http.StatusOK)
		}
	})
}
