package filter

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestRequestHeaderFilters(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"segment": "blue"}
	tests := []struct {
		name   string
		filter func() (Filter, error)
		in     http.Header
		want   http.Header // the headers upstream must see for the names listed
	}{
		{"AddRequestHeader adds", func() (Filter, error) { return AddRequestHeader("X-Request-Red", "Blue") },
			nil, http.Header{"X-Request-Red": {"Blue"}}},
		{"AddRequestHeader keeps existing values", func() (Filter, error) { return AddRequestHeader("x-request-red", "Blue") },
			http.Header{"X-Request-Red": {"Green"}}, http.Header{"X-Request-Red": {"Green", "Blue"}}},
		{"AddRequestHeader expands variables", func() (Filter, error) { return AddRequestHeader("X-Request-Red", "Blue-{segment}") },
			nil, http.Header{"X-Request-Red": {"Blue-blue"}}},
		{"AddRequestHeadersIfNotPresent adds missing", func() (Filter, error) {
			return AddRequestHeadersIfNotPresent("X-Request-Color-1:blue", "X-Request-Color-2:green", "X-Request-Color-2:{segment}")
		}, http.Header{"X-Request-Color-1": {"red"}},
			http.Header{"X-Request-Color-1": {"red"}, "X-Request-Color-2": {"green", "blue"}}},
		{"AddRequestHeadersIfNotPresent fills blank", func() (Filter, error) { return AddRequestHeadersIfNotPresent("X-A: a") },
			http.Header{"X-A": {" "}}, http.Header{"X-A": {" ", "a"}}},
		{"SetRequestHeader replaces", func() (Filter, error) { return SetRequestHeader("X-Request-Red", "{segment}") },
			http.Header{"X-Request-Red": {"1234", "5678"}}, http.Header{"X-Request-Red": {"blue"}}},
		{"RemoveRequestHeader", func() (Filter, error) { return RemoveRequestHeader("x-request-foo") },
			http.Header{"X-Request-Foo": {"a"}, "X-Other": {"b"}}, http.Header{"X-Request-Foo": nil, "X-Other": {"b"}}},
		{"RemoveRequestHeader of an absent header", func() (Filter, error) { return RemoveRequestHeader("X-Absent") },
			http.Header{"X-Other": {"b"}}, http.Header{"X-Absent": nil, "X-Other": {"b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := basicMust(t)(tt.filter())
			r := WithVars(httptest.NewRequest("GET", "/red/blue", nil), vars)
			for k, v := range tt.in {
				r.Header[k] = append([]string(nil), v...)
			}
			before := r.Header.Clone()
			_, got := basicServe(t, f, r, nil)
			for k, want := range tt.want {
				if g := got.Header[k]; !reflect.DeepEqual(g, want) {
					t.Errorf("upstream %s = %q, want %q", k, g, want)
				}
			}
			if !reflect.DeepEqual(r.Header, before) {
				t.Errorf("the filter changed the incoming request's header: %v, was %v", r.Header, before)
			}
		})
	}
}

func TestRequestHeaderFiltersThroughProxy(t *testing.T) {
	t.Parallel()
	got := make(chan http.Header, 1)
	gw := basicGateway(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() }),
		basicMust(t)(AddRequestHeader("X-Request-Red", "Blue")),
		basicMust(t)(RemoveRequestHeader("X-Secret")))
	req, _ := http.NewRequest("GET", gw+"/", nil)
	req.Header.Set("X-Secret", "s")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := <-got
	if h.Get("X-Request-Red") != "Blue" || h.Get("X-Secret") != "" {
		t.Errorf("backend headers = %v, want X-Request-Red: Blue and no X-Secret", h)
	}
}

