package api

import (
	"net/http"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fieldgate/fieldgate/dispatch"
)

// MetricsHandler serves the Prometheus metrics, without authentication:
// mount it only on a listener that is not reachable from outside (config
// http.metrics_addr), or behind metricsAuth.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
}

// metricsAuth lets only tokens with the metrics or dispatcher role read
// /metrics on the API listener: the counts per address and team tell who
// reports what (child-welfare cases included).
func (s *Server) metricsAuth(c *gin.Context) {
	secret, ok := bearerSecret(c.GetHeader("Authorization"))
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="fieldgate"`)
		problem(c, probUnauthorized, msg.Texts.MetricsTokenMissing)
		return
	}
	tok, err := s.disp.Authenticate(c.Request.Context(), secret)
	if de := (*dispatch.Error)(nil); err != nil && !asDomain(err, &de) {
		s.fail(c, err) // the database is down: 503, not "invalid token"
		return
	}
	if err != nil {
		c.Header("WWW-Authenticate", `Bearer realm="fieldgate", error="invalid_token"`)
		problem(c, probUnauthorized, msg.Texts.TokenInvalid)
		return
	}
	if !tok.Has(dispatch.RoleMetrics) && !tok.Has(dispatch.RoleDispatcher) {
		problem(c, probForbidden, msg.Texts.MetricsForbidden)
		return
	}
	c.Next()
}

// rulesCollector exports which routing rules are in force, so that an
// admin can see a reload in the metrics (and alert on a stale version).
type rulesCollector struct {
	rules  Rules
	info   *prometheus.Desc
	loaded *prometheus.Desc
}

func newRulesCollector(r Rules) *rulesCollector {
	return &rulesCollector{
		rules: r,
		info: prometheus.NewDesc("fieldgate_rules_info", "The routing rules in force (value 1), by content hash.",
			[]string{"version"}, nil),
		loaded: prometheus.NewDesc("fieldgate_rules_loaded_timestamp_seconds", "When the rules in force were loaded.", nil, nil),
	}
}

func (c *rulesCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.info
	ch <- c.loaded
}

func (c *rulesCollector) Collect(ch chan<- prometheus.Metric) {
	rs := c.rules.Current()
	if rs == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, rs.Version())
	ch <- prometheus.MustNewConstMetric(c.loaded, prometheus.GaugeValue, float64(rs.LoadedAt().UnixNano())/1e9)
}

// xmppStates are the values of Config.XMPPState, each exported as a series
// so that an alert can match a state without knowing the others.
var xmppStates = []string{"connected", "standby", "disconnected"}

// xmppCollector exports the XMPP component connection of this replica:
// fieldgate_xmpp_connection_state{state} is 1 for the current state and 0
// for the others. Exactly one replica of a deployment should be
// "connected" (it holds the component, XEP-0114 allows one connection);
// the others are "standby".
type xmppCollector struct {
	state func() string
	desc  *prometheus.Desc
}

func newXMPPCollector(state func() string) *xmppCollector {
	return &xmppCollector{state: state, desc: prometheus.NewDesc("fieldgate_xmpp_connection_state",
		"XMPP component connection of this replica: 1 for the current state (connected, standby, disconnected), 0 for the others.",
		[]string{"state"}, nil)}
}

func (c *xmppCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *xmppCollector) Collect(ch chan<- prometheus.Metric) {
	cur := c.state()
	for _, st := range xmppStates {
		v := 0.0
		if st == cur {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, st)
	}
}
