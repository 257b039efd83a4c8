package registry

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchboard-dev/switchboard/eureka"
)

// metrics are the registry's Prometheus metrics, on a registry of their own so
// several Registries can live in one process (tests, dev clusters).
type metrics struct {
	reg           *prometheus.Registry
	registrations prometheus.Counter
	renewals      prometheus.Counter
	cancels       prometheus.Counter
	evictions     prometheus.Counter
	requests      *prometheus.HistogramVec
}

func newMetrics(r *Registry) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		registrations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_registry_registrations_total", Help: "Registrations accepted, including replicated ones.",
		}),
		renewals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_registry_renewals_total", Help: "Successful lease renewals (heartbeats).",
		}),
		cancels: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_registry_cancels_total", Help: "Instances cancelled by request.",
		}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_registry_evictions_total", Help: "Instances evicted because their lease expired.",
		}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_registry_request_duration_seconds",
			Help:    "Latency of Eureka API requests by operation and status code.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"op", "code"}),
	}
	m.reg.MustRegister(m.registrations, m.renewals, m.cancels, m.evictions, m.requests,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "switchboard_registry_self_preservation",
			Help: "1 while self-preservation stops eviction (renewals at or below the threshold), else 0.",
		}, func() float64 {
			if r.LeaseExpirationEnabled() {
				return 0
			}
			return 1
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "switchboard_registry_renews_threshold", Help: "Renewals per minute below which self-preservation starts.",
		}, func() float64 { return float64(r.threshold.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "switchboard_registry_renews_last_minute", Help: "Renewals counted in the last complete minute.",
		}, func() float64 { return float64(r.renewsLastMin.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "switchboard_registry_document_bytes",
			Help: "Bytes of encoded registry documents held for the current registry version.",
		}, func() float64 { return float64(r.cache.held()) }),
		&statusCollector{r: r, desc: prometheus.NewDesc("switchboard_registry_instances",
			"Registered instances by status.", []string{"status"}, nil)},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

type statusCollector struct {
	r    *Registry
	desc *prometheus.Desc
}

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	counts := c.r.statusCounts()
	for _, s := range eureka.Statuses {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
}

func (r *Registry) statusCounts() map[eureka.Status]int {
	counts := make(map[eureka.Status]int, len(eureka.Statuses))
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, leases := range r.apps {
		for _, l := range leases {
			counts[l.holder.Status]++
		}
	}
	return counts
}
