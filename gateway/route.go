package gateway

import (
	"net/http"
	"net/url"
	"slices"
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
	weights *predicate.WeightGroups
	byID    map[string]*Route

	cfg      *Config          // what the table was built from
	breakers *filter.Breakers // nil when no route has a CircuitBreaker
}

// match returns the first route whose predicates all accept r, or nil.
func (t *table) match(r *http.Request) *Route {
	for _, rt := range t.routes {
		if rt.matches(r) {
			return rt
		}
	}
	return nil
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
