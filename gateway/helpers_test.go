package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/discovery"
	"github.com/switchboard-dev/switchboard/internal/springconf"
	"github.com/switchboard-dev/switchboard/internal/testenv"
)

// yamlConf fills {{NAME}} placeholders in a YAML configuration text:
// yamlConf(text, "BACKEND", srv.URL).
func yamlConf(text string, kv ...string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		text = strings.ReplaceAll(text, "{{"+kv[i]+"}}", kv[i+1])
	}
	return text
}

// bindYAML parses and binds a configuration text as switchboard gateway
// does with its file.
func bindYAML(t testing.TB, text string) *Config {
	t.Helper()
	props, err := springconf.Parse("test.yml", []byte(text), nil)
	if err != nil {
		t.Fatalf("parse:\n%v\n%s", err, text)
	}
	cfg, err := Bind(props)
	if err != nil {
		t.Fatalf("bind:\n%v\n%s", err, text)
	}
	return cfg
}

// newGateway compiles a configuration text into a gateway that is not
// served; tests call its ServeHTTP directly.
func newGateway(t testing.TB, text string, opts ...Option) *Gateway {
	t.Helper()
	opts = append([]Option{WithLogger(testLogger(t))}, opts...)
	g, err := New(bindYAML(t, text), opts...)
	if err != nil {
		t.Fatalf("New:\n%v", err)
	}
	t.Cleanup(g.closeIdle)
	return g
}

// testGateway is a gateway serving on a loopback port until its test ends,
// with the admin endpoints mounted as switchboard gateway mounts them.
type testGateway struct {
	*Gateway
	URL string // http://127.0.0.1:PORT
	srv *httptest.Server
}

// startGateway compiles a configuration text and serves it, running the
// gateway's background work (discovery routes, JWKS) until the test ends.
func startGateway(t testing.TB, text string, opts ...Option) *testGateway {
	t.Helper()
	g := newGateway(t, text, opts...)
	srv := httptest.NewServer(adminMux(g))
	t.Cleanup(srv.Close)
	runGateway(t, g)
	return &testGateway{Gateway: g, URL: srv.URL, srv: srv}
}

// adminMux mounts the gateway beside its admin endpoints, as the command does.
func adminMux(g *Gateway) http.Handler {
	mux := http.NewServeMux()
	admin := g.AdminHandler()
	mux.Handle("/actuator/", admin)
	mux.Handle("/metrics", admin)
	mux.Handle("/", g)
	return mux
}

// runGateway runs g.Run until the test ends.
func runGateway(t testing.TB, g *Gateway) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Gateway.Run: %v", err)
		}
	})
}

// testLogger sends warnings and errors to the test log; the access log, at
// info level, is left out.
func testLogger(t testing.TB) *slog.Logger {
	w := &syncTestWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// syncTestWriter writes to t.Log until the test ends, and drops lines after
// that, which goroutines still stopping may log.
type syncTestWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *syncTestWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// backend is an httptest server that counts its requests.
type backend struct {
	*httptest.Server
	hits atomic.Int64
}

// startBackend serves h on a loopback port, counting requests.
func startBackend(t testing.TB, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(b.Close)
	return b
}

// named answers with its name in the body and in X-Backend.
func named(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		io.WriteString(w, name)
	}
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// get sends a GET through c and returns the status, the body and the
// response headers; a transport error fails the test.
func get(t testing.TB, c *http.Client, url string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp.StatusCode, string(body), resp.Header
}

// call calls h in process and returns the recorded response.
func call(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// startDiscovery runs a discovery client that fetches reg's registry (and
// registers nothing) until the test ends.
func startDiscovery(t testing.TB, reg *testenv.Registry) *discovery.Client {
	t.Helper()
	cfg := discovery.DefaultConfig()
	cfg.ServiceURLs = []string{reg.URL}
	cfg.RegisterWithEureka = false
	cfg.RegistryFetchInterval = 5 * time.Second // a watch returns at once on a change
	return runDiscovery(t, cfg)
}

// registerInstance registers an instance of app at addr (host:port) with
// reg, through a discovery client of its own, until the test ends.
func registerInstance(t testing.TB, reg *testenv.Registry, app, addr string) *discovery.Client {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := discovery.DefaultConfig()
	cfg.ServiceURLs = []string{reg.URL}
	cfg.FetchRegistry = false
	cfg.InitialRegistrationJitter = -1
	cfg.Instance.App = app
	cfg.Instance.HostName = host
	cfg.Instance.IPAddr = host
	cfg.Instance.Port, _ = strconv.Atoi(port)
	cfg.Instance.InstanceID = app + ":" + addr
	return runDiscovery(t, cfg)
}

func runDiscovery(t testing.TB, cfg discovery.Config) *discovery.Client {
	t.Helper()
	c, err := discovery.New(cfg)
	if err != nil {
		t.Fatalf("discovery.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return c
}

// waitInstances waits until c sees n UP instances of app.
func waitInstances(t testing.TB, c *discovery.Client, app string, n int) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := len(c.Instances(app)); got != n {
			return fmt.Errorf("%s has %d UP instances, want %d", app, got, n)
		}
		return nil
	})
}
