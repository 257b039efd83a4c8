package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-dev/switchboard/gateway/filter"
)

// Gateway is the API gateway: an http.Handler that matches a route, runs its
// filters and proxies. Its route table is immutable and swapped whole on
// reload, so a request sees one table from start to end. It is safe for
// concurrent use.
type Gateway struct {
	tbl     atomic.Pointer[table]
	log     *slog.Logger
	metrics *metrics
	reg     Registry
	tr      *http.Transport // TLS upstreams and upgrades
	up      *upstreams      // plain-http upstreams
	pool    *bufferPool

	localLim *filter.LocalLimiter
	redisLim *filter.RedisLimiter
	redis    *redis.Client

	jwksMu sync.Mutex // guards jwks, runCtx
	jwks   map[string]*filter.JWKS
	runCtx context.Context
	runWG  sync.WaitGroup

	mu     sync.Mutex // guards the fields below; held while building a table
	cfg    *Config
	errs   []string         // problems of the last refused reload, for the dashboard and logs
	brk    *filter.Breakers // the breakers of the active table
	brkCfg *Config          // the configuration brk was built from
}

// Option configures a Gateway.
type Option func(*Gateway)

// WithLogger sets the gateway's logger.
func WithLogger(l *slog.Logger) Option { return func(g *Gateway) { g.log = l } }

// WithRegistry gives lb:// routes and the discovery locator their instances.
func WithRegistry(r Registry) Option { return func(g *Gateway) { g.reg = r } }

// New compiles cfg into a gateway. It starts no goroutines; call Run to
// follow registry changes (for the discovery locator).
func New(cfg *Config, opts ...Option) (*Gateway, error) {
	g := &Gateway{log: slog.New(slog.DiscardHandler), pool: &bufferPool{}}
	for _, o := range opts {
		o(g)
	}
	g.tr = newTransport(cfg.HTTPClient)
	g.up = newUpstreams(cfg.HTTPClient)
	g.metrics = newMetrics(g)
	g.localLim = filter.NewLocalLimiter(0)
	if cfg.Redis.Addr != "" {
		opts := &redis.Options{
			Addr: cfg.Redis.Addr, Username: cfg.Redis.Username, Password: cfg.Redis.Password, DB: cfg.Redis.DB,
			DialTimeout: cfg.Redis.Timeout, ReadTimeout: cfg.Redis.Timeout, WriteTimeout: cfg.Redis.Timeout,
			ContextTimeoutEnabled: true, MaxRetries: 1,
		}
		if strings.Contains(cfg.Redis.Addr, "://") {
			parsed, err := redis.ParseURL(cfg.Redis.Addr)
			if err != nil {
				return nil, fmt.Errorf("spring.data.redis.url: %v", err)
			}
			opts = parsed
			opts.ContextTimeoutEnabled = true
		}
		g.redis = redis.NewClient(opts)
		g.redisLim = filter.NewRedisLimiter(g.redis, filter.RedisLimiterOptions{FailClosed: !cfg.Redis.FailOpen, Logger: g.log})
	}
	t, err := g.build(cfg)
	if err != nil {
		return nil, err
	}
	g.cfg = cfg
	g.install(t)
	return g, nil
}

// Reload compiles cfg and swaps it in. If cfg has errors the old routes keep
// serving and the errors are returned.
func (g *Gateway) Reload(cfg *Config) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, err := g.build(cfg)
	if err != nil {
		g.refuseLocked(err)
		return err
	}
	g.cfg = cfg
	g.errs = nil
	g.install(t)
	g.metrics.reloads.WithLabelValues("applied").Inc()
	return nil
}

// Refuse records a configuration that could not even be read, so it counts
// as a refused reload; the routes in use keep serving.
func (g *Gateway) Refuse(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refuseLocked(err)
}

func (g *Gateway) refuseLocked(err error) {
	g.errs = strings.Split(err.Error(), "\n")
	g.metrics.reloads.WithLabelValues("refused").Inc()
}

// ConfigErrors returns the problems of the last refused reload, or nil.
func (g *Gateway) ConfigErrors() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.errs
}

// install makes t the active table and remembers its breakers. g.mu is held.
func (g *Gateway) install(t *table) {
	g.tbl.Store(t)
	if t.breakers != nil {
		g.brk, g.brkCfg = t.breakers, t.cfg
	}
}

// refreshDiscovered rebuilds the table when the registry's applications
// change, for the discovery locator's routes.
func (g *Gateway) refreshDiscovered() {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, err := g.build(g.cfg)
	if err != nil {
		g.log.Error("rebuilding discovery routes", "err", err)
		return
	}
	g.install(t)
}

// closeIdle closes the idle upstream connections of both clients.
func (g *Gateway) closeIdle() {
	g.tr.CloseIdleConnections()
	g.up.closeIdle(false)
}

