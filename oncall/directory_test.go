package oncall_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/oncall"
	"github.com/fieldgate/fieldgate/routing"
)

func dirRules(t *testing.T, ics string) (*routing.RuleSet, string) {
	t.Helper()
	dir := t.TempDir()
	rules := "version: 1\ntimezone: Europe/Berlin\nschedules:\n  plan:\n    ics: " + ics + "\n" +
		"    rotation: [rot@stadt.localhost]\n    start: 2026-01-05T08:00\n" +
		"teams:\n  t:\n    room: t@conference.stadt.localhost\n    oncall: plan\ndefault:\n  team: t\n"
	p := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(p, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := routing.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return rs, dir
}

func writePlan(t *testing.T, dir, person string) {
	t.Helper()
	ics := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:d\r\nDTSTART:20261103T000000Z\r\nDURATION:P1D\r\nSUMMARY:" + person + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if err := os.WriteFile(filepath.Join(dir, "plan.ics"), []byte(ics), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The directory answers from memory; only Refresh loads, on its TTL, and
// a failed reload keeps the last good copy.
func TestDirectoryAnswersFromMemory(t *testing.T) {
	rs, dir := dirRules(t, "plan.ics")
	sched, _ := rs.Schedule("plan")
	now := ocUTC(t, "2026-11-03T12:00")
	var clock sync.Mutex
	d := oncall.NewDirectory(oncall.DirectoryConfig{TTL: time.Hour, RetryAfter: time.Minute, Now: func() time.Time {
		clock.Lock()
		defer clock.Unlock()
		return now
	}})
	advance := func(by time.Duration) { clock.Lock(); now = now.Add(by); clock.Unlock() }
	ctx := context.Background()
	who := func() (string, string) {
		a, _ := d.Lookup(rs, sched, ocUTC(t, "2026-11-03T12:00"))
		return a.Person, a.Note
	}
	writePlan(t, dir, "a@x.example")
	if p, note := who(); p != "rot@stadt.localhost" || !strings.Contains(note, "not loaded") {
		t.Fatalf("before any refresh: %q %q, want the rotation and a note", p, note)
	}
	if err := d.Refresh(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if p, note := who(); p != "a@x.example" || note != "" {
		t.Fatalf("after refresh: %q %q", p, note)
	}
	writePlan(t, dir, "b@x.example")
	if err := d.Refresh(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if p, _ := who(); p != "a@x.example" {
		t.Errorf("within TTL: %q, want the loaded a@x.example", p)
	}
	advance(time.Hour)
	_ = d.Refresh(ctx, rs)
	if p, _ := who(); p != "b@x.example" {
		t.Errorf("after TTL: %q, want b@x.example", p)
	}
	if err := os.WriteFile(filepath.Join(dir, "plan.ics"), []byte("kaputt"), 0o644); err != nil {
		t.Fatal(err)
	}
	advance(time.Hour)
	if err := d.Refresh(ctx, rs); !errors.Is(err, oncall.ErrInvalid) {
		t.Errorf("broken reload: %v, want ErrInvalid", err)
	}
	if p, note := who(); p != "b@x.example" || note != "" {
		t.Errorf("after a failed reload: %q %q, want the last good b@x.example", p, note)
	}
	if cal, err := d.Calendar(rs, sched); cal == nil || !errors.Is(err, oncall.ErrInvalid) {
		t.Errorf("Calendar: %v %v, want the old copy and the reload error", cal, err)
	}
	writePlan(t, dir, "c@x.example")
	advance(30 * time.Second)
	_ = d.Refresh(ctx, rs)
	if p, _ := who(); p != "b@x.example" {
		t.Errorf("within RetryAfter of the failure: %q, want no retry yet", p)
	}
	advance(30 * time.Second)
	_ = d.Refresh(ctx, rs)
	if p, _ := who(); p != "c@x.example" {
		t.Errorf("after RetryAfter: %q, want c@x.example", p)
	}
}

// Lookups never fetch: while a refresh hangs on a slow calendar server,
// lookups answer at once (escalation holds a row lock while it asks).
func TestDirectoryLookupNeverWaitsForFetch(t *testing.T) {
	release := make(chan struct{})
	var requests atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		<-release
		w.Write([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20261103T000000Z\r\nDURATION:P1D\r\nSUMMARY:fern@x.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	}))
	defer srv.Close()
	defer close(release)
	rs, _ := dirRules(t, srv.URL+"/plan.ics?token=geheim")
	sched, _ := rs.Schedule("plan")
	d := oncall.NewDirectory(oncall.DirectoryConfig{Fetcher: testFetcher(srv)})
	at := ocUTC(t, "2026-11-03T12:00")
	for range 100 {
		d.Lookup(rs, sched, at)
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("lookups fetched %d times", n)
	}
	done := make(chan error)
	go func() { done <- d.Refresh(context.Background(), rs) }()
	for requests.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	for range 8 { // concurrent lookups during the hanging refresh, under -race
		wg.Go(func() {
			start := time.Now()
			a, ok := d.Lookup(rs, sched, at)
			if el := time.Since(start); el > 5*time.Second || !ok || a.Person != "rot@stadt.localhost" {
				t.Errorf("lookup during a hanging fetch: %+v %v after %v", a, ok, el)
			}
		})
	}
	wg.Wait()
	release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if a, _ := d.Lookup(rs, sched, at); a.Person != "fern@x.example" {
		t.Errorf("after the refresh: %+v", a)
	}
}

// Run refreshes on start and when a lookup misses, until its context ends.
func TestDirectoryRun(t *testing.T) {
	rs, dir := dirRules(t, "plan.ics")
	writePlan(t, dir, "gil@x.example")
	sched, _ := rs.Schedule("plan")
	d := oncall.NewDirectory(oncall.DirectoryConfig{RetryAfter: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { d.Run(ctx, func() *routing.RuleSet { return rs }); close(stopped) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if a, _ := d.Lookup(rs, sched, ocUTC(t, "2026-11-03T12:00")); a.Person == "gil@x.example" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not load the calendar")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
