package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestMessengerPhotoStorageFullMidMessage: a messenger message with two
// photos whose first original's PUT is refused by the storage (507
// XMinioStorageFull, answered by a proxy in front of the real MinIO for
// that one PUT; the team copy's PUTs made from the held bytes meanwhile
// reach MinIO). The reporter is told in German that one attachment was
// not taken, the report is accepted with the other photo, and nothing of
// the refused one is left in the bucket (no original, and not the team
// copy and thumbnail that were stored while its PUT waited). Real fieldgate serve, PostgreSQL, Prosody, MinIO.
func TestMessengerPhotoStorageFullMidMessage(t *testing.T) {
	photo, err := os.ReadFile(testsvc.Photo(t, "messenger_450x600.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	var thirdGets atomic.Int32
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/upload/drei.jpg" {
			thirdGets.Add(1)
		}
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(photo)
	}))
	t.Cleanup(host.Close)

	target, err := url.Parse("http://" + testsvc.S3(t).Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int32
	var s *stack
	var mu sync.Mutex
	var early []string // the refused photo's team objects, made while its PUT waited (mu)
	upstream := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/orig/") && refused.CompareAndSwap(0, 1) {
			// The refusal comes once the team copy made from the held bytes is stored.
			mu.Lock()
			defer mu.Unlock()
			for deadline := time.Now().Add(20 * time.Second); len(early) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				early = slices.DeleteFunc(s.objects(), func(k string) bool { return !strings.HasPrefix(k, "team/") })
			}
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusInsufficientStorage)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>XMinioStorageFull</Code>` +
				`<Message>Storage backend has reached its minimum free drive threshold.</Message></Error>`))
			return
		}
		upstream.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)

	s = xmppStack(t, map[string]string{
		"FIELDGATE_S3_ENDPOINT":       proxy.Listener.Addr().String(),
		"FIELDGATE_XMPP_UPLOAD_HOSTS": "http://" + testsvc.XMPP(t).HTTP + ",http://" + host.Listener.Addr().String(),
	})
	reporter := testsvc.Login(t, testsvc.User(t))
	first, second := host.URL+"/upload/eins.jpg", host.URL+"/upload/zwei.jpg"
	reporter.SendReport(s.address("tiefbau"), "", "Zwei Fotos "+first+" "+second, first)
	reporter.WaitMessage(60*time.Second, "the refused attachment's notice", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, "Anhang konnte nicht übernommen werden")
	})
	reply := reporter.WaitMessage(60*time.Second, "the case number", func(m testsvc.Message) bool {
		return strings.HasPrefix(m.Body, "Meldung ")
	})
	caseNo := caseFromReply(t, reply.Body)
	mu.Lock()
	defer mu.Unlock()
	if refused.Load() != 1 || len(early) != 2 {
		t.Fatalf("the proxy refused %d PUTs, after team objects %v; want 1, after the refused photo's team copy and thumbnail", refused.Load(), early)
	}
	var media int
	if err := s.query(`SELECT count(*) FROM media_objects m JOIN reports r ON r.id = m.report_id WHERE r.case_number = $1`, caseNo).Scan(&media); err != nil {
		t.Fatal(err)
	}
	if media != 1 {
		t.Errorf("case %s has %d photos, want the one stored", caseNo, media)
	}
	// The stored photo's team copy and thumbnail are made; nothing else
	// is in the bucket.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var orig, team []string
		for _, k := range s.objects() {
			switch {
			case strings.HasPrefix(k, "orig/"):
				orig = append(orig, k)
			case strings.HasPrefix(k, "team/"):
				team = append(team, k)
			}
		}
		if len(orig) == 1 && len(team) == 2 {
			base := "team/" + strings.TrimSuffix(strings.TrimPrefix(orig[0], "orig/"), ".jpg")
			if !slices.ContainsFunc(team, func(k string) bool { return strings.HasPrefix(k, base) }) || slices.ContainsFunc(team, func(k string) bool { return slices.Contains(early, k) }) {
				t.Errorf("team objects %v are not the stored original %s's (the refused photo's were %v)", team, orig[0], early)
			}
			break
		}
		if len(orig) > 1 || len(team) > 2 || time.Now().After(deadline) {
			t.Fatalf("bucket holds originals %v and team objects %v, want the stored photo's original, team copy and thumbnail only", orig, team)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The same upload URL twice in the body and once as the out-of-band
	// link: one download, one photo, a new report (not a follow-up; the
	// same bytes as the first photo, so it is linked to that case).
	third := host.URL + "/upload/drei.jpg"
	reporter.SendReport(s.address("tiefbau"), "", "neu Noch ein Foto "+third+" "+third, third)
	caseRE := regexp.MustCompile(`\b\d{4}-\d{6}\b`)
	var dup string // a duplicate of the first photo: told it was linked to caseNo
	reporter.WaitMessage(60*time.Second, "the second case number", func(m testsvc.Message) bool {
		dup = caseRE.FindString(m.Body)
		return dup != "" && dup != caseNo
	})
	if err := s.query(`SELECT count(*) FROM media_objects m JOIN reports r ON r.id = m.report_id WHERE r.case_number = $1`,
		dup).Scan(&media); err != nil {
		t.Fatal(err)
	}
	if media != 1 || thirdGets.Load() != 1 {
		t.Errorf("a message naming one upload three times: %d downloads, %d photos stored; want 1, 1", thirdGets.Load(), media)
	}
}
