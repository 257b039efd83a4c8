package gateway

import (
	"context"
	"net/http"

	"github.com/switchboard-dev/switchboard/discovery"
	"github.com/switchboard-dev/switchboard/gateway/filter"
	"github.com/switchboard-dev/switchboard/gateway/predicate"
)

const forwardDepthKey ctxKey = 100

func contextWith(ctx context.Context, k ctxKey, v any) context.Context {
	return context.WithValue(ctx, k, v)
}

// proxy returns the proxy every route of the table being built shares.
func (b *builder) proxy() *proxy {
	if b.prox == nil {
		b.prox = newProxy(b.g.tr, b.g.reg, pickerFor(b.cfg), b.cfg.TrustedProxies, b.cfg.HTTPClient, b.g.pool)
	}
	return b.prox
}

// pickerFor chooses the load-balancing picker named by
// spring.cloud.loadbalancer.configurations.
func pickerFor(cfg *Config) discovery.Picker {
	switch cfg.LoadBalancer {
	case "random":
		return discovery.Random{}
	case "weighted":
		return discovery.Weighted("weight")
	case "zone-preference":
		return discovery.ZonePreference(cfg.Zone, "zone", &discovery.RoundRobin{})
	case "least-outstanding":
		return &discovery.LeastOutstanding{}
	}
	return &discovery.RoundRobin{}
}

// withVars stores the URI template variables of the matched route's Path
// patterns for the filters that use them.
func withVars(r *http.Request, extractors []predicate.Extractor) *http.Request {
	vars := make(map[string]string, 4)
	for _, x := range extractors {
		x(r, vars)
	}
	if len(vars) == 0 {
		return r
	}
	return filter.WithVars(r, vars)
}
