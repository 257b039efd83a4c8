package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echoHeaders answers with the request headers it got, as JSON.
func echoHeaders(w http.ResponseWriter, r *http.Request) {
	h := r.Header.Clone()
	h.Set("Host", r.Host)
	json.NewEncoder(w).Encode(h)
}

func getHeaders(t *testing.T, url string, hdr ...string) http.Header {
	t.Helper()
	code, body, _ := get(t, nil, url, hdr...)
	if code != http.StatusOK {
		t.Fatalf("GET %s = %d %q", url, code, body)
	}
	var h http.Header
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("GET %s: %v in %q", url, err, body)
	}
	return h
}

func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	be := startBackend(t, echoHeaders)
	const conf = `
switchboard.gateway.trusted-proxies: {{TRUSTED}}
spring.cloud.gateway.routes:
  - id: echo
    uri: {{BACKEND}}
    predicates: [Path=/**]
`
	spoofed := []string{
		"X-Forwarded-For", "6.6.6.6",
		"X-Forwarded-Proto", "https",
		"X-Forwarded-Host", "evil.example",
		"X-Forwarded-Port", "443",
		"X-Forwarded-Prefix", "/evil",
		"Forwarded", "for=6.6.6.6;proto=https",
	}

	t.Run("untrusted client", func(t *testing.T) {
		t.Parallel()
		gw := startGateway(t, yamlConf(conf, "TRUSTED", "10.0.0.0/8", "BACKEND", be.URL))
		h := getHeaders(t, gw.URL+"/x", spoofed...)
		gwHost := strings.TrimPrefix(gw.URL, "http://")
		want := map[string]string{
			"X-Forwarded-For":    "127.0.0.1",
			"X-Forwarded-Proto":  "http",
			"X-Forwarded-Host":   gwHost,
			"X-Forwarded-Port":   "",
			"X-Forwarded-Prefix": "",
			"Forwarded":          "",
			"Host":               strings.TrimPrefix(be.URL, "http://"),
		}
		for k, v := range want {
			if got := strings.Join(h.Values(k), ", "); got != v {
				t.Errorf("backend saw %s: %q, want %q", k, got, v)
			}
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		t.Parallel()
		gw := startGateway(t, yamlConf(conf, "TRUSTED", "127.0.0.1/32", "BACKEND", be.URL))
		h := getHeaders(t, gw.URL+"/x", spoofed...)
		want := map[string]string{
			"X-Forwarded-For":   "6.6.6.6, 127.0.0.1",
			"X-Forwarded-Proto": "https",
			"X-Forwarded-Host":  "evil.example",
		}
		for k, v := range want {
			if got := strings.Join(h.Values(k), ", "); got != v {
				t.Errorf("backend saw %s: %q, want %q (kept from a trusted proxy)", k, got, v)
			}
		}
	})
	t.Run("PreserveHostHeader", func(t *testing.T) {
		t.Parallel()
		gw := startGateway(t, yamlConf(`
spring.cloud.gateway.routes:
  - id: echo
    uri: {{BACKEND}}
    predicates: [Path=/**]
    filters: [PreserveHostHeader]
`, "BACKEND", be.URL))
		h := getHeaders(t, gw.URL+"/x", "Host", "shop.example")
		if got := h.Get("Host"); got != "shop.example" {
			t.Errorf("backend saw Host %q, want the client's shop.example", got)
		}
	})
}

func TestHopByHopHeaders(t *testing.T) {
	t.Parallel()
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Internal")
		w.Header().Set("X-Internal", "secret")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("Proxy-Authenticate", "Basic")
		echoHeaders(w, r)
	})
	gw := startGateway(t, yamlConf(`
spring.cloud.gateway.routes:
  - id: echo
    uri: {{BACKEND}}
    predicates: [Path=/**]
`, "BACKEND", be.URL))
	req, _ := http.NewRequest("GET", gw.URL+"/x", nil)
	req.Header.Set("Connection", "X-Client-Hop")
	req.Header.Set("X-Client-Hop", "1")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("Proxy-Authorization", "Basic dXNlcjpwYXNz")
	req.Header.Set("Te", "gzip")
	req.Header.Set("X-End-To-End", "kept")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h http.Header
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"X-Client-Hop", "Keep-Alive", "Proxy-Authorization", "Te"} {
		if v := h.Values(k); len(v) > 0 {
			t.Errorf("backend saw hop-by-hop request header %s: %q", k, v)
		}
	}
	if h.Get("X-End-To-End") != "kept" {
		t.Errorf("backend lost X-End-To-End: %v", h)
	}
	for _, k := range []string{"X-Internal", "Keep-Alive", "Proxy-Authenticate"} {
		if v := resp.Header.Values(k); len(v) > 0 {
			t.Errorf("client saw hop-by-hop response header %s: %q", k, v)
		}
	}
}

