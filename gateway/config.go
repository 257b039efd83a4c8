package gateway

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/internal/springconf"
)

// Config is the gateway's configuration as the user wrote it, bound from the
// spring.cloud.gateway.* keys (or spring.cloud.gateway.server.webflux.*, the
// 4.3+ spelling) and the eureka.client, spring.data.redis and resilience4j
// keys. Compiling it into routes happens in New and Reload.
type Config struct {
	// Port is server.port, default 8080.
	Port int
	// Address is server.address, default all interfaces.
	Address string
	// Routes are spring.cloud.gateway.routes, in configuration order.
	Routes []RouteDef
	// DefaultFilters are spring.cloud.gateway.default-filters, applied to
	// every route (discovered ones too), interleaved with the route's own.
	DefaultFilters []Def
	// HTTPClient is spring.cloud.gateway.httpclient.
	HTTPClient HTTPClientConfig
	// Locator is spring.cloud.gateway.discovery.locator.
	Locator LocatorConfig
	// TrustedProxies are the peers whose X-Forwarded-For the gateway keeps.
	// switchboard.gateway.trusted-proxies, a list of CIDRs; default none:
	// client-sent forwarded headers are replaced.
	TrustedProxies []netip.Prefix
	// RegistryURLs are eureka.client.service-url.defaultZone.
	RegistryURLs []string
	// RegistryFetchInterval is eureka.client.registry-fetch-interval-seconds (30).
	RegistryFetchInterval time.Duration
	// LoadBalancer is spring.cloud.loadbalancer.configurations: default
	// (round robin), random, weighted, zone-preference or least-outstanding.
	LoadBalancer string
	// Zone is spring.cloud.loadbalancer.zone, for zone-preference.
	Zone string
	// Redis is spring.data.redis.*; empty Addr keeps rate limits in process.
	Redis RedisConfig
	// Resilience holds the resilience4j.* keys, as written.
	Resilience map[string]springconf.Value
	// JWT holds defaults for JWT filters and JwtClaim predicates that do not
	// name their own keys: switchboard.gateway.jwt.jwks-uri, .secret, .issuer,
	// .audiences and .algorithms.
	JWT JWTDefaults
}

// JWTDefaults are the gateway-wide token settings.
type JWTDefaults struct {
	JWKSURI    string
	Secret     string
	Issuer     string
	Audiences  []string
	Algorithms []string
}

// LocatorConfig creates one route per registered application.
type LocatorConfig struct {
	Enabled            bool   // discovery.locator.enabled, default false
	LowerCaseServiceID bool   // discovery.locator.lower-case-service-id, default false
	RouteIDPrefix      string // discovery.locator.route-id-prefix, default "DiscoveryClient_"
}

// RedisConfig is spring.data.redis.
type RedisConfig struct {
	Addr     string // host:port from spring.data.redis.host and .port, or .url
	Username string
	Password string
	DB       int
	Timeout  time.Duration
	// FailOpen lets requests through when Redis is unreachable.
	// switchboard.gateway.rate-limiter.fail-open, default true.
	FailOpen bool
}

// RouteDef is one spring.cloud.gateway.routes entry.
type RouteDef struct {
	ID         string
	URI        string
	Order      int
	Predicates []Def
	Filters    []Def
	Metadata   map[string]string
	Enabled    bool
	where      springconf.Value  // the route's first value, for errors
	key        string            // spring.cloud.gateway.routes[i]
	metaWhere  map[string]string // where the metadata timeouts are, for errors
}

// Def is one predicate or filter definition, shortcut (Name=a,b) or expanded
// (name + args).
type Def struct {
	Name string
	// Pos are shortcut arguments in order; Named are expanded arguments by
	// their relaxed key (lower case, no dashes or underscores).
	Pos   []string
	Named map[string]string
	Raw   map[string]string // expanded arguments by their names as written
	Text  string            // as written, for descriptions and errors
	where springconf.Value
	key   string
}

var gatewayPrefixes = []string{"spring.cloud.gateway.", "spring.cloud.gateway.server.webflux."}

