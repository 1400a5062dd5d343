package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// testJPEG draws a small JPEG (no EXIF) for upload tests.
func testJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// open311Post files an Open311 request as a multipart form with an
// optional "media" upload.
func (s *stack) open311Post(fields url.Values, photo []byte) (int, []byte) {
	s.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, vs := range fields {
		for _, v := range vs {
			_ = w.WriteField(k, v)
		}
	}
	if photo != nil {
		fw, _ := w.CreateFormFile("media", "foto.jpg")
		_, _ = fw.Write(photo)
	}
	_ = w.Close()
	resp, err := http.Post(s.base+"/open311/v2/requests.json?jurisdiction_id=stadt.example", w.FormDataContentType(), &b)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// open311Get reads one request in JSON until cond holds (30 s at most).
func (s *stack) open311Get(caseNo, query string, cond func(map[string]any) bool) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last []byte
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.base + "/open311/v2/requests/" + caseNo + ".json" + query)
		if err != nil {
			s.t.Fatal(err)
		}
		last, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		var list []map[string]any
		if resp.StatusCode == http.StatusOK && json.Unmarshal(last, &list) == nil && len(list) == 1 && cond(list[0]) {
			return list[0]
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Fatalf("GET requests/%s never showed what was expected; last answer: %s", caseNo, last)
	return nil
}

// TestOpen311RoundTrip: a request with an attribute and a photo filed over
// Open311 appears in the team's room (real Prosody); the team's `antwort`
// becomes status_notes, `erledigt` closes it.
func TestOpen311RoundTrip(t *testing.T) {
	s := startStack(t, map[string]string{"FIELDGATE_OPEN311_JURISDICTION_ID": "stadt.example"})
	room := testsvc.Room("tiefbau", s.suffix)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	anna.JoinRoom(room, "anna-"+s.suffix)

	status, body := s.open311Post(url.Values{
		"api_key": {s.token}, "service_code": {"strassenschaden"}, "lat": {"51.0251"}, "long": {"7.5919"},
		"description": {"Schlagloch vor der Bäckerei"}, "attribute[schaden]": {"schlagloch"}, "attribute[tiefe_cm]": {"8"},
		"email": {"buerger@example.org"},
	}, testJPEG(t))
	if status != http.StatusCreated {
		t.Fatalf("POST requests: %d %s", status, body)
	}
	var posted []struct {
		ID     string `json:"service_request_id"`
		Notice string `json:"service_notice"`
	}
	if err := json.Unmarshal(body, &posted); err != nil || len(posted) != 1 || posted[0].ID == "" {
		t.Fatalf("POST answer %s", body)
	}
	caseNo := posted[0].ID
	if !strings.Contains(posted[0].Notice, "nicht gespeichert") {
		t.Errorf("service_notice %q must say the contact data was not stored", posted[0].Notice)
	}
	post := anna.WaitMessage(60*time.Second, "the Open311 request's room post", func(m testsvc.Message) bool {
		return m.Type == "groupchat" && strings.HasSuffix(m.From, "/"+s.nick) && strings.Contains(m.Body, caseNo)
	})
	for _, want := range []string{"Schlagloch vor der Bäckerei", "Art des Schadens: Schlagloch", "Tiefbau Nord"} {
		if !strings.Contains(post.Body, want) {
			t.Errorf("room post lacks %q:\n%s", want, post.Body)
		}
	}
	if strings.Contains(post.Body, "buerger@example.org") {
		t.Error("the reporter's e-mail reached the room")
	}
	if n := s.count("reports WHERE attributes ? 'contact_email'"); n != 0 {
		t.Errorf("%d reports store contact data although store_contact is off", n)
	}

	// A field worker's report to the same address is internal: never listed.
	ib, ict := form(t, map[string]string{"to": "tiefbau", "text": "Intern: Frau Schmidt, Tel 0170-1234567", "lat": "51.0251", "lon": "7.5919"}, nil)
	if resp, rec := s.post(s.token, ib, ict); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("internal report: %s %v", resp.Status, rec)
	}
	lresp, err := http.Get(s.base + "/open311/v2/requests.json?service_code=strassenschaden")
	if err != nil {
		t.Fatal(err)
	}
	listed, _ := io.ReadAll(lresp.Body)
	lresp.Body.Close()
	if strings.Contains(string(listed), "Frau Schmidt") || !strings.Contains(string(listed), caseNo) {
		t.Errorf("public list must show the Open311 request and not the internal report:\n%s", listed)
	}

	seq := strings.TrimLeft(strings.SplitN(caseNo, "-", 2)[1], "0")
	r := s.open311Get(caseNo, "", func(r map[string]any) bool { return r["media_url"] != nil })
	if r["status"] != "open" || r["agency_responsible"] != "Tiefbau Nord" || r["service_code"] != "strassenschaden" ||
		r["lat"] != 51.0251 || r["long"] != 7.5919 {
		t.Errorf("request before the answer: %v", r)
	}
	if u, _ := r["media_url"].(string); !strings.Contains(u, "/team/") {
		t.Errorf("media_url %q must link the team copy, never the original", u)
	}

	anna.Groupchat(room, "antwort "+seq+" Wir sind unterwegs.")
	r = s.open311Get(caseNo, "", func(r map[string]any) bool {
		n, _ := r["status_notes"].(string)
		return strings.Contains(n, "Wir sind unterwegs.")
	})
	if r["status"] != "open" {
		t.Errorf("status after the answer: %v", r["status"])
	}

	anna.Groupchat(room, "erledigt "+seq)
	r = s.open311Get(caseNo, "?extensions=true", func(r map[string]any) bool { return r["status"] == "closed" })
	ext, _ := r["extended_attributes"].(map[string]any)
	if ext["detailed_status"] != "PROCESSED" {
		t.Errorf("detailed_status %v, want PROCESSED", ext["detailed_status"])
	}
	resp, err := http.Get(s.base + "/open311/v2/requests/" + caseNo + ".xml")
	if err != nil {
		t.Fatal(err)
	}
	xmlBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(xmlBody, []byte("<status>closed</status>")) || !bytes.Contains(xmlBody, []byte("<service_request_id>"+caseNo+"</service_request_id>")) {
		t.Errorf("XML request:\n%s", xmlBody)
	}
}