func TestResponseHeaderFilters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		filter   func() (Filter, error)
		upstream http.Header
		want     http.Header
	}{
		{"AddResponseHeader appends with override", func() (Filter, error) { return AddResponseHeader("X-Response-Red", "Blue", true) },
			http.Header{"X-Response-Red": {"Green"}}, http.Header{"X-Response-Red": {"Green", "Blue"}}},
		{"AddResponseHeader without override keeps upstream's", func() (Filter, error) { return AddResponseHeader("X-Response-Red", "Blue", false) },
			http.Header{"X-Response-Red": {"Green"}}, http.Header{"X-Response-Red": {"Green"}}},
		{"AddResponseHeader without override fills a blank", func() (Filter, error) { return AddResponseHeader("X-Response-Red", "Blue", false) },
			http.Header{"X-Response-Red": {""}}, http.Header{"X-Response-Red": {"", "Blue"}}},
		{"AddResponseHeader expands variables", func() (Filter, error) { return AddResponseHeader("X-Seg", "{segment}", true) },
			nil, http.Header{"X-Seg": {"blue"}}},
		{"SetResponseHeader replaces upstream's", func() (Filter, error) { return SetResponseHeader("X-Response-Red", "Blue") },
			http.Header{"X-Response-Red": {"1234", "5678"}}, http.Header{"X-Response-Red": {"Blue"}}},
		{"SetResponseHeader expands variables", func() (Filter, error) { return SetResponseHeader("X-Seg", "s-{segment}") },
			nil, http.Header{"X-Seg": {"s-blue"}}},
		{"RemoveResponseHeader", func() (Filter, error) { return RemoveResponseHeader("x-response-foo") },
			http.Header{"X-Response-Foo": {"a"}, "X-Keep": {"k"}}, http.Header{"X-Response-Foo": nil, "X-Keep": {"k"}}},
		{"RewriteResponseHeader", func() (Filter, error) {
			return RewriteResponseHeader("X-Response-Red", "password=[^&]+", "password=***")
		}, http.Header{"X-Response-Red": {"/42?user=ford&password=omg!what&flag=true", "password=x"}},
			http.Header{"X-Response-Red": {"/42?user=ford&password=***&flag=true", "password=***"}}},
		{"RewriteResponseHeader with a named group", func() (Filter, error) {
			return RewriteResponseHeader("Location", `http://internal:8080/(?<rest>.*)`, `https://api.example.com/$\{rest}`)
		}, http.Header{"Location": {"http://internal:8080/orders/1"}}, http.Header{"Location": {"https://api.example.com/orders/1"}}},
		{"DedupeResponseHeader RETAIN_FIRST by default", func() (Filter, error) {
			return DedupeResponseHeader("Access-Control-Allow-Credentials Access-Control-Allow-Origin", "")
		}, http.Header{"Access-Control-Allow-Credentials": {"true", "false"}, "Access-Control-Allow-Origin": {"https://a", "https://b"}},
			http.Header{"Access-Control-Allow-Credentials": {"true"}, "Access-Control-Allow-Origin": {"https://a"}}},
		{"DedupeResponseHeader RETAIN_LAST", func() (Filter, error) {
			return DedupeResponseHeader("Access-Control-Allow-Credentials", "RETAIN_LAST")
		}, http.Header{"Access-Control-Allow-Credentials": {"true", "false"}},
			http.Header{"Access-Control-Allow-Credentials": {"false"}}},
		{"DedupeResponseHeader RETAIN_UNIQUE", func() (Filter, error) {
			return DedupeResponseHeader("Vary", "retain_unique")
		}, http.Header{"Vary": {"Origin", "Accept", "Origin", "Accept-Encoding", "Accept"}},
			http.Header{"Vary": {"Origin", "Accept", "Accept-Encoding"}}},
		{"DedupeResponseHeader leaves one line alone", func() (Filter, error) {
			return DedupeResponseHeader("Access-Control-Allow-Origin", "RETAIN_UNIQUE")
		}, http.Header{"Access-Control-Allow-Origin": {"https://a, https://a"}},
			http.Header{"Access-Control-Allow-Origin": {"https://a, https://a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := basicMust(t)(tt.filter())
			r := WithVars(httptest.NewRequest("GET", "/red/blue", nil), map[string]string{"segment": "blue"})
			rec, _ := basicServe(t, f, r, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.upstream {
					w.Header()[k] = append([]string(nil), v...)
				}
				io.WriteString(w, "body")
			})
			res := rec.Result()
			for k, want := range tt.want {
				if g := res.Header[k]; !reflect.DeepEqual(g, want) {
					t.Errorf("response %s = %q, want %q", k, g, want)
				}
			}
		})
	}
}

