package api

import (
	"github.com/prometheus/client_golang/prometheus"
)

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
