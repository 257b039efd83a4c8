package serve

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// TLS is a listener's TLS: server.ssl.* for the main listener,
// management.server.ssl.* for the management one. Files are PEM, as in
// Spring Boot 2.7+; Java key stores are not read.
type TLS struct {
	// Enabled turns TLS on. server.ssl.enabled; default: on when a
	// certificate is given, as in Spring.
	Enabled bool
	// Certificate is the PEM file of the certificate chain, leaf first.
	// server.ssl.certificate.
	Certificate string
	// PrivateKey is the PEM file of its key (PKCS#1, PKCS#8 or EC).
	// server.ssl.certificate-private-key.
	PrivateKey string
	// TrustCertificate is a PEM bundle of the CAs that sign client
	// certificates. server.ssl.trust-certificate.
	TrustCertificate string
	// ClientAuth is server.ssl.client-auth: none (default), want (a client
	// certificate is checked if sent) or need (every client must send one).
	ClientAuth tls.ClientAuthType
	// MinVersion and MaxVersion come from server.ssl.enabled-protocols
	// (TLSv1.2, TLSv1.3); default TLS 1.2 to 1.3.
	MinVersion, MaxVersion uint16
	// ReloadInterval is how often the certificate files are checked for a
	// change; they are also checked on SIGHUP. 0 checks only on SIGHUP.
	// switchboard.server.certificate-reload-interval; default 5 s.
	ReloadInterval time.Duration
}

// PeerTLS is TLS between registry peers, switchboard.server.peer-ssl.*:
// what this node trusts and presents when it replicates to its peers, and
// whether it demands a peer certificate of those replicating to it.
type PeerTLS struct {
	// TrustCertificate is a PEM bundle of the CAs that sign the peers'
	// certificates, their server certificates when this node replicates to
	// them and their client certificates when they replicate here. In place
	// of the system's CAs. .trust-certificate; default: the system's CAs.
	TrustCertificate string
	// Certificate and PrivateKey are the PEM files of the client certificate
	// this node presents to its peers. .certificate and
	// .certificate-private-key; default none. Reloaded as the listener's is.
	Certificate, PrivateKey string
	// ClientAuth, .client-auth: need, refuses replication (the batch
	// endpoint and requests marked x-netflix-discovery-replication) with 403
	// unless the caller presented a certificate signed by TrustCertificate.
	// Other requests are unaffected. Needs TLS on the listener. Default none.
	ClientAuth bool
}

// Certificate is a certificate and key read from PEM files, and read again
// by Run when the files change, so a renewed certificate is served without
// a restart. A new certificate that does not load (a bad file, a key that
// does not match, a certificate not valid now) is logged and the current one
// kept. It is safe for concurrent use; Run must run only once at a time.
type Certificate struct {
	certFile, keyFile string
	interval          time.Duration
	log               *slog.Logger
	cur               atomic.Pointer[tls.Certificate]

	mu       sync.Mutex // guards the fields below
	certSeen []byte     // the file contents last tried, loaded or not
	keySeen  []byte
}

// LoadCertificate reads the certificate and key in certFile and keyFile.
// Run checks them every interval (0: only on SIGHUP) and logs to log.
func LoadCertificate(certFile, keyFile string, interval time.Duration, log *slog.Logger) (*Certificate, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Certificate{certFile: certFile, keyFile: keyFile, interval: interval, log: log}
	if _, err := c.reload(time.Now()); err != nil {
		return nil, err
	}
	return c, nil
}

