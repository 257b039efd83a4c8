package filter

// JWT is Switchboard's own filter; Spring Cloud Gateway leaves bearer tokens
// to Spring Security's resource server (spring.security.oauth2.resourceserver.jwt),
// whose behaviour it follows: a missing token gets 401 with a bare
// "WWW-Authenticate: Bearer", a bad one 401 with error="invalid_token", a
// valid one without the required roles 403 with error="insufficient_scope"
// (RFC 6750 §3).

import (
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

const (
	jwtDefaultClockSkew = 30 * time.Second
	jwtMaxTokenLen      = 16 << 10 // bytes; larger bearer tokens are refused unparsed
	jwtMaxHeaderValue   = 1024     // bytes of a claim relayed in a header
	jwtMinRSABits       = 2048
	jwtCacheSize        = 1024        // validated tokens a JwtClaim predicate remembers
	jwtCacheTTL         = time.Minute // at most; never past the token's exp
)

// JWTConfig holds JWT's arguments, as spelled in application.yml. The zero
// value of each field means its default.
type JWTConfig struct {
	// JWKS verifies RSA and ECDSA signatures with the keys published at the
	// jwks-uri argument. It is not itself written in YAML: the loader builds
	// one JWKS per distinct jwks-uri with NewJWKS, runs it for as long as the
	// gateway runs, and shares it between the JWT filters and JwtClaim
	// predicates that name that URI. Nil: no JWKS.
	JWKS *JWKS
	// Secret is the secret argument: the shared HMAC key as UTF-8 bytes, at
	// least as long as the hash (32 bytes for HS256, RFC 7518 §3.2). Empty:
	// no HMAC tokens.
	Secret string
	// Algorithms is the algorithms argument (Spring's jws-algorithms): the
	// "alg" header values accepted. The default is RS256 and ES256 when JWKS
	// is set, and HS256 when Secret is set. Known: RS256, RS384, RS512,
	// PS256, PS384, PS512, ES256, ES384, ES512 (verified with JWKS keys only)
	// and HS256, HS384, HS512 (verified with Secret only). "none" is never
	// accepted.
	Algorithms []string
	// Issuer is the issuer argument: the "iss" claim must equal it. Empty:
	// not checked.
	Issuer string
	// Audiences is the audiences argument: the "aud" claim must hold at least
	// one of them. Empty: not checked.
	Audiences []string
	// ClockSkew is the clock-skew argument: how far "exp", "nbf" and "iat"
	// may be off. 0 means the default, 30s.
	ClockSkew time.Duration
	// Roles is the roles argument: every one of them must be among the
	// token's roles, or the answer is 403. Empty: any valid token passes.
	Roles []string
	// RolesClaim is the roles-claim argument: where the token lists its
	// roles, as an array of strings or one string separated by spaces or
	// commas (an OAuth2 "scope"). A dotted path reaches into objects, as
	// "realm_access.roles" for Keycloak; a claim whose own name holds the
	// dots, as Auth0's "https://example.com/roles", is found first. Default
	// "roles".
	RolesClaim string
	// ClaimHeaders is the claim-headers.<claim> argument: claim name (or
	// dotted path) to request header, as sub: X-User-Id. The headers are
	// removed from every request first, also when spelt with '_' for '-',
	// so clients cannot set them. Strings, numbers, booleans and arrays of
	// them (joined with ",") are relayed; control characters are dropped and
	// values are cut to 1024 bytes. Objects are not relayed.
	ClaimHeaders map[string]string
	// RelayToken is the relay-token argument: send the Authorization header
	// upstream. Nil means true; false removes it (TokenRelay puts it back).
	RelayToken *bool
	// Logger gets each rejection's reason at debug level. Nil: slog.Default().
	Logger *slog.Logger
}

// JWT checks the bearer token in the Authorization header (RFC 6750): its
// signature with an allowed algorithm, "exp" (required), "nbf", "iat",
// "iss", "aud" and the route's roles. A missing token gets 401 with
// "WWW-Authenticate: Bearer"; an invalid, expired or unverifiable one 401 with
// error="invalid_token"; a valid one without the roles 403 with
// error="insufficient_scope". The client never sees why; cfg.Logger gets the
// reason at debug level, never the token.
//
// A request that passes carries the token's claims in its context (see Claims
// and Subject) and the ClaimHeaders upstream.
func JWT(cfg JWTConfig) (Filter, error) {
	v, errs := newJWTValidator(cfg)
	f := &jwtFilter{v: v, relay: cfg.RelayToken == nil || *cfg.RelayToken, roles: cfg.Roles}
	rolesClaim := cfg.RolesClaim
	if rolesClaim == "" {
		rolesClaim = "roles"
	}
	f.rolesClaim = newJWTClaimPath(rolesClaim)
	for _, role := range cfg.Roles {
		if role == "" || strings.ContainsAny(role, " ,") {
			errs = append(errs, fmt.Errorf("roles: %q is not a role name; want no spaces or commas", role))
		}
	}
	seen := map[string]string{} // header, folded as jwtHeaderSame does -> claim
	for _, claim := range slices.Sorted(maps.Keys(cfg.ClaimHeaders)) {
		header := cfg.ClaimHeaders[claim]
		key := "claim-headers." + claim
		canon, err := jwtHeaderName(header)
		fold := strings.ReplaceAll(strings.ToLower(canon), "_", "-")
		switch {
		case claim == "":
			errs = append(errs, fmt.Errorf("claim-headers: empty claim name for header %q", header))
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		case seen[fold] != "":
			errs = append(errs, fmt.Errorf("%s: header %q is also set from claim %q", key, header, seen[fold]))
		default:
			seen[fold] = claim
			f.headers = append(f.headers, jwtClaimHeader{claim: newJWTClaimPath(claim), name: canon})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(f.headers, func(a, b jwtClaimHeader) int { return strings.Compare(a.name, b.name) })
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.serve(w, r, next) })
	}, nil
}

