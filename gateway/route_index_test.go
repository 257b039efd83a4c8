package gateway

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/testenv"
)

// indexTable builds the route table of a configuration text.
func indexTable(t testing.TB, text string) *table {
	t.Helper()
	return newGateway(t, text).tbl.Load()
}

// linearMatch is the reference the index must agree with: the first route,
// in table order, whose predicates all accept r.
func linearMatch(t *table, r *http.Request) *Route {
	for _, rt := range t.routes {
		if rt.matches(r) {
			return rt
		}
	}
	return nil
}

// routeID returns rt's ID, or "" for no route.
func routeID(rt *Route) string {
	if rt == nil {
		return ""
	}
	return rt.ID
}

// indexRequest is a request in a table test: "GET /a/b", or with a Host,
// "GET host.org /a/b". The path ” stands for an empty path, and a path
// holding a space is set decoded, as a handler could set it.
func indexRequest(t testing.TB, s string) *http.Request {
	t.Helper()
	method, target, _ := strings.Cut(s, " ")
	host := "example.com"
	if !strings.HasPrefix(target, "/") && target != "*" && target != "''" {
		host, target, _ = strings.Cut(target, " ")
	}
	if method == "" || target == "" {
		t.Fatalf("bad request %q", s)
	}
	r := httptest.NewRequest(method, "/", nil)
	switch {
	case target == "''":
		r.URL.Path = ""
	case strings.Contains(target, " "):
		r.URL.Path = target
	default:
		r = httptest.NewRequest(method, target, nil)
	}
	r.Host = host
	return r
}

func TestRouteIndexMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		routes string            // the routes: section
		want   map[string]string // request -> route ID, "" for none
	}{
		{
			name: "unindexed route first wins",
			routes: `
  - {id: any, uri: no://op, predicates: ['Path=/{x}/items']}
  - {id: orders, uri: no://op, predicates: ['Path=/orders/**']}
`,
			want: map[string]string{
				"GET /orders/items": "any",
				"GET /orders/1":     "orders",
				"GET /users/items":  "any",
				"GET /users/1":      "",
			},
		},
		{
			name: "indexed route first wins",
			routes: `
  - {id: orders, uri: no://op, predicates: ['Path=/orders/**']}
  - {id: any, uri: no://op, predicates: ['Path=/**']}
  - {id: users, uri: no://op, predicates: ['Path=/users/**']}
`,
			want: map[string]string{
				"GET /orders/1": "orders",
				"GET /orders":   "orders",
				"GET /users/1":  "any",
				"GET /":         "any",
			},
		},
		{
			name: "interleaved",
			routes: `
  - {id: a1, uri: no://op, predicates: ['Path=/a/1']}
  - {id: star, uri: no://op, predicates: ['Path=/*/2']}
  - {id: a2, uri: no://op, predicates: ['Path=/a/{n}']}
  - {id: post, uri: no://op, predicates: [Method=POST]}
  - {id: a3, uri: no://op, predicates: ['Path=/a/**']}
`,
			want: map[string]string{
				"GET /a/1":    "a1",
				"GET /a/2":    "star",
				"GET /a/3":    "a2",
				"POST /a/3":   "a2",
				"POST /a/3/4": "post",
				"GET /a/3/4":  "a3",
				"GET /b/2":    "star",
				"GET /b/3":    "",
			},
		},
		{
			name: "several patterns",
			routes: `
  - {id: ab, uri: no://op, predicates: ['Path=/a/**,/b/{x},false']}
  - id: cd
    uri: no://op
    predicates:
      - name: Path
        args:
          patterns: [/c/**, /d]
          matchTrailingSlash: false
  - {id: two, uri: no://op, predicates: ['Path=/a/**,/e/**', 'Path=/e/**,/f/**']}
  - {id: never, uri: no://op, predicates: ['Path=/g/**', 'Path=/h/**']}
`,
			want: map[string]string{
				"GET /a/1":  "ab",
				"GET /b/2":  "ab",
				"GET /b/2/": "",
				"GET /c/x":  "cd",
				"GET /d":    "cd",
				"GET /d/":   "",
				"GET /e/1":  "two",
				"GET /f/1":  "",
				"GET /g/1":  "",
				"GET /h/1":  "",
			},
		},
		{
			name: "order overrides configuration order",
			routes: `
  - {id: any, uri: no://op, order: 2, predicates: ['Path=/**']}
  - {id: a, uri: no://op, order: 1, predicates: ['Path=/a/**']}
  - {id: post, uri: no://op, order: -1, predicates: [Method=POST]}
  - {id: b, uri: no://op, order: 1, predicates: ['Path=/b/**']}
  - {id: a-first, uri: no://op, order: -2, predicates: ['Path=/a/first']}
`,
			want: map[string]string{
				"GET /a/x":     "a",
				"GET /a/first": "a-first",
				"POST /a/x":    "post",
				"GET /b":       "b",
				"GET /c":       "any",
			},
		},
		{
			name: "trailing slashes",
			routes: `
  - {id: strict, uri: no://op, predicates: ['Path=/s,false']}
  - {id: foo, uri: no://op, predicates: ['Path=/foo']}
  - {id: bar-slash, uri: no://op, predicates: ['Path=/bar/']}
  - {id: baz, uri: no://op, predicates: ['Path=/baz/**']}
`,
			want: map[string]string{
				"GET /s":      "strict",
				"GET /s/":     "",
				"GET /foo":    "foo",
				"GET /foo/":   "foo",
				"GET /foo//":  "",
				"GET /bar":    "",
				"GET /bar/":   "bar-slash",
				"GET /bar//":  "",
				"GET /baz":    "baz",
				"GET /baz/":   "baz",
				"GET /baz//x": "baz",
				"GET //baz":   "",
			},
		},
		{
			name: "escaped paths",
			routes: `
  - {id: cafe, uri: no://op, predicates: ['Path=/caf%C3%A9/**']}
  - {id: slash, uri: no://op, predicates: ['Path=/a%2Fb/**']}
  - {id: a, uri: no://op, predicates: ['Path=/a/**']}
  - {id: space, uri: no://op, predicates: ['Path=/x%20y']}
`,
			want: map[string]string{
				"GET /caf%C3%A9/1": "cafe",
				"GET /café/1":      "cafe",
				"GET /caf%c3%a9/1": "",
				"GET /a%2Fb/1":     "slash",
				"GET /a%2fb/1":     "",
				"GET /a/b/1":       "a",
				"GET /x%20y":       "space",
				"GET /x y":         "space",
			},
		},
		{
			name: "root path",
			routes: `
  - {id: root, uri: no://op, predicates: ['Path=/']}
  - {id: empty-first, uri: no://op, predicates: ['Path=//x']}
  - {id: options, uri: no://op, predicates: [Method=OPTIONS]}
`,
			want: map[string]string{
				"GET /":                 "root",
				"GET example.com ''":    "root",
				"GET //x":               "empty-first",
				"GET /x":                "",
				"OPTIONS *":             "options",
				"OPTIONS /":             "root",
				"OPTIONS /nothing/here": "options",
			},
		},
		{
			name: "case matters in paths",
			routes: `
  - {id: upper, uri: no://op, predicates: ['Path=/Orders/**']}
`,
			want: map[string]string{
				"GET /Orders/1": "upper",
				"GET /orders/1": "",
				"GET /ORDERS/1": "",
			},
		},
		{
			name: "no path predicate",
			routes: `
  - {id: header, uri: no://op, predicates: ['Header=X-Any']}
  - {id: get, uri: no://op, predicates: [Method=GET]}
  - {id: a, uri: no://op, predicates: ['Path=/a/**']}
`,
			want: map[string]string{
				"GET /a":  "get",
				"PUT /a":  "a",
				"PUT /b":  "",
				"HEAD /a": "a",
			},
		},
		{
			name: "hosts",
			routes: `
  - {id: api, uri: no://op, predicates: ['Host=API.example.org']}
  - {id: wild, uri: no://op, predicates: ['Host=**.example.org']}
  - {id: two, uri: no://op, predicates: ['Host=a.example.net,b.example.net:8080']}
  - {id: path-and-host, uri: no://op, predicates: ['Host=c.example.net', 'Path=/c/**']}
  - {id: c, uri: no://op, predicates: ['Host=c.example.net']}
  - {id: both, uri: no://op, predicates: ['Host=d.example.net', 'Host=D.example.net,e.example.net']}
  - {id: neither, uri: no://op, predicates: ['Host=f.example.net', 'Host=g.example.net']}
`,
			want: map[string]string{
				"GET api.example.org /":                  "api",
				"GET Api.Example.ORG /":                  "api",
				"GET api.example.org:80 /":               "",
				"GET www.example.org /":                  "wild",
				"GET a.example.net /":                    "two",
				"GET A.EXAMPLE.NET /x":                   "two",
				"GET b.example.net /":                    "",
				"GET b.example.net:8080 /":               "two",
				"GET c.example.net /c/1":                 "path-and-host",
				"GET C.example.net /c/1":                 "path-and-host",
				"GET c.example.net /d":                   "c",
				"GET d.example.net /":                    "both",
				"GET e.example.net /":                    "",
				"GET f.example.net /":                    "",
				"GET api.example.org. /":                 "",
				"GET " + strings.Repeat("a", 300) + " /": "",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tbl := indexTable(t, "spring.cloud.gateway.routes:"+tt.routes)
			if tbl.index.segments == nil && tbl.index.hosts == nil {
				t.Fatalf("no route is indexed")
			}
			for _, req := range slices.Sorted(maps.Keys(tt.want)) {
				r := indexRequest(t, req)
				got, ref := routeID(tbl.match(r)), routeID(linearMatch(tbl, r))
				if got != tt.want[req] || ref != tt.want[req] {
					t.Errorf("%s: match = %q, linear match = %q, want %q", req, got, ref, tt.want[req])
				}
			}
		})
	}
}

