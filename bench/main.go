// Command bench is Switchboard's load harness. It measures the gateway
// against nginx, HAProxy and Caddy, and the registry against a bare net/http
// floor, on one machine, in one run, and prints Markdown tables.
//
//	bench/run.sh -suite gateway|registry|all [-duration 10s] [-rounds 3] [-quick]
//	go run ./bench -suite ...          # when wrk, nginx, haproxy and caddy are installed
//
// run.sh installs what is missing (wrk, nginx and haproxy from Debian, Caddy
// with go install) and then runs this command from the repository root.
//
// # Method
//
// Every server the harness starts listens on a free 127.0.0.1 port and runs in
// a process group of its own, pinned with taskset to the server CPUs (-server-cpus,
// default 0). The load generators, wrk and this process, are pinned to the
// client CPUs (-client-cpus, default 1), the same way for every target. Each
// target is warmed up, then the rounds are interleaved (round 1 of every target,
// then round 2 ...) so that a change in background load hits every target alike.
// The tables give the median of the rounds and their spread, the latency
// percentiles of the median round, and the CPU time the server under test used
// per request, from utime+stime in /proc/<pid>/stat of its whole process group.
//
// The gateway suite puts each proxy in front of the same 100-byte backend (a
// mode of this command). The registry suite runs `switchboard registry`, and
// for each workload a floor: a bare net/http handler doing the least possible
// work (a mode of this command too), measured the same way.
//
// Every load loop is bounded in count and in time, and every process is
// stopped at the end, also on Ctrl-C. BENCHMARKS.md at the repository root
// explains each figure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// options are the command-line settings of a run.
type options struct {
	suite        string
	duration     time.Duration // one measured run of one target
	warmup       time.Duration // one warm-up run per target
	rounds       int
	quick        bool
	conns        []int         // wrk connections, gateway suite
	routes       int           // routes of the many-routes gateway target
	startTimeout time.Duration // how long a gateway target may take to answer
	only         string        // comma-separated target names, or "" for all
	serverCPUs   string        // taskset list for servers
	backendCPUs  string        // taskset list for the gateway suite's backend
	clientCPUs   string        // taskset list for load generators
	switchboard  string        // prebuilt switchboard binary, or "" to build ./cmd/switchboard
	keep         bool          // keep the work directory
	out          string        // also write the report here
	cpuProfile   string        // profile this process (the Go load generator and discovery clients)

	instances    int           // registry fleet size
	clusterFleet int           // instances in the replication test
	hbRate       int           // heartbeats/s offered in the replication test
	pollInterval time.Duration // polling discovery client's fetch interval
	readySamples int
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "backend", "floor":
			// Server modes the harness starts as child processes.
			if err := serveMode(os.Args[1], os.Args[2:]); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
			return
		}
	}
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	pinSelf(o.clientCPUs)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseOptions(args []string) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	o := &options{}
	var conns string
	fs.StringVar(&o.suite, "suite", "all", "what to measure: `gateway`, registry or all")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of one measured run")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "length of the warm-up run of each target")
	fs.IntVar(&o.rounds, "rounds", 3, "interleaved rounds per target")
	fs.BoolVar(&o.quick, "quick", false, "a smoke run: 3 s runs, 1 s warm-ups, 1 round, smaller cluster test, unless set explicitly")
	fs.StringVar(&conns, "conns", "64,256", "wrk connection `counts` for the gateway suite, comma-separated")
	fs.IntVar(&o.routes, "routes", 10000, "routes in the many-routes gateway target (the matched one last)")
	fs.DurationVar(&o.startTimeout, "start-timeout", time.Minute, "how long a gateway target may take to start and answer")
	fs.StringVar(&o.only, "targets", "", "run only these gateway `targets` (comma-separated names from the table) or registry workloads")
	fs.StringVar(&o.serverCPUs, "server-cpus", "0", "CPU `list` (taskset -c) for the servers under test and the backend")
	fs.StringVar(&o.backendCPUs, "backend-cpus", "", "CPU `list` for the gateway suite's backend (default: the server CPUs)")
	fs.StringVar(&o.clientCPUs, "client-cpus", "1", "CPU `list` (taskset -c) for wrk and this process")
	fs.StringVar(&o.switchboard, "switchboard", "", "switchboard `binary` to measure (default: go build ./cmd/switchboard)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (configs and server logs)")
	fs.StringVar(&o.out, "o", "", "also write the report to this `file`")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (load generator, discovery clients) to `file`")
	fs.IntVar(&o.instances, "instances", 10000, "registry fleet size (try 100000: slow)")
	fs.IntVar(&o.clusterFleet, "cluster-instances", 10000, "instances registered in the three-node replication test")
	fs.IntVar(&o.hbRate, "cluster-rate", 5000, "heartbeats/s sent to the three-node cluster during the replication test")
	fs.DurationVar(&o.pollInterval, "poll-interval", 30*time.Second, "fetch interval of the polling discovery client")
	fs.IntVar(&o.readySamples, "ready-samples", 10, "process starts measured for time to ready")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		defaults := map[string]func(){
			"duration":          func() { o.duration = 3 * time.Second },
			"warmup":            func() { o.warmup = time.Second },
			"rounds":            func() { o.rounds = 1 },
			"poll-interval":     func() { o.pollInterval = 5 * time.Second },
			"ready-samples":     func() { o.readySamples = 5 },
			"cluster-instances": func() { o.clusterFleet = 3000 },
		}
		for name, apply := range defaults {
			if !set[name] {
				apply()
			}
		}
	}
	if o.backendCPUs == "" {
		o.backendCPUs = o.serverCPUs
	}
	switch o.suite {
	case "gateway", "registry", "all":
	default:
		return nil, fmt.Errorf("-suite: %q; want gateway, registry or all", o.suite)
	}
	var err error
	if o.conns, err = parseInts(conns); err != nil {
		return nil, fmt.Errorf("-conns: %v", err)
	}
	switch {
	case o.duration < 100*time.Millisecond || o.duration > 10*time.Minute:
		return nil, fmt.Errorf("-duration: %v is out of range; want 100ms to 10m", o.duration)
	case o.warmup < 0 || o.warmup > 10*time.Minute:
		return nil, fmt.Errorf("-warmup: %v is out of range; want 0 to 10m", o.warmup)
	case o.rounds < 1 || o.rounds > 50:
		return nil, fmt.Errorf("-rounds: %d is out of range; want 1 to 50", o.rounds)
	case o.instances < 100 || o.instances > 1_000_000:
		return nil, fmt.Errorf("-instances: %d is out of range; want 100 to 1000000", o.instances)
	case o.clusterFleet < 30 || o.clusterFleet > 1_000_000:
		return nil, fmt.Errorf("-cluster-instances: %d is out of range; want 30 to 1000000", o.clusterFleet)
	case o.hbRate < 1 || o.hbRate > 100_000:
		return nil, fmt.Errorf("-cluster-rate: %d is out of range; want 1 to 100000", o.hbRate)
	case o.pollInterval < time.Second || o.pollInterval > 5*time.Minute:
		return nil, fmt.Errorf("-poll-interval: %v is out of range; want 1s to 5m", o.pollInterval)
	case o.routes < 1 || o.routes > 1_000_000:
		return nil, fmt.Errorf("-routes: %d is out of range; want 1 to 1000000", o.routes)
	case o.startTimeout < time.Second || o.startTimeout > time.Hour:
		return nil, fmt.Errorf("-start-timeout: %v is out of range; want 1s to 1h", o.startTimeout)
	case o.readySamples < 1 || o.readySamples > 100:
		return nil, fmt.Errorf("-ready-samples: %d is out of range; want 1 to 100", o.readySamples)
	}
	return o, nil
}