// Claims returns the claims of the token a JWT filter validated for r, or nil.
// Numbers are json.Number, objects map[string]any and arrays []any. The map
// is shared: read it, never change it.
func Claims(r *http.Request) map[string]any {
	if t, ok := r.Context().Value(jwtKey{}).(*jwtToken); ok {
		return t.claims
	}
	return nil
}

// Subject returns the "sub" claim of the token a JWT filter validated for r,
// or "" when there is none: the principal's name, for rate-limit keys such
// as Spring's principalNameKeyResolver.
func Subject(r *http.Request) string {
	s, _ := Claims(r)["sub"].(string)
	return s
}

// ClaimPredicate returns the JwtClaim predicate: it matches when the request
// carries a bearer token that cfg accepts and whose claim (a name or dotted
// path, as RolesClaim) has a value that pattern fully matches, like Spring's
// Header predicate: a string as is, a number as written, a boolean as "true"
// or "false", an array when one of its elements matches. An empty pattern
// matches any value. A missing or invalid token is no match, so the request
// falls through to a later route, whose JWT filter answers 401.
//
// It exists because predicates run before filters: a JWT filter's
// ClaimHeaders come too late for a Header predicate. Written as
//
//	predicates: [Path=/api/**, JwtClaim=beta-tester,true]
//
// (shortcut order: claim, regexp) ahead of the normal /api/** route, it sends
// beta testers to a canary. cfg says how to validate: JWKS, Secret,
// Algorithms, Issuer, Audiences and ClockSkew; its Roles, ClaimHeaders and
// RelayToken do not apply.
//
// Each predicate remembers the outcome for up to 1024 validated tokens, for a
// minute at most and never past their "exp", so a token is verified about
// once a minute rather than once per request; with the outcome cached, a match
// does not allocate. It never changes the request.
func ClaimPredicate(cfg JWTConfig, claim, pattern string) (func(*http.Request) bool, error) {
	v, errs := newJWTValidator(cfg)
	if claim == "" {
		errs = append(errs, errors.New("claim: missing; want a claim name such as beta-tester or realm_access.roles"))
	}
	var re *regexp.Regexp
	if pattern != "" {
		var err error
		if re, err = regexp.Compile("^(?:" + pattern + ")$"); err != nil {
			errs = append(errs, fmt.Errorf("regexp: %q: %w", pattern, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	path := newJWTClaimPath(claim)
	cache := &jwtCache{entries: map[string]jwtCacheEntry{}}
	return func(r *http.Request) bool {
		tok, err := jwtBearerUnchecked(r)
		if err != nil {
			return false
		}
		now := time.Now()
		if match, ok := cache.get(tok, now); ok { // only checked tokens are cached
			return match
		}
		if tok, err = jwtBearer(r); err != nil {
			return false
		}
		claims, err := v.validate(r.Context(), tok)
		if err != nil {
			v.debug(r, "JwtClaim predicate: token rejected", err)
			return false
		}
		val, _ := path.lookup(claims)
		match := jwtClaimMatches(val, re)
		expires := now.Add(jwtCacheTTL)
		if exp, _ := claims.GetExpirationTime(); exp != nil && exp.Before(expires) {
			expires = exp.Time
		}
		cache.put(tok, jwtCacheEntry{match: match, expires: expires}, now)
		return match
	}, nil
}

// jwtKey is the context key of the validated token.
type jwtKey struct{}

// jwtToken is what a JWT filter leaves in the request context.
type jwtToken struct {
	raw    string // the token, without "Bearer "
	claims jwt.MapClaims
}

var (
	errJWTMissing     = errors.New("no bearer token")
	errJWTMalformed   = errors.New("malformed Authorization header")
	errJWTTooLong     = errors.New("bearer token too long")
	errJWTAmbiguous   = errors.New("several Authorization headers")
	errJWTInvalid     = errors.New("invalid token")
	errJWTRoles       = errors.New("token lacks a required role")
	errJWTNotVerified = errors.New("no JWT filter validated a token before TokenRelay")
)

// jwtWriteError answers a rejected request: the one place that maps the
// errors above to a status and a WWW-Authenticate challenge.
func jwtWriteError(w http.ResponseWriter, err error) {
	h := w.Header()
	switch {
	case errors.Is(err, errJWTMissing), errors.Is(err, errJWTNotVerified):
		// RFC 6750 §3.1: no error code when the client sent no credentials.
		h.Set("WWW-Authenticate", "Bearer")
		http.Error(w, "bearer token required", http.StatusUnauthorized)
	case errors.Is(err, errJWTRoles):
		h.Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
		http.Error(w, "insufficient role", http.StatusForbidden)
	default:
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid bearer token", http.StatusUnauthorized)
	}
}

// jwtBearer returns the token of the request's "Authorization: Bearer"
// header. Another scheme counts as no token.
func jwtBearer(r *http.Request) (string, error) {
	tok, err := jwtBearerUnchecked(r)
	if err != nil {
		return "", err
	}
	for i := 0; i < len(tok); i++ {
		if !jwtIsB64TokenByte(tok[i]) {
			return "", errJWTMalformed
		}
	}
	return tok, nil
}

// jwtBearerUnchecked is jwtBearer without the check of every byte, for
// looking up tokens that were checked before.
func jwtBearerUnchecked(r *http.Request) (string, error) {
	vals := r.Header["Authorization"]
	switch len(vals) {
	case 0:
		return "", errJWTMissing
	case 1:
	default:
		return "", errJWTAmbiguous
	}
	v := strings.TrimSpace(vals[0])
	if len(v) < len("Bearer") || !strings.EqualFold(v[:len("Bearer")], "Bearer") {
		return "", errJWTMissing
	}
	tok := v[len("Bearer"):]
	if tok == "" || tok[0] != ' ' {
		return "", errJWTMalformed
	}
	tok = strings.TrimLeft(tok, " ")
	if tok == "" {
		return "", errJWTMalformed
	}
	if len(tok) > jwtMaxTokenLen {
		return "", errJWTTooLong
	}
	return tok, nil
}

// jwtIsB64TokenByte reports whether c may appear in an RFC 6750 b64token:
// ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" / "=". A bit mask,
// because JwtClaim predicates check every byte of the token per request.
func jwtIsB64TokenByte(c byte) bool {
	const (
		lo = 1<<'+' | 1<<'-' | 1<<'.' | 1<<'/' | 0x3ff<<'0' | 1<<'='               // bytes 0-63
		hi = (1<<26-1)<<('A'-64) | 1<<('_'-64) | (1<<26-1)<<('a'-64) | 1<<('~'-64) // bytes 64-127
	)
	switch {
	case c < 64:
		return lo>>c&1 != 0
	case c < 128:
		return hi>>(c-64)&1 != 0
	}
	return false
}

// jwtFilter is one compiled JWT filter.
type jwtFilter struct {
	v          *jwtValidator
	relay      bool
	roles      []string
	rolesClaim jwtClaimPath
	headers    []jwtClaimHeader // sorted by name
}

type jwtClaimHeader struct {
	claim jwtClaimPath
	name  string // canonical
}

func (f *jwtFilter) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	tok, err := jwtBearer(r)
	var claims jwt.MapClaims
	if err == nil {
		claims, err = f.v.validate(r.Context(), tok)
	}
	if err == nil && !f.hasRoles(claims) {
		err = errJWTRoles
	}
	if err != nil {
		f.v.debug(r, "JWT: request rejected", err)
		jwtWriteError(w, err)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), jwtKey{}, &jwtToken{raw: tok, claims: claims}))
	if len(f.headers) > 0 || !f.relay {
		// A copy, so that a Retry before this filter starts from what the client sent.
		r.Header = r.Header.Clone()
		for name := range r.Header {
			for _, h := range f.headers {
				if jwtHeaderSame(name, h.name) {
					delete(r.Header, name)
					break
				}
			}
		}
		for _, h := range f.headers {
			if v, ok := h.claim.lookup(claims); ok {
				if s, ok := jwtHeaderValue(v); ok {
					r.Header[h.name] = []string{s}
				}
			}
		}
		if !f.relay {
			delete(r.Header, "Authorization")
		}
	}
	next.ServeHTTP(w, r)
}

// hasRoles reports whether claims list every required role.
func (f *jwtFilter) hasRoles(claims jwt.MapClaims) bool {
	if len(f.roles) == 0 {
		return true
	}
	v, _ := f.rolesClaim.lookup(claims)
	for _, role := range f.roles {
		if !jwtHasRole(v, role) {
			return false
		}
	}
	return true
}

// jwtHasRole reports whether v, an array of strings or a string of names
// separated by spaces or commas, holds role.
func jwtHasRole(v any, role string) bool {
	switch v := v.(type) {
	case string:
		for s := v; s != ""; {
			name, rest := s, ""
			if i := strings.IndexAny(s, " ,\t"); i >= 0 {
				name, rest = s[:i], s[i+1:]
			}
			if name == role {
				return true
			}
			s = rest
		}
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s == role {
				return true
			}
		}
	}
	return false
}

