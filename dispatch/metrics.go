package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/fieldgate/fieldgate/media"
)

// Dependencies named in fieldgate_dependency_errors_total.
const (
	DependencyPostgres = "postgres"
	DependencyS3       = "s3"
	DependencyXMPP     = "xmpp"
)

// metrics are the domain's Prometheus metrics. Names follow the Prometheus
// conventions (https://prometheus.io/docs/practices/naming/): base units
// (seconds), _total for counters, no personal data in labels.
type metrics struct {
	reportsAccepted  *prometheus.CounterVec
	messagesAccepted *prometheus.CounterVec
	routed           *prometheus.CounterVec
	acks             *prometheus.CounterVec
	timeToAck        *prometheus.HistogramVec
	timeToResolve    *prometheus.HistogramVec
	escalations      *prometheus.CounterVec
	jobs             *prometheus.CounterVec
	jobWait          *prometheus.HistogramVec
	jobRun           *prometheus.HistogramVec
	roomPosts        prometheus.Counter
	depErrors        *prometheus.CounterVec
	reclaimed        *prometheus.CounterVec
	orphansDeleted   prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reportsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldgate_reports_accepted_total",
			Help: "Reports committed, by channel (api, xmpp) and function address. Counts reports, not messages: parts that join a report being assembled and follow-ups are in fieldgate_messages_accepted_total.",
		}, []string{"channel", "address"}),
		messagesAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldgate_messages_accepted_total",
			Help: "Accepted messages, by channel and mode (new: opened a report; appended: joined the report being assembled; followup: added to an open incident).",
		}, []string{"channel", "mode"}),
		routed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldgate_reports_routed_total", Help: "Reports routed, by team.",
		}, []string{"team"}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldgate_acks_total", Help: "Take/resolve commands, by action and outcome.",
		}, []string{"action", "outcome"}),
		orphansDeleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fieldgate_media_orphans_deleted_total", Help: "Objects under orig/ and team/ that no row referenced, deleted by the orphan sweep.",
		}),
		reclaimed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldgate_jobs_reclaimed_total", Help: "Running jobs of dead processes handed back to the queue (lease expired), by kind.",
		}, []string{"kind"}),
		timeToAck: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fieldgate_incident_time_to_acknowledge_seconds",
			Help:    "Time from an incident's creation to its acknowledgement (the take that completes it), by team.",
			Buckets: []float64{30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400},
		}, []string{"team"}),
		timeToResolve: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fieldgate_incident_time_to_resolve_seconds",
			Help:    "Time from an incident's creation to its resolution, by team.",
			Buckets: []float64{300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800},
		}, []string{"team"}),
		escalations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldgate_escalations_total",
			Help: "Escalation steps fired, by escalation policy and level (1 = the policy's first level).",
		}, []string{"policy", "level"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldgate_jobs_total",
			Help: "Jobs worked by this replica, by queue, kind and outcome (ok, error). An error is retried by the queue.",
		}, []string{"queue", "kind", "outcome"}),
		jobWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fieldgate_job_queue_wait_seconds",
			Help:    "Job latency: time from when a job was due to when a worker started it, by queue.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"queue"}),
		jobRun: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fieldgate_job_duration_seconds",
			Help:    "Time a worker spent on a job, by queue and kind.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"queue", "kind"}),
		roomPosts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fieldgate_room_posts_total",
			Help: "Messages posted to team rooms and reflected by the room (sent by the replica holding the XMPP component).",
		}),
		depErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldgate_dependency_errors_total",
			Help: "Errors talking to a dependency: postgres (connection-level errors), s3 (object store unavailable), xmpp (failed deliveries).",
		}, []string{"dependency"}),
	}
	for _, d := range []string{DependencyPostgres, DependencyS3, DependencyXMPP} {
		m.depErrors.WithLabelValues(d) // exported as 0 before the first error, so rate() works
	}
	return m
}

// accepted counts an accepted message; only one that opened a report
// counts as a report.
func (m *metrics) accepted(channel, address, mode string) {
	m.messagesAccepted.WithLabelValues(channel, mode).Inc()
	if mode == ModeNew {
		m.reportsAccepted.WithLabelValues(channel, address).Inc()
	}
}