// parseInts parses "64,256".
func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err != nil || n < 1 || n > 10000 {
			return nil, fmt.Errorf("%q is not a count from 1 to 10000", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// pinSelf moves this process to the client CPUs, as wrk is, by re-executing it
// under taskset, so the load it generates does not take the servers' CPU.
// The environment marks the second start. Without taskset it runs unpinned.
func pinSelf(cpus string) {
	const mark = "SWITCHBOARD_BENCH_PINNED"
	if os.Getenv(mark) != "" || cpus == "" {
		return
	}
	ts, err := exec.LookPath("taskset")
	self, err2 := os.Executable()
	if err != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "bench: taskset not found; running unpinned")
		return
	}
	argv := append([]string{"taskset", "-c", cpus, self}, os.Args[1:]...)
	err = syscall.Exec(ts, argv, append(os.Environ(), mark+"=1"))
	fmt.Fprintln(os.Stderr, "bench: cannot pin to CPUs", cpus+":", err)
}

// run prepares the lab, runs the suites and prints the report.
func run(ctx context.Context, o *options) error {
	dir, err := os.MkdirTemp("", "switchboard-bench-")
	if err != nil {
		return err
	}
	l := &lab{opts: o, dir: dir, log: os.Stderr}
	defer func() {
		l.stopAll()
		if o.keep {
			l.logf("work directory kept: %s", dir)
		} else {
			os.RemoveAll(dir)
		}
	}()
	if err := l.prepare(ctx); err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var out io.Writer = os.Stdout
	if o.out != "" {
		f, err := os.Create(o.out)
		if err != nil {
			return err
		}
		defer f.Close()
		out = io.MultiWriter(os.Stdout, f)
	}
	r := &report{}
	r.machine = machineInfo(ctx, l)
	var errs []error
	if o.suite == "gateway" || o.suite == "all" {
		if err := gatewaySuite(ctx, l, r); err != nil {
			errs = append(errs, fmt.Errorf("gateway suite: %w", err))
		}
	}
	if ctx.Err() == nil && (o.suite == "registry" || o.suite == "all") {
		if err := registrySuite(ctx, l, r); err != nil {
			errs = append(errs, fmt.Errorf("registry suite: %w", err))
		}
	}
	l.mu.Lock()
	r.maxForeign, r.foreignAt = l.maxForeign, l.foreignAt
	l.mu.Unlock()
	r.write(out, o)
	if ctx.Err() != nil {
		errs = append(errs, errors.New("interrupted"))
	}
	return errors.Join(errs...)
}

