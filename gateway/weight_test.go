package gateway

import (
	"net/http"
	"testing"
)

// TestWeightCanary splits /shop/** 95/5 between a stable and a canary
// route. Over 10,000 requests the canary's share must be within one
// percentage point of 5% (the binomial standard deviation is 0.22 points).
// The count runs in process against no://op copies of the routes; a few
// requests then go through the real routes to the two backends.
func TestWeightCanary(t *testing.T) {
	t.Parallel()
	const conf = `
spring.cloud.gateway.routes:
  - id: canary
    uri: {{CANARY}}
    predicates: [Path=/shop/**, "Weight=shop, 5"]
    filters: ["AddResponseHeader=X-Route, canary"]
  - id: stable
    uri: {{STABLE}}
    predicates: [Path=/shop/**, "Weight=shop, 95"]
    filters: ["AddResponseHeader=X-Route, stable"]
  - id: other
    uri: {{STABLE}}
    predicates: [Path=/other/**]
    filters: ["AddResponseHeader=X-Route, other"]
`
	g := newGateway(t, yamlConf(conf, "CANARY", "no://op", "STABLE", "no://op"))
	counts := map[string]int{}
	const n = 10000
	for range n {
		w := call(g, "GET", "/shop/cart")
		counts[w.Header().Get("X-Route")]++
	}
	if counts["canary"]+counts["stable"] != n {
		t.Fatalf("routes chosen %v, want only canary and stable", counts)
	}
	if share := float64(counts["canary"]) / n; share < 0.04 || share > 0.06 {
		t.Errorf("canary got %.2f%% of %d requests (%v), want 5%% ± 1", share*100, n, counts)
	}
	// A request outside the group is not drawn into it.
	if w := call(g, "GET", "/other/x"); w.Header().Get("X-Route") != "other" {
		t.Errorf("GET /other/x went to %q, want other", w.Header().Get("X-Route"))
	}

	canary := startBackend(t, named("canary"))
	stable := startBackend(t, named("stable"))
	gw := startGateway(t, yamlConf(conf, "CANARY", canary.URL, "STABLE", stable.URL))
	for range 200 {
		code, body, hdr := get(t, nil, gw.URL+"/shop/cart")
		if code != http.StatusOK || body != hdr.Get("X-Route") {
			t.Fatalf("GET /shop/cart = %d from %q via route %q, want 200 from the route's backend", code, body, hdr.Get("X-Route"))
		}
	}
	if c, s := canary.hits.Load(), stable.hits.Load(); c+s != 200 || c == 0 || s < 150 {
		t.Errorf("backends got canary=%d stable=%d of 200, want both, stable most", c, s)
	}
}
