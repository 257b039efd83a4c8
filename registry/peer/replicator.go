package peer

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-dev/switchboard/eureka"
	"github.com/switchboard-dev/switchboard/internal/redact"
	"github.com/switchboard-dev/switchboard/registry"
)

// Config tunes replication. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// BatchSize is the most tasks one batch carries (Eureka: 250).
	BatchSize int
	// MaxBatchDelay is how long the oldest task may wait for a batch to fill.
	// Eureka waits up to 500 ms; we default to 0: a batch leaves as soon as
	// the previous one is answered, so batches stay small (and lag low) under
	// light load and grow to BatchSize under heavy load.
	// switchboard.registry.replication.max-batch-delay-ms.
	MaxBatchDelay time.Duration
	// QueueCapacity bounds each peer's queue; when full the oldest task is
	// dropped and counted. eureka.server.max-elements-in-peer-replication-pool, 10000.
	QueueCapacity int
	// HeartbeatExpiry drops a heartbeat not delivered in time: the next one
	// replaces it. Eureka uses the renewal interval, 30 s.
	HeartbeatExpiry time.Duration
	// ConnectTimeout and ReadTimeout bound each batch exchange.
	// eureka.server.peer-node-connect-timeout-ms (default 1000) and
	// eureka.server.peer-node-read-timeout-ms (default 5000, Netflix's; Spring's
	// 200 ms is too short for a full batch on a busy peer).
	ConnectTimeout time.Duration
	ReadTimeout    time.Duration
	// RetryMin and RetryMax bound the backoff while a peer is unreachable.
	RetryMin time.Duration
	RetryMax time.Duration
	// SyncRetries and SyncRetryWait control the start-up sync: how many more
	// rounds to try when no peer answered, and the wait between rounds.
	// eureka.server.registry-sync-retries (default 5) and
	// eureka.server.registry-sync-retry-wait-ms (default 1000; Eureka's 30 s
	// makes a cold cluster take minutes to start).
	SyncRetries   int
	SyncRetryWait time.Duration
	// Username and Password (HTTP Basic), or Token (a bearer token),
	// authenticate this node to its peers, on every batch and on the
	// start-up sync; they take precedence over credentials in a peer's URL.
	// When all three are empty, New takes the registry's
	// switchboard.registry.security.peers; when those are empty too, each
	// peer gets the credentials in its URL (http://user:pass@host/eureka/),
	// which net/http sends as Basic, as Spring's Eureka does.
	Username string
	Password string
	Token    string
	// TLS configures connections to https peers: the CAs that sign their
	// certificates and the client certificate to present (mutual TLS).
	// switchboard.server.peer-ssl.*; nil: the system's CAs, no certificate.
	TLS *tls.Config
}

// DefaultConfig returns the defaults, Eureka's where they make sense.
func DefaultConfig() Config {
	return Config{
		BatchSize:       250,
		MaxBatchDelay:   0,
		QueueCapacity:   10000,
		HeartbeatExpiry: 30 * time.Second,
		ConnectTimeout:  time.Second,
		ReadTimeout:     5 * time.Second,
		RetryMin:        100 * time.Millisecond,
		RetryMax:        5 * time.Second,
		SyncRetries:     5,
		SyncRetryWait:   time.Second,
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.BatchSize <= 0 {
		c.BatchSize = d.BatchSize
	}
	if c.MaxBatchDelay < 0 {
		c.MaxBatchDelay = 0
	}
	if c.QueueCapacity <= 0 {
		c.QueueCapacity = d.QueueCapacity
	}
	if c.HeartbeatExpiry <= 0 {
		c.HeartbeatExpiry = d.HeartbeatExpiry
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = d.ConnectTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.RetryMin <= 0 {
		c.RetryMin = d.RetryMin
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(d.RetryMax, c.RetryMin)
	}
	if c.SyncRetryWait <= 0 {
		c.SyncRetryWait = d.SyncRetryWait
	}
}

type metrics struct {
	dropped      *prometheus.CounterVec
	batchSeconds *prometheus.HistogramVec
	lag          *prometheus.HistogramVec
}

// Replicator fans a registry's writes out to its peers. It is safe for
// concurrent use.
type Replicator struct {
	reg   *registry.Registry
	nodes []*node
	cfg   Config
	log   *slog.Logger
}

// New returns a replicator to the peers at urls (Eureka service URLs such as
// http://peer2:8762/eureka/). It starts nothing: call Run.
func New(reg *registry.Registry, urls []string, cfg Config, log *slog.Logger) (*Replicator, error) {
	cfg.fill()
	if cfg.Username == "" && cfg.Password == "" && cfg.Token == "" && reg != nil {
		pc := reg.PeerCredentials()
		cfg.Username, cfg.Password, cfg.Token = pc.Username, pc.Password, pc.Token
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &metrics{
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_replication_dropped_total",
			Help: "Replication tasks dropped, by peer and reason (queue_full, expired, refused).",
		}, []string{"peer", "reason"}),
		batchSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_replication_batch_seconds",
			Help:    "Time to send one replication batch and read the answer.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"peer"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_replication_lag_seconds",
			Help:    "Time from a write here to its acknowledgement by the peer.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"peer"}),
	}
	client := &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
		ForceAttemptHTTP2:   true,
		TLSClientConfig:     cfg.TLS,
		TLSHandshakeTimeout: cfg.ConnectTimeout + cfg.ReadTimeout,
	}}
	p := &Replicator{reg: reg, cfg: cfg, log: log}
	for _, u := range urls {
		if _, err := url.Parse(u); err != nil {
			// url.Parse's error repeats the URL, credentials and all.
			return nil, fmt.Errorf("peer %q: not a URL", redact.URL(u))
		}
		p.nodes = append(p.nodes, newNode(u, cfg, client, reg, log, m))
	}
	if reg != nil {
		mr := reg.Metrics()
		if err := mr.Register(m.dropped); err == nil {
			mr.MustRegister(m.batchSeconds, m.lag)
			for _, n := range p.nodes {
				mr.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
					Name:        "switchboard_replication_queue_depth",
					Help:        "Replication tasks waiting for a peer.",
					ConstLabels: prometheus.Labels{"peer": n.display},
				}, func() float64 { return float64(n.queueLen()) }))
			}
		}
	}
	return p, nil
}

