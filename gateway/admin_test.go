package gateway

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	be := startBackend(t, named("orders"))
	gw := startGateway(t, yamlConf(`
spring.cloud.gateway.default-filters: [SecureHeaders]
spring.cloud.gateway.routes:
  - id: orders
    uri: {{BACKEND}}
    order: 5
    predicates: [Path=/orders/**, Method=GET]
    filters: [StripPrefix=1]
    metadata:
      owner: team-a
  - id: teapot
    uri: no://op
    predicates: [Path=/teapot]
    filters: [SetStatus=418]
`, "BACKEND", be.URL))

	if code, body, _ := get(t, nil, gw.URL+"/actuator/health"); code != 200 || !strings.Contains(body, `"UP"`) {
		t.Errorf("GET /actuator/health = %d %q, want 200 UP", code, body)
	}

	code, body, hdr := get(t, nil, gw.URL+"/actuator/gateway/routes")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /actuator/gateway/routes = %d (%s)", code, hdr.Get("Content-Type"))
	}
	var routes []routeJSON
	if err := json.Unmarshal([]byte(body), &routes); err != nil {
		t.Fatalf("GET /actuator/gateway/routes: %v in %s", err, body)
	}
	var ids []string
	for _, r := range routes {
		ids = append(ids, r.RouteID)
	}
	if want := []string{"teapot", "orders"}; !slices.Equal(ids, want) {
		t.Errorf("routes in match order = %v, want %v", ids, want)
	}
	orders := routes[len(routes)-1]
	if orders.URI != be.URL || orders.Order != 5 || orders.Metadata["owner"] != "team-a" ||
		!slices.Equal(orders.Predicates, []string{"Path=/orders/**", "Method=GET"}) ||
		!slices.Equal(orders.Filters, []string{"[SecureHeaders, order = 1]", "[StripPrefix=1, order = 1]"}) {
		t.Errorf("orders route = %+v", orders)
	}

	code, body, _ = get(t, nil, gw.URL+"/actuator/gateway/routes/teapot")
	var one routeJSON
	if code != 200 || json.Unmarshal([]byte(body), &one) != nil || one.RouteID != "teapot" {
		t.Errorf("GET /actuator/gateway/routes/teapot = %d %s", code, body)
	}
	if code, _, _ := get(t, nil, gw.URL+"/actuator/gateway/routes/nope"); code != http.StatusNotFound {
		t.Errorf("GET /actuator/gateway/routes/nope = %d, want 404", code)
	}

	for range 3 {
		get(t, nil, gw.URL+"/orders/1")
	}
	get(t, nil, gw.URL+"/teapot")
	get(t, nil, gw.URL+"/nowhere")
	code, body, _ = get(t, nil, gw.URL+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{
		`switchboard_gateway_requests_seconds_bucket{httpMethod="GET",httpStatusCode="200",outcome="SUCCESSFUL",routeId="orders",routeUri="` + be.URL + `",le="0.5"}`,
		`switchboard_gateway_requests_seconds_count{httpMethod="GET",httpStatusCode="200",outcome="SUCCESSFUL",routeId="orders",routeUri="` + be.URL + `"} 3`,
		`switchboard_gateway_requests_seconds_count{httpMethod="GET",httpStatusCode="418",outcome="CLIENT_ERROR",routeId="teapot",routeUri="no://op"} 1`,
		`switchboard_gateway_requests_seconds_count{httpMethod="GET",httpStatusCode="404",outcome="CLIENT_ERROR",routeId="",routeUri=""} 1`,
		`switchboard_gateway_routes_count 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
