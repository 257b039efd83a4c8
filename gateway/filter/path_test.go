package filter

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// basicPathCase is a request path and what upstream must get.
type basicPathCase struct {
	name, target      string
	wantPath, wantRaw string // wantRaw is what EscapedPath must give
}

func basicRunPathCases(t *testing.T, f Filter, vars map[string]string, tests []basicPathCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			if vars != nil {
				r = WithVars(r, vars)
			}
			before := *r.URL
			rec, got := basicServe(t, f, r, nil)
			if got == nil {
				t.Fatalf("request not passed on; response %d %q", rec.Code, rec.Body)
			}
			if got.URL.Path != tt.wantPath || got.URL.EscapedPath() != tt.wantRaw {
				t.Errorf("%s: upstream path %q (raw %q), want %q (raw %q)", tt.target, got.URL.Path, got.URL.EscapedPath(), tt.wantPath, tt.wantRaw)
			}
			if *r.URL != before {
				t.Errorf("the filter changed the incoming URL to %+v", r.URL)
			}
		})
	}
}

func TestStripPrefix(t *testing.T) {
	t.Parallel()
	basicRunPathCases(t, basicMust(t)(StripPrefix(2)), nil, []basicPathCase{
		{"spring example", "/name/blue/red", "/red", "/red"},
		{"keeps trailing slash", "/name/blue/red/", "/red/", "/red/"},
		{"keeps query", "/name/blue/red?x=1", "/red", "/red"},
		{"exactly the prefix", "/name/blue", "/", "/"},
		{"exactly the prefix with slash", "/name/blue/", "/", "/"},
		{"beyond the path", "/name", "/", "/"},
		{"root", "/", "/", "/"},
		{"empty segments dropped", "//name//blue//red//x", "/red/x", "/red/x"},
		{"encoded slash stays encoded", "/a/b/c%2Fd/e", "/c/d/e", "/c%2Fd/e"},
		{"encoded prefix counts as a segment", "/a%2Fb/c/d", "/d", "/d"},
	})
	basicRunPathCases(t, basicMust(t)(StripPrefix(0)), nil, []basicPathCase{
		{"zero normalizes", "/a//b", "/a/b", "/a/b"},
	})
	if _, err := StripPrefix(-1); err == nil || !strings.Contains(err.Error(), "parts -1 is negative") {
		t.Errorf("StripPrefix(-1) error = %v", err)
	}
}

func TestPrefixPath(t *testing.T) {
	t.Parallel()
	basicRunPathCases(t, basicMust(t)(PrefixPath("/mypath")), nil, []basicPathCase{
		{"spring example", "/hello", "/mypath/hello", "/mypath/hello"},
		{"root", "/", "/mypath/", "/mypath/"},
		{"encoded", "/a%2Fb", "/mypath/a/b", "/mypath/a%2Fb"},
	})
	basicRunPathCases(t, basicMust(t)(PrefixPath("/t/{tenant}")), map[string]string{"tenant": "a b"}, []basicPathCase{
		{"variable escaped", "/x", "/t/a b/x", "/t/a%20b/x"},
	})
	for _, bad := range []string{"mypath", "", "/a b", "/a?b", "/{x"} {
		if _, err := PrefixPath(bad); err == nil {
			t.Errorf("PrefixPath(%q) succeeded, want an error", bad)
		}
	}
}

func TestRewritePath(t *testing.T) {
	t.Parallel()
	basicRunPathCases(t, basicMust(t)(RewritePath(`/red/?(?<segment>.*)`, `/$\{segment}`)), nil, []basicPathCase{
		{"spring example", "/red/blue", "/blue", "/blue"},
		{"spring example, no slash", "/red", "/", "/"},
		{"deeper", "/red/blue/green", "/blue/green", "/blue/green"},
		{"no match", "/green", "/green", "/green"},
		{"encoded kept", "/red/a%2Fb", "/a/b", "/a%2Fb"},
	})
	basicRunPathCases(t, basicMust(t)(RewritePath(`^/api/(\w+)/(\d+)$`, `/$2/$1`)), nil, []basicPathCase{
		{"numbered groups", "/api/orders/42", "/42/orders", "/42/orders"},
	})
	basicRunPathCases(t, basicMust(t)(RewritePath(`/(?P<service>[^/]+)/(?<rest>.*)`, `${rest}/${service}`)), nil, []basicPathCase{
		{"leading slash added", "/orders/a/b", "/a/b/orders", "/a/b/orders"},
	})
	basicRunPathCases(t, basicMust(t)(RewritePath(`/v1`, `\$v1`)), nil, []basicPathCase{
		{"literal dollar", "/v1/x", "/$v1/x", "/$v1/x"},
	})
}

func TestRewritePathInvalidResult(t *testing.T) {
	t.Parallel()
	f := basicMust(t)(RewritePath(`/(\d)`, `/%$1`))
	rec, got := basicServe(t, f, httptest.NewRequest("GET", "/7", nil), nil)
	if got != nil || rec.Code != http.StatusBadRequest {
		t.Errorf("rewrite to an invalid escape: status %d, passed on %v; want 400", rec.Code, got != nil)
	}
}