// TestWebsocketUpgrade passes an upgrade through: the backend answers 101
// and then echoes raw bytes back over the hijacked connection.
func TestWebsocketUpgrade(t *testing.T) {
	t.Parallel()
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want an upgrade", http.StatusBadRequest)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
		rw.Flush()
		io.Copy(conn, rw) // echo until the client closes
	})
	gw := startGateway(t, yamlConf(`
spring.cloud.gateway.routes:
  - id: ws
    uri: {{BACKEND}}
    predicates: [Path=/ws/**]
    filters: [StripPrefix=1]
`, "BACKEND", strings.Replace(be.URL, "http://", "ws://", 1)))

	conn, err := net.Dial("tcp", strings.TrimPrefix(gw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "GET /ws/chat HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the upgrade response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		t.Fatalf("upgrade: %s, Upgrade %q; want 101 websocket", resp.Status, resp.Header.Get("Upgrade"))
	}
	for _, msg := range []string{"hello", "again"} {
		// A masked text frame, as a browser sends one; the echo returns it.
		frame := append([]byte{0x81, 0x80 | byte(len(msg)), 1, 2, 3, 4}, msg...)
		for i := range msg {
			frame[6+i] ^= []byte{1, 2, 3, 4}[i%4]
		}
		if _, err := conn.Write(frame); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(frame))
		if _, err := io.ReadFull(br, got); err != nil {
			t.Fatalf("reading the echo of %q: %v", msg, err)
		}
		if string(got) != string(frame) {
			t.Errorf("echo of %q: got % x, want % x", msg, got, frame)
		}
	}
}

// TestStreaming checks that neither body is buffered: an event-stream
// response arrives event by event, and a request body reaches the backend
// while the client is still sending it.
func TestStreaming(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	gotFirst := make(chan struct{})
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: one\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, "data: two\n\n")
		case "/upload":
			buf := make([]byte, 5)
			if _, err := io.ReadFull(r.Body, buf); err != nil {
				return
			}
			close(gotFirst)
			rest, _ := io.ReadAll(r.Body)
			w.Write(append(buf, rest...))
		}
	})
	gw := startGateway(t, yamlConf(`
spring.cloud.gateway.routes:
  - id: stream
    uri: {{BACKEND}}
    predicates: [Path=/**]
`, "BACKEND", be.URL))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()

	req, _ := http.NewRequestWithContext(ctx, "GET", gw.URL+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /events: %v", err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("first event: %q, %v; want it before the backend finishes", line, err)
	}
	close(release)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "\ndata: two\n\n" {
		t.Errorf("rest of the stream: %q, %v", rest, err)
	}

	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, "part1")
		select { // the second part only once the backend has the first
		case <-gotFirst:
			io.WriteString(pw, "part2")
			pw.Close()
		case <-ctx.Done():
			pw.CloseWithError(ctx.Err())
		}
	}()
	req, _ = http.NewRequestWithContext(ctx, "POST", gw.URL+"/upload", pr)
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /upload: %v (was the request body buffered?)", err)
	}
	defer resp2.Body.Close()
	if body, _ := io.ReadAll(resp2.Body); string(body) != "part1part2" {
		t.Errorf("POST /upload echoed %q, want part1part2", body)
	}
}

// TestHTTP2 serves the gateway over TLS with HTTP/2 and proxies to an
// HTTP/1.1 backend.
func TestHTTP2(t *testing.T) {
	t.Parallel()
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend-Proto", r.Proto)
		w.Header().Set("X-Saw-Proto", r.Header.Get("X-Forwarded-Proto"))
		io.Copy(w, r.Body)
	})
	g := newGateway(t, yamlConf(`
spring.cloud.gateway.routes:
  - id: h2
    uri: {{BACKEND}}
    predicates: [Path=/**]
`, "BACKEND", be.URL))
	srv := httptest.NewUnstartedServer(adminMux(g))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := srv.Client()
	resp, err := c.Post(srv.URL+"/echo", "text/plain", strings.NewReader("over h2"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 || resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
		t.Errorf("client spoke %s (ALPN %q), want HTTP/2", resp.Proto, negotiated(resp.TLS))
	}
	if resp.StatusCode != 200 || string(body) != "over h2" {
		t.Errorf("POST /echo over h2 = %d %q, want 200 echo", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-Backend-Proto"); got != "HTTP/1.1" {
		t.Errorf("backend spoke %s, want HTTP/1.1", got)
	}
	if got := resp.Header.Get("X-Saw-Proto"); got != "https" {
		t.Errorf("backend saw X-Forwarded-Proto %q, want https", got)
	}
}

func negotiated(cs *tls.ConnectionState) string {
	if cs == nil {
		return ""
	}
	return cs.NegotiatedProtocol
}
