package filter

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/testenv"
)

// resBreakers returns a Breakers that does not log, with instances configured.
func resBreakers(instances map[string]BreakerProperties) *Breakers {
	return &Breakers{Instances: instances, Logger: slog.New(slog.DiscardHandler)}
}

func resState(bs *Breakers, name string) string { return bs.States()[name] }

// The seed example: five failures open the circuit, the fallback then answers at once
// without calling the backend, after waitDurationInOpenState the breaker lets trial
// calls through (half-open), and successes close it.
func TestCircuitBreakerOpensFallsBackAndCloses(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	failing.Store(true)
	var hits atomic.Int64
	backend := resServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if failing.Load() {
			w.Header().Set("X-From", "backend")
			http.Error(w, "backend down", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	}))
	const wait = 200 * time.Millisecond
	bs := resBreakers(map[string]BreakerProperties{"orders": {
		SlidingWindowSize: 5, MinimumNumberOfCalls: 5, FailureRateThreshold: 50,
		WaitDurationInOpenState: wait, PermittedNumberOfCallsInHalfOpenState: 2,
	}})
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Fallback", "yes")
		fmt.Fprintf(w, "fallback: %v", ExecutionError(r))
	})
	f, err := CircuitBreaker(BreakerConfig{Name: "orders", FallbackURI: "forward:/fallback",
		StatusCodes: []string{"INTERNAL_SERVER_ERROR"}, Breakers: bs}, fallback)
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(resProxy(t, backend), f))

	var beforeOpen time.Time
	for i := range 5 {
		beforeOpen = time.Now()
		if s := resState(bs, "orders"); s != "CLOSED" {
			t.Fatalf("state before failure %d = %s, want CLOSED", i+1, s)
		}
		res := resDo(t, "GET", url, nil)
		if res.status != 200 || res.body != "fallback: upstream answered 500 Internal Server Error" || res.header.Get("X-From") != "" {
			t.Errorf("failure %d: GET = %d %q (X-From %q), want the fallback without the backend's headers", i+1, res.status, res.body, res.header.Get("X-From"))
		}
	}
	if s := resState(bs, "orders"); s != "OPEN" {
		t.Fatalf("state after 5 failures = %s, want OPEN", s)
	}

	// Open: the fallback answers at once and the backend is not called.
	failing.Store(false)
	start := time.Now()
	res := resDo(t, "GET", url, nil)
	if want := `fallback: circuit breaker "orders" is open: call not permitted`; res.body != want {
		t.Errorf("GET while open = %d %q, want %q", res.status, res.body, want)
	}
	if d := time.Since(start); d > wait/2 {
		t.Errorf("GET while open took %v, want an answer at once", d)
	}
	if n := hits.Load(); n != 5 {
		t.Errorf("backend hits while open = %d, want 5", n)
	}

	// After the wait the next call goes through: HALF_OPEN, and the second success
	// closes the circuit.
	testenv.Eventually(t, 5*time.Second, func() error {
		if res := resDo(t, "GET", url, nil); res.body != "ok" {
			return fmt.Errorf("still open: %q", res.body)
		}
		return nil
	})
	if d := time.Since(beforeOpen); d < wait {
		t.Errorf("a call went through %v after the circuit opened, want at least %v", d, wait)
	}
	if s := resState(bs, "orders"); s != "HALF_OPEN" {
		t.Errorf("state after one trial call = %s, want HALF_OPEN", s)
	}
	if res := resDo(t, "GET", url, nil); res.body != "ok" {
		t.Errorf("second trial call = %q, want ok", res.body)
	}
	if s := resState(bs, "orders"); s != "CLOSED" {
		t.Errorf("state after two successful trial calls = %s, want CLOSED", s)
	}
	st := bs.Stats()
	if len(st) != 1 || st[0].NotPermitted < 1 || st[0].Fallbacks != 5+st[0].NotPermitted || st[0].Timeouts != 0 {
		t.Errorf("Stats() = %+v, want calls not permitted, a fallback for each and for the 5 failures, no timeouts", st)
	}
}