func TestRequestParameterFilters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		filter    func() (Filter, error)
		target    string
		wantQuery string
	}{
		{"AddRequestParameter to no query", func() (Filter, error) { return AddRequestParameter("red", "blue") }, "/a", "red=blue"},
		{"AddRequestParameter appends", func() (Filter, error) { return AddRequestParameter("red", "blue") }, "/a?x=1", "x=1&red=blue"},
		{"AddRequestParameter after a trailing &", func() (Filter, error) { return AddRequestParameter("red", "blue") }, "/a?x=1&", "x=1&red=blue"},
		{"AddRequestParameter keeps literal text raw", func() (Filter, error) { return AddRequestParameter("q", "a%20b") }, "/a", "q=a%20b"},
		{"AddRequestParameter escapes variable values", func() (Filter, error) { return AddRequestParameter("seg", "{segment}") }, "/a", "seg=x%26admin%3Dtrue"},
		{"RemoveRequestParameter removes every value", func() (Filter, error) { return RemoveRequestParameter("red") }, "/a?red=1&x=%2F&red=2&y", "x=%2F&y"},
		{"RemoveRequestParameter matches decoded names", func() (Filter, error) { return RemoveRequestParameter("a b") }, "/a?a%20b=1&a+b=2&c=3", "c=3"},
		{"RemoveRequestParameter leaves other queries", func() (Filter, error) { return RemoveRequestParameter("red") }, "/a?reddish=1&x=2", "reddish=1&x=2"},
		{"RemoveRequestParameter of the only one", func() (Filter, error) { return RemoveRequestParameter("red") }, "/a?red", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := basicMust(t)(tt.filter())
			r := WithVars(httptest.NewRequest("GET", tt.target, nil), map[string]string{"segment": "x&admin=true"})
			before := r.URL.String()
			_, got := basicServe(t, f, r, nil)
			if got.URL.RawQuery != tt.wantQuery {
				t.Errorf("upstream query = %q, want %q", got.URL.RawQuery, tt.wantQuery)
			}
			if r.URL.String() != before {
				t.Errorf("the filter changed the incoming URL to %q", r.URL)
			}
		})
	}
}

func TestPreserveHostHeader(t *testing.T) {
	t.Parallel()
	hosts := make(chan string, 2)
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hosts <- r.Host })
	plain := basicGateway(t, backend)
	preserving := basicGateway(t, backend, basicMust(t)(PreserveHostHeader()))
	for _, tt := range []struct {
		gw       string
		preserve bool
	}{{plain, false}, {preserving, true}} {
		req, _ := http.NewRequest("GET", tt.gw+"/", nil)
		req.Host = "api.example.com"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := <-hosts
		if (got == "api.example.com") != tt.preserve {
			t.Errorf("preserve=%v: backend saw Host %q", tt.preserve, got)
		}
	}
}

func TestHeaderFilterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"empty name", func() error { _, err := AddRequestHeader("", "v"); return err }, "header name must not be empty"},
		{"name with space", func() error { _, err := SetRequestHeader("X Red", "v"); return err }, `header name "X Red": character ' ' is not allowed`},
		{"value with newline", func() error { _, err := AddResponseHeader("X-A", "a\r\nX-Evil: 1", true); return err }, "control character"},
		{"unclosed variable", func() error { _, err := SetResponseHeader("X-A", "{seg"); return err }, `value "{seg": no closing "}"`},
		{"pair without colon", func() error { _, err := AddRequestHeadersIfNotPresent("X-A=b"); return err }, `"X-A=b": want name:value`},
		{"no pairs", func() error { _, err := AddRequestHeadersIfNotPresent(); return err }, "want at least one"},
		{"dedupe without names", func() error { _, err := DedupeResponseHeader(" ", ""); return err }, "want one or more header names"},
		{"dedupe strategy", func() error { _, err := DedupeResponseHeader("Vary", "KEEP"); return err },
			`strategy "KEEP" is not known; want RETAIN_FIRST, RETAIN_LAST or RETAIN_UNIQUE`},
		{"rewrite regexp", func() error { _, err := RewriteResponseHeader("X-A", "a(?=b)", "c"); return err }, `regexp "a(?=b)": invalid or unsupported Perl syntax`},
		{"rewrite group", func() error { _, err := RewriteResponseHeader("X-A", "(a)", "$2"); return err }, "no group 2"},
		{"parameter name", func() error { _, err := AddRequestParameter("", "v"); return err }, "name must not be empty"},
		{"parameter space", func() error { _, err := AddRequestParameter("a", "b c"); return err }, "not allowed in a query"},
	}
	for _, tt := range tests {
		err := tt.err()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

func TestJavaReplacement(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`/red/?(?<segment>.*)`)
	re11 := regexp.MustCompile(`(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)`)
	tests := []struct {
		re          *regexp.Regexp
		repl, want  string
		wantErrPart string
	}{
		{re, "/${segment}", "/${1}", ""},
		{re, `/$\{segment}`, "/${1}", ""},
		{re, "/$1", "/${1}", ""},
		{re, "/$10", "/${1}0", ""}, // Java takes digits only while they name a group
		{re11, "$11", "${11}", ""},
		{re, `\$1`, "$$1", ""},
		{re, `a\\b`, `a\b`, ""},
		{re, "$0", "${0}", ""},
		{re, "${1}", "${1}", ""},
		{re, "$", "", "trailing $"},
		{re, "$x", "", "names no group"},
		{re, "${nope}", "", `no group named "nope"`},
		{re, "$2", "", "no group 2"},
		{re, `a\`, "", "escapes nothing"},
	}
	for _, tt := range tests {
		got, err := javaReplacement(tt.repl, tt.re)
		if tt.wantErrPart != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErrPart) {
				t.Errorf("javaReplacement(%q) error = %v, want %q", tt.repl, err, tt.wantErrPart)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("javaReplacement(%q) = %q, %v; want %q", tt.repl, got, err, tt.want)
		}
	}
}

func TestAddRequestHeaderAllocs(t *testing.T) {
	// A request filter copies the request and its header map (it never
	// changes the request it was given, so Retry and the access log see
	// what the client sent); that is all it allocates. The value itself
	// costs nothing without a template.
	f := basicMust(t)(AddRequestHeader("X-Request-Red", "Blue"))
	h := f(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept", "*/*")
	w := &basicWriter{h: make(http.Header)}
	n := testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, r) })
	if n > 4 {
		t.Errorf("AddRequestHeader allocates %v times per request, want at most 4 (request, header map, value slice)", n)
	}
}

func BenchmarkAddRequestHeader(b *testing.B) {
	f := basicMust(b)(AddRequestHeader("X-Request-Red", "Blue"))
	h := f(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept", "*/*")
	r.Header.Set("User-Agent", "bench")
	w := &basicWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

func TestRemoveQueryParamKeepsRawForm(t *testing.T) {
	t.Parallel()
	q, ok := removeQueryParam("a=%2F%20&b=1&a=2&c=x+y", "b")
	if !ok || q != "a=%2F%20&a=2&c=x+y" {
		t.Errorf("removeQueryParam = %q, %v", q, ok)
	}
	if _, err := url.ParseQuery(q); err != nil {
		t.Errorf("result is not a valid query: %v", err)
	}
}
