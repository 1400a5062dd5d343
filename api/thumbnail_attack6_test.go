package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/api"
	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/routing"
)

// TestCoverThumbnailRedirectNotCachedPastItsLink: with a presign_ttl
// shorter than the redirect's minute of caching, the cached 302 of
// GET /incidents/{case}/thumbnail must not outlive the signed link it
// points to (a browser would follow it to MinIO's 403 "Request has
// expired"). Real PostgreSQL and MinIO: a photo processed by the real
// pipeline, served by a second API whose store signs for 2 s.
func TestCoverThumbnailRedirectNotCachedPastItsLink(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: not in -short")
	}
	ctx := context.Background()
	e := newThumbEnv(t)
	rec := e.filePhoto(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The thumbnail is recorded by the report's processing, its team
		// (whose token may see it) by the routing right after.
		var key, team string
		_ = e.pool.QueryRow(ctx, `SELECT coalesce(m.thumb_key, ''), coalesce(i.team, '') FROM media_objects m
			JOIN reports r ON r.id = m.report_id JOIN incidents i ON i.id = r.incident_id WHERE m.report_id = $1`, rec.ID).Scan(&key, &team)
		if key != "" && team != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no thumbnail or team for %s within 30 s (thumbnail %q, team %q)", rec.CaseNumber, key, team)
		}
		time.Sleep(50 * time.Millisecond)
	}

	const ttl = 2 * time.Second
	s3 := testsvc.S3(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	short, err := media.New(ctx, media.Config{Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey,
		Bucket: e.bucket, PresignTTL: ttl}, log)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := routing.NewEngine(testsvc.RepoRoot(t)+"/deploy/demo/rules.yaml", log)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dispatch.New(dispatch.Deps{Pool: e.pool, Media: short, Rules: rules, Logger: log}, dispatch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(svc, short, rules, api.Config{}, log).Handler())
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/incidents/"+rec.CaseNumber+"/thumbnail", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["tief"])
	signed := time.Now()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, cc := resp.Header.Get("Location"), resp.Header.Get("Cache-Control")
	if resp.StatusCode != http.StatusFound || loc == "" {
		t.Fatalf("cover thumbnail: %s, want a 302", resp.Status)
	}
	maxAge := -1
	for _, d := range strings.Split(cc, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(d), "max-age="); ok {
			maxAge, _ = strconv.Atoi(v)
		}
	}
	if !strings.Contains(cc, "private") || maxAge < 0 {
		t.Fatalf("Cache-Control %q, want private with a max-age", cc)
	}
	if time.Duration(maxAge)*time.Second >= ttl {
		t.Fatalf("Cache-Control %q for a link signed for %s: a cached redirect would lead to an expired link", cc, ttl)
	}
	// At the end of its freshness the cached redirect's link still works.
	time.Sleep(time.Until(signed.Add(time.Duration(maxAge) * time.Second)))
	got, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	got.Body.Close()
	if got.StatusCode != http.StatusOK {
		t.Errorf("the redirect's link %s after max-age=%d: %s, want 200", media.PrefixTeam, maxAge, got.Status)
	}

	// Neither the link nor the case number is a metric label.
	mreq, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	mreq.Header.Set("Authorization", "Bearer "+e.tokens["disp"])
	mresp, err := http.DefaultClient.Do(mreq)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if mresp.StatusCode != http.StatusOK || !strings.Contains(string(metrics), "/api/v1/incidents/:case/thumbnail") {
		t.Errorf("/metrics: %s, want the thumbnail route among its labels", mresp.Status)
	}
	for _, secret := range []string{"X-Amz-", rec.CaseNumber, "thumb.jpg"} {
		if strings.Contains(string(metrics), secret) {
			t.Errorf("/metrics contains %q", secret)
		}
	}
}

// TestCoverThumbnailAnswersAsTheIncidentView: for callers that may not see
// a case (another team, the reporter's token, no token, a made-up token,
// a revoked and an expired dispatcher's token)
// and for malformed case references (path traversal, very long, unicode
// digits, signs, control characters), GET /incidents/{case}/thumbnail
// gives exactly the incident view's answer (status, problem+json body), so
// the thumbnail tells nobody more than the incident view does; nothing
// answers with a signed link.
func TestCoverThumbnailAnswersAsTheIncidentView(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: not in -short")
	}
	e := newThumbEnv(t)
	rec := e.filePhoto(t)
	do := func(secret, path string) (int, string, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if secret != "" {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	refs := []string{rec.CaseNumber, strings.TrimLeft(rec.CaseNumber[5:], "0"), "2026-999999", "..%2F..%2Fteam",
		"%2e%2e", strings.Repeat("9", 4096), "2026-%D9%A4%D9%A2", "%EF%BC%94%EF%BC%92", "+42", "-1", "0", "2026-0000001",
		"%2342", "42%00", "42%0A", "1999-000001"}
	callers := map[string]string{"another team": e.tokens["sued"], "reporter": e.tokens["app"], "no token": "",
		"made-up token": "fg_" + strings.Repeat("a", 40), "dispatcher": e.tokens["disp"]}
	// A dispatcher's token that was revoked, and one that has expired.
	tokens := dispatch.NewTokens(e.pool, nil)
	ctx := context.Background()
	var err error
	for who, spec := range map[string]dispatch.TokenSpec{"revoked dispatcher": {Name: "revoked-" + rec.ID, Roles: []string{dispatch.RoleDispatcher}},
		"expired dispatcher": {Name: "expired-" + rec.ID, Roles: []string{dispatch.RoleDispatcher}, TTL: time.Millisecond}} {
		if callers[who], err = tokens.CreateScoped(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	if err := tokens.Revoke(ctx, "revoked-"+rec.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	for who, secret := range callers {
		for _, ref := range refs {
			st, ct, body := do(secret, "/api/v1/incidents/"+ref)
			tst, tct, tbody := do(secret, "/api/v1/incidents/"+ref+"/thumbnail")
			if who == "dispatcher" && st == http.StatusOK {
				continue // may see it: the thumbnail's own answer (checked in TestThumbnailURLByRole)
			}
			if tst != st || tct != ct || tbody != body {
				t.Errorf("%s, case %.40q: thumbnail %d %s %s, incident view %d %s %s", who, ref, tst, tct, tbody, st, ct, body)
			}
			if st < 400 || !strings.HasPrefix(ct, "application/problem+json") || strings.Contains(tbody, "X-Amz-Signature") {
				t.Errorf("%s, case %.40q: %d %s, want a problem+json error", who, ref, st, ct)
			}
		}
	}
}
