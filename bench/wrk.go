package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wrkScript makes wrk send one method, to one path or to each path of a file
// in turn (requests are formatted once, in init), and print its exact figures
// in one line that wrkRun parses: wrk's own summary rounds latencies.
//
//	wrk -s bench.lua URL -- METHOD [PATHS_FILE]
const wrkScript = `-- Written by Switchboard's bench harness.
local reqs, n, i = {}, 0, 0

function init(args)
  wrk.method = args[1] or "GET"
  if args[2] then
    for line in io.lines(args[2]) do
      n = n + 1
      reqs[n] = wrk.format(nil, line)
    end
  else
    n = 1
    reqs[1] = wrk.format(nil, nil)
  end
end

function request()
  i = i % n + 1
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
`

// A loadSpec says what wrk sends.
type loadSpec struct {
	url     string
	conns   int
	method  string   // default GET
	headers []string // "Name: value"
	paths   []string // when set, each request takes the next of these paths
}

// A sample is one measured run against one server.
type sample struct {
	requests  int64
	elapsed   time.Duration
	bytes     int64
	p50, p99  time.Duration
	errors    int64         // socket errors and timeouts
	non2xx    int64         // answers outside 2xx and 3xx
	serverCPU time.Duration // CPU the server's process group used meanwhile
	clientCPU time.Duration // CPU wrk used
	foreign   float64       // share of the server CPUs other processes took meanwhile
}

func (s sample) rps() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.requests) / s.elapsed.Seconds()
}

// cpuPerReq is the server's CPU time per request.
func (s sample) cpuPerReq() time.Duration {
	if s.requests == 0 {
		return 0
	}
	return s.serverCPU / time.Duration(s.requests)
}

// wrkRun runs wrk for d against spec, pinned to the client CPUs, and reads
// the CPU time of server (when not nil) around it.
func (l *lab) wrkRun(ctx context.Context, server *proc, spec loadSpec, d time.Duration) (sample, error) {
	if l.wrk == "" {
		return sample{}, fmt.Errorf("wrk is not installed; run bench/run.sh, or apt-get install wrk")
	}
	method := spec.method
	if method == "" {
		method = "GET"
	}
	secs := max(1, int((d+time.Second/2)/time.Second))
	args := []string{l.wrk, "-t1", "-c" + strconv.Itoa(spec.conns), "-d" + strconv.Itoa(secs) + "s",
		"--timeout", "5s", "-s", l.luaScript}
	for _, h := range spec.headers {
		args = append(args, "-H", h)
	}
	args = append(args, spec.url, "--", method)
	if len(spec.paths) > 0 {
		f, err := os.CreateTemp(l.dir, "paths-*.txt")
		if err != nil {
			return sample{}, err
		}
		w := bufio.NewWriter(f)
		for _, p := range spec.paths {
			w.WriteString(p)
			w.WriteByte('\n')
		}
		err = w.Flush()
		f.Close()
		if err != nil {
			return sample{}, err
		}
		defer os.Remove(f.Name())
		args = append(args, f.Name())
	}
	if l.taskset != "" && l.opts.clientCPUs != "" {
		args = append([]string{l.taskset, "-c", l.opts.clientCPUs}, args...)
	}
	// wrk stops by itself after -d; the context is a backstop.
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = filepath.Dir(l.luaScript)
	var before time.Duration
	if server != nil {
		before = server.cpuTime()
	}
	m := l.meter()
	out, err := cmd.CombinedOutput()
	var s sample
	s.foreign = m.foreign()
	l.noteForeign(s.foreign, fmt.Sprintf("wrk -c%d %s", spec.conns, spec.url))
	if server != nil {
		s.serverCPU = server.cpuTime() - before
	}
	if err != nil {
		return s, fmt.Errorf("wrk %s: %v\n%s", spec.url, err, out)
	}
	if ps := cmd.ProcessState; ps != nil {
		s.clientCPU = ps.UserTime() + ps.SystemTime()
	}
	if err := parseWrk(string(out), &s); err != nil {
		return s, fmt.Errorf("wrk %s: %v\n%s", spec.url, err, out)
	}
	if server != nil && server.exited() {
		return s, fmt.Errorf("%s exited during the run; its log ends:\n%s", server.name, server.tail())
	}
	return s, nil
}

// parseWrk reads the BENCH line the script prints.
func parseWrk(out string, s *sample) error {
	for line := range strings.SplitSeq(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "BENCH ")
		if !ok {
			continue
		}
		v := map[string]int64{}
		for kv := range strings.FieldsSeq(rest) {
			k, val, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return fmt.Errorf("bad figure %q", kv)
			}
			v[k] = n
		}
		s.requests = v["requests"]
		s.elapsed = time.Duration(v["duration_us"]) * time.Microsecond
		s.bytes = v["bytes"]
		s.p50 = time.Duration(v["p50_us"]) * time.Microsecond
		s.p99 = time.Duration(v["p99_us"]) * time.Microsecond
		s.errors = v["connect"] + v["read"] + v["write"] + v["timeout"]
		s.non2xx = v["status"]
		return nil
	}
	return fmt.Errorf("no BENCH line in its output")
}