// machineInfo describes the machine and the tools for the report header.
func machineInfo(ctx context.Context, l *lab) []string {
	// runtime.NumCPU counts only the CPUs this process is pinned to.
	model, cpus := "unknown", 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			switch k = strings.TrimSpace(k); {
			case ok && k == "processor":
				cpus++
			case ok && k == "model name" && model == "unknown":
				model = strings.TrimSpace(v)
			}
		}
	}
	kernel := "unknown"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	lines := []string{
		fmt.Sprintf("CPUs: %d (%s); kernel %s; %s", cpus, model, kernel, runtime.Version()),
		fmt.Sprintf("servers on CPU %s (gateway backend on CPU %s), load generators on CPU %s; %v runs, %v warm-up, %d round(s)",
			l.opts.serverCPUs, l.opts.backendCPUs, l.opts.clientCPUs, l.opts.duration, l.opts.warmup, l.opts.rounds),
	}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(la))
		if len(f) >= 3 {
			lines = append(lines, "load average at start: "+strings.Join(f[:3], " "))
		}
	}
	var tools []string
	for _, t := range []struct{ name, bin string }{{"wrk", l.wrk}, {"nginx", l.nginx}, {"haproxy", l.haproxy}, {"caddy", l.caddy}} {
		if t.bin == "" {
			tools = append(tools, t.name+" missing")
			continue
		}
		tools = append(tools, toolVersion(ctx, t.name, t.bin))
	}
	return append(lines, "tools: "+strings.Join(tools, ", "))
}

// toolVersion asks a tool for its version, in one short line.
func toolVersion(ctx context.Context, name, bin string) string {
	args := map[string][]string{"wrk": {"-v"}, "nginx": {"-v"}, "haproxy": {"-v"}, "caddy": {"build-info"}}[name]
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	b, _ := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	switch name {
	case "nginx":
		line = strings.TrimPrefix(line, "nginx version: ")
	case "haproxy":
		if f := strings.Fields(line); len(f) >= 3 {
			line = "haproxy " + f[2]
		}
	case "wrk":
		if f := strings.Fields(line); len(f) >= 2 {
			line = "wrk " + f[1]
		}
	case "caddy":
		// go install leaves "caddy version" unknown; the module line has it.
		line = "caddy unknown"
		for l := range strings.SplitSeq(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 3 && f[0] == "mod" && f[1] == "github.com/caddyserver/caddy/v2" {
				line = "caddy " + f[2]
			}
		}
	}
	return line
}