// jwtValidator checks tokens for a JWT filter or a JwtClaim predicate.
// It is safe for concurrent use.
type jwtValidator struct {
	parser    *jwt.Parser             // safe for concurrent use once built
	algs      map[string]jwtAlgorithm // the accepted ones
	jwks      *JWKS
	secret    []byte
	audiences []string
	log       *slog.Logger
}

// jwtAlgorithm says which key verifies an "alg".
type jwtAlgorithm struct {
	name  string
	hmac  bool
	curve elliptic.Curve // for ECDSA; nil for RSA
}

// jwtAlgorithms lists the algorithms we accept, in the order error messages
// list them.
func jwtAlgorithms() []jwtAlgorithm {
	return []jwtAlgorithm{
		{name: "ES256", curve: elliptic.P256()},
		{name: "ES384", curve: elliptic.P384()},
		{name: "ES512", curve: elliptic.P521()},
		{name: "HS256", hmac: true},
		{name: "HS384", hmac: true},
		{name: "HS512", hmac: true},
		{name: "PS256"}, {name: "PS384"}, {name: "PS512"},
		{name: "RS256"}, {name: "RS384"}, {name: "RS512"},
	}
}

// newJWTValidator builds the validator cfg describes, with every problem.
func newJWTValidator(cfg JWTConfig) (*jwtValidator, []error) {
	var errs []error
	v := &jwtValidator{jwks: cfg.JWKS, audiences: cfg.Audiences, log: cfg.Logger, algs: map[string]jwtAlgorithm{}}
	if v.log == nil {
		v.log = slog.Default()
	}
	if cfg.Secret != "" {
		v.secret = []byte(cfg.Secret)
	}
	if cfg.JWKS == nil && cfg.Secret == "" {
		errs = append(errs, errors.New("no keys: set jwks-uri, secret or both"))
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		if cfg.JWKS != nil {
			algs = append(algs, "RS256", "ES256")
		}
		if cfg.Secret != "" {
			algs = append(algs, "HS256")
		}
	}
	known := jwtAlgorithms()
	var names []string
	for _, a := range known {
		names = append(names, a.name)
	}
	for _, name := range algs {
		i := slices.IndexFunc(known, func(a jwtAlgorithm) bool { return a.name == name })
		switch {
		case strings.EqualFold(name, "none"):
			errs = append(errs, errors.New(`algorithms: "none" is never accepted`))
		case i < 0:
			errs = append(errs, fmt.Errorf("algorithms: unknown %q; known: %s", name, strings.Join(names, ", ")))
		case known[i].hmac && cfg.Secret == "":
			errs = append(errs, fmt.Errorf("algorithms: %s needs a secret", name))
		case known[i].hmac && len(cfg.Secret) < jwtHashSize(name):
			errs = append(errs, fmt.Errorf("secret: %d bytes is too short for %s; want at least %d", len(cfg.Secret), name, jwtHashSize(name)))
		case !known[i].hmac && cfg.JWKS == nil:
			errs = append(errs, fmt.Errorf("algorithms: %s needs a jwks-uri", name))
		default:
			v.algs[name] = known[i]
		}
	}
	if cfg.ClockSkew < 0 {
		errs = append(errs, fmt.Errorf("clock-skew: %v is negative", cfg.ClockSkew))
	}
	for _, a := range cfg.Audiences {
		if a == "" {
			errs = append(errs, errors.New("audiences: empty audience"))
		}
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithJSONNumber(),
		jwt.WithStrictDecoding(),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cmp.Or(cfg.ClockSkew, jwtDefaultClockSkew)),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	v.parser = jwt.NewParser(opts...)
	return v, errs
}

