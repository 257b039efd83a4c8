package predicate

import (
	"bufio"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, pattern, path string
		want                bool
	}{
		{"exact", "/orders", "/orders", true},
		{"root", "/", "/", true},
		{"root misses a segment", "/", "/a", false},
		{"root misses a double slash", "/", "//", false},
		{"empty path is the root", "/", "", true},
		{"segment variable", "/orders/{id}", "/orders/42", true},
		{"trailing slash matches by default", "/orders/{id}", "/orders/42/", true},
		{"two trailing slashes miss", "/orders/{id}", "/orders/42//", false},
		{"literal with trailing slash", "/orders", "/orders/", true},
		{"pattern with trailing slash wants it", "/orders/", "/orders", false},
		{"pattern with trailing slash", "/orders/", "/orders/", true},
		{"pattern with trailing slash misses two", "/orders/", "/orders//", false},
		{"longer path misses", "/orders", "/orders/42", false},
		{"prefix of a segment misses", "/orders", "/ordersx", false},
		{"case-sensitive", "/orders", "/Orders", false},
		{"variable needs a segment", "/orders/{id}", "/orders", false},
		{"variable is not empty", "/orders/{id}", "/orders/", false},
		{"variable is one segment", "/orders/{id}", "/orders/1/2", false},
		{"variable then literal", "/orders/{id}/items", "/orders/1/items", true},
		{"empty variable in the middle", "/orders/{id}/items", "/orders//items", false},
		{"question mark", "/v?/x", "/v1/x", true},
		{"question mark is one char", "/v?/x", "/v12/x", false},
		{"question mark needs a char", "/v?", "/v", false},
		{"star in segment", "/*.html", "/index.html", true},
		{"star in segment matches empty", "/a*", "/a", true},
		{"star does not cross slash", "/*.html", "/a/b.html", false},
		{"star segment", "/a/*/c", "/a/b/c", true},
		{"star segment needs text in the middle", "/a/*/c", "/a//c", false},
		{"final star matches empty last segment", "/a/*", "/a/", true},
		{"final star misses no segment", "/a/*", "/a", false},
		{"final star and trailing slash", "/a/*", "/a/b/", true},
		{"final star misses empty then slash", "/a/*", "/a//", false},
		{"double star none", "/static/**", "/static", true},
		{"double star slash", "/static/**", "/static/", true},
		{"double star many", "/static/**", "/static/css/a.css", true},
		{"double star is whole segments", "/static/**", "/staticx", false},
		{"double star alone", "/**", "/anything/at/all", true},
		{"double star alone on root", "/**", "/", true},
		{"double star alone on empty", "/**", "", true},
		{"double star inside a segment is a star", "/a**b", "/axxb", true},
		{"capture rest", "/files/{*path}", "/files/a/b", true},
		{"capture rest empty", "/files/{*path}", "/files", true},
		{"capture rest not a prefix", "/files/{*path}", "/filesx", false},
		{"constraint", "/orders/{id:\\d+}", "/orders/42", true},
		{"constraint is anchored", "/orders/{id:\\d+}", "/orders/42a", false},
		{"constraint alternation is anchored", "/{x:a|b}", "/ab", false},
		{"constraint with braces", "/{id:\\d{3}}", "/123", true},
		{"constraint with braces misses", "/{id:\\d{3}}", "/1234", false},
		{"constraint then trailing slash", "/orders/{id:\\d+}", "/orders/42/", true},
		{"variables in one segment", "/{name}.{ext}", "/report.pdf", true},
		{"variables in one segment miss", "/{name}.{ext}", "/report", false},
		{"variable with literal prefix", "/v{major}/x", "/v2/x", true},
		{"raw path keeps escapes", "/a%2Fb", "/a%2Fb", true},
		{"escaped slash is not a separator", "/{x}", "/a%2Fb", true},
		{"escaped space", "/a%20b", "/a%20b", true},
		{"double slash is an empty segment", "/a//b", "/a//b", true},
		{"double slash differs", "/a/b", "/a//b", false},
		{"not a path", "/**", "*", false},
		{"matrix params are text", "/a/{x}", "/a/b;c=d", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := CompilePath(tt.pattern)
			if err != nil {
				t.Fatalf("CompilePath(%q): %v", tt.pattern, err)
			}
			if got := p.Match(tt.path); got != tt.want {
				t.Errorf("CompilePath(%q).Match(%q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
			}
			if got := p.Vars(tt.path, map[string]string{}); got != tt.want {
				t.Errorf("CompilePath(%q).Vars(%q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
			}
		})
	}
}

