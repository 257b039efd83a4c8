package discovery

import (
	"errors"
	"fmt"
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

// pathGate holds the requests whose path starts with prefix while closed, like
// a registry that answers them very slowly, and records their queries.
type pathGate struct {
	next   http.Handler
	prefix string
	held   atomic.Int32

	mu      sync.Mutex    // guards the fields below
	gate    chan struct{} // nil while open
	queries []string
}

func (g *pathGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, g.prefix) {
		g.mu.Lock()
		gate := g.gate
		g.queries = append(g.queries, r.URL.RawQuery)
		g.mu.Unlock()
		if gate != nil {
			g.held.Add(1)
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
	}
	g.next.ServeHTTP(w, r)
}

func (g *pathGate) close() {
	g.mu.Lock()
	g.gate = make(chan struct{})
	g.held.Store(0)
	g.mu.Unlock()
}

func (g *pathGate) open() {
	g.mu.Lock()
	close(g.gate)
	g.gate = nil
	g.mu.Unlock()
}

// seen returns the queries of the requests the gate let by or holds.
func (g *pathGate) seen() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.queries...)
}

// startGated runs a registry whose requests under prefix pass a gate.
func startGated(t *testing.T, cfg *registry.Config, prefix string) (*localRegistry, *pathGate) {
	t.Helper()
	var g *pathGate
	reg := startLocal(t, cfg, func(h http.Handler) http.Handler {
		g = &pathGate{next: h, prefix: prefix}
		return g
	})
	return reg, g
}

// waitHeld waits until the gate holds a request.
func waitHeld(t *testing.T, g *pathGate) {
	t.Helper()
	testenv.Eventually(t, within, func() error {
		if g.held.Load() == 0 {
			return errors.New("no request held yet")
		}
		return nil
	})
}

// waitOutOfDelta waits until the registry's delta no longer lists id: the
// change has aged out of it.
func waitOutOfDelta(t *testing.T, reg *localRegistry, id string) {
	t.Helper()
	testenv.Eventually(t, within, func() error {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/eureka/apps/delta", nil)
		req.Header.Set("Accept", "application/json")
		reg.Handler().ServeHTTP(rec, req)
		if strings.Contains(rec.Body.String(), id) {
			return fmt.Errorf("%s still in the registry's delta", id)
		}
		return nil
	})
}

// waitFullFetches waits until c has made n full fetches and published the last.
func waitFullFetches(t *testing.T, c *Client, n int64) {
	t.Helper()
	testenv.Eventually(t, within, func() error {
		if got := c.stats.fullFetches.Load(); got < n || !c.snap.Load().synced {
			return fmt.Errorf("%d full fetches, want %d", got, n)
		}
		return nil
	})
}

func TestWatchingClientAppliesDeltasSince(t *testing.T) {
	t.Parallel()
	reg, deltas := startGated(t, nil, "/eureka/apps/delta")
	for _, in := range []*eureka.Instance{newInstance("a", "a-1"), newInstance("a", "a-2"), newInstance("b", "b-1")} {
		if err := reg.Register(in.App, in, false); err != nil {
			t.Fatal(err)
		}
	}
	cfg := observerConfig(reg.URL)
	// Polling alone would take 30 s; within is shorter, so only the watch
	// and the deltas since can make the changes visible in time.
	cfg.RegistryFetchInterval = 30 * time.Second
	c, _ := start(t, cfg)
	waitFullFetches(t, c, 1)
	first := c.snap.Load()

	registerVia(t, reg.URL, newInstance("pay", "pay-1"))
	waitFor(t, c, "pay", "pay-1", true)
	send(t, http.MethodPut, reg.URL+"apps/PAY/pay-1/status?value=OUT_OF_SERVICE", nil, http.StatusOK)
	waitFor(t, c, "pay", "pay-1", false)
	if apps := c.Applications(); apps.AppsHashcode != "OUT_OF_SERVICE_1_UP_3_" {
		t.Errorf("Applications().AppsHashcode = %q after the override, want OUT_OF_SERVICE_1_UP_3_", apps.AppsHashcode)
	}
	send(t, http.MethodPut, reg.URL+"apps/B/b-1/status?value=DOWN", nil, http.StatusOK)
	waitFor(t, c, "b", "b-1", false)
	send(t, http.MethodDelete, reg.URL+"apps/PAY/pay-1", nil, http.StatusOK)
	testenv.Eventually(t, within, func() error {
		if inApplications(c, "PAY") {
			return errors.New("PAY still listed after the cancel")
		}
		return nil
	})

	if full, since, rec := c.stats.fullFetches.Load(), c.stats.sinceFetches.Load(), c.stats.reconciles.Load(); full != 1 || since < 4 || rec != 0 {
		t.Errorf("%d full fetches, %d deltas since, %d reconciles; want 1 full fetch, then a delta since per change", full, since, rec)
	}
	for _, q := range deltas.seen() {
		if !strings.HasPrefix(q, "since=") || !strings.Contains(q, "&epoch=") {
			t.Errorf("delta fetched with query %q, want since=V&epoch=E", q)
		}
	}
	// A's instances never changed: every snapshot since the first shares them.
	last := c.snap.Load()
	if entry(last, "A") != entry(first, "A") || &c.Instances("a")[0] != &first.view("A")[0] || &c.InstancesByVIP("a")[0] != &first.byVIP.lookup("A")[0] {
		t.Error("A's entry or views were rebuilt by changes to other applications")
	}
	if entry(last, "B") == entry(first, "B") {
		t.Error("B's entry was not rebuilt after b-1 went DOWN")
	}
}

