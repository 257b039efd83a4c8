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
		b.prox = newProxy(b.g.tr, b.g.up, b.g.reg, pickerFor(b.cfg), b.cfg.TrustedProxies, b.cfg.HTTPClient, b.g.pool)
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

// Upstream failure kinds, as the Retry and CircuitBreaker filters name them.
type failureKind = filter.FailureKind

const (
	failureConnect  = filter.ConnectFailure
	failureTimeout  = filter.Timeout
	failureReset    = filter.Reset
	failureCanceled = filter.FailureKind(0)
)

func markUpstreamFailure(w http.ResponseWriter, k failureKind) {
	if k != failureCanceled {
		filter.MarkUpstreamFailure(w, k)
	}
}

func preservesHost(r *http.Request) bool { return filter.PreservesHost(r) }

// correlationID is the id the CorrelationId filter kept or made, read from
// the response (the access log sees the request as it was before filters).
func correlationID(r *http.Request, rec *recorder) string {
	if id := rec.Header().Get("X-Correlation-Id"); id != "" {
		return id
	}
	return r.Header.Get("X-Correlation-Id")
}

// limiter returns the rate limiter routes share: Redis when configured, so
// every gateway instance draws from one budget, else in process.
func (g *Gateway) limiter() filter.Limiter {
	if g.redisLim != nil {
		return g.redisLim
	}
	return g.localLim
}

// jwksFor returns the key set of uri, shared by every filter and kept
// across reloads; Run keeps it fresh.
func (g *Gateway) jwksFor(uri string) (*filter.JWKS, error) {
	g.jwksMu.Lock()
	defer g.jwksMu.Unlock()
	if j := g.jwks[uri]; j != nil {
		return j, nil
	}
	j, err := filter.NewJWKS(filter.JWKSConfig{URI: uri, Logger: g.log})
	if err != nil {
		return nil, err
	}
	if g.jwks == nil {
		g.jwks = map[string]*filter.JWKS{}
	}
	g.jwks[uri] = j
	if g.runCtx != nil {
		g.runWG.Go(func() { j.Run(g.runCtx) })
	}
	return j, nil
}
