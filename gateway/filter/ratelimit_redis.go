package filter

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed ratelimit.lua
var resRedisScriptSource string

// resRedisScript is the token bucket; it is loaded into Redis on first use.
var resRedisScript = redis.NewScript(resRedisScriptSource)

// RedisLimiter keeps token buckets in Redis, so every gateway instance using the same
// Redis shares one budget per route and key. It runs Spring Cloud Gateway's script, with
// Spring's keys, request_rate_limiter.{ROUTE.KEY}.tokens and .timestamp, so Switchboard
// and Spring gateways can share limits too. Buckets refill in whole seconds of the Redis
// server's clock, and expire after 2 × burstCapacity / replenishRate seconds idle.
//
// When Redis fails (unreachable, slow beyond Timeout, an error), the limiter fails open
// by default: it allows the request, with X-RateLimit-Remaining -1 as in Spring, counts it
// (FailOpens), and logs at most once per LogInterval. With FailClosed it returns the
// error instead and RequestRateLimiter answers 503.
//
// A RedisLimiter is safe for concurrent use.
type RedisLimiter struct {
	client     redis.Scripter
	failClosed bool
	timeout    time.Duration
	logEvery   time.Duration
	log        *slog.Logger
	now        func() string // the script's "now" argument; tests set it

	errors    atomic.Uint64
	failOpens atomic.Uint64
	lastLog   atomic.Int64 // unix nanoseconds of the last failure logged
}

// RedisLimiterOptions tune a RedisLimiter. The zero value is Switchboard's default.
type RedisLimiterOptions struct {
	// FailClosed denies requests when Redis fails, with 503, instead of allowing them.
	FailClosed bool
	// Timeout bounds each Redis call. Default 100ms. The client must respect context
	// deadlines (redis.Options.ContextTimeoutEnabled) for it to apply to reads and
	// writes; few or no client retries (redis.Options.MaxRetries) keep an outage cheap.
	Timeout time.Duration
	// LogInterval is the least time between two logged failures. Default 1 minute.
	LogInterval time.Duration
	// Logger gets the failures. Nil means slog.Default().
	Logger *slog.Logger
}

// NewRedisLimiter returns a limiter that keeps its buckets in Redis through client
// (a *redis.Client, *redis.ClusterClient, *redis.Ring or redis.UniversalClient).
func NewRedisLimiter(client redis.Scripter, opts RedisLimiterOptions) *RedisLimiter {
	l := &RedisLimiter{
		client:     client,
		failClosed: opts.FailClosed,
		timeout:    opts.Timeout,
		logEvery:   opts.LogInterval,
		log:        opts.Logger,
	}
	if l.timeout <= 0 {
		l.timeout = 100 * time.Millisecond
	}
	if l.logEvery <= 0 {
		l.logEvery = time.Minute
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	return l
}

// Allow runs the token-bucket script for key on routeID. A route id of "" gives Spring's
// older keys without it, request_rate_limiter.{KEY}.tokens.
func (l *RedisLimiter) Allow(ctx context.Context, routeID, key string, cfg RateLimitConfig) (Decision, error) {
	rate, burst, requested := cfg.limits()
	id := key
	if routeID != "" {
		id = routeID + "." + key
	}
	prefix := "request_rate_limiter.{" + id
	keys := []string{prefix + "}.tokens", prefix + "}.timestamp"}
	now := ""
	if l.now != nil {
		now = l.now()
	}
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	allowed, tokens, err := l.run(cctx, keys, rate, burst, now, requested)
	if err == nil {
		return Decision{Allowed: allowed, Remaining: tokens}, nil
	}
	if ctx.Err() != nil {
		return Decision{Remaining: -1}, ctx.Err() // the client went away: not Redis's fault
	}
	l.errors.Add(1)
	if l.failClosed {
		l.logFailure(err, "denying requests")
		return Decision{Remaining: -1}, fmt.Errorf("rate limiter: redis: %w", err)
	}
	l.failOpens.Add(1)
	l.logFailure(err, "allowing requests")
	return Decision{Allowed: true, Remaining: -1}, nil
}

// run calls the script by its SHA and loads it when Redis does not have it (after a
// restart or a SCRIPT FLUSH).
func (l *RedisLimiter) run(ctx context.Context, keys []string, args ...any) (allowed bool, tokens int64, err error) {
	res, err := resRedisScript.EvalSha(ctx, l.client, keys, args...).Result()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if err = resRedisScript.Load(ctx, l.client).Err(); err == nil {
			res, err = resRedisScript.EvalSha(ctx, l.client, keys, args...).Result()
		}
	}
	if err != nil {
		return false, 0, err
	}
	v, ok := res.([]any)
	if !ok || len(v) != 2 {
		return false, 0, fmt.Errorf("unexpected script result %v", res)
	}
	a, ok1 := v[0].(int64)
	t, ok2 := v[1].(int64)
	if !ok1 || !ok2 {
		return false, 0, fmt.Errorf("unexpected script result %v", res)
	}
	return a == 1, t, nil
}

func (l *RedisLimiter) logFailure(err error, what string) {
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if last != 0 && now-last < int64(l.logEvery) || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn("rate limiter cannot use redis; "+what,
		"err", err, "errors", l.errors.Load(), "fail_opens", l.failOpens.Load(), "next_log_within", l.logEvery)
}

// Errors returns how many Redis calls have failed.
func (l *RedisLimiter) Errors() uint64 { return l.errors.Load() }

// FailOpens returns how many requests were allowed because Redis failed.
func (l *RedisLimiter) FailOpens() uint64 { return l.failOpens.Load() }
