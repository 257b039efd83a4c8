package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Registry suite settings that are not flags.
const (
	heartbeatConns = 128 // wrk connections for heartbeats at full speed
	fetchConns     = 16  // wrk connections for registry fetches
	goConns        = 256 // most requests in flight from the Go load generator
	// registerWindowPer10k spreads a fleet's registrations: 2 s for every
	// 10,000 instances, discovery's default jitter, so 5,000 registrations/s.
	registerWindowPer10k = 2 * time.Second
	renewalInterval      = 30 * time.Second // Eureka's default heartbeat period
	deltaShare           = 100              // one instance in deltaShare changes before the delta fetches
	// inServiceFetchEvery spaces the full fetches (one of each encoding)
	// made during the in-service phase, a renewal interval of heartbeats.
	inServiceFetchEvery = 5 * time.Second
)

// registryYAML is a registry configuration on loopback; deltaRetention, when
// not zero, replaces the 3-minute delta retention.
func registryYAML(deltaRetention time.Duration) string {
	s := "server:\n  address: 127.0.0.1\n"
	if deltaRetention > 0 {
		s += fmt.Sprintf("eureka:\n  server:\n    retention-time-in-m-s-in-delta-queue: %d\n    delta-retention-timer-interval-in-ms: 1000\n",
			deltaRetention.Milliseconds())
	}
	return s
}

// startRegistry runs `switchboard registry` on port with config yml and extra flags.
func (l *lab) startRegistry(name string, port int, yml string, flags ...string) (*proc, error) {
	if l.switchboard == "" {
		return nil, l.switchboardErr
	}
	path, err := l.writeFile(sanitize(name)+".yml", yml)
	if err != nil {
		return nil, err
	}
	argv := append([]string{l.switchboard, "registry", "--config", path, "--port", strconv.Itoa(port), "--log-level", "warn"}, flags...)
	return l.start(name, l.opts.serverCPUs, nil, argv...)
}

// startFloor runs the floor server on port, serving documents from dir.
func (l *lab) startFloor(name string, port int, dir string) (*proc, error) {
	return l.start(name, l.opts.serverCPUs, nil, l.self, "floor", "127.0.0.1:"+strconv.Itoa(port), dir)
}

func baseURL(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }

// registrySuite measures the registry workloads of issue 7.
func registrySuite(ctx context.Context, l *lab, r *report) error {
	if l.switchboard == "" {
		return l.switchboardErr
	}
	steps := []struct {
		name string
		run  func(context.Context, *lab, *report) error
	}{
		{"ready", readyTime},
		{"single", singleNode},
		{"cluster", replicationLag},
	}
	var errs []error
	for _, s := range steps {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !selected(l.opts.only, s.name) {
			continue
		}
		if err := s.run(ctx, l, r); err != nil {
			r.note("registry %s: %v", s.name, err)
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		}
	}
	return errors.Join(errs...)
}

// readyTime starts the registry and the floor, alternately, and times each
// from the start of the process to the first 200 on GET /eureka/apps.
func readyTime(ctx context.Context, l *lab, r *report) error {
	floorDir := filepath.Join(l.dir, "floor-ready")
	if err := os.MkdirAll(floorDir, 0o755); err != nil {
		return err
	}
	yml, err := l.writeFile("registry-ready.yml", registryYAML(0))
	if err != nil {
		return err
	}
	var sb, fl []time.Duration
	for i := range l.opts.readySamples {
		for _, isFloor := range []bool{false, true} {
			port, err := freePort()
			if err != nil {
				return err
			}
			argv := []string{l.switchboard, "registry", "--config", yml, "--port", strconv.Itoa(port), "--log-level", "warn"}
			if isFloor {
				argv = []string{l.self, "floor", "127.0.0.1:" + strconv.Itoa(port), floorDir}
			}
			name := "ready-" + strconv.Itoa(i)
			start := time.Now()
			p, err := l.start(name, l.opts.serverCPUs, nil, argv...)
			if err != nil {
				return err
			}
			d, err := firstOK(ctx, p, baseURL(port)+"/eureka/apps", start)
			l.stopProc(p)
			if err != nil {
				return err
			}
			if isFloor {
				fl = append(fl, d)
			} else {
				sb = append(sb, d)
			}
		}
	}
	row := regRow{
		workload: "time to ready, empty registry (median of " + strconv.Itoa(len(sb)) + " starts)",
		unit:     "ms", sb: ms(medianDuration(sb)), floor: ms(medianDuration(fl)),
		sbDetail:    "min " + fmtDur(percentile(sb, 0)) + ", max " + fmtDur(percentile(sb, 100)),
		floorDetail: "min " + fmtDur(percentile(fl, 0)) + ", max " + fmtDur(percentile(fl, 100)),
		target:      "< 100 ms",
	}
	r.registry = append(r.registry, row)
	med := medianDuration(sb)
	r.goal("registry ready in under 100 ms, empty", fmtDur(med)+" (median)", med < 100*time.Millisecond)
	return nil
}

