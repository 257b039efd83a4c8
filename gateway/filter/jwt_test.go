package filter

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	jwtTestIssuer   = "https://issuer.test/realms/demo"
	jwtTestAudience = "switchboard"
	jwtTestSecret   = "0123456789abcdef0123456789abcdef-not-for-production"
)

// jwtIssuer is a small identity provider: it serves a JWK set, which a test
// can replace (key rotation), slow down or break, and counts the fetches.
type jwtIssuer struct {
	URL  string
	hits atomic.Int64

	mu     sync.Mutex // guards the fields below
	keys   []map[string]any
	status int
	delay  time.Duration
}

func jwtStartIssuer(t testing.TB, keys ...map[string]any) *jwtIssuer {
	t.Helper()
	s := &jwtIssuer{keys: keys, status: http.StatusOK}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		body, _ := json.Marshal(map[string]any{"keys": s.keys})
		status, delay := s.status, s.delay
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/protocol/openid-connect/certs"
	return s
}

func (s *jwtIssuer) serve(status int, delay time.Duration, keys ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys, s.status, s.delay = keys, status, delay
}

func jwtB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwtPublicJWK is key's public half as a JWK; alg "" leaves alg and use out.
func jwtPublicJWK(t testing.TB, kid, alg string, key any) map[string]any {
	t.Helper()
	m := map[string]any{"kid": kid}
	if alg != "" {
		m["alg"], m["use"] = alg, "sig"
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		m["kty"], m["n"], m["e"] = "RSA", jwtB64(k.N.Bytes()), jwtB64(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PrivateKey:
		p, err := k.PublicKey.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		n := (len(p) - 1) / 2
		m["kty"], m["crv"], m["x"], m["y"] = "EC", k.Curve.Params().Name, jwtB64(p[1:1+n]), jwtB64(p[1+n:])
	case []byte:
		m["kty"], m["k"] = "oct", jwtB64(k)
	default:
		t.Fatalf("jwtPublicJWK: %T", key)
	}
	return m
}

func jwtRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func jwtECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// jwtClaims are claims the test filters accept, with changes: a nil value
// removes a claim.
func jwtClaims(changes jwt.MapClaims) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": jwtTestIssuer,
		"aud": jwtTestAudience,
		"sub": "alice",
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func jwtSign(t testing.TB, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", m.Alg(), err)
	}
	return s
}

// jwtFixture is an issuer with an RSA and an ECDSA key, a JWKS fed from it,
// and a shared secret.
type jwtFixture struct {
	rsa    *rsa.PrivateKey
	small  *rsa.PrivateKey // 1024 bits, published but too weak to accept
	ec     *ecdsa.PrivateKey
	issuer *jwtIssuer
	jwks   *JWKS
}

func jwtSetup(t testing.TB) *jwtFixture {
	t.Helper()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	fx := &jwtFixture{rsa: jwtRSAKey(t), small: small, ec: jwtECKey(t)}
	fx.issuer = jwtStartIssuer(t,
		jwtPublicJWK(t, "rsa-1", "RS256", fx.rsa),
		jwtPublicJWK(t, "ec-1", "ES256", fx.ec),
		jwtPublicJWK(t, "rsa-noalg", "", fx.rsa),
		jwtPublicJWK(t, "rsa-1024", "RS256", fx.small),
		jwtPublicJWK(t, "oct-1", "", []byte("a symmetric key that must never verify anything")),
	)
	fx.jwks = jwtNewJWKS(t, JWKSConfig{URI: fx.issuer.URL})
	return fx
}

// jwtNewJWKS builds a JWKS and loads it, as the gateway does before serving.
func jwtNewJWKS(t testing.TB, cfg JWKSConfig) *JWKS {
	t.Helper()
	j, err := NewJWKS(cfg)
	if err != nil {
		t.Fatalf("NewJWKS(%+v): %v", cfg, err)
	}
	if err := j.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	return j
}

func (fx *jwtFixture) config(changes func(*JWTConfig)) JWTConfig {
	cfg := JWTConfig{JWKS: fx.jwks}
	cfg.Issuer = jwtTestIssuer
	cfg.Audiences = []string{"other", jwtTestAudience}
	if changes != nil {
		changes(&cfg)
	}
	return cfg
}

func jwtMustFilter(t testing.TB, cfg JWTConfig) Filter {
	t.Helper()
	f, err := JWT(cfg)
	if err != nil {
		t.Fatalf("JWT: %v", err)
	}
	return f
}

// jwtGateway serves f in front of a reverse proxy to a backend that answers
// with the request headers it got, as JSON.
func jwtGateway(t testing.TB, filters ...Filter) string {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(r.Header)
	}))
	t.Cleanup(backend.Close)
	target, err := url.Parse(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
	for i := len(filters) - 1; i >= 0; i-- {
		h = filters[i](h)
	}
	gw := httptest.NewServer(h)
	t.Cleanup(gw.Close)
	return gw.URL
}

