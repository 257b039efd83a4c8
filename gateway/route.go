package gateway

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/gateway/filter"
	"github.com/switchboard-dev/switchboard/gateway/predicate"
)

// Route is one compiled route: predicates ANDed, filters in order, and the
// target the proxy sends to. It never changes once the table is built.
type Route struct {
	ID       string
	URI      string // as configured: http://host:port, https://..., lb://SERVICE, forward:/path, no://op
	Order    int
	Metadata map[string]string

	// Service is the application name of an lb:// route, upper case; target
	// is the fixed upstream of an http(s) route.
	Service string
	target  *url.URL
	forward string // path of a forward: route

	ConnectTimeout  time.Duration
	ResponseTimeout time.Duration // 0: none for this route

	predicates []predicate.Predicate
	keys       indexKeys             // what the route index files the route under
	vars       []predicate.Extractor // URI template variables, for filters that use them
	handler    http.Handler          // filters, then the proxy

	// Descriptions, for /actuator/gateway/routes.
	PredicateDefs []string
	FilterDefs    []string
}

// matches reports whether every predicate accepts r.
func (rt *Route) matches(r *http.Request) bool {
	for _, p := range rt.predicates {
		if !p(r) {
			return false
		}
	}
	return true
}

// orderedFilter is a filter with its position, for Spring's ordering rule.
type orderedFilter struct {
	order  int
	def    string
	filter filter.Filter
}

// orderFilters merges default and route filters the way Spring Cloud Gateway
// does: each list is numbered from 1 by position, and the combined list is
// stable-sorted by that number, so defaults [A, B] and route filters [C, D]
// run A, C, B, D.
func orderFilters(defaults, route []orderedFilter) []orderedFilter {
	all := make([]orderedFilter, 0, len(defaults)+len(route))
	for i, f := range defaults {
		f.order = i + 1
		all = append(all, f)
	}
	for i, f := range route {
		f.order = i + 1
		all = append(all, f)
	}
	slices.SortStableFunc(all, func(a, b orderedFilter) int { return a.order - b.order })
	return all
}

// chain wraps h in the filters, the first filter outermost.
func chain(filters []orderedFilter, h http.Handler) http.Handler {
	for i := len(filters) - 1; i >= 0; i-- {
		h = filters[i].filter(h)
	}
	return h
}

// table is an immutable route table, swapped whole on reload.
type table struct {
	routes  []*Route // sorted by Order, then configuration order
	index   routeIndex
	weights *predicate.WeightGroups
	byID    map[string]*Route

	cfg      *Config          // what the table was built from
	breakers *filter.Breakers // nil when no route has a CircuitBreaker
}

// match returns the first route whose predicates all accept r, or nil.
//
// The index hands out, in table order, only the routes that can match r's
// first path segment or host, and every route it cannot rule out; those are
// the only routes that could have won a walk over the whole table, so the
// result is the same. Match does not allocate.
func (t *table) match(r *http.Request) *Route {
	ix := &t.index
	if ix.segments == nil && ix.hosts == nil {
		for _, rt := range t.routes {
			if rt.matches(r) {
				return rt
			}
		}
		return nil
	}
	a, b, c := ix.rest, ix.segmentRoutes(r), ix.hostRoutes(r)
	for {
		// Take the lowest index at the head of the three lists. A route is in
		// one list only, so the heads never tie.
		var i int32
		switch {
		case len(a) > 0 && (len(b) == 0 || a[0] < b[0]) && (len(c) == 0 || a[0] < c[0]):
			i, a = a[0], a[1:]
		case len(b) > 0 && (len(c) == 0 || b[0] < c[0]):
			i, b = b[0], b[1:]
		case len(c) > 0:
			i, c = c[0], c[1:]
		default:
			return nil
		}
		if rt := t.routes[i]; rt.matches(r) {
			return rt
		}
	}
}

// routeIndex files a table's routes under what their predicates demand of
// a request, so that with 10,000 routes /svc0/** ... /svc9999/** a request
// tries the one route filed under its first segment rather than all of
// them. Each list holds positions in the table, ascending. It is built with
// the table and read-only after.
type routeIndex struct {
	segments map[string][]int32 // first path segment -> routes whose Path patterns all start with it
	hosts    map[string][]int32 // lower-case Host -> routes that name it literally and have no such Path
	rest     []int32            // every other route: the index cannot rule them out
}

// newRouteIndex indexes routes, which are in table order. It leaves the
// index empty (match walks the table) when it would not narrow anything.
func newRouteIndex(routes []*Route) routeIndex {
	var ix routeIndex
	for i, rt := range routes {
		var m *map[string][]int32
		switch rt.keys.by {
		case bySegment:
			m = &ix.segments
		case byHost:
			m = &ix.hosts
		default:
			ix.rest = append(ix.rest, int32(i))
			continue
		}
		if *m == nil {
			*m = make(map[string][]int32)
		}
		for _, k := range rt.keys.keys {
			(*m)[k] = append((*m)[k], int32(i))
		}
	}
	return ix
}

// segmentRoutes returns the routes filed under r's first path segment.
func (ix *routeIndex) segmentRoutes(r *http.Request) []int32 {
	if ix.segments == nil {
		return nil
	}
	seg, ok := firstSegment(predicate.RequestPath(r))
	if !ok {
		return nil
	}
	return ix.segments[seg]
}

