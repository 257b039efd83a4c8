package serve

import (
	"crypto/tls"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/internal/springconf"
)

// Bind reads a server's listener keys from p, starting from
// DefaultOptions(lim), and reports every problem at once:
//
//	server.ssl.*                           TLS (PEM files), client-auth, enabled-protocols
//	server.max-http-request-header-size    Limits.MaxHeaderBytes
//	server.tomcat.connection-timeout, .keep-alive-timeout, .max-connections
//	switchboard.server.*                   the other limits; certificate-reload-interval
//	switchboard.server.peer-ssl.*          PeerTLS, when peers is true (the registry)
//	management.server.port, .address, .ssl.*
//
// Where a switchboard.server key and a server.tomcat key set one limit, the
// switchboard.server key wins. The certificate files are read, so a missing
// or bad file is reported with its key. Unknown keys under server.ssl,
// server.tomcat, switchboard.server and management.server are errors;
// other management.* keys (endpoints, metrics ...) are accepted and ignored.
func Bind(p *springconf.Props, lim Limits, peers bool) (Options, error) {
	o := DefaultOptions(lim)
	b := springconf.NewBinder(p)
	l := &o.Limits

	const sw = "switchboard.server."
	timeout(b, sw+"certificate-reload-interval", &o.TLS.ReloadInterval)
	o.TLS = bindTLS(b, "server.ssl", o.TLS)

	if n, ok := bindSize(b, "server.max-http-request-header-size", 1024, 1<<30); ok {
		l.MaxHeaderBytes = int(n)
	}

	const tc = "server.tomcat."
	timeout(b, tc+"connection-timeout", &l.ReadHeaderTimeout)
	timeout(b, tc+"keep-alive-timeout", &l.IdleTimeout)
	tomcatMax := l.MaxConnections
	b.Int(tc+"max-connections", &tomcatMax, -1, 1<<24)
	l.MaxConnections = max(tomcatMax, 0) // Tomcat's -1 is no cap
	b.Ignore(ignoredTomcatKeys...)

	timeout(b, sw+"read-header-timeout", &l.ReadHeaderTimeout)
	timeout(b, sw+"read-timeout", &l.ReadTimeout)
	timeout(b, sw+"write-timeout", &l.WriteTimeout)
	timeout(b, sw+"idle-timeout", &l.IdleTimeout)
	timeout(b, sw+"shutdown-timeout", &l.ShutdownTimeout)
	b.Int(sw+"max-connections", &l.MaxConnections, 0, 1<<24)
	if n, ok := bindSize(b, sw+"max-body-bytes", 0, math.MaxInt64); ok {
		l.MaxBodyBytes = n
	}

	if peers {
		o.Peer = bindPeer(b, o.TLS.Enabled)
	} else if len(p.List(sw+"peer-ssl")) > 0 {
		b.Errorf(sw+"peer-ssl", "TLS between registry peers; the gateway has no peers")
		b.Ignore(sw + "peer-ssl") // one error is enough
	}

	const mg = "management.server."
	b.Int(mg+"port", &o.Management.Port, -1, 65535)
	b.String(mg+"address", &o.Management.Address)
	o.Management.TLS = o.TLS
	if len(p.List(mg+"ssl")) > 0 {
		o.Management.TLS = bindTLS(b, mg+"ssl", TLS{ReloadInterval: o.TLS.ReloadInterval})
	}

	b.Unknown("server.ssl", "server.tomcat", "switchboard.server", "management.server")
	return o, b.Err()
}

