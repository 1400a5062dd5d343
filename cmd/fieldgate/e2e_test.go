package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// stack is a running `fieldgate serve` on the real test services.
type stack struct {
	t      *testing.T
	env    map[string]string
	base   string // http://127.0.0.1:port
	token  string
	suffix string // room suffix of this test's demo rules
	nick   string
	db     string
	s3     *minio.Client
	bucket string
	stop   func()    // stops serve and waits for it (restart tests)
	logs   io.Writer // if set, also gets serve's log
}

func (s *stack) getenv(k string) string { return s.env[k] }

// startStack starts the whole gateway as `fieldgate serve` would run.
func startStack(t *testing.T, extra map[string]string) *stack {
	t.Helper()
	s := newStack(t, extra)
	s.serve()

	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--name", "e2e-app", "--role", "reporter", "--address", "*"}, s.getenv, &out, testWriter{t}); err != nil {
		t.Fatalf("token create: %v", err)
	}
	s.token = strings.TrimSpace(out.String())
	s.waitReady()
	return s
}

// serve starts `fieldgate serve` with the stack's environment; s.stop
// ends it (a test may stop and serve again to restart the gateway).
func (s *stack) serve() {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan struct{})
	var serveErr error
	go func() {
		defer close(done)
		var stderr io.Writer = testWriter{s.t}
		if s.logs != nil {
			stderr = io.MultiWriter(stderr, s.logs)
		}
		serveErr = run(ctx, []string{"serve"}, s.getenv, pw, stderr)
		pw.Close()
	}()
	var stopOnce sync.Once
	s.stop = func() {
		stopOnce.Do(func() {
			cancel()
			select {
			case <-done:
				if serveErr != nil && !s.t.Failed() {
					s.t.Errorf("serve returned %v", serveErr)
				}
			case <-time.After(30 * time.Second):
				s.t.Error("serve did not stop within 30s")
			}
		})
	}
	s.t.Cleanup(func() { s.stop() })
	lines := bufio.NewScanner(pr)
	addrCh := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if a, ok := strings.CutPrefix(lines.Text(), "fieldgate: listening on "); ok {
				addrCh <- a
			}
		}
	}()
	select {
	case s.base = <-addrCh:
	case <-done:
		s.t.Fatalf("serve failed to start: %v", serveErr)
	case <-time.After(60 * time.Second):
		s.t.Fatal("serve did not start within 60s")
	}
}

// newStack configures a stack on the test services without starting it.
func newStack(t *testing.T, extra map[string]string) *stack {
	t.Helper()
	s3env := testsvc.S3(t)
	xenv := testsvc.XMPP(t)
	dbURL := testsvc.DatabaseURL(t)
	domain := testsvc.Component(t)
	rules, suffix := testsvc.DemoRules(t)
	s := &stack{t: t, suffix: suffix, nick: "fieldgate-" + suffix, db: dbURL, bucket: "e2e-" + suffix}
	s.env = map[string]string{
		"FIELDGATE_DATABASE_URL":        dbURL,
		"FIELDGATE_S3_ENDPOINT":         s3env.Endpoint,
		"FIELDGATE_S3_ACCESS_KEY":       s3env.AccessKey,
		"FIELDGATE_S3_SECRET_KEY":       s3env.SecretKey,
		"FIELDGATE_S3_BUCKET":           s.bucket,
		"FIELDGATE_XMPP_ADDR":           xenv.ComponentAddr,
		"FIELDGATE_XMPP_DOMAIN":         domain,
		"FIELDGATE_XMPP_SECRET":         xenv.Secret,
		"FIELDGATE_XMPP_NICK":           s.nick,
		"FIELDGATE_RULES_FILE":          rules,
		"FIELDGATE_HTTP_ADDR":           "127.0.0.1:0",
		"FIELDGATE_LOG_FORMAT":          "text",
		"FIELDGATE_LOG_LEVEL":           "warn",
		"FIELDGATE_HTTP_MAX_BODY_BYTES": "2000000",
	}
	for k, v := range extra {
		s.env[k] = v
	}
	var err error
	s.s3, err = minio.New(s3env.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3env.AccessKey, s3env.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}

	return s
}

