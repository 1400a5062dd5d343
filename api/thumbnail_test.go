package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"image"
	_ "image/jpeg" // decodes the thumbnails fetched from MinIO
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/api"
	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/routing"
)

type mediaLinks struct {
	TeamCopyURL  string `json:"team_copy_url"`
	ThumbnailURL string `json:"thumbnail_url"`
	OriginalURL  string `json:"original_url"`
}

type detailLinks struct {
	Reports []struct {
		ID    string       `json:"id"`
		Media []mediaLinks `json:"media"`
	} `json:"reports"`
}

// thumbEnv is the API on the real dispatch service, PostgreSQL and MinIO
// (its own bucket), with a token per role and the log in logs.
type thumbEnv struct {
	srv    *httptest.Server
	pool   *pgxpool.Pool
	store  *media.Store
	bucket string
	tokens map[string]string // app (reporter), disp, tief (team:tiefbau), sued (team:tiefbau-sued)
	logs   *testsvc.LogBuffer
}

func newThumbEnv(tb testing.TB) *thumbEnv {
	tb.Helper()
	ctx := context.Background()
	e := &thumbEnv{pool: testsvc.Pool(tb), logs: &testsvc.LogBuffer{}, tokens: map[string]string{}}
	s3 := testsvc.S3(tb)
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	e.bucket = "thumbs-" + hex.EncodeToString(rnd[:])
	var err error
	e.store, err = media.New(ctx, media.Config{Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, Bucket: e.bucket}, log)
	if err != nil {
		tb.Fatal(err)
	}
	rules, err := routing.NewEngine(testsvc.RepoRoot(tb)+"/deploy/demo/rules.yaml", log)
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := dispatch.New(dispatch.Deps{Pool: e.pool, Media: e.store, Rules: rules, Logger: log},
		dispatch.Config{PollInterval: 50 * time.Millisecond, AssemblyWindow: -1})
	if err != nil {
		tb.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	if err := svc.Start(sctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		c, c2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer c2()
		_ = svc.Stop(c)
	})
	e.srv = httptest.NewServer(api.New(svc, e.store, rules, api.Config{}, log).Handler())
	tb.Cleanup(e.srv.Close)
	for name, spec := range map[string]dispatch.TokenSpec{
		"app":  {Roles: []string{"reporter"}, Addresses: []string{"*"}},
		"disp": {Roles: []string{dispatch.RoleDispatcher}},
		"tief": {Roles: []string{"team:tiefbau"}},
		"sued": {Roles: []string{"team:tiefbau-sued"}},
	} {
		spec.Name = name
		if e.tokens[name], err = svc.CreateScopedToken(ctx, spec); err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

// receipt is the answer to POST /api/v1/reports.
type receipt struct {
	ID         string `json:"id"`
	CaseNumber string `json:"case_number"`
}

// filePhoto files messenger_450x600.jpg to Tiefbau with the reporter's
// token over the API.
func (e *thumbEnv) filePhoto(tb testing.TB) receipt {
	tb.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("to", "tiefbau")
	_ = w.WriteField("text", "Schlagloch mit Foto")
	_ = w.WriteField("lat", "51.04")
	_ = w.WriteField("lon", "7.58")
	photo, err := os.ReadFile(testsvc.Photo(tb, "messenger_450x600.jpg"))
	if err != nil {
		tb.Fatal(err)
	}
	fw, _ := w.CreateFormFile("photo", "foto.jpg")
	_, _ = fw.Write(photo)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/reports", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+e.tokens["app"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var rec receipt
	_ = json.NewDecoder(resp.Body).Decode(&rec)
	if resp.StatusCode != http.StatusAccepted {
		tb.Fatalf("POST /api/v1/reports: %s", resp.Status)
	}
	return rec
}

// TestThumbnailURLByRole: a photo filed over the real API gets its team
// copy and thumbnail from the real pipeline into the real MinIO; the
// incident JSON, the report JSON and the list's cover-thumbnail redirect
// link the thumbnail for the dispatcher and the incident's team only, the
// link fetches a JPEG of at most 320 px on its longest edge, a photo
// without thumbnail gets no link, and no presigned link is ever logged.
func TestThumbnailURLByRole(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: not in -short")
	}
	ctx := context.Background()
	e := newThumbEnv(t)
	srv, pool, tokens, logs := e.srv, e.pool, e.tokens, e.logs
	get := func(who, path string, into any) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tokens[who])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if into != nil && resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, into); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
		}
		if resp.StatusCode != http.StatusOK && strings.Contains(string(body), "X-Amz-Signature") {
			t.Errorf("GET %s as %s: %d with a signed link: %s", path, who, resp.StatusCode, body)
		}
		return resp.StatusCode
	}

	// A messenger photo (600×450 stored, 450×600 upright) filed to Tiefbau over the API.
	rec := e.filePhoto(t)

	// The team copy and thumbnail are made after the commit.
	var d detailLinks
	deadline := time.Now().Add(30 * time.Second)
	for {
		d = detailLinks{}
		if st := get("disp", "/api/v1/incidents/"+rec.CaseNumber, &d); st == http.StatusOK &&
			len(d.Reports) == 1 && len(d.Reports[0].Media) == 1 && d.Reports[0].Media[0].ThumbnailURL != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no thumbnail_url for %s within 30 s: %+v", rec.CaseNumber, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	m := d.Reports[0].Media[0]
	if m.TeamCopyURL == "" || m.OriginalURL == "" || m.ThumbnailURL == m.TeamCopyURL {
		t.Errorf("dispatcher's links: %+v, want a team copy, a thumbnail and an original apart", m)
	}
	thumb := fetchImage(t, m.ThumbnailURL)
	if long := max(thumb.Width, thumb.Height); long < 1 || long > media.DefaultThumbMaxEdge {
		t.Errorf("thumbnail is %d×%d, want a longest edge of 1..%d px", thumb.Width, thumb.Height, media.DefaultThumbMaxEdge)
	}
	if full := fetchImage(t, m.TeamCopyURL); full.Width != 450 || full.Height != 600 || thumb.Width*600 != thumb.Height*450 {
		t.Errorf("team copy %d×%d, thumbnail %d×%d: want 450×600 (upright: it is stored turned, EXIF orientation 6) and the same aspect", full.Width, full.Height, thumb.Width, thumb.Height)
	}

	// The incident's team gets the links; another team gets the 404 of a missing case.
	var team detailLinks
	if st := get("tief", "/api/v1/incidents/"+rec.CaseNumber, &team); st != http.StatusOK || len(team.Reports) != 1 ||
		len(team.Reports[0].Media) != 1 || team.Reports[0].Media[0].ThumbnailURL == "" {
		t.Errorf("team member: %d %+v, want a thumbnail_url", st, team)
	}
	if st := get("sued", "/api/v1/incidents/"+rec.CaseNumber, nil); st != http.StatusNotFound {
		t.Errorf("another team's GET of the incident: %d, want 404", st)
	}

	// The report JSON: the same link for those who may see the incident;
	// the reporter's own token sees its report without one.
	type reportLinks struct {
		Media []mediaLinks `json:"media"`
	}
	for who, want := range map[string]bool{"disp": true, "tief": true, "app": false} {
		var r reportLinks
		if st := get(who, "/api/v1/reports/"+rec.ID, &r); st != http.StatusOK || len(r.Media) != 1 || (r.Media[0].ThumbnailURL != "") != want {
			t.Errorf("report JSON as %s: %d %+v, want thumbnail_url %v", who, st, r, want)
		} else if want {
			if got := fetchImage(t, r.Media[0].ThumbnailURL); got != thumb {
				t.Errorf("report JSON's thumbnail as %s is %+v, the incident's %+v", who, got, thumb)
			}
		}
	}
	if st := get("sued", "/api/v1/reports/"+rec.ID, nil); st != http.StatusNotFound {
		t.Errorf("another team's GET of the report: %d, want 404", st)
	}

	// The list's cover thumbnail: a redirect to the same thumbnail for
	// those who may see the case, the 404 of a missing case for others.
	cover := func(who, ref string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/incidents/"+ref+"/thumbnail", nil)
		req.Header.Set("Authorization", "Bearer "+tokens[who])
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusFound {
			return resp.StatusCode, resp.Header.Get("Location")
		}
		return resp.StatusCode, string(b)
	}
	if st, loc := cover("tief", rec.CaseNumber); st != http.StatusFound || fetchImage(t, loc) != thumb {
		t.Errorf("cover thumbnail for the team: %d, want 302 to the %+v thumbnail", st, thumb)
	}
	_, missing := cover("sued", "2026-999999")
	if st, body := cover("sued", rec.CaseNumber); st != http.StatusNotFound || body != missing {
		t.Errorf("cover thumbnail for another team: %d %s, want the 404 of a missing case %s", st, body, missing)
	}

	// Without a thumbnail (as for rows from before thumbnails were kept)
	// there is no link, and the team copy stays.
	if _, err := pool.Exec(ctx, `UPDATE media_objects SET thumb_key = NULL WHERE report_id = $1`, rec.ID); err != nil {
		t.Fatal(err)
	}
	d = detailLinks{}
	if st := get("disp", "/api/v1/incidents/"+rec.CaseNumber, &d); st != http.StatusOK || len(d.Reports) != 1 || len(d.Reports[0].Media) != 1 ||
		d.Reports[0].Media[0].ThumbnailURL != "" || d.Reports[0].Media[0].TeamCopyURL == "" {
		t.Errorf("without a thumbnail: %d %+v, want a team copy and no thumbnail_url", st, d)
	}
	if st, body := cover("disp", rec.CaseNumber); st != http.StatusNotFound || !strings.Contains(body, rec.CaseNumber) {
		t.Errorf("cover thumbnail without a thumbnail: %d %s, want a 404 naming the case", st, body)
	}
	if strings.Contains(logs.String(), "X-Amz-Signature") || strings.Contains(logs.String(), "X-Amz-Credential") {
		t.Errorf("a presigned link was logged:\n%s", logs.String())
	}
}

// imageSize is the size of a decoded image in pixels.
type imageSize struct{ Width, Height int }

// fetchImage GETs a presigned link (no credentials of ours), decodes the
// whole JPEG and returns its size.
func fetchImage(t *testing.T, url string) imageSize {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET presigned link: %s", resp.Status)
	}
	img, format, err := image.Decode(resp.Body)
	if err != nil || format != "jpeg" {
		t.Fatalf("presigned link: %q %v, want a JPEG", format, err)
	}
	return imageSize{img.Bounds().Dx(), img.Bounds().Dy()}
}
