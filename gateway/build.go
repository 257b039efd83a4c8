package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/gateway/filter"
	"github.com/switchboard-dev/switchboard/gateway/predicate"
	"github.com/switchboard-dev/switchboard/internal/springconf"
)

// BuildError lists every problem found compiling a configuration.
type BuildError struct{ Problems []string }

func (e *BuildError) Error() string { return strings.Join(e.Problems, "\n") }

// builder compiles one route table.
type builder struct {
	g       *Gateway
	cfg     *Config
	weights *predicate.WeightGroups
	prox    *proxy
	brk     *filter.Breakers
	probs   []string // each once
	nprobs  int      // problems found, repeats included: a route with one is left out
}

func (b *builder) problem(where, format string, args ...any) {
	b.nprobs++
	msg := fmt.Sprintf(format, args...)
	if where != "" {
		msg = where + ": " + msg
	}
	if !slices.Contains(b.probs, msg) {
		b.probs = append(b.probs, msg) // a bad default filter fails every route the same way
	}
}

// splitErr returns the errors joined in err, so that each becomes its own
// problem line with its position.
func splitErr(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitErr(e)...)
		}
		return out
	}
	return []error{err}
}

// build compiles cfg and, with the discovery locator on, the registry's
// applications into a route table.
func (g *Gateway) build(cfg *Config) (*table, error) {
	b := &builder{g: g, cfg: cfg, weights: predicate.NewWeightGroups()}
	t := &table{byID: map[string]*Route{}}
	for i := range cfg.Routes {
		rd := &cfg.Routes[i]
		if !rd.Enabled {
			continue
		}
		if rd.ID == "" {
			rd.ID = "route-" + strconv.Itoa(i)
		}
		if prev := t.byID[rd.ID]; prev != nil {
			b.problem(rd.where.Where, "%s: duplicate route id %q", routeName(rd.key, rd.ID), rd.ID)
			continue
		}
		if rt := b.route(rd); rt != nil {
			rt.keys = keysOf(rd.Predicates)
			t.routes = append(t.routes, rt)
			t.byID[rt.ID] = rt
		}
	}
	if cfg.Locator.Enabled && g.reg != nil {
		for _, rt := range b.discoveryRoutes() {
			if t.byID[rt.ID] == nil {
				t.routes = append(t.routes, rt)
				t.byID[rt.ID] = rt
			}
		}
	}
	if len(cfg.Resilience) > 0 {
		b.breakers() // report bad resilience4j keys even when no route uses a breaker
	}
	if len(b.probs) > 0 {
		return nil, &BuildError{Problems: b.probs}
	}
	t.cfg, t.breakers = cfg, b.brk
	sortRoutes(t.routes)
	t.index = newRouteIndex(t.routes)
	if b.weights.Len() > 0 {
		t.weights = b.weights
	}
	return t, nil
}

// Check compiles cfg's routes without serving them and returns every
// problem found, each starting with its file and line.
func Check(cfg *Config) []string {
	g := &Gateway{log: slog.New(slog.DiscardHandler), pool: &bufferPool{}, localLim: filter.NewLocalLimiter(1)}
	g.tr = newTransport(cfg.HTTPClient)
	defer g.tr.CloseIdleConnections()
	g.metrics = newMetrics(g)
	_, err := g.build(cfg)
	var be *BuildError
	if errors.As(err, &be) {
		return be.Problems
	}
	if err != nil {
		return []string{err.Error()}
	}
	return nil
}

// route compiles one route definition; problems are recorded in b.
func (b *builder) route(rd *RouteDef) *Route {
	name := routeName(rd.key, rd.ID)
	before := b.nprobs
	if rd.URI == "" {
		b.problem(rd.where.Where, "%s: uri is missing; want http(s)://host:port or lb://SERVICE", name)
	}
	if len(rd.Predicates) == 0 {
		b.problem(rd.where.Where, "%s: no predicates; a route needs at least one, such as Path=/orders/**", name)
	}
	rt := &Route{ID: rd.ID, URI: rd.URI, Order: rd.Order, Metadata: rd.Metadata}
	b.target(rt, rd.where.Where, name)
	b.metadata(rt, rd, name)
	for j := range rd.Predicates {
		d := &rd.Predicates[j]
		p, vars, err := b.predicate(d, rt.ID)
		if err != nil {
			for _, e := range splitErr(err) {
				b.problem(d.where.Where, "%s: predicates[%d]: %s: %v", name, j, d.Text, e)
			}
			continue
		}
		rt.predicates = append(rt.predicates, p)
		rt.PredicateDefs = append(rt.PredicateDefs, d.Text)
		if vars != nil {
			rt.vars = append(rt.vars, vars)
		}
	}
	defaults := b.filters(b.cfg.DefaultFilters, rt, name, "default-filters")
	own := b.filters(rd.Filters, rt, name, "filters")
	if b.nprobs > before {
		return nil
	}
	all := orderFilters(defaults, own)
	if !usesVars(all) {
		rt.vars = nil // nothing reads {var}: skip the per-request extraction
	}
	for _, f := range all {
		rt.FilterDefs = append(rt.FilterDefs, "["+f.def+", order = "+strconv.Itoa(f.order)+"]")
	}
	rt.handler = chain(all, b.final(rt))
	return rt
}

