package filter

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A KeyFunc returns a request's rate-limit key, or "" when it has none.
type KeyFunc func(r *http.Request) string

// RateLimitConfig holds RequestRateLimiter's arguments, as spelled in application.yml
// (the limiter's under redis-rate-limiter.*). Limiters read the bucket fields; the rest is
// the filter's.
type RateLimitConfig struct {
	// RouteID is the id of the route the filter is on; the config loader sets it. Each
	// route has its own buckets, as in Spring, also when the filter is a default filter.
	RouteID string

	ReplenishRate   int // replenishRate: tokens added per second; at least 1
	BurstCapacity   int // burstCapacity: bucket size; at least ReplenishRate; 0 means Spring's default, 1
	RequestedTokens int // requestedTokens: tokens one request costs; 0 means 1

	// KeyResolver says whose bucket a request takes from (key-resolver):
	//   principal     the authenticated principal's name (Spring's default resolver)
	//   remoteAddr    the client's IP address, from http.Request.RemoteAddr
	//   header:NAME   the first value of request header NAME
	//   query:NAME    the first value of query parameter NAME
	//   apiKey        the id of the API key the request presented
	//   jwtSubject    the subject of the request's validated JWT
	// Spring's bean references work too: #{@principalNameKeyResolver}, or #{@NAME} for a
	// name above. Empty means principal.
	KeyResolver string
	// Principal, APIKeyID and JWTSubject are the hooks the principal, apiKey and
	// jwtSubject resolvers call; the filters that authenticate a request provide them.
	// A nil hook gives every request an empty key.
	Principal, APIKeyID, JWTSubject KeyFunc

	// DenyEmptyKey refuses a request whose key is empty with EmptyKeyStatus
	// (deny-empty-key); otherwise it passes unlimited. Nil means true.
	DenyEmptyKey *bool
	// EmptyKeyStatus is the status for an empty key (empty-key-status), a code or an
	// HttpStatus name. Default 403 FORBIDDEN.
	EmptyKeyStatus string
	// StatusCode is the status for a request over the limit (status-code). Default 429
	// TOO_MANY_REQUESTS.
	StatusCode string

	// IncludeHeaders adds the X-RateLimit-* headers to every response, allowed or not
	// (gateway.redis-rate-limiter.include-headers). Nil means true.
	IncludeHeaders *bool
	// The headers' names (gateway.redis-rate-limiter.remaining-header,
	// replenish-rate-header, burst-capacity-header, requested-tokens-header). Empty
	// means X-RateLimit-Remaining, X-RateLimit-Replenish-Rate, X-RateLimit-Burst-Capacity,
	// X-RateLimit-Requested-Tokens.
	RemainingHeader, ReplenishRateHeader, BurstCapacityHeader, RequestedTokensHeader string
}

// A Limiter decides whether a request may take cfg.RequestedTokens from the bucket of
// key on route routeID. It is safe for concurrent use. An error means it could not
// decide; RequestRateLimiter then answers 503.
type Limiter interface {
	Allow(ctx context.Context, routeID, key string, cfg RateLimitConfig) (Decision, error)
}

// A Decision is a Limiter's answer.
type Decision struct {
	Allowed bool
	// Remaining is how many tokens the bucket holds after this request; -1 when the
	// limiter could not tell (Redis unreachable), as in Spring.
	Remaining int64
}

// resMaxBurst is the largest burstCapacity a Lua number holds exactly (2^53 − 1).
const resMaxBurst = 1<<53 - 1

// limits returns the bucket settings with defaults applied.
func (c *RateLimitConfig) limits() (rate, burst, requested int) {
	rate, burst, requested = c.ReplenishRate, c.BurstCapacity, c.RequestedTokens
	if burst == 0 {
		burst = 1
	}
	if requested == 0 {
		requested = 1
	}
	return rate, burst, requested
}