func TestSetPath(t *testing.T) {
	t.Parallel()
	basicRunPathCases(t, basicMust(t)(SetPath("/{segment}")), map[string]string{"segment": "blue"}, []basicPathCase{
		{"spring example", "/red/blue", "/blue", "/blue"},
	})
	basicRunPathCases(t, basicMust(t)(SetPath("/api/{rest}")), map[string]string{"rest": "a b/c%d"}, []basicPathCase{
		{"decoded value escaped, slash kept", "/x/a%20b/c%25d", "/api/a b/c%d", "/api/a%20b/c%25d"},
	})
	basicRunPathCases(t, basicMust(t)(SetPath("/fixed")), nil, []basicPathCase{
		{"no variables", "/anything?q=1", "/fixed", "/fixed"},
	})
	if _, err := SetPath("{segment}"); err == nil || !strings.Contains(err.Error(), `must start with "/"`) {
		t.Errorf("SetPath without leading slash: %v", err)
	}
}

func TestRedirectTo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		status        int
		url           string
		include       bool
		target        string
		wantLocation  string
		wantErrSubstr string
	}{
		{"spring example", 302, "https://acme.org", false, "/a?skip=10", "https://acme.org", ""},
		{"with request params", 302, "https://acme.org", true, "/a?skip=10", "https://acme.org?skip=10", ""},
		{"with request params, none sent", 301, "https://acme.org", true, "/a", "https://acme.org", ""},
		{"url with a query", 307, "https://acme.org/x?a=1", true, "/a?skip=10&b=2", "https://acme.org/x?a=1&skip=10&b=2", ""},
		{"url with a fragment", 308, "https://acme.org/x#top", true, "/a?skip=10", "https://acme.org/x?skip=10#top", ""},
		{"relative", 303, "/login", false, "/a", "/login", ""},
		{"200 is no redirect", 200, "https://acme.org", false, "", "", "status 200 is not a redirect; want a 3xx code"},
		{"404 is no redirect", 404, "https://acme.org", false, "", "", "status 404 is not a redirect"},
		{"no url", 302, "", false, "", "", "url must not be empty"},
		{"bad url", 302, "http://a b", false, "", "", "url \"http://a b\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := RedirectTo(tt.status, tt.url, tt.include)
			if tt.wantErrSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstr) {
					t.Fatalf("RedirectTo(%d, %q) error = %v, want %q", tt.status, tt.url, err, tt.wantErrSubstr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rec, got := basicServe(t, f, httptest.NewRequest("GET", tt.target, nil), nil)
			if got != nil {
				t.Error("RedirectTo proxied the request")
			}
			if rec.Code != tt.status || rec.Header().Get("Location") != tt.wantLocation {
				t.Errorf("got %d Location %q, want %d %q", rec.Code, rec.Header().Get("Location"), tt.status, tt.wantLocation)
			}
		})
	}
	// A status written as a name goes through ParseStatus.
	code, err := ParseStatus("FOUND")
	if err != nil || code != 302 {
		t.Errorf("ParseStatus(FOUND) = %d, %v", code, err)
	}
}

func TestSetRequestHostHeader(t *testing.T) {
	t.Parallel()
	hosts := make(chan string, 1)
	gw := basicGateway(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hosts <- r.Host }),
		func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, WithVars(r, map[string]string{"sub": "orders"}))
			})
		},
		basicMust(t)(SetRequestHostHeader("{sub}.internal.example")))
	resp, err := http.Get(gw + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := <-hosts; got != "orders.internal.example" {
		t.Errorf("backend Host = %q, want orders.internal.example", got)
	}
	for _, bad := range []string{"", "a b", "a/b", "{x"} {
		if _, err := SetRequestHostHeader(bad); err == nil {
			t.Errorf("SetRequestHostHeader(%q) succeeded", bad)
		}
	}
}

func TestPathFiltersThroughProxy(t *testing.T) {
	t.Parallel()
	paths := make(chan string, 1)
	gw := basicGateway(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.EscapedPath() + "?" + r.URL.RawQuery
		io.WriteString(w, "ok")
	}),
		basicMust(t)(StripPrefix(1)),
		basicMust(t)(PrefixPath("/v2")),
		basicMust(t)(RewritePath(`/v2/orders/(?<id>\d+)`, `/v2/order/$\{id}`)))
	resp, err := http.Get(gw + "/api/orders/42%2F7?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := <-paths; got != "/v2/order/42%2F7?x=1" {
		t.Errorf("backend got %q, want /v2/order/42%%2F7?x=1", got)
	}
}

func FuzzRewritePath(f *testing.F) {
	f.Add(`/red/?(?<segment>.*)`, `/$\{segment}`, "/red/blue")
	f.Add(`(a)(b)`, `$2$1$0`, "/ab/ba")
	f.Add(`.*`, ``, "/x%2Fy")
	f.Add(`/`, `%`, "/a/b")
	f.Fuzz(func(t *testing.T, pattern, replacement, path string) {
		u, err := url.Parse("http://h" + "/" + strings.TrimLeft(path, "/"))
		if err != nil || u.Host != "h" {
			return
		}
		fl, err := RewritePath(pattern, replacement)
		if err != nil {
			return
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.URL = u
		rec, got := basicServe(t, fl, r, nil)
		if got == nil {
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("not passed on, status %d", rec.Code)
			}
			return
		}
		if !strings.HasPrefix(got.URL.Path, "/") {
			t.Fatalf("path %q has no leading slash", got.URL.Path)
		}
		if p, err := url.PathUnescape(got.URL.EscapedPath()); err != nil || p != got.URL.Path {
			t.Fatalf("Path %q and EscapedPath %q disagree", got.URL.Path, got.URL.EscapedPath())
		}
	})
}