func TestCircuitBreakerHalfOpenFailureReopens(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	backend := resServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(503)
	}))
	// Closed: a window of min(4, 2) = 2 calls. Half-open: 4 trial calls, of which 2
	// failures (50%) reopen the circuit.
	bs := resBreakers(map[string]BreakerProperties{"b": {
		SlidingWindowSize: 2, MinimumNumberOfCalls: 4, PermittedNumberOfCallsInHalfOpenState: 4,
		WaitDurationInOpenState: 50 * time.Millisecond,
	}})
	f, err := CircuitBreaker(BreakerConfig{Name: "b", StatusCodes: []string{"503"}, Breakers: bs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(resProxy(t, backend), f))
	for range 2 {
		if res := resDo(t, "GET", url, nil); res.status != 503 || res.body != "" {
			t.Fatalf("GET = %d %q, want the backend's empty 503", res.status, res.body)
		}
	}
	if s := resState(bs, "b"); s != "OPEN" {
		t.Fatalf("state = %s, want OPEN", s)
	}
	if res := resDo(t, "GET", url, nil); res.status != 503 || res.body != "Upstream service is temporarily unavailable\n" {
		t.Errorf("GET while open = %d %q, want 503 from the breaker", res.status, res.body)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		resDo(t, "GET", url, nil)
		if hits.Load() < 3 {
			return errors.New("no trial call yet")
		}
		return nil
	})
	if s := resState(bs, "b"); s != "HALF_OPEN" {
		t.Errorf("state after one failed trial call of 4 = %s, want HALF_OPEN", s)
	}
	resDo(t, "GET", url, nil)
	if s := resState(bs, "b"); s != "OPEN" || hits.Load() != 4 {
		t.Errorf("state after two failed trial calls = %s (%d backend hits), want OPEN (4)", s, hits.Load())
	}
}

func TestCircuitBreakerTimeBasedWindow(t *testing.T) {
	t.Parallel()
	bs := resBreakers(map[string]BreakerProperties{"tb": {SlidingWindowType: "TIME_BASED",
		SlidingWindowSize: 10, MinimumNumberOfCalls: 3, FailureRateThreshold: 60}})
	f, err := CircuitBreaker(BreakerConfig{Name: "tb", StatusCodes: []string{"500"}, Breakers: bs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fail := true
	h := f(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail {
			w.WriteHeader(500)
		}
	}))
	serve := func() int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		return w.Code
	}
	// 2 failures: below the minimum of 3 calls. Then a success: 2 of 3 is 67% ≥ 60%.
	serve()
	serve()
	if s := resState(bs, "tb"); s != "CLOSED" {
		t.Errorf("state after 2 failures = %s, want CLOSED (minimumNumberOfCalls 3)", s)
	}
	fail = false
	serve()
	if s := resState(bs, "tb"); s != "OPEN" {
		t.Errorf("state after 2 failures and a success = %s, want OPEN", s)
	}
	if code := serve(); code != 503 {
		t.Errorf("call while open = %d, want 503", code)
	}
}

func TestCircuitBreakerTimeLimiter(t *testing.T) {
	t.Parallel()
	canceled := make(chan struct{}, 1)
	backend := resServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			select {
			case <-r.Context().Done():
				canceled <- struct{}{}
			case <-time.After(5 * time.Second):
			}
		case "/stream": // the head comes at once, the body takes longer than the limit
			w.WriteHeader(200)
			for i := range 5 {
				fmt.Fprintf(w, "%d;", i)
				w.(http.Flusher).Flush()
				time.Sleep(40 * time.Millisecond)
			}
		}
	}))
	bs := resBreakers(nil)
	bs.TimeLimiterInstances = map[string]TimeLimiterProperties{"t": {TimeoutDuration: 100 * time.Millisecond}}
	f, err := CircuitBreaker(BreakerConfig{Name: "t", Breakers: bs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(resProxy(t, backend), f))
	start := time.Now()
	res := resDo(t, "GET", url+"/slow", nil)
	if res.status != 504 {
		t.Errorf("GET /slow = %d %q, want 504", res.status, res.body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("GET /slow took %v, want about 100ms", d)
	}
	select {
	case <-canceled:
	case <-time.After(5 * time.Second):
		t.Error("the backend call was not canceled")
	}
	if res := resDo(t, "GET", url+"/stream", nil); res.status != 200 || res.body != "0;1;2;3;4;" {
		t.Errorf("GET /stream = %d %q, want the whole body: the time limit ends with the head", res.status, res.body)
	}
	if st := bs.Stats(); st[0].Timeouts != 1 {
		t.Errorf("Timeouts = %d, want 1", st[0].Timeouts)
	}

	// With a fallback, the fallback answers and learns why.
	fb := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "timeout: %v", errors.Is(ExecutionError(r), ErrTimeLimit))
	})
	f, err = CircuitBreaker(BreakerConfig{Name: "t", FallbackURI: "forward:/x", Breakers: bs}, fb)
	if err != nil {
		t.Fatal(err)
	}
	url = resServer(t, resChain(resProxy(t, backend), f))
	if res := resDo(t, "GET", url+"/slow", nil); res.status != 200 || res.body != "timeout: true" {
		t.Errorf("GET /slow with a fallback = %d %q, want 200 \"timeout: true\"", res.status, res.body)
	}
}

