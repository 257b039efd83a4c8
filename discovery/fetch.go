package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
)

// versionHeader carries the registry version on Switchboard's documents and
// watch answers. Eureka servers do not send it; the client then polls.
const versionHeader = "X-Registry-Version"

// epochHeader names the run of the registry that numbered versionHeader:
// versions start again at each start of a registry and differ between nodes.
const epochHeader = "X-Registry-Epoch"

// maxWatchWait is the longest wait the registry grants a watch.
const maxWatchWait = 5 * time.Minute

// position is where the local registry stands in a Switchboard registry's
// history: the version of the last document applied to it, and the run of
// the registry that numbered that version. Both are empty after a document
// from a Eureka server.
type position struct {
	version string
	epoch   string
}

func positionOf(res *result) position {
	return position{version: res.header.Get(versionHeader), epoch: res.header.Get(epochHeader)}
}

// fetchLoop keeps the local registry up to date until ctx is done: a full
// fetch first, then deltas. Between two fetches it watches the registry for
// a change when it can, and otherwise sleeps RegistryFetchInterval. Failed
// fetches back off up to RegistryFetchInterval×CacheRefreshBackoffBound and
// leave the last good registry in place, as the Java client does.
func (c *Client) fetchLoop(ctx context.Context) {
	interval := c.cfg.RegistryFetchInterval
	failures := 0
	var pos position // of the local registry
	watched := false // the registry answered the last watch
	for {
		next, err := c.refresh(ctx, pos, watched)
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
		pos, failures, watched = next, 0, false
		if c.cfg.Watch && pos.version != "" {
			var now bool
			if now, watched = c.watch(ctx, pos.version); now {
				continue
			}
		}
		if !sleep(ctx, interval) {
			return
		}
	}
}

// refresh runs one fetch as the Java client does (§6.3): a full fetch until
// one has succeeded (or always, with DisableDelta); then a delta, applied to
// the local registry and checked against the delta's apps__hashcode; on a
// mismatch, or when the registry refuses deltas, a full fetch. After the
// registry answered a watch, the delta asked for is only the changes since
// pos (see registry/watch.go); the registry answers 409 or 410 when it
// cannot say what changed since then, and the client fetches in full. It
// returns the position of the local registry afterwards.
func (c *Client) refresh(ctx context.Context, pos position, watched bool) (position, error) {
	cur := c.snap.Load()
	if c.cfg.DisableDelta || !cur.synced {
		return c.fetchFull(ctx)
	}
	cl := &call{op: "fetch delta", method: http.MethodGet, path: "/apps/delta", accept: acceptDelta}
	since := watched && pos.version != "" && pos.epoch != ""
	if since {
		cl.path += "?since=" + url.QueryEscape(pos.version) + "&epoch=" + url.QueryEscape(pos.epoch)
		cl.accept = acceptDeltaSince
	}
	res, err := c.do(ctx, cl)
	if err != nil {
		return position{}, err
	}
	switch {
	case res.code == http.StatusOK:
	case since && res.code != http.StatusForbidden && res.code != http.StatusNotFound:
		c.stats.sinceRefused.Add(1)
		c.log.Info("registry cannot tell the changes since our version; fetching it in full",
			"registry", res.server.base, "version", pos.version, "code", res.code, "reason", firstLine(res.body))
		return c.fetchFull(ctx)
	default:
		c.log.Debug("delta refused; fetching the full registry", "registry", res.server.base, "code", res.code)
		return c.fetchFull(ctx)
	}
	began := time.Now()
	delta, err := eureka.DecodeApplicationsJSON(res.body)
	if err != nil {
		return position{}, fmt.Errorf("fetch delta from %s: %w", res.server.base, err)
	}
	c.stats.deltaFetches.Add(1)
	if since {
		c.stats.sinceFetches.Add(1)
	}
	next := cur
	if e := cur.deltaEdits(delta); len(e) > 0 {
		next = cur.next(e, delta.VersionsDelta, c.cfg.FilterOnlyUpInstances)
	}
	c.stats.applyNanos.Add(int64(time.Since(began)))
	if next.hash != delta.AppsHashcode {
		c.stats.reconciles.Add(1)
		c.log.Info("local registry differs from the registry's; fetching it in full",
			"local_hash", next.hash, "registry_hash", delta.AppsHashcode, "registry", res.server.base)
		return c.fetchFull(ctx)
	}
	if next != cur {
		c.publish(next)
	}
	return positionOf(res), nil
}

// fetchFull replaces the local registry with GET /apps/. Only a 200 with a
// document counts; anything else leaves the last good registry in place.
// Applications the document shows unchanged keep their entries.
func (c *Client) fetchFull(ctx context.Context) (position, error) {
	res, err := c.do(ctx, &call{op: "fetch registry", method: http.MethodGet, path: "/apps/", accept: accept2xx})
	if err != nil {
		return position{}, err
	}
	if res.code != http.StatusOK {
		return position{}, fmt.Errorf("fetch registry: %s answered %d, want 200", res.server.base, res.code)
	}
	began := time.Now()
	doc, err := eureka.DecodeApplicationsJSON(res.body)
	if err != nil {
		return position{}, fmt.Errorf("fetch registry from %s: %w", res.server.base, err)
	}
	cur := c.snap.Load()
	next := cur
	if e := cur.fullEdits(fromFull(doc)); len(e) > 0 || !cur.synced {
		next = cur.next(e, doc.VersionsDelta, c.cfg.FilterOnlyUpInstances)
	}
	c.stats.applyNanos.Add(int64(time.Since(began)))
	c.stats.fullFetches.Add(1)
	if next != cur {
		c.publish(next)
	}
	return positionOf(res), nil
}

// firstLine returns the start of a short error body, for logs.
func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b[:min(len(b), 200)]), "\n")
	return s
}

// watch long-polls the registry's watch extension,
// GET /watch?version=V&wait=RegistryFetchInterval, which answers when the
// registry version differs from V or the wait is over. It reports whether
// the next fetch should run at once: after a change, or after a full wait
// (the periodic fetch). It reports false, so the caller sleeps and polls,
// when the registry has no watch extension (404 or 405, as from Eureka; it
// is then not asked again for WatchRetryAfter) or the watch failed. answered
// reports whether a registry answered the watch with a version.
func (c *Client) watch(ctx context.Context, version string) (now, answered bool) {
	if srv := c.servers.list[c.servers.pick(make([]bool, len(c.servers.list)))]; srv.noWatchUntil.Load() > time.Now().UnixNano() {
		return false, false
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
		return false, false
	}
	if res.code == http.StatusNotFound || res.code == http.StatusMethodNotAllowed {
		res.server.noWatchUntil.Store(time.Now().Add(WatchRetryAfter).UnixNano())
		c.log.Info("registry has no watch extension; polling it", "registry", res.server.base, "code", res.code, "retry_after", WatchRetryAfter)
		return false, false
	}
	v := res.header.Get(versionHeader)
	if v == "" {
		var body struct{ Version string }
		if json.Unmarshal(res.body, &body) != nil || body.Version == "" {
			c.log.Warn("watch answer without a version; polling", "registry", res.server.base)
			return false, false
		}
		v = body.Version
	}
	if v != version {
		c.stats.watches.Add(1)
		return true, true
	}
	// Unchanged: time for the periodic fetch, unless the registry answered
	// early without a change, which would make this loop spin.
	return time.Since(start) >= wait/2, true
}
