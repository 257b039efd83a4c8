package filter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// resProxy is a small stand-in for the gateway's proxy: a ReverseProxy that sends
// attempt n to targets[n % len(targets)], notes the instance (NoteInstance), and marks
// upstream failures as the real proxy's ErrorHandler must (MarkUpstreamFailure).
func resProxy(t testing.TB, targets ...string) http.Handler {
	t.Helper()
	var urls []*url.URL
	for _, s := range targets {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, u)
	}
	var n atomic.Int64
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			u := urls[int(n.Add(1)-1)%len(urls)]
			NoteInstance(pr.In, u.Host)
			pr.SetURL(u)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			kind, status := Reset, http.StatusBadGateway
			var ne net.Error
			switch {
			case errors.Is(err, syscall.ECONNREFUSED):
				kind = ConnectFailure
			case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
				kind, status = Timeout, http.StatusGatewayTimeout
			}
			MarkUpstreamFailure(w, kind)
			http.Error(w, "proxy: "+kind.String(), status)
		},
	}
}

// resDeadAddr returns the URL of a loopback port nothing listens on.
func resDeadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// resServer runs h on a loopback server until the test ends and returns its URL.
func resServer(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// resChain builds the filters around h, the first outermost.
func resChain(h http.Handler, filters ...Filter) http.Handler {
	for i := len(filters) - 1; i >= 0; i-- {
		h = filters[i](h)
	}
	return h
}

type resResponse struct {
	status int
	header http.Header
	body   string
}

// resDo sends a request and reads the whole response.
func resDo(t testing.TB, method, url string, body io.Reader) resResponse {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resResponse{res.StatusCode, res.Header, string(b)}
}

// resBackend answers with the statuses in order (the last one repeats), a header and a
// body naming the attempt, and counts its hits.
type resBackend struct {
	statuses []int
	hits     atomic.Int64
	mu       sync.Mutex // guards bodies
	bodies   []string   // request bodies received
}

func (b *resBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(b.hits.Add(1))
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.bodies = append(b.bodies, string(body))
	b.mu.Unlock()
	status := b.statuses[min(n, len(b.statuses))-1]
	w.Header().Set("X-Attempt", fmt.Sprint(n))
	w.Header().Set("X-Attempt-"+fmt.Sprint(n), "yes")
	w.WriteHeader(status)
	fmt.Fprintf(w, "attempt %d: %d", n, status)
}

func TestRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cfg       RetryConfig
		method    string
		statuses  []int
		wantCode  int
		wantHits  int64
		wantFinal string
	}{
		{"retries a 503 until it works", RetryConfig{}, "GET", []int{503, 503, 200}, 200, 3, "attempt 3: 200"},
		{"gives up after retries", RetryConfig{Retries: 2}, "GET", []int{500}, 500, 3, "attempt 3: 500"},
		{"POST is not retried by default", RetryConfig{}, "POST", []int{503, 200}, 503, 1, "attempt 1: 503"},
		{"methods makes POST retryable", RetryConfig{Methods: []string{"get", "POST"}}, "POST", []int{503, 200}, 200, 2, "attempt 2: 200"},
		{"4xx is not retried by default", RetryConfig{}, "GET", []int{404, 200}, 404, 1, "attempt 1: 404"},
		{"statuses add to the 5xx series", RetryConfig{Statuses: []string{"NOT_FOUND"}}, "GET", []int{404, 500, 200}, 200, 3, "attempt 3: 200"},
		{"statuses alone after clearing series", RetryConfig{Statuses: []string{"502"}, Series: []string{}}, "GET", []int{502, 503, 200}, 503, 2, "attempt 2: 503"},
		{"series CLIENT_ERROR", RetryConfig{Series: []string{"client-error"}}, "GET", []int{429, 200}, 200, 2, "attempt 2: 200"},
		{"success is not retried", RetryConfig{}, "GET", []int{200, 500}, 200, 1, "attempt 1: 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			be := &resBackend{statuses: tt.statuses}
			f, err := Retry(tt.cfg)
			if err != nil {
				t.Fatalf("Retry(%+v): %v", tt.cfg, err)
			}
			url := resServer(t, resChain(resProxy(t, resServer(t, be)), f))
			res := resDo(t, tt.method, url, nil)
			if res.status != tt.wantCode || res.body != tt.wantFinal {
				t.Errorf("%s = %d %q, want %d %q", tt.method, res.status, res.body, tt.wantCode, tt.wantFinal)
			}
			if got := be.hits.Load(); got != tt.wantHits {
				t.Errorf("backend hits = %d, want %d", got, tt.wantHits)
			}
			// Headers of discarded attempts must not leak into the answer.
			for k := range res.header {
				if strings.HasPrefix(k, "X-Attempt-") && k != "X-Attempt-"+fmt.Sprint(tt.wantHits) {
					t.Errorf("response has header %s from a discarded attempt", k)
				}
			}
		})
	}
}