// TestForcedMismatchFetchesInFull loses an instance from the client's local
// registry while it waits on a watch. The next delta since does not mention
// the instance, but its apps__hashcode counts it, and the client must fetch
// the registry in full.
func TestForcedMismatchFetchesInFull(t *testing.T) {
	t.Parallel()
	reg, watches := startGated(t, nil, "/eureka/watch")
	for _, id := range []string{"a-1", "a-2"} {
		if err := reg.Register("A", newInstance("a", id), false); err != nil {
			t.Fatal(err)
		}
	}
	cfg := observerConfig(reg.URL)
	cfg.RegistryFetchInterval = 30 * time.Second
	watches.close()
	c, _ := start(t, cfg)
	waitFullFetches(t, c, 1)
	waitHeld(t, watches)
	// The client waits on the watch, so nothing else publishes meanwhile.
	cur := c.snap.Load()
	c.publish(cur.next(edits{"A": {"a-1": cur.instances("A")["a-1"]}}, 0, true))
	if has(c, "a", "a-2") {
		t.Fatal("a-2 still there after losing it")
	}
	if err := reg.Register("B", newInstance("b", "b-1"), false); err != nil {
		t.Fatal(err)
	}
	watches.open()

	waitFor(t, c, "b", "b-1", true)
	waitFor(t, c, "a", "a-2", true)
	if rec, full, since := c.stats.reconciles.Load(), c.stats.fullFetches.Load(), c.stats.sinceFetches.Load(); rec != 1 || full != 2 || since == 0 {
		t.Errorf("%d reconciles, %d full fetches, %d deltas since; want a delta since, its hash mismatch, one more full fetch", rec, full, since)
	}
}

// TestTrimmedVersionFetchesInFull holds the client's delta since until the
// registry has dropped the change from its delta queue: the registry
// answers 410, and the client fetches in full.
func TestTrimmedVersionFetchesInFull(t *testing.T) {
	t.Parallel()
	rc := registry.DefaultConfig()
	rc.DeltaRetention = time.Millisecond
	rc.DeltaRetentionTimerInterval = 5 * time.Millisecond
	reg, deltas := startGated(t, &rc, "/eureka/apps/delta")
	if err := reg.Register("A", newInstance("a", "a-1"), false); err != nil {
		t.Fatal(err)
	}
	cfg := observerConfig(reg.URL)
	cfg.RegistryFetchInterval = 30 * time.Second
	c, _ := start(t, cfg)
	waitFullFetches(t, c, 1)

	deltas.close()
	if err := reg.Register("A", newInstance("a", "a-2"), false); err != nil {
		t.Fatal(err)
	}
	waitHeld(t, deltas)
	waitOutOfDelta(t, reg, "a-2")
	deltas.open()

	waitFor(t, c, "a", "a-2", true)
	if refused, full := c.stats.sinceRefused.Load(), c.stats.fullFetches.Load(); refused != 1 || full != 2 {
		t.Errorf("%d deltas since refused, %d full fetches; want the registry's 410, then a full fetch", refused, full)
	}
}

// TestRestartedRegistryFetchesInFull replaces the registry behind the
// client's URL by a new run, as a restart does: its versions start again, and
// a version the client holds from the earlier run must not be taken for one
// of the new run, even once the new run has counted past it. The registry
// tells by the epoch the client sends back: 409.
func TestRestartedRegistryFetchesInFull(t *testing.T) {
	t.Parallel()
	newRun := func(ids ...string) http.Handler {
		reg, err := registry.New(registry.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		reg.OpenForTraffic(0)
		for _, id := range ids {
			if err := reg.Register("A", newInstance("a", id), false); err != nil {
				t.Fatal(err)
			}
		}
		return reg.Handler()
	}
	var current atomic.Pointer[http.Handler]
	first := newRun("a-1", "a-2")
	current.Store(&first)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*current.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := observerConfig(srv.URL + "/eureka/")
	cfg.RegistryFetchInterval = 200 * time.Millisecond
	c, _ := start(t, cfg)
	waitFullFetches(t, c, 1)
	waitFor(t, c, "a", "a-2", true)

	// Three changes: more than the two the client has seen.
	second := newRun("x-1", "x-2", "x-3")
	current.Store(&second)
	waitFor(t, c, "a", "x-3", true)
	waitFor(t, c, "a", "a-1", false)
	if got := len(c.Instances("a")); got != 3 {
		t.Errorf("Instances(a) = %s after the restart, want x-1, x-2, x-3", idsOf(c.Instances("a")))
	}
	if refused, rec := c.stats.sinceRefused.Load(), c.stats.reconciles.Load(); refused != 1 || rec != 0 {
		t.Errorf("%d deltas since refused, %d reconciles; want the new run's 409, then a full fetch", refused, rec)
	}
}
