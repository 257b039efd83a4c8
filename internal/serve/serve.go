// Package serve runs HTTP servers the way every Switchboard listener runs:
// with limits on header size and on read, write and idle time, structured
// logs, and a graceful shutdown when the context ends.
package serve

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Limits bound what one connection may cost the server.
type Limits struct {
	ReadHeaderTimeout time.Duration // default 10 s
	ReadTimeout       time.Duration // default 30 s
	WriteTimeout      time.Duration // default 60 s
	IdleTimeout       time.Duration // default 120 s
	MaxHeaderBytes    int           // default 64 KiB
	ShutdownTimeout   time.Duration // default 10 s
}

// DefaultLimits returns the limits every listener uses unless configured.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ShutdownTimeout:   10 * time.Second,
	}
}

// Server builds an http.Server for h with the limits applied.
func Server(h http.Handler, lim Limits, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Run serves on ln until ctx ends, then shuts down gracefully, waiting up to
// lim.ShutdownTimeout for requests in flight.
func Run(ctx context.Context, srv *http.Server, ln net.Listener, lim Limits) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), lim.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Requests still running (or idle connections that never sent one,
		// which Shutdown waits for too) are cut off: we were told to stop.
		srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return nil
}
