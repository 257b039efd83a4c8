package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/gateway/filter"
	"github.com/switchboard-dev/switchboard/gateway/predicate"
)

// filterNames are the filter names the configuration may use.
var filterNames = []string{"AddRequestHeader", "AddRequestHeadersIfNotPresent", "AddRequestParameter",
	"AddResponseHeader", "ApiKey", "CircuitBreaker", "CorrelationId", "DedupeResponseHeader", "JWT",
	"MaskResponse", "PrefixPath", "PreserveHostHeader", "RedirectTo", "RemoveRequestHeader",
	"RemoveRequestParameter", "RemoveResponseHeader", "RequestRateLimiter", "RequestSize", "Retry",
	"RewritePath", "RewriteResponseHeader", "SecureHeaders", "SetPath", "SetRequestHeader",
	"SetRequestHostHeader", "SetResponseHeader", "SetStatus", "StripPrefix", "TokenRelay"}

// filters compiles a list of filter definitions for route rt.
func (b *builder) filters(defs []Def, rt *Route, name, what string) []orderedFilter {
	var out []orderedFilter
	for j := range defs {
		d := &defs[j]
		f, err := b.filter(d, rt)
		if err != nil {
			for _, e := range splitErr(err) {
				if what == "default-filters" {
					// Said once, under its own key, rather than once per route.
					b.problem(d.where.Where, "%s: %s: %v", d.key, d.Text, e)
				} else {
					b.problem(d.where.Where, "%s: %s[%d]: %s: %v", name, what, j, d.Text, e)
				}
			}
			continue
		}
		out = append(out, orderedFilter{def: d.Text, filter: f})
	}
	return out
}