func jwtHashSize(alg string) int {
	n, _ := strconv.Atoi(alg[2:])
	return n / 8
}

// validate verifies tok and returns its claims, or an error that wraps
// errJWTInvalid.
func (v *jwtValidator) validate(ctx context.Context, tok string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(tok, claims, func(t *jwt.Token) (any, error) { return v.key(ctx, t) })
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errJWTInvalid, err)
	}
	if len(v.audiences) > 0 {
		aud, err := claims.GetAudience()
		if err != nil || !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(v.audiences, a) }) {
			return nil, fmt.Errorf("%w: aud %q is not one of %q", errJWTInvalid, aud, v.audiences)
		}
	}
	return claims, nil
}

// key returns the key that may verify t: the secret for HMAC, a JWKS key of
// the right type and size otherwise. HMAC tokens never see a public key,
// which is what stops the RS256-to-HS256 "alg confusion" attack.
func (v *jwtValidator) key(ctx context.Context, t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New(`"crit" header: no extensions are understood`)
	}
	alg := t.Method.Alg()
	a, ok := v.algs[alg]
	if !ok {
		return nil, fmt.Errorf("alg %q not accepted", alg)
	}
	if a.hmac {
		if v.secret == nil {
			return nil, fmt.Errorf("alg %s: no secret", alg)
		}
		return v.secret, nil
	}
	if v.jwks == nil {
		return nil, fmt.Errorf("alg %s: no JWKS", alg)
	}
	return v.jwks.key(ctx, t, a)
}