// target parses the route URI.
func (b *builder) target(rt *Route, where, name string) {
	u, err := url.Parse(rt.URI)
	switch {
	case rt.URI == "":
		return // reported by Bind
	case err != nil:
		b.problem(where, "%s: uri %q: %v", name, rt.URI, err)
	case u.Scheme == "lb":
		if u.Host == "" || strings.Contains(u.Host, "_") {
			b.problem(where, "%s: uri %q: want lb://SERVICE with a valid host name", name, rt.URI)
			return
		}
		rt.Service = strings.ToUpper(u.Host)
	case u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "ws" || u.Scheme == "wss":
		if u.Host == "" {
			b.problem(where, "%s: uri %q has no host", name, rt.URI)
			return
		}
		t := &url.URL{Scheme: u.Scheme, Host: u.Host}
		if t.Scheme == "ws" {
			t.Scheme = "http"
		} else if t.Scheme == "wss" {
			t.Scheme = "https"
		}
		rt.target = t
	case u.Scheme == "forward":
		rt.forward = u.Opaque + u.Path
		if rt.forward == "" {
			b.problem(where, "%s: uri %q: want forward:/path", name, rt.URI)
		}
	case u.Scheme == "no" && u.Host == "op":
	default:
		b.problem(where, "%s: uri %q: unknown scheme %q; want http, https, ws, wss, lb, forward or no://op", name, rt.URI, u.Scheme)
	}
}

// metadata applies the route metadata Spring gives meaning to.
func (b *builder) metadata(rt *Route, rd *RouteDef, name string) {
	for _, k := range slices.Sorted(maps.Keys(rt.Metadata)) {
		v := rt.Metadata[k]
		where := rd.where.Where
		if w := rd.metaWhere[k]; w != "" {
			where = w
		}
		var dst *time.Duration
		switch relaxed(k) {
		case "responsetimeout":
			dst = &rt.ResponseTimeout
		case "connecttimeout":
			dst = &rt.ConnectTimeout
		default:
			continue
		}
		ms, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			b.problem(where, "%s: metadata.%s: %q is not a whole number of milliseconds", name, k, v)
			continue
		}
		if ms < 0 {
			ms = -1 // negative disables the global timeout
		}
		*dst = time.Duration(ms) * time.Millisecond
	}
}

// final is the end of a route's chain: the proxy, a forward, or nothing.
func (b *builder) final(rt *Route) http.Handler {
	switch {
	case rt.target != nil || rt.Service != "":
		return b.proxy().routeHandler(rt)
	case rt.forward != "":
		return b.g.forwardTo(rt.forward)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
}

// forwardTo re-dispatches a request inside the gateway with another path,
// as Spring's forward: URIs do.
func (g *Gateway) forwardTo(path string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if depth, _ := r.Context().Value(forwardDepthKey).(int); depth >= 5 {
			http.Error(w, "forward loop", http.StatusLoopDetected)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = path, ""
		depth, _ := r.Context().Value(forwardDepthKey).(int)
		r2 = r2.WithContext(contextWith(r2.Context(), forwardDepthKey, depth+1))
		t := g.tbl.Load()
		rt := t.match(r2)
		if rt == nil {
			http.NotFound(w, r2)
			return
		}
		rt.handler.ServeHTTP(w, r2)
	})
}

// errUnknown lists the known names, sorted, in an unknown-name error.
func errUnknown(kind, name string, known []string) error {
	slices.Sort(known)
	best, bestD := "", 3
	for _, k := range known {
		if d := springconf.EditDistance(strings.ToLower(name), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Errorf("unknown %s %q; did you mean %s? known: %s", kind, name, best, strings.Join(known, ", "))
	}
	return fmt.Errorf("unknown %s %q; known: %s", kind, name, strings.Join(known, ", "))
}

var errMissing = errors.New("missing argument")

// need returns argument i/name or an error naming it.
func need(d *Def, i int, name string) (string, error) {
	v, ok := d.arg(i, name)
	if !ok || strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("%w %q", errMissing, name)
	}
	return strings.TrimSpace(v), nil
}

func optional(d *Def, i int, name, def string) string {
	if v, ok := d.arg(i, name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func atoi(name, s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a whole number", name, s)
	}
	return n, nil
}

func parseBool(name, s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%s: %q is not a boolean; want true or false", name, s)
}

// usesVars reports whether a filter argument mentions a {var} template.
func usesVars(filters []orderedFilter) bool {
	for _, f := range filters {
		if strings.Contains(f.def, "{") {
			return true
		}
	}
	return false
}