// RequestRateLimiter answers StatusCode (429) when the caller's bucket is empty, as
// Spring's RequestRateLimiter with its Redis limiter does. Buckets live in l: in process
// for one gateway (LocalLimiter), in Redis for several (RedisLimiter).
//
// Spring: no shortcut form; args key-resolver, deny-empty-key, empty-key-status,
// status-code, redis-rate-limiter.replenishRate, .burstCapacity, .requestedTokens.
func RequestRateLimiter(cfg RateLimitConfig, l Limiter) (Filter, error) {
	f, err := newRateLimit(cfg, l)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f.serve(next, w, r)
		})
	}, nil
}

type rateLimitFilter struct {
	cfg     RateLimitConfig // limits filled in
	l       Limiter
	key     KeyFunc
	deny    bool
	denyKey int // status for an empty key
	limited int // status over the limit
	headers bool

	remainingKey string
	fixed        [3]struct {
		key string
		val []string
	}
}

func newRateLimit(cfg RateLimitConfig, l Limiter) (*rateLimitFilter, error) {
	var errs []error
	if l == nil {
		errs = append(errs, errors.New("no limiter; want a local or a Redis limiter"))
	}
	rate, burst, requested := cfg.limits()
	switch {
	case cfg.ReplenishRate == 0:
		errs = append(errs, errors.New("replenishRate is not set; want at least 1 (tokens per second)"))
	case rate < 1:
		errs = append(errs, fmt.Errorf("replenishRate %d is below 1", rate))
	}
	switch {
	case burst < 0:
		errs = append(errs, fmt.Errorf("burstCapacity %d is negative", burst))
	case burst > resMaxBurst:
		errs = append(errs, fmt.Errorf("burstCapacity %d is above 2^53-1", burst))
	case rate >= 1 && burst < rate && cfg.BurstCapacity == 0:
		errs = append(errs, fmt.Errorf("burstCapacity 1 (the default) is below replenishRate %d; set burstCapacity", rate))
	case rate >= 1 && burst < rate:
		errs = append(errs, fmt.Errorf("burstCapacity %d is below replenishRate %d", burst, rate))
	}
	switch {
	case requested < 1:
		errs = append(errs, fmt.Errorf("requestedTokens %d is below 1", requested))
	case burst >= 0 && requested > burst:
		errs = append(errs, fmt.Errorf("requestedTokens %d is above burstCapacity %d; no request would ever pass", requested, burst))
	}
	cfg.BurstCapacity, cfg.RequestedTokens = burst, requested
	f := &rateLimitFilter{cfg: cfg, l: l, deny: cfg.DenyEmptyKey == nil || *cfg.DenyEmptyKey,
		denyKey: http.StatusForbidden, limited: http.StatusTooManyRequests,
		headers: cfg.IncludeHeaders == nil || *cfg.IncludeHeaders}
	var err error
	if f.key, err = resKeyResolver(cfg); err != nil {
		errs = append(errs, err)
	}
	for _, s := range []struct {
		arg, val string
		dst      *int
	}{
		{"empty-key-status", cfg.EmptyKeyStatus, &f.denyKey},
		{"status-code", cfg.StatusCode, &f.limited},
	} {
		if s.val == "" {
			continue
		}
		code, err := ParseStatus(s.val)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.arg, err))
		} else if code < 200 {
			errs = append(errs, fmt.Errorf("%s %q: an informational (1xx) status cannot end a response", s.arg, s.val))
		}
		*s.dst = code
	}
	header := func(arg, name, def string) string {
		if name == "" {
			return def
		}
		if name != strings.TrimSpace(name) || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) }) {
			errs = append(errs, fmt.Errorf("%s %q is not a header name", arg, name))
		}
		return http.CanonicalHeaderKey(name)
	}
	f.remainingKey = header("remaining-header", cfg.RemainingHeader, "X-Ratelimit-Remaining")
	for i, h := range []struct {
		arg, name, def string
		v              int
	}{
		{"replenish-rate-header", cfg.ReplenishRateHeader, "X-Ratelimit-Replenish-Rate", rate},
		{"burst-capacity-header", cfg.BurstCapacityHeader, "X-Ratelimit-Burst-Capacity", burst},
		{"requested-tokens-header", cfg.RequestedTokensHeader, "X-Ratelimit-Requested-Tokens", requested},
	} {
		f.fixed[i].key = header(h.arg, h.name, h.def)
		f.fixed[i].val = []string{strconv.Itoa(h.v)}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}

