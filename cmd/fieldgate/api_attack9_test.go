package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestAPIAttack9 attacks a real `fieldgate serve` (PostgreSQL, MinIO,
// Prosody) over HTTP with what a careless client or an attacker sends and
// the repository's other tests do not: each answer must be precise, store
// nothing it should not, and leave the server serving.
func TestAPIAttack9(t *testing.T) {
	s := startStack(t, map[string]string{"FIELDGATE_OPEN311_JURISDICTION_ID": "stadt.example"})
	photo, err := os.ReadFile(testsvc.Photo(t, "gps_ne.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	disp := s.secToken("a9-disp", "dispatcher", "")
	body, ct := multipartBody(map[string]string{"to": "tiefbau", "text": "Schlagloch", "lat": "51.0251", "lon": "7.5919"}, nil)
	r := s.do("POST", "/api/v1/reports", s.token, ct, body, nil)
	if r.Status != http.StatusAccepted {
		t.Fatalf("report: %d %s", r.Status, r.Body)
	}
	caseNo, reportID := r.JSON["case_number"].(string), r.JSON["id"].(string)
	s.waitRouted(caseNo)

	// A JSON \u0000 in a command's text reached PostgreSQL: 500.
	t.Run("NUL escape in a reply", func(t *testing.T) {
		s.settle(caseNo)
		before := s.secState(caseNo)
		for _, c := range []struct{ action, body string }{
			{"reply", `{"text":"Wir kommen\u0000"}`},
			{"reject", `{"reason":"\u0000"}`},
			{"reassign", `{"team":"gruenflaechen","reason":"a\u0000b"}`},
		} {
			r := s.do("POST", "/api/v1/incidents/"+caseNo+"/"+c.action, disp, "application/json", strings.NewReader(c.body), map[string]string{"Accept-Language": "de"})
			if r.Status != http.StatusBadRequest || r.JSON["type"] != "urn:fieldgate:problem:invalid-text" || !strings.Contains(fmt.Sprint(r.JSON["detail"]), "NUL-Zeichen") {
				t.Errorf("%s: want 400 invalid-text in German, got %d %s", c.action, r.Status, r.Body)
			}
		}
		if after := s.secState(caseNo); after != before {
			t.Errorf("the refused commands changed %+v to %+v", before, after)
		}
	})

	// A key reused for another report answered with the first report's
	// receipt: the new report was lost while the client believed it filed.
	t.Run("Idempotency-Key reused for another report", func(t *testing.T) {
		post := func(text string, files map[string][]byte) httpResult {
			body, ct := multipartBody(map[string]string{"to": "tiefbau", "text": text}, files)
			return s.do("POST", "/api/v1/reports", s.token, ct, body, map[string]string{"Idempotency-Key": "a9-key", "Accept-Language": "en"})
		}
		first := post("Ampel defekt", map[string][]byte{"photo": photo})
		if first.Status != http.StatusAccepted {
			t.Fatalf("first: %d %s", first.Status, first.Body)
		}
		reports := s.count("reports")
		if again := post("Ampel defekt", map[string][]byte{"photo": photo}); again.Status != http.StatusOK || again.JSON["case_number"] != first.JSON["case_number"] {
			t.Errorf("retry: %d %s", again.Status, again.Body)
		}
		for name, files := range map[string]map[string][]byte{"another text": nil, "another photo": {"photo": testJPEG(t)}} {
			r := post("Baum umgestürzt", files)
			if r.Status != http.StatusUnprocessableEntity || r.JSON["type"] != "urn:fieldgate:problem:idempotency-key-reused" ||
				!strings.Contains(fmt.Sprint(r.JSON["detail"]), first.JSON["case_number"].(string)) {
				t.Errorf("%s: want 422 idempotency-key-reused, got %d %s", name, r.Status, r.Body)
			}
		}
		if n := s.count("reports"); n != reports {
			t.Errorf("%d reports stored by the retry and the reuses", n-reports)
		}
		s.waitOnlyReferencedObjects()
	})

	// Eight requests race with one key, half of them another report: one
	// files, the same report again gets its receipt, the other 422; one
	// report and its objects stay, nothing else.
	t.Run("Idempotency-Key raced with two bodies", func(t *testing.T) {
		reports := s.count("reports")
		texts := []string{"Laterne defekt", "Gully verstopft"}
		results := make([]httpResult, 8)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() {
				body, ct := multipartBody(map[string]string{"to": "tiefbau", "text": texts[i%2]}, map[string][]byte{"photo": photo})
				results[i] = s.do("POST", "/api/v1/reports", s.token, ct, body, map[string]string{"Idempotency-Key": "a9-race"})
			})
		}
		wg.Wait()
		winner := -1
		for i, r := range results {
			if r.Status == http.StatusAccepted {
				if winner >= 0 {
					t.Fatalf("two requests filed: %s and %s", results[winner].Body, r.Body)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("none filed: %+v", results)
		}
		for i, r := range results {
			switch {
			case i == winner:
			case i%2 == winner%2:
				if r.Status != http.StatusOK || r.JSON["case_number"] != results[winner].JSON["case_number"] {
					t.Errorf("same report %d: %d %s", i, r.Status, r.Body)
				}
			default:
				if r.Status != http.StatusUnprocessableEntity || r.JSON["type"] != "urn:fieldgate:problem:idempotency-key-reused" {
					t.Errorf("other report %d: %d %s", i, r.Status, r.Body)
				}
			}
		}
		if n := s.count("reports"); n != reports+1 {
			t.Errorf("%d reports stored by the race, want 1", n-reports)
		}
		s.waitOnlyReferencedObjects()
	})

	// Open311 ignored a key over 200 bytes (a retry filed twice) and sent
	// one with invalid UTF-8 to PostgreSQL (500).
	t.Run("Open311 Idempotency-Key unusable", func(t *testing.T) {
		reports := s.count("reports")
		for _, key := range []string{strings.Repeat("k", 201), strings.Repeat("k", 201), "k\xff"} {
			form := url.Values{"api_key": {s.token}, "service_code": {"strassenschaden"}, "lat": {"51.0251"}, "long": {"7.5919"},
				"description": {"Schlagloch"}, "attribute[schaden]": {"schlagloch"}}
			r := s.do("POST", "/open311/v2/requests.json", "", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), map[string]string{"Idempotency-Key": key})
			if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `"code":400`) {
				t.Errorf("key %q: %d %s", key[:3], r.Status, r.Body)
			}
		}
		if n := s.count("reports"); n != reports {
			t.Errorf("%d reports filed", n-reports)
		}
	})

	// A key for public addresses only was refused by the API but filed to
	// a restricted address over Open311.
	t.Run("Open311 key address list", func(t *testing.T) {
		public := s.secToken("a9-public", "reporter", "")
		reports := s.count("reports")
		form := url.Values{"api_key": {public}, "service_code": {"strassenschaden"}, "lat": {"51.0251"}, "long": {"7.5919"},
			"description": {"Schlagloch"}, "attribute[schaden]": {"schlagloch"}}
		r := s.do("POST", "/open311/v2/requests.json", "", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
		if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "strassenschaden") {
			t.Errorf("Open311: %d %s, want 403", r.Status, r.Body)
		}
		body, ct := multipartBody(map[string]string{"to": "tiefbau", "text": "Schlagloch"}, nil)
		if r := s.do("POST", "/api/v1/reports", public, ct, body, nil); r.Status != http.StatusForbidden {
			t.Errorf("API: %d %s, want 403", r.Status, r.Body)
		}
		if n := s.count("reports"); n != reports {
			t.Errorf("%d reports filed", n-reports)
		}
	})

	// A client that goes away in the middle of its second photo: the first,
	// stored already, is deleted; no report, no object stays.
	t.Run("client gone mid-upload", func(t *testing.T) {
		reports := s.count("reports")
		for _, c := range []struct{ path, fields, file string }{
			{"/api/v1/reports", "--b\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\ntiefbau\r\n", "photo"},
			{"/open311/v2/requests.json", "--b\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\n" + s.token + "\r\n", "media"},
		} {
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			part := func(n int) string {
				return fmt.Sprintf("--b\r\nContent-Disposition: form-data; name=%q; filename=\"%d.jpg\"\r\n\r\n", c.file, n)
			}
			body := c.fields + part(1) + string(photo) + "\r\n" + part(2) + string(photo[:len(photo)/2])
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n%s",
				c.path, s.token, len(body)+len(photo), body)
			time.Sleep(time.Second) // the first photo is stored
			conn.Close()
		}
		s.waitOnlyReferencedObjects()
		if n := s.count("reports"); n != reports {
			t.Errorf("%d reports from uploads cut off", n-reports)
		}
	})

	// An HTML checkbox sends urgent=on, which was read as not urgent.
	t.Run("urgent from a checkbox", func(t *testing.T) {
		body, ct := multipartBody(map[string]string{"to": "tiefbau", "text": "Wasserrohrbruch", "urgent": "on"}, nil)
		r := s.do("POST", "/api/v1/reports", s.token, ct, body, nil)
		if r.Status != http.StatusAccepted {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		var urgent bool
		if err := s.query(`SELECT urgent FROM reports WHERE case_number = $1`, r.JSON["case_number"]).Scan(&urgent); err != nil || !urgent {
			t.Errorf("urgent=on stored as urgent=%v (%v)", urgent, err)
		}
	})

	// HEAD was 405 everywhere (a load balancer's HEAD health check failed).
	t.Run("HEAD", func(t *testing.T) {
		for _, c := range []struct {
			path, token string
			status      int
		}{{"/healthz", "", 200}, {"/api/v1/reports/" + reportID, s.token, 200}, {"/api/v1/reports/" + reportID, "", 401}, {"/open311/v2/services.json", "", 200}} {
			r := s.do("HEAD", c.path, c.token, "", nil, nil)
			if r.Status != c.status || r.Body != "" {
				t.Errorf("HEAD %s: %d %q, want %d without content", c.path, r.Status, r.Body, c.status)
			}
		}
		// HEAD of the event stream ends with its header fields: the next
		// request on the connection is answered at once.
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "HEAD /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", disp)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(conn)
		var statuses []string
		for len(statuses) < 2 {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Errorf("HEAD /api/v1/events, then GET /healthz on the connection: %v after %q", err, statuses)
				break
			}
			if strings.HasPrefix(line, "HTTP/1.1 ") {
				statuses = append(statuses, strings.TrimSpace(line))
			}
		}
		if len(statuses) == 2 && (statuses[0] != "HTTP/1.1 200 OK" || statuses[1] != "HTTP/1.1 200 OK") {
			t.Errorf("HEAD /api/v1/events, GET /healthz: %q", statuses)
		}
	})

	t.Run("two Authorization headers", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.base+"/api/v1/incidents/"+caseNo, nil)
		req.Header.Add("Authorization", "Bearer "+s.token)
		req.Header.Add("Authorization", "Bearer "+disp)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("two Authorization headers: %d, want 400", resp.StatusCode)
		}
	})

	// A body declared larger than the limit was read (and its files
	// stored) up to the limit before 413; an Open311 body that stalls was
	// waited for without end.
	t.Run("declared too large, stalled", func(t *testing.T) {
		answer := func(path, contentLength string, wait time.Duration) string {
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %s\r\n\r\n"+
				"--b\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\n%s\r\n--b\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.jpg\"\r\n\r\n\xff\xd8\xff",
				path, s.token, contentLength, s.token)
			_ = conn.SetReadDeadline(time.Now().Add(wait))
			line, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil {
				return err.Error()
			}
			return strings.TrimSpace(line)
		}
		for _, path := range []string{"/api/v1/reports", "/open311/v2/requests.json"} {
			if got := answer(path, "1000000000000", 5*time.Second); got != "HTTP/1.1 413 Request Entity Too Large" {
				t.Errorf("%s, 1 TB declared: %q, want 413 at once", path, got)
			}
		}
		// Bodies declared and never sent, all at once: each is answered
		// within http's 15 s grace; before, all but the API's report
		// upload held their connection for ever (net/http waits for an
		// unread body of up to 256 KiB before it answers).
		stall := func(request string) string {
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
			if err != nil {
				return err.Error()
			}
			defer conn.Close()
			fmt.Fprint(conn, request)
			_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			line, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil {
				return err.Error()
			}
			return strings.TrimSpace(line)
		}
		var open311, healthz, reply string
		var wg sync.WaitGroup
		wg.Go(func() { open311 = answer("/open311/v2/requests.json", "100000", 30*time.Second) })
		wg.Go(func() { healthz = stall("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n") })
		wg.Go(func() {
			reply = stall("POST /api/v1/incidents/" + caseNo + "/reply HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + disp +
				"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"text\":")
		})
		wg.Wait()
		if open311 != "HTTP/1.1 408 Request Timeout" {
			t.Errorf("stalled Open311 body: %q, want 408 after 15 s", open311)
		}
		if healthz != "HTTP/1.1 200 OK" {
			t.Errorf("GET /healthz with a body never sent: %q, want 200 after 15 s", healthz)
		}
		if reply != "HTTP/1.1 408 Request Timeout" {
			t.Errorf("a reply whose body stalls: %q, want 408 after 15 s", reply)
		}
		// Everyone else is still served.
		if code, out := s.call("GET", "/api/v1/reports/"+reportID, s.token); code != http.StatusOK {
			t.Errorf("after the attacks: %d %v", code, out)
		}
	})
}
