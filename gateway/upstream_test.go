package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/testenv"
)

// rawBackend is an upstream that answers each request on a connection with
// the bytes a test scripts, to put the gateway's own HTTP/1.1 client in
// front of what real servers send: odd framings, interim responses,
// connections closed behind its back.
type rawBackend struct {
	addr    string
	ln      net.Listener
	accepts atomic.Int64
	closed  chan struct{} // a value each time a connection ends
	wg      sync.WaitGroup
}

// startRawBackend serves answer on a loopback port: for every request read
// off a connection, answer writes the response and says whether to keep the
// connection open.
func startRawBackend(t *testing.T, answer func(req *http.Request, conn net.Conn) (keep bool)) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &rawBackend{addr: ln.Addr().String(), ln: ln, closed: make(chan struct{}, 1000)}
	var mu sync.Mutex
	var conns []net.Conn
	b.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.accepts.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			b.wg.Go(func() {
				defer func() { c.Close(); b.closed <- struct{}{} }()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if !answer(req, c) {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		b.wg.Wait()
	})
	return b
}

// waitClosed waits up to 10 s for a connection to end, else fails with
// what.
func (b *rawBackend) waitClosed(t *testing.T, what string) {
	t.Helper()
	select {
	case <-b.closed:
	case <-time.After(10 * time.Second):
		t.Fatal(what)
	}
}

// fixed answers every request with the same bytes, keeping the connection.
func fixed(resp string) func(*http.Request, net.Conn) bool {
	return func(_ *http.Request, c net.Conn) bool {
		io.WriteString(c, resp)
		return true
	}
}

func routeTo(addr string) string {
	return yamlConf(`
spring.cloud.gateway.routes:
  - id: raw
    uri: http://{{ADDR}}
    predicates: [Path=/**]
`, "ADDR", addr)
}

// TestUpstreamConnectionReuse: sequential requests share one upstream
// connection.
func TestUpstreamConnectionReuse(t *testing.T) {
	t.Parallel()
	be := startRawBackend(t, fixed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	gw := startGateway(t, routeTo(be.addr))
	for i := range 20 {
		if code, body, _ := get(t, nil, gw.URL+"/x"); code != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q, want 200 ok", i, code, body)
		}
	}
	if n := be.accepts.Load(); n != 1 {
		t.Errorf("the backend accepted %d connections for 20 sequential requests, want 1", n)
	}
}

// TestUpstreamStaleConnection: an upstream that closes every connection
// after answering, without saying so, leaves the gateway a dead idle
// connection each time; a GET is sent again on a new one, a POST with a
// body is not (it may have been acted on) and gets 502.
func TestUpstreamStaleConnection(t *testing.T) {
	t.Parallel()
	be := startRawBackend(t, func(_ *http.Request, c net.Conn) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return false
	})
	gw := startGateway(t, routeTo(be.addr))
	for i := range 10 {
		if code, body, _ := get(t, nil, gw.URL+"/x"); code != 200 || body != "ok" {
			t.Fatalf("GET %d: %d %q, want 200 ok", i, code, body)
		}
		<-be.closed // the idle connection is now dead
	}
	resp, err := http.Post(gw.URL+"/x", "text/plain", strings.NewReader("order 66"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("POST on a dead idle connection: %d, want 502 (a request with a body is not sent twice)", resp.StatusCode)
	}
}