// resKeyResolvers are the names KeyResolver accepts, for errors.
const resKeyResolvers = "principal, remoteAddr, header:NAME, query:NAME, apiKey or jwtSubject"

// resKeyResolver builds the KeyFunc cfg.KeyResolver names.
func resKeyResolver(cfg RateLimitConfig) (KeyFunc, error) {
	name := strings.TrimSpace(cfg.KeyResolver)
	if ref, ok := strings.CutPrefix(name, "#{@"); ok {
		if name, ok = strings.CutSuffix(ref, "}"); !ok {
			return nil, fmt.Errorf("key-resolver %q: no closing }", cfg.KeyResolver)
		}
	}
	hook := func(fn KeyFunc) KeyFunc {
		if fn == nil {
			return func(*http.Request) string { return "" }
		}
		return fn
	}
	switch name {
	case "", "principal", "principalNameKeyResolver":
		return hook(cfg.Principal), nil
	case "apiKey":
		return hook(cfg.APIKeyID), nil
	case "jwtSubject":
		return hook(cfg.JWTSubject), nil
	case "remoteAddr":
		return resRemoteAddr, nil
	}
	if h, ok := strings.CutPrefix(name, "header:"); ok {
		if h == "" || strings.ContainsFunc(h, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) }) {
			return nil, fmt.Errorf("key-resolver %q: %q is not a header name", cfg.KeyResolver, h)
		}
		key := http.CanonicalHeaderKey(h)
		return func(r *http.Request) string {
			if v := r.Header[key]; len(v) > 0 {
				return v[0]
			}
			return ""
		}, nil
	}
	if q, ok := strings.CutPrefix(name, "query:"); ok {
		if q == "" {
			return nil, fmt.Errorf("key-resolver %q: the parameter name is empty", cfg.KeyResolver)
		}
		return func(r *http.Request) string { return resQueryValue(r.URL.RawQuery, q) }, nil
	}
	return nil, fmt.Errorf("key-resolver %q is unknown; want %s", cfg.KeyResolver, resKeyResolvers)
}

// resRemoteAddr returns the client's IP address without the port.
func resRemoteAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// resQueryValue returns the first value of name in the raw query, without allocating
// unless a value needs unescaping.
func resQueryValue(raw, name string) string {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(part, "=")
		if k != name {
			if !strings.ContainsAny(k, "%+") {
				continue
			}
			if uk, err := url.QueryUnescape(k); err != nil || uk != name {
				continue
			}
		}
		if strings.ContainsAny(v, "%+") {
			if uv, err := url.QueryUnescape(v); err == nil {
				return uv
			}
		}
		return v
	}
	return ""
}

func (f *rateLimitFilter) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	key := f.key(r)
	if key == "" {
		if f.deny {
			w.WriteHeader(f.denyKey)
			return
		}
		next.ServeHTTP(w, r)
		return
	}
	d, err := f.l.Allow(r.Context(), f.cfg.RouteID, key, f.cfg)
	if f.headers {
		h := w.Header()
		remaining := d.Remaining
		if err != nil {
			remaining = -1
		}
		h[f.remainingKey] = []string{strconv.FormatInt(remaining, 10)}
		for _, x := range f.fixed {
			h[x.key] = x.val[:1:1] // shared; the cap makes an append copy it
		}
	}
	switch {
	case err != nil:
		// The limiter could not decide and does not fail open (RedisLimiter logs why).
		w.WriteHeader(http.StatusServiceUnavailable)
	case !d.Allowed:
		w.WriteHeader(f.limited)
	default:
		next.ServeHTTP(w, r)
	}
}