// TestRouteIndexKeys pins what each route is filed under: a route the
// index cannot narrow must be tried for every request.
func TestRouteIndexKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		predicates string // YAML flow list
		want       string // "segment k1 k2", "host k1", or "none"
	}{
		{`['Path=/svc0/**']`, "segment svc0"},
		{`['Path=/a/**,/b/{x}']`, "segment a b"},
		{`['Path=/a/**,/a/b,true']`, "segment a"},
		{`['Path=/']`, "segment "},
		{`['Path=/a', 'Path=/a/**,/b/**']`, "segment a"},
		{`['Path=/**']`, "none"},
		{`['Path=/*']`, "none"},
		{`['Path=/{x}/a']`, "none"},
		{`['Path=/{*rest}']`, "none"},
		{`['Path=/a*/b']`, "none"},
		{`['Path=/a?/b']`, "none"},
		{`['Path=/v{n}/b']`, "none"},
		{`['Path=/a/**,/**']`, "none"},
		{`['Path=/**', 'Path=/b/**']`, "segment b"},
		{`[Method=GET]`, "none"},
		{`['Host=Api.Example.org']`, "host api.example.org"},
		{`['Host=a.org,b.org:8080']`, "host a.org b.org:8080"},
		{`['Host=**.a.org']`, "none"},
		{`['Host={sub}.a.org']`, "none"},
		{`['Host=ä.a.org']`, "none"},
		{`['Host=a.org', 'Path=/x/**']`, "segment x"},
		{`['Host=a.org', 'Path=/**']`, "host a.org"},
	}
	var b strings.Builder
	b.WriteString("spring.cloud.gateway.routes:\n")
	for i, tt := range tests {
		fmt.Fprintf(&b, "  - {id: r%d, uri: no://op, predicates: %s}\n", i, tt.predicates)
	}
	tbl := indexTable(t, b.String())
	for i, tt := range tests {
		rt := tbl.byID[fmt.Sprintf("r%d", i)]
		got := "none"
		switch rt.keys.by {
		case bySegment:
			got = strings.Join(append([]string{"segment"}, rt.keys.keys...), " ")
		case byHost:
			got = strings.Join(append([]string{"host"}, rt.keys.keys...), " ")
		}
		if got != tt.want {
			t.Errorf("predicates %s: filed under %q, want %q", tt.predicates, got, tt.want)
		}
	}
}