func TestRetryConnectFailureGoesToAnotherInstance(t *testing.T) {
	t.Parallel()
	dead := resDeadAddr(t)
	triedc := make(chan []string, 8) // one per attempt: record runs after Retry
	live := resServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "live")
	}))
	proxy := resProxy(t, dead, live)
	record := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			triedc <- append([]string(nil), TriedInstances(r)...)
		})
	}
	f, err := Retry(RetryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(proxy, f, record))
	if res := resDo(t, "GET", url, nil); res.status != 200 || res.body != "live" {
		t.Errorf("GET = %d %q, want 200 \"live\"", res.status, res.body)
	}
	deadHost := strings.TrimPrefix(dead, "http://")
	liveHost := strings.TrimPrefix(live, "http://")
	if got := <-triedc; len(got) != 1 || got[0] != deadHost {
		t.Errorf("TriedInstances after attempt 1 = %v, want [%s]", got, deadHost)
	}
	if got := <-triedc; len(got) != 2 || got[0] != deadHost || got[1] != liveHost {
		t.Errorf("TriedInstances after attempt 2 = %v, want [%s %s]", got, deadHost, liveHost)
	}

	// With no exceptions listed, a connection failure is not retried, even though the
	// proxy answers 502, a SERVER_ERROR.
	f, err = Retry(RetryConfig{Exceptions: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	url = resServer(t, resChain(resProxy(t, dead, live), f))
	if res := resDo(t, "GET", url, nil); res.status != 502 {
		t.Errorf("GET without exceptions = %d %q, want 502", res.status, res.body)
	}

	// Timeout alone does not cover a refused connection.
	f, err = Retry(RetryConfig{Exceptions: []string{"org.springframework.cloud.gateway.support.TimeoutException"}})
	if err != nil {
		t.Fatal(err)
	}
	url = resServer(t, resChain(resProxy(t, dead, live), f))
	if res := resDo(t, "GET", url, nil); res.status != 502 {
		t.Errorf("GET with exceptions=TimeoutException = %d %q, want 502", res.status, res.body)
	}
}

func TestRetryReplaysBody(t *testing.T) {
	t.Parallel()
	be := &resBackend{statuses: []int{503, 503, 200}}
	f, err := Retry(RetryConfig{Methods: []string{"POST"}})
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(resProxy(t, resServer(t, be)), f))
	payload := strings.Repeat("order-42;", 1000)
	// An io.Reader that is not a *strings.Reader makes the client send it chunked,
	// without a Content-Length.
	res := resDo(t, "POST", url, io.MultiReader(strings.NewReader(payload)))
	if res.status != 200 {
		t.Fatalf("POST = %d %q, want 200", res.status, res.body)
	}
	for i, b := range be.bodies {
		if b != payload {
			t.Errorf("attempt %d got a body of %d bytes, want %d", i+1, len(b), len(payload))
		}
	}
}

