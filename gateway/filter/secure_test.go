package filter

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// basicSpringSecureHeaders are Spring's defaults, copied from
// SecureHeadersProperties (spec §3.4).
var basicSpringSecureHeaders = map[string]string{
	"X-Xss-Protection":                  "1 ; mode=block",
	"Strict-Transport-Security":         "max-age=631138519",
	"X-Frame-Options":                   "DENY",
	"X-Content-Type-Options":            "nosniff",
	"Referrer-Policy":                   "no-referrer",
	"Content-Security-Policy":           "default-src 'self' https:; font-src 'self' https: data:; img-src 'self' https: data:; object-src 'none'; script-src https:; style-src 'self' https: 'unsafe-inline'",
	"X-Download-Options":                "noopen",
	"X-Permitted-Cross-Domain-Policies": "none",
}

func basicSecure(t *testing.T, cfg SecureHeadersConfig, upstream http.Header) http.Header {
	t.Helper()
	f := basicMust(t)(SecureHeaders(cfg))
	rec, _ := basicServe(t, f, httptest.NewRequest("GET", "/", nil), func(w http.ResponseWriter, r *http.Request) {
		for k, v := range upstream {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusOK)
	})
	return rec.Result().Header
}

func TestSecureHeadersDefaults(t *testing.T) {
	t.Parallel()
	h := basicSecure(t, SecureHeadersConfig{}, nil)
	got := map[string]string{}
	for k, v := range h {
		if len(v) != 1 {
			t.Errorf("%s has %d values, want 1", k, len(v))
		}
		got[k] = v[0]
	}
	delete(got, "Content-Type")
	if !reflect.DeepEqual(got, basicSpringSecureHeaders) {
		t.Errorf("headers = %v\nwant Spring's defaults %v", got, basicSpringSecureHeaders)
	}
}

func TestSecureHeadersKeepsUpstreamValues(t *testing.T) {
	t.Parallel()
	h := basicSecure(t, SecureHeadersConfig{}, http.Header{"X-Frame-Options": {"SAMEORIGIN"}})
	if got := h["X-Frame-Options"]; !reflect.DeepEqual(got, []string{"SAMEORIGIN"}) {
		t.Errorf("X-Frame-Options = %q, want the upstream's SAMEORIGIN only", got)
	}
}

func TestSecureHeadersConfig(t *testing.T) {
	t.Parallel()
	h := basicSecure(t, SecureHeadersConfig{
		FrameOptions:          "SAMEORIGIN",
		ContentSecurityPolicy: "default-src 'none'",
		Disable:               []string{"strict-transport-security", "X-Download-Options"},
		Enable:                []string{"permissions-policy"},
	}, nil)
	want := map[string]string{
		"X-Frame-Options":           "SAMEORIGIN",
		"Content-Security-Policy":   "default-src 'none'",
		"Strict-Transport-Security": "",
		"X-Download-Options":        "",
		"Permissions-Policy":        DefaultPermissionsPolicy,
		"X-Xss-Protection":          "1 ; mode=block",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	h = basicSecure(t, SecureHeadersConfig{Enable: []string{"permissions-policy"}, PermissionsPolicy: "camera=()"}, nil)
	if got := h.Get("Permissions-Policy"); got != "camera=()" {
		t.Errorf("Permissions-Policy = %q, want camera=()", got)
	}
	if h := basicSecure(t, SecureHeadersConfig{}, nil); h.Get("Permissions-Policy") != "" {
		t.Error("Permissions-Policy sent without enable; it is opt-in")
	}
}

func TestSecureHeadersErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  SecureHeadersConfig
		want string
	}{
		{SecureHeadersConfig{Disable: []string{"x-frame"}}, `disable: "x-frame" is not a secure header; known: x-xss-protection, strict-transport-security`},
		{SecureHeadersConfig{Enable: []string{"csp"}}, `enable: "csp" is not a secure header`},
		{SecureHeadersConfig{Enable: []string{"permissions-policy"}, Disable: []string{"permissions-policy"}}, "also enabled"},
		{SecureHeadersConfig{FrameOptions: "DENY\r\nX-Evil: 1"}, "x-frame-options: control character"},
	}
	for _, tt := range tests {
		_, err := SecureHeaders(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SecureHeaders(%+v) error = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestSecureHeadersDoesNotAllocate(t *testing.T) {
	if basicRace() {
		t.Skip("the race detector empties sync.Pools at random")
	}
	f := basicMust(t)(SecureHeaders(SecureHeadersConfig{}))
	h := f(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	w := &basicWriter{h: make(http.Header, 16)}
	r := httptest.NewRequest("GET", "/", nil)
	run := func() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	run()
	if len(w.h) != len(basicSpringSecureHeaders) {
		t.Fatalf("got %d headers, want %d", len(w.h), len(basicSpringSecureHeaders))
	}
	if n := testing.AllocsPerRun(1000, run); n != 0 {
		t.Errorf("SecureHeaders allocates %v times per request, want 0", n)
	}
}

func BenchmarkSecureHeaders(b *testing.B) {
	f := basicMust(b)(SecureHeaders(SecureHeadersConfig{}))
	h := f(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	w := &basicWriter{h: make(http.Header, 16)}
	r := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}
