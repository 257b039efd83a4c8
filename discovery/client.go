package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
)

// Client registers one instance with Eureka-compatible registries, keeps its
// lease, and keeps a local copy of the registry up to date. It is safe for
// concurrent use. Build one with New and run it with Run.
type Client struct {
	cfg     Config
	log     *slog.Logger
	http    *http.Client
	ownHTTP bool // http was built by New, so Run closes its idle connections
	servers *servers

	snap    atomic.Pointer[snapshot]        // the local registry; see Instances
	inst    atomic.Pointer[eureka.Instance] // the instance as registered; replaced, never changed
	running atomic.Bool
	stats   stats

	mu sync.Mutex // serialises replacing inst
}

// stats counts what the client did, for tests and logs.
type stats struct {
	registrations atomic.Int64 // successful registrations
	renewals      atomic.Int64 // successful heartbeats
	renewNotFound atomic.Int64 // heartbeats answered 404
	fullFetches   atomic.Int64 // successful full fetches
	deltaFetches  atomic.Int64 // successful delta fetches
	sinceFetches  atomic.Int64 // of which deltas since the client's version
	sinceRefused  atomic.Int64 // deltas since the client's version the registry could not give
	reconciles    atomic.Int64 // hash mismatches after a delta
	fetchErrors   atomic.Int64 // refreshes that failed on every registry
	watches       atomic.Int64 // watch answers that saw a new version
	applyNanos    atomic.Int64 // time spent decoding fetched documents and building snapshots
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc. Its Timeout, if
// any, must exceed RegistryFetchInterval, or watches end early. The default
// is a client of its own with net/http's default transport settings.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http, c.ownHTTP = hc, false }
}

// WithLogger sets the client's logger. The default discards logs.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// New checks cfg, fills in its defaults and returns a client. It starts no
// goroutines and sends nothing: Run does.
func New(cfg Config, opts ...Option) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	list, _ := parseServiceURLs(cfg.ServiceURLs)
	for _, s := range list {
		if !s.auth && cfg.Token != "" {
			s.bearer = "Bearer " + cfg.Token
		}
	}
	c := &Client{
		cfg:     cfg,
		log:     slog.New(slog.DiscardHandler),
		servers: newServers(list, cfg.QuarantineDuration),
	}
	c.http = &http.Client{
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		// Eureka clients follow no redirects unless told to
		// (eureka.client.allow-redirects); a redirect is a failure.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c.ownHTTP = true
	for _, o := range opts {
		o(c)
	}
	c.snap.Store(emptySnapshot())
	if cfg.RegisterWithEureka {
		c.inst.Store(cfg.Instance.instance(time.Now().UnixMilli()))
	}
	return c, nil
}

// errRunning is returned by a second concurrent Run.
var errRunning = errors.New("discovery: Client.Run called while already running")

// Run registers the instance (after a random delay of up to
// InitialRegistrationJitter), renews its lease every LeaseRenewalInterval
// and keeps the local registry up to date, until ctx is done. Then, unless
// ShouldUnregisterOnShutdown is false, it cancels the registration and
// returns the error of that cancel, if any. A client runs once at a time.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errRunning
	}
	defer c.running.Store(false)
	if c.ownHTTP {
		defer c.http.CloseIdleConnections()
	}
	var wg sync.WaitGroup
	if c.cfg.FetchRegistry {
		wg.Go(func() { c.fetchLoop(ctx) })
	}
	attempted := false
	if c.cfg.RegisterWithEureka {
		attempted = c.leaseLoop(ctx)
	}
	<-ctx.Done()
	wg.Wait()
	if !attempted || !c.cfg.ShouldUnregisterOnShutdown {
		return nil
	}
	// Best effort, as in the Java client, but within a time limit of its own.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), attemptTimeout)
	defer cancel()
	return c.cancel(cctx)
}

// SetStatus changes the instance's status and registers it again at once, as
// the Java client does on a status change (it does not use the registry's
// /status override endpoint). The registry applies Eureka's rules: DOWN and
// STARTING always take effect, but a registration that says OUT_OF_SERVICE
// leaves an UP instance UP (an administrator's override sets OUT_OF_SERVICE).
// While Run is not running SetStatus only records the status for the next
// registration. If the registration fails, the next heartbeat, which carries
// the new lastDirtyTimestamp, makes the registry ask for it again.
func (c *Client) SetStatus(ctx context.Context, status eureka.Status) error {
	if err := checkStatus(status); err != nil {
		return fmt.Errorf("discovery: SetStatus: %w", err)
	}
	if !c.cfg.RegisterWithEureka {
		return errors.New("discovery: SetStatus: RegisterWithEureka is false, so there is no instance")
	}
	c.update(func(in *eureka.Instance) { in.Status = status })
	if !c.running.Load() {
		return nil
	}
	return c.register(ctx)
}

// update replaces the registered instance by a copy changed by fn and marked
// dirty with a new lastDirtyTimestamp, later than the previous one.
func (c *Client) update(fn func(in *eureka.Instance)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	in := c.inst.Load().Clone()
	fn(in)
	now := max(time.Now().UnixMilli(), in.LastDirtyTimestamp+1)
	in.LastDirtyTimestamp = now
	in.LastUpdatedTimestamp = now
	c.inst.Store(in)
}

// Instance returns the instance as the client registers it, or nil when
// RegisterWithEureka is false. It is shared: do not modify it.
func (c *Client) Instance() *eureka.Instance { return c.inst.Load() }

// Instances returns the instances of app (any case) in the local registry,
// only UP ones unless FilterOnlyUpInstances is false, in a random order
// drawn at each change of app, as the Java client shuffles them. The slice
// and the instances are shared: do not modify them. Nil when there are none.
func (c *Client) Instances(app string) []*eureka.Instance {
	return c.snap.Load().view(strings.ToUpper(app))
}

// InstancesByVIP returns the instances whose vipAddress lists vip (any case),
// filtered and shared as in Instances.
func (c *Client) InstancesByVIP(vip string) []*eureka.Instance {
	return c.snap.Load().byVIP.lookup(strings.ToUpper(vip))
}

// InstancesBySecureVIP returns the instances whose secureVipAddress lists
// svip (any case), filtered and shared as in Instances.
func (c *Client) InstancesBySecureVIP(svip string) []*eureka.Instance {
	return c.snap.Load().bySVIP.lookup(strings.ToUpper(svip))
}

// Applications returns the local registry: every application and instance
// with any status, applications sorted by name and instances by id. Its
// AppsHashcode is the local hash and VersionsDelta the last delta's version.
// It is shared: do not modify it. Before the first fetch it is empty.
func (c *Client) Applications() *eureka.Applications { return c.snap.Load().doc }

// Changed returns a channel that is closed at the next change of the local
// registry. Call it again after each change for the next one:
//
//	for {
//		ch := c.Changed()
//		rebuild(c.Instances("ORDERS"))
//		select {
//		case <-ch:
//		case <-ctx.Done():
//			return
//		}
//	}
func (c *Client) Changed() <-chan struct{} { return c.snap.Load().changed }

// publish makes next the local registry and wakes those waiting on Changed.
// Only the fetch loop calls it.
func (c *Client) publish(next *snapshot) {
	old := c.snap.Swap(next)
	close(old.changed)
}
