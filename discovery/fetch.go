package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
)

// versionHeader carries the registry version on Switchboard's documents and
// watch answers. Eureka servers do not send it; the client then polls.
const versionHeader = "X-Registry-Version"

// maxWatchWait is the longest wait the registry grants a watch.
const maxWatchWait = 5 * time.Minute

// fetchLoop keeps the local registry up to date until ctx is done: a full
// fetch first, then deltas. Between two fetches it watches the registry for
// a change when it can, and otherwise sleeps RegistryFetchInterval. Failed
// fetches back off up to RegistryFetchInterval×CacheRefreshBackoffBound and
// leave the last good registry in place, as the Java client does.
func (c *Client) fetchLoop(ctx context.Context) {
	interval := c.cfg.RegistryFetchInterval
	failures := 0
	for {
		version, err := c.refresh(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			c.stats.fetchErrors.Add(1)
			c.log.Warn("registry fetch failed; keeping the last good copy", "err", err, "failures", failures)
			if !sleep(ctx, backoff(interval, failures, c.cfg.CacheRefreshBackoffBound)) {
				return
			}
			continue
		}
		failures = 0
		if c.cfg.Watch && version != "" && c.watch(ctx, version) {
			continue
		}
		if !sleep(ctx, interval) {
			return
		}
	}
}

// refresh runs one fetch as the Java client does (§6.3): a full fetch until
// one has succeeded (or always, with DisableDelta); then a delta, applied to
// the local registry and checked against the delta's apps__hashcode; on a
// mismatch, or when the registry refuses deltas, a full fetch. It returns
// the registry version the answer carried, if any.
func (c *Client) refresh(ctx context.Context) (string, error) {
	cur := c.snap.Load()
	if c.cfg.DisableDelta || !cur.synced {
		return c.fetchFull(ctx)
	}
	res, err := c.do(ctx, &call{op: "fetch delta", method: http.MethodGet, path: "/apps/delta", accept: acceptDelta})
	if err != nil {
		return "", err
	}
	if res.code != http.StatusOK {
		c.log.Debug("delta refused; fetching the full registry", "registry", res.server.base, "code", res.code)
		return c.fetchFull(ctx)
	}
	delta, err := eureka.DecodeApplicationsJSON(res.body)
	if err != nil {
		return "", fmt.Errorf("fetch delta from %s: %w", res.server.base, err)
	}
	c.stats.deltaFetches.Add(1)
	all := cur.all
	next := applyDelta(cur.all, delta)
	if next != nil {
		all = next
	}
	if h := hashOf(all); h != delta.AppsHashcode {
		c.stats.reconciles.Add(1)
		c.log.Info("local registry differs from the registry's; fetching it in full",
			"local_hash", h, "registry_hash", delta.AppsHashcode, "registry", res.server.base)
		return c.fetchFull(ctx)
	}
	if next != nil {
		c.publish(newSnapshot(all, delta.VersionsDelta, c.cfg.FilterOnlyUpInstances))
	}
	return res.header.Get(versionHeader), nil
}

// fetchFull replaces the local registry with GET /apps/. Only a 200 with a
// document counts; anything else leaves the last good registry in place.
func (c *Client) fetchFull(ctx context.Context) (string, error) {
	res, err := c.do(ctx, &call{op: "fetch registry", method: http.MethodGet, path: "/apps/", accept: accept2xx})
	if err != nil {
		return "", err
	}
	if res.code != http.StatusOK {
		return "", fmt.Errorf("fetch registry: %s answered %d, want 200", res.server.base, res.code)
	}
	doc, err := eureka.DecodeApplicationsJSON(res.body)
	if err != nil {
		return "", fmt.Errorf("fetch registry from %s: %w", res.server.base, err)
	}
	c.stats.fullFetches.Add(1)
	all := fromFull(doc)
	if cur := c.snap.Load(); !cur.synced || !sameIndex(cur.all, all) {
		c.publish(newSnapshot(all, doc.VersionsDelta, c.cfg.FilterOnlyUpInstances))
	}
	return res.header.Get(versionHeader), nil
}

// hashOf computes apps__hashcode over every instance of all.
func hashOf(all map[string]map[string]*eureka.Instance) string {
	counts := make(map[eureka.Status]int, len(eureka.Statuses))
	for _, m := range all {
		for _, in := range m {
			counts[in.Status]++
		}
	}
	return eureka.HashCode(counts)
}

// watch long-polls the registry's watch extension,
// GET /watch?version=V&wait=RegistryFetchInterval, which answers when the
// registry version differs from V or the wait is over. It reports whether
// the next fetch should run at once: after a change, or after a full wait
// (the periodic fetch). It reports false, so the caller sleeps and polls,
// when the registry has no watch extension (404 or 405, as from Eureka; it
// is then not asked again for WatchRetryAfter) or the watch failed.
func (c *Client) watch(ctx context.Context, version string) bool {
	if srv := c.servers.list[c.servers.pick(make([]bool, len(c.servers.list)))]; srv.noWatchUntil.Load() > time.Now().UnixNano() {
		return false
	}
	wait := min(c.cfg.RegistryFetchInterval, maxWatchWait)
	start := time.Now()
	res, err := c.do(ctx, &call{
		op:     "watch",
		method: http.MethodGet,
		path:   "/watch?version=" + url.QueryEscape(version) + "&wait=" + wait.String(),
		accept: acceptWatch,
		wait:   wait,
	})
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("watch failed; polling", "err", err)
		}
		return false
	}
	if res.code == http.StatusNotFound || res.code == http.StatusMethodNotAllowed {
		res.server.noWatchUntil.Store(time.Now().Add(WatchRetryAfter).UnixNano())
		c.log.Info("registry has no watch extension; polling it", "registry", res.server.base, "code", res.code, "retry_after", WatchRetryAfter)
		return false
	}
	v := res.header.Get(versionHeader)
	if v == "" {
		var body struct{ Version string }
		if json.Unmarshal(res.body, &body) != nil || body.Version == "" {
			c.log.Warn("watch answer without a version; polling", "registry", res.server.base)
			return false
		}
		v = body.Version
	}
	if v != version {
		c.stats.watches.Add(1)
		return true
	}
	// Unchanged: time for the periodic fetch, unless the registry answered
	// early without a change, which would make this loop spin.
	return time.Since(start) >= wait/2
}
