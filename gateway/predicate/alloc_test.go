package predicate

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestMatchDoesNotAllocate pins the rule that predicates do not allocate or
// change the request at match time. It measures allocations, so it does
// not run in parallel.
func TestMatchDoesNotAllocate(t *testing.T) {
	must := func(p Predicate, err error) Predicate {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	wg := NewWeightGroups()
	weight := must(Weight(wg, "g", "a", 1))
	tests := []struct {
		name   string
		p      Predicate
		target string
		edit   func(r *http.Request)
		regexp bool // uses a regexp, whose sync.Pool the race detector empties at random
		want   bool
	}{
		{"Path literal", must(Path(true, "/api/orders")), "/api/orders", nil, false, true},
		{"Path variables", must(Path(true, "/x/**", "/api/{svc}/{id}/items/*")), "/api/orders/42/items/7", nil, false, true},
		{"Path trailing slash", must(Path(true, "/api/{svc}")), "/api/orders/", nil, false, true},
		{"Path capture rest", must(Path(true, "/files/{*path}")), "/files/a/b", nil, false, true},
		{"Path escaped", must(Path(true, "/caf%C3%A9/{x}")), "/caf%C3%A9/a%2Fb", nil, false, true},
		{"Path miss", must(Path(true, "/a/{x}", "/b/**")), "/c/d", nil, false, false},
		{"Path constraint", must(Path(true, "/orders/{id:[0-9]+}")), "/orders/42", nil, true, true},
		{"Path mixed segment", must(Path(true, "/{name}.{ext}")), "/report.pdf", nil, true, true},
		{"Host", must(Host("{sub}.example.org", "**.example.com")), "http://a.b.example.com/", nil, false, true},
		{"Host miss", must(Host("**.example.org")), "http://API.example.org:8080/", nil, false, false},
		{"Method", must(Method("GET", "POST")), "/", nil, false, true},
		{"Method miss", must(Method("PUT", "POST")), "/", nil, false, false},
		{"Header presence", must(Header("x-request-id", "")), "/", setHeader("X-Request-Id", "abc"), false, true},
		{"Header regexp", must(Header("x-request-id", `[a-z]+`)), "/", setHeader("X-Request-Id", "abc"), true, true},
		{"Header Host", must(Header("Host", `example\.com`)), "http://example.com/", nil, true, true},
		{"Query presence", must(Query("q", "")), "/?a=1&q", nil, false, true},
		{"Query regexp", must(Query("q", "a b")), "/?a=1&q=a+b", nil, true, true},
		{"Query escaped value", must(Query("q", "é")), "/?q=%C3%A9", nil, true, true},
		{"Cookie", must(Cookie("session", "[0-9a-f]+")), "/", setHeader("Cookie", `a=1; session="00ff"`), true, true},
		{"RemoteAddr", must(RemoteAddr("192.0.2.0/24")), "/", nil, false, true},
		{"RemoteAddr IPv6", must(RemoteAddr("2001:db8::/32")), "/", func(r *http.Request) { r.RemoteAddr = "[2001:db8::1]:80" }, false, true},
		{"XForwardedRemoteAddr", must(XForwardedRemoteAddr(2, "10.0.0.2")), "/", setHeader("X-Forwarded-For", "10.0.0.1, 10.0.0.2, 10.0.0.3"), false, true},
		{"After", After(time.Unix(0, 0)), "/", nil, false, true},
		{"Before", Before(time.Unix(0, 0)), "/", nil, false, false},
		{"Between", must(Between(time.Unix(0, 0), time.Now().Add(time.Hour))), "/", nil, false, true},
		{"Weight", weight, "/", nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.regexp && raceEnabled {
				t.Skip("the race detector makes regexp allocate")
			}
			r := httptest.NewRequest("GET", tt.target, nil)
			if tt.edit != nil {
				tt.edit(r)
			}
			r = wg.Draw(r)
			before := *r
			if got := tt.p(r); got != tt.want {
				t.Fatalf("%s on %s = %v, want %v", tt.name, tt.target, got, tt.want)
			}
			if n := testing.AllocsPerRun(1000, func() { tt.p(r) }); n != 0 {
				t.Errorf("%s on %s allocates %v times per request, want 0", tt.name, tt.target, n)
			}
			if !sameRequest(&before, r) {
				t.Errorf("%s on %s changed the request", tt.name, tt.target)
			}
		})
	}
}

func setHeader(name, value string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

// sameRequest compares the fields a predicate reads.
func sameRequest(a, b *http.Request) bool {
	return a.Method == b.Method && a.Host == b.Host && a.RemoteAddr == b.RemoteAddr &&
		a.RequestURI == b.RequestURI && a.URL == b.URL && *a.URL == *b.URL &&
		a.Context() == b.Context() && len(a.Header) == len(b.Header)
}