// LocalLimiter keeps token buckets in this process, one per route and key: the default
// for a single gateway. Each bucket holds up to BurstCapacity tokens and refills
// continuously at ReplenishRate per second; a new bucket starts full. (Spring's Redis
// script, and RedisLimiter, refill in whole-second steps.)
//
// Memory is bounded: at most maxKeys buckets, about 130 bytes each plus the key, in 64
// shards with a lock each, each shard holding maxKeys/64. A shard that is full drops its
// least recently used bucket for the new key. A dropped bucket is full when it comes back, which loses nothing when
// it had been idle for BurstCapacity/ReplenishRate seconds; only when more than maxKeys
// keys are active within that time can a caller get an extra burst.
//
// Allow for a known key does not allocate. A LocalLimiter is safe for concurrent use.
type LocalLimiter struct {
	seed   maphash.Seed
	start  time.Time
	now    func() time.Duration // since start; tests replace it
	shards [resShards]resShard
}

// DefaultLocalLimiterKeys is NewLocalLimiter's bound when given 0.
const DefaultLocalLimiterKeys = 100_000

const resShards = 64

type resShard struct {
	mu      sync.Mutex                  // guards the fields below
	buckets map[resBucketKey]*resBucket // by route and key
	head    *resBucket                  // most recently used
	tail    *resBucket                  // least recently used
	max     int
	_       [64]byte // keeps shards on separate cache lines
}

type resBucketKey struct{ route, key string }

type resBucket struct {
	k          resBucketKey
	tokens     float64
	last       time.Duration // when tokens was computed, since the limiter's start
	prev, next *resBucket
}

// NewLocalLimiter returns a limiter that keeps at most maxKeys buckets; 0 means
// DefaultLocalLimiterKeys.
func NewLocalLimiter(maxKeys int) *LocalLimiter {
	if maxKeys <= 0 {
		maxKeys = DefaultLocalLimiterKeys
	}
	l := &LocalLimiter{seed: maphash.MakeSeed(), start: time.Now()}
	per := (maxKeys + resShards - 1) / resShards
	for i := range l.shards {
		l.shards[i].buckets = make(map[resBucketKey]*resBucket)
		l.shards[i].max = per
	}
	return l
}

// Allow takes cfg.RequestedTokens from the bucket of key on routeID if it holds that
// many. It never fails.
func (l *LocalLimiter) Allow(_ context.Context, routeID, key string, cfg RateLimitConfig) (Decision, error) {
	r, b, n := cfg.limits()
	rate, burst, requested := float64(r), float64(b), float64(n)
	var now time.Duration
	if l.now != nil {
		now = l.now()
	} else {
		now = time.Since(l.start)
	}
	s := &l.shards[maphash.String(l.seed, key)%resShards]
	k := resBucketKey{routeID, key}

	s.mu.Lock()
	bk := s.buckets[k]
	if bk == nil {
		bk = s.add(k)
		bk.tokens, bk.last = burst, now
	} else {
		s.touch(bk)
	}
	tokens := bk.tokens
	if elapsed := now - bk.last; elapsed > 0 {
		tokens = math.Min(burst, tokens+elapsed.Seconds()*rate)
	}
	allowed := tokens >= requested
	if allowed {
		tokens -= requested
	}
	bk.tokens, bk.last = tokens, max(now, bk.last)
	s.mu.Unlock()

	return Decision{Allowed: allowed, Remaining: int64(tokens)}, nil
}

// add inserts a bucket for k at the front, reusing the least recently used one when the
// shard is full.
func (s *resShard) add(k resBucketKey) *resBucket {
	var b *resBucket
	if len(s.buckets) >= s.max && s.tail != nil {
		b = s.tail
		s.unlink(b)
		delete(s.buckets, b.k)
		*b = resBucket{}
	} else {
		b = &resBucket{}
	}
	b.k = k
	s.buckets[k] = b
	s.pushFront(b)
	return b
}

func (s *resShard) touch(b *resBucket) {
	if s.head != b {
		s.unlink(b)
		s.pushFront(b)
	}
}

func (s *resShard) pushFront(b *resBucket) {
	b.prev, b.next = nil, s.head
	if s.head != nil {
		s.head.prev = b
	}
	s.head = b
	if s.tail == nil {
		s.tail = b
	}
}

func (s *resShard) unlink(b *resBucket) {
	if b.prev != nil {
		b.prev.next = b.next
	} else {
		s.head = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	} else {
		s.tail = b.prev
	}
	b.prev, b.next = nil, nil
}

// Len returns how many buckets the limiter holds.
func (l *LocalLimiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}
