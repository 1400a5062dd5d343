package main

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestAttachmentRefusalTexts: an attachment over its type's limit (a
// 51 MiB JPEG; JPEGs may have 50 MiB) and one of a type not allowed (an
// executable, an HTML page) are refused with the limit and the detected
// type worded from the catalogue: over HTTP as a problem detail in the
// Accept-Language's language, over XMPP as a German reply from the
// function address. Nothing of them is stored.
func TestAttachmentRefusalTexts(t *testing.T) {
	photo, err := os.ReadFile(testsvc.Photo(t, "gps_ne.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	big := append(append([]byte{}, photo...), make([]byte, 51<<20)...)
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00"), make([]byte, 512)...)
	html := []byte("<!DOCTYPE html><html><body>x</body></html>")
	files := map[string][]byte{"/big.jpg": big, "/tool.jpg": exe, "/page.jpg": html}
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg") // claimed; the gateway sniffs
		_, _ = w.Write(b)
	}))
	t.Cleanup(host.Close)
	s := xmppStack(t, map[string]string{
		"FIELDGATE_HTTP_MAX_BODY_BYTES":       "60000000",
		"FIELDGATE_XMPP_MAX_ATTACHMENT_BYTES": "60000000",
		"FIELDGATE_XMPP_UPLOAD_HOSTS":         "http://" + testsvc.XMPP(t).HTTP + ",http://" + host.Listener.Addr().String(),
	})

	cases := []struct {
		name, lang string
		file       []byte
		status     int
		slug       string
		want       []string
	}{
		{"too large de", "de", big, 413, "attachment-too-large", []string{"image/jpeg", "50,0 MiB", "nichts wurde gespeichert"}},
		{"too large en", "en-GB,en;q=0.8", big, 413, "attachment-too-large", []string{"image/jpeg", "50.0 MiB", "nothing was stored"}},
		{"executable de", "de", exe, 415, "attachment-type", []string{"Dateityp application/octet-stream", "nicht erlaubt", "image/jpeg"}},
		{"executable en", "en", exe, 415, "attachment-type", []string{"file type application/octet-stream", "not allowed", "image/jpeg"}},
		{"html de", "de", html, 415, "attachment-type", []string{"text/html", "nicht erlaubt"}},
		{"html en", "en", html, 415, "attachment-type", []string{"text/html", "not allowed"}},
	}
	for _, c := range cases {
		t.Run("http "+c.name, func(t *testing.T) {
			var b bytes.Buffer
			w := multipart.NewWriter(&b)
			_ = w.WriteField("to", "tiefbau")
			_ = w.WriteField("text", "Anhangtest "+c.name)
			fw, _ := w.CreateFormFile("photo", "foto.jpg")
			_, _ = fw.Write(c.file)
			_ = w.Close()
			req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/reports", &b)
			req.Header.Set("Content-Type", w.FormDataContentType())
			req.Header.Set("Authorization", "Bearer "+s.token)
			req.Header.Set("Accept-Language", c.lang)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, c.status, out)
			}
			if out["type"] != "urn:fieldgate:problem:"+c.slug {
				t.Errorf("type %v, want slug %s", out["type"], c.slug)
			}
			detail, _ := out["detail"].(string)
			for _, want := range c.want {
				if !strings.Contains(detail, want) {
					t.Errorf("detail %q lacks %q", detail, want)
				}
			}
			if strings.Contains(detail, "media:") {
				t.Errorf("detail %q passes the media error text through", detail)
			}
		})
	}
	if n := s.count("reports"); n != 0 {
		t.Errorf("%d reports stored by refused requests", n)
	}
	if n := s.originals(); n != 0 {
		t.Errorf("%d originals left by refused requests", n)
	}

	reporter := testsvc.Login(t, testsvc.User(t))
	to := s.address("tiefbau")
	for _, c := range []struct{ path, want string }{
		{"/big.jpg", "zu groß, höchstens 50,0 MiB für image/jpeg"},
		{"/tool.jpg", "Dateityp application/octet-stream nicht erlaubt"},
		{"/page.jpg", "Dateityp text/html; charset=utf-8 nicht erlaubt"},
	} {
		url := host.URL + c.path
		reporter.SendReport(to, "", "Anhangtest "+c.path+" "+url, url)
		reply := reporter.WaitMessage(120*time.Second, "the refusal of "+c.path+" ("+c.want+")", func(m testsvc.Message) bool {
			return strings.Contains(m.Body, "Anhang konnte nicht übernommen werden ("+c.want+")")
		})
		if bare := strings.SplitN(reply.From, "/", 2)[0]; !strings.EqualFold(bare, to) {
			t.Errorf("%s: reply from %q, want the function address %s", c.path, reply.From, to)
		}
	}
	if n := s.originals(); n != 0 {
		t.Errorf("%d originals left by refused attachments", n)
	}
}
