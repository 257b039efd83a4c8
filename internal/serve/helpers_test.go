package serve_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/serve"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	file   string // the CA certificate, PEM
	dir    string // where its files go
	serial atomic.Int64
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{cert: cert, key: key, dir: t.TempDir()}
	ca.serial.Store(100)
	ca.file = writeFile(t, ca.dir, name+"-ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return ca
}

// pool returns a pool holding only the CA.
func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// issue makes a certificate for localhost and 127.0.0.1, good for servers
// and clients, valid from notBefore for a day. It returns the PEM of the
// certificate and of its key, and the serial number.
func (ca *testCA) issueAt(t *testing.T, cn string, notBefore time.Time) (certPEM, keyPEM []byte, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial = ca.serial.Add(1)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(24 * time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), serial
}

// issueFiles issues a certificate valid now and writes it and its key to
// files named after cn.
func (ca *testCA) issueFiles(t *testing.T, cn string) (certFile, keyFile string) {
	t.Helper()
	c, k, _ := ca.issueAt(t, cn, time.Now().Add(-time.Minute))
	return writeFile(t, ca.dir, cn+".pem", c), writeFile(t, ca.dir, cn+"-key.pem", k)
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// start listens with opts on 127.0.0.1 and serves until the test ends.
func start(t *testing.T, opts serve.Options, app, admin http.Handler) *serve.Listeners {
	t.Helper()
	return startLog(t, opts, app, admin, testLogger(t))
}

func startLog(t *testing.T, opts serve.Options, app, admin http.Handler, log *slog.Logger) *serve.Listeners {
	t.Helper()
	ls, err := serve.Listen("127.0.0.1:0", opts, log)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	if admin == nil {
		admin = http.NotFoundHandler()
	}
	done := make(chan error, 1)
	ctx := t.Context()
	go func() { done <- ls.Serve(ctx, app, admin) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ls
}

// testOptions are quick to shut down.
func testOptions() serve.Options {
	o := serve.DefaultOptions(serve.DefaultLimits())
	o.Limits.ShutdownTimeout = time.Second
	return o
}

// tlsOptions serve TLS with a certificate from ca.
func tlsOptions(t *testing.T, ca *testCA) serve.Options {
	t.Helper()
	o := testOptions()
	o.TLS.Enabled = true
	o.TLS.Certificate, o.TLS.PrivateKey = ca.issueFiles(t, "server")
	o.Management.TLS = o.TLS
	return o
}

// httpsClient trusts ca only and offers HTTP/2.
func httpsClient(t *testing.T, ca *testCA) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool()}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func hello(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) }

// logBuffer collects log output, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// tWriter sends log lines to t.Log, so they show only for failing tests.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