type jwtResult struct {
	status    int
	challenge string      // WWW-Authenticate
	body      string      // when the gateway answered itself
	upstream  http.Header // what the backend got
}

// jwtGet sends GET / with header to the gateway at gw.
func jwtGet(t testing.TB, gw string, header http.Header) jwtResult {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", gw+"/orders/42", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", gw, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	res := jwtResult{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate")}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(buf.Bytes(), &res.upstream); err != nil {
			t.Fatalf("backend answer %q: %v", buf.String(), err)
		}
	} else {
		res.body = buf.String()
	}
	return res
}

func jwtBearerHeader(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func TestJWTAccepts(t *testing.T) {
	t.Parallel()
	fx := jwtSetup(t)
	gw := jwtGateway(t, jwtMustFilter(t, fx.config(func(c *JWTConfig) { c.Secret = jwtTestSecret })))
	tests := []struct {
		name   string
		header string
	}{
		{"RS256 from the JWKS", "Bearer " + jwtSign(t, jwt.SigningMethodRS256, fx.rsa, "rsa-1", jwtClaims(nil))},
		{"ES256 from the JWKS", "Bearer " + jwtSign(t, jwt.SigningMethodES256, fx.ec, "ec-1", jwtClaims(nil))},
		{"HS256 with the secret", "Bearer " + jwtSign(t, jwt.SigningMethodHS256, []byte(jwtTestSecret), "", jwtClaims(nil))},
		{"RS256 without kid tries the JWKS keys", "Bearer " + jwtSign(t, jwt.SigningMethodRS256, fx.rsa, "", jwtClaims(nil))},
		{"ES256 without kid", "Bearer " + jwtSign(t, jwt.SigningMethodES256, fx.ec, "", jwtClaims(nil))},
		{"expired within the clock skew", "Bearer " + jwtSign(t, jwt.SigningMethodRS256, fx.rsa, "rsa-1",
			jwtClaims(jwt.MapClaims{"exp": time.Now().Add(-10 * time.Second).Unix()}))},
		{"nbf within the clock skew", "Bearer " + jwtSign(t, jwt.SigningMethodRS256, fx.rsa, "rsa-1",
			jwtClaims(jwt.MapClaims{"nbf": time.Now().Add(10 * time.Second).Unix()}))},
		{"aud array with one accepted", "Bearer " + jwtSign(t, jwt.SigningMethodRS256, fx.rsa, "rsa-1",
			jwtClaims(jwt.MapClaims{"aud": []string{"account", jwtTestAudience}}))},
		{"lower-case scheme", "bearer " + jwtSign(t, jwt.SigningMethodRS256, fx.rsa, "rsa-1", jwtClaims(nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := jwtGet(t, gw, http.Header{"Authorization": {tt.header}})
			if res.status != http.StatusOK {
				t.Fatalf("status %d (%s), want 200", res.status, res.body)
			}
			if got := res.upstream.Get("Authorization"); got != tt.header {
				t.Errorf("upstream Authorization = %q, want the client's %q", got, tt.header)
			}
		})
	}
}

func TestJWTRejects(t *testing.T) {
	t.Parallel()
	fx := jwtSetup(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	jwksOnly := jwtGateway(t, jwtMustFilter(t, fx.config(func(c *JWTConfig) { c.Logger = log })))
	withSecret := jwtGateway(t, jwtMustFilter(t, fx.config(func(c *JWTConfig) { c.Secret = jwtTestSecret; c.Logger = log })))

	rs := func(claims jwt.MapClaims) string { return jwtSign(t, jwt.SigningMethodRS256, fx.rsa, "rsa-1", claims) }
	pubDER, err := x509.MarshalPKIXPublicKey(&fx.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwtClaims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	valid := rs(jwtClaims(nil))
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + jwtB64([]byte(`{"iss":"`+jwtTestIssuer+`","aud":"switchboard","sub":"admin","exp":9999999999}`)) + "." + parts[2]
	crit := jwt.NewWithClaims(jwt.SigningMethodRS256, jwtClaims(nil))
	crit.Header["kid"], crit.Header["crit"] = "rsa-1", []string{"exp"}
	critTok, err := crit.SignedString(fx.rsa)
	if err != nil {
		t.Fatal(err)
	}
	const invalid = `Bearer error="invalid_token"`
	tests := []struct {
		name      string
		gw        string
		header    http.Header
		challenge string
	}{
		{"no Authorization", jwksOnly, nil, "Bearer"},
		{"Basic scheme", jwksOnly, http.Header{"Authorization": {"Basic YWxpY2U6c2VjcmV0"}}, "Bearer"},
		{"Bearer without token", jwksOnly, http.Header{"Authorization": {"Bearer"}}, invalid},
		{"not a JWT", jwksOnly, jwtBearerHeader("not-a-jwt"), invalid},
		{"characters outside b64token", jwksOnly, jwtBearerHeader(valid + " extra"), invalid},
		{"two Authorization headers", jwksOnly, http.Header{"Authorization": {"Bearer " + valid, "Bearer " + valid}}, invalid},
		{"token over 16 KiB", jwksOnly, jwtBearerHeader(rs(jwtClaims(jwt.MapClaims{"pad": strings.Repeat("x", 17<<10)}))), invalid},
		{"expired", jwksOnly, jwtBearerHeader(rs(jwtClaims(jwt.MapClaims{"exp": time.Now().Add(-2 * time.Minute).Unix()}))), invalid},
		{"no exp", jwksOnly, jwtBearerHeader(rs(jwtClaims(jwt.MapClaims{"exp": nil}))), invalid},
		{"nbf in the future", jwksOnly, jwtBearerHeader(rs(jwtClaims(jwt.MapClaims{"nbf": time.Now().Add(5 * time.Minute).Unix()}))), invalid},
		{"iat in the future", jwksOnly, jwtBearerHeader(rs(jwtClaims(jwt.MapClaims{"iat": time.Now().Add(5 * time.Minute).Unix()}))), invalid},
		{"other issuer", jwksOnly, jwtBearerHeader(rs(jwtClaims(jwt.MapClaims{"iss": "https://evil.test"}))), invalid},
		{"no issuer", jwksOnly, jwtBearerHeader(rs(jwtClaims(jwt.MapClaims{"iss": nil}))), invalid},
		{"other audience", jwksOnly, jwtBearerHeader(rs(jwtClaims(jwt.MapClaims{"aud": "account"}))), invalid},
		{"no audience", jwksOnly, jwtBearerHeader(rs(jwtClaims(jwt.MapClaims{"aud": nil}))), invalid},
		{"alg none", withSecret, jwtBearerHeader(none), invalid},
		{"alg confusion: HS256 keyed with the RSA public key, no secret", jwksOnly,
			jwtBearerHeader(jwtSign(t, jwt.SigningMethodHS256, pubPEM, "rsa-1", jwtClaims(nil))), invalid},
		{"alg confusion: HS256 keyed with the RSA public key, with a secret", withSecret,
			jwtBearerHeader(jwtSign(t, jwt.SigningMethodHS256, pubPEM, "rsa-1", jwtClaims(nil))), invalid},
		{"alg confusion: HS256 keyed with the public key DER", withSecret,
			jwtBearerHeader(jwtSign(t, jwt.SigningMethodHS256, pubDER, "rsa-1", jwtClaims(nil))), invalid},
		{"HS256 keyed with a JWKS oct key", withSecret,
			jwtBearerHeader(jwtSign(t, jwt.SigningMethodHS256, []byte("a symmetric key that must never verify anything"), "oct-1", jwtClaims(nil))), invalid},
		{"HS256 without a secret configured", jwksOnly,
			jwtBearerHeader(jwtSign(t, jwt.SigningMethodHS256, []byte(jwtTestSecret), "", jwtClaims(nil))), invalid},
		{"HS256 with another secret", withSecret,
			jwtBearerHeader(jwtSign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("k", 40)), "", jwtClaims(nil))), invalid},
		{"signed by another key under a known kid", jwksOnly,
			jwtBearerHeader(jwtSign(t, jwt.SigningMethodRS256, jwtRSAKey(t), "rsa-1", jwtClaims(nil))), invalid},
		{"signed by another key without kid", jwksOnly,
			jwtBearerHeader(jwtSign(t, jwt.SigningMethodES256, jwtECKey(t), "", jwtClaims(nil))), invalid},
		{"payload changed after signing", jwksOnly, jwtBearerHeader(tampered), invalid},
		{"unknown kid", jwksOnly, jwtBearerHeader(jwtSign(t, jwt.SigningMethodRS256, fx.rsa, "rsa-9", jwtClaims(nil))), invalid},
		{"RS384 not among the algorithms", jwksOnly,
			jwtBearerHeader(jwtSign(t, jwt.SigningMethodRS384, fx.rsa, "rsa-noalg", jwtClaims(nil))), invalid},
		{"ES256 token naming an RSA key", jwksOnly,
			jwtBearerHeader(jwtSign(t, jwt.SigningMethodES256, fx.ec, "rsa-noalg", jwtClaims(nil))), invalid},
		{"JWK alg differs from the token's", jwksOnly,
			jwtBearerHeader(jwtSign(t, jwt.SigningMethodES256, fx.ec, "rsa-1", jwtClaims(nil))), invalid},
		{"crit header", jwksOnly, jwtBearerHeader(critTok), invalid},
		{"RSA key under 2048 bits", jwksOnly, jwtBearerHeader(jwtSign(t, jwt.SigningMethodRS256, fx.small, "rsa-1024", jwtClaims(nil))), invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := jwtGet(t, tt.gw, tt.header)
			if res.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", res.status)
			}
			if res.challenge != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", res.challenge, tt.challenge)
			}
			for _, v := range tt.header["Authorization"] {
				if tok := strings.TrimPrefix(v, "Bearer "); len(tok) > 8 && strings.Contains(res.body, tok) {
					t.Errorf("the answer %q echoes the token", res.body)
				}
			}
		})
	}
	if !strings.Contains(logs.String(), "reason=") || !strings.Contains(logs.String(), "token is expired") {
		t.Errorf("debug log lacks the reasons:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), parts[1]) || strings.Contains(logs.String(), jwtTestSecret) {
		t.Errorf("debug log holds a token or the secret:\n%s", logs.String())
	}
}

