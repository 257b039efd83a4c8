// Command hello is the smallest service that registers with Switchboard (or
// any Eureka server): it answers GET / with "hello from <instance id>" and
// cancels its registration when stopped with Ctrl-C or SIGTERM.
//
//	go run ./examples/hello -port 8081
//	go run ./examples/hello -port 8082
//	curl localhost:8761/eureka/apps/HELLO -H 'Accept: application/json'
//
// Flags default to the environment variables PORT, APP, REGISTRY and
// INSTANCE_ID.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard-dev/switchboard/discovery"
)

func main() {
	port := flag.Int("port", envInt("PORT", 8080), "port to serve on; 0 picks a free one")
	app := flag.String("app", env("APP", "hello"), "application name to register")
	registry := flag.String("registry", env("REGISTRY", "http://localhost:8761/eureka/"), "registry service URLs, comma-separated")
	id := flag.String("id", env("INSTANCE_ID", ""), "instance id (default host:app:port)")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, *port, *app, *registry, *id); err != nil {
		log.Error("hello", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, port int, app, registry, id string) error {
	// Listen first, so that the registered port is the real one, even for -port 0.
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	cfg := discovery.DefaultConfig()
	cfg.ServiceURLs = []string{registry}
	cfg.Instance.App = app
	cfg.Instance.Port = ln.Addr().(*net.TCPAddr).Port
	cfg.Instance.InstanceID = id
	cfg.FetchRegistry = false // hello calls no one
	client, err := discovery.New(cfg, discovery.WithLogger(log))
	if err != nil {
		ln.Close()
		return err
	}
	me := client.Instance().InstanceID

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", me)
	})
	mux.HandleFunc("GET /actuator/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"UP"}`)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errs <- err
			cancel()
		}
	})
	// Run returns once ctx is done and the registration is cancelled, so
	// callers stop being sent here before the server stops.
	wg.Go(func() {
		if err := client.Run(ctx); err != nil {
			log.Warn("could not cancel the registration; the registry expires it", "err", err)
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	})
	log.Info("serving", "addr", ln.Addr().String(), "id", me, "registry", registry)
	wg.Wait()
	close(errs)
	return errors.Join(<-errs, <-errs)
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return n
	}
	return def
}
