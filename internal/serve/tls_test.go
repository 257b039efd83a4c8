package serve_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/serve"
	"github.com/switchboard-dev/switchboard/internal/testenv"
)

func TestHTTP2OverTLS(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "h2")
	ls := start(t, tlsOptions(t, ca), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s tls=%v", r.Proto, r.TLS != nil)
	}), nil)
	resp, err := httpsClient(t, ca).Get("https://" + ls.Addr().String() + "/")
	if err != nil {
		t.Fatalf("GET over TLS: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 || string(body) != "HTTP/2.0 tls=true" {
		t.Errorf("GET over TLS: proto %s, body %q; want HTTP/2.0 and %q", resp.Proto, body, "HTTP/2.0 tls=true")
	}
	if !ls.TLS() {
		t.Error("Listeners.TLS() = false, want true")
	}

	// HTTP/1.1 clients are served too.
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool()}}}
	defer c.CloseIdleConnections()
	resp, err = c.Get("https://" + ls.Addr().String() + "/")
	if err != nil {
		t.Fatalf("GET over TLS, HTTP/1.1: %v", err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 1 {
		t.Errorf("GET with an HTTP/1.1-only client: proto %s, want HTTP/1.1", resp.Proto)
	}
}

// serial returns the serial number of the certificate the server at addr
// presents.
func serial(addr string, ca *testCA) (int64, error) {
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.pool(), ServerName: "localhost"})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
}

func TestCertificateReload(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "reload")
	opts := tlsOptions(t, ca)
	opts.TLS.ReloadInterval = 20 * time.Millisecond
	var logs logBuffer
	ls := startLog(t, opts, http.HandlerFunc(hello), nil, slog.New(slog.NewTextHandler(&logs, nil)))
	addr := ls.Addr().String()
	first, err := serial(addr, ca)
	if err != nil {
		t.Fatalf("first handshake: %v", err)
	}

	// A renewed certificate is served without a restart.
	certPEM, keyPEM, want := ca.issueAt(t, "renewed", time.Now().Add(-time.Minute))
	writeFile(t, ca.dir, "server-key.pem", keyPEM)
	writeFile(t, ca.dir, "server.pem", certPEM)
	testenv.Eventually(t, 5*time.Second, func() error {
		got, err := serial(addr, ca)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("server presents serial %d (first was %d), want the new %d", got, first, want)
		}
		return nil
	})

	// A bad one is logged, and the current one stays.
	expired, expiredKey, _ := ca.issueAt(t, "expired", time.Now().Add(-48*time.Hour))
	for _, bad := range []struct {
		name, wantLog string
		cert, key     []byte
	}{
		{"garbage", "failed to find any PEM data", []byte("not a certificate"), keyPEM},
		{"expired", `certificate \"expired\" expired at`, expired, expiredKey},
	} {
		writeFile(t, ca.dir, "server-key.pem", bad.key)
		writeFile(t, ca.dir, "server.pem", bad.cert)
		testenv.Eventually(t, 5*time.Second, func() error {
			if !strings.Contains(logs.String(), bad.wantLog) {
				return fmt.Errorf("%s certificate: log does not say %q:\n%s", bad.name, bad.wantLog, logs.String())
			}
			return nil
		})
		if got, err := serial(addr, ca); err != nil || got != want {
			t.Errorf("after a %s certificate: serial %d, %v; want %d, the last good one", bad.name, got, err, want)
		}
	}
	if !strings.Contains(logs.String(), "certificate not reloaded; the current one stays") {
		t.Errorf("log does not say the current certificate stays:\n%s", logs.String())
	}
}

func TestLoadCertificate(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "load")
	dir := t.TempDir()
	good, goodKey, _ := ca.issueAt(t, "good", time.Now().Add(-time.Minute))
	_, otherKey, _ := ca.issueAt(t, "other", time.Now().Add(-time.Minute))
	future, futureKey, _ := ca.issueAt(t, "future", time.Now().Add(time.Hour))
	tests := []struct {
		name      string
		cert, key []byte
		wantErr   string // "" for none
	}{
		{"good", good, goodKey, ""},
		{"key of another certificate", good, otherKey, "private key does not match"},
		{"not yet valid", future, futureKey, "not valid before"},
		{"not PEM", []byte("hello"), goodKey, "failed to find any PEM data"},
	}
	for _, tt := range tests {
		certFile := writeFile(t, dir, "c.pem", tt.cert)
		keyFile := writeFile(t, dir, "k.pem", tt.key)
		c, err := serve.LoadCertificate(certFile, keyFile, 0, nil)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: LoadCertificate: %v", tt.name, err)
		case tt.wantErr == "" && c.Leaf().Subject.CommonName != "good":
			t.Errorf("%s: Leaf().Subject = %v, want CN=good", tt.name, c.Leaf().Subject)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: LoadCertificate error = %v, want one containing %q", tt.name, err, tt.wantErr)
		}
	}
	if _, err := serve.LoadCertificate(dir+"/missing.pem", dir+"/k.pem", 0, nil); !os.IsNotExist(err) {
		t.Errorf("LoadCertificate(missing file) = %v, want a not-exist error", err)
	}
}

func TestClientAuthNeed(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "clients")
	opts := tlsOptions(t, ca)
	opts.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	opts.TLS.TrustCertificate = ca.file
	ls := start(t, opts, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}), nil)
	url := "https://" + ls.Addr().String() + "/"

	if _, err := httpsClient(t, ca).Get(url); err == nil {
		t.Error("GET without a client certificate succeeded; want a handshake error")
	}
	certFile, keyFile := ca.issueFiles(t, "client")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	c := httpsClient(t, ca)
	c.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{cert}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET with a client certificate: %v", err)
	}
	defer resp.Body.Close()
	if body, _ := io.ReadAll(resp.Body); string(body) != "client" {
		t.Errorf("GET with a client certificate: body %q, want %q", body, "client")
	}
}