// TestOpen311BadInputStoresNothing: refusals against the real services
// leave no report and no object behind.
func TestOpen311BadInputStoresNothing(t *testing.T) {
	s := startStack(t, map[string]string{
		"FIELDGATE_OPEN311_JURISDICTION_ID": "stadt.example",
		"FIELDGATE_OPEN311_MEDIA_URL_HOSTS": "upload.stadt.example",
	})
	good := func() url.Values {
		return url.Values{"api_key": {s.token}, "service_code": {"strassenschaden"}, "lat": {"51.0251"}, "long": {"7.5919"},
			"description": {"x"}, "attribute[schaden]": {"schlagloch"}}
	}
	cases := []struct {
		name   string
		change func(url.Values)
		photo  bool
		status int
	}{
		{"unknown service", func(v url.Values) { v.Set("service_code", "nope") }, true, 404},
		{"child welfare is not published", func(v url.Values) { v.Set("service_code", "jugendamt-bereitschaft") }, true, 404},
		{"missing required attribute", func(v url.Values) { v.Del("attribute[schaden]") }, true, 400},
		{"wrong attribute type", func(v url.Values) { v.Set("attribute[tiefe_cm]", "tief") }, true, 400},
		{"no position and no address", func(v url.Values) { v.Del("lat"); v.Del("long") }, true, 400},
		{"media_url to a private address", func(v url.Values) { v.Set("media_url", "https://169.254.169.254/latest/meta-data/") }, true, 400},
		{"media_url to loopback", func(v url.Values) { v.Set("media_url", "http://127.0.0.1:22/") }, false, 400},
		{"wrong jurisdiction_id", func(v url.Values) { v.Set("jurisdiction_id", "other.example") }, true, 404},
		{"wrong api_key", func(v url.Values) { v.Set("api_key", "fg_not-a-token") }, false, 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := good()
			tc.change(v)
			var photo []byte
			if tc.photo {
				photo = testJPEG(t)
			}
			status, body := s.open311Post(v, photo)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			var errs []struct {
				Code        int    `json:"code"`
				Description string `json:"description"`
			}
			if err := json.Unmarshal(body, &errs); err != nil || len(errs) != 1 || errs[0].Code != tc.status || errs[0].Description == "" {
				t.Errorf("not the spec's error shape: %s", body)
			}
		})
	}
	if n := s.count("reports"); n != 0 {
		t.Errorf("%d reports stored by refused requests", n)
	}
	if objs := s.objects(); len(objs) != 0 {
		t.Errorf("objects left behind by refused requests: %v", objs)
	}
}

