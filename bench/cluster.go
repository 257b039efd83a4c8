package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/discovery"
	"github.com/switchboard-dev/switchboard/eureka"
)

// probeApp is the application of the instances registered to time propagation.
const probeApp = "BENCH-PROBE"

// probeInstance is the k-th probe instance.
func probeInstance(k int) *eureka.Instance {
	id := "probe-" + strconv.Itoa(k)
	return benchInstance(probeApp, id, id+".bench.internal", "127.0.0.1", 8080, time.Now().UnixMilli())
}

// probeGap is the pause between two probes: random, so probes do not fall
// in step with a polling client.
func probeGap() time.Duration { return 100*time.Millisecond + rand.N(200*time.Millisecond) }

// A probeLog records when each probe was written and when each observer first saw it.
type probeLog struct {
	mu   sync.Mutex // guards the fields below
	sent map[string]time.Time
	seen []map[string]time.Duration // per observer
}

func newProbeLog(observers int) *probeLog {
	p := &probeLog{sent: map[string]time.Time{}}
	for range observers {
		p.seen = append(p.seen, map[string]time.Duration{})
	}
	return p
}

func (p *probeLog) wrote(id string, t time.Time) {
	p.mu.Lock()
	p.sent[id] = t
	p.mu.Unlock()
}

// saw records that observer o sees id now, if it was written and not seen before.
func (p *probeLog) saw(o int, id string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t0, ok := p.sent[id]
	if _, dup := p.seen[o][id]; ok && !dup {
		p.seen[o][id] = now.Sub(t0)
	}
}

// complete reports whether every observer has seen every probe.
func (p *probeLog) complete() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.seen {
		if len(s) < len(p.sent) {
			return false
		}
	}
	return true
}

// delays returns observer o's delays and how many probes were written.
func (p *probeLog) delays(o int) ([]time.Duration, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ds []time.Duration
	for _, d := range p.seen[o] {
		ds = append(ds, d)
	}
	return ds, len(p.sent)
}