// TestRouteIndexRandom compares the index with a walk over the whole table
// on random route tables and requests.
func TestRouteIndexRandom(t *testing.T) {
	t.Parallel()
	patterns := []string{
		"/a/**", "/a", "/a/", "/a/b", "/a/{x}", "/b/**", "/b/{x}", "/b", "/{x}/b", "/{x}",
		"/**", "/*", "/*/b", "/", "//a", "/A/**", "/a%20b/**", "/caf%C3%A9/**", "/a%2Fb/**",
		"/a*/**", "/?/**", "/{*rest}", "/v{n}/**", "/c/**",
	}
	hosts := []string{"a.org", "A.org", "b.org", "b.org:8080", "**.org", "{s}.org", "*.b.org"}
	paths := []string{
		"/", "''", "/a", "/a/", "/a//", "/a/b", "/a/b/", "/a/b/c", "/A/b", "/b", "/b/", "/b/x",
		"/x/b", "/x", "//a", "//", "/a%20b/c", "/a b/c", "/caf%C3%A9/x", "/café/x", "/caf%c3%a9/x",
		"/a%2Fb/x", "/a%2fb/x", "/ab/x", "/v1/x", "/c", "/c/d", "*",
	}
	reqHosts := []string{"a.org", "A.ORG", "b.org", "b.org:8080", "x.b.org", "c.org"}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }

	narrowed := 0
	for n := range 150 {
		var b strings.Builder
		b.WriteString("spring.cloud.gateway.routes:\n")
		nroutes := 1 + rng.IntN(12)
		for i := range nroutes {
			fmt.Fprintf(&b, "  - id: r%d\n    uri: no://op\n    order: %d\n    predicates:\n", i, rng.IntN(3)-1)
			npred := 0
			if rng.IntN(5) > 0 {
				npred++
				pats := make([]string, 1+rng.IntN(3))
				for k := range pats {
					pats[k] = pick(patterns)
				}
				trailing := []string{"", "true", "false"}[rng.IntN(3)]
				if rng.IntN(2) == 0 {
					if trailing != "" {
						pats = append(pats, trailing)
					}
					fmt.Fprintf(&b, "      - '%s'\n", "Path="+strings.Join(pats, ","))
				} else {
					fmt.Fprintf(&b, "      - name: Path\n        args:\n          patterns:\n")
					for _, p := range pats {
						fmt.Fprintf(&b, "            - '%s'\n", p)
					}
					if trailing != "" {
						fmt.Fprintf(&b, "          matchTrailingSlash: %s\n", trailing)
					}
				}
			}
			if rng.IntN(6) == 0 {
				npred++
				fmt.Fprintf(&b, "      - 'Path=%s'\n", pick(patterns))
			}
			if rng.IntN(3) == 0 {
				npred++
				fmt.Fprintf(&b, "      - 'Host=%s'\n", pick(hosts))
			}
			if rng.IntN(4) == 0 || npred == 0 {
				fmt.Fprintf(&b, "      - Method=%s\n", pick([]string{"GET", "POST"}))
			}
			if rng.IntN(8) == 0 {
				fmt.Fprintf(&b, "      - 'Weight=w, %d'\n", rng.IntN(3))
			}
		}
		conf := b.String()
		tbl := indexTable(t, conf)
		if tbl.index.segments != nil || tbl.index.hosts != nil {
			narrowed++
		}
		for _, p := range paths {
			for _, h := range reqHosts {
				for _, m := range []string{"GET", "POST"} {
					r := indexRequest(t, m+" "+h+" "+p)
					if rng.IntN(10) == 0 && p != "*" {
						// As forward: URIs do: a new path, a stale RequestURI.
						r.URL.Path, r.URL.RawPath = "/a b/"+p, ""
					}
					r = tbl.weights.Draw(r)
					got, want := routeID(tbl.match(r)), routeID(linearMatch(tbl, r))
					if got != want {
						t.Fatalf("table %d, %s %s %s (path %q): match = %q, linear match = %q\n%s",
							n, m, h, p, r.URL.Path, got, want, conf)
					}
				}
			}
		}
	}
	if narrowed < 100 {
		t.Errorf("the index narrowed %d tables of 150; the generator should make more indexable routes", narrowed)
	}
}