// commandApplied observes the lifecycle times after a take or resolve.
func (m *metrics) commandApplied(res CommandResult, now time.Time) {
	if res.Outcome != OutcomeApplied || res.Incident.CreatedAt.IsZero() {
		return
	}
	d := now.Sub(res.Incident.CreatedAt).Seconds()
	switch res.Incident.State {
	case StateAcknowledged:
		m.timeToAck.WithLabelValues(res.Incident.Team).Observe(d)
	case StateResolved:
		m.timeToResolve.WithLabelValues(res.Incident.Team).Observe(d)
	}
}

// escalated counts a fired escalation step; level is 1-based.
func (m *metrics) escalated(policy string, level int) {
	m.escalations.WithLabelValues(policy, strconv.Itoa(level)).Inc()
}

// dependencyError counts err against the dependency it came from, if it is
// one of an unavailable dependency.
func (m *metrics) dependencyError(err error) {
	if dep := classifyDependencyError(err); dep != "" {
		m.depErrors.WithLabelValues(dep).Inc()
	}
}

// classifyDependencyError names the dependency that failed, or "" for an
// error that says nothing about a dependency (bad input, a conflict).
func classifyDependencyError(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, media.ErrUnavailable) {
		return DependencyS3
	}
	if isPostgresUnavailable(err) {
		return DependencyPostgres
	}
	return ""
}

// isPostgresUnavailable tells connection-level failures (network, server
// shutting down, out of resources) from query errors such as a unique
// violation, which the code handles as part of its logic. SQLSTATE classes
// 08, 53, 57 and 58 are the server's (PostgreSQL, Appendix A).
func isPostgresUnavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:2] {
		case "08", "53", "57", "58":
			return true
		}
		return false
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	return errors.As(err, &ne) || errors.As(err, &ce) || pgconn.SafeToRetry(err)
}

// jobMetricsHook observes every job river works: latency from due to
// start, run time, outcome, and delivered room posts.
type jobMetricsHook struct {
	river.HookDefaults
	m   *metrics
	now func() time.Time
}

var (
	_ rivertype.HookWorkBegin = (*jobMetricsHook)(nil)
	_ rivertype.HookWorkEnd   = (*jobMetricsHook)(nil)
)

func (h *jobMetricsHook) WorkBegin(_ context.Context, job *rivertype.JobRow) error {
	due := job.ScheduledAt
	if job.CreatedAt.After(due) {
		due = job.CreatedAt
	}
	start := h.now()
	if job.AttemptedAt != nil {
		start = *job.AttemptedAt
	}
	h.m.jobWait.WithLabelValues(job.Queue).Observe(max(0, start.Sub(due).Seconds()))
	return nil
}

func (h *jobMetricsHook) WorkEnd(_ context.Context, job *rivertype.JobRow, err error) error {
	if job.AttemptedAt != nil {
		h.m.jobRun.WithLabelValues(job.Queue, job.Kind).Observe(max(0, h.now().Sub(*job.AttemptedAt).Seconds()))
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
		if job.Queue == queueXMPP {
			h.m.depErrors.WithLabelValues(DependencyXMPP).Inc()
		} else {
			h.m.dependencyError(err)
		}
	} else if job.Kind == (roomPostArgs{}).Kind() {
		h.m.roomPosts.Inc()
	}
	h.m.jobs.WithLabelValues(job.Queue, job.Kind, outcome).Inc()
	return err
}

// Collectors returns the service's metrics for registration: the event
// counters and histograms of this replica, and a collector that reads the
// open incidents and the job queue from PostgreSQL on each scrape.
func (s *Service) Collectors() []prometheus.Collector {
	m := s.metric
	return append([]prometheus.Collector{m.reportsAccepted, m.messagesAccepted, m.routed, m.acks, m.timeToAck,
		m.timeToResolve, m.escalations, m.jobs, m.jobWait, m.jobRun, m.roomPosts, m.depErrors, m.reclaimed, m.orphansDeleted,
		&stateCollector{pool: s.pool, log: s.log, m: m}}, s.tok.collectors()...)
}

// PostgresErrorTracer is a pgx query tracer that counts connection-level
// errors of every query in fieldgate_dependency_errors_total. The pool is
// made before the service: set it as pgxpool.Config.ConnConfig.Tracer, then
// hand it to Service.CountPostgresErrors; errors before that are not counted.
type PostgresErrorTracer struct {
	m atomic.Pointer[metrics]
}

var _ pgx.QueryTracer = (*PostgresErrorTracer)(nil)

// CountPostgresErrors makes t count into this service's metrics.
func (s *Service) CountPostgresErrors(t *PostgresErrorTracer) { t.m.Store(s.metric) }