// TestOpen311NodeClient: codeforamerica's node-open311 (a third-party
// client, pinned in api/open311/nodeclient) lists the services, reads a
// definition, files a request with attributes and reads it back.
func TestOpen311NodeClient(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "api", "open311", "nodeclient"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		testsvc.Required(t, "node (Node.js)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "open311")); err != nil {
		testsvc.Required(t, "api/open311/nodeclient/node_modules (make test runs npm ci there)")
	}
	s := startStack(t, map[string]string{"FIELDGATE_OPEN311_JURISDICTION_ID": "stadt.example"})
	cmd := exec.Command(node, filepath.Join(dir, "client.js"), s.base+"/open311/v2/", s.token)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client: %v\n%s", err, stderr.String())
	}
	var seen struct {
		Services   []map[string]any `json:"services"`
		Definition struct {
			ServiceCode string           `json:"service_code"`
			Attributes  []map[string]any `json:"attributes"`
		} `json:"definition"`
		Submitted []map[string]any `json:"submitted"`
		Token     []map[string]any `json:"token"`
		Request   []map[string]any `json:"request"`
		List      []map[string]any `json:"list"`
	}
	if err := json.Unmarshal(out, &seen); err != nil {
		t.Fatalf("client output: %v\n%s", err, out)
	}
	codes := []string{}
	for _, sv := range seen.Services {
		codes = append(codes, sv["service_code"].(string))
	}
	if strings.Join(codes, ",") != "strassenschaden,sonstiges" {
		t.Errorf("services seen by the client: %v", codes)
	}
	if seen.Definition.ServiceCode != "strassenschaden" || len(seen.Definition.Attributes) != 2 {
		t.Errorf("definition seen by the client: %+v", seen.Definition)
	}
	if len(seen.Submitted) != 1 {
		t.Fatalf("submit answer: %v", seen.Submitted)
	}
	id, _ := seen.Submitted[0]["service_request_id"].(string)
	if id == "" || len(seen.Token) != 1 || seen.Token[0]["service_request_id"] != id {
		t.Errorf("token lookup %v for %q", seen.Token, id)
	}
	if len(seen.Request) != 1 || seen.Request[0]["service_request_id"] != id || seen.Request[0]["description"] == nil ||
		!strings.Contains(seen.Request[0]["description"].(string), "node-open311") {
		t.Errorf("request read back by the client: %v", seen.Request)
	}
	found := false
	for _, r := range seen.List {
		found = found || r["service_request_id"] == id
	}
	if !found {
		t.Errorf("the new request is not in the client's list of open requests: %v", seen.List)
	}
	n := s.count("reports WHERE attributes->>'schaden' = 'schlagloch' AND attributes->>'tiefe_cm' = '8' AND channel = 'open311'")
	if n != 1 {
		t.Errorf("%d stored reports carry the client's attributes, want 1", n)
	}
}