// bindTLS reads the server.ssl keys under prefix into t.
func bindTLS(b *springconf.Binder, prefix string, t TLS) TLS {
	k := func(name string) string { return prefix + "." + name }
	enabled := true
	_, enabledSet := b.Lookup(k("enabled"))
	b.Bool(k("enabled"), &enabled)
	b.String(k("certificate"), &t.Certificate)
	b.String(k("certificate-private-key"), &t.PrivateKey)
	b.String(k("trust-certificate"), &t.TrustCertificate)
	for _, f := range []*string{&t.Certificate, &t.PrivateKey, &t.TrustCertificate} {
		*f = strings.TrimPrefix(strings.TrimSpace(*f), "file:")
	}
	clientAuth := "none"
	b.Enum(k("client-auth"), &clientAuth, "none", "want", "need")
	t.ClientAuth = map[string]tls.ClientAuthType{
		"none": tls.NoClientCert, "want": tls.VerifyClientCertIfGiven, "need": tls.RequireAndVerifyClientCert,
	}[clientAuth]
	var protocols []string
	b.StringList(k("enabled-protocols"), &protocols)
	for _, proto := range protocols {
		v, ok := tlsVersions[strings.ToUpper(proto)]
		if !ok {
			b.Errorf(k("enabled-protocols"), "%q is not allowed; want TLSv1.2 or TLSv1.3", proto)
			continue
		}
		if t.MinVersion == 0 || v < t.MinVersion {
			t.MinVersion = v
		}
		t.MaxVersion = max(t.MaxVersion, v)
	}
	b.Ignore(k("protocol")) // Java's SSLContext algorithm, "TLS"
	for _, name := range []string{"key-store", "key-store-password", "key-store-type", "key-store-provider",
		"key-alias", "key-password", "trust-store", "trust-store-password", "trust-store-type", "trust-store-provider"} {
		if _, ok := b.Lookup(k(name)); ok {
			b.Errorf(k(name), "Java key stores are not read; convert to PEM files and set %s and %s",
				k("certificate"), k("certificate-private-key"))
		}
	}
	if _, ok := b.Lookup(k("certificate-private-key-password")); ok {
		b.Errorf(k("certificate-private-key-password"), "encrypted keys are not read; decrypt it (openssl pkey -in key.pem -out plain.pem)")
	}
	if _, ok := b.Lookup(k("ciphers")); ok {
		b.Errorf(k("ciphers"), "not configurable; Go's TLS offers only AEAD suites with forward secrecy")
	}
	if _, ok := b.Lookup(k("bundle")); ok {
		b.Errorf(k("bundle"), "SSL bundles are not read; set %s and %s", k("certificate"), k("certificate-private-key"))
	}

	// Spring turns TLS on when server.ssl is configured, unless enabled is false.
	t.Enabled = enabled && (enabledSet || t.Certificate != "" || t.PrivateKey != "")
	if !t.Enabled {
		return t
	}
	switch {
	case t.Certificate == "" || t.PrivateKey == "":
		b.Errorf(prefix, "TLS needs certificate and certificate-private-key, PEM files")
	default:
		if _, err := parseKeyPairFiles(t.Certificate, t.PrivateKey); err != nil {
			b.Errorf(k("certificate"), "%v", err)
		}
	}
	if t.TrustCertificate != "" {
		if _, err := loadCerts(t.TrustCertificate); err != nil {
			b.Errorf(k("trust-certificate"), "%v", err)
		}
	} else if t.ClientAuth != tls.NoClientCert {
		b.Errorf(k("client-auth"), "%q checks client certificates against %s, which is not set", clientAuth, k("trust-certificate"))
	}
	return t
}

// bindPeer reads switchboard.server.peer-ssl. serverTLS says whether the
// listener serves TLS, which client-auth need requires.
func bindPeer(b *springconf.Binder, serverTLS bool) PeerTLS {
	const k = "switchboard.server.peer-ssl."
	var p PeerTLS
	b.String(k+"trust-certificate", &p.TrustCertificate)
	b.String(k+"certificate", &p.Certificate)
	b.String(k+"certificate-private-key", &p.PrivateKey)
	for _, f := range []*string{&p.Certificate, &p.PrivateKey, &p.TrustCertificate} {
		*f = strings.TrimPrefix(strings.TrimSpace(*f), "file:")
	}
	clientAuth := "none"
	b.Enum(k+"client-auth", &clientAuth, "none", "need")
	p.ClientAuth = clientAuth == "need"
	if p.TrustCertificate != "" {
		if _, err := loadCerts(p.TrustCertificate); err != nil {
			b.Errorf(k+"trust-certificate", "%v", err)
		}
	}
	switch {
	case (p.Certificate == "") != (p.PrivateKey == ""):
		b.Errorf(k+"certificate", "a client certificate needs certificate and certificate-private-key, PEM files")
	case p.Certificate != "":
		if _, err := parseKeyPairFiles(p.Certificate, p.PrivateKey); err != nil {
			b.Errorf(k+"certificate", "%v", err)
		}
	}
	if p.ClientAuth {
		if p.TrustCertificate == "" {
			b.Errorf(k+"client-auth", "need checks peer certificates against %strust-certificate, which is not set", k)
		}
		if !serverTLS {
			b.Errorf(k+"client-auth", "need asks peers for certificates over TLS; set server.ssl.certificate and server.ssl.certificate-private-key")
		}
	}
	return p
}

