package predicate

import (
	"net/http/httptest"
	"testing"
)

func TestHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header, regexp string
		values               []string // lines of the header, under its canonical name
		want                 bool
	}{
		{"present", "X-Request-Id", "", []string{"abc"}, true},
		{"present and empty", "X-Request-Id", "", []string{""}, true},
		{"absent", "X-Request-Id", "", nil, false},
		{"name is case-insensitive", "x-request-id", "", []string{"abc"}, true},
		{"regexp matches", "X-Request-Id", `\d+`, []string{"123"}, true},
		{"regexp is anchored", "X-Request-Id", `\d+`, []string{"123a"}, false},
		{"alternation is anchored", "X-Request-Id", `a|b`, []string{"ab"}, false},
		{"any line matches", "X-Request-Id", `\d+`, []string{"abc", "42"}, true},
		{"a line is one value", "X-Request-Id", `\d+`, []string{"1, 2"}, false},
		{"regexp on absent header", "X-Request-Id", `.*`, nil, false},
		{"regexp matches empty", "X-Request-Id", `.*`, []string{""}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Header(tt.header, tt.regexp)
			if err != nil {
				t.Fatalf("Header(%q, %q): %v", tt.header, tt.regexp, err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header["X-Request-Id"] = tt.values
			if got := p(r); got != tt.want {
				t.Errorf("Header(%q, %q) on %q = %v, want %v", tt.header, tt.regexp, tt.values, got, tt.want)
			}
		})
	}
}

func TestHeaderHost(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "http://api.example.org/", nil)
	for _, tt := range []struct {
		regexp string
		want   bool
	}{{"", true}, {`api\..*`, true}, {`web\..*`, false}} {
		p, err := Header("host", tt.regexp)
		if err != nil {
			t.Fatalf("Header(%q, %q): %v", "host", tt.regexp, err)
		}
		if got := p(r); got != tt.want {
			t.Errorf("Header(%q, %q) on Host %q = %v, want %v", "host", tt.regexp, r.Host, got, tt.want)
		}
	}
}

func TestCookie(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cookie, regexp string
		lines                []string // Cookie header lines
		want                 bool
	}{
		{"matches", "session", `[a-f0-9]+`, []string{"session=abc123"}, true},
		{"anchored", "session", `[a-f0-9]+`, []string{"session=abcxyz"}, false},
		{"among others", "session", `abc`, []string{"a=1; session=abc; b=2"}, true},
		{"spaces around pairs", "session", `abc`, []string{"a=1 ;  session=abc ; b=2"}, true},
		{"space before value is kept, as net/http does", "session", `abc`, []string{"session = abc"}, false},
		{"second line", "session", `abc`, []string{"a=1", "session=abc"}, true},
		{"any of two", "session", `abc`, []string{"session=x; session=abc"}, true},
		{"quoted", "session", `abc`, []string{`session="abc"`}, true},
		{"name is case-sensitive", "session", `abc`, []string{"Session=abc"}, false},
		{"name is not a prefix", "session", `abc`, []string{"sessionx=abc"}, false},
		{"value is not the name", "session", `session`, []string{"x=session"}, false},
		{"no value", "session", `.*`, []string{"session"}, true},
		{"malformed value is skipped", "session", `.*`, []string{`session=a\b`}, false},
		{"absent", "session", `.*`, nil, false},
		{"empty lines", "session", `.*`, []string{"", ";;"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Cookie(tt.cookie, tt.regexp)
			if err != nil {
				t.Fatalf("Cookie(%q, %q): %v", tt.cookie, tt.regexp, err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header["Cookie"] = tt.lines
			if got := p(r); got != tt.want {
				t.Errorf("Cookie(%q, %q) on %q = %v, want %v", tt.cookie, tt.regexp, tt.lines, got, tt.want)
			}
		})
	}
}

// TestCookieAgreesWithNetHTTP checks the hand-written scan against
// Request.Cookies.
func TestCookieAgreesWithNetHTTP(t *testing.T) {
	t.Parallel()
	lines := [][]string{
		{"a=1; b=2"}, {` a = "q" ; b`}, {"a=x y"}, {"a=,"}, {`a="`}, {`a=""`}, {"a=1", "a=2;a=3"},
		{"a=\x7f"}, {"a=é"}, {"=a; a=b"}, {"a;a=;"},
	}
	p, err := Cookie("a", ".*")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Cookie"] = l
		want := false
		for _, c := range r.Cookies() {
			want = want || c.Name == "a"
		}
		if got := p(r); got != want {
			t.Errorf("Cookie(%q, %q) on %q = %v, but Request.Cookies finds a: %v", "a", ".*", l, got, want)
		}
	}
}

func TestQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, param, regexp, query string
		want                       bool
	}{
		{"present", "color", "", "color=green", true},
		{"present without value", "color", "", "color", true},
		{"present with empty value", "color", "", "color=", true},
		{"absent", "color", "", "colour=green", false},
		{"no query", "color", "", "", false},
		{"blank regexp is presence", "color", "  ", "color", true},
		{"regexp matches", "color", "gree.", "color=green", true},
		{"regexp is anchored", "color", "gree.", "color=greens", false},
		{"regexp on any value", "color", "gree.", "color=red&color=green", true},
		{"regexp needs a value", "color", ".*", "color", false},
		{"regexp on empty value", "color", ".*", "color=", true},
		{"value is decoded", "q", "a b", "q=a%20b", true},
		{"plus is a space", "q", "a b", "q=a+b", true},
		{"name is decoded", "a[]", "1", "a%5B%5D=1", true},
		{"name with plus", "a b", "", "a+b=1", true},
		{"malformed escape is literal", "q", "a%zz", "q=a%zz", true},
		{"value may hold =", "q", "a=b", "q=a=b", true},
		{"semicolon is not a separator", "b", "", "a=1;b=2", false},
		{"empty pairs", "b", "2", "&&b=2&", true},
		{"name is not a prefix", "col", "", "color=1", false},
		{"long decoded value", "q", "x{200} y", "q=" + string(make200x()) + "+y", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Query(tt.param, tt.regexp)
			if err != nil {
				t.Fatalf("Query(%q, %q): %v", tt.param, tt.regexp, err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.URL.RawQuery = tt.query
			if got := p(r); got != tt.want {
				t.Errorf("Query(%q, %q) on %q = %v, want %v", tt.param, tt.regexp, tt.query, got, tt.want)
			}
		})
	}
}

func make200x() []byte {
	b := make([]byte, 200)
	for i := range b {
		b[i] = 'x'
	}
	return b
}

func TestMethod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		methods []string
		method  string
		want    bool
	}{
		{"one", []string{"GET"}, "GET", true},
		{"second", []string{"GET", "POST"}, "POST", true},
		{"other", []string{"GET", "POST"}, "PUT", false},
		{"case-sensitive", []string{"get"}, "GET", false},
		{"HEAD is not GET", []string{"GET"}, "HEAD", false},
		{"custom", []string{"PURGE"}, "PURGE", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Method(tt.methods...)
			if err != nil {
				t.Fatalf("Method(%q): %v", tt.methods, err)
			}
			if got := p(httptest.NewRequest(tt.method, "/", nil)); got != tt.want {
				t.Errorf("Method(%q) on %s = %v, want %v", tt.methods, tt.method, got, tt.want)
			}
		})
	}
}

func TestRequestPredicateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		call string
		err  error
		want string
	}{
		{"Method()", second(Method()), "no methods"},
		{`Method("GET", "GE T", "")`, second(Method("GET", "GE T", "")), `method "GE T" is not an HTTP token` + "\n" + `method "" is not an HTTP token`},
		{`Header("", "")`, second(Header("", "")), "empty header name"},
		{`Header("X:Y", "")`, second(Header("X:Y", "")), `header name "X:Y" is not an HTTP token`},
		{`Header("X", "a(")`, second(Header("X", "a(")), `regexp "a(": missing closing ): "a("`},
		{`Header("Host", "[")`, second(Header("Host", "[")), `regexp "[": missing closing ]: "["`},
		{`Query("", "")`, second(Query("", "")), "empty param"},
		{`Query("q", "*")`, second(Query("q", "*")), `regexp "*": missing argument to repetition operator: "*"`},
		{`Cookie("", "x")`, second(Cookie("", "x")), "empty cookie name"},
		{`Cookie("a b", "x")`, second(Cookie("a b", "x")), `cookie name "a b" is not an HTTP token`},
		{`Cookie("a", "")`, second(Cookie("a", "")), "empty regexp; Cookie needs one for the cookie's value"},
		{`Cookie("a", "(?<")`, second(Cookie("a", "(?<")), `regexp "(?<": invalid or unsupported Perl syntax: "(?<"`},
	}
	for _, tt := range tests {
		if tt.err == nil || tt.err.Error() != tt.want {
			t.Errorf("%s error = %v, want %q", tt.call, tt.err, tt.want)
		}
	}
}

// second returns the error of a constructor's results.
func second[T any](_ T, err error) error { return err }
