package predicate

import (
	"maps"
	"net/http/httptest"
	"testing"
)

func TestHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, pattern, host string
		want                bool
	}{
		{"exact", "example.org", "example.org", true},
		{"case-insensitive host", "example.org", "Example.ORG", true},
		{"case-insensitive pattern", "Example.org", "example.org", true},
		{"port is part of the host", "example.org", "example.org:8080", false},
		{"port in pattern", "example.org:8080", "example.org:8080", true},
		{"star label", "*.example.org", "api.example.org", true},
		{"star is one label", "*.example.org", "a.b.example.org", false},
		{"star needs a label", "*.example.org", "example.org", false},
		{"star label is not empty", "*.example.org", ".example.org", false},
		{"star within label", "api-*.example.org", "api-v2.example.org", true},
		{"star within label misses", "api-*.example.org", "web-v2.example.org", false},
		{"star port", "example.org:*", "example.org:8080", true},
		{"double star none", "**.example.org", "example.org", true},
		{"double star one", "**.example.org", "api.example.org", true},
		{"double star many", "**.example.org", "a.b.c.example.org", true},
		{"double star with port misses", "**.example.org", "api.example.org:8080", false},
		{"double star and star port", "**.example.org:*", "api.example.org:8080", true},
		{"double star in the middle", "api.**.org", "api.a.b.org", true},
		{"double star in the middle, none", "api.**.org", "api.org", true},
		{"double star in the middle misses", "api.**.org", "web.a.org", false},
		{"double star at the end", "api.**", "api.example.org", true},
		{"double star twice", "**.x.**.org", "a.x.b.c.org", true},
		{"double star twice misses", "**.x.**.org", "a.y.b.c.org", false},
		{"double star alone", "**", "anything.at.all:1", true},
		{"variable", "{sub}.example.org", "api.example.org", true},
		{"variable is one label", "{sub}.example.org", "a.b.example.org", false},
		{"constraint", "{sub:[a-z]+}.example.org", "api.example.org", true},
		{"constraint is anchored", "{sub:[a-z]+}.example.org", "api2.example.org", false},
		{"constraint ignores case", "{sub:[a-z]+}.example.org", "API.example.org", true},
		{"constraint may hold a dot", "{sub:.+}.example.org", "api.example.org", true},
		{"variable within label", "api-{v}.example.org", "API-v2.example.org", true},
		{"question mark", "api?.example.org", "api1.example.org", true},
		{"question mark is one char", "api?.example.org", "api12.example.org", false},
		{"longer host misses", "example.org", "api.example.org", false},
		{"shorter host misses", "api.example.org", "example.org", false},
		{"trailing dot is a label", "example.org", "example.org.", false},
		{"IPv6 literal", "[::1]:8080", "[::1]:8080", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Host(tt.pattern)
			if err != nil {
				t.Fatalf("Host(%q): %v", tt.pattern, err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Host = tt.host
			if got := p(r); got != tt.want {
				t.Errorf("Host(%q) on %q = %v, want %v", tt.pattern, tt.host, got, tt.want)
			}
			if got := mustCompileHost(t, tt.pattern).Vars(tt.host, map[string]string{}); got != tt.want {
				t.Errorf("CompileHost(%q).Vars(%q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
			}
		})
	}
}

func TestHostVars(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, host string
		want          map[string]string
	}{
		{"{sub}.example.org", "API.example.org", map[string]string{"sub": "API"}},
		{"{sub}.{domain}.org:{port}", "a.b.org:80", map[string]string{"sub": "a", "domain": "b", "port": "80"}},
		{"**.{env}.example.org", "x.y.prod.example.org", map[string]string{"env": "prod"}},
		{"**.{a}.**.{b}", "p.q.r.s", map[string]string{"a": "p", "b": "s"}},
		{"api-{v:[0-9]+}.example.org", "api-2.example.org", map[string]string{"v": "2"}},
	}
	for _, tt := range tests {
		got := map[string]string{}
		if !mustCompileHost(t, tt.pattern).Vars(tt.host, got) {
			t.Errorf("CompileHost(%q).Vars(%q) = false, want true", tt.pattern, tt.host)
			continue
		}
		if !maps.Equal(got, tt.want) {
			t.Errorf("CompileHost(%q).Vars(%q) set %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}

	ext := HostVars(mustCompileHost(t, "{sub}.a.org"), mustCompileHost(t, "{sub}.{d}.org"))
	dst := map[string]string{"id": "1"}
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "x.b.org"
	ext(r, dst)
	if want := map[string]string{"id": "1", "sub": "x", "d": "b"}; !maps.Equal(dst, want) {
		t.Errorf("HostVars on %q set %v, want %v", r.Host, dst, want)
	}
}

// TestHostManyLabels checks that a hostile Host header with many labels
// cannot make a pattern with several "**" take exponential time.
func TestHostManyLabels(t *testing.T) {
	t.Parallel()
	host := ""
	for range 120 {
		host += "a."
	}
	host += "b"
	p := mustCompileHost(t, "**.a.**.a.**.a.**.a.**.c")
	if p.Match(host) {
		t.Errorf("Match(%q) = true, want false", host)
	}
}

func TestHostErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		patterns []string
		want     string
	}{
		{nil, "no patterns"},
		{[]string{""}, "empty pattern"},
		{[]string{"{sub.example.org"}, `pattern "{sub.example.org": no closing "}"`},
		{[]string{"{sub}.{sub}.org"}, `pattern "{sub}.{sub}.org": variable "sub" appears twice`},
		{[]string{"{*sub}.org"}, `pattern "{*sub}.org": variable name "*sub": "*" is not allowed there; want a letter, "_" or "$" first, then letters, digits, "_", "$" or "-"`},
		{[]string{"a}.org", "ok.org", "{x:(a)}.org"}, `pattern "a}.org": "}" at offset 1 has no opening "{"` + "\n" +
			`pattern "{x:(a)}.org": variable "x": regexp "(a)" has a capturing group; use (?:...) instead`},
	}
	for _, tt := range tests {
		_, err := Host(tt.patterns...)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Host(%q) error = %v, want %q", tt.patterns, err, tt.want)
		}
	}
}

func mustCompileHost(t testing.TB, pattern string) *HostPattern {
	t.Helper()
	p, err := CompileHost(pattern)
	if err != nil {
		t.Fatalf("CompileHost(%q): %v", pattern, err)
	}
	return p
}
