package gateway

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkMatch measures route lookup in a table of 1 and of 10,000
// routes, /svc0/** ... /svc9999/**, with the request matching the last one.
// "match" is the lookup alone, "serve" a whole request through
// Gateway.ServeHTTP to a no://op route, and "linear" the walk over every
// route that the index replaces, for comparison. Issue 7 wants 10,000
// routes within 10% of one.
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			var conf strings.Builder
			conf.WriteString("spring.cloud.gateway.routes:\n")
			for i := range n {
				fmt.Fprintf(&conf, "  - {id: svc%d, uri: no://op, predicates: ['Path=/svc%d/**']}\n", i, i)
			}
			g, err := New(bindYAML(b, conf.String()), WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				b.Fatal(err)
			}
			defer g.tr.CloseIdleConnections()
			tbl := g.tbl.Load()
			want := fmt.Sprintf("svc%d", n-1)
			r := httptest.NewRequest("GET", "/"+want+"/items/42", nil)

			b.Run("match", func(b *testing.B) {
				var rt *Route
				b.ReportAllocs()
				for b.Loop() {
					rt = tbl.match(r)
				}
				if routeID(rt) != want {
					b.Fatalf("match = %q, want %q", routeID(rt), want)
				}
			})
			b.Run("serve", func(b *testing.B) {
				w := &benchWriter{h: http.Header{}}
				b.ReportAllocs()
				for b.Loop() {
					w.code = 0
					g.ServeHTTP(w, r)
				}
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			})
			b.Run("linear", func(b *testing.B) {
				var rt *Route
				b.ReportAllocs()
				for b.Loop() {
					rt = linearMatch(tbl, r)
				}
				if routeID(rt) != want {
					b.Fatalf("linear match = %q, want %q", routeID(rt), want)
				}
			})
		})
	}
}
