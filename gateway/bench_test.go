package gateway

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkProxy measures one request through the gateway to a loopback
// backend answering 100 bytes, with no filters and with a typical chain
// (Path route, StripPrefix, SecureHeaders, CorrelationId, an in-process rate
// limit far above the load). Run with -benchmem for allocations per request.
func BenchmarkProxy(b *testing.B) {
	body := strings.Repeat("x", 100)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(body))
	}))
	defer backend.Close()
	configs := []struct{ name, yaml string }{
		{"no-filters", `
spring.cloud.gateway.routes:
  - id: plain
    uri: {{backend}}
    predicates: [Path=/api/**]
`},
		{"typical-chain", `
spring.cloud.gateway.routes:
  - id: chain
    uri: {{backend}}
    predicates: [Path=/api/**]
    filters:
      - StripPrefix=1
      - SecureHeaders
      - CorrelationId
      - name: RequestRateLimiter
        args:
          key-resolver: remoteAddr
          redis-rate-limiter.replenishRate: 100000000
          redis-rate-limiter.burstCapacity: 100000000
`},
	}
	for _, c := range configs {
		b.Run(c.name, func(b *testing.B) {
			g, err := New(bindYAML(b, yamlConf(c.yaml, "backend", backend.URL)), WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				b.Fatal(err)
			}
			defer g.closeIdle()
			req := httptest.NewRequest("GET", "/api/items", nil)
			req.RemoteAddr = "127.0.0.1:40000"
			w := &benchWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				w.code = 0
				g.ServeHTTP(w, req)
			}
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
		})
	}
}

// benchWriter is a ResponseWriter that keeps only the status.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }
