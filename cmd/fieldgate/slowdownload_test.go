package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// trickleServer is an HTTP upload host that sends a photo's first 4 KiB at
// once and then 192 bytes every 100 ms (1.9 KiB/s, above the gateway's
// minimum rate of 1 KiB/s, so it keeps waiting; the whole photo would take
// about 25 s) until release is closed, then the rest.
type trickleServer struct {
	*httptest.Server
	started  chan struct{} // closed when the first bytes are out
	release  chan struct{} // close to send the rest at once
	finished atomic.Bool   // the whole photo was written
}

func newTrickleServer(t *testing.T, photo []byte) *trickleServer {
	ts := &trickleServer{started: make(chan struct{}), release: make(chan struct{})}
	var once atomic.Bool
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !once.CompareAndSwap(false, true) {
			http.Error(w, "once only", http.StatusGone)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-Length", strconv.Itoa(len(photo)))
		rc := http.NewResponseController(w)
		sent := 4096
		_, _ = w.Write(photo[:sent])
		_ = rc.Flush()
		close(ts.started)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for sent < len(photo) {
			select {
			case <-ts.release:
				_, _ = w.Write(photo[sent:])
				sent = len(photo)
			case <-tick.C:
				n := min(192, len(photo)-sent)
				_, _ = w.Write(photo[sent : sent+n])
				_ = rc.Flush()
				sent += n
			case <-r.Context().Done():
				return
			}
		}
		_ = rc.Flush()
		ts.finished.Store(true)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// TestXMPPSlowDownloadDoesNotBlockOthers: while one reporter's attachment
// trickles in from a slow upload host, other reporters' text reports are
// accepted and posted (the latency is logged next to one measured without
// the slow download; asserted is only "posted while the slow one is still
// downloading"). The slow report is then completed with its photo, and its
// reporter gets the receipt only after it is stored.
func TestXMPPSlowDownloadDoesNotBlockOthers(t *testing.T) {
	photo, err := os.ReadFile(testsvc.Photo(t, "gps_ne.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	slow := newTrickleServer(t, photo)
	s := xmppStack(t, map[string]string{
		"FIELDGATE_XMPP_UPLOAD_HOSTS": "http://" + testsvc.XMPP(t).HTTP + ",http://" + slow.Listener.Addr().String(),
	})
	room := testsvc.Room("tiefbau", s.suffix)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	anna.JoinRoom(room, "anna-"+s.suffix)
	to := s.address("tiefbau")
	posted := func(marker string) {
		t.Helper()
		anna.WaitMessage(60*time.Second, "the post of "+marker, func(m testsvc.Message) bool {
			return s.fromGateway(m) && strings.Contains(m.Body, marker)
		})
	}

	// The usual latency, without a slow download.
	// Seven other reporters: with stanza workers shared by hashed senders
	// (as before), one of them would share the slow one's worker.
	others := make([]*testsvc.Client, 7)
	for i := range others {
		others[i] = testsvc.Login(t, testsvc.User(t))
	}
	start := time.Now()
	others[0].SendReport(to, "", "Gullydeckel fehlt vorher-"+s.suffix, "")
	posted("vorher-" + s.suffix)
	usual := time.Since(start)

	// The slow one: the photo URL, as Conversations sends it.
	reporter := testsvc.Login(t, testsvc.User(t))
	originals := s.originals()
	url := slow.URL + "/upload/abc/foto.jpg"
	slowID := reporter.SendReport(to, "", url, url)
	select {
	case <-slow.started:
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway did not start the download within 30s")
	}
	for i, c := range others {
		marker := "waehrenddessen-" + strconv.Itoa(i) + "-" + s.suffix
		start := time.Now()
		c.SendReport(to, "", "Ampel ausgefallen "+marker, "")
		posted(marker)
		if slow.finished.Load() {
			t.Fatalf("sender %d: posted only after the slow download had finished (%v)", i, time.Since(start))
		}
		t.Logf("sender %d: posted in %v while the slow download runs (without it: %v)", i, time.Since(start).Round(time.Millisecond), usual.Round(time.Millisecond))
	}
	if slow.finished.Load() {
		t.Fatal("the slow download finished before the others were posted")
	}
	// No receipt for the slow report before it is stored.
	for _, m := range reporter.Messages() {
		if m.Received != nil && m.Received.ID == slowID {
			t.Fatal("receipt for the slow report before its photo was downloaded and stored")
		}
	}

	close(slow.release)
	reporter.WaitMessage(60*time.Second, "the slow report's receipt", func(m testsvc.Message) bool {
		return m.Received != nil && m.Received.ID == slowID
	})
	if n := s.originals() - originals; n != 1 {
		t.Errorf("%d originals stored for the slow report, want 1", n)
	}
	reply := reporter.WaitMessage(60*time.Second, "the case number", func(m testsvc.Message) bool {
		return strings.HasPrefix(m.Body, "Meldung ")
	})
	posted(caseFromReply(t, reply.Body))
}
