package gateway

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	"github.com/switchboard-dev/switchboard/gateway/filter"
	"github.com/switchboard-dev/switchboard/gateway/predicate"
)

// discoveryRoutes builds one route per registered application with at least
// one instance, as Spring's discovery locator does: Path=/SERVICE/** with
// the first segment stripped, lb://SERVICE, the default filters, and the
// service name lower-cased in the path when LowerCaseServiceID is set.
func (b *builder) discoveryRoutes() []*Route {
	apps := b.g.reg.Applications()
	if apps == nil {
		return nil
	}
	var out []*Route
	for _, app := range apps.Applications {
		if len(app.Instances) == 0 {
			continue
		}
		service := app.Name
		if b.cfg.Locator.LowerCaseServiceID {
			service = strings.ToLower(service)
		}
		rt := &Route{
			ID:      b.cfg.Locator.RouteIDPrefix + app.Name,
			URI:     "lb://" + app.Name,
			Service: strings.ToUpper(app.Name),
			Order:   0,
		}
		pattern := "/" + service + "/**"
		p, err := predicate.Path(true, pattern)
		if err != nil {
			b.g.log.Warn("discovery locator: skipping application", "app", app.Name, "err", err)
			continue
		}
		rt.predicates = []predicate.Predicate{p}
		rt.PredicateDefs = []string{"Path=" + pattern}
		if ks, ok := pathKeys([]string{pattern}); ok {
			rt.keys = indexKeys{by: bySegment, keys: ks}
		}
		re := "/" + regexp.QuoteMeta(service) + "/?(?<remaining>.*)"
		strip, err := filter.RewritePath(re, "/${remaining}")
		if err != nil {
			b.g.log.Warn("discovery locator: skipping application", "app", app.Name, "err", err)
			continue
		}
		before := b.nprobs
		defaults := b.filters(b.cfg.DefaultFilters, rt, "discovery route "+rt.ID, "default-filters")
		if b.nprobs > before {
			continue
		}
		own := []orderedFilter{{def: "RewritePath=" + re + ", /${remaining}", filter: strip}}
		all := orderFilters(defaults, own)
		for _, f := range all {
			rt.FilterDefs = append(rt.FilterDefs, "["+f.def+", order = "+strconv.Itoa(f.order)+"]")
		}
		rt.handler = chain(all, b.final(rt))
		out = append(out, rt)
	}
	return out
}

// Run follows the registry until ctx is done, rebuilding the discovery
// locator's routes when the set of applications changes. Without the
// locator it just waits.
func (g *Gateway) Run(ctx context.Context) error {
	g.jwksMu.Lock()
	g.runCtx = ctx
	for _, j := range g.jwks {
		g.runWG.Go(func() { j.Run(ctx) })
	}
	g.jwksMu.Unlock()
	defer func() {
		g.runWG.Wait()
		if g.redis != nil {
			g.redis.Close()
		}
		g.tr.CloseIdleConnections()
		g.up.closeIdle(true)
	}()
	if g.reg == nil {
		<-ctx.Done()
		return nil
	}
	last := appSet(g.reg)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-g.reg.Changed():
		}
		g.mu.Lock()
		enabled := g.cfg.Locator.Enabled
		g.mu.Unlock()
		if !enabled {
			continue
		}
		if now := appSet(g.reg); now != last {
			last = now
			g.refreshDiscovered()
		}
	}
}

// appSet names the applications that have instances, in order.
func appSet(r Registry) string {
	apps := r.Applications()
	if apps == nil {
		return ""
	}
	var b strings.Builder
	for _, a := range apps.Applications {
		if len(a.Instances) > 0 {
			b.WriteString(a.Name)
			b.WriteByte(',')
		}
	}
	return b.String()
}
