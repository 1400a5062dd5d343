package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/api"
	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/routing"
)

type consoleEnv struct {
	svc   *dispatch.Service
	srv   *httptest.Server
	feed  *dispatch.ChangeFeed
	token map[string]string
}

func newConsoleEnv(t *testing.T) *consoleEnv {
	t.Helper()
	pool := testsvc.Pool(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, file, _, _ := runtime.Caller(0)
	rules, err := routing.NewEngine(filepath.Join(filepath.Dir(file), "..", "deploy", "demo", "rules.yaml"), log)
	if err != nil {
		t.Fatal(err)
	}
	// A messenger's parts join their case within a minute, as by default:
	// a test's next message must not start a case of its own because a
	// loaded machine took longer than a short window between two intakes.
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, Rules: rules, Logger: log},
		dispatch.Config{PollInterval: 50 * time.Millisecond, AssemblyWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	feed := svc.NewChangeFeed()
	go func() { _ = feed.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		sctx, c2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer c2()
		_ = svc.Stop(sctx)
	})
	<-feed.Listening()
	srv := httptest.NewServer(api.New(svc, nil, rules, api.Config{Changes: feed}, log).Handler())
	t.Cleanup(srv.Close)
	e := &consoleEnv{svc: svc, srv: srv, feed: feed, token: map[string]string{}}
	for name, role := range map[string]string{"disp": "dispatcher", "tief": "team:tiefbau", "gruen": "team:gruenflaechen", "app": "reporter"} {
		tok, err := svc.CreateToken(ctx, name, []string{role}, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		e.token[name] = tok
	}
	return e
}

func (e *consoleEnv) get(t *testing.T, who, path string, into any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.token[who])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatalf("GET %s: decode: %v", path, err)
		}
	}
	return resp.StatusCode
}

func (e *consoleEnv) file(t *testing.T, to, text string, lat, lon float64) string {
	t.Helper()
	ctx := context.Background()
	r, err := e.svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: to, Sender: "token:app", Text: text,
		Position: &dispatch.Position{Lat: lat, Lon: lon}, PositionSource: dispatch.SourceAPI})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		inc, err := e.svc.Incident(ctx, r.CaseNumber)
		if err == nil && inc.Team != "" {
			return r.CaseNumber
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never routed", r.CaseNumber)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type page struct {
	Items []struct {
		CaseNumber string `json:"case_number"`
		Team       string `json:"team"`
		Text       string `json:"text"`
	} `json:"items"`
	Next string `json:"next"`
}

func TestIncidentListAndDetailByRole(t *testing.T) {
	e := newConsoleEnv(t)
	hole := e.file(t, "tiefbau", "Schlagloch vor Nr. 12", 51.04, 7.58)
	tree := e.file(t, "info", "Baum umgestürzt", 51.03, 7.57)

	var p page
	if st := e.get(t, "disp", "/api/v1/incidents", &p); st != 200 || len(p.Items) != 2 {
		t.Fatalf("dispatcher list: %d %+v", st, p)
	}
	p = page{}
	if st := e.get(t, "tief", "/api/v1/incidents", &p); st != 200 || len(p.Items) != 1 || p.Items[0].CaseNumber != hole {
		t.Fatalf("tiefbau member list: %d %+v, want only %s", st, p, hole)
	}
	p = page{}
	if st := e.get(t, "disp", "/api/v1/incidents?q=baum&limit=1", &p); st != 200 || len(p.Items) != 1 || p.Items[0].CaseNumber != tree || p.Next != "" {
		t.Errorf("search: %d %+v", st, p)
	}
	var prob api.Problem
	if st := e.get(t, "disp", "/api/v1/incidents?max_age=soon", &prob); st != 400 || !strings.Contains(prob.Detail, "max_age") {
		t.Errorf("bad max_age: %d %+v", st, prob)
	}
	if st := e.get(t, "app", "/api/v1/incidents", nil); st != 403 {
		t.Errorf("reporter token lists incidents: %d", st)
	}

	var d struct {
		CaseNumber string `json:"case_number"`
		Text       string `json:"text"`
		Position   *struct {
			Source string   `json:"source"`
			Flags  []string `json:"flags"`
		} `json:"position"`
		Timeline []struct {
			Kind  string `json:"kind"`
			Actor string `json:"actor"`
		} `json:"timeline"`
	}
	if st := e.get(t, "tief", "/api/v1/incidents/"+hole, &d); st != 200 || d.Text != "Schlagloch vor Nr. 12" || d.Position == nil || d.Position.Source != "api" || len(d.Timeline) < 2 {
		t.Fatalf("detail for the team: %d %+v", st, d)
	}
	if d.Timeline[0].Kind != "received" || d.Timeline[0].Actor != "reporter" {
		t.Errorf("team members must not see the reporter's identity: %+v", d.Timeline[0])
	}
	// Another team's case and a missing case answer alike.
	var other, missing api.Problem
	st1 := e.get(t, "gruen", "/api/v1/incidents/"+hole, &other)
	st2 := e.get(t, "gruen", "/api/v1/incidents/2026-999999", &missing)
	if st1 != 404 || st2 != 404 || other != missing {
		t.Errorf("other team's case %d %+v vs missing %d %+v: must be indistinguishable", st1, other, st2, missing)
	}
}

func TestEventStreamFiltersByViewer(t *testing.T) {
	e := newConsoleEnv(t)
	open := func(who string) (*bufio.Scanner, func()) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+e.token[who])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("events for %s: %d %s", who, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return bufio.NewScanner(resp.Body), func() { resp.Body.Close() }
	}
	gruen, closeGruen := open("gruen")
	defer closeGruen()
	tief, closeTief := open("tief")
	defer closeTief()

	hole := e.file(t, "tiefbau", "Schlagloch", 51.04, 7.58)
	tree := e.file(t, "info", "Baum umgestürzt", 51.03, 7.57)

	// The first event of a stream is its heartbeat, with the interval.
	for who, sc := range map[string]*bufio.Scanner{"gruen": gruen, "tief": tief} {
		var event, data string
		for sc.Scan() && data == "" {
			if v, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				event = v
			}
			if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				data = v
			}
		}
		var hb struct {
			IntervalMS int64 `json:"interval_ms"`
		}
		if event != "heartbeat" || json.Unmarshal([]byte(data), &hb) != nil || hb.IntervalMS != 15000 {
			t.Fatalf("first event for %s: %q %s, want a heartbeat with interval_ms 15000", who, event, data)
		}
	}
	firstCase := func(sc *bufio.Scanner) string {
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				event = v
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok && event == "incident" {
				var ch struct {
					Incident struct {
						CaseNumber string `json:"case_number"`
					} `json:"incident"`
				}
				if err := json.Unmarshal([]byte(data), &ch); err != nil {
					t.Fatalf("event data %q: %v", data, err)
				}
				return ch.Incident.CaseNumber
			}
		}
		t.Fatal("stream ended")
		return ""
	}
	done := make(chan [2]string)
	go func() { done <- [2]string{firstCase(tief), firstCase(gruen)} }()
	select {
	case got := <-done:
		if got[0] != hole || got[1] != tree {
			t.Errorf("tiefbau saw %s first (want %s), gruenflaechen saw %s first (want %s)", got[0], hole, got[1], tree)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no events")
	}
}