// debug logs why r was rejected; never the token.
func (v *jwtValidator) debug(r *http.Request, msg string, err error) {
	ctx := r.Context()
	if !v.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	v.log.LogAttrs(ctx, slog.LevelDebug, msg,
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("reason", err.Error()))
}

// jwtClaimPath finds a claim by name or by dotted path.
type jwtClaimPath struct {
	name  string
	parts []string // nil unless name holds a dot
}

func newJWTClaimPath(name string) jwtClaimPath {
	p := jwtClaimPath{name: name}
	if strings.Contains(name, ".") {
		p.parts = strings.Split(name, ".")
	}
	return p
}

func (p jwtClaimPath) lookup(claims map[string]any) (any, bool) {
	if v, ok := claims[p.name]; ok {
		return v, true
	}
	if p.parts == nil {
		return nil, false
	}
	var cur any = claims
	for _, part := range p.parts {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// jwtClaimMatches reports whether re fully matches v, or one element of v;
// a nil re matches any value but null.
func jwtClaimMatches(v any, re *regexp.Regexp) bool {
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if jwtClaimMatches(e, re) {
				return true
			}
		}
		return false
	}
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case json.Number:
		s = string(v)
	case bool:
		s = strconv.FormatBool(v)
	case nil:
		return false
	default:
		return re == nil
	}
	return re == nil || re.MatchString(s)
}

