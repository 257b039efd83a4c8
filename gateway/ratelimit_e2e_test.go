package gateway

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/testenv"
)

// TestRedisRateLimitSharedByTwoGateways runs two gateway processes against
// one redis-server. With replenishRate 1 and burstCapacity 10, requests
// alternating between them get about 10 through in total (plus one per
// second of the test), where two separate budgets would let 20 through.
func TestRedisRateLimitSharedByTwoGateways(t *testing.T) {
	t.Parallel()
	redisAddr := testenv.StartRedis(t)
	host, port, _ := net.SplitHostPort(redisAddr)
	be := startBackend(t, named("ok"))
	const burst = 10
	file := writeConfig(t, "application.yml", yamlConf(`
spring.data.redis:
  host: {{HOST}}
  port: {{PORT}}
spring.cloud.gateway.routes:
  - id: limited
    uri: {{BACKEND}}
    predicates: [Path=/**]
    filters:
      - name: RequestRateLimiter
        args:
          redis-rate-limiter.replenishRate: 1
          redis-rate-limiter.burstCapacity: {{BURST}}
          key-resolver: header:X-Api-Key
`, "HOST", host, "PORT", port, "BACKEND", be.URL, "BURST", strconv.Itoa(burst)))
	urlA, _ := startGatewayProcess(t, file)
	urlB, _ := startGatewayProcess(t, file)

	start := time.Now()
	allowed := map[string]int{}
	var limited int
	for i := range 3 * burst {
		url := urlA
		if i%2 == 1 {
			url = urlB
		}
		code, _, hdr := get(t, nil, url+"/x", "X-Api-Key", "team-a")
		switch code {
		case http.StatusOK:
			allowed[url]++
		case http.StatusTooManyRequests:
			limited++
			if got := hdr.Get("X-RateLimit-Remaining"); got != "0" {
				t.Errorf("429 with X-RateLimit-Remaining %q, want 0", got)
			}
		default:
			t.Fatalf("request %d: %d, want 200 or 429", i, code)
		}
		if hdr.Get("X-RateLimit-Burst-Capacity") != strconv.Itoa(burst) || hdr.Get("X-RateLimit-Replenish-Rate") != "1" ||
			hdr.Get("X-RateLimit-Requested-Tokens") != "1" {
			t.Errorf("request %d: X-RateLimit-* headers %v", i, hdr)
		}
	}
	total := allowed[urlA] + allowed[urlB]
	refill := int(time.Since(start)/time.Second) + 1
	if total < burst || total > burst+refill {
		t.Errorf("%d of %d requests allowed (%v), want %d to %d: one shared budget", total, 3*burst, allowed, burst, burst+refill)
	}
	if allowed[urlA] == 0 || allowed[urlB] == 0 {
		t.Errorf("allowed per gateway %v, want both to serve some", allowed)
	}
	if limited == 0 {
		t.Error("no request got 429")
	}
	// Another key has a budget of its own.
	if code, _, _ := get(t, nil, urlB+"/x", "X-Api-Key", "team-b"); code != http.StatusOK {
		t.Errorf("other key: %d, want 200", code)
	}
	// Spring Cloud Gateway's key layout, so Spring gateways can share it.
	keys := redisKeys(t, redisAddr, "request_rate_limiter*")
	want := "request_rate_limiter.{limited.team-a}.tokens"
	if !strings.Contains(keys, want) {
		t.Errorf("redis keys %q, want %s", keys, want)
	}
}

// redisKeys sends KEYS pattern in Redis's inline protocol and returns the
// raw reply.
func redisKeys(t *testing.T, addr, pattern string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("KEYS " + pattern + "\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	head, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "*") {
		t.Fatalf("KEYS: %q, %v", head, err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(head[1:]))
	var out []string
	for range 2 * n { // "$len" then the key
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(line, "$") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return strings.Join(out, " ")
}

func TestLocalRateLimit(t *testing.T) {
	t.Parallel()
	g := newGateway(t, `
spring.cloud.gateway.routes:
  - id: limited
    uri: no://op
    predicates: [Path=/limited]
    filters:
      - name: RequestRateLimiter
        args:
          redis-rate-limiter.replenishRate: 1
          redis-rate-limiter.burstCapacity: 3
          key-resolver: header:X-Api-Key
  - id: remote
    uri: no://op
    predicates: [Path=/remote]
    filters:
      - name: RequestRateLimiter
        args:
          redis-rate-limiter.replenishRate: 1
          redis-rate-limiter.burstCapacity: 2
          key-resolver: remoteAddr
`)
	var codes []int
	for range 5 {
		w := call(g, "GET", "/limited", "X-Api-Key", "a")
		codes = append(codes, w.Code)
		if w.Code == http.StatusTooManyRequests && w.Header().Get("X-RateLimit-Remaining") != "0" {
			t.Errorf("429 with X-RateLimit-Remaining %q, want 0", w.Header().Get("X-RateLimit-Remaining"))
		}
	}
	// The bucket refills one token a second; the five requests take far less.
	if want := []int{200, 200, 200, 429, 429}; !equalInts(codes, want) {
		t.Errorf("key a: statuses %v, want %v", codes, want)
	}
	if w := call(g, "GET", "/limited", "X-Api-Key", "b"); w.Code != 200 || w.Header().Get("X-RateLimit-Remaining") != "2" {
		t.Errorf("key b: %d remaining %q, want 200 with 2 left", w.Code, w.Header().Get("X-RateLimit-Remaining"))
	}
	if w := call(g, "GET", "/limited"); w.Code != http.StatusForbidden {
		t.Errorf("no key: %d, want 403 (deny-empty-key)", w.Code)
	}
	// remoteAddr: httptest requests come from 192.0.2.1.
	codes = codes[:0]
	for range 3 {
		codes = append(codes, call(g, "GET", "/remote").Code)
	}
	if want := []int{200, 200, 429}; !equalInts(codes, want) {
		t.Errorf("remoteAddr: statuses %v, want %v", codes, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