// Metrics returns the gateway's Prometheus registry.
func (g *Gateway) Metrics() *prometheus.Registry { return g.metrics.reg }

// Routes returns the routes in match order.
func (g *Gateway) Routes() []*Route { return g.tbl.Load().routes }

// ServeHTTP routes one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t := g.tbl.Load()
	if t.weights != nil {
		r = t.weights.Draw(r)
	}
	rt := t.match(r)
	rec := recorderPool.Get().(*recorder)
	rec.reset(w)
	if rt == nil {
		http.NotFound(rec, r)
	} else {
		if len(rt.vars) > 0 {
			r = withVars(r, rt.vars)
		}
		rt.handler.ServeHTTP(rec, r)
	}
	code := rec.code
	if code == 0 {
		code = http.StatusOK
	}
	elapsed := time.Since(start)
	routeID := ""
	if rt != nil {
		routeID = rt.ID
	}
	g.metrics.observe(rt, r.Method, code, elapsed)
	if g.log.Enabled(r.Context(), slog.LevelInfo) {
		g.log.LogAttrs(r.Context(), slog.LevelInfo, "access",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", code), slog.String("route", routeID),
			slog.Duration("duration", elapsed), slog.Int64("bytes", rec.bytes),
			slog.String("remote", r.RemoteAddr), slog.String("correlation_id", correlationID(r, rec)))
	}
	rec.reset(nil)
	recorderPool.Put(rec)
}

var recorderPool = sync.Pool{New: func() any { return &recorder{} }}

// recorder notes the status and size of a response for metrics and the
// access log.
type recorder struct {
	w     http.ResponseWriter
	code  int
	bytes int64
}

func (r *recorder) reset(w http.ResponseWriter) {
	*r = recorder{w: w}
}

func (r *recorder) Header() http.Header { return r.w.Header() }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 {
		r.code = code
	}
	r.w.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.WriteHeader(http.StatusOK)
	}
	n, err := r.w.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Flush, Hijack and Unwrap keep streaming, websockets and
// http.ResponseController working through the recorder.
func (r *recorder) Flush() {
	if f, ok := r.w.(http.Flusher); ok {
		if r.code == 0 {
			r.WriteHeader(http.StatusOK)
		}
		f.Flush()
	}
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.w.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("gateway: response writer cannot hijack")
	}
	if r.code == 0 {
		r.code = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.w }

// metrics are the gateway's Prometheus metrics.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
	reloads  *prometheus.CounterVec

	// observers caches the request histogram's children by label values,
	// copied on write: resolving five labels, one of them a formatted
	// status code, on every request cost more than observing.
	observers atomic.Pointer[map[observerKey]prometheus.Observer]
	obsMu     sync.Mutex
}

type observerKey struct {
	route, uri, method string
	code               int
}

// maxObservers bounds the cache; label sets beyond it are resolved per
// request, as before.
const maxObservers = 4096

func newMetrics(g *Gateway) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_gateway_requests_seconds",
			Help:    "Gateway requests by route, method and status: time until the response was complete.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"routeId", "routeUri", "httpMethod", "httpStatusCode", "outcome"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_gateway_config_reloads_total", Help: "Configuration reloads, applied or refused.",
		}, []string{"result"}),
	}
	m.reg.MustRegister(m.requests, m.reloads,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "switchboard_gateway_routes_count", Help: "Routes in the active table.",
		}, func() float64 { return float64(len(g.tbl.Load().routes)) }),
		&gatewayCollector{g: g},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

func (m *metrics) observe(rt *Route, method string, code int, d time.Duration) {
	k := observerKey{method: method, code: code}
	if rt != nil {
		k.route, k.uri = rt.ID, rt.URI
	}
	if cache := m.observers.Load(); cache != nil {
		if o, ok := (*cache)[k]; ok {
			o.Observe(d.Seconds())
			return
		}
	}
	m.observer(k).Observe(d.Seconds())
}

// observer resolves k's histogram and caches it.
func (m *metrics) observer(k observerKey) prometheus.Observer {
	o := m.requests.WithLabelValues(k.route, k.uri, k.method, strconv.Itoa(k.code), outcome(k.code))
	m.obsMu.Lock()
	defer m.obsMu.Unlock()
	var old map[observerKey]prometheus.Observer
	if p := m.observers.Load(); p != nil {
		old = *p
	}
	if len(old) < maxObservers {
		next := make(map[observerKey]prometheus.Observer, len(old)+1)
		maps.Copy(next, old)
		next[k] = o
		m.observers.Store(&next)
	}
	return o
}