func (s *stack) waitReady() {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			var body struct {
				Checks map[string]string `json:"checks"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			// Team rooms are created and made members-only at start-up;
			// members can enter once they are ready.
			if resp.StatusCode == http.StatusOK && body.Checks["xmpp"] == "connected" && body.Checks["rooms"] == "ok" {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("gateway not ready after 30s (last: %v %v)", resp, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// form builds a multipart body from fields and files (name → path).
func form(t *testing.T, fields map[string]string, files map[string]string) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	for k, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fw, _ := w.CreateFormFile(k, "upload.jpg")
		_, _ = fw.Write(data)
	}
	w.Close()
	return &b, w.FormDataContentType()
}

func (s *stack) post(token string, body io.Reader, contentType string) (*http.Response, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/reports", body)
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func (s *stack) getJSON(path string) map[string]any {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		s.t.Fatal(err)
	}
	return out
}

func (s *stack) count(table string) int {
	s.t.Helper()
	conn, err := pgx.Connect(context.Background(), s.db)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

func (s *stack) objects() []string {
	s.t.Helper()
	var keys []string
	for o := range s.s3.ListObjects(context.Background(), s.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			s.t.Fatalf("list objects: %v", o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// TestEndToEnd drives the whole chain: HTTP report with a photo → PostgreSQL
// → MinIO → EXIF → routing → post in the team room → "ok N" from a real
// XMPP client → stored and confirmed in the room.
func TestEndToEnd(t *testing.T) {
	s := startStack(t, nil)
	room := testsvc.Room("tiefbau", s.suffix)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	anna.JoinRoom(room, "anna-"+s.suffix)

	photo := testsvc.PhotoExpected(t, "gps_ne.jpg") // outside the demo districts: Tiefbau Nord
	body, ct := form(t, map[string]string{"to": "tiefbau", "text": "Schlagloch vor Hausnummer 12"},
		map[string]string{"photo": photo.Path})
	resp, rec := s.post(s.token, body, ct)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST report: %s %v", resp.Status, rec)
	}
	caseNo, _ := rec["case_number"].(string)
	statusURL, _ := rec["status_url"].(string)
	if !strings.HasPrefix(caseNo, fmt.Sprintf("%d-", time.Now().In(berlin(t)).Year())) || statusURL == "" {
		t.Fatalf("receipt = %v", rec)
	}

	post := anna.WaitMessage(60*time.Second, "the incident post", func(m testsvc.Message) bool {
		return m.Type == "groupchat" && strings.HasSuffix(m.From, "/"+s.nick) && strings.Contains(m.Body, caseNo)
	})
	for _, want := range []string{"Schlagloch vor Hausnummer 12", "Tiefbau Nord", fmt.Sprintf("geo:%.6f,%.6f", *photo.Lat, *photo.Lon), "openstreetmap.org"} {
		if !strings.Contains(post.Body, want) {
			t.Errorf("room post lacks %q:\n%s", want, post.Body)
		}
	}
	if len(post.OOB) != 1 || !strings.HasPrefix(post.OOB[0], "http") {
		t.Errorf("room post should carry one photo link (XEP-0066), got %v", post.OOB)
	}

	// The photo is in MinIO, and the report has the photo's EXIF position.
	if objs := s.objects(); len(objs) == 0 {
		t.Fatal("no object in the bucket")
	}
	var key string
	conn, err := pgx.Connect(context.Background(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(context.Background(), "SELECT object_key FROM media_objects").Scan(&key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.s3.StatObject(context.Background(), s.bucket, key, minio.StatObjectOptions{}); err != nil {
		t.Fatalf("photo object %s not in MinIO: %v", key, err)
	}
	// The post goes out before its delivery job marks the incident routed
	// (dispatch/deliver.go): wait for that commit rather than race it.
	st := s.getJSON(statusURL)
	for deadline := time.Now().Add(10 * time.Second); st["state"] == "received" && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		st = s.getJSON(statusURL)
	}
	pos, _ := st["position"].(map[string]any)
	lat, _ := pos["lat"].(float64)
	lon, _ := pos["lon"].(float64)
	if math.Abs(lat-*photo.Lat) > 1e-6 || math.Abs(lon-*photo.Lon) > 1e-6 || pos["source"] != "exif" {
		t.Fatalf("stored position = %v, want %s's EXIF %v, %v", pos, photo.File, *photo.Lat, *photo.Lon)
	}
	if st["team"] != "tiefbau" || st["state"] != "routed" {
		t.Fatalf("status = team %v state %v, want tiefbau/routed", st["team"], st["state"])
	}

	// A team member takes it in the room.
	seq := strings.TrimLeft(strings.SplitN(caseNo, "-", 2)[1], "0")
	anna.Groupchat(room, "ok "+seq)
	anna.WaitMessage(30*time.Second, "the take confirmation", func(m testsvc.Message) bool {
		return m.Type == "groupchat" && strings.HasSuffix(m.From, "/"+s.nick) &&
			strings.Contains(m.Body, caseNo) && strings.Contains(m.Body, "übernommen von anna@stadt.localhost")
	})
	var state, owner string
	if err := conn.QueryRow(context.Background(), "SELECT state, owner FROM incidents WHERE case_number = $1", caseNo).Scan(&state, &owner); err != nil {
		t.Fatal(err)
	}
	if state != "acknowledged" || owner != "anna@stadt.localhost" {
		t.Fatalf("incident = %s/%s, want acknowledged by anna@stadt.localhost", state, owner)
	}
	if got := s.getJSON(statusURL)["state"]; got != "acknowledged" {
		t.Fatalf("status URL shows %v, want acknowledged", got)
	}
	// A second "ok" does not change the owner and is answered.
	anna.Groupchat(room, "ok "+seq)
	anna.WaitMessage(30*time.Second, "the already-taken answer", func(m testsvc.Message) bool {
		return m.Type == "groupchat" && strings.Contains(m.Body, "bereits von anna@stadt.localhost übernommen")
	})
}

// TestBadRequests: every bad request gets a 4xx problem+json and stores nothing.
func TestBadRequests(t *testing.T) {
	s := startStack(t, nil)
	exe := t.TempDir() + "/tool.jpg"
	if err := os.WriteFile(exe, append([]byte("MZ\x90\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0}, 512)...), 0o644); err != nil {
		t.Fatal(err)
	}
	big := t.TempDir() + "/big.jpg"
	photo, _ := os.ReadFile(testsvc.Photo(t, "gps_ne.jpg"))
	if err := os.WriteFile(big, append(photo, bytes.Repeat([]byte{0}, 2_100_000)...), 0o644); err != nil {
		t.Fatal(err)
	}
	dscn := testsvc.Photo(t, "gps_ne.jpg")
	cases := []struct {
		name   string
		token  string
		fields map[string]string
		files  map[string]string
		status int
		detail string
	}{
		{"missing to", s.token, map[string]string{"text": "x"}, nil, 400, "missing function address"},
		{"unknown address", s.token, map[string]string{"to": "nirgendwo", "text": "x"}, map[string]string{"photo": dscn}, 422, "unknown function address"},
		{"no token", "", map[string]string{"to": "tiefbau", "text": "x"}, nil, 401, "Bearer"},
		{"wrong token", "fg_wrong-token-wrong-token-wrong", map[string]string{"to": "tiefbau", "text": "x"}, nil, 401, "invalid"},
		{"not an image", s.token, map[string]string{"to": "tiefbau", "text": "x"}, map[string]string{"photo": exe}, 415, ""},
		{"body over limit", s.token, map[string]string{"to": "tiefbau", "text": "x"}, map[string]string{"photo": big}, 413, "limit"},
		{"bad position", s.token, map[string]string{"to": "tiefbau", "text": "x", "lat": "95", "lon": "7"}, map[string]string{"photo": dscn}, 400, "lat"},
		{"empty report", s.token, map[string]string{"to": "tiefbau"}, nil, 400, "empty report"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, ct := form(t, c.fields, c.files)
			resp, out := s.post(c.token, body, ct)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, c.status, out)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", got)
			}
			detail, _ := out["detail"].(string)
			if out["status"] != float64(c.status) || out["title"] == "" || !strings.Contains(detail, c.detail) {
				t.Errorf("problem = %v, want detail containing %q", out, c.detail)
			}
		})
	}
	if n := s.count("reports"); n != 0 {
		t.Errorf("%d reports stored by rejected requests", n)
	}
	if objs := s.objects(); len(objs) != 0 {
		t.Errorf("rejected requests left objects behind: %v", objs)
	}
}

// TestIdempotencyKey: a retried POST with the same key creates one report.
func TestIdempotencyKey(t *testing.T) {
	s := startStack(t, nil)
	var wg sync.WaitGroup
	cases := make([]string, 5)
	for i := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, ct := form(t, map[string]string{"to": "tiefbau", "text": "Ampel defekt"}, nil)
			req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/reports", body)
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer "+s.token)
			req.Header.Set("Idempotency-Key", "retry-1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != 202 && resp.StatusCode != 200 {
				t.Errorf("status %d: %v", resp.StatusCode, out)
			}
			cases[i], _ = out["case_number"].(string)
		}()
	}
	wg.Wait()
	for _, c := range cases {
		if c == "" || c != cases[0] {
			t.Fatalf("case numbers differ across retries: %v", cases)
		}
	}
	if n := s.count("reports"); n != 1 {
		t.Fatalf("%d reports for one idempotency key", n)
	}
}

func berlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func (s *stack) newToken(name, roles string) string {
	s.t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--name", name, "--role", roles}, s.getenv, &out, testWriter{s.t}); err != nil {
		s.t.Fatalf("token create: %v", err)
	}
	return strings.TrimSpace(out.String())
}

func (s *stack) call(method, path, token string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestIncidentAPI: dispatchers and the incident's team act through the
// API; other teams and reporters may not; a second take is a conflict.
func TestIncidentAPI(t *testing.T) {
	s := startStack(t, nil)
	body, ct := form(t, map[string]string{"to": "tiefbau", "text": "Ampel ausgefallen"}, nil)
	resp, rec := s.post(s.token, body, ct)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %s %v", resp.Status, rec)
	}
	caseNo := rec["case_number"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for s.getJSON(rec["status_url"].(string))["team"] != "tiefbau" {
		if time.Now().After(deadline) {
			t.Fatal("report not routed within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	other := s.newToken("sued", "team:tiefbau-sued")
	team := s.newToken("nord", "team:tiefbau")
	disp := s.newToken("leitstelle", "dispatcher")

	// Foreign tokens get the 404 of a missing case (issue 16).
	if code, out := s.call("POST", "/api/v1/incidents/"+caseNo+"/take", s.token); code != http.StatusNotFound {
		t.Errorf("reporter token took an incident: %d %v", code, out)
	}
	if code, out := s.call("POST", "/api/v1/incidents/"+caseNo+"/take", other); code != http.StatusNotFound {
		t.Errorf("another team's token took an incident: %d %v", code, out)
	}
	if code, out := s.call("POST", "/api/v1/incidents/"+caseNo+"/take", team); code != http.StatusOK || out["owner"] != "token:nord" || out["state"] != "acknowledged" {
		t.Fatalf("team take: %d %v", code, out)
	}
	if code, out := s.call("POST", "/api/v1/incidents/"+caseNo+"/take", disp); code != http.StatusConflict || out["outcome"] != "already_taken" {
		t.Errorf("second take: %d %v, want 409 already_taken", code, out)
	}
	if code, out := s.call("POST", "/api/v1/incidents/"+caseNo+"/resolve", disp); code != http.StatusOK || out["state"] != "resolved" {
		t.Errorf("dispatcher resolve: %d %v", code, out)
	}
	if code, _ := s.call("GET", "/api/v1/incidents/2099-000001", disp); code != http.StatusNotFound {
		t.Errorf("unknown case: %d, want 404", code)
	}
}

// TestRulesHotReload: a changed rules file is picked up by the running
// server (version in /readyz and /metrics); a broken one is rejected and
// the previous rules stay in force.
func TestRulesHotReload(t *testing.T) {
	s := startStack(t, nil)
	path := s.env["FIELDGATE_RULES_FILE"]
	ready := func() (string, map[string]any) {
		resp, err := http.Get(s.base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Rules map[string]any `json:"rules"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		v, _ := out.Rules["version"].(string)
		return v, out.Rules
	}
	v1, _ := ready()
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(orig), "name: Tiefbau Nord", "name: Tiefbau Nordost", 1)
	if changed == string(orig) {
		t.Fatal("demo rules no longer name Tiefbau Nord")
	}
	if err := os.WriteFile(path, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	var v2 string
	deadline := time.Now().Add(20 * time.Second)
	for v2, _ = ready(); v2 == v1; v2, _ = ready() {
		if time.Now().After(deadline) {
			t.Fatal("changed rules not loaded within 20s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// /metrics needs a token with the metrics role (issue 16).
	mreq, _ := http.NewRequest(http.MethodGet, s.base+"/metrics", nil)
	mreq.Header.Set("Authorization", "Bearer "+s.newToken("scraper", "metrics"))
	resp, err := http.DefaultClient.Do(mreq)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `fieldgate_rules_info{version="`+v2+`"} 1`) {
		t.Errorf("metrics do not show rules version %s", v2)
	}
	// Both database pools, each with its size (database.max_conns).
	for _, pool := range []string{"main", "queue"} {
		if !regexp.MustCompile(`(?m)^pgxpool_max_conns\{pool="` + pool + `"\} [1-9][0-9]*$`).Match(metrics) {
			t.Errorf("metrics lack the %s pool's size (pgxpool_max_conns{pool=%q})", pool, pool)
		}
	}

	if err := os.WriteFile(path, []byte(changed+"\nrules: [broken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		v3, rules := ready()
		if _, rejected := rules["rejected_reload"]; rejected {
			if v3 != v2 {
				t.Fatalf("a broken file replaced the rules: version %s, want %s", v3, v2)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broken rules file not reported within 20s: %v", rules)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestHEICReport: an iPhone HEIC photo is geotagged from its EXIF, the
// room gets a link to its team copy (never to the original), and the API
// hands the original to the reporter through a checked redirect.
func TestHEICReport(t *testing.T) {
	s := startStack(t, nil)
	room := testsvc.Room("tiefbau", s.suffix)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	anna.JoinRoom(room, "anna-"+s.suffix)
	heicPhoto := testsvc.PhotoExpected(t, "gps.heic")
	heic := heicPhoto.Path
	body, ct := form(t, map[string]string{"to": "tiefbau", "text": "Laterne"}, map[string]string{"photo": heic})
	resp, rec := s.post(s.token, body, ct)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %s %v", resp.Status, rec)
	}
	caseNo := rec["case_number"].(string)
	post := anna.WaitMessage(60*time.Second, "the post", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseNo)
	})
	if !strings.Contains(post.Body, fmt.Sprintf("geo:%.6f,%.6f", *heicPhoto.Lat, *heicPhoto.Lon)) || strings.Contains(post.Body, "keine Vorschau") || len(post.OOB) != 1 {
		t.Errorf("HEIC post: want the EXIF position and one link to the team copy:\n%s\nOOB %v", post.Body, post.OOB)
	}
	for _, u := range post.OOB {
		if !strings.Contains(u, "/team/") {
			t.Errorf("room link %q is not a team copy", u)
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, s.base+rec["status_url"].(string)+"/media/1", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	r, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") == "" {
		t.Fatalf("media link: %s", r.Status)
	}
	got, err := http.Get(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(got.Body)
	got.Body.Close()
	want, _ := os.ReadFile(heic)
	if !bytes.Equal(data, want) {
		t.Fatalf("original via the redirect: %d bytes, want the %d uploaded", len(data), len(want))
	}
	other := s.newToken("someone-else", "reporter")
	req.Header.Set("Authorization", "Bearer "+other)
	if r, err := client.Do(req); err != nil || r.StatusCode != http.StatusNotFound {
		t.Fatalf("another reporter's token: %v %v, want 404", r.Status, err)
	}
}