func parseKeyPairFiles(certFile, keyFile string) (*tls.Certificate, error) {
	c, err := LoadCertificate(certFile, keyFile, 0, nil)
	if err != nil {
		return nil, err
	}
	return c.cur.Load(), nil
}

var tlsVersions = map[string]uint16{"TLSV1.2": tls.VersionTLS12, "TLSV1.3": tls.VersionTLS13}

// ignoredTomcatKeys tune Tomcat's threads, logs and parsing; they have no
// meaning here and are accepted so that a Spring file loads.
var ignoredTomcatKeys = []string{
	"server.tomcat.accept-count", "server.tomcat.accesslog", "server.tomcat.additional-tld-skip-patterns",
	"server.tomcat.background-processor-delay", "server.tomcat.basedir", "server.tomcat.max-http-form-post-size",
	"server.tomcat.max-swallow-size", "server.tomcat.mbeanregistry", "server.tomcat.processor-cache",
	"server.tomcat.redirect-context-root", "server.tomcat.relaxed-path-chars", "server.tomcat.relaxed-query-chars",
	"server.tomcat.remoteip", "server.tomcat.resource", "server.tomcat.threads", "server.tomcat.uri-encoding",
	"server.tomcat.use-relative-redirects", "server.tomcat.max-keep-alive-requests",
	"server.tomcat.reject-illegal-header", "server.tomcat.max-http-response-header-size",
	"server.tomcat.use-apr", "server.tomcat.max-parameter-count", "server.tomcat.max-part-count",
	"server.tomcat.max-part-header-size", "server.tomcat.max-threads", "server.tomcat.min-spare-threads",
}

// timeout binds a duration that may not be negative; 0 is none.
func timeout(b *springconf.Binder, key string, dst *time.Duration) {
	d := *dst
	b.Duration(key, &d)
	if d < 0 {
		b.Errorf(key, "%s is negative; want 0 (none) or more", d)
		return
	}
	*dst = d
}

// dataSize is Spring's DataSize format: a whole number and an optional
// unit, B, KB, MB, GB or TB, powers of 1024; no unit means bytes.
var dataSize = regexp.MustCompile(`^([+-]?[0-9]+)([a-zA-Z]{0,2})$`)

var sizeUnits = map[string]int64{"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}

// parseDataSize parses a size as Spring's DataSize.parse does.
func parseDataSize(s string) (int64, error) {
	m := dataSize.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a size; want a whole number and a unit (B, KB, MB, GB, TB), e.g. \"64KB\"", s)
	}
	unit, ok := sizeUnits[strings.ToUpper(m[2])]
	if !ok {
		return 0, fmt.Errorf("%q is not a size; want a whole number and a unit (B, KB, MB, GB, TB), e.g. \"64KB\"", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > math.MaxInt64/unit || n < math.MinInt64/unit {
		return 0, fmt.Errorf("%s is out of range", s)
	}
	return n * unit, nil
}

// bindSize binds a DataSize from lo to hi bytes; ok is false when the key
// is absent, empty or wrong.
func bindSize(b *springconf.Binder, key string, lo, hi int64) (n int64, ok bool) {
	v, ok := b.Lookup(key)
	if !ok || strings.TrimSpace(v.Value) == "" {
		return 0, false
	}
	n, err := parseDataSize(v.Value)
	switch {
	case err != nil:
		b.Errorf(key, "%v", err)
	case n < lo || n > hi:
		b.Errorf(key, "%s is out of range; want %d to %d bytes", strings.TrimSpace(v.Value), lo, hi)
	default:
		return n, true
	}
	return 0, false
}
