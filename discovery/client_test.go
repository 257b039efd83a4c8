package discovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
	"github.com/switchboard-dev/switchboard/internal/testenv"
	"github.com/switchboard-dev/switchboard/registry"
)

// within is the deadline for conditions in these tests: generous, because
// they must not fail on a slow machine; the fast paths finish in milliseconds.
const within = 10 * time.Second

// testConfig returns a config for an instance of app on port, registering
// with urls, with intervals short enough for tests.
func testConfig(app string, port int, urls ...string) Config {
	cfg := DefaultConfig()
	cfg.ServiceURLs = urls
	cfg.Instance.App = app
	cfg.Instance.HostName = "127.0.0.1"
	cfg.Instance.IPAddr = "127.0.0.1"
	cfg.Instance.Port = port
	cfg.Instance.LeaseRenewalInterval = 50 * time.Millisecond
	cfg.RegistryFetchInterval = 50 * time.Millisecond
	cfg.InitialRegistrationJitter = -1
	return cfg
}

// observerConfig returns a config for a client that only fetches.
func observerConfig(urls ...string) Config {
	cfg := testConfig("", 0, urls...)
	cfg.RegisterWithEureka = false
	return cfg
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// tWriter sends log lines to t.Log, so they show only for failing tests.
type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// start builds a client and runs it until the test ends. Its cleanup runs
// before that of registries started earlier, so the client cancels first.
// stop ends Run and returns its error.
func start(t testing.TB, cfg Config) (c *Client, stop func() error) {
	t.Helper()
	c, err := New(cfg, WithLogger(testLogger(t)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	return c, stop
}

// localRegistry is a registry on an httptest server the test may close early.
type localRegistry struct {
	*registry.Registry
	URL string
	srv *httptest.Server
}

// startLocal runs a registry whose handler wrap may replace, until the test
// ends or Close. cfg nil means Eureka's defaults.
func startLocal(t testing.TB, cfg *registry.Config, wrap func(http.Handler) http.Handler) *localRegistry {
	t.Helper()
	c := registry.DefaultConfig()
	if cfg != nil {
		c = *cfg
	}
	reg, err := registry.New(c, registry.WithLogger(slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		t.Fatalf("registry.New: %v", err)
	}
	reg.OpenForTraffic(0)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { reg.Run(ctx) })
	h := reg.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	r := &localRegistry{Registry: reg, srv: httptest.NewServer(h)}
	r.URL = r.srv.URL + "/eureka/"
	t.Cleanup(func() {
		r.Close()
		cancel()
		wg.Wait()
	})
	return r
}

// Close stops the server at once, dropping watches in flight.
func (r *localRegistry) Close() {
	r.srv.Listener.Close()
	r.srv.CloseClientConnections()
	r.srv.Close()
}

// newInstance returns an instance as another service would register it.
func newInstance(app, id string) *eureka.Instance {
	return &eureka.Instance{
		InstanceID: id, HostName: "10.1.1.1", App: strings.ToUpper(app), IPAddr: "10.1.1.1",
		Status: eureka.StatusUp, Port: eureka.Port{Number: 9000, Enabled: true},
		DataCenterInfo: eureka.DataCenterInfo{Name: "MyOwn"}, VIPAddress: strings.ToLower(app),
	}
}

// send makes one request to a registry's REST API and checks its status.
func send(t testing.TB, method, url string, body []byte, want int) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d, want %d", method, url, resp.StatusCode, want)
	}
}

// registerVia registers in with the registry at url over HTTP.
func registerVia(t testing.TB, url string, in *eureka.Instance) {
	t.Helper()
	send(t, http.MethodPost, strings.TrimSuffix(url, "/")+"/apps/"+in.App, eureka.AppendInstanceDocJSON(nil, in), http.StatusNoContent)
}

// has reports whether the client's lookup view of app holds id.
func has(c *Client, app, id string) bool {
	for _, in := range c.Instances(app) {
		if in.InstanceID == id {
			return true
		}
	}
	return false
}

// waitFor fails the test unless c's lookup view of app comes to hold id (or,
// with present false, to lack it).
func waitFor(t testing.TB, c *Client, app, id string, present bool) {
	t.Helper()
	testenv.Eventually(t, within, func() error {
		if has(c, app, id) != present {
			return fmt.Errorf("Instances(%q) = %s, want %s present=%v", app, idsOf(c.Instances(app)), id, present)
		}
		return nil
	})
}

func idsOf(list []*eureka.Instance) string {
	var s []string
	for _, in := range list {
		s = append(s, in.InstanceID)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// registered returns the registry's copy of the instance, or an error.
func registered(reg *registry.Registry, app, id string) (*eureka.Instance, error) {
	return reg.Instance(strings.ToUpper(app), id)
}

func TestRegisterAppearsInRegistry(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, nil)
	cfg := testConfig("orders", 8081, reg.URL)
	cfg.Instance.Metadata = map[string]string{"zone": "eu-1"}
	cfg.Instance.LeaseRenewalInterval = 30 * time.Second
	c, _ := start(t, cfg)
	var in *eureka.Instance
	testenv.Eventually(t, within, func() (err error) {
		in, err = registered(reg.Registry, "orders", "127.0.0.1:orders:8081")
		if err == nil && c.stats.registrations.Load() == 0 {
			return errors.New("the client has not seen the registry's answer yet")
		}
		return err
	})
	if in.App != "ORDERS" || in.Status != eureka.StatusUp || in.Port.Number != 8081 || !in.Port.Enabled ||
		in.VIPAddress != "orders" || in.Metadata["zone"] != "eu-1" || in.LeaseInfo.RenewalIntervalInSecs != 30 ||
		in.LeaseInfo.DurationInSecs != 90 || in.HealthCheckURL != "http://127.0.0.1:8081/actuator/health" {
		t.Errorf("registered instance = %+v, not what the client was configured with", in)
	}
	if got := c.stats.registrations.Load(); got != 1 {
		t.Errorf("client registered %d times, want 1", got)
	}
}

func TestHeartbeatsRenewTheLease(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, nil)
	c, _ := start(t, testConfig("renewing", 8080, reg.URL))
	testenv.Eventually(t, within, func() error {
		in, err := registered(reg.Registry, "renewing", "127.0.0.1:renewing:8080")
		if err != nil {
			return err
		}
		if c.stats.renewals.Load() < 3 {
			return fmt.Errorf("%d heartbeats so far", c.stats.renewals.Load())
		}
		if l := in.LeaseInfo; l.LastRenewalTimestamp <= l.RegistrationTimestamp {
			return fmt.Errorf("lastRenewalTimestamp %d not after registrationTimestamp %d", l.LastRenewalTimestamp, l.RegistrationTimestamp)
		}
		return nil
	})
	if got := c.stats.registrations.Load(); got != 1 {
		t.Errorf("client registered %d times while renewing, want 1", got)
	}
}

func TestDeltasReachTheClient(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, nil)
	cfg := observerConfig(reg.URL)
	cfg.Watch = false
	c, _ := start(t, cfg)
	testenv.Eventually(t, within, func() error {
		if c.stats.fullFetches.Load() == 0 {
			return errors.New("no full fetch yet")
		}
		return nil
	})

	registerVia(t, reg.URL, newInstance("pay", "pay-1"))
	waitFor(t, c, "pay", "pay-1", true)
	if got := c.InstancesByVIP("PAY"); len(got) != 1 || got[0].InstanceID != "pay-1" {
		t.Errorf("InstancesByVIP(PAY) = %s, want [pay-1]", idsOf(got))
	}

	send(t, http.MethodPut, reg.URL+"/apps/PAY/pay-1/status?value=OUT_OF_SERVICE", nil, http.StatusOK)
	waitFor(t, c, "pay", "pay-1", false)
	apps := c.Applications()
	if len(apps.Applications) != 1 || apps.Applications[0].Instances[0].Status != eureka.StatusOutOfService {
		t.Errorf("Applications() after the override = %+v, want pay-1 OUT_OF_SERVICE", apps.Applications)
	}
	if apps.AppsHashcode != "OUT_OF_SERVICE_1_" {
		t.Errorf("Applications().AppsHashcode = %q, want OUT_OF_SERVICE_1_", apps.AppsHashcode)
	}

	send(t, http.MethodDelete, reg.URL+"/apps/PAY/pay-1/status", nil, http.StatusOK)
	registerVia(t, reg.URL, newInstance("pay", "pay-1"))
	waitFor(t, c, "pay", "pay-1", true)
	send(t, http.MethodDelete, reg.URL+"/apps/PAY/pay-1", nil, http.StatusOK)
	testenv.Eventually(t, within, func() error {
		if n := len(c.Applications().Applications); n != 0 {
			return fmt.Errorf("%d applications left after the cancel", n)
		}
		return nil
	})
	if full, deltas := c.stats.fullFetches.Load(), c.stats.deltaFetches.Load(); full != 1 || deltas == 0 || c.stats.reconciles.Load() != 0 {
		t.Errorf("%d full fetches, %d deltas, %d reconciles; want 1 full fetch, then deltas only", full, deltas, c.stats.reconciles.Load())
	}
	if n := c.stats.sinceFetches.Load(); n != 0 {
		t.Errorf("a polling client asked for the delta since its version %d times, want Eureka's delta only", n)
	}
}

