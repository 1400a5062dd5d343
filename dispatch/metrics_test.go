package dispatch_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// clock is an injected clock the test moves forward.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// gather returns the families of reg by name.
func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// value finds the sample of family name whose labels include want, and
// returns its value (counter, gauge, or histogram sample count), or -1.
func value(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mf := gather(t, reg)[name]
	if mf == nil {
		return -1
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestMetricsCountReportsNotMessages runs reports through a real database
// and checks what /metrics would show: a report of two XMPP messages counts
// once, a take observes the time to acknowledge on the injected clock, and
// the gauges read open incidents and the job queue from PostgreSQL.
func TestMetricsCountReportsNotMessages(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	clk := &clock{t: time.Now()}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec,
		Config: dispatch.Config{AssemblyWindow: 300 * time.Millisecond, Now: clk.Now}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(svc.Collectors()...)
	ctx := context.Background()

	pos := &dispatch.Position{Lat: 51.025, Lon: 7.59194}
	first, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau",
		Sender: "streife1@stadt.localhost", IdempotencyKey: "m1", Text: "Schlagloch", Position: pos, PositionSource: dispatch.SourceGeoURI})
	if err != nil {
		t.Fatal(err)
	}
	second, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau",
		Sender: "streife1@stadt.localhost", IdempotencyKey: "m2", Text: "vor Nr. 12"})
	if err != nil {
		t.Fatal(err)
	}
	if second.Mode != dispatch.ModeAppended || second.CaseNumber != first.CaseNumber {
		t.Fatalf("second message: mode %s case %s, want appended to %s", second.Mode, second.CaseNumber, first.CaseNumber)
	}
	if _, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau",
		Sender: "token:app", Text: "Ampel aus", Position: pos, PositionSource: dispatch.SourceAPI}); err != nil {
		t.Fatal(err)
	}
	if v := value(t, reg, "fieldgate_reports_accepted_total", map[string]string{"channel": "xmpp", "address": "tiefbau"}); v != 1 {
		t.Errorf("xmpp reports accepted = %v, want 1 (two messages, one report)", v)
	}
	if v := value(t, reg, "fieldgate_messages_accepted_total", map[string]string{"channel": "xmpp", "mode": "appended"}); v != 1 {
		t.Errorf("appended xmpp messages = %v, want 1", v)
	}
	if v := value(t, reg, "fieldgate_reports_accepted_total", map[string]string{"channel": "api"}); v != 1 {
		t.Errorf("api reports accepted = %v, want 1", v)
	}
	// Before the queue runs, both incidents wait in state received and
	// the processing jobs of all three messages are in the default queue
	// (a part is processed on its own: it completes the case in place).
	if v := value(t, reg, "fieldgate_incidents_open", map[string]string{"state": "received"}); v != 2 {
		t.Errorf("open received incidents = %v, want 2", v)
	}
	if v := value(t, reg, "fieldgate_queue_jobs", map[string]string{"queue": "default", "state": "available"}) +
		value(t, reg, "fieldgate_queue_jobs", map[string]string{"queue": "default", "state": "scheduled"}); v != 3 {
		t.Errorf("default queue jobs waiting = %v, want 3", v)
	}

	start(t, svc)
	waitFor(t, "two room posts counted", func() bool {
		return value(t, reg, "fieldgate_room_posts_total", nil) == 2
	})
	if v := value(t, reg, "fieldgate_incidents_open", map[string]string{"team": "tiefbau", "state": "routed"}); v != 2 {
		t.Errorf("routed tiefbau incidents = %v, want 2", v)
	}
	waitFor(t, "three process_report jobs ok (the part waits for its case)", func() bool {
		return value(t, reg, "fieldgate_jobs_total", map[string]string{"queue": "default", "kind": "process_report", "outcome": "ok"}) == 3
	})
	// The sender's two replies go out directly after their commits, no
	// xmpp job (outbox.go).
	waitFor(t, "the sender's two replies", func() bool { _, chats := rec.snapshot(); return len(chats) == 2 })
	for _, kind := range []string{"chat_message", "chat_outbox"} {
		if v := value(t, reg, "fieldgate_jobs_total", map[string]string{"queue": "xmpp", "kind": kind, "outcome": "ok"}); v > 0 {
			t.Errorf("%s jobs = %v, want none", kind, v)
		}
	}

	clk.Add(90 * time.Second)
	if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: first.CaseNumber,
		Actor: "anna@stadt.localhost", Via: "api", Dispatcher: true}); err != nil {
		t.Fatal(err)
	}
	mf := gather(t, reg)["fieldgate_incident_time_to_acknowledge_seconds"]
	if mf == nil || len(mf.GetMetric()) != 1 {
		t.Fatalf("time to acknowledge: %v", mf)
	}
	h := mf.GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 1 || h.GetSampleSum() < 90 || h.GetSampleSum() > 95 {
		t.Errorf("time to acknowledge: %d samples, sum %.1fs, want 1 sample of about 90s", h.GetSampleCount(), h.GetSampleSum())
	}
	if v := value(t, reg, "fieldgate_incidents_open", map[string]string{"team": "tiefbau", "state": "acknowledged"}); v != 1 {
		t.Errorf("acknowledged incidents = %v, want 1", v)
	}
	if v := value(t, reg, "fieldgate_metrics_database_up", nil); v != 1 {
		t.Errorf("database gauges up = %v", v)
	}
	// The exposition passes the registry's consistency checks (pedantic)
	// and the linter's naming conventions.
	for _, c := range svc.Collectors() {
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint %s: %s", p.Metric, p.Text)
		}
	}
}
