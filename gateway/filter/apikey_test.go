package filter

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func basicKeyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestApiKey(t *testing.T) {
	t.Parallel()
	const good, other = "s3cr3t-key-1", "another-key"
	hashes := []string{basicKeyHash(other), strings.ToUpper(basicKeyHash(good)[:7]) + basicKeyHash(good)[7:]}
	goodID := basicKeyHash(good)[7:15]
	tests := []struct {
		name       string
		cfg        ApiKeyConfig
		target     string
		header     string
		wantStatus int
		wantQuery  string // upstream's raw query
		wantHeader string // upstream's X-Api-Key
	}{
		{"missing", ApiKeyConfig{}, "/a", "", 401, "", ""},
		{"wrong", ApiKeyConfig{}, "/a", "wrong", 401, "", ""},
		{"good header, stripped", ApiKeyConfig{}, "/a?x=1", good, 200, "x=1", ""},
		{"good header, forwarded", ApiKeyConfig{ForwardKey: true}, "/a", good, 200, "", good},
		{"query not read unless configured", ApiKeyConfig{}, "/a?api_key=" + good, "", 401, "", ""},
		{"good query, stripped", ApiKeyConfig{QueryParam: "api_key"}, "/a?x=1&api_key=" + good + "&y=2", "", 200, "x=1&y=2", ""},
		{"encoded query name, stripped", ApiKeyConfig{QueryParam: "api_key"}, "/a?%61pi_key=" + good, "", 200, "", ""},
		{"header wins, both stripped", ApiKeyConfig{QueryParam: "api_key"}, "/a?api_key=wrong", good, 200, "", ""},
		{"wrong header, good query", ApiKeyConfig{QueryParam: "api_key"}, "/a?api_key=" + good, "wrong", 401, "", ""},
		{"custom header", ApiKeyConfig{Header: "Authorization-Key"}, "/a", good, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Hashes = hashes
			f := basicMust(t)(ApiKey(cfg))
			r := httptest.NewRequest("GET", tt.target, nil)
			key := orDefault(cfg.Header, DefaultAPIKeyHeader)
			if tt.header != "" {
				r.Header.Set(key, tt.header)
			}
			var id string
			rec, got := basicServe(t, f, r, func(w http.ResponseWriter, r *http.Request) { id = APIKeyID(r) })
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			body, _ := io.ReadAll(rec.Body)
			if strings.Contains(string(body), good) || strings.Contains(string(body), "wrong") {
				t.Errorf("response echoes the key: %q", body)
			}
			if tt.wantStatus == 401 {
				if got != nil {
					t.Error("unauthorized request was proxied")
				}
				want := `ApiKey header="` + http.CanonicalHeaderKey(key) + `"`
				if cfg.QueryParam != "" {
					want += `, query="api_key"`
				}
				if ch := rec.Header().Get("WWW-Authenticate"); ch != want {
					t.Errorf("WWW-Authenticate = %q, want %q", ch, want)
				}
				return
			}
			if id != goodID {
				t.Errorf("APIKeyID = %q, want %q", id, goodID)
			}
			if got.URL.RawQuery != tt.wantQuery {
				t.Errorf("upstream query = %q, want %q", got.URL.RawQuery, tt.wantQuery)
			}
			if h := got.Header.Get(key); h != tt.wantHeader {
				t.Errorf("upstream %s = %q, want %q", key, h, tt.wantHeader)
			}
			if r.Header.Get(key) != tt.header {
				t.Error("the filter changed the incoming request")
			}
		})
	}
}

func TestApiKeyErrors(t *testing.T) {
	t.Parallel()
	const pasted = "my-real-key-pasted-by-mistake"
	tests := []struct {
		cfg  ApiKeyConfig
		want string
	}{
		{ApiKeyConfig{}, "hashes: want at least one"},
		{ApiKeyConfig{Hashes: []string{pasted}}, `hashes[0]: want "sha256:" and the 64 hex digits`},
		{ApiKeyConfig{Hashes: []string{"sha256:" + strings.Repeat("z", 64)}}, "hashes[0]"},
		{ApiKeyConfig{Hashes: []string{basicKeyHash("k"), "md5:abc"}}, "hashes[1]"},
		{ApiKeyConfig{Header: "X Key", Hashes: []string{basicKeyHash("k")}}, "header: header name"},
		{ApiKeyConfig{QueryParam: "a b", Hashes: []string{basicKeyHash("k")}}, "query-param"},
	}
	for _, tt := range tests {
		_, err := ApiKey(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ApiKey(%+v) error = %v, want %q", tt.cfg, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), pasted) {
			t.Errorf("error shows the configured value: %v", err)
		}
	}
	if APIKeyID(httptest.NewRequest("GET", "/", nil)) != "" {
		t.Error("APIKeyID of a request ApiKey did not see is not empty")
	}
}
