package gateway

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/testenv"
)

// These tests run the gateway against a real registry, the real discovery
// client and real backends, all on loopback.

func TestLoadBalancedRoute(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, nil)
	a := startBackend(t, named("a"))
	b := startBackend(t, named("b"))
	registerInstance(t, reg, "orders", a.Listener.Addr().String())
	registerInstance(t, reg, "orders", b.Listener.Addr().String())
	dc := startDiscovery(t, reg)
	waitInstances(t, dc, "ORDERS", 2)

	gw := startGateway(t, `
spring.cloud.gateway.routes:
  - id: orders
    uri: lb://orders
    predicates: [Path=/orders/**]
  - id: nobody
    uri: lb://NOBODY
    predicates: [Path=/nobody/**]
`, WithRegistry(dc))

	var seen []string
	for range 10 {
		code, body, _ := get(t, nil, gw.URL+"/orders/1")
		if code != http.StatusOK {
			t.Fatalf("GET /orders/1 = %d %q, want 200", code, body)
		}
		seen = append(seen, body)
	}
	// Round robin over a list that does not change: strict alternation.
	for i := 2; i < len(seen); i++ {
		if seen[i] != seen[i-2] || seen[i] == seen[i-1] {
			t.Fatalf("backends chosen %v, want strict alternation", seen)
		}
	}
	if a.hits.Load() != 5 || b.hits.Load() != 5 {
		t.Errorf("backend hits a=%d b=%d, want 5 and 5", a.hits.Load(), b.hits.Load())
	}

	code, body, _ := get(t, nil, gw.URL+"/nobody/1")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "Unable to find instance for NOBODY") {
		t.Errorf("GET /nobody/1 = %d %q, want 503 Unable to find instance for NOBODY", code, body)
	}
}

// TestDownInstanceIsNotPicked takes an instance out of service in the
// registry: the gateway stops sending it requests as soon as its discovery
// client sees the change.
func TestDownInstanceIsNotPicked(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, nil)
	a := startBackend(t, named("a"))
	b := startBackend(t, named("b"))
	registerInstance(t, reg, "orders", a.Listener.Addr().String())
	cb := registerInstance(t, reg, "orders", b.Listener.Addr().String())
	dc := startDiscovery(t, reg)
	waitInstances(t, dc, "ORDERS", 2)
	gw := startGateway(t, `
spring.cloud.gateway.routes:
  - id: orders
    uri: lb://ORDERS
    predicates: [Path=/**]
`, WithRegistry(dc))

	if err := cb.SetStatus(t.Context(), "DOWN"); err != nil {
		t.Fatalf("SetStatus(DOWN): %v", err)
	}
	waitInstances(t, dc, "ORDERS", 1)
	before := b.hits.Load()
	for range 6 {
		if code, body, _ := get(t, nil, gw.URL+"/x"); code != http.StatusOK || body != "a" {
			t.Fatalf("GET /x = %d %q, want 200 from a (b is DOWN)", code, body)
		}
	}
	if n := b.hits.Load() - before; n != 0 {
		t.Errorf("the DOWN instance got %d requests, want 0", n)
	}
}

// TestRetryOnRefusedConnection registers a live and a dead instance. With
// Retry, every request succeeds on the live one; without it, the requests
// that land on the dead one get 502.
func TestRetryOnRefusedConnection(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, nil)
	live := startBackend(t, named("live"))
	registerInstance(t, reg, "flaky", live.Listener.Addr().String())
	registerInstance(t, reg, "flaky", deadAddr(t))
	dc := startDiscovery(t, reg)
	waitInstances(t, dc, "FLAKY", 2)
	gw := startGateway(t, `
spring.cloud.gateway.routes:
  - id: retried
    uri: lb://FLAKY
    predicates: [Path=/retried/**]
    filters: [Retry=2]
  - id: once
    uri: lb://FLAKY
    predicates: [Path=/once/**]
`, WithRegistry(dc))

	for i := range 20 {
		code, body, _ := get(t, nil, gw.URL+"/retried/x")
		if code != http.StatusOK || body != "live" {
			t.Fatalf("request %d: GET /retried/x = %d %q, want 200 from the live instance", i, code, body)
		}
	}
	if n := live.hits.Load(); n != 20 {
		t.Errorf("live instance got %d requests, want 20", n)
	}
	var codes []int
	for range 4 {
		code, _, _ := get(t, nil, gw.URL+"/once/x")
		codes = append(codes, code)
	}
	if !slices.Contains(codes, http.StatusBadGateway) || !slices.Contains(codes, http.StatusOK) {
		t.Errorf("without Retry: statuses %v, want 200s from the live instance and 502s from the dead one", codes)
	}
}

// TestDiscoveryLocator turns on the discovery locator: an application that
// registers gets the route /{app in lower case}/** with that segment
// stripped, without any route in the configuration.
func TestDiscoveryLocator(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, nil)
	dc := startDiscovery(t, reg)
	gw := startGateway(t, `
spring.cloud.gateway.discovery.locator:
  enabled: true
  lower-case-service-id: true
spring.cloud.gateway.default-filters:
  - AddResponseHeader=X-Default, yes
`, WithRegistry(dc))
	if code, _, _ := get(t, nil, gw.URL+"/hello/greet"); code != http.StatusNotFound {
		t.Fatalf("before registration: GET /hello/greet = %d, want 404", code)
	}

	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s?%s", r.URL.Path, r.URL.RawQuery)
	})
	registerInstance(t, reg, "hello", be.Listener.Addr().String())
	testenv.Eventually(t, 10*time.Second, func() error {
		resp, err := http.Get(gw.URL + "/hello/greet/you?x=1")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != "/greet/you?x=1" {
			return fmt.Errorf("GET /hello/greet/you?x=1 = %d %q, want 200 /greet/you?x=1", resp.StatusCode, body)
		}
		if resp.Header.Get("X-Default") != "yes" {
			return fmt.Errorf("discovery route lacks the default filter's header: %v", resp.Header)
		}
		return nil
	})
	if code, body, _ := get(t, nil, gw.URL+"/hello"); code != http.StatusOK || body != "/?" {
		t.Errorf("GET /hello = %d %q, want 200 from / upstream", code, body)
	}
	if code, _, _ := get(t, nil, gw.URL+"/HELLO/greet"); code != http.StatusNotFound {
		t.Errorf("GET /HELLO/greet = %d, want 404 with lower-case-service-id", code)
	}
	var ids []string
	for _, rt := range gw.Routes() {
		ids = append(ids, rt.ID+" "+rt.URI)
	}
	if want := []string{"DiscoveryClient_HELLO lb://HELLO"}; !slices.Equal(ids, want) {
		t.Fatalf("routes = %q, want %q", ids, want)
	}
	rt := gw.Routes()[0]
	if want := []string{"Path=/hello/**"}; !slices.Equal(rt.PredicateDefs, want) {
		t.Errorf("predicates = %q, want %q", rt.PredicateDefs, want)
	}
	wantFilters := []string{"[AddResponseHeader=X-Default, yes, order = 1]", "[RewritePath=/hello/?(?<remaining>.*), /${remaining}, order = 1]"}
	if !slices.Equal(rt.FilterDefs, wantFilters) {
		t.Errorf("filters = %q, want %q", rt.FilterDefs, wantFilters)
	}
}