// TestRouteIndexDiscovery checks that the discovery locator's routes are
// indexed and keep their place among the configured routes.
func TestRouteIndexDiscovery(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, nil)
	dc := startDiscovery(t, reg)
	registerInstance(t, reg, "hello", "127.0.0.1:1")
	waitInstances(t, dc, "HELLO", 1)
	g := newGateway(t, `
spring.cloud.gateway.discovery.locator:
  enabled: true
  lower-case-service-id: true
spring.cloud.gateway.routes:
  - {id: special, uri: no://op, predicates: ['Path=/{x}/special']}
  - {id: late, uri: no://op, order: 1, predicates: ['Path=/hello/**']}
`, WithRegistry(dc))
	tbl := g.tbl.Load()
	testenv.Eventually(t, 10*time.Second, func() error {
		if tbl = g.tbl.Load(); tbl.byID["DiscoveryClient_HELLO"] == nil {
			return fmt.Errorf("no discovery route for HELLO")
		}
		return nil
	})
	rt := tbl.byID["DiscoveryClient_HELLO"]
	if rt.keys.by != bySegment || !slices.Equal(rt.keys.keys, []string{"hello"}) {
		t.Errorf("discovery route %s (%q) filed under %v %q, want segment hello", rt.ID, rt.PredicateDefs, rt.keys.by, rt.keys.keys)
	}
	for req, want := range map[string]string{
		"GET /hello/special": "special",
		"GET /hello/x":       "DiscoveryClient_HELLO",
		"GET /hello":         "DiscoveryClient_HELLO",
		"GET /HELLO/x":       "",
	} {
		r := indexRequest(t, req)
		if got, ref := routeID(tbl.match(r)), routeID(linearMatch(tbl, r)); got != want || ref != want {
			t.Errorf("%s: match = %q, linear match = %q, want %q", req, got, ref, want)
		}
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	tbl := indexTable(t, `
spring.cloud.gateway.routes:
  - {id: any, uri: no://op, predicates: ['Path=/{x}/special']}
  - {id: host, uri: no://op, predicates: ['Host=api.example.org']}
  - {id: orders, uri: no://op, predicates: ['Path=/orders/**']}
  - {id: cafe, uri: no://op, predicates: ['Path=/caf%C3%A9/**']}
`)
	for _, req := range []string{
		"GET /orders/42", "GET /caf%C3%A9/1", "GET /a%2Fb/x", "GET /a%20b/x",
		"GET API.Example.org /x", "GET api.example.org /x", "GET /nothing",
	} {
		r := indexRequest(t, req)
		if n := testing.AllocsPerRun(100, func() { tbl.match(r) }); n != 0 {
			t.Errorf("match(%s) allocates %v times, want 0", req, n)
		}
	}
}

// TestRouteIndexForward follows a forward: URI, which matches the table
// again with a new path, through indexed routes.
func TestRouteIndexForward(t *testing.T) {
	t.Parallel()
	g := newGateway(t, `
spring.cloud.gateway.routes:
  - {id: fwd, uri: 'forward:/b/x', predicates: ['Path=/a/**']}
  - id: b
    uri: no://op
    predicates: ['Path=/b/**']
    filters: ['AddResponseHeader=X-Route, b']
`)
	w := call(g, "GET", "/a/1")
	if w.Code != http.StatusOK || w.Header().Get("X-Route") != "b" {
		t.Errorf("GET /a/1 = %d via %q, want 200 via b", w.Code, w.Header().Get("X-Route"))
	}
}