func TestJWTRoles(t *testing.T) {
	t.Parallel()
	fx := jwtSetup(t)
	tests := []struct {
		name       string
		rolesClaim string
		roles      []string
		claims     jwt.MapClaims
		want       int
	}{
		{"array", "", []string{"admin"}, jwt.MapClaims{"roles": []string{"user", "admin"}}, 200},
		{"space-separated", "", []string{"admin"}, jwt.MapClaims{"roles": "user admin"}, 200},
		{"comma-separated", "", []string{"admin"}, jwt.MapClaims{"roles": "user,admin"}, 200},
		{"every role needed", "", []string{"admin", "ops"}, jwt.MapClaims{"roles": []string{"ops", "admin"}}, 200},
		{"one of two roles", "", []string{"admin", "ops"}, jwt.MapClaims{"roles": []string{"admin"}}, 403},
		{"missing role", "", []string{"admin"}, jwt.MapClaims{"roles": []string{"user"}}, 403},
		{"prefix is not the role", "", []string{"admin"}, jwt.MapClaims{"roles": "administrator"}, 403},
		{"no roles claim", "", []string{"admin"}, nil, 403},
		{"roles of another type", "", []string{"admin"}, jwt.MapClaims{"roles": map[string]any{"admin": true}}, 403},
		{"Keycloak realm roles", "realm_access.roles", []string{"admin"},
			jwt.MapClaims{"realm_access": map[string]any{"roles": []string{"offline_access", "admin"}}}, 200},
		{"Keycloak realm roles missing", "realm_access.roles", []string{"admin"},
			jwt.MapClaims{"realm_access": map[string]any{"roles": []string{"offline_access"}}}, 403},
		{"scope claim", "scope", []string{"orders:write"}, jwt.MapClaims{"scope": "openid orders:read orders:write"}, 200},
		{"claim name with dots", "https://example.com/roles", []string{"admin"},
			jwt.MapClaims{"https://example.com/roles": []string{"admin"}}, 200},
		{"no roles required", "", nil, nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gw := jwtGateway(t, jwtMustFilter(t, fx.config(func(c *JWTConfig) {
				c.Roles = tt.roles
				if tt.rolesClaim != "" {
					c.RolesClaim = tt.rolesClaim
				}
			})))
			res := jwtGet(t, gw, jwtBearerHeader(jwtSign(t, jwt.SigningMethodES256, fx.ec, "ec-1", jwtClaims(tt.claims))))
			if res.status != tt.want {
				t.Fatalf("status %d, want %d", res.status, tt.want)
			}
			if tt.want == 403 && res.challenge != `Bearer error="insufficient_scope"` {
				t.Errorf("WWW-Authenticate = %q, want insufficient_scope", res.challenge)
			}
		})
	}
}