// GetCertificate returns the current certificate; it suits tls.Config.GetCertificate.
func (c *Certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// GetClientCertificate returns the current certificate; it suits
// tls.Config.GetClientCertificate.
func (c *Certificate) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// Leaf returns the current certificate's leaf.
func (c *Certificate) Leaf() *x509.Certificate { return c.cur.Load().Leaf }

// Run checks the files every interval and on SIGHUP, and swaps in the new
// certificate when their contents changed, until ctx is done. On a nil
// *Certificate it only waits for ctx.
func (c *Certificate) Run(ctx context.Context) error {
	if c == nil {
		<-ctx.Done()
		return nil
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var tick <-chan time.Time
	if c.interval > 0 {
		t := time.NewTicker(c.interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
		case <-tick:
		}
		changed, err := c.reload(time.Now())
		if err != nil {
			c.log.Error("certificate not reloaded; the current one stays", "file", c.certFile, "err", err)
			continue
		}
		if changed {
			leaf := c.Leaf()
			c.log.Info("certificate reloaded", "file", c.certFile, "subject", leaf.Subject.String(),
				"serial", leaf.SerialNumber.String(), "not_after", leaf.NotAfter)
		}
	}
}

// reload reads the files and swaps the certificate in when they changed
// since the last try.
func (c *Certificate) reload(now time.Time) (changed bool, err error) {
	certPEM, err := os.ReadFile(c.certFile)
	if err != nil {
		return false, err
	}
	keyPEM, err := os.ReadFile(c.keyFile)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	same := bytes.Equal(certPEM, c.certSeen) && bytes.Equal(keyPEM, c.keySeen)
	c.certSeen, c.keySeen = certPEM, keyPEM
	c.mu.Unlock()
	if same {
		return false, nil
	}
	cert, err := parseKeyPair(certPEM, keyPEM, now)
	if err != nil {
		return false, fmt.Errorf("%s, %s: %w", c.certFile, c.keyFile, err)
	}
	c.cur.Store(cert)
	return true, nil
}

// parseKeyPair parses a certificate chain and its key, and checks that the
// leaf is valid at now.
func parseKeyPair(certPEM, keyPEM []byte, now time.Time) (*tls.Certificate, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	leaf := cert.Leaf // set by X509KeyPair since Go 1.23
	switch {
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("certificate %q is not valid before %s", leaf.Subject.CommonName, leaf.NotBefore.Format(time.RFC3339))
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("certificate %q expired at %s", leaf.Subject.CommonName, leaf.NotAfter.Format(time.RFC3339))
	}
	return &cert, nil
}

// LoadCertPool reads PEM bundles of CA certificates into a new pool.
func LoadCertPool(files ...string) (*x509.CertPool, error) {
	certs, err := loadCerts(files...)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// loadCerts reads the certificates in PEM bundles. A file without any is
// an error; so is a block that does not parse.
func loadCerts(files ...string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		n := 0
		for {
			var b *pem.Block
			b, data = pem.Decode(data)
			if b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			out = append(out, c)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("%s: no PEM certificate in it", f)
		}
	}
	return out, nil
}

// serverConfig loads t's files and returns a listener's tls.Config, which
// offers HTTP/2, and its certificate, for Run. extraCAs are also trusted
// for client certificates (the peers'); they turn client-auth none into
// want.
func (t TLS) serverConfig(extraCAs string, log *slog.Logger) (*tls.Config, *Certificate, error) {
	cert, err := LoadCertificate(t.Certificate, t.PrivateKey, t.ReloadInterval, log)
	if err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{
		MinVersion:     max(t.MinVersion, tls.VersionTLS12),
		MaxVersion:     t.MaxVersion,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: cert.GetCertificate,
		ClientAuth:     t.ClientAuth,
	}
	var cas []string
	if t.TrustCertificate != "" {
		cas = append(cas, t.TrustCertificate)
	}
	if extraCAs != "" {
		cas = append(cas, extraCAs)
		cfg.ClientAuth = max(cfg.ClientAuth, tls.VerifyClientCertIfGiven)
	}
	if len(cas) > 0 {
		if cfg.ClientCAs, err = LoadCertPool(cas...); err != nil {
			return nil, nil, err
		}
	}
	return cfg, cert, nil
}

// clientConfig loads p's files and returns the tls.Config for connections
// to peers, and the client certificate (nil if none), for Run.
func (p PeerTLS) clientConfig(interval time.Duration, log *slog.Logger) (*tls.Config, *Certificate, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.TrustCertificate != "" {
		pool, err := LoadCertPool(p.TrustCertificate)
		if err != nil {
			return nil, nil, err
		}
		cfg.RootCAs = pool
	}
	if p.Certificate == "" {
		return cfg, nil, nil
	}
	cert, err := LoadCertificate(p.Certificate, p.PrivateKey, interval, log)
	if err != nil {
		return nil, nil, err
	}
	cfg.GetClientCertificate = cert.GetClientCertificate
	return cfg, cert, nil
}

// requireClientCert answers 403 to the requests match selects unless they
// came with a client certificate that chains to one of cas. The handshake
// has verified the chain already; this checks where it ends.
func requireClientCert(h http.Handler, cas []*x509.Certificate, match func(*http.Request) bool, log *slog.Logger) http.Handler {
	roots := make(map[string]bool, len(cas))
	for _, c := range cas {
		roots[string(c.Raw)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if match(r) && !chainsTo(r, roots) {
			log.Warn("replication refused: no peer certificate", "remote", r.RemoteAddr, "path", r.URL.Path)
			http.Error(w, "replication needs a peer certificate", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func chainsTo(r *http.Request, roots map[string]bool) bool {
	if r.TLS == nil {
		return false
	}
	for _, chain := range r.TLS.VerifiedChains {
		if len(chain) > 0 && roots[string(chain[len(chain)-1].Raw)] {
			return true
		}
	}
	return false
}