// firstOK polls url as fast as it can until it answers 200 and returns the
// time since start.
func firstOK(ctx context.Context, p *proc, url string, start time.Time) (time.Duration, error) {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := start.Add(10 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if p.exited() {
			return 0, fmt.Errorf("%s exited before it was ready; its log ends:\n%s", p.name, p.tail())
		}
		time.Sleep(200 * time.Microsecond)
	}
	return 0, fmt.Errorf("%s not ready within 10s", url)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// A fetchVariant is one encoding of a registry document.
type fetchVariant struct {
	name     string
	json, gz bool
}

var fetchVariants = []fetchVariant{{"JSON", true, false}, {"JSON+gzip", true, true}, {"XML", false, false}, {"XML+gzip", false, true}}

func (v fetchVariant) headers() []string {
	h := []string{"Accept: application/xml"}
	if v.json {
		h[0] = "Accept: application/json"
	}
	if v.gz {
		h = append(h, "Accept-Encoding: gzip")
	}
	return h
}

// get builds a GET of url asking for this variant.
func (v fetchVariant) get(ctx context.Context, url string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	for _, h := range v.headers() {
		k, val, _ := strings.Cut(h, ": ")
		req.Header.Set(k, val)
	}
	return req, nil
}

// fileName is the floor's file for this variant of doc ("full" or "delta").
func (v fetchVariant) fileName(doc string) string {
	return floorFiles[docIndex(doc == "delta", v.json, v.gz)]
}

// singleNode runs the workloads against one registry process and its floor.
func singleNode(ctx context.Context, l *lab, r *report) error {
	o := l.opts
	n := o.instances
	// A shorter delta retention than Eureka's 3 minutes: the registration
	// burst has to leave the delta queue before the full fetches (each trim of
	// the queue drops every cached payload) and the delta fetches (which must
	// see a small delta), and the changes made for the delta fetches must stay
	// in the queue until those are done.
	deltaPhase := time.Duration(o.rounds*len(fetchVariants)*2) * (o.duration + 2*time.Second)
	retention := deltaPhase + 30*time.Second

	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	base, fbase := baseURL(ports[0]), baseURL(ports[1])
	floorDir := filepath.Join(l.dir, "floor")
	if err := os.MkdirAll(floorDir, 0o755); err != nil {
		return err
	}
	reg, err := l.startRegistry("registry", ports[0], registryYAML(retention))
	if err != nil {
		return err
	}
	defer l.stopProc(reg)
	fl, err := l.startFloor("floor", ports[1], floorDir)
	if err != nil {
		return err
	}
	defer l.stopProc(fl)
	for _, w := range []struct {
		p   *proc
		url string
	}{{reg, base}, {fl, fbase}} {
		if err := waitReady(ctx, w.p, w.url+"/eureka/apps", 200, 10*time.Second); err != nil {
			return err
		}
	}
	rssEmpty, _ := reg.rss()
	flRSSEmpty, _ := fl.rss()
	hc := newHTTPClient(goConns)
	defer hc.CloseIdleConnections()
	l.logf("building a fleet of %d instances", n)
	f := newFleet(n, "fleet")
	label := fmt.Sprintf("%dk", n/1000)

	// Registration: the fleet starts together, with jitter.
	window := registerWindowPer10k * time.Duration(n) / 10000
	var regSB, regFL []pacedResult
	var regCPU, flCPU []time.Duration
	for round := 1; round <= o.rounds; round++ {
		at := jitteredStarts(n, window)
		for _, side := range []struct {
			p   *proc
			url string
			res *[]pacedResult
			cpu *[]time.Duration
		}{{reg, base, &regSB, &regCPU}, {fl, fbase, &regFL, &flCPU}} {
			before, m := side.p.cpuTime(), l.meter()
			res := registerLoad(hc, []string{side.url}, f, at, goConns).run(ctx)
			l.noteForeign(m.foreign(), "registering the fleet at "+side.p.name)
			*side.cpu = append(*side.cpu, side.p.cpuTime()-before)
			*side.res = append(*side.res, res)
			l.logf("register round %d %s: %d sent, %d failed, p99 %s", round, side.p.name, res.sent, res.failed, fmtDur(percentile(res.latencies, 99)))
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	lastReg := time.Now()
	if err := failed(regSB); err != nil {
		return fmt.Errorf("registering the fleet: %w", err)
	}
	r.registry = append(r.registry, pacedRow(
		fmt.Sprintf("register %s instances, jitter %v (%.0f/s offered; p99 latency)", label, window, float64(n)/window.Seconds()),
		regSB, regFL, regCPU, flCPU, ""))
	rssRegistered, _ := reg.rss()

	// Heartbeats at full speed: wrk, each request the next instance's renew.
	paths := make([]string, n)
	for i, in := range f.instances {
		paths[i] = renewPath(in)
	}
	hb := l.interleave(ctx, []*proc{reg, fl}, []string{base, fbase}, func(url string) loadSpec {
		return loadSpec{url: url + "/", conns: heartbeatConns, method: http.MethodPut, paths: paths}
	})
	if hb.err != nil {
		return hb.err
	}
	row := wrkRow(fmt.Sprintf("heartbeats, full speed, %d connections, %s fleet", heartbeatConns, label), hb, "≥ 0.85× floor")
	r.registry = append(r.registry, row)
	r.goal("heartbeats at 85% or more of the bare floor", fmtRatio(row.vsFloor()), row.vsFloor() >= 0.85)

	// Heartbeats at the realistic rate: every instance every 30 s.
	rate := float64(n) / renewalInterval.Seconds()
	count := min(n, int(rate*o.duration.Seconds()))
	var rlSB, rlFL []pacedResult
	var rlCPU, rlFLCPU []time.Duration
	for _, side := range []struct {
		p   *proc
		url string
		res *[]pacedResult
		cpu *[]time.Duration
	}{{reg, base, &rlSB, &rlCPU}, {fl, fbase, &rlFL, &rlFLCPU}} {
		before, m := side.p.cpuTime(), l.meter()
		res := heartbeatLoad(hc, []string{side.url}, f, count, rate, goConns).run(ctx)
		l.noteForeign(m.foreign(), "heartbeats at the realistic rate to "+side.p.name)
		*side.cpu = append(*side.cpu, side.p.cpuTime()-before)
		*side.res = append(*side.res, res)
	}
	if err := failed(rlSB); err != nil {
		return fmt.Errorf("heartbeats at the realistic rate: %w", err)
	}
	r.registry = append(r.registry, pacedRow(
		fmt.Sprintf("heartbeats every 30 s per instance, %s fleet (%.0f/s; p99 latency)", label, rate),
		rlSB, rlFL, rlCPU, rlFLCPU, ""))

	// Full fetches of a registry at rest: once the registration burst has
	// left the delta queue, so that no delta trim starts a new generation
	// (which drops every cached payload) while they run. The floor serves the
	// registry's own bytes.
	if wait := time.Until(lastReg.Add(retention + 3*time.Second)); wait > 0 {
		l.logf("waiting %v for the registration burst to leave the delta queue", wait.Round(time.Second))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := captureDocs(ctx, base, fbase, floorDir, "full"); err != nil {
		return err
	}
	worst := 0.0
	worstName := ""
	for _, v := range fetchVariants {
		fr := l.interleave(ctx, []*proc{reg, fl}, []string{base, fbase}, func(url string) loadSpec {
			return loadSpec{url: url + "/eureka/apps", conns: fetchConns, headers: v.headers()}
		})
		if fr.err != nil {
			return fr.err
		}
		size := docSize(floorDir, v.fileName("full"))
		row := wrkRow(fmt.Sprintf("full fetch %s, %s fleet (%s), %d connections", v.name, label, fmtMB(size), fetchConns), fr, "≥ 0.90× floor")
		r.registry = append(r.registry, row)
		if worstName == "" || row.vsFloor() < worst {
			worst, worstName = row.vsFloor(), v.name
		}
	}
	goalText := "full registry fetch at 90% or more of the pre-encoded floor, 10,000 instances"
	if n == 10000 {
		r.goal(goalText, fmtRatio(worst)+" (worst: "+worstName+")", worst >= 0.9)
	} else {
		r.unjudged(goalText, fmt.Sprintf("run with %d instances: %s (worst: %s)", n, fmtRatio(worst), worstName))
	}

	// Memory, once the fleet is registered and every payload was built.
	rssFull, err := reg.rss()
	if err != nil {
		return err
	}
	flRSS, _ := fl.rss()
	per10k := func(rss, empty int64) float64 { return float64(rss-empty) / (1 << 20) / (float64(n) / 10000) }
	r.registry = append(r.registry, regRow{
		workload: fmt.Sprintf("RSS with %s instances, after the fetches (MB per 10k instances)", label),
		unit:     "MB", sb: per10k(rssFull, rssEmpty), floor: per10k(flRSS, flRSSEmpty),
		sbDetail:    fmt.Sprintf("RSS %s: empty %s, registered %s", fmtMB(rssFull), fmtMB(rssEmpty), fmtMB(rssRegistered)),
		floorDetail: fmt.Sprintf("RSS %s holding the 4 documents (empty %s)", fmtMB(flRSS), fmtMB(flRSSEmpty)),
		target:      "",
	})

	// Memory in service. The reading above comes right after documents were
	// built; traffic lets the heap grow to the garbage collector's goal, so
	// the target is judged after a renewal interval of heartbeats at the
	// realistic rate, with full fetches of every encoding beside them.
	var steady [2]inServiceResult
	for i, side := range []struct {
		p   *proc
		url string
	}{{reg, base}, {fl, fbase}} {
		m := l.meter()
		steady[i] = inService(ctx, hc, side.url, f, rate)
		l.noteForeign(m.foreign(), "the in-service phase at "+side.p.name)
		if steady[i].err != nil {
			return fmt.Errorf("in service at %s: %w", side.p.name, steady[i].err)
		}
		l.logf("in service %s: %d heartbeats, %d failed, %d full fetches", side.p.name,
			steady[i].heartbeats.sent, steady[i].heartbeats.failed, steady[i].fetches)
	}
	if err := failed([]pacedResult{steady[0].heartbeats}); err != nil {
		return fmt.Errorf("heartbeats in service: %w", err)
	}
	rssSteady, err := reg.rss()
	if err != nil {
		return err
	}
	flRSSSteady, _ := fl.rss()
	r.registry = append(r.registry, regRow{
		workload: fmt.Sprintf("RSS with %s instances, in service: %v of heartbeats at %.0f/s, full fetches every %v (MB per 10k instances)",
			label, renewalInterval, rate, inServiceFetchEvery),
		unit: "MB", sb: per10k(rssSteady, rssEmpty), floor: per10k(flRSSSteady, flRSSEmpty),
		sbDetail: fmt.Sprintf("RSS %s (after the fetches %s); %d heartbeats, %d full fetches",
			fmtMB(rssSteady), fmtMB(rssFull), steady[0].heartbeats.sent, steady[0].fetches),
		floorDetail: fmt.Sprintf("RSS %s; %d heartbeats, %d full fetches", fmtMB(flRSSSteady), steady[1].heartbeats.sent, steady[1].fetches),
		target:      "100k in < 500 MB",
	})
	if n >= 100000 {
		r.goal("100,000 instances in under 500 MB RSS, in service",
			fmt.Sprintf("%s with %d (%s right after the fetches)", fmtMB(rssSteady), n, fmtMB(rssFull)), n == 100000 && rssSteady < 500<<20)
	} else {
		proj := float64(rssEmpty)/(1<<20) + per10k(rssSteady, rssEmpty)*10
		r.unjudged("100,000 instances in under 500 MB RSS, in service",
			fmt.Sprintf("run with -instances 100000; projected from this run: %.0f MB", proj))
	}

	// Delta fetches of a small delta: 1 % of the fleet changed.
	changed := max(1, n/deltaShare)
	for i := range changed {
		in := f.instances[i*deltaShare%n]
		url := base + "/eureka/apps/" + in.App + "/" + in.InstanceID + "/status?value=OUT_OF_SERVICE"
		if _, err := do(ctx, hc, http.MethodPut, url, nil, http.StatusOK); err != nil {
			return err
		}
	}
	if got, err := deltaCount(ctx, hc, base); err != nil || got != changed {
		return fmt.Errorf("delta holds %d instances, want the %d just changed (err %v)", got, changed, err)
	}
	if err := captureDocs(ctx, base, fbase, floorDir, "delta"); err != nil {
		return err
	}
	for _, v := range fetchVariants {
		dr := l.interleave(ctx, []*proc{reg, fl}, []string{base, fbase}, func(url string) loadSpec {
			return loadSpec{url: url + "/eureka/apps/delta", conns: fetchConns, headers: v.headers()}
		})
		if dr.err != nil {
			return dr.err
		}
		size := docSize(floorDir, v.fileName("delta"))
		r.registry = append(r.registry, wrkRow(fmt.Sprintf("delta fetch %s, %d changes (%s), %d connections",
			v.name, changed, fmtMB(size), fetchConns), dr, ""))
	}
	if got, err := deltaCount(ctx, hc, base); err != nil || got != changed {
		r.note("the delta changed during the delta fetches (%d instances, want %d): its rows mix sizes", got, changed)
	}

	// Propagation from a write to discovery clients, watching and polling.
	return propagation(ctx, l, r, base, fbase, hc)
}

// failed returns an error when any registry-side request failed.
func failed(rs []pacedResult) error {
	for _, r := range rs {
		if r.failed > 0 {
			return fmt.Errorf("%d of %d requests failed, first: %v", r.failed, r.sent, r.firstErr)
		}
	}
	return nil
}

// pacedRow summarizes paced loads (one per round) on both sides; the main
// figure is the p99 latency of the median round.
func pacedRow(workload string, sb, fl []pacedResult, sbCPU, flCPU []time.Duration, target string) regRow {
	ms, mf := medianPaced(sb), medianPaced(fl)
	detail := func(p pacedResult, cpu []time.Duration, all []pacedResult) string {
		var total time.Duration
		var reqs int64
		var fails int64
		for i, x := range all {
			total += cpu[i]
			reqs += x.sent
			fails += x.failed
		}
		per := time.Duration(0)
		if reqs > 0 {
			per = total / time.Duration(reqs)
		}
		s := fmt.Sprintf("p50 %s, %s CPU/req, %d sent at %s/s", fmtDur(percentile(p.latencies, 50)), fmtDur(per), p.sent, fmtRate(p.rate()))
		if fails > 0 {
			s += fmt.Sprintf(", %d failed", fails)
		}
		return s
	}
	return regRow{
		workload: workload, unit: "ms",
		sb: ms99(ms), floor: ms99(mf),
		sbDetail: detail(ms, sbCPU, sb), floorDetail: detail(mf, flCPU, fl),
		target: target,
	}
}

func ms99(p pacedResult) float64 { return ms(percentile(p.latencies, 99)) }

// medianPaced returns the round with the median p99.
func medianPaced(rs []pacedResult) pacedResult {
	if len(rs) == 0 {
		return pacedResult{}
	}
	best := rs[0]
	ds := make([]time.Duration, len(rs))
	for i, r := range rs {
		ds[i] = percentile(r.latencies, 99)
	}
	m := medianDuration(ds)
	for i, r := range rs {
		if ds[i] == m {
			best = r
		}
	}
	return best
}

// pair is the result of an interleaved comparison: Switchboard and floor.
type pair struct {
	sb, floor series
	err       error
}

// interleave runs spec against each server in turn, one warm-up each, then
// rounds of one run each, and returns the series of the first two.
func (l *lab) interleave(ctx context.Context, procs []*proc, urls []string, spec func(url string) loadSpec) pair {
	var out [2]series
	if l.opts.warmup > 0 {
		for i, p := range procs {
			if _, err := l.wrkRun(ctx, p, spec(urls[i]), l.opts.warmup); err != nil {
				return pair{err: err}
			}
		}
	}
	for round := 1; round <= l.opts.rounds; round++ {
		for i, p := range procs {
			s, err := l.wrkRun(ctx, p, spec(urls[i]), l.opts.duration)
			if err != nil {
				return pair{err: err}
			}
			l.logf("round %d %-12s %s %8.1f req/s  p99 %-9s %s CPU/req", round, p.name, spec(urls[i]).url,
				s.rps(), fmtDur(s.p99), fmtDur(s.cpuPerReq()))
			out[i] = append(out[i], s)
		}
	}
	return pair{sb: out[0], floor: out[1]}
}

// wrkRow summarizes a pair measured with wrk; the main figure is req/s.
func wrkRow(workload string, p pair, target string) regRow {
	detail := func(s series) string {
		m := s.median()
		d := fmt.Sprintf("p50 %s, p99 %s, %s CPU/req, wrk CPU %.0f%%", fmtDur(m.p50), fmtDur(m.p99), fmtDur(m.cpuPerReq()),
			100*m.clientCPU.Seconds()/m.elapsed.Seconds())
		if m.foreign > busyLimit {
			d += fmt.Sprintf(", other load %.0f%%", 100*m.foreign)
		}
		if len(s) > 1 {
			d += fmt.Sprintf(", ±%.1f%%", 50*s.spread())
		}
		if f := s.failures(); f > 0 {
			d += fmt.Sprintf(", %d errors", f)
		}
		return d
	}
	return regRow{
		workload: workload, unit: "req/s", higherBetter: true,
		sb: p.sb.median().rps(), floor: p.floor.median().rps(),
		sbDetail: detail(p.sb), floorDetail: detail(p.floor), target: target,
	}
}

// captureDocs saves the registry's document doc ("full" or "delta") in every
// variant to dir and makes the floor at fbase load them.
func captureDocs(ctx context.Context, base, fbase, dir, doc string) error {
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	defer hc.CloseIdleConnections()
	path := "/eureka/apps"
	if doc == "delta" {
		path += "/delta"
	}
	for _, v := range fetchVariants {
		req, err := v.get(ctx, base+path)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		b, err := readAll(resp)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, v.fileName(doc)), b, 0o644); err != nil {
			return err
		}
	}
	_, err := do(ctx, hc, http.MethodPost, fbase+"/bench/load", []byte{}, http.StatusOK)
	return err
}

func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", resp.Request.URL, resp.Status)
	}
	return b, nil
}

