package filter

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

var basicUUIDv4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCorrelationId(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		header   string   // the filter's argument
		incoming []string // values the client sent in the header
		keep     bool     // whether the client's id must be kept
	}{
		{"generated", "", nil, false},
		{"kept", "", []string{"req-42.abc_DEF:1"}, true},
		{"custom header", "X-Request-Id", []string{"abc"}, true},
		{"too long", "", []string{strings.Repeat("a", 129)}, false},
		{"longest kept", "", []string{strings.Repeat("a", 128)}, true},
		{"space", "", []string{"a b"}, false},
		{"control", "", []string{"a\x01b"}, false},
		{"non-ASCII", "", []string{"idé"}, false},
		{"empty", "", []string{""}, false},
		{"two values", "", []string{"a", "b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := basicMust(t)(CorrelationId(tt.header))
			key := http.CanonicalHeaderKey(orDefault(tt.header, DefaultCorrelationHeader))
			r := httptest.NewRequest("GET", "/", nil)
			if tt.incoming != nil {
				r.Header[key] = tt.incoming
			}
			var inChain string
			rec, got := basicServe(t, f, r, func(w http.ResponseWriter, r *http.Request) {
				inChain = CorrelationID(r)
				w.Header()[key] = []string{"upstream-own-id"}
				w.WriteHeader(http.StatusOK)
			})
			id := got.Header.Get(key)
			if tt.keep && id != tt.incoming[0] {
				t.Errorf("upstream id = %q, want the client's %q", id, tt.incoming[0])
			}
			if !tt.keep && !basicUUIDv4.MatchString(id) {
				t.Errorf("upstream id = %q, want a new UUID v4", id)
			}
			if len(got.Header[key]) != 1 {
				t.Errorf("upstream got %d ids, want 1", len(got.Header[key]))
			}
			if inChain != id {
				t.Errorf("CorrelationID(r) upstream = %q, want %q", inChain, id)
			}
			if resp := rec.Result().Header[key]; !reflect.DeepEqual(resp, []string{id}) {
				t.Errorf("response %s = %q, want exactly [%q]", key, resp, id)
			}
			if tt.incoming != nil && !reflect.DeepEqual(r.Header[key], tt.incoming) {
				t.Errorf("incoming request changed to %q", r.Header[key])
			}
		})
	}
}

func TestCorrelationIdVisibleToAccessLog(t *testing.T) {
	t.Parallel()
	// The access log wraps the chain: it sees the id in the response header
	// even when the upstream fails before writing anything.
	f := basicMust(t)(CorrelationId(""))
	var logged string
	accessLog := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			logged = w.Header().Get(DefaultCorrelationHeader)
		})
	}
	h := basicChain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}), accessLog, f)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !basicUUIDv4.MatchString(logged) || rec.Header().Get(DefaultCorrelationHeader) != logged {
		t.Errorf("access log saw %q, client got %q", logged, rec.Header().Get(DefaultCorrelationHeader))
	}
}

func TestNewCorrelationID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 10000 {
		id := newCorrelationID()
		if !basicUUIDv4.MatchString(id) || seen[id] {
			t.Fatalf("id %q: malformed or repeated", id)
		}
		seen[id] = true
	}
	if CorrelationID(httptest.NewRequest("GET", "/", nil)) != "" {
		t.Error("CorrelationID of a request the filter did not see is not empty")
	}
	if _, err := CorrelationId("bad header"); err == nil {
		t.Error("CorrelationId with a bad header name succeeded")
	}
}

func BenchmarkCorrelationId(b *testing.B) {
	f := basicMust(b)(CorrelationId(""))
	h := f(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	w := &basicWriter{h: make(http.Header, 4)}
	r := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}
