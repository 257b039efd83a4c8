package serve_test

import (
	"crypto/tls"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/serve"
	"github.com/switchboard-dev/switchboard/internal/springconf"
)

func parse(t *testing.T, yml string) *springconf.Props {
	t.Helper()
	p, err := springconf.Parse("application.yml", []byte(yml), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func TestBind(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "bind")
	cert, key := ca.issueFiles(t, "node")
	p := parse(t, strings.NewReplacer("CERT", cert, "KEY", key, "CA", ca.file).Replace(`
server:
  port: 8443
  ssl:
    certificate: file:CERT
    certificate-private-key: KEY
    trust-certificate: CA
    client-auth: WANT
    enabled-protocols: TLSv1.3
    protocol: TLS
  max-http-request-header-size: 16KB
  tomcat:
    connection-timeout: 5s
    max-connections: 500
    threads:
      max: 200
switchboard:
  server:
    idle-timeout: 1m
    read-timeout: 0
    max-connections: 1000
    max-body-bytes: 10MB
    certificate-reload-interval: 1s
    peer-ssl:
      trust-certificate: CA
      certificate: CERT
      certificate-private-key: KEY
      client-auth: need
management:
  server:
    port: 9090
    address: 127.0.0.1
    ssl:
      enabled: false
  endpoints:
    web.exposure.include: "*"
`))
	got, err := serve.Bind(p, serve.DefaultLimits(), true)
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	want := serve.DefaultOptions(serve.DefaultLimits())
	want.TLS = serve.TLS{
		Enabled: true, Certificate: cert, PrivateKey: key, TrustCertificate: ca.file,
		ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13,
		ReloadInterval: time.Second,
	}
	want.Limits.MaxHeaderBytes = 16 << 10
	want.Limits.ReadHeaderTimeout = 5 * time.Second
	want.Limits.IdleTimeout = time.Minute
	want.Limits.ReadTimeout = 0
	want.Limits.MaxConnections = 1000 // switchboard.server wins over server.tomcat
	want.Limits.MaxBodyBytes = 10 << 20
	want.Peer = serve.PeerTLS{TrustCertificate: ca.file, Certificate: cert, PrivateKey: key, ClientAuth: true}
	want.Management = serve.Management{Port: 9090, Address: "127.0.0.1", TLS: serve.TLS{ReloadInterval: time.Second}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Bind:\n got %+v\nwant %+v", got, want)
	}
}

func TestBindDefaults(t *testing.T) {
	t.Parallel()
	lim := serve.DefaultLimits()
	lim.WriteTimeout = 0
	got, err := serve.Bind(parse(t, "server.port: 8080\n"), lim, false)
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if want := serve.DefaultOptions(lim); !reflect.DeepEqual(got, want) {
		t.Errorf("Bind of no keys:\n got %+v\nwant %+v", got, want)
	}
	if got.Management.Port != serve.SamePort || got.TLS.Enabled || got.Limits.MaxConnections != 10_000 {
		t.Errorf("defaults: management port %d, TLS %v, max connections %d; want SamePort, off, 10000",
			got.Management.Port, got.TLS.Enabled, got.Limits.MaxConnections)
	}
}

// The management listener inherits the main listener's TLS unless
// management.server.ssl says otherwise; Tomcat's -1 is no cap.
func TestBindInherits(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "inherit")
	cert, key := ca.issueFiles(t, "node")
	got, err := serve.Bind(parse(t, fmt.Sprintf(`
server.ssl.certificate: %s
server.ssl.certificate-private-key: %s
server.tomcat.max-connections: -1
management.server.port: 9090
`, cert, key)), serve.DefaultLimits(), false)
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if !got.TLS.Enabled || got.Management.TLS != got.TLS {
		t.Errorf("management TLS = %+v, want the main listener's %+v", got.Management.TLS, got.TLS)
	}
	if got.Limits.MaxConnections != 0 {
		t.Errorf("server.tomcat.max-connections -1: MaxConnections = %d, want 0 (no cap)", got.Limits.MaxConnections)
	}
}

