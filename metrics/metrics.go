package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxApps bounds the app label: apps are registered by admins, but a
// directory with thousands of them still gets at most this many series
// per result, the rest counted as "other".
const maxApps = 200

// Metrics is the registry and every metric Atrium exports.
type Metrics struct {
	reg *prometheus.Registry
	now func() time.Time

	ldapOps      *prometheus.CounterVec
	ldapLatency  *prometheus.HistogramVec
	ldapConns    prometheus.Gauge
	ldapRefused  *prometheus.CounterVec
	logins       *prometheus.CounterVec
	factors      *prometheus.CounterVec
	blocks       *prometheus.CounterVec
	pushes       *prometheus.CounterVec
	storeLatency *prometheus.HistogramVec

	mu   sync.Mutex
	apps map[string]bool // app label values handed out so far
}

// Options configures New.
type Options struct {
	// Version is exported as atrium_build_info{version}.
	Version string
	// Now is the clock latencies are measured on (time.Now when nil).
	// Latencies are durations, so they are measured on a monotonic clock
	// rather than the directory's injected one.
	Now func() time.Time
}

// New makes the registry with the Go runtime and process collectors and
// every Atrium metric.
func New(opt Options) *Metrics {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	m := &Metrics{reg: prometheus.NewRegistry(), now: opt.Now, apps: map[string]bool{}}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "atrium_build_info", Help: "Always 1; the version label tells which Atrium is running.",
		ConstLabels: prometheus.Labels{"version": opt.Version},
	})
	build.Set(1)
	m.ldapOps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atrium_ldap_operations_total", Help: "LDAP operations answered, by operation and result code.",
	}, []string{"op", "result"})
	m.ldapLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "atrium_ldap_operation_duration_seconds", Help: "Time from an LDAP request to its final response, by operation.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"op"})
	m.ldapConns = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "atrium_ldap_connections", Help: "LDAP connections open now.",
	})
	m.ldapRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atrium_ldap_connections_refused_total", Help: "LDAP connections refused: busy (the server is full) or per_address (one address holds its share).",
	}, []string{"reason"})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atrium_logins_total", Help: "Logins by service (ldap binds, web sign-ins, smb, saml and oidc app logins), app, and result (ok, fail, throttled).",
	}, []string{"service", "app", "result"})
	m.factors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atrium_second_factor_total", Help: "Second-factor checks by method and result (ok, fail, throttled).",
	}, []string{"method", "result"})
	m.blocks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atrium_backoff_blocks_total", Help: "Attempts refused by backoff before any secret was checked, by service.",
	}, []string{"service"})
	m.pushes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atrium_push_notifications_total", Help: "Push approval requests by result: sent (at least one phone reached) or failed (none).",
	}, []string{"result"})
	m.storeLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "atrium_store_transaction_duration_seconds", Help: "Store transactions by kind (view, update), including the work done inside them.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"kind"})
	m.reg.MustRegister(build, m.ldapOps, m.ldapLatency, m.ldapConns, m.ldapRefused, m.logins, m.factors, m.blocks, m.pushes, m.storeLatency)
	m.zeroSeries()
	return m
}

// zeroSeries creates the series of the fixed label sets at 0, so that
// rates and alerts see the first event as an increase instead of a new
// series.
func (m *Metrics) zeroSeries() {
	results := []string{"ok", "fail", "throttled"}
	for _, r := range []string{"busy", "per_address"} {
		m.ldapRefused.WithLabelValues(r)
	}
	for _, r := range []string{"sent", "failed"} {
		m.pushes.WithLabelValues(r)
	}
	for _, s := range []string{"ldap", "web", "smb"} {
		m.blocks.WithLabelValues(s)
		for _, r := range results {
			m.logins.WithLabelValues(s, "", r)
		}
	}
	for method := range factorMethods {
		for _, r := range results {
			m.factors.WithLabelValues(method, r)
		}
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// gaugeFunc registers a gauge read at scrape time; ok false leaves the
// series out of that scrape (a file not there yet, say).
func (m *Metrics) gaugeFunc(name, help string, labels prometheus.Labels, read func() (float64, bool)) {
	m.reg.MustRegister(&scrapeGauge{desc: prometheus.NewDesc(name, help, nil, labels), read: read})
}

type scrapeGauge struct {
	desc *prometheus.Desc
	read func() (float64, bool)
}

func (g *scrapeGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *scrapeGauge) Collect(ch chan<- prometheus.Metric) {
	if v, ok := g.read(); ok {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v)
	}
}