func TestPathPredicate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		trailingSlash bool
		patterns      []string
		target        string
		want          bool
	}{
		{"first pattern", true, []string{"/a/**", "/b/{x}"}, "/a/1", true},
		{"second pattern", true, []string{"/a/**", "/b/{x}"}, "/b/1", true},
		{"no pattern", true, []string{"/a/**", "/b/{x}"}, "/c/1", false},
		{"trailing slash on", true, []string{"/red/{segment}"}, "/red/1/", true},
		{"trailing slash off", false, []string{"/red/{segment}"}, "/red/1/", false},
		{"trailing slash off, exact", false, []string{"/red/{segment}"}, "/red/1", true},
		{"trailing slash off, literal", false, []string{"/red"}, "/red/", false},
		{"trailing slash off, double star", false, []string{"/red/**"}, "/red/", true},
		{"query is not the path", true, []string{"/a"}, "/a?b=/c", true},
		{"escaped path", true, []string{"/caf%C3%A9"}, "/caf%C3%A9", true},
		{"escaped path, lower-case hex as sent", true, []string{"/caf%c3%a9"}, "/caf%c3%a9", true},
		{"escaped slash", true, []string{"/a%2Fb/{x}"}, "/a%2Fb/c", true},
		{"decoded is not matched", true, []string{"/a/b/{x}"}, "/a%2Fb/c", false},
		{"absolute form", true, []string{"/a/{x}"}, "http://example.org/a/%C3%A9", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Path(tt.trailingSlash, tt.patterns...)
			if err != nil {
				t.Fatalf("Path(%v, %q): %v", tt.trailingSlash, tt.patterns, err)
			}
			if got := p(httptest.NewRequest("GET", tt.target, nil)); got != tt.want {
				t.Errorf("Path(%v, %q) on %q = %v, want %v", tt.trailingSlash, tt.patterns, tt.target, got, tt.want)
			}
		})
	}
}