// jwtHeaderValue formats a claim for a request header, or says it cannot.
func jwtHeaderValue(v any) (string, bool) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case json.Number:
		s = string(v)
	case bool:
		s = strconv.FormatBool(v)
	case []any:
		var b strings.Builder
		for _, e := range v {
			es, ok := jwtHeaderValue(e)
			if !ok {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(es)
			if b.Len() > jwtMaxHeaderValue {
				break
			}
		}
		s = b.String()
	default:
		return "", false
	}
	s = jwtSanitize(s)
	return s, s != ""
}

// jwtSanitize drops control characters, so a claim cannot add a header line
// (CR, LF) or be refused by the transport (NUL ...), and cuts the value to
// jwtMaxHeaderValue bytes at a character boundary.
func jwtSanitize(s string) string {
	clean := len(s) <= jwtMaxHeaderValue
	for i := 0; clean && i < len(s); i++ {
		clean = s[i] >= 0x20 && s[i] != 0x7f || s[i] == '\t'
	}
	if !clean {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if c := s[i]; c >= 0x20 && c != 0x7f || c == '\t' {
				b.WriteByte(c)
			}
		}
		s = b.String()
		if len(s) > jwtMaxHeaderValue {
			n := jwtMaxHeaderValue
			for n > 0 && !utf8.RuneStart(s[n]) {
				n--
			}
			s = s[:n]
		}
	}
	return strings.TrimSpace(s)
}

// jwtHeaderName checks a ClaimHeaders header name and canonicalizes it.
func jwtHeaderName(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty header name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return "", fmt.Errorf("%q is not a header name", name)
		}
	}
	canon := http.CanonicalHeaderKey(name)
	switch canon {
	case "Authorization", "Proxy-Authorization", "Cookie", "Host", "Content-Length", "Content-Type",
		"Transfer-Encoding", "Connection", "Te", "Trailer", "Upgrade", "Keep-Alive":
		return "", fmt.Errorf("header %q cannot carry a claim", name)
	}
	return canon, nil
}

// jwtHeaderSame compares header names the way many servers (CGI, PHP,
// nginx with underscores_in_headers) do: ignoring case and '_' versus '-',
// so that a client's X_User_Id cannot pass for X-User-Id upstream.
func jwtHeaderSame(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x == '_' {
			x = '-'
		}
		if y == '_' {
			y = '-'
		}
		if x != y {
			return false
		}
	}
	return true
}

// jwtCache remembers a JwtClaim predicate's outcome per validated token.
type jwtCache struct {
	mu      sync.Mutex // guards entries
	entries map[string]jwtCacheEntry
}

type jwtCacheEntry struct {
	match   bool
	expires time.Time
}

func (c *jwtCache) get(tok string, now time.Time) (match, ok bool) {
	c.mu.Lock()
	e, ok := c.entries[tok]
	c.mu.Unlock()
	if !ok || !now.Before(e.expires) {
		return false, false
	}
	return e.match, true
}

