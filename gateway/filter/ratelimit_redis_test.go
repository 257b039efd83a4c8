package filter

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-dev/switchboard/internal/testenv"
)

// resRedisClient returns a client for addr, set up as the gateway should set it up:
// context deadlines respected, no retries.
func resRedisClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// resRedisLimiter returns a limiter on addr whose script sees the clock now (seconds),
// or the server's clock when now is nil.
func resRedisLimiter(t testing.TB, addr string, opts RedisLimiterOptions, now *atomic.Int64) *RedisLimiter {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := NewRedisLimiter(resRedisClient(t, addr), opts)
	if now != nil {
		l.now = func() string { return strconv.FormatInt(now.Load(), 10) }
	}
	return l
}

// Two gateway instances (two limiters, two connections) share one budget, and the keys
// are Spring's.
func TestRedisLimiterSharedBudget(t *testing.T) {
	t.Parallel()
	addr := testenv.StartRedis(t)
	var now atomic.Int64
	now.Store(1_700_000_000)
	a := resRedisLimiter(t, addr, RedisLimiterOptions{}, &now)
	b := resRedisLimiter(t, addr, RedisLimiterOptions{}, &now)
	cfg := RateLimitConfig{ReplenishRate: 1, BurstCapacity: 5}
	ctx := context.Background()
	allowed := 0
	for i := range 10 {
		l := a
		if i%2 == 1 {
			l = b
		}
		d, err := l.Allow(ctx, "orders", "alice", cfg)
		if err != nil {
			t.Fatalf("Allow %d: %v", i+1, err)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 5 {
		t.Errorf("two limiters allowed %d of 10 requests, want 5: the burst is shared", allowed)
	}

	rc := resRedisClient(t, addr)
	keys, err := rc.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := []string{"request_rate_limiter.{orders.alice}.timestamp", "request_rate_limiter.{orders.alice}.tokens"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys in Redis = %q, want Spring's %q", keys, want)
	}
	if v, _ := rc.Get(ctx, want[1]).Result(); v != "0" {
		t.Errorf("tokens = %q, want \"0\"", v)
	}
	if v, _ := rc.Get(ctx, want[0]).Result(); v != "1700000000" {
		t.Errorf("timestamp = %q, want \"1700000000\"", v)
	}
	if ttl, _ := rc.TTL(ctx, want[1]).Result(); ttl != 10*time.Second {
		t.Errorf("TTL of tokens = %v, want 10s (2 × burstCapacity / replenishRate)", ttl)
	}
}

// The script follows Spring's semantics step by step (spec §4.2).
func TestRedisLimiterScript(t *testing.T) {
	t.Parallel()
	addr := testenv.StartRedis(t)
	var now atomic.Int64
	l := resRedisLimiter(t, addr, RedisLimiterOptions{}, &now)
	rc := resRedisClient(t, addr)
	ctx := context.Background()
	type step struct {
		at            int64 // seconds
		cfg           RateLimitConfig
		wantAllowed   bool
		wantRemaining int64
	}
	rate2 := RateLimitConfig{ReplenishRate: 2, BurstCapacity: 4}
	steps := []step{
		{100, rate2, true, 3}, // a missing key is a full bucket
		{100, rate2, true, 2},
		{100, rate2, true, 1},
		{100, rate2, true, 0},
		{100, rate2, false, 0},
		{101, rate2, true, 1}, // whole seconds: two tokens at the boundary
		{101, rate2, true, 0},
		{105, RateLimitConfig{ReplenishRate: 2, BurstCapacity: 4, RequestedTokens: 3}, true, 1}, // capped at the burst
		{105, RateLimitConfig{ReplenishRate: 2, BurstCapacity: 4, RequestedTokens: 3}, false, 1},
		{99, rate2, true, 0}, // a clock going back refills nothing
	}
	for i, s := range steps {
		now.Store(s.at)
		d, err := l.Allow(ctx, "r", "k", s.cfg)
		if err != nil || d.Allowed != s.wantAllowed || d.Remaining != s.wantRemaining {
			t.Errorf("step %d (t=%d): Allow = %+v, %v; want allowed %v, remaining %d", i, s.at, d, err, s.wantAllowed, s.wantRemaining)
		}
	}
	// A denied request refreshes the timestamp (and TTL) without taking tokens.
	now.Store(200)
	l.Allow(ctx, "r", "deny", RateLimitConfig{ReplenishRate: 1, BurstCapacity: 1})
	now.Store(200)
	l.Allow(ctx, "r", "deny", RateLimitConfig{ReplenishRate: 1, BurstCapacity: 1})
	if v, _ := rc.Get(ctx, "request_rate_limiter.{r.deny}.timestamp").Result(); v != "200" {
		t.Errorf("timestamp after a denied request = %q, want 200", v)
	}

	// Without an injected clock the script reads the server's TIME, as Spring's does.
	srv := resRedisLimiter(t, addr, RedisLimiterOptions{}, nil)
	cfg := RateLimitConfig{ReplenishRate: 1, BurstCapacity: 2}
	for i, want := range []bool{true, true} {
		if d, err := srv.Allow(ctx, "r", "server-clock", cfg); err != nil || d.Allowed != want {
			t.Errorf("server clock: Allow %d = %+v, %v; want allowed %v", i+1, d, err, want)
		}
	}
	ts, _ := rc.Get(ctx, "request_rate_limiter.{r.server-clock}.timestamp").Int64()
	if now := time.Now().Unix(); ts < now-5 || ts > now+5 {
		t.Errorf("timestamp with the server clock = %d, want about %d", ts, now)
	}

	// After SCRIPT FLUSH (or a restart) EVALSHA fails with NOSCRIPT and the script is
	// loaded again.
	if err := rc.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Allow(ctx, "r", "after-flush", cfg); err != nil {
		t.Errorf("Allow after SCRIPT FLUSH: %v", err)
	}
}

// When Redis goes away the limiter fails open, counts it, and the filter says -1.
func TestRedisLimiterFailOpen(t *testing.T) {
	t.Parallel()
	addr := testenv.StartRedis(t)
	l := resRedisLimiter(t, addr, RedisLimiterOptions{}, nil)
	f, err := RequestRateLimiter(RateLimitConfig{RouteID: "orders", ReplenishRate: 1, BurstCapacity: 1, KeyResolver: "remoteAddr"}, l)
	if err != nil {
		t.Fatal(err)
	}
	h := f(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	do := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		return w
	}
	if w := do(); w.Code != 200 || w.Header().Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("first request = %d, remaining %q; want 200, 0", w.Code, w.Header().Get("X-RateLimit-Remaining"))
	}
	if w := do(); w.Code != 429 {
		t.Fatalf("second request = %d, want 429", w.Code)
	}

	resRedisClient(t, addr).ShutdownNoSave(context.Background()) // kills the server; the reply is a closed connection
	for i := range 3 {
		if w := do(); w.Code != 200 || w.Header().Get("X-RateLimit-Remaining") != "-1" {
			t.Errorf("request %d with Redis down = %d, remaining %q; want 200, -1", i+1, w.Code, w.Header().Get("X-RateLimit-Remaining"))
		}
	}
	if l.FailOpens() != 3 || l.Errors() != 3 {
		t.Errorf("FailOpens() = %d, Errors() = %d; want 3, 3", l.FailOpens(), l.Errors())
	}
}

func TestRedisLimiterFailClosed(t *testing.T) {
	t.Parallel()
	l := resRedisLimiter(t, resDeadAddr(t)[len("http://"):], RedisLimiterOptions{FailClosed: true}, nil)
	f, err := RequestRateLimiter(RateLimitConfig{RouteID: "orders", ReplenishRate: 1, KeyResolver: "remoteAddr"}, l)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	f(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 503 || w.Header().Get("X-RateLimit-Remaining") != "-1" {
		t.Errorf("request with Redis down and fail-closed = %d, remaining %q; want 503, -1", w.Code, w.Header().Get("X-RateLimit-Remaining"))
	}
	if l.FailOpens() != 0 || l.Errors() != 1 {
		t.Errorf("FailOpens() = %d, Errors() = %d; want 0, 1", l.FailOpens(), l.Errors())
	}
}

// A Redis that accepts connections but never answers costs each request the limiter's
// Timeout, not the client's.
func TestRedisLimiterTimeout(t *testing.T) {
	t.Parallel()
	addr := testenv.StartRedis(t)
	l := resRedisLimiter(t, addr, RedisLimiterOptions{Timeout: 50 * time.Millisecond}, nil)
	cfg := RateLimitConfig{ReplenishRate: 1}
	if _, err := l.Allow(context.Background(), "r", "k", cfg); err != nil {
		t.Fatalf("Allow: %v", err)
	}
	// Connections stay open and commands wait.
	if err := resRedisClient(t, addr).ClientPause(context.Background(), 2*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d, err := l.Allow(context.Background(), "r", "k", cfg)
	if err != nil || !d.Allowed || d.Remaining != -1 {
		t.Errorf("Allow with Redis paused = %+v, %v; want a fail-open", d, err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("Allow with Redis paused took %v, want about 50ms", el)
	}
}

func BenchmarkRedisLimiterAllow(b *testing.B) {
	addr := testenv.StartRedis(b)
	l := resRedisLimiter(b, addr, RedisLimiterOptions{}, nil)
	cfg := RateLimitConfig{ReplenishRate: 1 << 20, BurstCapacity: 1 << 20}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		l.Allow(ctx, "orders", "203.0.113.7", cfg)
	}
}