func TestPathVars(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, path string
		want          map[string]string
	}{
		{"/orders/{id}", "/orders/42", map[string]string{"id": "42"}},
		{"/orders/{id}", "/orders/42/", map[string]string{"id": "42"}},
		{"/orders/{id:\\d+}/items/{item}", "/orders/7/items/x", map[string]string{"id": "7", "item": "x"}},
		{"/{name}.{ext}", "/report.tar.gz", map[string]string{"name": "report.tar", "ext": "gz"}},
		{"/v{major}-{minor:[0-9]+}", "/v1-22", map[string]string{"major": "1", "minor": "22"}},
		{"/files/{*path}", "/files/a/b", map[string]string{"path": "/a/b"}},
		{"/files/{*path}", "/files/", map[string]string{"path": "/"}},
		{"/files/{*path}", "/files", map[string]string{"path": ""}},
		{"/{*path}", "/", map[string]string{"path": "/"}},
		{"/{*path}", "/x", map[string]string{"path": "/x"}},
		{"/{x}", "/a%2Fb", map[string]string{"x": "a%2Fb"}},
		{"/static/**", "/static/a", map[string]string{}},
		{"/a-b/{the-id}", "/a-b/1", map[string]string{"the-id": "1"}},
	}
	for _, tt := range tests {
		got := map[string]string{}
		if !mustCompilePath(t, tt.pattern).Vars(tt.path, got) {
			t.Errorf("CompilePath(%q).Vars(%q) = false, want true", tt.pattern, tt.path)
			continue
		}
		if !maps.Equal(got, tt.want) {
			t.Errorf("CompilePath(%q).Vars(%q) set %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestPathVarsLeavesDstAloneOnMiss(t *testing.T) {
	t.Parallel()
	dst := map[string]string{"id": "old"}
	if mustCompilePath(t, "/a/{id}/b").Vars("/a/1/c", dst) {
		t.Fatal(`Vars("/a/1/c") = true, want false`)
	}
	if want := map[string]string{"id": "old"}; !maps.Equal(dst, want) {
		t.Errorf("Vars on a miss changed dst to %v, want %v", dst, want)
	}
}

func TestPathVarsExtractor(t *testing.T) {
	t.Parallel()
	ext := PathVars(mustCompilePath(t, "/a/{x}"), mustCompilePath(t, "/{x}/{y}"))
	dst := map[string]string{"host": "h", "x": "old"}
	ext(httptest.NewRequest("GET", "/b/c", nil), dst)
	if want := map[string]string{"host": "h", "x": "b", "y": "c"}; !maps.Equal(dst, want) {
		t.Errorf("PathVars on /b/c set %v, want %v", dst, want)
	}
	dst = map[string]string{}
	ext(httptest.NewRequest("GET", "/a/c", nil), dst)
	if want := map[string]string{"x": "c"}; !maps.Equal(dst, want) {
		t.Errorf("PathVars on /a/c set %v, want the first pattern's %v", dst, want)
	}
}

func TestWithMatchTrailingSlash(t *testing.T) {
	t.Parallel()
	p := mustCompilePath(t, "/red/{x}")
	strict := p.WithMatchTrailingSlash(false)
	if !p.Match("/red/1/") {
		t.Error(`CompilePath("/red/{x}").Match("/red/1/") = false, want true`)
	}
	if strict.Match("/red/1/") {
		t.Error(`WithMatchTrailingSlash(false).Match("/red/1/") = true, want false`)
	}
	if !strict.WithMatchTrailingSlash(true).Match("/red/1/") {
		t.Error(`WithMatchTrailingSlash(true).Match("/red/1/") = false, want true`)
	}
	if strict.String() != "/red/{x}" {
		t.Errorf("String() = %q, want %q", strict.String(), "/red/{x}")
	}
}

func TestCompilePathErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ pattern, want string }{
		{"", `empty pattern`},
		{"orders", `pattern "orders": must start with "/"`},
		{"/orders/{id", `pattern "/orders/{id": no closing "}"`},
		{"/orders/{id/x}", `pattern "/orders/{id/x}": no closing "}"`},
		{"/orders/{id:\\d+", `pattern "/orders/{id:\\d+": no closing "}"`},
		{"/orders/{id:a/b}", `pattern "/orders/{id:a/b}": no closing "}"`},
		{"/orders/id}", `pattern "/orders/id}": "}" at offset 10 has no opening "{"`},
		{"/{a{b}}", `pattern "/{a{b}}": "{" at offset 3 is inside a variable`},
		{"/{}", `pattern "/{}": empty variable name`},
		{"/{1x}", `pattern "/{1x}": variable name "1x": "1" is not allowed there; want a letter, "_" or "$" first, then letters, digits, "_", "$" or "-"`},
		{"/{a b}", `pattern "/{a b}": variable name "a b": " " is not allowed there; want a letter, "_" or "$" first, then letters, digits, "_", "$" or "-"`},
		{"/{id}/{id}", `pattern "/{id}/{id}": variable "id" appears twice`},
		{"/{id}/{*id}", `pattern "/{id}/{*id}": variable "id" appears twice`},
		{"/{id:}", `pattern "/{id:}": variable "id" has an empty regexp`},
		{"/{id:[}", `pattern "/{id:[}": variable "id": regexp "[": missing closing ]: "["`},
		{"/{id:(\\d+)}", `pattern "/{id:(\\d+)}": variable "id": regexp "(\\d+)" has a capturing group; use (?:...) instead`},
		{"/**/a", `pattern "/**/a": nothing may follow "**"`},
		{"/a/**/", `pattern "/a/**/": nothing may follow "**"`},
		{"/{*rest}/a", `pattern "/{*rest}/a": nothing may follow {*rest}`},
		{"/a{*rest}", `pattern "/a{*rest}": {*rest} must follow a "/"`},
		{"/{*rest", `pattern "/{*rest": no closing "}"`},
		{"/{*}", `pattern "/{*}": empty variable name`},
	}
	for _, tt := range tests {
		_, err := CompilePath(tt.pattern)
		if err == nil {
			t.Errorf("CompilePath(%q) succeeded, want error %q", tt.pattern, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("CompilePath(%q) error:\n got %s\nwant %s", tt.pattern, err, tt.want)
		}
	}
}

func TestPathErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		patterns []string
		want     string
	}{
		{nil, "no patterns"},
		{[]string{"/a/{x", "/ok", "b"}, `pattern "/a/{x": no closing "}"` + "\n" + `pattern "b": must start with "/"`},
	}
	for _, tt := range tests {
		_, err := Path(true, tt.patterns...)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Path(true, %q) error = %v, want %q", tt.patterns, err, tt.want)
		}
	}
}