func (c *jwtCache) put(tok string, e jwtCacheEntry, now time.Time) {
	if len(tok) > 4<<10 {
		return // a few huge tokens would hold megabytes
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= jwtCacheSize {
		for k, old := range c.entries {
			if !now.Before(old.expires) {
				delete(c.entries, k)
			}
		}
		// Still full: drop a quarter, in map order, which is random enough.
		for k := range c.entries {
			if len(c.entries) < jwtCacheSize*3/4 {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[tok] = e
}

// JWKSConfig says where a JWKS fetches its keys and how often.
type JWKSConfig struct {
	// URI is the JWT filter's jwks-uri argument (Spring's
	// spring.security.oauth2.resourceserver.jwt.jwk-set-uri): an http or
	// https URL serving a JSON Web Key Set (RFC 7517).
	URI string
	// RefreshInterval is how often Run fetches the set again, so that
	// removed keys stop working. Default 5m, as Spring caches a JWK set.
	RefreshInterval time.Duration
	// UnknownKIDInterval bounds the fetches that tokens cause: a token
	// whose "kid" is not in the set (the issuer rotated its keys) fetches
	// the set at once, but at most once per interval, so forged kids cannot
	// flood the issuer. Also Run's retry delay after a failed fetch. Default 30s.
	UnknownKIDInterval time.Duration
	// Timeout bounds one fetch. Default 10s.
	Timeout time.Duration
	// Client fetches the set. Nil: a client of the JWKS's own.
	Client *http.Client
	// Logger gets failed refreshes at warn level. Nil: slog.Default().
	Logger *slog.Logger
}

// A JWKS holds the public keys of a JSON Web Key Set URL, for JWT filters
// and JwtClaim predicates, and keeps them fresh. It is safe for concurrent
// use.
//
// NewJWKS starts nothing and fetches nothing. Run fetches the set at once
// and then every RefreshInterval until its context is done; the gateway runs
// it beside its other background work for as long as it serves:
//
//	wg.Go(func() { errs <- jwks.Run(ctx) })
//
// Requests that need a key the JWKS does not have (none loaded yet, or an
// unknown "kid" after a rotation) fetch the set themselves, at most once per
// UnknownKIDInterval; concurrent ones wait for that one fetch. Such a fetch
// runs in the request's goroutine, so nothing outlives Run or the request.
// Keys are looked up with github.com/MicahParks/keyfunc/v3 over a
// github.com/MicahParks/jwkset store. We do not use those packages' own
// refresh goroutine and unknown-kid limiter: the goroutine starts in the
// constructor and cannot be waited for, and the limiter makes requests queue
// for its next token under the same deadline as the fetch.
//
// Call Run once at a time. Refresh may be called before serving, so that the
// first requests find the keys loaded.
type JWKS struct {
	cfg    JWKSConfig
	client *http.Client
	own    bool // client is ours, so Run closes its idle connections
	log    *slog.Logger
	keys   atomic.Pointer[jwksKeys] // nil until the first fetch succeeds

	mu        sync.Mutex    // guards the fields below
	inflight  chan struct{} // closed when the fetch a request started ends
	lastAsked time.Time     // when a request last started a fetch
}

// jwksKeys is one fetched key set; it never changes.
type jwksKeys struct {
	store jwkset.Storage
	kf    keyfunc.Keyfunc
}

// NewJWKS checks cfg and returns a JWKS that has no keys yet.
func NewJWKS(cfg JWKSConfig) (*JWKS, error) {
	var errs []error
	if u, err := url.Parse(cfg.URI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("jwks-uri: %q is not an http(s) URL", cfg.URI))
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"refresh interval", &cfg.RefreshInterval, 5 * time.Minute},
		{"unknown kid interval", &cfg.UnknownKIDInterval, 30 * time.Second},
		{"timeout", &cfg.Timeout, 10 * time.Second},
	} {
		switch {
		case *d.v < 0:
			errs = append(errs, fmt.Errorf("jwks %s: %v is negative", d.name, *d.v))
		case *d.v == 0:
			*d.v = d.def
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	j := &JWKS{cfg: cfg, client: cfg.Client, log: cfg.Logger}
	if j.client == nil {
		j.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		j.own = true
	}
	if j.log == nil {
		j.log = slog.Default()
	}
	return j, nil
}

// URI returns the URL the keys come from.
func (j *JWKS) URI() string { return j.cfg.URI }

// Run fetches the key set now and every RefreshInterval (after a failure,
// every UnknownKIDInterval) until ctx is done, logging failures; the keys
// fetched last stay in use meanwhile. It returns nil when ctx ends.
func (j *JWKS) Run(ctx context.Context) error {
	if j.own {
		defer j.client.CloseIdleConnections()
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		wait := j.cfg.RefreshInterval
		if err := j.Refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			j.log.LogAttrs(ctx, slog.LevelWarn, "JWKS refresh failed; keeping the keys we have",
				slog.String("uri", j.cfg.URI), slog.String("error", err.Error()))
			wait = min(wait, j.cfg.UnknownKIDInterval)
		}
		timer.Reset(wait)
	}
}

// Refresh fetches the key set once and, if that works, uses it from now on.
func (j *JWKS) Refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, j.cfg.Timeout)
	defer cancel()
	// Without RefreshInterval, jwkset starts no goroutine: it fetches once.
	store, err := jwkset.NewStorageFromHTTP(j.cfg.URI, jwkset.HTTPClientStorageOptions{
		Client:      j.client,
		Ctx:         ctx,
		HTTPTimeout: j.cfg.Timeout,
	})
	if err != nil {
		return fmt.Errorf("fetch JWKS %s: %w", j.cfg.URI, err)
	}
	kf, err := keyfunc.New(keyfunc.Options{
		Storage:      store,
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""}, // never an encryption key
	})
	if err != nil {
		return fmt.Errorf("fetch JWKS %s: %w", j.cfg.URI, err)
	}
	j.keys.Store(&jwksKeys{store: store, kf: kf})
	return nil
}