func TestCircuitBreakerUpstreamFailures(t *testing.T) {
	t.Parallel()
	dead := resDeadAddr(t)
	props := map[string]BreakerProperties{"c": {SlidingWindowSize: 2, MinimumNumberOfCalls: 2}}

	// Without a fallback the proxy's 502 passes through, and counts.
	bs := resBreakers(props)
	f, err := CircuitBreaker(BreakerConfig{Name: "c", Breakers: bs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(resProxy(t, dead), f))
	for range 2 {
		if res := resDo(t, "GET", url, nil); res.status != 502 || res.body != "proxy: ConnectFailure\n" {
			t.Errorf("GET = %d %q, want the proxy's 502", res.status, res.body)
		}
	}
	if res := resDo(t, "GET", url, nil); res.status != 503 {
		t.Errorf("GET after two connect failures = %d %q, want 503", res.status, res.body)
	}

	// resumeWithoutError swallows the failure: an empty 200, as in Spring.
	f, err = CircuitBreaker(BreakerConfig{Name: "c", ResumeWithoutError: true, Breakers: resBreakers(props)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	url = resServer(t, resChain(resProxy(t, dead), f))
	if res := resDo(t, "GET", url, nil); res.status != 200 || res.body != "" {
		t.Errorf("GET with resumeWithoutError = %d %q, want an empty 200", res.status, res.body)
	}

	// Without statusCodes a 5xx is a success.
	bs = resBreakers(props)
	f, err = CircuitBreaker(BreakerConfig{Name: "c", Breakers: bs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	url = resServer(t, resChain(resProxy(t, resServer(t, &resBackend{statuses: []int{500}})), f))
	for range 3 {
		if res := resDo(t, "GET", url, nil); res.status != 500 {
			t.Errorf("GET = %d, want the backend's 500", res.status)
		}
	}
	if s := resState(bs, "c"); s != "CLOSED" {
		t.Errorf("state after 5xx without statusCodes = %s, want CLOSED", s)
	}
}

func TestCircuitBreakerFallbackGetsTheBody(t *testing.T) {
	t.Parallel()
	backend := resServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(500)
	}))
	fb := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %d %v", r.Header.Get("X-In"), len(b), err)
	})
	touch := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set("X-In", "changed")
			next.ServeHTTP(w, r)
		})
	}
	f, err := CircuitBreaker(BreakerConfig{RouteID: "r", FallbackURI: "forward:/fb", StatusCodes: []string{"500"}, Breakers: resBreakers(nil)}, fb)
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(resProxy(t, backend), f, touch))
	req, _ := http.NewRequest("POST", url, io.MultiReader(strings.NewReader(strings.Repeat("a", 50000))))
	req.Header.Set("X-In", "original")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "original 50000 <nil>" {
		t.Errorf("fallback saw %q, want the request as it reached the breaker: \"original 50000 <nil>\"", b)
	}
}

