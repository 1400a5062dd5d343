package dispatch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/oncall"
)

// TestEscalationDoesNotWaitForCalendarServer: the schedule's calendar
// server hangs; the escalation step still alerts at once, from memory
// (here the rotation, since the calendar never loaded), and never fetches
// while it holds the incident's row lock.
func TestEscalationDoesNotWaitForCalendarServer(t *testing.T) {
	pool := testsvc.Pool(t)
	release := make(chan struct{})
	var requests atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets the handler end before Close waits for it

	rulesPath := filepath.Join(t.TempDir(), "rules.yaml")
	rules := strings.Replace(lifecycleRules, "ics: kalender.ics", "ics: "+srv.URL+"/plan.ics?token=geheim", 1)
	if err := os.WriteFile(rulesPath, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := oncall.NewDirectory(oncall.DirectoryConfig{
		Fetcher: oncall.NewFetcher(oncall.FetchConfig{TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig, AllowLoopback: true, Timeout: time.Minute}),
		Logger:  discard(),
	})
	rec := &recorder{}
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, Rules: lifecycleEngine(t, rulesPath), Messenger: rec, Logger: discard(), OnCall: dir},
		dispatch.Config{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start(t, svc)
	began := time.Now()
	r, err := svc.Intake(context.Background(), dispatch.NewReport{Channel: "api", Address: "nacht", Sender: "token:app", Text: "Tür aufgebrochen"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the 1:1 alert to the rotation's person", func() bool {
		_, c := rec.snapshot()
		return chatsTo(c, "fallback@stadt.localhost", "Eskalation Stufe 1: "+r.CaseNumber) == 1
	})
	if requests.Load() == 0 {
		t.Error("the directory never asked the calendar server (the test proves nothing)")
	}
	if el := time.Since(began); el > 15*time.Second {
		t.Errorf("the alert took %v although its step is due after 500ms", el)
	}
}