// filter maps one definition to its constructor: the one place that knows
// every filter name and how its arguments are spelled.
func (b *builder) filter(d *Def, rt *Route) (filter.Filter, error) {
	a := func(i int, name string) (string, error) { return need(d, i, name) }
	opt := func(i int, name, def string) string { return optional(d, i, name, def) }
	switch d.Name {
	case "AddRequestHeader", "SetRequestHeader", "AddRequestParameter", "SetResponseHeader", "AddResponseHeader":
		n, err := a(0, "name")
		if err != nil {
			return nil, err
		}
		v, err := a(1, "value")
		if err != nil {
			return nil, err
		}
		switch d.Name {
		case "AddRequestHeader":
			return filter.AddRequestHeader(n, v)
		case "SetRequestHeader":
			return filter.SetRequestHeader(n, v)
		case "AddRequestParameter":
			return filter.AddRequestParameter(n, v)
		case "AddResponseHeader":
			override, err := parseBool("override", opt(2, "override", "true"))
			if err != nil {
				return nil, err
			}
			return filter.AddResponseHeader(n, v, override)
		}
		return filter.SetResponseHeader(n, v)
	case "AddRequestHeadersIfNotPresent":
		return filter.AddRequestHeadersIfNotPresent(d.list(0, "keyValues")...)
	case "RemoveRequestHeader", "RemoveResponseHeader", "RemoveRequestParameter":
		n, err := a(0, "name")
		if err != nil {
			return nil, err
		}
		switch d.Name {
		case "RemoveRequestHeader":
			return filter.RemoveRequestHeader(n)
		case "RemoveResponseHeader":
			return filter.RemoveResponseHeader(n)
		}
		return filter.RemoveRequestParameter(n)
	case "DedupeResponseHeader":
		n, err := a(0, "name")
		if err != nil {
			return nil, err
		}
		return filter.DedupeResponseHeader(n, opt(1, "strategy", ""))
	case "RewriteResponseHeader":
		n, err := a(0, "name")
		if err != nil {
			return nil, err
		}
		re, err := a(1, "regexp")
		if err != nil {
			return nil, err
		}
		return filter.RewriteResponseHeader(n, re, opt(2, "replacement", ""))
	case "PreserveHostHeader":
		return filter.PreserveHostHeader()
	case "StripPrefix":
		n, err := atoi("parts", opt(0, "parts", "1"))
		if err != nil {
			return nil, err
		}
		return filter.StripPrefix(n)
	case "PrefixPath":
		p, err := a(0, "prefix")
		if err != nil {
			return nil, err
		}
		return filter.PrefixPath(p)
	case "RewritePath":
		re, err := a(0, "regexp")
		if err != nil {
			return nil, err
		}
		repl, _ := d.arg(1, "replacement")
		return filter.RewritePath(re, strings.TrimSpace(repl))
	case "SetPath":
		t, err := a(0, "template")
		if err != nil {
			return nil, err
		}
		return filter.SetPath(t)
	case "RedirectTo":
		s, err := a(0, "status")
		if err != nil {
			return nil, err
		}
		code, err := filter.ParseStatus(s)
		if err != nil {
			return nil, err
		}
		u, err := a(1, "url")
		if err != nil {
			return nil, err
		}
		incl, err := parseBool("includeRequestParams", opt(2, "includeRequestParams", "false"))
		if err != nil {
			return nil, err
		}
		return filter.RedirectTo(code, u, incl)
	case "SetRequestHostHeader":
		h, err := a(0, "host")
		if err != nil {
			return nil, err
		}
		return filter.SetRequestHostHeader(h)
	case "SetStatus":
		s, err := a(0, "status")
		if err != nil {
			return nil, err
		}
		return filter.SetStatus(s, opt(-1, "originalStatusHeaderName", ""))
	case "RequestSize":
		n := filter.DefaultRequestSize
		if s := opt(0, "maxSize", ""); s != "" {
			var err error
			if n, err = filter.ParseDataSize(s); err != nil {
				return nil, fmt.Errorf("maxSize: %w", err)
			}
		}
		return filter.RequestSize(n)
	case "SecureHeaders":
		return filter.SecureHeaders(filter.SecureHeadersConfig{
			XSSProtectionHeader:          opt(-1, "xss-protection-header", ""),
			StrictTransportSecurity:      opt(-1, "strict-transport-security", ""),
			FrameOptions:                 opt(-1, "frame-options", ""),
			ContentTypeOptions:           opt(-1, "content-type-options", ""),
			ReferrerPolicy:               opt(-1, "referrer-policy", ""),
			ContentSecurityPolicy:        opt(-1, "content-security-policy", ""),
			DownloadOptions:              opt(-1, "download-options", ""),
			PermittedCrossDomainPolicies: opt(-1, "permitted-cross-domain-policies", ""),
			PermissionsPolicy:            opt(-1, "permissions-policy", ""),
			Disable:                      lowerAll(d.namedList("disable")),
			Enable:                       lowerAll(d.namedList("enable")),
		})
	case "CorrelationId":
		return filter.CorrelationId(opt(0, "header", "X-Correlation-ID"))
	case "ApiKey":
		fwd, err := parseBool("forward-key", opt(-1, "forward-key", "false"))
		if err != nil {
			return nil, err
		}
		return filter.ApiKey(filter.ApiKeyConfig{
			Header:     opt(-1, "header", ""),
			QueryParam: opt(-1, "query-param", ""),
			Hashes:     d.namedList("hashes"),
			ForwardKey: fwd,
		})
	case "MaskResponse":
		var maxBytes int64
		if s := opt(-1, "max-bytes", ""); s != "" {
			n, err := filter.ParseDataSize(s)
			if err != nil && s != "-1" {
				return nil, fmt.Errorf("max-bytes: %w", err)
			}
			if s == "-1" {
				n = -1
			}
			maxBytes = n
		}
		return filter.MaskResponse(filter.MaskConfig{
			Patterns:     d.namedList("patterns"),
			Replacement:  opt(-1, "replacement", ""),
			ContentTypes: d.namedList("content-types"),
			MaxBytes:     maxBytes,
			Logger:       b.g.log,
		})
	case "Retry":
		return b.retry(d)
	case "CircuitBreaker":
		return b.circuitBreaker(d, rt)
	case "RequestRateLimiter":
		return b.rateLimiter(d, rt)
	case "JWT":
		cfg, err := b.jwtConfig(d)
		if err != nil {
			return nil, err
		}
		return filter.JWT(cfg)
	case "TokenRelay":
		if len(d.Pos) > 0 || len(d.Named) > 0 {
			return nil, errors.New("TokenRelay takes no arguments: it relays the token a JWT filter before it validated")
		}
		return filter.TokenRelay(), nil
	}
	return nil, errUnknown("filter", d.Name, filterNames)
}

// namedList is a list argument of the expanded form only.
func (d *Def) namedList(name string) []string {
	if d.Named == nil {
		return nil
	}
	return d.list(-1, name)
}

