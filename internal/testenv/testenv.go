// Package testenv starts the real things tests need: a registry on loopback,
// redis-server on a free port, and helpers to wait for conditions.
package testenv

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/serve"
	"github.com/switchboard-dev/switchboard/registry"
)

// Registry is a registry serving on a loopback port for one test.
type Registry struct {
	*registry.Registry
	// URL is the Eureka service URL, e.g. "http://127.0.0.1:41234/eureka".
	URL string
	// Base is the server root, e.g. "http://127.0.0.1:41234".
	Base string
}

// StartRegistry runs a registry on 127.0.0.1 with a free port until the test
// ends. cfg may be nil for Eureka's defaults; opts go to registry.New.
func StartRegistry(t testing.TB, cfg *registry.Config, opts ...registry.Option) *Registry {
	t.Helper()
	c := registry.DefaultConfig()
	if cfg != nil {
		c = *cfg
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts = append([]registry.Option{registry.WithLogger(log)}, opts...)
	reg, err := registry.New(c, opts...)
	if err != nil {
		t.Fatalf("registry.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	reg.OpenForTraffic(0)
	lim := serve.DefaultLimits()
	lim.ShutdownTimeout = 2 * time.Second
	srv := serve.Server(reg.Handler(), lim, log)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { reg.Run(ctx) })
	wg.Go(func() {
		if err := serve.Run(ctx, srv, ln, lim); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("registry server: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	base := "http://" + ln.Addr().String()
	return &Registry{Registry: reg, URL: base + "/eureka", Base: base}
}

// testWriter sends log lines to t.Log, so they show only for failing tests.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// Eventually calls cond every few milliseconds until it returns nil or the
// deadline passes, then fails the test with cond's last error.
func Eventually(t testing.TB, within time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", within, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// InCI reports whether the tests run under CI, where missing tools fail
// tests instead of skipping them.
func InCI() bool { return os.Getenv("CI") != "" }
