package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Limits bound what one connection may cost the server. A zero timeout is
// none; net/http then uses ReadTimeout for the header and idle timeouts.
type Limits struct {
	// ReadHeaderTimeout bounds the wait for a request's headers, from the
	// first byte (or the end of the previous request). It is what closes
	// slowloris connections. switchboard.server.read-header-timeout, or
	// server.tomcat.connection-timeout; default 10 s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	// switchboard.server.read-timeout; default 30 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response, from the end of the request's
	// headers. switchboard.server.write-timeout; default 60 s (the gateway:
	// none, as responses stream and the route's timeouts apply).
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends no new request.
	// switchboard.server.idle-timeout, or server.tomcat.keep-alive-timeout;
	// default 120 s.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps a request's line and headers; beyond it the answer
	// is 431. server.max-http-request-header-size; default 64 KiB (Spring's
	// is 8 KiB). net/http allows 4 KiB of slack over HTTP/1.
	MaxHeaderBytes int
	// MaxBodyBytes caps every request body at the listener: a larger
	// Content-Length gets 413 before the handler runs, and reading a longer
	// chunked body fails with *http.MaxBytesError. switchboard.server.max-body-bytes;
	// default 0, no cap here: the registry caps what it reads
	// (switchboard.registry.max-body-bytes, 1 MiB) and gateway routes use
	// the RequestSize filter.
	MaxBodyBytes int64
	// MaxConnections caps the connections open at once. Beyond it the
	// listener stops accepting: new connections wait in the kernel's accept
	// queue (the listen backlog; the kernel refuses them once it is full)
	// until a connection closes, as Tomcat does. Requests on open
	// connections go on. switchboard.server.max-connections, or
	// server.tomcat.max-connections; default 10,000; 0 is no cap.
	MaxConnections int
	// ShutdownTimeout is how long a shutdown waits for requests in flight.
	// switchboard.server.shutdown-timeout; default 10 s.
	ShutdownTimeout time.Duration
}

// DefaultLimits returns the limits every listener uses unless configured.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		MaxConnections:    10_000,
		ShutdownTimeout:   10 * time.Second,
	}
}

// Server builds an http.Server for h with the limits applied. To serve TLS,
// set its TLSConfig (with "h2" in NextProtos for HTTP/2) before Run.
func Server(h http.Handler, lim Limits, log *slog.Logger) *http.Server {
	if lim.MaxBodyBytes > 0 {
		h = maxBody(h, lim.MaxBodyBytes)
	}
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
// lim.ShutdownTimeout for requests in flight. It caps ln's connections at
// lim.MaxConnections, and serves TLS when srv.TLSConfig is set.
func Run(ctx context.Context, srv *http.Server, ln net.Listener, lim Limits) error {
	ln = LimitListener(ln, lim.MaxConnections)
	if srv.TLSConfig != nil {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
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