func TestWatchShowsARegistrationAtOnce(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, nil)
	cfg := observerConfig(reg.URL)
	// Polling alone would take 30 s; within is shorter, so only the watch
	// can make the registration visible in time.
	cfg.RegistryFetchInterval = 30 * time.Second
	obs, _ := start(t, cfg)
	testenv.Eventually(t, within, func() error {
		if obs.stats.fullFetches.Load() == 0 {
			return errors.New("no full fetch yet")
		}
		return nil
	})
	ch := obs.Changed()
	start(t, testConfig("watched", 8080, reg.URL))
	waitFor(t, obs, "watched", "127.0.0.1:watched:8080", true)
	select {
	case <-ch:
	default:
		t.Error("Changed() channel not closed after the registry changed")
	}
	if obs.stats.watches.Load() == 0 || obs.stats.fullFetches.Load() != 1 {
		t.Errorf("%d watch wake-ups, %d full fetches; want the change seen by a watch and a delta", obs.stats.watches.Load(), obs.stats.fullFetches.Load())
	}
}

// TestHashMismatchFetchesInFull makes the client miss a change for real: the
// registry keeps changes in its delta for only a millisecond, and the
// client's delta fetch is held until the change has left it. The delta then
// says nothing of the change, but its apps__hashcode does, and the client
// must fetch the registry in full (Eureka's reconcile, §6.3).
func TestHashMismatchFetchesInFull(t *testing.T) {
	t.Parallel()
	rc := registry.DefaultConfig()
	rc.DeltaRetention = time.Millisecond
	rc.DeltaRetentionTimerInterval = 5 * time.Millisecond
	reg, gate := startGated(t, &rc, "/eureka/apps/delta")
	if err := reg.Register("A", newInstance("a", "a-1"), false); err != nil {
		t.Fatal(err)
	}
	cfg := observerConfig(reg.URL)
	cfg.Watch = false
	c, _ := start(t, cfg)
	waitFor(t, c, "a", "a-1", true)

	gate.close()
	waitHeld(t, gate)
	full, reconciles := c.stats.fullFetches.Load(), c.stats.reconciles.Load()
	if err := reg.Register("A", newInstance("a", "a-2"), false); err != nil {
		t.Fatal(err)
	}
	waitOutOfDelta(t, reg, "a-2")
	gate.open()

	waitFor(t, c, "a", "a-2", true)
	if got := c.stats.reconciles.Load(); got <= reconciles {
		t.Errorf("reconciles = %d, want more than %d: the delta missed a-2, so its hash differed", got, reconciles)
	}
	if got := c.stats.fullFetches.Load(); got <= full {
		t.Errorf("full fetches = %d, want more than %d after the hash mismatch", got, full)
	}
}

