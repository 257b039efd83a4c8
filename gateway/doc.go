// Package gateway is an API gateway configured like Spring Cloud Gateway:
// routes of predicates and filters read from spring.cloud.gateway.* keys,
// lb:// routes balanced over the instances a Eureka registry lists, and the
// discovery locator.
//
// # Usage
//
//	cfg, err := gateway.Bind(props)   // props: internal/springconf properties
//	g, err := gateway.New(cfg, gateway.WithRegistry(client))
//	go g.Run(ctx)                     // discovery routes, JWKS refresh
//	http.ListenAndServe(":8080", g)
//
// # How a request goes
//
// The route table is immutable and swapped whole on reload. A request reads
// it once: the route index narrows the routes to those filed under the
// request's first path segment (or Host) plus those it cannot rule out, and
// the first whose predicates all accept the request, in Spring's order,
// wins. Its filters run in Spring's order, then the proxy.
//
// The proxy has two paths. Plain http:// upstreams, the usual case behind a
// gateway, go through the gateway's own HTTP/1.1 client (upstream.go): the
// request head is written from the inbound request straight into a pooled
// connection, the response head is parsed in place, and the body copied,
// all on the handler's goroutine, with the same hop-by-hop and forwarded
// header rules, status mapping (502, 503, 504) and response timeout as the
// other path. TLS upstreams and protocol upgrades (websockets) go through
// httputil.ReverseProxy and one shared http.Transport, which speaks HTTP/2
// to upstreams that offer it. BENCHMARKS.md in the repository root has what
// each costs.
package gateway
