package gateway

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"
)

// signRS256 makes a compact JWS of claims, signed with key under kid.
func signRS256(t testing.TB, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// jwksJSON is the JSON Web Key Set publishing key's public half under kid.
func jwksJSON(key *rsa.PublicKey, kid string) []byte {
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	set := map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}}
	b, _ := json.Marshal(set)
	return b
}

// TestJWTEndToEnd runs a JWKS server with a generated RSA key and two
// routes: a canary for tokens with beta-tester=true (a JwtClaim predicate,
// ordered first) and the normal one. Both require the orders.read role and
// pass the subject upstream as X-User-Id.
func TestJWTEndToEnd(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwksJSON(&key.PublicKey, "k1"))
	})
	echo := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Backend", name)
			w.Header().Set("X-Saw-User", strings.Join(r.Header.Values("X-User-Id"), ","))
			w.Header().Set("X-Saw-Auth", r.Header.Get("Authorization"))
		}
	}
	stable := startBackend(t, echo("stable"))
	canary := startBackend(t, echo("canary"))
	gw := startGateway(t, yamlConf(`
switchboard.gateway.jwt:
  jwks-uri: {{JWKS}}
  issuer: https://issuer.test
  audiences: orders
spring.cloud.gateway.routes:
  - id: orders-beta
    uri: {{CANARY}}
    predicates:
      - Path=/api/orders/**
      - JwtClaim=beta-tester,true
    filters: &jwt
      - name: JWT
        args:
          roles: [orders.read]
          claim-headers:
            sub: X-User-Id
  - id: orders
    uri: {{STABLE}}
    predicates: [Path=/api/orders/**]
    filters: *jwt
`, "JWKS", jwks.URL, "CANARY", canary.URL, "STABLE", stable.URL))

	now := time.Now()
	claims := func(extra map[string]any) map[string]any {
		c := map[string]any{
			"iss": "https://issuer.test", "aud": "orders", "sub": "user-42",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "roles": []string{"orders.read"},
		}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	good := signRS256(t, key, "k1", claims(nil))
	tests := []struct {
		name       string
		auth       string
		wantCode   int
		wantBE     string
		wantHeader string // WWW-Authenticate
	}{
		{"no token", "", 401, "", "Bearer"},
		{"other scheme", "Basic dXNlcjpwYXNz", 401, "", "Bearer"},
		{"garbage", "Bearer not.a.jwt", 401, "", `Bearer error="invalid_token"`},
		{"signed with another key", "Bearer " + signRS256(t, other, "k1", claims(nil)), 401, "", `Bearer error="invalid_token"`},
		{"unknown kid", "Bearer " + signRS256(t, other, "k9", claims(nil)), 401, "", `Bearer error="invalid_token"`},
		{"expired", "Bearer " + signRS256(t, key, "k1", claims(map[string]any{"exp": now.Add(-time.Hour).Unix()})), 401, "", `Bearer error="invalid_token"`},
		{"wrong issuer", "Bearer " + signRS256(t, key, "k1", claims(map[string]any{"iss": "https://evil.test"})), 401, "", `Bearer error="invalid_token"`},
		{"wrong audience", "Bearer " + signRS256(t, key, "k1", claims(map[string]any{"aud": "billing"})), 401, "", `Bearer error="invalid_token"`},
		{"no role", "Bearer " + signRS256(t, key, "k1", claims(map[string]any{"roles": nil})), 403, "", `Bearer error="insufficient_scope"`},
		{"other role", "Bearer " + signRS256(t, key, "k1", claims(map[string]any{"roles": []string{"orders.write"}})), 403, "", `Bearer error="insufficient_scope"`},
		{"valid", "Bearer " + good, 200, "stable", ""},
		{"beta tester false", "Bearer " + signRS256(t, key, "k1", claims(map[string]any{"beta-tester": false})), 200, "stable", ""},
		{"beta tester", "Bearer " + signRS256(t, key, "k1", claims(map[string]any{"beta-tester": true})), 200, "canary", ""},
		{"beta tester without role", "Bearer " + signRS256(t, key, "k1", claims(map[string]any{"beta-tester": true, "roles": nil})), 403, "", `Bearer error="insufficient_scope"`},
	}
	for _, tt := range tests {
		var hdr []string
		if tt.auth != "" {
			hdr = []string{"Authorization", tt.auth}
		}
		// A client cannot pass its own X-User-Id.
		hdr = append(hdr, "X-User-Id", "admin")
		code, _, h := get(t, nil, gw.URL+"/api/orders/1", hdr...)
		if code != tt.wantCode || h.Get("X-Backend") != tt.wantBE || h.Get("WWW-Authenticate") != tt.wantHeader {
			t.Errorf("%s: GET /api/orders/1 = %d from %q, WWW-Authenticate %q; want %d from %q, %q",
				tt.name, code, h.Get("X-Backend"), h.Get("WWW-Authenticate"), tt.wantCode, tt.wantBE, tt.wantHeader)
			continue
		}
		if code == 200 {
			if got := h.Get("X-Saw-User"); got != "user-42" {
				t.Errorf("%s: backend saw X-User-Id %q, want user-42 from the token's sub", tt.name, got)
			}
			if got := h.Get("X-Saw-Auth"); got != tt.auth {
				t.Errorf("%s: backend saw Authorization %q, want the token relayed", tt.name, got)
			}
		}
	}
}