func TestHeartbeat404Reregisters(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, nil)
	c, _ := start(t, testConfig("phoenix", 8080, reg.URL))
	const id = "127.0.0.1:phoenix:8080"
	testenv.Eventually(t, within, func() error {
		_, err := registered(reg.Registry, "phoenix", id)
		return err
	})
	first := c.Instance().LastDirtyTimestamp
	send(t, http.MethodDelete, reg.URL+"/apps/PHOENIX/"+id, nil, http.StatusOK)
	testenv.Eventually(t, within, func() error {
		_, err := registered(reg.Registry, "phoenix", id)
		return err
	})
	if c.stats.renewNotFound.Load() == 0 {
		t.Errorf("instance is back without a heartbeat answered 404")
	}
	if got := c.Instance().LastDirtyTimestamp; got <= first {
		t.Errorf("lastDirtyTimestamp after re-registering = %d, want more than %d", got, first)
	}
}

func TestFailoverToTheOtherRegistry(t *testing.T) {
	t.Parallel()
	a := startLocal(t, nil, nil)
	b := startLocal(t, nil, nil)
	cfg := testConfig("nomad", 8080, a.URL, b.URL)
	cfg.QuarantineDuration = time.Minute
	c, _ := start(t, cfg)
	const id = "127.0.0.1:nomad:8080"
	var holder, other *localRegistry
	testenv.Eventually(t, within, func() error {
		switch {
		case a.holds(id):
			holder, other = a, b
		case b.holds(id):
			holder, other = b, a
		default:
			return errors.New("not registered with either registry")
		}
		return nil
	})
	waitFor(t, c, "nomad", id, true)

	holder.Close()
	testenv.Eventually(t, within, func() error {
		_, err := registered(other.Registry, "nomad", id)
		return err
	})
	// Only the surviving registry knows this one, so seeing it proves the
	// client fetches from there now.
	if err := other.Register("ONLY", newInstance("only", "only-1"), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "only", "only-1", true)
}