// TraceQueryStart implements pgx.QueryTracer.
func (*PostgresErrorTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (t *PostgresErrorTracer) TraceQueryEnd(_ context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	m := t.m.Load()
	if m != nil && data.Err != nil && !errors.Is(data.Err, context.Canceled) && isPostgresUnavailable(data.Err) {
		m.depErrors.WithLabelValues(DependencyPostgres).Inc()
	}
}

// stateCollector reads gauges from the database at scrape time: open
// incidents by team and state, and the job queue by queue and state. Both
// queries use partial indexes on the open states, so a scrape costs two
// index scans. Every replica reports the same values: aggregate with max().
type stateCollector struct {
	pool interface {
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
	log *slog.Logger
	m   *metrics
}

var (
	descIncidentsOpen = prometheus.NewDesc("fieldgate_incidents_open",
		"Open incidents (not resolved, merged or rejected), by team and state.", []string{"team", "state"}, nil)
	descQueueJobs = prometheus.NewDesc("fieldgate_queue_jobs",
		"Jobs in the queue that are not finished, by queue and state (available, scheduled, retryable, running).",
		[]string{"queue", "state"}, nil)
	descQueueOldestDue = prometheus.NewDesc("fieldgate_queue_oldest_due_seconds",
		"How long the oldest job that is due but not yet started has been waiting, by queue (0 when none). For the escalation queue this is how late an escalation is (including first steps armed on their incident and not yet queued).",
		[]string{"queue"}, nil)
	descStateUp = prometheus.NewDesc("fieldgate_metrics_database_up",
		"1 if the database gauges (incidents, queue) could be read at this scrape, else 0.", nil, nil)
)

// knownQueues are exported even when empty, so that alerts see a 0.
var knownQueues = []string{queueDefault, queueXMPP, queueEscalation}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descIncidentsOpen
	ch <- descQueueJobs
	ch <- descQueueOldestDue
	ch <- descStateUp
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := c.collect(ctx, ch)
	up := 1.0
	if err != nil {
		up = 0
		c.m.dependencyError(err)
		c.log.Warn("metrics: cannot read database gauges", "err", err)
	}
	ch <- prometheus.MustNewConstMetric(descStateUp, prometheus.GaugeValue, up)
}

func (c *stateCollector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	rows, err := c.pool.Query(ctx, `
		SELECT coalesce(team, ''), state, count(*) FROM incidents
		WHERE state NOT IN ('resolved','merged','rejected') GROUP BY 1, 2`)
	if err != nil {
		return err
	}
	var team, state, queue string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&team, &state, &n}, func() error {
		ch <- prometheus.MustNewConstMetric(descIncidentsOpen, prometheus.GaugeValue, float64(n), team, state)
		return nil
	})
	if err != nil {
		return err
	}
	oldest := map[string]float64{}
	counts := map[[2]string]int64{}
	for _, q := range knownQueues {
		oldest[q] = 0
		for _, st := range []string{"available", "scheduled", "retryable", "running"} {
			counts[[2]string{q, st}] = 0
		}
	}
	rows, err = c.pool.Query(ctx, `
		SELECT queue, state::text, count(*),
		       coalesce(extract(epoch FROM now() - min(scheduled_at) FILTER (
		           WHERE state <> 'running' AND scheduled_at <= now())), 0)::float8
		FROM river_job WHERE state IN ('available','scheduled','retryable','running')
		GROUP BY 1, 2`)
	if err != nil {
		return err
	}
	var age float64
	_, err = pgx.ForEachRow(rows, []any{&queue, &state, &n, &age}, func() error {
		counts[[2]string{queue, state}] = n
		oldest[queue] = max(oldest[queue], age)
		return nil
	})
	if err != nil {
		return err
	}
	// An escalation step armed on its incident (escalation_handover.go)
	// and past due without having been handed over is late as well.
	if err := c.pool.QueryRow(ctx, `
		SELECT coalesce(extract(epoch FROM now() - min(escalation_due_at)), 0)::float8
		FROM incidents WHERE escalation_due_at <= now()`).Scan(&age); err != nil {
		return err
	}
	oldest[queueEscalation] = max(oldest[queueEscalation], age)
	for k, v := range counts {
		ch <- prometheus.MustNewConstMetric(descQueueJobs, prometheus.GaugeValue, float64(v), k[0], k[1])
	}
	for q, v := range oldest {
		ch <- prometheus.MustNewConstMetric(descQueueOldestDue, prometheus.GaugeValue, v, q)
	}
	return nil
}
