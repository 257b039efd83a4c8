package filter

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// basicChain applies filters to h, the first filter outermost, as a route's
// chain does.
func basicChain(h http.Handler, filters ...Filter) http.Handler {
	for i := len(filters) - 1; i >= 0; i-- {
		h = filters[i](h)
	}
	return h
}

// basicMust returns a function that fails the test if a constructor
// returned an error: basicMust(t)(StripPrefix(1)).
func basicMust(t testing.TB) func(Filter, error) Filter {
	return func(f Filter, err error) Filter {
		t.Helper()
		if err != nil {
			t.Fatalf("building filter: %v", err)
		}
		return f
	}
}

// basicServe runs r through f to upstream and returns the response and the
// request upstream received.
func basicServe(t testing.TB, f Filter, r *http.Request, upstream http.HandlerFunc) (*httptest.ResponseRecorder, *http.Request) {
	t.Helper()
	var got *http.Request
	h := f(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		if upstream != nil {
			upstream(w, r)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec, got
}

// basicGateway starts backend and, in front of it, a gateway made of
// filters and an httputil.ReverseProxy that keeps the Host when
// PreservesHost says so, as the real proxy does. It returns the gateway's
// URL.
func basicGateway(t testing.TB, backend http.Handler, filters ...Filter) string {
	t.Helper()
	be := httptest.NewServer(backend)
	t.Cleanup(be.Close)
	target, err := url.Parse(be.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			if PreservesHost(pr.In) {
				pr.Out.Host = pr.In.Host
			}
		},
		FlushInterval: -1,
		ErrorLog:      nil,
	}
	gw := httptest.NewServer(basicChain(proxy, filters...))
	t.Cleanup(gw.Close)
	return gw.URL
}

// basicRace reports whether the test runs under the race detector, whose
// sync.Pool drops items at random, so pooled code allocates.
func basicRace() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// basicWriter is a ResponseWriter that keeps nothing but the header and
// status, for allocation tests.
type basicWriter struct {
	h    http.Header
	code int
}

func (w *basicWriter) Header() http.Header         { return w.h }
func (w *basicWriter) WriteHeader(code int)        { w.code = code }
func (w *basicWriter) Write(p []byte) (int, error) { return len(p), nil }

func TestPostFiltersRunInnermostFirst(t *testing.T) {
	t.Parallel()
	outer := basicMust(t)(AddResponseHeader("X-Order", "outer", true))
	inner := basicMust(t)(AddResponseHeader("X-Order", "inner", true))
	tests := []struct {
		name     string
		upstream http.HandlerFunc
	}{
		{"upstream writes body", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") }},
		{"upstream calls WriteHeader", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }},
		{"upstream writes nothing", func(w http.ResponseWriter, r *http.Request) {}},
		{"upstream flushes first", func(w http.ResponseWriter, r *http.Request) { http.NewResponseController(w).Flush() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := basicChain(tt.upstream, outer, inner)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			got := strings.Join(rec.Result().Header["X-Order"], ",")
			if got != "inner,outer" {
				t.Errorf("X-Order = %q, want %q (Spring runs post filters in reverse order)", got, "inner,outer")
			}
		})
	}
}

func TestPostFilterOnStatusOnlyResponse(t *testing.T) {
	t.Parallel()
	// SetStatus on a handler that writes nothing: the owner sends the status.
	f := basicMust(t)(SetStatus("I_AM_A_TEAPOT", ""))
	rec, _ := basicServe(t, f, httptest.NewRequest("GET", "/", nil), func(w http.ResponseWriter, r *http.Request) {})
	if rec.Code != http.StatusTeapot {
		t.Errorf("status = %d, want 418", rec.Code)
	}
}

func TestHookWriterPassesInformational(t *testing.T) {
	t.Parallel()
	f := basicMust(t)(SetStatus("201", ""))
	var codes []int
	w := &basicCodes{ResponseRecorder: httptest.NewRecorder(), codes: &codes}
	h := f(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusOK)
	}))
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if len(codes) != 2 || codes[0] != 103 || codes[1] != 201 {
		t.Errorf("WriteHeader calls = %v, want [103 201]", codes)
	}
}