func TestCircuitBreakerFixedResponse(t *testing.T) {
	t.Parallel()
	f, err := CircuitBreaker(BreakerConfig{Name: "fixed", FallbackStatus: "SERVICE_UNAVAILABLE",
		FallbackBody: `{"status":"down"}`, FallbackContentType: "application/json",
		StatusCodes: []string{"500"}, Breakers: resBreakers(nil)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(resProxy(t, resServer(t, &resBackend{statuses: []int{500}})), f))
	res := resDo(t, "GET", url, nil)
	if res.status != 503 || res.body != `{"status":"down"}` || res.header.Get("Content-Type") != "application/json" {
		t.Errorf("GET = %d %q (%s), want the fixed 503 JSON", res.status, res.body, res.header.Get("Content-Type"))
	}
}

// Breakers with one name share their state across routes.
func TestCircuitBreakerSharedByName(t *testing.T) {
	t.Parallel()
	bs := resBreakers(map[string]BreakerProperties{"shared": {SlidingWindowSize: 1, MinimumNumberOfCalls: 1}})
	a, err := CircuitBreaker(BreakerConfig{Name: "shared", RouteID: "a", StatusCodes: []string{"500"}, Breakers: bs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := CircuitBreaker(BreakerConfig{Name: "shared", RouteID: "b", Breakers: bs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	failing := resServer(t, resChain(resProxy(t, resServer(t, &resBackend{statuses: []int{500}})), a))
	healthy := resServer(t, resChain(resProxy(t, resServer(t, &resBackend{statuses: []int{200}})), b))
	resDo(t, "GET", failing, nil)
	if res := resDo(t, "GET", healthy, nil); res.status != 503 {
		t.Errorf("GET on route b after route a opened the shared breaker = %d, want 503", res.status)
	}
	if got := bs.States(); !maps.Equal(got, map[string]string{"shared": "OPEN"}) {
		t.Errorf("States() = %v, want only shared: OPEN", got)
	}
}

func TestCircuitBreakerSlowCalls(t *testing.T) {
	t.Parallel()
	backend := resServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(60 * time.Millisecond)
	}))
	bs := resBreakers(map[string]BreakerProperties{"slow": {SlidingWindowSize: 2, MinimumNumberOfCalls: 2,
		SlowCallRateThreshold: 50, SlowCallDurationThreshold: 30 * time.Millisecond}})
	bs.DisableTimeLimiter = true
	f, err := CircuitBreaker(BreakerConfig{Name: "slow", Breakers: bs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(resProxy(t, backend), f))
	for range 2 {
		if res := resDo(t, "GET", url, nil); res.status != 200 {
			t.Errorf("slow GET = %d, want 200", res.status)
		}
	}
	if s := resState(bs, "slow"); s != "OPEN" {
		t.Errorf("state after two slow calls = %s, want OPEN", s)
	}
}

func TestCircuitBreakerAutomaticTransition(t *testing.T) {
	t.Parallel()
	on := true
	bs := resBreakers(map[string]BreakerProperties{"auto": {SlidingWindowSize: 1, MinimumNumberOfCalls: 1,
		WaitDurationInOpenState: 50 * time.Millisecond, AutomaticTransitionFromOpenToHalfOpenEnabled: &on}})
	f, err := CircuitBreaker(BreakerConfig{Name: "auto", StatusCodes: []string{"500"}, Breakers: bs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(resProxy(t, resServer(t, &resBackend{statuses: []int{500}})), f))
	resDo(t, "GET", url, nil)
	if s := resState(bs, "auto"); s != "OPEN" {
		t.Fatalf("state = %s, want OPEN", s)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if s := resState(bs, "auto"); s != "HALF_OPEN" {
			return fmt.Errorf("state %s", s)
		}
		return nil
	})
}

func TestCircuitBreakerPanicPropagates(t *testing.T) {
	t.Parallel()
	f, err := CircuitBreaker(BreakerConfig{Name: "p", Breakers: resBreakers(nil)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := f(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	defer func() {
		if p := recover(); p != "boom" {
			t.Errorf("recovered %v, want boom", p)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestBreakersConfig(t *testing.T) {
	t.Parallel()
	off, on := false, true
	bs := &Breakers{
		Configs: map[string]BreakerProperties{
			"default":  {SlidingWindowSize: 20, FailureRateThreshold: 40},
			"shared":   {MinimumNumberOfCalls: 5, WaitDurationInOpenState: 10 * time.Second},
			"strict":   {BaseConfig: "shared", FailureRateThreshold: 10},
			"payments": {SlidingWindowType: "time-based"},
		},
		Instances: map[string]BreakerProperties{
			"orders":    {BaseConfig: "strict", SlidingWindowSize: 10},
			"inventory": {PermittedNumberOfCallsInHalfOpenState: 3, AutomaticTransitionFromOpenToHalfOpenEnabled: &on},
		},
		TimeLimiterConfigs: map[string]TimeLimiterProperties{
			"default": {TimeoutDuration: 3 * time.Second},
			"long":    {TimeoutDuration: time.Minute, CancelRunningFuture: &off},
		},
		TimeLimiterInstances:  map[string]TimeLimiterProperties{"orders": {BaseConfig: "long"}},
		DisableTimeLimiterMap: map[string]bool{"inventory": true},
	}
	base := resilience4jDefaults()
	base.SlidingWindowSize, base.FailureRateThreshold, base.TimeoutDuration = 20, 40, 3*time.Second
	tests := []struct {
		name string
		edit func(c *Resilience4jConfig)
	}{
		{"unknown", func(c *Resilience4jConfig) {}},
		{"orders", func(c *Resilience4jConfig) {
			c.MinimumNumberOfCalls, c.WaitDurationInOpenState, c.FailureRateThreshold, c.SlidingWindowSize = 5, 10*time.Second, 10, 10
			c.TimeoutDuration, c.CancelRunningFuture = time.Minute, false
		}},
		{"inventory", func(c *Resilience4jConfig) {
			c.PermittedNumberOfCallsInHalfOpenState, c.AutomaticTransitionFromOpenToHalfOpenEnabled = 3, true
			c.TimeLimiterEnabled = false
		}},
		{"shared", func(c *Resilience4jConfig) { c.MinimumNumberOfCalls, c.WaitDurationInOpenState = 5, 10*time.Second }},
		{"payments", func(c *Resilience4jConfig) { c.SlidingWindowType = "TIME_BASED" }},
	}
	for _, tt := range tests {
		want := base
		tt.edit(&want)
		if got := bs.Config(tt.name); got != want {
			t.Errorf("Config(%q) =\n%+v\nwant\n%+v", tt.name, got, want)
		}
	}
	if got, want := (&Breakers{}).Config("x"), resilience4jDefaults(); got != want {
		t.Errorf("zero Breakers: Config(\"x\") =\n%+v\nwant Resilience4j's defaults\n%+v", got, want)
	}
	if err := bs.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestBreakersValidate(t *testing.T) {
	t.Parallel()
	bs := &Breakers{
		Configs: map[string]BreakerProperties{
			"default": {FailureRateThreshold: 150, SlidingWindowType: "SLIDING"},
			"a":       {BaseConfig: "b"},
			"b":       {BaseConfig: "a"},
		},
		Instances: map[string]BreakerProperties{
			"orders": {BaseConfig: "missing", MinimumNumberOfCalls: -1, WaitDurationInOpenState: time.Microsecond},
		},
		TimeLimiterInstances: map[string]TimeLimiterProperties{"orders": {TimeoutDuration: -time.Second}},
	}
	want := strings.Join([]string{
		`resilience4j.circuitbreaker.configs.a.baseConfig: "b" leads back to "a"`,
		`resilience4j.circuitbreaker.configs.b.baseConfig: "a" leads back to "b"`,
		`resilience4j.circuitbreaker.configs.default.slidingWindowType: "SLIDING" is not a window type; want COUNT_BASED or TIME_BASED`,
		`resilience4j.circuitbreaker.configs.default.failureRateThreshold: 150 is out of range; want a percentage in (0, 100]`,
		`resilience4j.circuitbreaker.instances.orders.minimumNumberOfCalls: -1 is below 1`,
		`resilience4j.circuitbreaker.instances.orders.waitDurationInOpenState: 1µs is below 1ms`,
		`resilience4j.circuitbreaker.instances.orders.baseConfig: "missing" is not in resilience4j.circuitbreaker.configs; known: a, b, default`,
		`resilience4j.timelimiter.instances.orders.timeoutDuration: -1s is negative`,
	}, "\n")
	if err := bs.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() =\n%v\nwant\n%s", err, want)
	}
	_, err := CircuitBreaker(BreakerConfig{Name: "orders", Breakers: bs}, nil)
	if want := "breaker \"orders\": slidingWindowType: \"SLIDING\" is not a window type; want COUNT_BASED or TIME_BASED\n" +
		"minimumNumberOfCalls: -1 is below 1\n" +
		"failureRateThreshold: 150 is out of range; want a percentage in (0, 100]\n" +
		"waitDurationInOpenState: 1µs is below 1ms\n" +
		"timeoutDuration: -1s is negative"; err == nil || err.Error() != want {
		t.Errorf("CircuitBreaker on an invalid config: error = %v, want %q", err, want)
	}
}

func TestCircuitBreakerArgumentErrors(t *testing.T) {
	t.Parallel()
	fb := http.NotFoundHandler()
	tests := []struct {
		name     string
		cfg      BreakerConfig
		fallback http.Handler
		want     string
	}{
		{"no name", BreakerConfig{}, nil, "name is empty and the route has no id; want a breaker name"},
		{"http fallback", BreakerConfig{Name: "x", FallbackURI: "http://example.com"}, fb, `fallbackUri "http://example.com": only forward: URIs are supported, e.g. forward:/fallback`},
		{"both fallbacks", BreakerConfig{Name: "x", FallbackURI: "forward:/f", FallbackStatus: "503"}, fb, "fallbackUri and fallbackStatus are both set; want one of them"},
		{"body without status", BreakerConfig{Name: "x", FallbackBody: "down"}, nil, "fallbackBody and fallbackContentType need fallbackStatus"},
		{"bad status code", BreakerConfig{Name: "x", StatusCodes: []string{"5OO"}}, nil, `statusCodes: status "5OO" is not an HTTP status code; want a number from 100 to 999`},
	}
	for _, tt := range tests {
		_, err := CircuitBreaker(tt.cfg, tt.fallback)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: CircuitBreaker(%+v) error = %v, want %q", tt.name, tt.cfg, err, tt.want)
		}
	}
}

// CircuitBreaker around Retry around the proxy: retries happen inside one call.
func TestCircuitBreakerAroundRetry(t *testing.T) {
	t.Parallel()
	bs := resBreakers(map[string]BreakerProperties{"r": {SlidingWindowSize: 1, MinimumNumberOfCalls: 1}})
	cb, err := CircuitBreaker(BreakerConfig{Name: "r", StatusCodes: []string{"502"}, Breakers: bs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	retry, err := Retry(RetryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	live := resServer(t, &resBackend{statuses: []int{200}})
	url := resServer(t, resChain(resProxy(t, resDeadAddr(t), live), cb, retry))
	for i := range 3 {
		if res := resDo(t, "GET", url, nil); res.status != 200 {
			t.Errorf("GET %d = %d %q, want 200 after a retry on the live instance", i+1, res.status, res.body)
		}
	}
	if s := resState(bs, "r"); s != "CLOSED" {
		t.Errorf("state = %s, want CLOSED: Retry hid the connect failures", s)
	}
}

// Many concurrent calls that fail, time out, stream or succeed, for the race detector.
func TestCircuitBreakerConcurrent(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	backend := resServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 4 {
		case 0:
			w.WriteHeader(500)
			io.WriteString(w, strings.Repeat("e", 100<<10)) // more than the drain limit
		case 1:
			select {
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
		case 2:
			for range 3 {
				io.WriteString(w, "chunk;")
				w.(http.Flusher).Flush()
			}
		default:
			io.Copy(w, r.Body)
		}
	}))
	bs := resBreakers(map[string]BreakerProperties{"c": {SlidingWindowSize: 10, MinimumNumberOfCalls: 10,
		FailureRateThreshold: 90, WaitDurationInOpenState: 20 * time.Millisecond}})
	bs.TimeLimiterConfigs = map[string]TimeLimiterProperties{"default": {TimeoutDuration: 30 * time.Millisecond}}
	fb := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(299)
	})
	f, err := CircuitBreaker(BreakerConfig{Name: "c", FallbackURI: "forward:/fb", StatusCodes: []string{"500"}, Breakers: bs}, fb)
	if err != nil {
		t.Fatal(err)
	}
	url := resServer(t, resChain(resProxy(t, backend), f))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				res := resDo(t, "POST", url, strings.NewReader("body"))
				if res.status != 200 && res.status != 299 {
					t.Errorf("POST = %d %q, want 200 or the fallback's 299", res.status, res.body)
				}
			}
		})
	}
	wg.Wait()
}

// resNopWriter is a ResponseWriter that keeps nothing, for benchmarks.
type resNopWriter struct{ h http.Header }

func (w *resNopWriter) Header() http.Header         { return w.h }
func (w *resNopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *resNopWriter) WriteHeader(int)             {}

func BenchmarkCircuitBreakerClosed(b *testing.B) {
	for _, tl := range []bool{true, false} {
		b.Run(fmt.Sprintf("timeLimiter=%v", tl), func(b *testing.B) {
			bs := resBreakers(nil)
			bs.DisableTimeLimiter = !tl
			f, err := CircuitBreaker(BreakerConfig{Name: "bench", StatusCodes: []string{"500"}, Breakers: bs}, nil)
			if err != nil {
				b.Fatal(err)
			}
			h := f(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
			r := httptest.NewRequest("GET", "/orders/42", nil)
			w := &resNopWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}