func lowerAll(s []string) []string {
	for i := range s {
		s[i] = strings.ToLower(s[i])
	}
	return s
}

func (b *builder) retry(d *Def) (filter.Filter, error) {
	var cfg filter.RetryConfig
	var err error
	if cfg.Retries, err = atoi("retries", optional(d, 0, "retries", "3")); err != nil {
		return nil, err
	}
	cfg.Statuses = d.list(1, "statuses")
	if d.Named == nil && len(d.Pos) > 1 {
		cfg.Statuses = d.Pos[1:2]
	}
	if d.Named == nil {
		if v, ok := d.arg(2, "methods"); ok {
			cfg.Methods = []string{v}
		}
	} else {
		cfg.Methods = d.list(-1, "methods")
		// Written at all, even as an empty list ("series: []"), these
		// replace Spring's defaults; an empty one clears them.
		if _, ok := d.Named["series"]; ok || d.list(-1, "series") != nil {
			cfg.Series = append([]string{}, d.list(-1, "series")...)
		}
		if _, ok := d.Named["exceptions"]; ok || d.list(-1, "exceptions") != nil {
			cfg.Exceptions = append([]string{}, d.list(-1, "exceptions")...)
		}
	}
	first, okFirst := d.arg(3, "backoff.firstBackoff")
	if okFirst {
		bo := &filter.RetryBackoff{}
		if bo.FirstBackoff, err = parseDuration("backoff.firstBackoff", first); err != nil {
			return nil, err
		}
		if v, ok := d.arg(4, "backoff.maxBackoff"); ok {
			if bo.MaxBackoff, err = parseDuration("backoff.maxBackoff", v); err != nil {
				return nil, err
			}
		}
		if v, ok := d.arg(5, "backoff.factor"); ok {
			if bo.Factor, err = atoi("backoff.factor", v); err != nil {
				return nil, err
			}
		}
		if v, ok := d.arg(6, "backoff.basedOnPreviousValue"); ok {
			bv, err := parseBool("backoff.basedOnPreviousValue", v)
			if err != nil {
				return nil, err
			}
			bo.BasedOnPreviousValue = &bv
		}
		cfg.Backoff = bo
	}
	if v, ok := d.arg(-1, "jitter.randomFactor"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("jitter.randomFactor: %q is not a number", v)
		}
		cfg.Jitter = &filter.RetryJitter{RandomFactor: f}
	}
	if v, ok := d.arg(-1, "timeout"); ok {
		if cfg.Timeout, err = parseDuration("timeout", v); err != nil {
			return nil, err
		}
	}
	if v, ok := d.arg(-1, "replayBufferSize"); ok {
		if cfg.ReplayBufferSize, err = filter.ParseDataSize(v); err != nil {
			return nil, fmt.Errorf("replayBufferSize: %w", err)
		}
	}
	return filter.Retry(cfg)
}

// parseDuration reads a Spring duration: "50ms", "1s", or bare milliseconds.
func parseDuration(name, s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(n) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a duration such as 500ms or 2s", name, s)
	}
	return d, nil
}

func (b *builder) circuitBreaker(d *Def, rt *Route) (filter.Filter, error) {
	cfg := filter.BreakerConfig{
		Name:                optional(d, 0, "name", ""),
		RouteID:             rt.ID,
		FallbackURI:         optional(d, -1, "fallbackUri", ""),
		FallbackStatus:      optional(d, -1, "fallbackStatus", ""),
		FallbackBody:        optional(d, -1, "fallbackBody", ""),
		FallbackContentType: optional(d, -1, "fallbackContentType", ""),
		StatusCodes:         d.namedList("statusCodes"),
		Breakers:            b.breakers(),
	}
	if v, ok := d.arg(-1, "resumeWithoutError"); ok {
		rw, err := parseBool("resumeWithoutError", v)
		if err != nil {
			return nil, err
		}
		cfg.ResumeWithoutError = rw
	}
	if v, ok := d.arg(-1, "replayBufferSize"); ok {
		n, err := filter.ParseDataSize(v)
		if err != nil {
			return nil, fmt.Errorf("replayBufferSize: %w", err)
		}
		cfg.ReplayBufferSize = n
	}
	var fallback http.Handler
	if cfg.FallbackURI != "" {
		path, ok := strings.CutPrefix(cfg.FallbackURI, "forward:")
		if !ok || !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("fallbackUri %q: want forward:/path", cfg.FallbackURI)
		}
		fallback = b.g.forwardTo(path)
	}
	return filter.CircuitBreaker(cfg, fallback)
}

