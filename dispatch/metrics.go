package dispatch

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	reportsAccepted *prometheus.CounterVec
	routed          *prometheus.CounterVec
	acks            *prometheus.CounterVec
	reclaimed       *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		reportsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldgate_reports_accepted_total", Help: "Reports committed, by channel.",
		}, []string{"channel"}),
		routed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldgate_reports_routed_total", Help: "Reports routed, by team.",
		}, []string{"team"}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldgate_acks_total", Help: "Take/resolve commands, by action and outcome.",
		}, []string{"action", "outcome"}),
		reclaimed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldgate_jobs_reclaimed_total", Help: "Running jobs of dead processes handed back to the queue (lease expired), by kind.",
		}, []string{"kind"}),
	}
}

// Collectors returns the service's metrics for registration.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.metric.reportsAccepted, s.metric.routed, s.metric.acks, s.metric.reclaimed}
}