func TestBindErrors(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "errs")
	cert, key := ca.issueFiles(t, "node")
	tests := []struct {
		name  string
		yml   string
		peers bool
		want  []string // the lines of the error
	}{
		{"values", `
server:
  ssl:
    key-store: classpath:keystore.p12
    key-store-password: hunter2
    client-auth: maybe
    certifcate: x.pem
    enabled-protocols: TLSv1.1
    ciphers: TLS_RSA_WITH_RC4_128_SHA
  max-http-request-header-size: lots
  tomcat:
    connection-timeout: -5s
    max-conections: 10
switchboard:
  server:
    max-connections: -1
    max-body-bytes: 5XB
    write-timeout: soon
management:
  server:
    port: 70000
    base-path: /manage
`, true, []string{
			`application.yml:4: server.ssl.key-store: Java key stores are not read; convert to PEM files and set server.ssl.certificate and server.ssl.certificate-private-key`,
			`application.yml:5: server.ssl.key-store-password: Java key stores are not read; convert to PEM files and set server.ssl.certificate and server.ssl.certificate-private-key`,
			`application.yml:6: server.ssl.client-auth: "maybe" is not allowed; want one of none, want, need`,
			`application.yml:7: server.ssl.certifcate: unknown key; did you mean server.ssl.certificate?`,
			`application.yml:8: server.ssl.enabled-protocols: "TLSv1.1" is not allowed; want TLSv1.2 or TLSv1.3`,
			`application.yml:9: server.ssl.ciphers: not configurable; Go's TLS offers only AEAD suites with forward secrecy`,
			`application.yml:10: server.max-http-request-header-size: "lots" is not a size; want a whole number and a unit (B, KB, MB, GB, TB), e.g. "64KB"`,
			`application.yml:12: server.tomcat.connection-timeout: -5s is negative; want 0 (none) or more`,
			`application.yml:13: server.tomcat.max-conections: unknown key; did you mean server.tomcat.max-connections?`,
			`application.yml:16: switchboard.server.max-connections: -1 is out of range; want 0 to 16777216`,
			`application.yml:17: switchboard.server.max-body-bytes: "5XB" is not a size; want a whole number and a unit (B, KB, MB, GB, TB), e.g. "64KB"`,
			`application.yml:18: switchboard.server.write-timeout: "soon" is not a duration; want a whole number and a unit (ns, us, ms, s, m, h, d), e.g. "30s"`,
			`application.yml:21: management.server.port: 70000 is out of range; want -1 to 65535`,
			`application.yml:22: management.server.base-path: unknown key; known under management.server: address, port`,
		}},
		{"TLS without a certificate", `
server.ssl.enabled: true
server.ssl.client-auth: need
`, false, []string{
			`application.yml:2: server.ssl: TLS needs certificate and certificate-private-key, PEM files`,
			`application.yml:3: server.ssl.client-auth: "need" checks client certificates against server.ssl.trust-certificate, which is not set`,
		}},
		{"missing files", `
server.ssl.certificate: /nonexistent/cert.pem
server.ssl.certificate-private-key: /nonexistent/key.pem
server.ssl.trust-certificate: KEY
`, false, []string{
			`application.yml:2: server.ssl.certificate: open /nonexistent/cert.pem: no such file or directory`,
			`application.yml:4: server.ssl.trust-certificate: KEY: no PEM certificate in it`,
		}},
		{"peer TLS on the gateway", `
switchboard.server.peer-ssl.trust-certificate: CA
`, false, []string{
			`application.yml:2: switchboard.server.peer-ssl: TLS between registry peers; the gateway has no peers`,
		}},
		{"peer client-auth without TLS or CAs", `
switchboard.server.peer-ssl.client-auth: need
switchboard.server.peer-ssl.certificate: CERT
`, true, []string{
			`application.yml:2: switchboard.server.peer-ssl.client-auth: need checks peer certificates against switchboard.server.peer-ssl.trust-certificate, which is not set`,
			`application.yml:2: switchboard.server.peer-ssl.client-auth: need asks peers for certificates over TLS; set server.ssl.certificate and server.ssl.certificate-private-key`,
			`application.yml:3: switchboard.server.peer-ssl.certificate: a client certificate needs certificate and certificate-private-key, PEM files`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			yml := strings.NewReplacer("CERT", cert, "KEY", key, "CA", ca.file).Replace(tt.yml)
			_, err := serve.Bind(parse(t, yml), serve.DefaultLimits(), tt.peers)
			if err == nil {
				t.Fatal("Bind: no error")
			}
			got := strings.ReplaceAll(err.Error(), key, "KEY")
			if want := strings.Join(tt.want, "\n"); got != want {
				t.Errorf("Bind error:\n%s\nwant:\n%s", got, want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Error("Bind error repeats a password")
			}
		})
	}
}
