package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A gwTarget is one server of the gateway suite.
type gwTarget struct {
	name string
	path string // what wrk requests
	// start starts the target listening on port and returns the process under
	// test; it may start helpers (a registry) through the lab.
	start   func(ctx context.Context, port int) (*proc, error)
	addr    string // host:port when the target is already listening (direct)
	proc    *proc
	url     string
	skipped string
}

// manyRoutesTarget names the target with o.routes routes, e.g. "switchboard-10000-routes".
func manyRoutesTarget(o *options) string { return "switchboard-" + strconv.Itoa(o.routes) + "-routes" }

// gatewaySuite measures every gateway target in interleaved rounds.
func gatewaySuite(ctx context.Context, l *lab, r *report) error {
	if l.wrk == "" {
		return fmt.Errorf("wrk is not installed; run bench/run.sh, or apt-get install wrk")
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	var backends []string
	for _, p := range ports {
		backends = append(backends, "127.0.0.1:"+strconv.Itoa(p))
	}
	// Everything this suite starts is stopped when it ends, so that idle
	// gateways do not share the CPU with the registry suite.
	defer l.stopAll()
	be, err := l.start("backend", l.opts.backendCPUs, nil, append([]string{l.self, "backend"}, backends...)...)
	if err != nil {
		return err
	}
	for _, a := range backends {
		if err := waitReady(ctx, be, "http://"+a+"/", 200, 10*time.Second); err != nil {
			return err
		}
	}
	targets := gatewayTargets(l, backends, be)
	for _, t := range targets {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if t.skipped != "" || !selected(l.opts.only, t.name) {
			continue
		}
		addr := t.addr
		if addr == "" {
			port, err := freePort()
			if err != nil {
				return err
			}
			addr = "127.0.0.1:" + strconv.Itoa(port)
		}
		t.url = "http://" + addr + t.path
		l.logf("starting %s", t.name)
		_, p, _ := strings.Cut(addr, ":")
		port, _ := strconv.Atoi(p)
		t.proc, err = t.start(ctx, port)
		if err == nil {
			err = waitReady(ctx, t.proc, t.url, 200, l.opts.startTimeout)
		}
		if err != nil {
			// Stopped at once: a target still loading would take the CPU
			// from the others.
			if t.proc != nil && t.proc != be {
				l.stopProc(t.proc)
			}
			t.proc = nil
			t.skipped = firstLine(err.Error())
			r.note("%s not measured: %v", t.name, err)
			l.logf("%s: %v", t.name, err)
			continue
		}
		// Each target is checked to answer the backend's 100 bytes.
		if err := checkBody(ctx, t.url); err != nil {
			t.skipped = firstLine(err.Error())
			r.note("%s not measured: %v", t.name, err)
		}
	}

	maxConns := l.opts.conns[len(l.opts.conns)-1]
	for _, t := range targets {
		if t.proc == nil || t.skipped != "" || l.opts.warmup == 0 {
			continue
		}
		l.logf("warming up %s", t.name)
		if _, err := l.wrkRun(ctx, t.proc, loadSpec{url: t.url, conns: maxConns}, l.opts.warmup); err != nil {
			t.skipped = "warm-up failed"
			r.note("%s: warm-up failed: %v", t.name, err)
		}
	}

	runs := map[string]series{}
	key := func(t *gwTarget, c int) string { return t.name + "/" + strconv.Itoa(c) }
	for round := 1; round <= l.opts.rounds; round++ {
		for _, t := range targets {
			if t.proc == nil || t.skipped != "" {
				continue
			}
			for _, c := range l.opts.conns {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s, err := l.wrkRun(ctx, t.proc, loadSpec{url: t.url, conns: c}, l.opts.duration)
				if err != nil {
					t.skipped = "failed in round " + strconv.Itoa(round)
					r.note("%s, %d connections, round %d: %v", t.name, c, round, err)
					break
				}
				l.logf("round %d %-26s c=%-4d %8.0f req/s  p99 %-9s %s CPU/req", round, t.name, c,
					s.rps(), fmtDur(s.p99), fmtDur(s.cpuPerReq()))
				runs[key(t, c)] = append(runs[key(t, c)], s)
			}
		}
	}
	for _, t := range targets {
		if !selected(l.opts.only, t.name) {
			continue
		}
		for _, c := range l.opts.conns {
			row := gwRow{target: t.name, conns: c, runs: runs[key(t, c)], skipped: t.skipped}
			if row.skipped == "" && len(row.runs) == 0 {
				row.skipped = "no run"
			}
			r.gateway = append(r.gateway, row)
		}
	}
	gatewayGoals(r, l.opts)
	return nil
}

// selected reports whether name is in the comma-separated list only, or only is empty.
func selected(only, name string) bool {
	if only == "" {
		return true
	}
	for s := range strings.SplitSeq(only, ",") {
		if strings.TrimSpace(s) == name {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if len(line) > 120 {
		line = line[:120] + "…"
	}
	return line
}

// gatewayTargets lists the targets in table order. backends[0] is the backend
// every single-upstream target proxies to, and what direct measures (process
// be); the lb:// target uses all three.
func gatewayTargets(l *lab, backends []string, be0 *proc) []*gwTarget {
	be := backends[0]
	missing := func(tool string) string {
		return tool + " not installed; run bench/run.sh"
	}
	sbMissing := ""
	if l.switchboard == "" {
		sbMissing = "switchboard did not build"
	}
	ts := []*gwTarget{
		{name: "direct", path: "/hello", addr: be, start: func(ctx context.Context, port int) (*proc, error) {
			return be0, nil
		}},
		{name: "nginx", path: "/hello", start: func(ctx context.Context, port int) (*proc, error) {
			return l.startNginx(port, be)
		}},
		{name: "haproxy", path: "/hello", start: func(ctx context.Context, port int) (*proc, error) {
			return l.startHAProxy(port, be)
		}},
		{name: "caddy", path: "/hello", start: func(ctx context.Context, port int) (*proc, error) {
			return l.startCaddy(port, be)
		}},
		{name: "switchboard", path: "/hello", start: func(ctx context.Context, port int) (*proc, error) {
			return l.startGateway("switchboard", port, gatewayYAML(port, oneRoute(be)))
		}},
		{name: "switchboard-chain", path: "/api/hello", start: func(ctx context.Context, port int) (*proc, error) {
			return l.startGateway("switchboard-chain", port, gatewayYAML(port, chainRoute(be)))
		}},
		{name: manyRoutesTarget(l.opts), path: "/svc" + strconv.Itoa(l.opts.routes-1) + "/hello", start: func(ctx context.Context, port int) (*proc, error) {
			return l.startGateway(manyRoutesTarget(l.opts), port, gatewayYAML(port, manyRoutes(be, l.opts.routes)))
		}},
		{name: "switchboard-lb", path: "/hello", start: func(ctx context.Context, port int) (*proc, error) {
			return l.startLBGateway(ctx, port, backends)
		}},
	}
	for _, t := range ts {
		switch {
		case t.name == "nginx" && l.nginx == "":
			t.skipped = missing("nginx")
		case t.name == "haproxy" && l.haproxy == "":
			t.skipped = missing("haproxy")
		case t.name == "caddy" && l.caddy == "":
			t.skipped = missing("caddy")
		case strings.HasPrefix(t.name, "switchboard"):
			t.skipped = sbMissing
		}
	}
	return ts
}

// writeFile writes a config file in the work directory and returns its path.
func (l *lab) writeFile(name, content string) (string, error) {
	p := filepath.Join(l.dir, name)
	return p, os.WriteFile(p, []byte(content), 0o644)
}

// startNginx runs nginx with one worker (the server CPUs are one core) and a
// keepalive upstream, no access log, as a tuned production config would.
func (l *lab) startNginx(port int, backend string) (*proc, error) {
	dir := filepath.Join(l.dir, "nginx")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp/body;
  proxy_temp_path %[1]s/tmp/proxy;
  fastcgi_temp_path %[1]s/tmp/fastcgi;
  uwsgi_temp_path %[1]s/tmp/uwsgi;
  scgi_temp_path %[1]s/tmp/scgi;
  keepalive_requests 1000000;
  upstream backend {
    server %[2]s;
    keepalive 512;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:%[3]d;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`, dir, backend, port)
	path, err := l.writeFile("nginx/nginx.conf", conf)
	if err != nil {
		return nil, err
	}
	return l.start("nginx", l.opts.serverCPUs, nil, l.nginx, "-p", dir, "-e", dir+"/error.log", "-c", path)
}

// startHAProxy runs HAProxy with one thread, keep-alive on both sides and
// connection reuse always.
func (l *lab) startHAProxy(port int, backend string) (*proc, error) {
	conf := fmt.Sprintf(`global
  nbthread 1
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend bench
  bind 127.0.0.1:%d
  default_backend backend
backend backend
  server b1 %s
`, port, backend)
	path, err := l.writeFile("haproxy.cfg", conf)
	if err != nil {
		return nil, err
	}
	return l.start("haproxy", l.opts.serverCPUs, nil, l.haproxy, "-db", "-f", path)
}

// startCaddy runs Caddy's reverse_proxy with its admin endpoint off and an
// idle pool as large as nginx's.
func (l *lab) startCaddy(port int, backend string) (*proc, error) {
	conf := fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
}
http://127.0.0.1:%d {
	bind 127.0.0.1
	reverse_proxy %s {
		transport http {
			keepalive_idle_conns_per_host 512
		}
	}
}
`, port, backend)
	path, err := l.writeFile("Caddyfile", conf)
	if err != nil {
		return nil, err
	}
	home := filepath.Join(l.dir, "caddy-home")
	env := []string{"HOME=" + home, "XDG_DATA_HOME=" + home, "XDG_CONFIG_HOME=" + home}
	return l.start("caddy", l.opts.serverCPUs, env, l.caddy, "run", "--config", path, "--adapter", "caddyfile")
}

// startGateway runs `switchboard gateway` with config yml.
func (l *lab) startGateway(name string, port int, yml string) (*proc, error) {
	path, err := l.writeFile(sanitize(name)+".yml", yml)
	if err != nil {
		return nil, err
	}
	return l.start(name, l.opts.serverCPUs, nil, l.switchboard, "gateway", "--config", path,
		"--port", strconv.Itoa(port), "--log-level", "warn")
}

// startLBGateway starts a registry, registers the three backends in it as
// application BACKEND, and runs a gateway routing lb://BACKEND.
func (l *lab) startLBGateway(ctx context.Context, port int, backends []string) (*proc, error) {
	rport, err := freePort()
	if err != nil {
		return nil, err
	}
	reg, err := l.startRegistry("registry-for-lb", rport, registryYAML(0))
	if err != nil {
		return nil, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(rport)
	if err := waitReady(ctx, reg, base+"/eureka/apps", 200, 10*time.Second); err != nil {
		return nil, err
	}
	hc := newHTTPClient(4)
	for i, a := range backends {
		host, p, _ := strings.Cut(a, ":")
		pn, _ := strconv.Atoi(p)
		in := benchInstance("BACKEND", "backend-"+strconv.Itoa(i+1), host, host, pn, time.Now().UnixMilli())
		if err := register(ctx, hc, base, in); err != nil {
			return nil, err
		}
	}
	yml := gatewayYAML(port, lbRoute()) + fmt.Sprintf(`eureka:
  client:
    service-url:
      defaultZone: %s/eureka/
`, base)
	return l.startGateway("switchboard-lb", port, yml)
}

// gatewayYAML wraps routes in a gateway configuration: loopback only, an idle
// pool as large as the other proxies'.
func gatewayYAML(port int, routes string) string {
	return fmt.Sprintf(`server:
  port: %d
  address: 127.0.0.1
spring:
  cloud:
    gateway:
      httpclient:
        pool:
          max-idle-per-host: 512
      routes:
%s`, port, routes)
}

func oneRoute(backend string) string {
	return fmt.Sprintf(`        - id: backend
          uri: http://%s
          predicates:
            - Path=/**
`, backend)
}

// chainRoute is a typical route: a path prefix stripped, Spring's security
// headers, a correlation id and an in-process rate limit far above the load.
func chainRoute(backend string) string {
	return fmt.Sprintf(`        - id: api
          uri: http://%s
          predicates:
            - Path=/api/**
          filters:
            - StripPrefix=1
            - SecureHeaders
            - CorrelationId
            - name: RequestRateLimiter
              args:
                redis-rate-limiter.replenishRate: 100000000
                redis-rate-limiter.burstCapacity: 100000000
                key-resolver: remoteAddr
`, backend)
}

// manyRoutes writes n routes, /svc0/** to /svc{n-1}/**; the last one matches.
func manyRoutes(backend string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `        - id: svc%[1]d
          uri: http://%[2]s
          predicates:
            - Path=/svc%[1]d/**
`, i, backend)
	}
	return b.String()
}

func lbRoute() string {
	return `        - id: backend
          uri: lb://BACKEND
          predicates:
            - Path=/**
`
}

// gatewayGoals judges issue 7's gateway targets at every connection count;
// a target is met when it is met at all of them.
func gatewayGoals(r *report, o *options) {
	conns := o.conns
	type check struct {
		text      string
		a, b      string  // targets compared: a's req/s over b's
		atLeast   float64 // the ratio wanted
		cpuTarget string  // or: this target's CPU per request under 50 µs
	}
	checks := []check{
		{text: "gateway, no filters: at least half of nginx's throughput", a: "switchboard", b: "nginx", atLeast: 0.5},
		{text: "gateway, no filters: at least 1.5× Caddy's throughput", a: "switchboard", b: "caddy", atLeast: 1.5},
		{text: "gateway, no filters: under 50 µs of CPU per request", cpuTarget: "switchboard"},
		{text: "typical chain within 15% of no filters", a: "switchboard-chain", b: "switchboard", atLeast: 0.85},
		{text: "10,000 routes within 10% of one route", a: manyRoutesTarget(o), b: "switchboard", atLeast: 0.9},
	}
	for _, c := range checks {
		var got []string
		met, measured := true, true
		for _, n := range conns {
			if c.cpuTarget != "" {
				row := r.gwRow(c.cpuTarget, n)
				if row == nil {
					measured = false
					break
				}
				cpu := row.runs.median().cpuPerReq()
				got = append(got, fmt.Sprintf("%s at %d", fmtDur(cpu), n))
				met = met && cpu < 50*time.Microsecond
				continue
			}
			a, b := r.gwMedian(c.a, n), r.gwMedian(c.b, n)
			if a == 0 || b == 0 {
				measured = false
				break
			}
			got = append(got, fmt.Sprintf("%s at %d", fmtRatio(a/b), n))
			met = met && a/b >= c.atLeast
		}
		switch {
		case !measured:
			r.unjudged(c.text, "a target was not measured")
		case c.a == manyRoutesTarget(o) && o.routes != 10000:
			r.unjudged(c.text, fmt.Sprintf("run with -routes %d: %s", o.routes, strings.Join(got, ", ")))
		default:
			r.goal(c.text, strings.Join(got, ", "), met)
		}
	}
}

// checkBody makes sure url answers the backend's 100 bytes, so every target
// is measured doing the same work.
func checkBody(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	b, err := readAll(resp)
	if err != nil {
		return err
	}
	if !bytes.Equal(b, backendBody) {
		return fmt.Errorf("GET %s answered %d bytes %q, not the backend's 100", url, len(b), firstLine(string(b)))
	}
	return nil
}