func TestJWTClaimHeaders(t *testing.T) {
	t.Parallel()
	fx := jwtSetup(t)
	gw := jwtGateway(t, jwtMustFilter(t, fx.config(func(c *JWTConfig) {
		c.ClaimHeaders = map[string]string{
			"sub":                "X-User-Id",
			"email":              "x-user-email",
			"beta-tester":        "X-Beta-Tester",
			"realm_access.roles": "X-Roles",
			"tenant":             "X-Tenant",
			"big":                "X-Big",
			"profile":            "X-Profile",
			"missing":            "X-Missing",
		}
	})))
	long := strings.Repeat("é", 1000) // 2000 bytes
	tok := jwtSign(t, jwt.SigningMethodRS256, fx.rsa, "rsa-1", jwtClaims(jwt.MapClaims{
		"sub":          "alice\r\nX-Injected: 1",
		"email":        long,
		"beta-tester":  true,
		"realm_access": map[string]any{"roles": []any{"user", "beta", 7}},
		"tenant":       "acme\x00corp",
		"big":          json.Number("12345678901234567890"),
		"profile":      map[string]any{"a": 1},
	}))
	header := jwtBearerHeader(tok)
	header["X-User-Id"] = []string{"mallory"}
	header["X_user_id"] = []string{"mallory"}
	header["X-Profile"] = []string{"spoofed"}
	header["X-Missing"] = []string{"spoofed"}
	header["X-Other"] = []string{"kept"}
	res := jwtGet(t, gw, header)
	if res.status != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", res.status, res.body)
	}
	want := map[string][]string{
		"X-User-Id":     {"aliceX-Injected: 1"},
		"X-Beta-Tester": {"true"},
		"X-Roles":       {"user,beta,7"},
		"X-Tenant":      {"acmecorp"},
		"X-Big":         {"12345678901234567890"},
		"X-Profile":     nil,
		"X-Missing":     nil,
		"X-Injected":    nil,
		"X_user_id":     nil,
		"X-Other":       {"kept"},
	}
	for name, w := range want {
		if got := res.upstream[name]; fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("upstream %s = %q, want %q", name, got, w)
		}
	}
	email := res.upstream.Get("X-User-Email")
	if len(email) != 1024 || !strings.HasPrefix(long, email) {
		t.Errorf("upstream X-User-Email is %d bytes, want the first 1024 of the claim", len(email))
	}
}