func (b *builder) rateLimiter(d *Def, rt *Route) (filter.Filter, error) {
	if d.Named == nil && len(d.Pos) > 0 {
		return nil, errors.New("RequestRateLimiter has no shortcut form; write name: RequestRateLimiter with args")
	}
	cfg := filter.RateLimitConfig{
		RouteID:        rt.ID,
		KeyResolver:    optional(d, -1, "key-resolver", "remoteAddr"),
		EmptyKeyStatus: optional(d, -1, "empty-key-status", ""),
		StatusCode:     optional(d, -1, "status-code", ""),
		APIKeyID:       filter.APIKeyID,
		JWTSubject:     filter.Subject,
		Principal:      principal,
	}
	var err error
	if v, ok := d.arg(-1, "redis-rate-limiter.replenishRate"); ok { // else the filter says it is missing
		if cfg.ReplenishRate, err = atoi("redis-rate-limiter.replenishRate", v); err != nil {
			return nil, err
		}
	}
	if v, ok := d.arg(-1, "redis-rate-limiter.burstCapacity"); ok {
		if cfg.BurstCapacity, err = atoi("redis-rate-limiter.burstCapacity", v); err != nil {
			return nil, err
		}
	}
	if v, ok := d.arg(-1, "redis-rate-limiter.requestedTokens"); ok {
		if cfg.RequestedTokens, err = atoi("redis-rate-limiter.requestedTokens", v); err != nil {
			return nil, err
		}
	}
	if v, ok := d.arg(-1, "deny-empty-key"); ok {
		deny, err := parseBool("deny-empty-key", v)
		if err != nil {
			return nil, err
		}
		cfg.DenyEmptyKey = &deny
	}
	return filter.RequestRateLimiter(cfg, b.g.limiter())
}

// principal is the rate-limit key of Spring's default resolver: the
// authenticated principal, here a JWT subject or else an API key id.
func principal(r *http.Request) string {
	if s := filter.Subject(r); s != "" {
		return s
	}
	return filter.APIKeyID(r)
}

// jwtConfig reads a JWT filter's (or JwtClaim predicate's) arguments,
// falling back to switchboard.gateway.jwt.* for those not given.
func (b *builder) jwtConfig(d *Def) (filter.JWTConfig, error) {
	def := b.cfg.JWT
	cfg := filter.JWTConfig{
		Secret:       optional(d, -1, "secret", def.Secret),
		Issuer:       optional(d, -1, "issuer", def.Issuer),
		Audiences:    d.namedList("audiences"),
		Algorithms:   d.namedList("algorithms"),
		Roles:        d.namedList("roles"),
		RolesClaim:   optional(d, -1, "roles-claim", ""),
		ClaimHeaders: d.mapArg("claim-headers"),
		Logger:       b.g.log,
	}
	if len(cfg.Audiences) == 0 {
		cfg.Audiences = def.Audiences
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = def.Algorithms
	}
	if v, ok := d.arg(-1, "clock-skew"); ok {
		skew, err := parseDuration("clock-skew", v)
		if err != nil {
			return cfg, err
		}
		cfg.ClockSkew = skew
	}
	if v, ok := d.arg(-1, "relay-token"); ok {
		relay, err := parseBool("relay-token", v)
		if err != nil {
			return cfg, err
		}
		cfg.RelayToken = &relay
	}
	if uri := optional(d, -1, "jwks-uri", def.JWKSURI); uri != "" {
		j, err := b.g.jwksFor(uri)
		if err != nil {
			return cfg, err
		}
		cfg.JWKS = j
	}
	return cfg, nil
}

// jwtClaim builds the JwtClaim predicate: JwtClaim=claim,regexp matches
// requests whose valid bearer token has the claim (canary routing on a
// beta-tester flag, for example).
func (b *builder) jwtClaim(d *Def) (predicate.Predicate, error) {
	claim, err := need(d, 0, "claim")
	if err != nil {
		return nil, err
	}
	cfg, err := b.jwtConfig(d)
	if err != nil {
		return nil, err
	}
	p, err := filter.ClaimPredicate(cfg, claim, optional(d, 1, "regexp", ""))
	if err != nil {
		return nil, err
	}
	return predicate.Predicate(p), nil
}