// TestUpstreamFraming: every way an HTTP/1.1 upstream may delimit its
// response reaches the client whole, and the connection is reused only
// when the framing allows.
func TestUpstreamFraming(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, resp, method string
		wantCode           int
		wantBody           string
		wantHeader         map[string]string // "" means absent
		wantTrailer        map[string]string
	}{
		{name: "chunked with trailer",
			resp:        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n",
			wantCode:    200,
			wantBody:    "abcde",
			wantTrailer: map[string]string{"X-Sum": "5"}},
		{name: "chunked and a Content-Length: chunked wins",
			resp:     "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
			wantCode: 200,
			wantBody: "hi"},
		{name: "no length, closed by the upstream",
			resp:     "HTTP/1.0 200 OK\r\n\r\nuntil the end",
			wantCode: 200,
			wantBody: "until the end"},
		{name: "interim 100 and 103 are dropped",
			resp:       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\nX-Final: yes\r\n\r\nnew",
			wantCode:   201,
			wantBody:   "new",
			wantHeader: map[string]string{"X-Final": "yes", "Link": ""}},
		{name: "204 has no body",
			resp:     "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
			wantCode: 204},
		{name: "HEAD keeps Content-Length, reads no body",
			method:     "HEAD",
			resp:       "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
			wantCode:   200,
			wantHeader: map[string]string{"Content-Length": "1234"}},
		{name: "hop-by-hop response headers are dropped",
			resp:       "HTTP/1.1 200 OK\r\nConnection: X-Internal, keep-alive\r\nX-Internal: secret\r\nKeep-Alive: timeout=5\r\nX-Public: yes\r\nContent-Length: 1\r\n\r\n.",
			wantCode:   200,
			wantBody:   ".",
			wantHeader: map[string]string{"X-Internal": "", "Keep-Alive": "", "X-Public": "yes"}},
		{name: "lower-case names are made canonical",
			resp:       "HTTP/1.1 200 OK\r\ncontent-type: text/x-test\r\nx-lower: v\r\ncontent-length: 1\r\n\r\n.",
			wantCode:   200,
			wantBody:   ".",
			wantHeader: map[string]string{"Content-Type": "text/x-test", "X-Lower": "v"}},
		{name: "a header line longer than the read buffer",
			resp:       "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 20000) + "\r\nContent-Length: 1\r\n\r\n.",
			wantCode:   200,
			wantBody:   ".",
			wantHeader: map[string]string{"X-Big": strings.Repeat("b", 20000)}},
		{name: "a head over 1 MiB",
			resp:     "HTTP/1.1 200 OK\r\nX-Huge: " + strings.Repeat("h", 1<<20) + "\r\n\r\n",
			wantCode: 502},
		{name: "no Content-Type from the upstream: none made up",
			resp:       "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n<html></html>\r\n",
			wantCode:   200,
			wantBody:   "<html></html>\r\n",
			wantHeader: map[string]string{"Content-Type": ""}},
		{name: "malformed status line",
			resp:     "HTTP/1.1 OK\r\n\r\n",
			wantCode: 502},
		{name: "not HTTP at all",
			resp:     "SSH-2.0-OpenSSH_9.2\r\n\r\n",
			wantCode: 502},
		{name: "two different Content-Lengths",
			resp:     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
			wantCode: 502},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			be := startRawBackend(t, func(_ *http.Request, c net.Conn) bool {
				io.WriteString(c, tc.resp)
				return !strings.HasPrefix(tc.resp, "HTTP/1.0")
			})
			gw := startGateway(t, routeTo(be.addr))
			method := tc.method
			if method == "" {
				method = "GET"
			}
			req, _ := http.NewRequest(method, gw.URL+"/x", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("reading the body: %v", err)
			}
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tc.wantCode, body)
			}
			if tc.wantCode == 502 {
				return
			}
			if string(body) != tc.wantBody {
				t.Errorf("body %q, want %q", body, tc.wantBody)
			}
			for k, want := range tc.wantHeader {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			for k, want := range tc.wantTrailer {
				if got := resp.Trailer.Get(k); got != want {
					t.Errorf("trailer %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestUpstreamTruncatedBody: an upstream that dies mid-body makes the
// client's response fail rather than look complete.
func TestUpstreamTruncatedBody(t *testing.T) {
	t.Parallel()
	be := startRawBackend(t, func(_ *http.Request, c net.Conn) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
		return false
	})
	gw := startGateway(t, routeTo(be.addr))
	resp, err := http.Get(gw.URL + "/x")
	if err != nil {
		return // the gateway dropped the connection before the head: also a failure the client sees
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("read %d bytes %q and no error, want the truncated body to fail", len(body), body)
	}
}

// TestUpstreamClientGone: a client that gives up takes its upstream
// request with it, so a hung upstream is not held forever.
func TestUpstreamClientGone(t *testing.T) {
	t.Parallel()
	got := make(chan struct{}, 1)
	be := startRawBackend(t, func(_ *http.Request, c net.Conn) bool {
		got <- struct{}{}
		io.Copy(io.Discard, c) // never answers; returns when the gateway closes
		return false
	})
	gw := startGateway(t, routeTo(be.addr))
	c := &http.Client{Timeout: 200 * time.Millisecond}
	if _, err := c.Get(gw.URL + "/hang"); err == nil {
		t.Fatal("GET /hang answered; the backend never does")
	}
	<-got
	be.waitClosed(t, "the gateway kept the upstream connection after its client left")
}

// TestUpstreamIdleTimeout: idle upstream connections are closed after
// httpclient.pool.max-idle-time.
func TestUpstreamIdleTimeout(t *testing.T) {
	t.Parallel()
	be := startRawBackend(t, fixed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	gw := startGateway(t, routeTo(be.addr)+`
spring.cloud.gateway.httpclient.pool.max-idle-time: 50ms
`)
	if code, _, _ := get(t, nil, gw.URL+"/x"); code != 200 {
		t.Fatalf("status %d", code)
	}
	be.waitClosed(t, "the idle upstream connection was still open long after a 50 ms max-idle-time")
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(*gw.up.hosts.Load()); n != 0 {
			return fmt.Errorf("%d upstream pools kept with no connection in them", n)
		}
		return nil
	})
	if code, _, _ := get(t, nil, gw.URL+"/x"); code != 200 {
		t.Fatalf("after the idle connection closed: status %d", code)
	}
}

// TestUpstreamPoolCap: no more idle connections are kept per host than
// httpclient.pool.max-idle-per-host.
func TestUpstreamPoolCap(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var inFlight atomic.Int64
	be := startRawBackend(t, func(_ *http.Request, c net.Conn) bool {
		inFlight.Add(1)
		<-release
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	gw := startGateway(t, routeTo(be.addr)+`
spring.cloud.gateway.httpclient.pool.max-idle-per-host: 2
`)
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			resp, err := http.Get(gw.URL + "/x")
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := inFlight.Load(); n != 5 {
			return fmt.Errorf("%d of 5 requests in flight at the backend", n)
		}
		return nil
	})
	close(release)
	wg.Wait()
	for range 3 {
		be.waitClosed(t, "5 connections, 2 idle allowed: 3 should have been closed")
	}
}

// TestUpstreamTimeoutOnReusedConnection: the response timeout holds on a
// pooled connection as on a new one, and the body of a slow stream is not
// cut by it once the head has come.
func TestUpstreamTimeoutOnReusedConnection(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	be := startRawBackend(t, func(_ *http.Request, c net.Conn) bool {
		switch n.Add(1) {
		case 1: // quick
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			return true
		case 2: // a head at once, then a body slower than the timeout
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nsl")
			time.Sleep(400 * time.Millisecond)
			io.WriteString(c, "ow")
			return true
		}
		io.Copy(io.Discard, c) // never answers
		return false
	})
	gw := startGateway(t, routeTo(be.addr)+`
spring.cloud.gateway.httpclient.response-timeout: 200ms
`)
	c := &http.Client{Timeout: 10 * time.Second}
	if code, body, _ := get(t, c, gw.URL+"/quick"); code != 200 || body != "ok" {
		t.Fatalf("first request: %d %q", code, body)
	}
	if code, body, _ := get(t, c, gw.URL+"/slow-body"); code != 200 || body != "slow" {
		t.Fatalf("slow body after a quick head: %d %q, want 200 slow (the timeout covers the head only)", code, body)
	}
	if code, _, _ := get(t, c, gw.URL+"/hang"); code != http.StatusGatewayTimeout {
		t.Fatalf("hung upstream on a reused connection: %d, want 504", code)
	}
	if be.accepts.Load() != 1 {
		t.Errorf("the backend accepted %d connections, want the three requests on one", be.accepts.Load())
	}
}
