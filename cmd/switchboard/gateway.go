package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	"github.com/switchboard-dev/switchboard/gateway"
	"github.com/switchboard-dev/switchboard/internal/serve"
	"github.com/switchboard-dev/switchboard/internal/springconf"
)

// loadGateway reads and binds the gateway configuration and its listener's.
func loadGateway(file string, environ, profiles []string, port string) (*gateway.Config, serve.Options, error) {
	props, err := springconf.Load(file, environ, profiles)
	if err != nil {
		return nil, serve.Options{}, err
	}
	if port != "" {
		if _, err := strconv.Atoi(port); err != nil {
			return nil, serve.Options{}, fmt.Errorf("--port: %q is not a port number; want 0 to 65535", port)
		}
		props.Set("server.port", port, "--port")
	}
	cfg, err := gateway.Bind(props)
	opts, lerr := serve.Bind(props, gatewayLimits(), false)
	if err := errors.Join(err, lerr); err != nil {
		return nil, serve.Options{}, err
	}
	return cfg, opts, nil
}

// gatewayLimits are the gateway's default limits: no write timeout, as
// responses stream (server-sent events, downloads, websockets) and each
// route's response timeout applies.
func gatewayLimits() serve.Limits {
	lim := serve.DefaultLimits()
	lim.WriteTimeout = 0
	return lim
}

func runGateway(ctx context.Context, args, environ []string, stderr io.Writer) error {
	f, log, err := begin("gateway", args, stderr, false)
	if err != nil {
		return err
	}
	profiles := f.profileList()
	cfg, opts, err := loadGateway(f.config, environ, profiles, f.port)
	if err != nil {
		return err
	}
	// The listener's keys are checked on reload too, but take effect on
	// restart: the sockets stay as they are.
	reload := func() (*gateway.Config, error) {
		cfg, _, err := loadGateway(f.config, environ, profiles, f.port)
		return cfg, err
	}
	return serveGateway(ctx, cfg, opts, f.config, reload, log)
}

// serveGateway runs a gateway until ctx ends: its discovery client when
// registry URLs are configured, its listener, and reloads on SIGHUP or when
// the configuration file changes.
func serveGateway(ctx context.Context, cfg *gateway.Config, lopts serve.Options, file string, reload func() (*gateway.Config, error), log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	errs := make(chan error, 4)

	var opts []gateway.Option
	opts = append(opts, gateway.WithLogger(log))
	if len(cfg.RegistryURLs) > 0 {
		dc := discovery.DefaultConfig()
		dc.ServiceURLs = cfg.RegistryURLs
		dc.RegisterWithEureka = false
		dc.RegistryFetchInterval = cfg.RegistryFetchInterval
		// The registry is reached with the upstreams' TLS settings: their
		// CAs and client certificate.
		tc, err := cfg.HTTPClient.TLSConfig()
		if err != nil {
			return err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		hc := &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		client, err := discovery.New(dc, discovery.WithHTTPClient(hc), discovery.WithLogger(log.With("component", "discovery")))
		if err != nil {
			return err
		}
		wg.Go(func() { errs <- client.Run(ctx) })
		opts = append(opts, gateway.WithRegistry(client))
	}
	gw, err := gateway.New(cfg, opts...)
	if err != nil {
		return err
	}
	ls, err := serve.Listen(net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port)), lopts, log)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	log.Info("gateway listening", listenAttrs(ls, "routes", len(gw.Routes()), "registries", len(cfg.RegistryURLs))...)
	wg.Go(func() { errs <- ls.Serve(ctx, gw, gw.AdminHandler()) })
	wg.Go(func() { errs <- gw.Run(ctx) })
	wg.Go(func() { watchConfig(ctx, file, reload, gw, log) })
	err = <-errs
	cancel()
	return err
}

// watchConfig reloads the gateway on SIGHUP and when the file's modification
// time or size changes. A bad file is refused and the old routes keep serving.
func watchConfig(ctx context.Context, file string, reload func() (*gateway.Config, error), gw *gateway.Gateway, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	stamp := func() string {
		if file == "" {
			return ""
		}
		fi, err := os.Stat(file)
		if err != nil {
			return ""
		}
		return fi.ModTime().String() + "/" + strconv.FormatInt(fi.Size(), 10)
	}
	last := stamp()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-tick.C:
			if reload == nil {
				continue
			}
			now := stamp()
			if now == last {
				continue
			}
			// An editor may still be writing: wait until the file holds
			// still for a moment, so a half-written file is not applied.
			if !sleepCtx(ctx, 200*time.Millisecond) || stamp() != now {
				continue
			}
			last = now
		}
		if reload == nil {
			log.Info("SIGHUP ignored: no configuration file")
			continue
		}
		cfg, err := reload()
		if err != nil {
			gw.Refuse(err)
		} else {
			err = gw.Reload(cfg)
		}
		if err != nil {
			log.Error("configuration refused; the previous routes keep serving", "file", file, "err", err)
			continue
		}
		log.Info("configuration reloaded", "file", file, "routes", len(gw.Routes()))
	}
}

// sleepCtx waits d, or less if ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
