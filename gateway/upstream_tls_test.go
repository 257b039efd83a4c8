package gateway_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/gateway"
	"github.com/switchboard-dev/switchboard/internal/serve"
	"github.com/switchboard-dev/switchboard/internal/springconf"
)

// pemCA is a certificate authority made for one test, with its files in dir.
type pemCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	dir  string
	file string
}

func newPEMCA(t *testing.T, name string) *pemCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &pemCA{cert: cert, key: key, dir: t.TempDir()}
	ca.file = ca.write(t, name+"-ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return ca
}

func (ca *pemCA) write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(ca.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// issue returns a certificate for 127.0.0.1, for servers and clients.
func (ca *pemCA) issue(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// issueFiles writes a certificate and its key to PEM files.
func (ca *pemCA) issueFiles(t *testing.T, cn string) (certFile, keyFile string) {
	t.Helper()
	c := ca.issue(t, cn)
	kder, _ := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	return ca.write(t, cn+".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})),
		ca.write(t, cn+"-key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

func bindGateway(t *testing.T, yml string) (*gateway.Config, error) {
	t.Helper()
	p, err := springconf.Parse("application.yml", []byte(yml), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return gateway.Bind(p)
}

// TestUpstreamTLS: the gateway trusts the CAs of
// httpclient.ssl.trusted-x509-certificates, in place of the system's, and
// presents its client certificate to an upstream that demands one.
func TestUpstreamTLS(t *testing.T) {
	t.Parallel()
	ca := newPEMCA(t, "upstreams")
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	up.TLS = &tls.Config{
		Certificates: []tls.Certificate{ca.issue(t, "upstream")},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}
	up.StartTLS()
	defer up.Close()
	certFile, keyFile := ca.issueFiles(t, "gateway")

	routes := `
spring.cloud.gateway.routes:
  - id: secure
    uri: ` + up.URL + `
    predicates: [Path=/**]
`
	tests := []struct {
		name, yml  string
		wantStatus int
		wantBody   string
	}{
		{"CA and client certificate", routes + `
spring.cloud.gateway.httpclient.ssl.trusted-x509-certificates: [file:` + ca.file + `]
switchboard.gateway.httpclient.ssl:
  certificate: ` + certFile + `
  certificate-private-key: ` + keyFile + `
`, http.StatusOK, "gateway"},
		{"the system's CAs", routes, http.StatusBadGateway, ""},
		{"no client certificate", routes + `
spring.cloud.gateway.httpclient.ssl.trusted-x509-certificates: ` + ca.file + `
`, http.StatusBadGateway, ""},
	}
	for _, tt := range tests {
		cfg, err := bindGateway(t, tt.yml)
		if err != nil {
			t.Fatalf("%s: Bind: %v", tt.name, err)
		}
		gw, err := gateway.New(cfg, gateway.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatalf("%s: New: %v", tt.name, err)
		}
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, httptest.NewRequest("GET", "/hello", nil))
		if w.Code != tt.wantStatus || tt.wantBody != "" && w.Body.String() != tt.wantBody {
			t.Errorf("%s: GET through the gateway: %d %q, want %d %q", tt.name, w.Code, w.Body, tt.wantStatus, tt.wantBody)
		}
	}
}

func TestUpstreamTLSConfigErrors(t *testing.T) {
	t.Parallel()
	ca := newPEMCA(t, "errs")
	certFile, _ := ca.issueFiles(t, "gateway")
	_, err := bindGateway(t, `
spring.cloud.gateway.httpclient.ssl.trusted-x509-certificates:
  - /nonexistent/ca.pem
switchboard.gateway.httpclient.ssl.certificate: `+certFile+`
`)
	if err == nil {
		t.Fatal("Bind: no error")
	}
	for _, want := range []string{
		"application.yml:3: spring.cloud.gateway.httpclient.ssl.trusted-x509-certificates: open /nonexistent/ca.pem: no such file or directory",
		"application.yml:4: switchboard.gateway.httpclient.ssl.certificate: a client certificate needs switchboard.gateway.httpclient.ssl.certificate and switchboard.gateway.httpclient.ssl.certificate-private-key, PEM files",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Bind error:\n%v\nwant a line:\n%s", err, want)
		}
	}
}

// TestListenerBodyCapThroughProxy: a chunked body over the listener's
// switchboard.server.max-body-bytes is refused with 413, not passed on
// cut short.
func TestListenerBodyCapThroughProxy(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		io.WriteString(w, strings.Repeat("x", int(n)))
	}))
	defer up.Close()
	cfg, err := bindGateway(t, `
spring.cloud.gateway.routes:
  - id: up
    uri: `+up.URL+`
    predicates: [Path=/**]
`)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	lim := serve.DefaultLimits()
	lim.MaxBodyBytes = 1 << 10
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = serve.Server(gw, lim, slog.New(slog.DiscardHandler))
	srv.Start()
	defer srv.Close()
	for _, tt := range []struct {
		size int
		want int
	}{{512, http.StatusOK}, {64 << 10, http.StatusRequestEntityTooLarge}} {
		body := io.MultiReader(bytes.NewReader(make([]byte, tt.size))) // no length: chunked
		resp, err := http.Post(srv.URL+"/upload", "application/octet-stream", body)
		if err != nil {
			t.Fatalf("POST %d bytes chunked: %v", tt.size, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("POST %d bytes chunked through the gateway: %d, want %d", tt.size, resp.StatusCode, tt.want)
		}
	}
}