func TestJWTContext(t *testing.T) {
	t.Parallel()
	fx := jwtSetup(t)
	f := jwtMustFilter(t, fx.config(func(c *JWTConfig) {
		c.RelayToken = new(false)
		c.ClaimHeaders = map[string]string{"sub": "X-User-Id"}
	}))
	var sub, tenant, auth string
	h := f(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, auth = Subject(r), r.Header.Get("Authorization")
		tenant, _ = Claims(r)["tenant"].(string)
	}))
	r := httptest.NewRequest("GET", "/orders", nil)
	r.Header.Set("Authorization", "Bearer "+jwtSign(t, jwt.SigningMethodRS256, fx.rsa, "rsa-1", jwtClaims(jwt.MapClaims{"tenant": "acme"})))
	r.Header.Set("X-User-Id", "mallory")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || sub != "alice" || tenant != "acme" || auth != "" {
		t.Errorf("got status %d, Subject %q, tenant %q, Authorization %q; want 200, alice, acme, none", w.Code, sub, tenant, auth)
	}
	if r.Header.Get("X-User-Id") != "mallory" || r.Header.Get("Authorization") == "" {
		t.Errorf("the filter changed the client's request: %v", r.Header)
	}
	if Claims(r) != nil || Subject(r) != "" {
		t.Errorf("Claims and Subject of a request no JWT filter saw = %v, %q; want nil, \"\"", Claims(r), Subject(r))
	}
}

func TestJWTKeyRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := jwtRSAKey(t), jwtRSAKey(t)
	iss := jwtStartIssuer(t, jwtPublicJWK(t, "2025", "RS256", oldKey))
	jwks, err := NewJWKS(JWKSConfig{URI: iss.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- jwks.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); jwks.keys.Load() == nil; {
		if time.Now().After(deadline) {
			t.Fatal("Run did not load the keys within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cfg := JWTConfig{JWKS: jwks}
	gw := jwtGateway(t, jwtMustFilter(t, cfg))
	oldTok := jwtSign(t, jwt.SigningMethodRS256, oldKey, "2025", jwtClaims(nil))
	if res := jwtGet(t, gw, jwtBearerHeader(oldTok)); res.status != 200 {
		t.Fatalf("old key before rotation: status %d, want 200", res.status)
	}

	iss.serve(http.StatusOK, 0, jwtPublicJWK(t, "2026", "RS256", newKey))
	before := iss.hits.Load()
	newTok := jwtSign(t, jwt.SigningMethodRS256, newKey, "2026", jwtClaims(nil))
	if res := jwtGet(t, gw, jwtBearerHeader(newTok)); res.status != 200 {
		t.Fatalf("new kid after rotation: status %d, want 200", res.status)
	}
	if n := iss.hits.Load() - before; n != 1 {
		t.Errorf("the unknown kid caused %d fetches, want 1", n)
	}
	if res := jwtGet(t, gw, jwtBearerHeader(oldTok)); res.status != 401 {
		t.Errorf("old kid after rotation: status %d, want 401", res.status)
	}
	forged := jwtSign(t, jwt.SigningMethodRS256, newKey, "forged", jwtClaims(nil))
	for range 5 {
		jwtGet(t, gw, jwtBearerHeader(forged))
	}
	if n := iss.hits.Load() - before; n != 1 {
		t.Errorf("after unknown kids within UnknownKIDInterval, %d fetches, want still 1", n)
	}
}

func TestJWKSFirstFetchIsShared(t *testing.T) {
	t.Parallel()
	key := jwtRSAKey(t)
	iss := jwtStartIssuer(t, jwtPublicJWK(t, "k1", "RS256", key))
	iss.serve(http.StatusOK, 100*time.Millisecond, jwtPublicJWK(t, "k1", "RS256", key))
	jwks, err := NewJWKS(JWKSConfig{URI: iss.URL}) // neither run nor refreshed
	if err != nil {
		t.Fatal(err)
	}
	cfg := JWTConfig{JWKS: jwks}
	gw := jwtGateway(t, jwtMustFilter(t, cfg))
	tok := jwtSign(t, jwt.SigningMethodRS256, key, "k1", jwtClaims(nil))
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Go(func() { statuses[i] = jwtGet(t, gw, jwtBearerHeader(tok)).status })
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Errorf("request %d: status %d, want 200", i, s)
		}
	}
	if n := iss.hits.Load(); n != 1 {
		t.Errorf("20 concurrent first requests fetched the set %d times, want 1", n)
	}
}

func TestJWKSRun(t *testing.T) {
	t.Parallel()
	key := jwtRSAKey(t)
	iss := jwtStartIssuer(t)
	iss.serve(http.StatusServiceUnavailable, 0)
	jwks, err := NewJWKS(JWKSConfig{
		URI:                iss.URL,
		RefreshInterval:    time.Hour,
		UnknownKIDInterval: 10 * time.Millisecond, // Run's retry delay
		Logger:             slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- jwks.Run(ctx) }()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10s", what)
			}
		}
	}
	waitFor("retries after failures", func() bool { return iss.hits.Load() >= 3 })
	if jwks.keys.Load() != nil {
		t.Fatal("keys loaded from a 503")
	}
	iss.serve(http.StatusOK, 0, jwtPublicJWK(t, "k1", "RS256", key))
	waitFor("keys after the issuer recovers", func() bool { return jwks.keys.Load() != nil })
	settled := iss.hits.Load()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context ending")
	}
	if n := iss.hits.Load(); n != settled {
		t.Errorf("%d fetches after loading with a 1h refresh interval, want 0", n-settled)
	}
}

