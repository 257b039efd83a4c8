package predicate

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// FuzzCompilePath checks that compiling and matching never panic, and that
// a pattern that matches a path extracts its variables consistently.
func FuzzCompilePath(f *testing.F) {
	for _, seed := range [][2]string{
		{"/orders/{id}", "/orders/42"},
		{"/orders/{id}", "/orders/42/"},
		{"/orders/{id:\\d+}/items/{item}", "/orders/1/items/x"},
		{"/{name}.{ext}", "/a.b.c"},
		{"/v{major}-{minor:[0-9]+}/*", "/v1-2/x"},
		{"/files/{*path}", "/files/a/b/"},
		{"/static/**", "/static"},
		{"/a?c/*.html", "/abc/index.html"},
		{"/", ""},
		{"//", "//"},
		{"/{id:\\d{2,3}}", "/123"},
		{"/{a}{b}", "/xy"},
		{"/a/{x", "/a/b"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		p, err := CompilePath(pattern)
		if err != nil {
			if p != nil {
				t.Fatalf("CompilePath(%q) returned a pattern and error %v", pattern, err)
			}
			return
		}
		vars := map[string]string{}
		matched := p.Match(path)
		if got := p.Vars(path, vars); got != matched {
			t.Fatalf("CompilePath(%q): Match(%q) = %v but Vars = %v", pattern, path, matched, got)
		}
		strict := p.WithMatchTrailingSlash(false)
		if strict.Match(path) && !matched {
			t.Fatalf("CompilePath(%q): %q matches without a tolerated trailing slash, not with", pattern, path)
		}
		if matched && !strict.Match(path) && (!strings.HasSuffix(path, "/") || !strict.Match(path[:len(path)-1])) {
			t.Fatalf("CompilePath(%q): %q matches only thanks to the trailing slash, but %q does not match strictly", pattern, path, strings.TrimSuffix(path, "/"))
		}
		if !matched {
			if len(vars) != 0 {
				t.Fatalf("CompilePath(%q).Vars(%q) missed but set %v", pattern, path, vars)
			}
			return
		}
		names, wholeSegment := p.varNames()
		if len(vars) != len(names) {
			t.Fatalf("CompilePath(%q).Vars(%q) = %v, want one value for each of %q", pattern, path, vars, names)
		}
		for _, name := range names {
			v, ok := vars[name]
			if !ok {
				t.Fatalf("CompilePath(%q).Vars(%q) = %v, missing %q", pattern, path, vars, name)
			}
			if name == p.restName {
				if v != "" && (v[0] != '/' || !strings.HasSuffix(path, v)) {
					t.Fatalf("CompilePath(%q).Vars(%q): {*%s} = %q, want a suffix of the path from a '/'", pattern, path, name, v)
				}
				continue
			}
			if strings.Contains(v, "/") || !strings.Contains(path, v) {
				t.Fatalf("CompilePath(%q).Vars(%q): {%s} = %q, want text from one segment", pattern, path, name, v)
			}
			if v == "" && wholeSegment[name] {
				t.Fatalf("CompilePath(%q).Vars(%q): {%s} is empty, want a non-empty segment", pattern, path, name)
			}
		}
	})
}

// varNames returns the names of p's variables, and which of them are a
// whole segment (and so never empty); others, as in {a}{b}, may be empty.
func (p *PathPattern) varNames() ([]string, map[string]bool) {
	var names []string
	whole := map[string]bool{}
	for _, s := range p.segs {
		switch s.kind {
		case segVar, segVarRe:
			names = append(names, s.name)
			whole[s.name] = true
		case segRegexp:
			names = append(names, s.names...)
		}
	}
	if p.rest == restCapture {
		names = append(names, p.restName)
	}
	return names, whole
}

// FuzzCompileHost checks that compiling and matching host patterns never
// panic and that Match and Vars agree.
func FuzzCompileHost(f *testing.F) {
	f.Add("{sub}.example.org", "api.example.org")
	f.Add("**.{env}.**.org:*", "a.prod.b.org:80")
	f.Add("api-?.*.com", "API-1.x.com")
	f.Fuzz(func(t *testing.T, pattern, host string) {
		p, err := CompileHost(pattern)
		if err != nil {
			return
		}
		vars := map[string]string{}
		if m, v := p.Match(host), p.Vars(host, vars); m != v {
			t.Fatalf("CompileHost(%q): Match(%q) = %v but Vars = %v", pattern, host, m, v)
		}
		for name, v := range vars {
			if strings.Contains(v, ".") && !strings.Contains(pattern, ":") {
				t.Fatalf("CompileHost(%q).Vars(%q): {%s} = %q spans labels", pattern, host, name, v)
			}
		}
	})
}

// FuzzRequestPath checks RequestPath against url.URL.EscapedPath.
func FuzzRequestPath(f *testing.F) {
	for _, s := range []string{"/", "/a%2Fb", "/caf%C3%A9", "/a|b", "http://h/a%20b?x", "/%zz", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n")))
		if err != nil {
			return
		}
		if got, want := RequestPath(r), r.URL.EscapedPath(); got != want {
			t.Fatalf("RequestPath on %q = %q, want EscapedPath's %q", target, got, want)
		}
	})
}