// key returns the key, or for a token without "kid" the keys, that may
// verify t with algorithm a.
func (j *JWKS) key(ctx context.Context, t *jwt.Token, a jwtAlgorithm) (any, error) {
	keys := j.keys.Load()
	if keys == nil {
		j.fetchForRequest(ctx)
		if keys = j.keys.Load(); keys == nil {
			return nil, fmt.Errorf("JWKS %s: no keys loaded", j.cfg.URI)
		}
	}
	if _, ok := t.Header["kid"]; !ok {
		return keys.all(ctx, a)
	}
	k, err := keys.kf.KeyfuncCtx(ctx)(t)
	if errors.Is(err, jwkset.ErrKeyNotFound) {
		// The issuer may have rotated its keys: fetch them (or wait for the
		// fetch under way), and look again if the set changed.
		j.fetchForRequest(ctx)
		if now := j.keys.Load(); now != keys {
			k, err = now.kf.KeyfuncCtx(ctx)(t)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := jwtKeyFits(k, a); err != nil {
		return nil, fmt.Errorf("kid %v: %w", t.Header["kid"], err)
	}
	return k, nil
}

// all returns the keys usable with a, for tokens without a "kid".
func (k *jwksKeys) all(ctx context.Context, a jwtAlgorithm) (any, error) {
	jwks, err := k.store.KeyReadAll(ctx)
	if err != nil {
		return nil, err
	}
	var set jwt.VerificationKeySet
	for _, jwk := range jwks {
		m := jwk.Marshal()
		if (m.USE != "" && m.USE != jwkset.UseSig) || (m.ALG != "" && m.ALG.String() != a.name) {
			continue
		}
		key := jwk.Key()
		if pk, ok := key.(interface{ Public() crypto.PublicKey }); ok {
			key = pk.Public()
		}
		if jwtKeyFits(key, a) == nil {
			set.Keys = append(set.Keys, key)
		}
	}
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("no key for %s and the token has no kid", a.name)
	}
	return set, nil
}

// fetchForRequest fetches the key set for a request that found no key,
// unless a request did so less than UnknownKIDInterval ago. Requests that
// arrive during such a fetch wait for it.
func (j *JWKS) fetchForRequest(ctx context.Context) {
	j.mu.Lock()
	ch := j.inflight
	if ch != nil {
		j.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		return
	}
	now := time.Now()
	if !j.lastAsked.IsZero() && now.Sub(j.lastAsked) < j.cfg.UnknownKIDInterval {
		j.mu.Unlock()
		return
	}
	j.lastAsked = now
	ch = make(chan struct{})
	j.inflight = ch
	j.mu.Unlock()

	// Others wait on this fetch: the request's cancellation must not end it.
	err := j.Refresh(context.WithoutCancel(ctx))

	j.mu.Lock()
	j.inflight = nil
	j.mu.Unlock()
	close(ch)
	if err != nil {
		j.log.LogAttrs(ctx, slog.LevelWarn, "JWKS fetch for an unknown key failed",
			slog.String("uri", j.cfg.URI), slog.String("error", err.Error()))
	}
}

// jwtKeyFits checks that a JWKS key suits algorithm a: RSA of 2048 bits or
// more for RS and PS, ECDSA on the algorithm's curve for ES. Anything else,
// a symmetric "oct" key above all, is refused.
func jwtKeyFits(key any, a jwtAlgorithm) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if a.curve != nil || a.hmac {
			return fmt.Errorf("RSA key for %s", a.name)
		}
		if k.N.BitLen() < jwtMinRSABits {
			return fmt.Errorf("RSA key of %d bits; want at least %d", k.N.BitLen(), jwtMinRSABits)
		}
		return nil
	case *ecdsa.PublicKey:
		if a.curve == nil || k.Curve != a.curve {
			return fmt.Errorf("ECDSA key on %s for %s", k.Curve.Params().Name, a.name)
		}
		return nil
	}
	return fmt.Errorf("%T key for %s", key, a.name)
}
