package gateway

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCircuitBreakerSeedExample is the seed example: a backend that
// fails on demand; five failures open the circuit; while it is open the
// fallback answers without calling the backend; after the wait the circuit
// half-opens, and one success closes it again.
func TestCircuitBreakerSeedExample(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	})
	fb := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("fallback for " + r.URL.Path))
	})
	gw := startGateway(t, yamlConf(`
spring.cloud.gateway.routes:
  - id: orders
    uri: {{BACKEND}}
    predicates: [Path=/orders/**]
    filters:
      - name: CircuitBreaker
        args:
          name: orders
          fallbackUri: forward:/fallback
          statusCodes: [500]
  - id: fallback
    uri: {{FALLBACK}}
    predicates: [Path=/fallback]
resilience4j.circuitbreaker.instances.orders:
  slidingWindowSize: 5
  minimumNumberOfCalls: 5
  failureRateThreshold: 50
  waitDurationInOpenState: 200ms
  permittedNumberOfCallsInHalfOpenState: 1
`, "BACKEND", be.URL, "FALLBACK", fb.URL))

	if code, body, _ := get(t, nil, gw.URL+"/orders/1"); code != 200 || body != "ok" {
		t.Fatalf("healthy: GET /orders/1 = %d %q, want 200 ok", code, body)
	}
	failing.Store(true)
	// Four more calls fill the window of five; with four of five failed the
	// failure rate (80%) is over the threshold and the circuit opens.
	var opened time.Time // the circuit opens after this, with the fifth call
	for i := range 4 {
		opened = time.Now()
		code, body, _ := get(t, nil, gw.URL+"/orders/1")
		if code != 200 || body != "fallback for /fallback" {
			t.Fatalf("failure %d: GET /orders/1 = %d %q, want the fallback", i+1, code, body)
		}
	}
	if n := be.hits.Load(); n != 5 {
		t.Fatalf("backend hits = %d after 5 calls, want 5", n)
	}
	// Open: the fallback answers at once, and the backend is not called.
	for range 3 {
		code, body, _ := get(t, nil, gw.URL+"/orders/1")
		if code != 200 || body != "fallback for /fallback" {
			t.Fatalf("open circuit: GET /orders/1 = %d %q, want the fallback", code, body)
		}
	}
	if n := be.hits.Load(); n != 5 && time.Since(opened) < 200*time.Millisecond {
		t.Fatalf("backend hits = %d with the circuit open, want still 5", n)
	}

	// After waitDurationInOpenState one trial call goes through; it succeeds
	// and closes the circuit.
	failing.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body, _ := get(t, nil, gw.URL+"/orders/1")
		if body == "ok" {
			// The call went through before its answer came, so at most this
			// long after the circuit opened.
			if waited := time.Since(opened); waited < 200*time.Millisecond {
				t.Errorf("the circuit let a call through %v after opening, want at least waitDurationInOpenState 200ms", waited)
			}
			break
		}
		if code != 200 || body != "fallback for /fallback" {
			t.Fatalf("waiting for half-open: GET /orders/1 = %d %q", code, body)
		}
		if time.Now().After(deadline) {
			t.Fatal("the circuit did not half-open within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := be.hits.Load()
	for range 5 {
		if code, body, _ := get(t, nil, gw.URL+"/orders/1"); code != 200 || body != "ok" {
			t.Fatalf("closed again: GET /orders/1 = %d %q, want 200 ok", code, body)
		}
	}
	if n := be.hits.Load() - before; n != 5 {
		t.Errorf("closed circuit: backend got %d of 5 calls", n)
	}
	// The breaker's state and the fallbacks it served show in /metrics.
	_, metrics, _ := get(t, nil, gw.URL+"/metrics")
	for _, want := range []string{
		`switchboard_gateway_circuitbreaker_state{name="orders",state="CLOSED"} 1`,
		`switchboard_gateway_circuitbreaker_fallbacks_total{name="orders"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestCircuitBreakerFixedFallback answers failures with fallbackStatus and
// fallbackBody; a refused connection counts as a failure.
func TestCircuitBreakerFixedFallback(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, yamlConf(`
spring.cloud.gateway.routes:
  - id: dead
    uri: http://{{DEAD}}
    predicates: [Path=/dead/**]
    filters:
      - name: CircuitBreaker
        args:
          fallbackStatus: SERVICE_UNAVAILABLE
          fallbackBody: '{"status":"degraded"}'
          fallbackContentType: application/json
  - id: dead-plain
    uri: http://{{DEAD}}
    predicates: [Path=/plain/**]
    filters: [CircuitBreaker=plain]
resilience4j.circuitbreaker.configs.default:
  minimumNumberOfCalls: 2
  slidingWindowSize: 2
`, "DEAD", deadAddr(t)))
	for range 3 {
		code, body, hdr := get(t, nil, gw.URL+"/dead/x")
		if code != http.StatusServiceUnavailable || body != `{"status":"degraded"}` || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("GET /dead/x = %d %q (%s), want 503 with the fixed JSON body", code, body, hdr.Get("Content-Type"))
		}
	}
	// Without a fallback: the proxy's 502 passes through until the circuit
	// opens, then 503.
	var codes []int
	for range 3 {
		code, _, _ := get(t, nil, gw.URL+"/plain/x")
		codes = append(codes, code)
	}
	if want := []int{502, 502, 503}; codes[0] != want[0] || codes[1] != want[1] || codes[2] != want[2] {
		t.Errorf("no fallback: statuses %v, want %v", codes, want)
	}
}

func TestRetryStatuses(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flaky": // fails twice, then works
			if calls.Add(1)%3 != 0 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte("ok"))
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	gw := startGateway(t, yamlConf(`
spring.cloud.gateway.routes:
  - id: r
    uri: {{BACKEND}}
    predicates: [Path=/**]
    filters:
      - name: Retry
        args:
          retries: 3
          statuses: SERVICE_UNAVAILABLE
          series: []
`, "BACKEND", be.URL))

	if code, body, _ := get(t, nil, gw.URL+"/flaky"); code != 200 || body != "ok" {
		t.Errorf("GET /flaky = %d %q, want 200 ok after two retries", code, body)
	}
	if n := be.hits.Load(); n != 3 {
		t.Errorf("GET /flaky reached the backend %d times, want 3", n)
	}

	before := be.hits.Load()
	if code, _, _ := get(t, nil, gw.URL+"/broken"); code != http.StatusInternalServerError {
		t.Errorf("GET /broken = %d, want 500", code)
	}
	if n := be.hits.Load() - before; n != 1 {
		t.Errorf("500 is not in statuses and series is cleared: GET /broken reached the backend %d times, want 1", n)
	}

	// Only GET is retried by default.
	calls.Store(0)
	before = be.hits.Load()
	resp, err := http.Post(gw.URL+"/flaky", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST /flaky = %d, want 503 (not retried)", resp.StatusCode)
	}
	if n := be.hits.Load() - before; n != 1 {
		t.Errorf("POST /flaky reached the backend %d times, want 1", n)
	}
}

// TestResponseTimeout: a backend that never answers gets 504 after the
// route's metadata response-timeout, or else the global one.
func TestResponseTimeout(t *testing.T) {
	t.Parallel()
	slow := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	gw := startGateway(t, yamlConf(`
spring.cloud.gateway.httpclient.response-timeout: 400ms
spring.cloud.gateway.routes:
  - id: route-timeout
    uri: {{SLOW}}
    predicates: [Path=/route/**]
    metadata:
      response-timeout: 100
  - id: global-timeout
    uri: {{SLOW}}
    predicates: [Path=/global/**]
`, "SLOW", slow.URL))
	for _, tt := range []struct {
		path     string
		min, max time.Duration
	}{
		{"/route/x", 100 * time.Millisecond, 350 * time.Millisecond},
		{"/global/x", 400 * time.Millisecond, 2 * time.Second},
	} {
		start := time.Now()
		code, _, _ := get(t, nil, gw.URL+tt.path)
		took := time.Since(start)
		if code != http.StatusGatewayTimeout {
			t.Errorf("GET %s = %d, want 504", tt.path, code)
		}
		if took < tt.min || took > tt.max {
			t.Errorf("GET %s took %v, want between %v and %v", tt.path, took, tt.min, tt.max)
		}
	}
}

// TestResponseTimeoutCoversOnlyTheHead streams a body for longer than the
// response timeout: the timeout stops when the head arrives, also when
// filters that wrap the response writer (Retry, CircuitBreaker) sit between
// the gateway and the proxy.
func TestResponseTimeoutCoversOnlyTheHead(t *testing.T) {
	t.Parallel()
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for range 3 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			w.Write([]byte("chunk\n"))
			w.(http.Flusher).Flush()
		}
	})
	for _, filters := range []string{"[]", "[Retry=1]", "[CircuitBreaker=streaming]", `["AddResponseHeader=X-A, b", SecureHeaders]`} {
		t.Run(filters, func(t *testing.T) {
			t.Parallel()
			gw := startGateway(t, yamlConf(`
spring.cloud.gateway.routes:
  - id: stream
    uri: {{BACKEND}}
    predicates: [Path=/**]
    filters: {{FILTERS}}
    metadata: {response-timeout: 150}
resilience4j.timelimiter.configs.default.timeoutDuration: 5s
`, "BACKEND", be.URL, "FILTERS", filters))
			code, body, _ := get(t, nil, gw.URL+"/x")
			if code != http.StatusOK || body != strings.Repeat("chunk\n", 3) {
				t.Errorf("GET /x with filters %s = %d %q, want the whole 300ms stream", filters, code, body)
			}
		})
	}
}