// Bind reads the gateway configuration, reporting every problem at once.
func Bind(p *springconf.Props) (*Config, error) {
	c := &Config{
		Port:                  8080,
		HTTPClient:            DefaultHTTPClientConfig(),
		Locator:               LocatorConfig{RouteIDPrefix: "DiscoveryClient_"},
		RegistryFetchInterval: 30 * time.Second,
		LoadBalancer:          "default",
		Redis:                 RedisConfig{FailOpen: true, Timeout: time.Second},
		Resilience:            map[string]springconf.Value{},
	}
	b := springconf.NewBinder(p)
	b.Int("server.port", &c.Port, 0, 65535)
	b.String("server.address", &c.Address)
	b.Ignore("spring.application.name")
	var trustedKey string // where the upstream CAs were given, for errors
	for _, gp := range gatewayPrefixes {
		c.Routes = append(c.Routes, bindRoutes(b, gp+"routes")...)
		c.DefaultFilters = append(c.DefaultFilters, bindDefs(b, gp+"default-filters", true)...)
		b.Millis(gp+"httpclient.connect-timeout", &c.HTTPClient.ConnectTimeout, time.Millisecond)
		b.Duration(gp+"httpclient.response-timeout", &c.HTTPClient.ResponseTimeout)
		b.Int(gp+"httpclient.pool.max-idle-per-host", &c.HTTPClient.MaxIdleConnsPerHost, 1, 1<<20)
		b.Duration(gp+"httpclient.pool.max-idle-time", &c.HTTPClient.IdleTimeout)
		b.Bool(gp+"httpclient.ssl.use-insecure-trust-manager", &c.HTTPClient.InsecureSkipVerify)
		b.Duration(gp+"httpclient.ssl.handshake-timeout", &c.HTTPClient.HandshakeTimeout)
		if b.StringList(gp+"httpclient.ssl.trusted-x509-certificates", &c.HTTPClient.TrustedCertificates); len(c.HTTPClient.TrustedCertificates) > 0 && trustedKey == "" {
			trustedKey = gp + "httpclient.ssl.trusted-x509-certificates"
		}
		b.Bool(gp+"discovery.locator.enabled", &c.Locator.Enabled)
		b.Bool(gp+"discovery.locator.lower-case-service-id", &c.Locator.LowerCaseServiceID)
		b.String(gp+"discovery.locator.route-id-prefix", &c.Locator.RouteIDPrefix)
		b.Ignore(gp+"enabled", gp+"metrics.enabled", gp+"fail-on-route-definition-error")
	}
	b.String("switchboard.gateway.httpclient.ssl.certificate", &c.HTTPClient.Certificate)
	b.String("switchboard.gateway.httpclient.ssl.certificate-private-key", &c.HTTPClient.PrivateKey)
	checkUpstreamTLS(b, &c.HTTPClient, trustedKey)
	b.String("switchboard.gateway.jwt.jwks-uri", &c.JWT.JWKSURI)
	b.String("switchboard.gateway.jwt.secret", &c.JWT.Secret)
	b.String("switchboard.gateway.jwt.issuer", &c.JWT.Issuer)
	b.StringList("switchboard.gateway.jwt.audiences", &c.JWT.Audiences)
	b.StringList("switchboard.gateway.jwt.algorithms", &c.JWT.Algorithms)
	var trusted []string
	b.StringList("switchboard.gateway.trusted-proxies", &trusted)
	for _, s := range trusted {
		pf, err := parsePrefix(s)
		if err != nil {
			b.Errorf("switchboard.gateway.trusted-proxies", "%q is not an IP address or a CIDR such as 10.0.0.0/8", s)
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, pf)
	}
	var zones map[string]string
	b.Map("eureka.client.service-url", &zones)
	for k, v := range zones {
		if strings.EqualFold(k, "defaultZone") {
			for _, u := range strings.Split(v, ",") {
				if u = strings.TrimSpace(u); u != "" {
					c.RegistryURLs = append(c.RegistryURLs, u)
				}
			}
		}
	}
	b.Seconds("eureka.client.registry-fetch-interval-seconds", &c.RegistryFetchInterval, time.Second)
	b.Ignore("eureka.client.register-with-eureka", "eureka.client.fetch-registry", "eureka.instance")
	b.Enum("spring.cloud.loadbalancer.configurations", &c.LoadBalancer,
		"default", "random", "weighted", "zone-preference", "least-outstanding")
	b.String("spring.cloud.loadbalancer.zone", &c.Zone)

	var host, url string
	port := 6379
	b.String("spring.data.redis.host", &host)
	b.Int("spring.data.redis.port", &port, 1, 65535)
	b.String("spring.data.redis.url", &url)
	b.String("spring.data.redis.username", &c.Redis.Username)
	b.String("spring.data.redis.password", &c.Redis.Password)
	b.Int("spring.data.redis.database", &c.Redis.DB, 0, 1<<16)
	b.Duration("spring.data.redis.timeout", &c.Redis.Timeout)
	b.Bool("switchboard.gateway.rate-limiter.fail-open", &c.Redis.FailOpen)
	switch {
	case url != "":
		c.Redis.Addr = url
	case host != "":
		c.Redis.Addr = host + ":" + strconv.Itoa(port)
	}
	for _, v := range p.Values() {
		if strings.HasPrefix(strings.ToLower(v.Key), "resilience4j.") {
			if val, ok := b.Lookup(v.Key); ok {
				c.Resilience[v.Key] = val
			}
		}
	}
	// TLS, limits and the admin listener are bound by package serve.
	b.Ignore("server.ssl", "server.tomcat", "server.max-http-request-header-size", "server.http2.enabled", "management", "switchboard.server")
	b.Unknown("spring.cloud.gateway.", "server.", "switchboard.gateway.", "spring.data.redis.", "spring.cloud.loadbalancer.")
	// Compile the routes too, so a user sees every problem at once: wrong
	// keys and values above, and bad predicates and filters below.
	var probs []string
	if err := b.Err(); err != nil {
		probs = append(probs, strings.Split(err.Error(), "\n")...)
	}
	probs = append(probs, Check(c)...)
	if len(probs) > 0 {
		return nil, &BuildError{Problems: sortProblems(probs)}
	}
	return c, nil
}