// TestRequestPath checks RequestPath against url.URL.EscapedPath on
// requests parsed as a server parses them. It measures allocations, so it
// does not run in parallel.
func TestRequestPath(t *testing.T) {
	targets := []string{
		"/", "/a/b", "/a%2Fb", "/caf%C3%A9", "/caf%c3%a9", "/a%20b", "/a+b", "/a*b", "/a;b=c",
		"/a|b", "/a%7Cb", "/%25", "/a%3Fb", "/%41", "/a[b]", "/a'b", "/a!b(c)", "/x?q=1",
		"/a\"b", "http://example.org/a%2Fb?x", "http://example.org", "*",
	}
	// For these, EscapedPath escapes what the client sent raw: the result
	// exists nowhere in the request, so it has to be built.
	allocates := map[string]bool{"/a|b": true, "/a\"b": true}
	for _, target := range targets {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n")))
		if err != nil {
			t.Errorf("ReadRequest(%q): %v", target, err)
			continue
		}
		if got, want := RequestPath(r), r.URL.EscapedPath(); got != want {
			t.Errorf("RequestPath on %q = %q, want EscapedPath's %q", target, got, want)
		}
		if n := testing.AllocsPerRun(100, func() { RequestPath(r) }); n != 0 && !allocates[target] {
			t.Errorf("RequestPath on %q allocates %v times, want 0", target, n)
		}
	}
	// A URL changed after parsing, or built by hand, falls back to EscapedPath.
	r := httptest.NewRequest("GET", "/caf%C3%A9", nil)
	r.URL.Path = "/th\u00e9"
	if got, want := RequestPath(r), "/th%C3%A9"; got != want {
		t.Errorf("RequestPath after changing URL.Path = %q, want %q", got, want)
	}
	r, _ = http.NewRequest("GET", "http://h/a%20b", nil)
	if got, want := RequestPath(r), "/a%20b"; got != want {
		t.Errorf("RequestPath on a client request = %q, want %q", got, want)
	}
}

func mustCompilePath(t testing.TB, pattern string) *PathPattern {
	t.Helper()
	p, err := CompilePath(pattern)
	if err != nil {
		t.Fatalf("CompilePath(%q): %v", pattern, err)
	}
	return p
}

func BenchmarkPath(b *testing.B) {
	for _, n := range []int{1, 10_000} {
		patterns := make([]string, n)
		for i := range patterns {
			patterns[i] = fmt.Sprintf("/api/service%d/{id}/items/**", i)
		}
		b.Run(fmt.Sprintf("patterns=%d", n), func(b *testing.B) {
			p, err := Path(true, patterns...)
			if err != nil {
				b.Fatal(err)
			}
			// The last pattern matches, so every pattern is tried.
			r := httptest.NewRequest("GET", fmt.Sprintf("/api/service%d/42/items/7", n-1), nil)
			b.ReportAllocs()
			for b.Loop() {
				if !p(r) {
					b.Fatal("no match")
				}
			}
		})
	}
	b.Run("predicates=10000", func(b *testing.B) {
		// A route table scanned linearly: one Path predicate per route.
		preds := make([]Predicate, 10_000)
		for i := range preds {
			p, err := Path(true, fmt.Sprintf("/api/service%d/{id}", i), fmt.Sprintf("/api/service%d/{id}/**", i))
			if err != nil {
				b.Fatal(err)
			}
			preds[i] = p
		}
		r := httptest.NewRequest("GET", "/api/service9999/42/items/7", nil)
		b.ReportAllocs()
		for b.Loop() {
			matched := false
			for _, p := range preds {
				if p(r) {
					matched = true
					break
				}
			}
			if !matched {
				b.Fatal("no match")
			}
		}
	})
	b.Run("variables", func(b *testing.B) {
		p, err := Path(true, "/orders/{id:[0-9]+}/items/{item}", "/{name}.{ext}")
		if err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/report.pdf", nil)
		b.ReportAllocs()
		for b.Loop() {
			if !p(r) {
				b.Fatal("no match")
			}
		}
	})
}

func TestPathSafe(t *testing.T) {
	t.Parallel()
	for c := range 256 {
		u := &url.URL{Path: "/" + string([]byte{byte(c)})}
		if got, want := pathSafe(byte(c)), u.EscapedPath() == u.Path; got != want {
			t.Errorf("pathSafe(%#x) = %v, want %v", c, got, want)
		}
	}
}