// propagation registers probe instances at base and times how long two
// discovery clients take to see each: one using Switchboard's watch, one
// polling every -poll-interval as Eureka's own clients do.
func propagation(ctx context.Context, l *lab, r *report, base, fbase string, hc *http.Client) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var clients []*discovery.Client
	for _, watch := range []bool{true, false} {
		cfg := discovery.DefaultConfig()
		cfg.ServiceURLs = []string{base + "/eureka/"}
		cfg.RegisterWithEureka = false
		cfg.Watch = watch
		if !watch {
			cfg.RegistryFetchInterval = l.opts.pollInterval
		}
		c, err := discovery.New(cfg)
		if err != nil {
			return err
		}
		clients = append(clients, c)
	}
	log := newProbeLog(len(clients))
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for i, c := range clients {
		wg.Go(func() { c.Run(ctx) })
		wg.Go(func() {
			for {
				ch := c.Changed()
				now := time.Now()
				for _, in := range c.Instances(probeApp) {
					log.saw(i, in.InstanceID, now)
				}
				select {
				case <-ch:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	deadline := time.Now().Add(time.Minute)
	for _, c := range clients {
		for len(c.Applications().Applications) == 0 {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return errors.New("discovery clients did not fetch the registry within a minute")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	probes := max(10, int(l.opts.duration/(200*time.Millisecond)))
	l.logf("propagation: %d probes", probes)
	for k := range probes {
		select {
		case <-time.After(probeGap()):
		case <-ctx.Done():
			return ctx.Err()
		}
		in := probeInstance(k)
		log.wrote(in.InstanceID, time.Now())
		if err := register(ctx, hc, base, in); err != nil {
			return err
		}
	}
	drain := time.Now().Add(l.opts.pollInterval + 5*time.Second)
	for !log.complete() && time.Now().Before(drain) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	floorRT, err := floorRoundTrips(ctx, hc, fbase, probes)
	if err != nil {
		return err
	}
	names := []string{"watch", "polling every " + l.opts.pollInterval.String()}
	for i, name := range names {
		ds, sent := log.delays(i)
		row := latencyRow("propagation write → discovery client, "+name+" (p99)", ds, sent, floorRT)
		if i == 0 {
			row.target = "p99 < 1 s"
			p99 := percentile(ds, 99)
			r.goal("propagation write → client p99 under 1 s with watch", fmtDur(p99), len(ds) == sent && p99 < time.Second)
		}
		r.registry = append(r.registry, row)
	}
	return nil
}

// floorRoundTrips times n write-then-read pairs on the floor: the least a
// change could take to reach anyone over HTTP.
func floorRoundTrips(ctx context.Context, hc *http.Client, fbase string, n int) ([]time.Duration, error) {
	body := eureka.AppendInstanceDocJSON(nil, probeInstance(0))
	var ds []time.Duration
	for range n {
		t0 := time.Now()
		if _, err := do(ctx, hc, http.MethodPost, fbase+"/eureka/apps/"+probeApp, body, http.StatusNoContent); err != nil {
			return nil, err
		}
		if _, err := do(ctx, hc, http.MethodGet, fbase+"/", nil, http.StatusOK); err != nil {
			return nil, err
		}
		ds = append(ds, time.Since(t0))
	}
	return ds, nil
}

// latencyRow is a row whose main figure is a p99 delay, against the floor's
// write-then-read round trip.
func latencyRow(workload string, ds []time.Duration, sent int, floor []time.Duration) regRow {
	detail := fmt.Sprintf("p50 %s, %d of %d probes seen", fmtDur(percentile(ds, 50)), len(ds), sent)
	return regRow{
		workload: workload, unit: "ms",
		sb: ms(percentile(ds, 99)), floor: ms(percentile(floor, 99)),
		sbDetail:    detail,
		floorDetail: "one write and one read round trip; p50 " + fmtDur(percentile(floor, 50)),
	}
}

// replicationLag runs three peered registries, registers a fleet spread over
// them, sends heartbeats at -cluster-rate spread over the three, and
// meanwhile times how long a registration on node 1 takes to be readable on
// nodes 2 and 3.
func replicationLag(ctx context.Context, l *lab, r *report) error {
	o := l.opts
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	var urls, bases []string
	for _, p := range ports[:3] {
		bases = append(bases, baseURL(p))
		urls = append(urls, baseURL(p)+"/eureka/")
	}
	var nodes []*proc
	for i, p := range ports[:3] {
		n, err := l.startRegistry("node-"+strconv.Itoa(i+1), p, registryYAML(0), "--peers", strings.Join(urls, ","))
		if err != nil {
			return err
		}
		defer l.stopProc(n)
		nodes = append(nodes, n)
	}
	floorDir := filepath.Join(l.dir, "floor-cluster")
	if err := os.MkdirAll(floorDir, 0o755); err != nil {
		return err
	}
	fl, err := l.startFloor("floor-cluster", ports[3], floorDir)
	if err != nil {
		return err
	}
	defer l.stopProc(fl)
	for i, n := range nodes {
		if err := waitReady(ctx, n, bases[i]+"/actuator/health", 200, 30*time.Second); err != nil {
			return err
		}
	}
	if err := waitReady(ctx, fl, baseURL(ports[3])+"/", 200, 10*time.Second); err != nil {
		return err
	}
	hc := newHTTPClient(goConns)
	defer hc.CloseIdleConnections()
	m := o.clusterFleet
	f := newFleet(m, "cluster")
	l.logf("cluster: registering %d instances across 3 nodes", m)
	at := jitteredStarts(m, registerWindowPer10k*time.Duration(m)/10000)
	if res := registerLoad(hc, bases, f, at, goConns).run(ctx); res.failed > 0 {
		return fmt.Errorf("registering the cluster fleet: %d failed, first: %v", res.failed, res.firstErr)
	}
	if err := converge(ctx, hc, bases, m, time.Minute); err != nil {
		return err
	}

	d := max(o.duration, 5*time.Second)
	rate := float64(o.hbRate)
	count := int(rate * d.Seconds())
	var cpu0 time.Duration
	for _, n := range nodes {
		cpu0 += n.cpuTime()
	}
	m0 := l.meter()
	var hb pacedResult
	var wg sync.WaitGroup
	hbCtx, stopHB := context.WithTimeout(ctx, d+30*time.Second)
	defer stopHB()
	wg.Go(func() { hb = heartbeatLoad(hc, bases, f, count, rate, goConns).run(hbCtx) })

	obs := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer obs.CloseIdleConnections()
	var lags [2][]time.Duration
	probes, lost := 0, 0
	end := time.Now().Add(d)
	for k := 0; time.Now().Before(end) && ctx.Err() == nil && k < 10000; k++ {
		time.Sleep(probeGap())
		in := probeInstance(k)
		t0 := time.Now()
		if err := register(ctx, obs, bases[0], in); err != nil {
			stopHB()
			wg.Wait()
			return err
		}
		probes++
		var pw sync.WaitGroup
		var got [2]time.Duration
		var errs [2]error
		for j := range 2 {
			pw.Go(func() { got[j], errs[j] = seenOn(ctx, obs, bases[j+1], in, t0, 5*time.Second) })
		}
		pw.Wait()
		for j := range 2 {
			if errs[j] != nil {
				lost++
				continue
			}
			lags[j] = append(lags[j], got[j])
		}
	}
	wg.Wait()
	l.noteForeign(m0.foreign(), "the replication test")
	var cpu time.Duration
	for _, n := range nodes {
		cpu += n.cpuTime()
	}
	cpu -= cpu0
	floorRT, err := floorRoundTrips(ctx, hc, baseURL(ports[3]), probes)
	if err != nil {
		return err
	}
	all := append(append([]time.Duration{}, lags[0]...), lags[1]...)
	row := latencyRow(fmt.Sprintf("replication lag node 1 → nodes 2, 3 at %.0f heartbeats/s, %d instances (p99)", rate, m),
		all, 2*probes, floorRT)
	per := time.Duration(0)
	if hb.sent > 0 {
		per = cpu / time.Duration(hb.sent)
	}
	row.sbDetail += fmt.Sprintf("; heartbeats: %d sent at %s/s, %d failed, p99 %s, %s cluster CPU each",
		hb.sent, fmtRate(hb.rate()), hb.failed, fmtDur(percentile(hb.latencies, 99)), fmtDur(per))
	if lost > 0 {
		row.sbDetail += fmt.Sprintf("; %d not seen within 5 s", lost)
	}
	row.target = "p99 < 100 ms at 5,000/s"
	r.registry = append(r.registry, row)
	p99 := percentile(all, 99)
	offered := o.hbRate == 5000 && hb.rate() >= 0.95*5000 && hb.failed == 0
	text := "replication lag p99 under 100 ms at 5,000 heartbeats/s across three nodes"
	if offered {
		r.goal(text, fmtDur(p99), lost == 0 && p99 < 100*time.Millisecond)
	} else {
		r.unjudged(text, fmt.Sprintf("%s at %s heartbeats/s, %d failed", fmtDur(p99), fmtRate(hb.rate()), hb.failed))
	}
	return nil
}

// converge waits until every node's registry holds want instances.
func converge(ctx context.Context, hc *http.Client, bases []string, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		done := true
		var counts []string
		for _, b := range bases {
			n, err := countInstances(ctx, hc, b)
			counts = append(counts, strconv.Itoa(n))
			if err != nil || n != want {
				done = false
			}
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the three nodes hold %s instances after %v, want %d each", strings.Join(counts, ", "), timeout, want)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// countInstances returns how many instances the registry at base holds.
func countInstances(ctx context.Context, hc *http.Client, base string) (int, error) {
	return countDoc(ctx, hc, base+"/eureka/apps")
}

// countDoc returns how many instances the registry document at url holds.
func countDoc(ctx context.Context, hc *http.Client, url string) (int, error) {
	b, err := do(ctx, hc, http.MethodGet, url, nil, http.StatusOK)
	if err != nil {
		return 0, err
	}
	apps, err := eureka.DecodeApplicationsJSON(b)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range apps.Applications {
		n += len(a.Instances)
	}
	return n, nil
}

// seenOn waits until base serves in, using the registry's watch so that it
// learns of each change at once without polling, and returns the time since t0.
func seenOn(ctx context.Context, hc *http.Client, base string, in *eureka.Instance, t0 time.Time, limit time.Duration) (time.Duration, error) {
	deadline := t0.Add(limit)
	// Version 0 is never current, so this answers at once with the version;
	// reading it before looking for the instance means no change is missed.
	version, err := watchVersion(ctx, hc, base, "0", 0)
	if err != nil {
		return 0, err
	}
	for {
		resp, err := hc.Get(base + "/eureka/apps/" + in.App + "/" + in.InstanceID)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return time.Since(t0), nil
		}
		left := time.Until(deadline)
		if left <= 0 || ctx.Err() != nil {
			return 0, fmt.Errorf("%s not on %s within %v", in.InstanceID, base, limit)
		}
		if version, err = watchVersion(ctx, hc, base, version, min(left, time.Second)); err != nil {
			return 0, err
		}
	}
}

// watchVersion long-polls GET /eureka/watch and returns the registry version.
func watchVersion(ctx context.Context, hc *http.Client, base, since string, wait time.Duration) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		base+"/eureka/watch?version="+since+"&wait="+wait.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	return resp.Header.Get("X-Registry-Version"), nil
}
