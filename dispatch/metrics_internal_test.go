package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river/rivertype"

	"github.com/fieldgate/fieldgate/media"
)

func TestClassifyDependencyError(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("read: %w", media.ErrUnavailable), DependencyS3},
		{fmt.Errorf("type: %w", media.ErrTypeNotAllowed), ""},
		{&pgconn.PgError{Code: "23505"}, ""},                                      // unique violation: logic, not an outage
		{fmt.Errorf("q: %w", &pgconn.PgError{Code: "57P01"}), DependencyPostgres}, // admin shutdown
		{&pgconn.PgError{Code: "53300"}, DependencyPostgres},                      // too many connections
		{io.ErrUnexpectedEOF, ""},
		{ErrNotFound, ""},
	} {
		if got := classifyDependencyError(c.err); got != c.want {
			t.Errorf("classify(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestJobMetricsHook(t *testing.T) {
	m := newMetrics()
	now := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	h := &jobMetricsHook{m: m, now: func() time.Time { return now }}
	attempted := now.Add(-2 * time.Second)
	post := &rivertype.JobRow{Queue: queueXMPP, Kind: "room_post", CreatedAt: now.Add(-time.Minute),
		ScheduledAt: now.Add(-5 * time.Second), AttemptedAt: &attempted}
	if err := h.WorkBegin(context.Background(), post); err != nil {
		t.Fatal(err)
	}
	if err := h.WorkEnd(context.Background(), post, nil); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("not connected")
	if err := h.WorkEnd(context.Background(), post, boom); !errors.Is(err, boom) {
		t.Fatalf("WorkEnd changed the error: %v", err)
	}
	if v := testutil.ToFloat64(m.roomPosts); v != 1 {
		t.Errorf("room posts = %v, want 1 (the failed attempt does not count)", v)
	}
	if v := testutil.ToFloat64(m.depErrors.WithLabelValues(DependencyXMPP)); v != 1 {
		t.Errorf("xmpp errors = %v, want 1", v)
	}
	if v := testutil.ToFloat64(m.jobs.WithLabelValues(queueXMPP, "room_post", "error")); v != 1 {
		t.Errorf("failed room_post jobs = %v, want 1", v)
	}
	// Due 5 s before it started 2 s ago: 3 s of queue latency.
	if got := histogramSum(t, m, queueXMPP); got != 3 {
		t.Errorf("queue wait sum = %v s, want 3", got)
	}
}

func histogramSum(t *testing.T, m *metrics, queue string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.jobWait)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range mfs {
		for _, s := range f.GetMetric() {
			if s.GetLabel()[0].GetValue() == queue {
				return s.GetHistogram().GetSampleSum()
			}
		}
	}
	return -1
}

func TestCommandAppliedObservesLifecycleTimes(t *testing.T) {
	m := newMetrics()
	created := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	inc := Incident{Team: "tiefbau", CreatedAt: created, State: StateAcknowledged}
	m.commandApplied(CommandResult{Incident: inc, Outcome: OutcomeApplied}, created.Add(2*time.Minute))
	m.commandApplied(CommandResult{Incident: inc, Outcome: OutcomeAlreadyTaken}, created.Add(3*time.Minute))
	inc.State = StateResolved
	m.commandApplied(CommandResult{Incident: inc, Outcome: OutcomeApplied}, created.Add(time.Hour))
	if n := testutil.CollectAndCount(m.timeToAck); n != 1 {
		t.Fatalf("time to ack series = %d", n)
	}
	want := `
# HELP fieldgate_incident_time_to_resolve_seconds Time from an incident's creation to its resolution, by team.
# TYPE fieldgate_incident_time_to_resolve_seconds histogram
fieldgate_incident_time_to_resolve_seconds_bucket{team="tiefbau",le="300"} 0
fieldgate_incident_time_to_resolve_seconds_bucket{team="tiefbau",le="900"} 0
fieldgate_incident_time_to_resolve_seconds_bucket{team="tiefbau",le="1800"} 0
fieldgate_incident_time_to_resolve_seconds_bucket{team="tiefbau",le="3600"} 1
fieldgate_incident_time_to_resolve_seconds_bucket{team="tiefbau",le="7200"} 1
fieldgate_incident_time_to_resolve_seconds_bucket{team="tiefbau",le="14400"} 1
fieldgate_incident_time_to_resolve_seconds_bucket{team="tiefbau",le="28800"} 1
fieldgate_incident_time_to_resolve_seconds_bucket{team="tiefbau",le="86400"} 1
fieldgate_incident_time_to_resolve_seconds_bucket{team="tiefbau",le="172800"} 1
fieldgate_incident_time_to_resolve_seconds_bucket{team="tiefbau",le="604800"} 1
fieldgate_incident_time_to_resolve_seconds_bucket{team="tiefbau",le="+Inf"} 1
fieldgate_incident_time_to_resolve_seconds_sum{team="tiefbau"} 3600
fieldgate_incident_time_to_resolve_seconds_count{team="tiefbau"} 1
`
	if err := testutil.CollectAndCompare(m.timeToResolve, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestAcceptedCountsReportsOnce(t *testing.T) {
	m := newMetrics()
	m.accepted(ChannelXMPP, "tiefbau", ModeNew)
	m.accepted(ChannelXMPP, "tiefbau", ModeAppended)
	m.accepted(ChannelXMPP, "tiefbau", ModeFollowUp)
	if v := testutil.ToFloat64(m.reportsAccepted.WithLabelValues(ChannelXMPP, "tiefbau")); v != 1 {
		t.Errorf("reports = %v, want 1", v)
	}
	if n := testutil.CollectAndCount(m.messagesAccepted); n != 3 {
		t.Errorf("message series = %d, want 3 (one per mode)", n)
	}
}