// outcome is Spring's status series name.
func outcome(code int) string {
	switch code / 100 {
	case 1:
		return "INFORMATIONAL"
	case 2:
		return "SUCCESSFUL"
	case 3:
		return "REDIRECTION"
	case 4:
		return "CLIENT_ERROR"
	case 5:
		return "SERVER_ERROR"
	}
	return "CUSTOM"
}

// AdminHandler serves /actuator/health, /actuator/gateway/routes and
// /metrics.
func (g *Gateway) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /actuator/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"UP"}`))
	})
	mux.HandleFunc("GET /actuator/gateway/routes", func(w http.ResponseWriter, r *http.Request) {
		g.writeRoutes(w, g.Routes(), false)
	})
	mux.HandleFunc("GET /actuator/gateway/routes/{id}", func(w http.ResponseWriter, r *http.Request) {
		rt := g.tbl.Load().byID[r.PathValue("id")]
		if rt == nil {
			http.NotFound(w, r)
			return
		}
		g.writeRoutes(w, []*Route{rt}, true)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics.reg, promhttp.HandlerOpts{}))
	return mux
}

type routeJSON struct {
	RouteID    string            `json:"route_id"`
	URI        string            `json:"uri"`
	Order      int               `json:"order"`
	Predicates []string          `json:"predicates"`
	Filters    []string          `json:"filters"`
	Metadata   map[string]string `json:"metadata,omitempty"`
}

func (g *Gateway) writeRoutes(w http.ResponseWriter, routes []*Route, one bool) {
	out := make([]routeJSON, len(routes))
	for i, rt := range routes {
		out[i] = routeJSON{RouteID: rt.ID, URI: rt.URI, Order: rt.Order, Predicates: rt.PredicateDefs, Filters: rt.FilterDefs, Metadata: rt.Metadata}
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if one {
		enc.Encode(out[0])
		return
	}
	enc.Encode(out)
}

// gatewayCollector reports the circuit breakers of the active table and the
// Redis rate limiter's failures at scrape time.
type gatewayCollector struct{ g *Gateway }

var (
	breakerStateDesc = prometheus.NewDesc("switchboard_gateway_circuitbreaker_state",
		"1 for the state each circuit breaker is in (CLOSED, OPEN, HALF_OPEN), else 0.", []string{"name", "state"}, nil)
	breakerNotPermittedDesc = prometheus.NewDesc("switchboard_gateway_circuitbreaker_not_permitted_total",
		"Calls refused because the circuit was open or half-open.", []string{"name"}, nil)
	breakerTimeoutsDesc = prometheus.NewDesc("switchboard_gateway_circuitbreaker_timeouts_total",
		"Calls stopped by the time limiter.", []string{"name"}, nil)
	breakerFallbacksDesc = prometheus.NewDesc("switchboard_gateway_circuitbreaker_fallbacks_total",
		"Fallbacks served.", []string{"name"}, nil)
	redisErrorsDesc = prometheus.NewDesc("switchboard_gateway_ratelimiter_redis_errors_total",
		"Rate-limit checks that Redis failed to answer.", nil, nil)
	redisFailOpensDesc = prometheus.NewDesc("switchboard_gateway_ratelimiter_redis_fail_open_total",
		"Requests let through because Redis was unreachable (fail-open).", nil, nil)
)

func (c *gatewayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{breakerStateDesc, breakerNotPermittedDesc, breakerTimeoutsDesc,
		breakerFallbacksDesc, redisErrorsDesc, redisFailOpensDesc} {
		ch <- d
	}
}

func (c *gatewayCollector) Collect(ch chan<- prometheus.Metric) {
	if t := c.g.tbl.Load(); t != nil && t.breakers != nil {
		for _, s := range t.breakers.Stats() {
			for _, state := range []string{"CLOSED", "OPEN", "HALF_OPEN"} {
				v := 0.0
				if s.State == state {
					v = 1
				}
				ch <- prometheus.MustNewConstMetric(breakerStateDesc, prometheus.GaugeValue, v, s.Name, state)
			}
			ch <- prometheus.MustNewConstMetric(breakerNotPermittedDesc, prometheus.CounterValue, float64(s.NotPermitted), s.Name)
			ch <- prometheus.MustNewConstMetric(breakerTimeoutsDesc, prometheus.CounterValue, float64(s.Timeouts), s.Name)
			ch <- prometheus.MustNewConstMetric(breakerFallbacksDesc, prometheus.CounterValue, float64(s.Fallbacks), s.Name)
		}
	}
	if l := c.g.redisLim; l != nil {
		ch <- prometheus.MustNewConstMetric(redisErrorsDesc, prometheus.CounterValue, float64(l.Errors()))
		ch <- prometheus.MustNewConstMetric(redisFailOpensDesc, prometheus.CounterValue, float64(l.FailOpens()))
	}
}