type basicCodes struct {
	*httptest.ResponseRecorder
	codes *[]int
}

func (w *basicCodes) WriteHeader(code int) {
	*w.codes = append(*w.codes, code)
	w.ResponseRecorder.WriteHeader(code)
}

func TestHookWriterStreamsAndReachesController(t *testing.T) {
	t.Parallel()
	first := make(chan struct{})
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event one\n")
		http.NewResponseController(w).Flush()
		select {
		case <-first:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "event two\n")
	})
	deadlines := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Unwrap reaches the server's writer through the hook writer.
			if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
				t.Errorf("SetWriteDeadline through the filters: %v", err)
			}
			next.ServeHTTP(w, r)
		})
	}
	gw := basicGateway(t, backend,
		basicMust(t)(AddResponseHeader("X-Gateway", "yes", true)),
		Filter(deadlines),
		basicMust(t)(SetResponseHeader("X-Inner", "yes")))
	resp, err := http.Get(gw)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("X-Gateway") != "yes" || resp.Header.Get("X-Inner") != "yes" {
		t.Errorf("headers = %v, want X-Gateway and X-Inner set", resp.Header)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "event one\n" {
		t.Fatalf("first event = %q, %v; want it before the backend finishes", line, err)
	}
	close(first)
	line, _ = br.ReadString('\n')
	if line != "event two\n" {
		t.Errorf("second event = %q", line)
	}
}

func TestHookWriterPassesUpgrades(t *testing.T) {
	t.Parallel()
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "want Upgrade: echo", http.StatusBadRequest)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("backend hijack: %v", err)
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString(line)
		brw.Flush()
	})
	gw := basicGateway(t, backend,
		basicMust(t)(SecureHeaders(SecureHeadersConfig{})),
		basicMust(t)(SetStatus("500", "")),
		basicMust(t)(MaskResponse(MaskConfig{})))
	u, _ := url.Parse(gw)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status = %d, want 101 (post filters must not touch upgrades)", resp.StatusCode)
	}
	io.WriteString(c, "4111 1111 1111 1111 ping\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "4111 1111 1111 1111 ping\n" {
		t.Errorf("echo = %q, %v; want the bytes back untouched", line, err)
	}
}

func TestPostFiltersDoNotAllocate(t *testing.T) {
	if basicRace() {
		t.Skip("the race detector empties sync.Pools at random")
	}
	upstreamValue := []string{"a"}
	h := basicChain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-Upstream"] = upstreamValue
		w.WriteHeader(http.StatusOK)
	}),
		basicMust(t)(SetResponseHeader("X-Set", "v")),
		basicMust(t)(RemoveResponseHeader("X-Upstream")),
		basicMust(t)(DedupeResponseHeader("Access-Control-Allow-Origin", "")),
		basicMust(t)(SetStatus("202", "")),
	)
	w := &basicWriter{h: make(http.Header, 8)}
	r := httptest.NewRequest("GET", "/", nil)
	run := func() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	run()
	if w.code != http.StatusAccepted || w.h.Get("X-Set") != "v" || w.h.Get("X-Upstream") != "" {
		t.Fatalf("chain gave %d %v", w.code, w.h)
	}
	if n := testing.AllocsPerRun(1000, run); n != 0 {
		t.Errorf("a chain of post filters allocates %v times per request, want 0", n)
	}
}

func BenchmarkPostFilters(b *testing.B) {
	h := basicChain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }),
		basicMust(b)(SecureHeaders(SecureHeadersConfig{})),
		basicMust(b)(SetResponseHeader("X-Set", "v")),
		basicMust(b)(DedupeResponseHeader("Access-Control-Allow-Origin", "")),
	)
	w := &basicWriter{h: make(http.Header, 16)}
	r := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}