// holds reports whether the registry holds the nomad instance id.
func (r *localRegistry) holds(id string) bool {
	_, err := r.Instance("NOMAD", id)
	return err == nil
}

func TestKeepsLastGoodRegistryWhenAllAreDown(t *testing.T) {
	t.Parallel()
	a := startLocal(t, nil, nil)
	b := startLocal(t, nil, nil)
	for _, r := range []*localRegistry{a, b} {
		if err := r.Register("KEPT", newInstance("kept", "kept-1"), false); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := start(t, observerConfig(a.URL, b.URL))
	waitFor(t, c, "kept", "kept-1", true)

	a.Close()
	b.Close()
	failed := c.stats.fetchErrors.Load()
	testenv.Eventually(t, within, func() error {
		if n := c.stats.fetchErrors.Load(); n < failed+2 {
			return fmt.Errorf("%d failed refreshes since the registries stopped, want 2", n-failed)
		}
		return nil
	})
	if !has(c, "kept", "kept-1") {
		t.Errorf("Instances(kept) = %s after every registry failed, want the last good [kept-1]", idsOf(c.Instances("kept")))
	}
	if n := len(c.Applications().Applications); n != 1 {
		t.Errorf("Applications() has %d applications after every registry failed, want 1", n)
	}
}

func TestJitteredFleetRegisters(t *testing.T) {
	t.Parallel()
	const fleet = 200
	const jitter = 500 * time.Millisecond
	reg := testenv.StartRegistry(t, nil)
	begin := time.Now()
	stops := make([]func() error, fleet)
	for i := range fleet {
		cfg := testConfig("fleet", 10000+i, reg.URL)
		cfg.FetchRegistry = false
		cfg.InitialRegistrationJitter = jitter
		cfg.Instance.LeaseRenewalInterval = 30 * time.Second
		c, err := New(cfg)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		stops[i] = func() error { cancel(); return <-done }
	}
	stopAll := sync.OnceFunc(func() {
		for _, stop := range stops {
			if err := stop(); err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	})
	t.Cleanup(stopAll)

	var insts []*eureka.Instance
	testenv.Eventually(t, within, func() error {
		insts = nil
		for _, a := range reg.Applications().Applications {
			if a.Name == "FLEET" {
				insts = a.Instances
			}
		}
		if len(insts) != fleet {
			return fmt.Errorf("%d of %d instances registered", len(insts), fleet)
		}
		return nil
	})
	first, last := insts[0].LeaseInfo.RegistrationTimestamp, insts[0].LeaseInfo.RegistrationTimestamp
	for _, in := range insts {
		first = min(first, in.LeaseInfo.RegistrationTimestamp)
		last = max(last, in.LeaseInfo.RegistrationTimestamp)
	}
	if first < begin.UnixMilli() {
		t.Errorf("first registration at %d, before the clients started at %d", first, begin.UnixMilli())
	}
	if spread := time.Duration(last-first) * time.Millisecond; spread < jitter/4 {
		t.Errorf("registrations spread over %v, want them spread over the %v jitter window", spread, jitter)
	}

	stopAll()
	for _, a := range reg.Applications().Applications {
		if a.Name == "FLEET" {
			t.Errorf("%d instances still registered after every client shut down", len(a.Instances))
		}
	}
}

func TestPollsARegistryWithoutWatch(t *testing.T) {
	t.Parallel()
	var watches atomic.Int32
	reg := startLocal(t, nil, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/eureka/watch" {
				watches.Add(1)
				http.NotFound(w, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	c, _ := start(t, observerConfig(reg.URL))
	testenv.Eventually(t, within, func() error {
		if c.stats.fullFetches.Load() == 0 {
			return errors.New("no full fetch yet")
		}
		return nil
	})
	registerVia(t, reg.URL, newInstance("plain", "plain-1"))
	waitFor(t, c, "plain", "plain-1", true)
	deltas := c.stats.deltaFetches.Load()
	testenv.Eventually(t, within, func() error {
		if n := c.stats.deltaFetches.Load(); n < deltas+3 {
			return fmt.Errorf("%d more delta fetches, want 3", n-deltas)
		}
		return nil
	})
	if n := watches.Load(); n != 1 {
		t.Errorf("client asked for a watch %d times, want once: a 404 means no watch for %v", n, WatchRetryAfter)
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		unregister bool
	}{
		{"cancels the registration", true},
		{"keeps the registration when asked", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := testenv.StartRegistry(t, nil)
			cfg := testConfig("leaving", 8080+i, reg.URL)
			cfg.ShouldUnregisterOnShutdown = tt.unregister
			_, stop := start(t, cfg)
			id := fmt.Sprintf("127.0.0.1:leaving:%d", 8080+i)
			testenv.Eventually(t, within, func() error {
				_, err := registered(reg.Registry, "leaving", id)
				return err
			})
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			_, err := registered(reg.Registry, "leaving", id)
			if present := err == nil; present == tt.unregister {
				t.Errorf("after Run returned with ShouldUnregisterOnShutdown=%v, registered = %v", tt.unregister, present)
			}
		})
	}
}

func TestSetStatusRegistersAgain(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, nil)
	cfg := testConfig("moody", 8080, reg.URL)
	cfg.Instance.LeaseRenewalInterval = 30 * time.Second
	cfg.Instance.InitialStatus = eureka.StatusStarting
	c, _ := start(t, cfg)
	const id = "127.0.0.1:moody:8080"
	status := func(want eureka.Status) func() error {
		return func() error {
			in, err := registered(reg.Registry, "moody", id)
			if err != nil {
				return err
			}
			if in.Status != want {
				return fmt.Errorf("registry says %s, want %s", in.Status, want)
			}
			return nil
		}
	}
	testenv.Eventually(t, within, status(eureka.StatusStarting))
	if has(c, "moody", id) {
		t.Errorf("a STARTING instance is in Instances()")
	}
	for _, s := range []eureka.Status{eureka.StatusUp, eureka.StatusDown, eureka.StatusUp} {
		if err := c.SetStatus(t.Context(), s); err != nil {
			t.Fatalf("SetStatus(%s): %v", s, err)
		}
		if err := status(s)(); err != nil {
			t.Errorf("right after SetStatus(%s): %v", s, err)
		}
		waitFor(t, c, "moody", id, s == eureka.StatusUp)
	}
	if err := c.SetStatus(t.Context(), eureka.StatusUnknown); err == nil {
		t.Errorf("SetStatus(UNKNOWN) succeeded, want an error")
	}
}

// TestRequestHeaders checks what the client sends: Basic credentials from
// the service URL, and JSON with gzip on registry fetches, as the Java
// client asks for them.
func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	var refused atomic.Int32
	var fetchHeaders atomic.Pointer[http.Header]
	reg := startLocal(t, nil, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "eureka" || p != "s3cr:t" {
				refused.Add(1)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if r.URL.Path == "/eureka/apps/" {
				hdr := r.Header.Clone()
				fetchHeaders.Store(&hdr)
			}
			h.ServeHTTP(w, r)
		})
	})
	url := strings.Replace(reg.URL, "http://", "http://eureka:s3cr%3At@", 1)
	c, _ := start(t, testConfig("secret", 8080, url))
	testenv.Eventually(t, within, func() error {
		_, err := registered(reg.Registry, "secret", "127.0.0.1:secret:8080")
		return err
	})
	waitFor(t, c, "secret", "127.0.0.1:secret:8080", true)
	if n := refused.Load(); n != 0 {
		t.Errorf("registry refused %d requests for want of credentials", n)
	}
	hdr := *fetchHeaders.Load()
	if got := hdr.Get("Accept"); got != "application/json" {
		t.Errorf("full fetch sent Accept %q, want application/json", got)
	}
	if got := hdr.Get("Accept-Encoding"); !strings.Contains(got, "gzip") {
		t.Errorf("full fetch sent Accept-Encoding %q, want gzip", got)
	}
}

func TestRunTwiceAtOnce(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, nil)
	c, _ := start(t, testConfig("twice", 8080, reg.URL))
	testenv.Eventually(t, within, func() error {
		if !c.running.Load() {
			return errors.New("not running yet")
		}
		return nil
	})
	if err := c.Run(t.Context()); !errors.Is(err, errRunning) {
		t.Errorf("second Run = %v, want %v", err, errRunning)
	}
}