func TestRetryDoesNotReplayLargeBody(t *testing.T) {
	t.Parallel()
	for _, chunked := range []bool{false, true} {
		be := &resBackend{statuses: []int{503, 200}}
		f, err := Retry(RetryConfig{Methods: []string{"POST"}, ReplayBufferSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		url := resServer(t, resChain(resProxy(t, resServer(t, be)), f))
		var body io.Reader = strings.NewReader(strings.Repeat("x", 1000))
		if chunked {
			body = io.MultiReader(body)
		}
		res := resDo(t, "POST", url, body)
		if res.status != 503 || be.hits.Load() != 1 {
			t.Errorf("POST of 1000 bytes (chunked %v) with replayBufferSize 100 = %d after %d hits, want 503 after 1", chunked, res.status, be.hits.Load())
		}
		if len(be.bodies) == 1 && len(be.bodies[0]) != 1000 {
			t.Errorf("backend got %d bytes, want 1000", len(be.bodies[0]))
		}
	}
}

// Filters after Retry run again on every attempt, each time on the request as it
// reached Retry.
func TestRetryAttemptsStartFromTheOriginalRequest(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen [][]string
	backend := resServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header["X-Added"])
		mu.Unlock()
		w.WriteHeader(503)
	}))
	add := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Add("X-Added", "1")
			r.URL.Path = "/rewritten" + r.URL.Path
			next.ServeHTTP(w, r)
		})
	}
	f, err := Retry(RetryConfig{Retries: 2})
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(resProxy(t, backend), f, add))
	resDo(t, "GET", url+"/x", nil)
	if len(seen) != 3 {
		t.Fatalf("backend saw %d attempts, want 3", len(seen))
	}
	for i, h := range seen {
		if len(h) != 1 {
			t.Errorf("attempt %d: X-Added = %v, want one value", i+1, h)
		}
	}
}

// The chosen attempt streams: the client reads its first bytes while the backend is
// still writing.
func TestRetryStreamsTheCommittedAttempt(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	backend := resServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first;")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "second")
	}))
	f, err := Retry(RetryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(resProxy(t, backend), f))
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	buf := make([]byte, len("first;"))
	if _, err := io.ReadFull(res.Body, buf); err != nil || string(buf) != "first;" {
		t.Fatalf("first read = %q, %v; want \"first;\"", buf, err)
	}
	close(release)
	rest, _ := io.ReadAll(res.Body)
	if string(rest) != "second" {
		t.Errorf("rest = %q, want \"second\"", rest)
	}
}

func TestRetryBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		first, max time.Duration
		factor, n  int
		want       time.Duration
	}{
		{5 * time.Millisecond, 0, 2, 0, 5 * time.Millisecond},
		{5 * time.Millisecond, 0, 2, 1, 10 * time.Millisecond},
		{5 * time.Millisecond, 0, 2, 3, 40 * time.Millisecond},
		{10 * time.Millisecond, 50 * time.Millisecond, 2, 2, 40 * time.Millisecond},
		{10 * time.Millisecond, 50 * time.Millisecond, 2, 3, 50 * time.Millisecond},
		{10 * time.Millisecond, 0, 1, 5, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := resBackoff(tt.first, tt.max, tt.factor, tt.n); got != tt.want {
			t.Errorf("resBackoff(%v, %v, %d, %d) = %v, want %v", tt.first, tt.max, tt.factor, tt.n, got, tt.want)
		}
	}

	// End to end: 20ms + 40ms between three attempts.
	be := &resBackend{statuses: []int{503, 503, 200}}
	f, err := Retry(RetryConfig{Retries: 2, Backoff: &RetryBackoff{FirstBackoff: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(resProxy(t, resServer(t, be)), f))
	start := time.Now()
	if res := resDo(t, "GET", url, nil); res.status != 200 {
		t.Fatalf("GET = %d, want 200", res.status)
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("three attempts with backoff 20ms×2 took %v, want at least 60ms", d)
	}
}

func TestRetryTimeoutStopsRetrying(t *testing.T) {
	t.Parallel()
	be := &resBackend{statuses: []int{503}}
	f, err := Retry(RetryConfig{Retries: 10, Timeout: 50 * time.Millisecond,
		Backoff: &RetryBackoff{FirstBackoff: 30 * time.Millisecond, Factor: 1}})
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(resProxy(t, resServer(t, be)), f))
	if res := resDo(t, "GET", url, nil); res.status != 503 {
		t.Errorf("GET = %d, want 503", res.status)
	}
	if n := be.hits.Load(); n < 2 || n > 3 {
		t.Errorf("backend hits = %d, want 2 or 3 within a 50ms timeout and 30ms backoff", n)
	}
}

func TestRetryArgumentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  RetryConfig
		want string
	}{
		{"negative retries", RetryConfig{Retries: -1}, "retries -1 is below 1"},
		{"bad status", RetryConfig{Statuses: []string{"BAD_GATWAY"}}, `statuses: status "BAD_GATWAY" is not a Spring HttpStatus name; want a code such as 404 or a name such as NOT_FOUND, BAD_GATEWAY, TOO_MANY_REQUESTS`},
		{"bad series", RetryConfig{Series: []string{"SERVER"}}, `series: "SERVER" is not a status series; want one of INFORMATIONAL, SUCCESSFUL, REDIRECTION, CLIENT_ERROR, SERVER_ERROR`},
		{"empty methods", RetryConfig{Methods: []string{}}, "methods is empty; want at least one method, e.g. GET"},
		{"bad method", RetryConfig{Methods: []string{"GE T"}}, `methods: "GE T" is not an HTTP method`},
		{"nothing to retry", RetryConfig{Series: []string{}, Exceptions: []string{}}, "statuses, series and exceptions are all empty; want at least one, or Retry never retries"},
		{"bad backoff", RetryConfig{Backoff: &RetryBackoff{FirstBackoff: 50 * time.Millisecond, MaxBackoff: 10 * time.Millisecond}}, "backoff.maxBackoff 10ms is below backoff.firstBackoff 50ms"},
		{"bad jitter", RetryConfig{Jitter: &RetryJitter{RandomFactor: 1.5}}, "jitter.randomFactor 1.5 is out of range; want a value in [0, 1]"},
		{"every error at once", RetryConfig{Retries: -2, Series: []string{"X"}}, "retries -2 is below 1\nseries: \"X\" is not a status series; want one of INFORMATIONAL, SUCCESSFUL, REDIRECTION, CLIENT_ERROR, SERVER_ERROR"},
	}
	for _, tt := range tests {
		_, err := Retry(tt.cfg)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: Retry(%+v) error = %v, want %q", tt.name, tt.cfg, err, tt.want)
		}
	}
	_, err := Retry(RetryConfig{Exceptions: []string{"java.lang.NullPointerException"}})
	if err == nil || !strings.HasPrefix(err.Error(), `exceptions: "java.lang.NullPointerException" is not a failure Retry knows; want one of ConnectFailure, Reset, Timeout, io.netty`) {
		t.Errorf("Retry with an unknown exception: error = %v", err)
	}
}

// MarkUpstreamFailure reaches the attempt writer through other writers that Unwrap.
func TestMarkUpstreamFailureUnwraps(t *testing.T) {
	t.Parallel()
	a := newResAttempt(httptest.NewRecorder(), &retryFilter{}, false)
	MarkUpstreamFailure(resWrapped{a}, Reset)
	if a.kind != Reset {
		t.Errorf("kind after MarkUpstreamFailure through a wrapper = %v, want Reset", a.kind)
	}
	MarkUpstreamFailure(httptest.NewRecorder(), Reset) // no filter: nothing happens
}

type resWrapped struct{ http.ResponseWriter }

func (w resWrapped) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestResReplayStaleReader(t *testing.T) {
	t.Parallel()
	p := &resReplay{src: io.NopCloser(strings.NewReader("hello world")), limit: 100}
	r1 := p.reader()
	buf := make([]byte, 5)
	io.ReadFull(r1, buf)
	r2 := p.reader()
	if _, err := r1.Read(buf); err != errResStaleBody {
		t.Errorf("old reader after a new one: err = %v, want errResStaleBody", err)
	}
	b, err := io.ReadAll(r2)
	if err != nil || !bytes.Equal(b, []byte("hello world")) {
		t.Errorf("new reader = %q, %v; want the whole body", b, err)
	}
}