// hostRoutes returns the routes filed under r's Host, which like the Host
// predicate it compares ignoring the case of ASCII letters.
func (ix *routeIndex) hostRoutes(r *http.Request) []int32 {
	host := r.Host
	if ix.hosts == nil || len(host) > maxIndexedHost { // no key is longer
		return nil
	}
	upper := false
	for i := 0; i < len(host); i++ {
		if 'A' <= host[i] && host[i] <= 'Z' {
			upper = true
			break
		}
	}
	if !upper {
		return ix.hosts[host]
	}
	var buf [maxIndexedHost]byte
	b := buf[:len(host)]
	for i := 0; i < len(host); i++ {
		b[i] = lowerASCII(host[i])
	}
	return ix.hosts[string(b)] // the compiler does not copy b for a map lookup
}

// firstSegment returns the first segment of an escaped request path, the
// text between its first and second '/', as the Path predicate reads it: an
// empty path is "/", whose first segment is "". It returns false when the
// path does not start with '/' (OPTIONS *), which no Path pattern matches.
func firstSegment(path string) (string, bool) {
	if path == "" {
		return "", true
	}
	if path[0] != '/' {
		return "", false
	}
	seg := path[1:]
	if i := strings.IndexByte(seg, '/'); i >= 0 {
		seg = seg[:i]
	}
	return seg, true
}

// indexBy says what a route is indexed by.
type indexBy uint8

const (
	byNothing indexBy = iota // tried for every request
	bySegment                // tried when the request's first path segment is a key
	byHost                   // tried when the request's lower-case Host is a key
)

// indexKeys are what a route's predicates demand of every request it
// matches, in a form the index can look up. The zero value demands
// nothing.
type indexKeys struct {
	by   indexBy
	keys []string
}

// maxIndexedHost is the longest Host the index files a route under: a DNS
// name and a port fit, and the lookup lowers the request's Host on the stack.
const maxIndexedHost = 255

// keysOf works out a route's index keys from its predicate definitions,
// which must have compiled. It reads the arguments as the Path and Host
// cases of builder.predicate do; TestRouteIndexRandom checks that the two
// agree. Predicates are ANDed, so any one Path predicate limits the first
// segment, and several limit it to what they have in common. A Path
// predicate counts only if every one of its patterns starts with a literal
// segment; Host is used only when no Path predicate counts.
func keysOf(defs []Def) indexKeys {
	var segs, hosts []string
	haveSegs, haveHosts := false, false
	for i := range defs {
		d := &defs[i]
		switch d.Name {
		case "Path":
			if ks, ok := pathKeys(d.list(0, "patterns")); ok {
				segs, haveSegs = intersect(segs, haveSegs, ks), true
			}
		case "Host":
			if ks, ok := hostKeys(d.list(0, "patterns")); ok {
				hosts, haveHosts = intersect(hosts, haveHosts, ks), true
			}
		}
	}
	switch {
	case haveSegs:
		return indexKeys{by: bySegment, keys: segs}
	case haveHosts:
		return indexKeys{by: byHost, keys: hosts}
	}
	return indexKeys{}
}

// pathKeys returns the literal first segments of Path patterns, or false
// if one of them can match more than one first segment. A PathPattern
// whose first segment holds none of '{', '}', '*' and '?' compiles it to a
// literal that the request's segment must equal, byte for byte, escapes
// and case included. An argument that is not a pattern must be the
// shortcut's final true or false (matchTrailingSlash), which does not
// change the first segment.
func pathKeys(args []string) ([]string, bool) {
	var keys []string
	for _, p := range args {
		if !strings.HasPrefix(p, "/") {
			if b := strings.ToLower(p); b == "true" || b == "false" {
				continue
			}
			return nil, false
		}
		seg := p[1:]
		if i := strings.IndexByte(seg, '/'); i >= 0 {
			seg = seg[:i]
		}
		if strings.ContainsAny(seg, "{}*?") {
			return nil, false
		}
		if !slices.Contains(keys, seg) {
			keys = append(keys, seg)
		}
	}
	return keys, len(keys) > 0
}

// hostKeys returns Host patterns in lower case, or false if one of them is
// not a plain host name. A pattern with no '{', '}', '*' or '?' is all
// literal labels and matches a Host that equals it but for the case of
// ASCII letters; non-ASCII text is left out, since the pattern lowers it
// and the request's Host does not.
func hostKeys(patterns []string) ([]string, bool) {
	var keys []string
	for _, p := range patterns {
		if p == "" || len(p) > maxIndexedHost || strings.ContainsAny(p, "{}*?") {
			return nil, false
		}
		b := []byte(p)
		for i, c := range b {
			if c >= 0x80 {
				return nil, false
			}
			b[i] = lowerASCII(c)
		}
		if k := string(b); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys, len(keys) > 0
}

// intersect returns next, or when have is set, the keys in both.
func intersect(keys []string, have bool, next []string) []string {
	if !have {
		return next
	}
	return slices.DeleteFunc(keys, func(k string) bool { return !slices.Contains(next, k) })
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func sortRoutes(routes []*Route) {
	slices.SortStableFunc(routes, func(a, b *Route) int {
		switch {
		case a.Order < b.Order:
			return -1
		case a.Order > b.Order:
			return 1
		}
		return 0
	})
}
