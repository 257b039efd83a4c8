package filter

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// resClock is a hand-moved clock for a LocalLimiter.
type resClock struct{ now atomic.Int64 }

func (c *resClock) advance(d time.Duration) { c.now.Add(int64(d)) }
func (c *resClock) read() time.Duration     { return time.Duration(c.now.Load()) }
func resLocal(maxKeys int, c *resClock) *LocalLimiter {
	l := NewLocalLimiter(maxKeys)
	l.now = c.read
	return l
}

func TestLocalLimiterBucket(t *testing.T) {
	t.Parallel()
	type step struct {
		advance       time.Duration
		route, key    string
		wantAllowed   bool
		wantRemaining int64
	}
	tests := []struct {
		name  string
		cfg   RateLimitConfig
		steps []step
	}{
		{"burst, then one per second", RateLimitConfig{ReplenishRate: 1, BurstCapacity: 3}, []step{
			{0, "r", "k", true, 2},
			{0, "r", "k", true, 1},
			{0, "r", "k", true, 0},
			{0, "r", "k", false, 0},
			{500 * time.Millisecond, "r", "k", false, 0}, // half a token
			{500 * time.Millisecond, "r", "k", true, 0},
			{10 * time.Second, "r", "k", true, 2}, // refilled up to the burst, not beyond
		}},
		{"keys and routes have their own buckets", RateLimitConfig{ReplenishRate: 1, BurstCapacity: 1}, []step{
			{0, "r", "alice", true, 0},
			{0, "r", "alice", false, 0},
			{0, "r", "bob", true, 0},
			{0, "other", "alice", true, 0},
		}},
		{"requested tokens", RateLimitConfig{ReplenishRate: 2, BurstCapacity: 4, RequestedTokens: 3}, []step{
			{0, "r", "k", true, 1},
			{0, "r", "k", false, 1}, // a denied request takes nothing
			{time.Second, "r", "k", true, 0},
		}},
		{"defaults: burst 1, one token", RateLimitConfig{ReplenishRate: 1}, []step{
			{0, "r", "k", true, 0},
			{999 * time.Millisecond, "r", "k", false, 0},
			{time.Millisecond, "r", "k", true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &resClock{}
			l := resLocal(0, c)
			for i, s := range tt.steps {
				c.advance(s.advance)
				d, err := l.Allow(context.Background(), s.route, s.key, tt.cfg)
				if err != nil || d.Allowed != s.wantAllowed || d.Remaining != s.wantRemaining {
					t.Errorf("step %d: Allow(%q, %q) = %+v, %v; want allowed %v, remaining %d", i, s.route, s.key, d, err, s.wantAllowed, s.wantRemaining)
				}
			}
		})
	}
}

func TestLocalLimiterBoundsMemory(t *testing.T) {
	t.Parallel()
	c := &resClock{}
	l := resLocal(640, c) // 10 per shard
	cfg := RateLimitConfig{ReplenishRate: 1, BurstCapacity: 1}
	for i := range 10000 {
		l.Allow(context.Background(), "r", strconv.Itoa(i), cfg)
	}
	if n := l.Len(); n > 640 {
		t.Errorf("Len() after 10000 keys = %d, want at most 640", n)
	}

	// Within a shard the least recently used bucket goes first.
	s := &resShard{buckets: map[resBucketKey]*resBucket{}, max: 2}
	a, b := s.add(resBucketKey{"r", "a"}), s.add(resBucketKey{"r", "b"})
	a.tokens, b.tokens = 1, 2
	s.touch(a)
	s.add(resBucketKey{"r", "c"})
	if _, ok := s.buckets[resBucketKey{"r", "b"}]; ok {
		t.Error("b is still there; it was the least recently used")
	}
	if got := s.buckets[resBucketKey{"r", "a"}]; got == nil || got.tokens != 1 {
		t.Errorf("a = %+v, want it kept with its tokens", got)
	}
	if len(s.buckets) != 2 || s.head.k.key != "c" || s.tail.k.key != "a" {
		t.Errorf("shard holds %d buckets, head %q, tail %q; want 2, c, a", len(s.buckets), s.head.k.key, s.tail.k.key)
	}
}

func TestLocalLimiterAllowDoesNotAllocate(t *testing.T) {
	l := NewLocalLimiter(0)
	cfg := RateLimitConfig{ReplenishRate: 1000, BurstCapacity: 1000}
	route, key := "orders", "203.0.113.7"
	l.Allow(context.Background(), route, key, cfg)
	if n := testing.AllocsPerRun(1000, func() { l.Allow(context.Background(), route, key, cfg) }); n != 0 {
		t.Errorf("Allow for a known key allocates %v times, want 0", n)
	}
}

func TestRequestRateLimiter(t *testing.T) {
	t.Parallel()
	c := &resClock{}
	l := resLocal(0, c)
	f, err := RequestRateLimiter(RateLimitConfig{RouteID: "orders", ReplenishRate: 1, BurstCapacity: 2, KeyResolver: "header:X-Api-Key"}, l)
	if err != nil {
		t.Fatal(err)
	}
	var hits int
	h := f(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	do := func(key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/orders", nil)
		if key != "" {
			r.Header.Set("X-Api-Key", key)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i, want := range []struct {
		code      int
		remaining string
	}{{200, "1"}, {200, "0"}, {429, "0"}} {
		w := do("k1")
		if w.Code != want.code || w.Header().Get("X-RateLimit-Remaining") != want.remaining {
			t.Errorf("request %d = %d, remaining %q; want %d, %q", i+1, w.Code, w.Header().Get("X-RateLimit-Remaining"), want.code, want.remaining)
		}
		for k, v := range map[string]string{"X-RateLimit-Replenish-Rate": "1", "X-RateLimit-Burst-Capacity": "2", "X-RateLimit-Requested-Tokens": "1"} {
			if got := w.Header().Get(k); got != v {
				t.Errorf("request %d: %s = %q, want %q", i+1, k, got, v)
			}
		}
	}
	if hits != 2 {
		t.Errorf("backend hits = %d, want 2", hits)
	}
	if w := do(""); w.Code != 403 || w.Header().Get("X-RateLimit-Remaining") != "" {
		t.Errorf("request without a key = %d (remaining %q), want 403 without headers", w.Code, w.Header().Get("X-RateLimit-Remaining"))
	}
	c.advance(time.Second)
	if w := do("k1"); w.Code != 200 {
		t.Errorf("request a second later = %d, want 200", w.Code)
	}

	// deny-empty-key false lets keyless requests through unlimited; other statuses.
	no := false
	f, err = RequestRateLimiter(RateLimitConfig{RouteID: "orders", ReplenishRate: 1, KeyResolver: "remoteAddr",
		DenyEmptyKey: &no, StatusCode: "SERVICE_UNAVAILABLE", IncludeHeaders: &no}, l)
	if err != nil {
		t.Fatal(err)
	}
	h = f(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "198.51.100.1:4242"
	for i, want := range []int{200, 503} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want || len(w.Header()) != 0 {
			t.Errorf("request %d = %d with headers %v, want %d without headers", i+1, w.Code, w.Header(), want)
		}
	}
	r.RemoteAddr = ""
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("request without a remote address = %d, want 200 (deny-empty-key false)", w.Code)
	}
}

func TestKeyResolvers(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/p?a=1&user%5Fid=al+ice&user_id=second&b", nil)
	r.RemoteAddr = "[2001:db8::1]:443"
	r.Header.Set("X-Api-Key", "key-1")
	sub := func(*http.Request) string { return "subject-7" }
	cfg := RateLimitConfig{JWTSubject: sub, APIKeyID: func(*http.Request) string { return "apikey-3" }}
	tests := []struct{ resolver, want string }{
		{"", ""}, // principal without a principal hook: empty, hence 403
		{"#{@principalNameKeyResolver}", ""},
		{"remoteAddr", "2001:db8::1"},
		{"#{@remoteAddr}", "2001:db8::1"},
		{"header:x-api-key", "key-1"},
		{"header:X-Missing", ""},
		{"query:user_id", "al ice"},
		{"query:a", "1"},
		{"query:b", ""},
		{"apiKey", "apikey-3"},
		{"jwtSubject", "subject-7"},
	}
	for _, tt := range tests {
		c := cfg
		c.KeyResolver = tt.resolver
		fn, err := resKeyResolver(c)
		if err != nil {
			t.Errorf("resKeyResolver(%q): %v", tt.resolver, err)
			continue
		}
		if got := fn(r); got != tt.want {
			t.Errorf("key resolver %q = %q, want %q", tt.resolver, got, tt.want)
		}
	}
	c := cfg
	c.KeyResolver, c.Principal = "principal", sub
	if fn, _ := resKeyResolver(c); fn(r) != "subject-7" {
		t.Errorf("principal with a hook = %q, want subject-7", fn(r))
	}
}

func TestRequestRateLimiterArgumentErrors(t *testing.T) {
	t.Parallel()
	l := NewLocalLimiter(1)
	tests := []struct {
		name string
		cfg  RateLimitConfig
		want string
	}{
		{"no rate", RateLimitConfig{}, "replenishRate is not set; want at least 1 (tokens per second)"},
		{"negative rate", RateLimitConfig{ReplenishRate: -1}, "replenishRate -1 is below 1"},
		{"burst below rate", RateLimitConfig{ReplenishRate: 10, BurstCapacity: 5}, "burstCapacity 5 is below replenishRate 10"},
		{"default burst below rate", RateLimitConfig{ReplenishRate: 10}, "burstCapacity 1 (the default) is below replenishRate 10; set burstCapacity"},
		{"requested above burst", RateLimitConfig{ReplenishRate: 1, BurstCapacity: 2, RequestedTokens: 3}, "requestedTokens 3 is above burstCapacity 2; no request would ever pass"},
		{"unknown resolver", RateLimitConfig{ReplenishRate: 1, KeyResolver: "#{@userKeyResolver}"}, `key-resolver "#{@userKeyResolver}" is unknown; want principal, remoteAddr, header:NAME, query:NAME, apiKey or jwtSubject`},
		{"bad header", RateLimitConfig{ReplenishRate: 1, KeyResolver: "header:"}, `key-resolver "header:": "" is not a header name`},
		{"bad status", RateLimitConfig{ReplenishRate: 1, StatusCode: "SLOW_DOWN"}, `status-code: status "SLOW_DOWN" is not a Spring HttpStatus name; want a code such as 404 or a name such as NOT_FOUND, BAD_GATEWAY, TOO_MANY_REQUESTS`},
		{"all at once", RateLimitConfig{ReplenishRate: 10, BurstCapacity: 5, KeyResolver: "user"}, "burstCapacity 5 is below replenishRate 10\nkey-resolver \"user\" is unknown; want principal, remoteAddr, header:NAME, query:NAME, apiKey or jwtSubject"},
	}
	for _, tt := range tests {
		_, err := RequestRateLimiter(tt.cfg, l)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: RequestRateLimiter(%+v) error = %v, want %q", tt.name, tt.cfg, err, tt.want)
		}
	}
	if _, err := RequestRateLimiter(RateLimitConfig{ReplenishRate: 1}, nil); err == nil {
		t.Error("RequestRateLimiter without a limiter: no error")
	}
}

func BenchmarkLocalLimiterAllow(b *testing.B) {
	l := NewLocalLimiter(0)
	cfg := RateLimitConfig{ReplenishRate: 1 << 30, BurstCapacity: 1 << 30}
	ctx := context.Background()
	b.Run("one key", func(b *testing.B) {
		l.Allow(ctx, "orders", "203.0.113.7", cfg)
		b.ReportAllocs()
		for b.Loop() {
			l.Allow(ctx, "orders", "203.0.113.7", cfg)
		}
	})
	b.Run("parallel 1024 keys", func(b *testing.B) {
		keys := make([]string, 1024)
		for i := range keys {
			keys[i] = fmt.Sprintf("10.0.%d.%d", i/256, i%256)
			l.Allow(ctx, "orders", keys[i], cfg)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				l.Allow(ctx, "orders", keys[i%len(keys)], cfg)
				i++
			}
		})
	})
}