func docSize(dir, name string) int64 {
	fi, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// deltaCount returns how many instances the registry's delta holds.
func deltaCount(ctx context.Context, hc *http.Client, base string) (int, error) {
	return countDoc(ctx, hc, base+"/eureka/apps/delta")
}

// inServiceResult is what the in-service phase saw.
type inServiceResult struct {
	heartbeats pacedResult
	fetches    int // full fetches completed
	err        error
}

// inService sends base a renewal interval of heartbeats at rate, each
// instance once, and beside them a full fetch of each encoding every
// inServiceFetchEvery, as a registry in service sees them.
func inService(ctx context.Context, hc *http.Client, base string, f *fleet, rate float64) inServiceResult {
	n := min(len(f.instances), int(rate*renewalInterval.Seconds()))
	fetchCtx, stop := context.WithCancel(ctx)
	var out inServiceResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		fc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableCompression: true}}
		defer fc.CloseIdleConnections()
		tick := time.NewTicker(inServiceFetchEvery)
		defer tick.Stop()
		for {
			select {
			case <-fetchCtx.Done():
				return
			case <-tick.C:
			}
			for _, v := range fetchVariants {
				if err := fetchDiscard(fetchCtx, fc, base+"/eureka/apps", v); err != nil {
					if fetchCtx.Err() == nil {
						out.err = err
					}
					return
				}
				out.fetches++
			}
		}
	}()
	out.heartbeats = heartbeatLoad(hc, []string{base}, f, n, rate, goConns).run(ctx)
	stop()
	<-done
	return out
}

// fetchDiscard fetches url in encoding v and reads the body to its end.
func fetchDiscard(ctx context.Context, hc *http.Client, url string, v fetchVariant) error {
	req, err := v.get(ctx, url)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s (%s): %s", url, v.name, resp.Status)
	}
	return nil
}
