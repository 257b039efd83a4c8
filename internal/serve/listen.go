package serve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a server's listeners. Bind reads them from Spring's
// keys; DefaultOptions gives the defaults.
type Options struct {
	Limits     Limits
	TLS        TLS        // server.ssl.*
	Management Management // management.server.*
	Peer       PeerTLS    // switchboard.server.peer-ssl.*, the registry's only
}

// Management places the admin endpoints: /actuator/** and /metrics.
type Management struct {
	// Port is management.server.port. SamePort, the default and also what a
	// port equal to server.port means, serves the admin endpoints on the
	// main listener. NoPort (-1) serves them nowhere. Any other port gets a
	// listener of its own (0: any free port), and the main listener answers
	// 404 for them.
	Port int
	// Address is management.server.address, the management listener's
	// interface, e.g. 127.0.0.1; default all.
	Address string
	// TLS is management.server.ssl.*; default: the main listener's.
	TLS TLS
}

// Values of Management.Port.
const (
	SamePort = -2 // on the main listener
	NoPort   = -1 // nowhere: management.server.port: -1, as in Spring
)

// DefaultReloadInterval is how often certificate files are checked.
const DefaultReloadInterval = 5 * time.Second

// DefaultOptions returns the options of a listener that is not configured:
// plain HTTP, lim, and the admin endpoints on the main listener.
func DefaultOptions(lim Limits) Options {
	tls := TLS{ReloadInterval: DefaultReloadInterval}
	return Options{Limits: lim, TLS: tls, Management: Management{Port: SamePort, TLS: tls}}
}

// separate reports whether the admin endpoints get their own listener
// beside a main listener at mainAddr.
func (m Management) separate(mainAddr string) bool {
	if m.Port == SamePort || m.Port == NoPort {
		return false
	}
	_, port, _ := net.SplitHostPort(mainAddr)
	return m.Port == 0 || port != strconv.Itoa(m.Port)
}

// isAdmin reports whether path is an admin endpoint.
func isAdmin(path string) bool {
	return path == "/metrics" || path == "/actuator" || strings.HasPrefix(path, "/actuator/")
}

// Listeners are a server's open sockets, the main one and, when
// management.server.port asks for it, the management one, with their TLS
// loaded. Listen opens them; Serve serves them. A Listeners is for one
// Serve; its methods are safe for concurrent use.
type Listeners struct {
	opts              Options
	log               *slog.Logger
	main, admin       net.Listener
	mainTLS, adminTLS *tls.Config
	peerTLS           *tls.Config
	peerCAs           []*x509.Certificate
	certs             []*Certificate // to keep fresh while serving
}

// Listen loads the certificates opts names and listens at addr, and at
// the management address when the admin endpoints have their own port.
// A file that does not load or an address in use is an error, and nothing
// stays open.
func Listen(addr string, opts Options, log *slog.Logger) (_ *Listeners, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Listeners{opts: opts, log: log}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if opts.TLS.Enabled {
		var peerCAs string
		if opts.Peer.ClientAuth {
			peerCAs = opts.Peer.TrustCertificate
			if l.peerCAs, err = loadCerts(peerCAs); err != nil {
				return nil, fmt.Errorf("switchboard.server.peer-ssl.trust-certificate: %w", err)
			}
		}
		var cert *Certificate
		if l.mainTLS, cert, err = opts.TLS.serverConfig(peerCAs, log.With("tls", "server.ssl")); err != nil {
			return nil, fmt.Errorf("server.ssl: %w", err)
		}
		l.certs = append(l.certs, cert)
	}
	if opts.Peer.TrustCertificate != "" || opts.Peer.Certificate != "" {
		var cert *Certificate
		if l.peerTLS, cert, err = opts.Peer.clientConfig(opts.TLS.ReloadInterval, log.With("tls", "switchboard.server.peer-ssl")); err != nil {
			return nil, fmt.Errorf("switchboard.server.peer-ssl: %w", err)
		}
		if cert != nil {
			l.certs = append(l.certs, cert)
		}
	}
	if l.main, err = net.Listen("tcp", addr); err != nil {
		return nil, err
	}
	m := opts.Management
	if !m.separate(l.main.Addr().String()) {
		return l, nil
	}
	if m.TLS.Enabled {
		var cert *Certificate
		if l.adminTLS, cert, err = m.TLS.serverConfig("", log.With("tls", "management.server.ssl")); err != nil {
			return nil, fmt.Errorf("management.server.ssl: %w", err)
		}
		l.certs = append(l.certs, cert)
	}
	if l.admin, err = net.Listen("tcp", net.JoinHostPort(m.Address, strconv.Itoa(m.Port))); err != nil {
		return nil, fmt.Errorf("management.server.port: %w", err)
	}
	return l, nil
}

// Addr is the main listener's address.
func (l *Listeners) Addr() net.Addr { return l.main.Addr() }

// AdminAddr is the management listener's address, or nil when there is none.
func (l *Listeners) AdminAddr() net.Addr {
	if l.admin == nil {
		return nil
	}
	return l.admin.Addr()
}

// TLS reports whether the main listener serves TLS.
func (l *Listeners) TLS() bool { return l.mainTLS != nil }

// PeerTLS returns the TLS settings for connections to registry peers, or
// nil when switchboard.server.peer-ssl sets none (the system's CAs apply).
func (l *Listeners) PeerTLS() *tls.Config { return l.peerTLS }

// RequirePeerCertificate returns h, made to refuse with 403 the requests
// isReplication selects unless they come with a peer certificate, when
// switchboard.server.peer-ssl.client-auth is need; else h itself.
func (l *Listeners) RequirePeerCertificate(h http.Handler, isReplication func(*http.Request) bool) http.Handler {
	if !l.opts.Peer.ClientAuth {
		return h
	}
	return requireClientCert(h, l.peerCAs, isReplication, l.log)
}

// Close closes the sockets. Serve closes them itself when it returns.
func (l *Listeners) Close() {
	if l.main != nil {
		l.main.Close()
	}
	if l.admin != nil {
		l.admin.Close()
	}
}

// Serve serves until ctx ends or a listener fails: app on the main
// listener, and admin for the admin endpoints, on the main listener or the
// management one as configured (404 where they are not served). It also
// keeps the certificates fresh.
func (l *Listeners) Serve(ctx context.Context, app, admin http.Handler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lim := l.opts.Limits
	var wg sync.WaitGroup
	errs := make(chan error, 2+len(l.certs))

	onMain := admin
	if l.admin != nil || l.opts.Management.Port == NoPort {
		onMain = http.NotFoundHandler()
	}
	srv := Server(route(onMain, app), lim, l.log)
	srv.TLSConfig = l.mainTLS
	wg.Go(func() { errs <- Run(ctx, srv, l.main, lim) })
	if l.admin != nil {
		asrv := Server(route(admin, http.NotFoundHandler()), lim, l.log)
		asrv.TLSConfig = l.adminTLS
		wg.Go(func() { errs <- Run(ctx, asrv, l.admin, lim) })
	}
	for _, c := range l.certs {
		wg.Go(func() { errs <- c.Run(ctx) })
	}
	err := <-errs
	cancel()
	wg.Wait()
	return err
}

// route sends the admin endpoints to admin and the rest to app.
func route(admin, app http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAdmin(r.URL.Path) {
			admin.ServeHTTP(w, r)
			return
		}
		app.ServeHTTP(w, r)
	})
}