// sortProblems orders problems by file and line ("app.yml:9: ..." before
// "app.yml:10: ..."); problems without a position keep their order, last.
func sortProblems(probs []string) []string {
	type keyed struct {
		file string
		line int
		text string
	}
	ks := make([]keyed, len(probs))
	for i, p := range probs {
		ks[i] = keyed{line: 1 << 30, text: p}
		if file, rest, ok := strings.Cut(p, ":"); ok {
			if n, _, ok := strings.Cut(rest, ":"); ok {
				if line, err := strconv.Atoi(n); err == nil {
					ks[i].file, ks[i].line = file, line
				}
			}
		}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if a.line == 1<<30 || b.line == 1<<30 {
			return cmp.Compare(a.line, b.line)
		}
		if c := cmp.Compare(a.file, b.file); c != 0 {
			return c
		}
		return cmp.Compare(a.line, b.line)
	})
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.text
	}
	return slices.Compact(out)
}

// checkUpstreamTLS reads the upstream TLS files, so that a missing or bad
// one is reported with its key. Spring's "file:" prefix is dropped.
func checkUpstreamTLS(b *springconf.Binder, c *HTTPClientConfig, trustedKey string) {
	for i, f := range c.TrustedCertificates {
		f = strings.TrimPrefix(f, "file:")
		c.TrustedCertificates[i] = f
		if err := appendCAs(x509.NewCertPool(), f); err != nil {
			b.Errorf(trustedKey, "%v", err)
		}
	}
	const key = "switchboard.gateway.httpclient.ssl.certificate"
	c.Certificate = strings.TrimPrefix(c.Certificate, "file:")
	c.PrivateKey = strings.TrimPrefix(c.PrivateKey, "file:")
	switch {
	case c.Certificate == "" && c.PrivateKey == "":
	case c.Certificate == "" || c.PrivateKey == "":
		b.Errorf(key, "a client certificate needs %s and %s-private-key, PEM files", key, key)
	default:
		if _, err := tls.LoadX509KeyPair(c.Certificate, c.PrivateKey); err != nil {
			b.Errorf(key, "%v", err)
		}
	}
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// childKey names element sub of key as springconf expects.
func childKey(key, sub string) string {
	if _, err := strconv.Atoi(sub); err == nil {
		return key + "[" + sub + "]"
	}
	return key + "." + sub
}

func bindRoutes(b *springconf.Binder, key string) []RouteDef {
	emptyList(b, key)
	var out []RouteDef
	for _, i := range b.List(key) {
		rk := childKey(key, i)
		rd := RouteDef{key: rk, Enabled: true}
		b.String(rk+".id", &rd.ID)
		if v, ok := b.Lookup(rk + ".uri"); ok {
			rd.URI, rd.where = strings.TrimSpace(v.Value), v
		}
		b.Int(rk+".order", &rd.Order, -1<<31, 1<<31-1)
		b.Bool(rk+".enabled", &rd.Enabled)
		b.Map(rk+".metadata", &rd.Metadata)
		for k := range rd.Metadata {
			if r := relaxed(k); r == "responsetimeout" || r == "connecttimeout" {
				if v, ok := b.Lookup(rk + ".metadata." + k); ok {
					if rd.metaWhere == nil {
						rd.metaWhere = map[string]string{}
					}
					rd.metaWhere[k] = v.Where
				}
			}
		}
		rd.Predicates = bindDefs(b, rk+".predicates", false)
		rd.Filters = bindDefs(b, rk+".filters", true)
		if rd.where.Where == "" {
			if v, ok := firstValue(b, rk); ok {
				rd.where = v
			}
		}
		out = append(out, rd)
	}
	return out
}

// emptyList accepts an empty list at key ("filters: []"), and reports a
// single value where a list belongs.
func emptyList(b *springconf.Binder, key string) {
	if v, ok := b.Lookup(key); ok && strings.TrimSpace(v.Value) != "" {
		b.Errorf(key, "%q is not a list; write each entry on its own line, starting with \"- \"", v.Value)
	}
}

// firstValue finds some value under key, for an error position.
func firstValue(b *springconf.Binder, key string) (springconf.Value, bool) {
	for _, sub := range b.List(key) {
		k := childKey(key, sub)
		if v, ok := b.Lookup(k); ok {
			return v, true
		}
		if v, ok := firstValue(b, k); ok {
			return v, true
		}
	}
	return springconf.Value{}, false
}

func routeName(key, id string) string {
	if id == "" {
		return key
	}
	return key + " (" + id + ")"
}

// bindDefs reads a list of predicate or filter definitions.
func bindDefs(b *springconf.Binder, key string, filters bool) []Def {
	emptyList(b, key)
	var out []Def
	for _, i := range b.List(key) {
		dk := childKey(key, i)
		if v, ok := b.Lookup(dk); ok {
			out = append(out, parseShortcut(v, dk))
			continue
		}
		d := Def{key: dk, Named: map[string]string{}, Raw: map[string]string{}}
		if v, ok := b.Lookup(dk + ".name"); ok {
			d.Name, d.where = strings.TrimSpace(v.Value), v
		}
		// The text names the arguments as written, in the order written,
		// so errors and /actuator/gateway/routes read the same every time.
		var parts []string
		collectArgs(b, dk+".args", "", d.Named, d.Raw, &parts)
		d.Text = d.Name + " " + strings.Join(parts, ", ")
		if d.where.Where == "" {
			d.where, _ = firstValue(b, dk)
		}
		out = append(out, d)
	}
	return out
}

// collectArgs flattens the args map: nested keys are joined with dots and
// list items with their index (Spring's patterns.0 form).
// text gets "name=value" for each, in the order written.
func collectArgs(b *springconf.Binder, key, prefix string, dst, raw map[string]string, text *[]string) {
	for _, sub := range b.List(key) {
		k := childKey(key, sub)
		name := sub
		if prefix != "" {
			name = prefix + "." + sub
		}
		if v, ok := b.Lookup(k); ok {
			dst[relaxed(name)] = v.Value
			raw[name] = v.Value
			*text = append(*text, name+"="+v.Value)
			continue
		}
		collectArgs(b, k, name, dst, raw, text)
	}
}

// relaxed canonicalizes an argument name: lower case without dashes or
// underscores, so replenishRate, replenish-rate and replenish_rate agree.
func relaxed(s string) string {
	s = strings.ToLower(s)
	s = strings.ReplaceAll(s, "-", "")
	return strings.ReplaceAll(s, "_", "")
}

// parseShortcut splits "Name=a, b" the way Spring does: at the first '=',
// then on commas, trimming spaces and dropping empty values.
func parseShortcut(v springconf.Value, key string) Def {
	d := Def{Text: v.Value, where: v, key: key}
	name, args, _ := strings.Cut(v.Value, "=")
	d.Name = strings.TrimSpace(name)
	for _, a := range strings.Split(args, ",") {
		if a = strings.TrimSpace(a); a != "" {
			d.Pos = append(d.Pos, a)
		}
	}
	return d
}

// arg returns argument i of a shortcut definition or the named argument of
// an expanded one.
func (d *Def) arg(i int, name string) (string, bool) {
	if d.Named != nil {
		v, ok := d.Named[relaxed(name)]
		return v, ok
	}
	if i >= 0 && i < len(d.Pos) {
		return d.Pos[i], true
	}
	return "", false
}

// list returns a list argument: every shortcut value from index from, or the
// expanded name.0, name.1 ... (or one comma-separated value).
func (d *Def) list(from int, name string) []string {
	if d.Named == nil {
		if from < len(d.Pos) {
			return d.Pos[from:]
		}
		return nil
	}
	var out []string
	for i := 0; ; i++ {
		v, ok := d.Named[relaxed(name)+"."+strconv.Itoa(i)]
		if !ok {
			break
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		if v, ok := d.Named[relaxed(name)]; ok {
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// mapArg returns the expanded arguments under name (claim-headers.sub, ...)
// keyed by the rest of their name exactly as written.
func (d *Def) mapArg(name string) map[string]string {
	out := map[string]string{}
	want := relaxed(name)
	for k, v := range d.Raw {
		head, rest, ok := strings.Cut(k, ".")
		if ok && relaxed(head) == want {
			out[rest] = v
		}
	}
	return out
}