// Replicate queues item for every peer. It never blocks.
func (p *Replicator) Replicate(item eureka.ReplicationInstance) {
	now := time.Now()
	for _, n := range p.nodes {
		n.enqueue(item, now)
	}
}

// Peers reports each peer's state.
func (p *Replicator) Peers() []registry.PeerState {
	out := make([]registry.PeerState, len(p.nodes))
	for i, n := range p.nodes {
		out[i] = n.state()
	}
	return out
}

// Run runs one sender per peer until ctx is done.
func (p *Replicator) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, n := range p.nodes {
		wg.Go(func() { n.run(ctx) })
	}
	<-ctx.Done()
	wg.Wait()
	return nil
}

// Sync copies the registries of the peers into ours before we open for
// traffic, as Eureka's syncUp does, and returns how many instances it copied.
// It asks every peer; a peer that answers (even with an empty registry, or
// 403 because it is starting too) ends the search. When no peer answers at
// all it tries again SyncRetries times, SyncRetryWait apart, then gives up
// with 0: the whole cluster is starting from nothing.
func (p *Replicator) Sync(ctx context.Context) (int, error) {
	if len(p.nodes) == 0 {
		return 0, nil
	}
	for attempt := 0; ; attempt++ {
		answered := false
		total := 0
		for _, n := range p.nodes {
			count, ok, err := p.syncFrom(ctx, n)
			if err != nil {
				p.log.Info("start-up sync: peer not reachable", "peer", n.display, "err", err)
				n.setState(false, err)
				continue
			}
			n.setState(true, nil)
			answered = true
			if ok {
				total += count
			}
		}
		if answered || attempt >= p.cfg.SyncRetries {
			return total, nil
		}
		if !sleep(ctx, p.cfg.SyncRetryWait) {
			return total, ctx.Err()
		}
	}
}

// syncFrom copies one peer's registry. ok is false when the peer answered but
// has nothing to give yet (403 while it starts).
func (p *Replicator) syncFrom(ctx context.Context, n *node) (count int, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ReadTimeout+p.cfg.ConnectTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.url+"/apps/", nil)
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("DiscoveryIdentity-Name", "DefaultServer")
	n.authorize(req)
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusForbidden {
		return 0, false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("GET /apps answered %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return 0, false, err
	}
	apps, err := eureka.DecodeApplicationsJSON(data)
	if err != nil {
		return 0, false, fmt.Errorf("GET /apps: %w", err)
	}
	for _, app := range apps.Applications {
		for _, in := range app.Instances {
			if err := p.reg.Register("", in, true); err != nil {
				p.log.Warn("start-up sync: skipping an instance", "app", app.Name, "id", in.ID(), "err", err)
				continue
			}
			count++
		}
	}
	p.log.Info("start-up sync: copied registry", "peer", n.display, "instances", count)
	return count, true, nil
}

// IsReplication reports whether req comes from a peer replicating to us: a
// batch to /peerreplication/, or one operation marked with the
// x-netflix-discovery-replication header, as Eureka peers send them.
func IsReplication(req *http.Request) bool {
	return strings.Contains(req.URL.Path, "/peerreplication") ||
		req.Header.Get("X-Netflix-Discovery-Replication") == "true"
}

// Others returns the service URLs that are not this node. A URL is this node
// when it equals myURL, or when its port is ours and its host is one of this
// machine's names or addresses. Eureka compares hosts only, so two nodes on
// one machine never replicate to each other; we compare ports too.
func Others(urls []string, myURL string, port int) ([]string, error) {
	local := localHosts()
	var out []string
	seen := map[string]bool{}
	for _, raw := range urls {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("peer URL %q: want http(s)://host:port/eureka/", redact.URL(raw))
		}
		if myURL != "" && strings.TrimSuffix(raw, "/") == strings.TrimSuffix(myURL, "/") {
			continue
		}
		p := u.Port()
		if p == "" {
			p = "80"
			if u.Scheme == "https" {
				p = "443"
			}
		}
		if myURL == "" && p == strconv.Itoa(port) && local[strings.ToLower(u.Hostname())] {
			continue
		}
		key := strings.TrimSuffix(raw, "/")
		if !seen[key] {
			seen[key] = true
			out = append(out, raw)
		}
	}
	return out, nil
}

func localHosts() map[string]bool {
	m := map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true, "0.0.0.0": true}
	if h, err := os.Hostname(); err == nil {
		m[strings.ToLower(h)] = true
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				m[ipn.IP.String()] = true
			}
		}
	}
	return m
}