func TestJWKSRefreshInterval(t *testing.T) {
	t.Parallel()
	iss := jwtStartIssuer(t, jwtPublicJWK(t, "k1", "ES256", jwtECKey(t)))
	jwks, err := NewJWKS(JWKSConfig{URI: iss.URL, RefreshInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- jwks.Run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); iss.hits.Load() < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d fetches in 10s with a 10ms refresh interval, want 3", iss.hits.Load())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

func TestJWTConfigErrors(t *testing.T) {
	t.Parallel()
	iss := jwtStartIssuer(t)
	jwks, err := NewJWKS(JWKSConfig{URI: iss.URL})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  JWTConfig
		want []string
	}{
		{"no keys", JWTConfig{}, []string{"no keys: set jwks-uri, secret or both"}},
		{"short secret", JWTConfig{Secret: "short"}, []string{"secret: 5 bytes is too short for HS256; want at least 32"}},
		{"secret too short for HS512", JWTConfig{Secret: jwtTestSecret[:40], Algorithms: []string{"HS512"}},
			[]string{"secret: 40 bytes is too short for HS512; want at least 64"}},
		{"none", JWTConfig{JWKS: jwks, Algorithms: []string{"RS256", "none"}}, []string{`algorithms: "none" is never accepted`}},
		{"unknown algorithm", JWTConfig{JWKS: jwks, Algorithms: []string{"RS257"}},
			[]string{`algorithms: unknown "RS257"; known: ES256, ES384, ES512, HS256, HS384, HS512, PS256, PS384, PS512, RS256, RS384, RS512`}},
		{"HMAC without secret", JWTConfig{JWKS: jwks, Algorithms: []string{"HS256"}}, []string{"algorithms: HS256 needs a secret"}},
		{"RSA without JWKS", JWTConfig{Secret: jwtTestSecret, Algorithms: []string{"RS256"}}, []string{"algorithms: RS256 needs a jwks-uri"}},
		{"every problem at once", JWTConfig{
			Secret:       "short",
			ClockSkew:    -time.Second,
			Audiences:    []string{""},
			Roles:        []string{"a b"},
			ClaimHeaders: map[string]string{"sub": "X User", "email": "Authorization", "a": "X-A", "b": "x_a"},
		}, []string{
			"secret: 5 bytes is too short for HS256; want at least 32",
			"clock-skew: -1s is negative",
			"audiences: empty audience",
			`roles: "a b" is not a role name; want no spaces or commas`,
			`claim-headers.b: header "x_a" is also set from claim "a"`,
			`claim-headers.email: header "Authorization" cannot carry a claim`,
			`claim-headers.sub: "X User" is not a header name`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := JWT(tt.cfg)
			if err == nil {
				t.Fatalf("JWT(%+v) = nil error, want %q", tt.cfg, tt.want)
			}
			if got := strings.Split(err.Error(), "\n"); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("JWT error:\n%s\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
		})
	}
	if _, err := ClaimPredicate(JWTConfig{JWKS: jwks}, "", "(unclosed"); err == nil ||
		!strings.Contains(err.Error(), "claim: missing") || !strings.Contains(err.Error(), `regexp: "(unclosed"`) {
		t.Errorf("ClaimPredicate with no claim and a bad regexp: error %v", err)
	}
	for _, cfg := range []JWKSConfig{{URI: "/certs"}, {URI: "ftp://idp/certs"}, {URI: "https://idp/certs", Timeout: -1}} {
		if _, err := NewJWKS(cfg); err == nil {
			t.Errorf("NewJWKS(%+v) = nil error", cfg)
		}
	}
}

func TestClaimPredicate(t *testing.T) {
	t.Parallel()
	fx := jwtSetup(t)
	beta, err := ClaimPredicate(fx.config(nil), "beta-tester", "true")
	if err != nil {
		t.Fatal(err)
	}
	canary, err := ClaimPredicate(fx.config(nil), "realm_access.roles", "canary|beta")
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := ClaimPredicate(fx.config(nil), "tenant", "")
	if err != nil {
		t.Fatal(err)
	}
	sign := func(c jwt.MapClaims) string {
		return "Bearer " + jwtSign(t, jwt.SigningMethodRS256, fx.rsa, "rsa-1", jwtClaims(c))
	}
	tests := []struct {
		name   string
		pred   func(*http.Request) bool
		header string
		want   bool
	}{
		{"boolean true", beta, sign(jwt.MapClaims{"beta-tester": true}), true},
		{"string true", beta, sign(jwt.MapClaims{"beta-tester": "true"}), true},
		{"false", beta, sign(jwt.MapClaims{"beta-tester": false}), false},
		{"partial match is no match", beta, sign(jwt.MapClaims{"beta-tester": "untrue"}), false},
		{"claim missing", beta, sign(nil), false},
		{"no token", beta, "", false},
		{"expired token", beta, sign(jwt.MapClaims{"beta-tester": true, "exp": time.Now().Add(-time.Hour).Unix()}), false},
		{"forged token", beta, "Bearer " + jwtSign(t, jwt.SigningMethodHS256, []byte(jwtTestSecret), "", jwtClaims(jwt.MapClaims{"beta-tester": true})), false},
		{"array element", canary, sign(jwt.MapClaims{"realm_access": map[string]any{"roles": []string{"user", "canary"}}}), true},
		{"array without", canary, sign(jwt.MapClaims{"realm_access": map[string]any{"roles": []string{"user"}}}), false},
		{"any value", tenant, sign(jwt.MapClaims{"tenant": "acme"}), true},
		{"any value, absent", tenant, sign(nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/orders", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			for i := range 2 { // the second time from the cache
				if got := tt.pred(r); got != tt.want {
					t.Errorf("call %d = %v, want %v", i+1, got, tt.want)
				}
			}
		})
	}
}

func TestClaimPredicateCachedDoesNotAllocate(t *testing.T) {
	fx := jwtSetup(t)
	beta, err := ClaimPredicate(fx.config(nil), "beta-tester", "true")
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/api/orders", nil)
	r.Header.Set("Authorization", "Bearer "+jwtSign(t, jwt.SigningMethodRS256, fx.rsa, "rsa-1", jwtClaims(jwt.MapClaims{"beta-tester": true})))
	if !beta(r) {
		t.Fatal("no match")
	}
	if n := testing.AllocsPerRun(100, func() { beta(r) }); n != 0 {
		t.Errorf("a cached JwtClaim match allocates %v times, want 0", n)
	}
}

func TestJWTB64TokenBytes(t *testing.T) {
	t.Parallel()
	for c := range 256 {
		b := byte(c)
		want := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte("-._~+/=", b) >= 0
		if got := jwtIsB64TokenByte(b); got != want {
			t.Errorf("jwtIsB64TokenByte(%q) = %v, want %v", b, got, want)
		}
	}
}

func TestJWTCacheBounded(t *testing.T) {
	t.Parallel()
	c := &jwtCache{entries: map[string]jwtCacheEntry{}}
	now := time.Now()
	for i := range 5 * jwtCacheSize {
		c.put(fmt.Sprint("token-", i), jwtCacheEntry{match: true, expires: now.Add(time.Minute)}, now)
	}
	if n := len(c.entries); n > jwtCacheSize {
		t.Errorf("cache holds %d entries, want at most %d", n, jwtCacheSize)
	}
	c.put("expired", jwtCacheEntry{match: true, expires: now.Add(time.Second)}, now)
	if _, ok := c.get("expired", now.Add(2*time.Second)); ok {
		t.Error("an entry past its expiry was returned")
	}
}

func TestTokenRelay(t *testing.T) {
	t.Parallel()
	fx := jwtSetup(t)
	tok := jwtSign(t, jwt.SigningMethodES256, fx.ec, "ec-1", jwtClaims(nil))
	stripping := jwtMustFilter(t, fx.config(func(c *JWTConfig) { c.RelayToken = new(false) }))

	if res := jwtGet(t, jwtGateway(t, stripping), jwtBearerHeader(tok)); res.status != 200 || res.upstream.Get("Authorization") != "" {
		t.Errorf("JWT with relay-token false: status %d, upstream Authorization %q; want 200 and none",
			res.status, res.upstream.Get("Authorization"))
	}
	if res := jwtGet(t, jwtGateway(t, stripping, TokenRelay()), jwtBearerHeader(tok)); res.status != 200 || res.upstream.Get("Authorization") != "Bearer "+tok {
		t.Errorf("JWT then TokenRelay: status %d, upstream Authorization %q; want 200 and the token", res.status, res.upstream.Get("Authorization"))
	}
	relaying := jwtMustFilter(t, fx.config(nil))
	if res := jwtGet(t, jwtGateway(t, relaying, TokenRelay()), jwtBearerHeader(tok)); res.status != 200 || res.upstream.Get("Authorization") != "Bearer "+tok {
		t.Errorf("JWT relaying, then TokenRelay: status %d, upstream Authorization %q; want 200 and the token", res.status, res.upstream.Get("Authorization"))
	}
	res := jwtGet(t, jwtGateway(t, TokenRelay()), jwtBearerHeader(tok))
	if res.status != 401 || res.challenge != "Bearer" {
		t.Errorf("TokenRelay without JWT: status %d, WWW-Authenticate %q; want 401, Bearer", res.status, res.challenge)
	}
}

// FuzzJWT sends arbitrary Authorization headers: the filter must not panic,
// must answer 401 or 403 or pass, and may pass only tokens that a plain
// parser verifies with the issuer's keys.
func FuzzJWT(f *testing.F) {
	fx := jwtSetup(f)
	cfg := fx.config(func(c *JWTConfig) {
		c.Secret = jwtTestSecret
		c.ClaimHeaders = map[string]string{"sub": "X-User-Id", "realm_access.roles": "X-Roles"}
	})
	h := jwtMustFilter(f, cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, s := range []string{
		"", "Bearer", "Bearer ", "bearer x", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer a.b.c", "Bearer ....",
		"Bearer " + jwtSign(f, jwt.SigningMethodRS256, fx.rsa, "rsa-1", jwtClaims(nil)),
		"Bearer " + jwtSign(f, jwt.SigningMethodES256, fx.ec, "", jwtClaims(jwt.MapClaims{"sub": 7})),
		"Bearer " + jwtSign(f, jwt.SigningMethodHS256, []byte(jwtTestSecret), "", jwtClaims(jwt.MapClaims{"realm_access": "x"})),
		"Bearer " + jwtSign(f, jwt.SigningMethodRS256, fx.rsa, "rsa-1", jwtClaims(jwt.MapClaims{"exp": "soon"})),
		"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.",
		"Bearer eyJhbGciOiJIUzI1NiIsImtpZCI6InJzYS0xIn0.e30.AAAA",
	} {
		f.Add(s)
	}
	verify := jwt.NewParser(jwt.WithValidMethods([]string{"RS256", "ES256", "HS256"}), jwt.WithExpirationRequired(),
		jwt.WithLeeway(time.Minute), jwt.WithIssuer(jwtTestIssuer))
	keyFor := func(t *jwt.Token) (any, error) {
		switch t.Method.Alg() {
		case "RS256":
			return &fx.rsa.PublicKey, nil
		case "ES256":
			return &fx.ec.PublicKey, nil
		}
		return []byte(jwtTestSecret), nil
	}
	f.Fuzz(func(t *testing.T, auth string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = []string{auth}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			tok := strings.TrimSpace(auth)[len("Bearer "):]
			if _, err := verify.Parse(strings.TrimSpace(tok), keyFor); err != nil {
				t.Fatalf("passed %q, which does not verify: %v", auth, err)
			}
		case http.StatusUnauthorized, http.StatusForbidden:
			if tok := strings.TrimSpace(strings.TrimPrefix(auth, "Bearer ")); len(tok) > 16 && strings.Contains(w.Body.String(), tok) {
				t.Fatalf("answer %q echoes the token", w.Body.String())
			}
		default:
			t.Fatalf("status %d for %q", w.Code, auth)
		}
	})
}

func BenchmarkJWT(b *testing.B) {
	fx := jwtSetup(b)
	h := jwtMustFilter(b, fx.config(func(c *JWTConfig) { c.Secret = jwtTestSecret }))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, bm := range []struct {
		name string
		tok  string
	}{
		{"RS256", jwtSign(b, jwt.SigningMethodRS256, fx.rsa, "rsa-1", jwtClaims(nil))},
		{"ES256", jwtSign(b, jwt.SigningMethodES256, fx.ec, "ec-1", jwtClaims(nil))},
		{"HS256", jwtSign(b, jwt.SigningMethodHS256, []byte(jwtTestSecret), "", jwtClaims(nil))},
	} {
		b.Run(bm.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/orders/42", nil)
			r.Header.Set("Authorization", "Bearer "+bm.tok)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		})
	}
}

func BenchmarkClaimPredicateCached(b *testing.B) {
	fx := jwtSetup(b)
	p, err := ClaimPredicate(fx.config(nil), "beta-tester", "true")
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/api", nil)
	r.Header.Set("Authorization", "Bearer "+jwtSign(b, jwt.SigningMethodRS256, fx.rsa, "rsa-1", jwtClaims(jwt.MapClaims{"beta-tester": true})))
	b.ReportAllocs()
	for b.Loop() {
		if !p(r) {
			b.Fatal("no match")
		}
	}
}
