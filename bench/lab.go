package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A lab holds what one run shares: the options, the work directory, the
// tools found, and every process started, so that all of them are stopped at
// the end. Its methods are safe for concurrent use.
type lab struct {
	opts *options
	dir  string
	log  io.Writer

	self                       string // this executable, for the backend and floor modes
	wrk, nginx, haproxy, caddy string // tool paths; "" when missing
	taskset                    string
	switchboard                string // binary under test; "" when it could not be built
	switchboardErr             error  // why not
	luaScript                  string // the wrk script, see wrk.go

	mu         sync.Mutex // guards the fields below
	procs      []*proc
	maxForeign float64 // the most of the server CPUs other processes took in one measured run
	foreignAt  string  // during which run
}

// noteForeign records the foreign share f of the run what.
func (l *lab) noteForeign(f float64, what string) {
	l.mu.Lock()
	if f > l.maxForeign {
		l.maxForeign, l.foreignAt = f, what
	}
	l.mu.Unlock()
}

func (l *lab) logf(format string, args ...any) {
	fmt.Fprintf(l.log, "bench: "+format+"\n", args...)
}

// prepare finds the tools, writes the wrk script and builds switchboard.
func (l *lab) prepare(ctx context.Context) error {
	var err error
	if l.self, err = os.Executable(); err != nil {
		return err
	}
	l.taskset, _ = exec.LookPath("taskset")
	l.wrk, _ = exec.LookPath("wrk")
	l.haproxy = lookTool("haproxy", "/usr/sbin/haproxy")
	l.nginx = lookTool("nginx", "/usr/sbin/nginx")
	l.caddy = lookTool("caddy", goBin("caddy"))
	l.luaScript = filepath.Join(l.dir, "bench.lua")
	if err := os.WriteFile(l.luaScript, []byte(wrkScript), 0o644); err != nil {
		return err
	}
	if l.opts.switchboard != "" {
		l.switchboard = l.opts.switchboard
		return nil
	}
	bin := filepath.Join(l.dir, "switchboard")
	l.logf("building ./cmd/switchboard")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/switchboard")
	if out, err := cmd.CombinedOutput(); err != nil {
		l.switchboardErr = fmt.Errorf("go build ./cmd/switchboard (run from the repository root): %v\n%s", err, out)
		l.logf("%v", l.switchboardErr)
		return nil
	}
	l.switchboard = bin
	return nil
}

// lookTool finds name on PATH or at one of the fallback paths.
func lookTool(name string, fallbacks ...string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range fallbacks {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// goBin is where go install puts name.
func goBin(name string) string {
	if gb := os.Getenv("GOBIN"); gb != "" {
		return filepath.Join(gb, name)
	}
	gp := os.Getenv("GOPATH")
	if gp == "" {
		home, _ := os.UserHomeDir()
		gp = filepath.Join(home, "go")
	}
	return filepath.Join(gp, "bin", name)
}

// A proc is a server process started by the lab: pinned to the server CPUs,
// in a process group of its own, its output in a log file.
type proc struct {
	name string
	pid  int
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// start starts argv pinned to cpus, with extra environment variables env.
func (l *lab) start(name, cpus string, env []string, argv ...string) (*proc, error) {
	logPath := filepath.Join(l.dir, sanitize(name)+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if l.taskset != "" && cpus != "" {
		argv = append([]string{l.taskset, "-c", cpus}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = l.dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own group, so Ctrl-C reaches only us and we stop the whole group
	// (nginx's workers too); SIGTERM if we die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, pid: cmd.Process.Pid, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	return p, nil
}

// sanitize makes a target name usable as a file name.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, s)
}

// stop stops p's process group: SIGTERM, then SIGKILL after 5 s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(-p.pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-p.pid, syscall.SIGKILL)
		<-p.done
	}
	// Stragglers in the group (an nginx worker whose master died).
	syscall.Kill(-p.pid, syscall.SIGKILL)
}

// exited reports whether p has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail returns the last lines of p's log, for error messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// stopProc stops p and forgets it.
func (l *lab) stopProc(p *proc) {
	p.stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, q := range l.procs {
		if q == p {
			l.procs = append(l.procs[:i], l.procs[i+1:]...)
			break
		}
	}
}

// stopAll stops every process still running, all at once.
func (l *lab) stopAll() {
	l.mu.Lock()
	procs := l.procs
	l.procs = nil
	l.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(p.stop)
	}
	wg.Wait()
}

// freePort returns a 127.0.0.1 port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// freePorts returns n distinct free ports.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ports := make([]int, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// waitReady polls url until it answers want, p exits, or timeout passes.
func waitReady(ctx context.Context, p *proc, url string, want int, timeout time.Duration) error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := hc.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited before %s answered %d; its log ends:\n%s", p.name, url, want, p.tail())
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer %d within %v (last: %s)", url, want, timeout, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times; 100 on Linux.
const clockTick = 10 * time.Millisecond

// cpuTime returns the CPU time (user + system) used so far by p's process
// group: every process whose pgrp is p's pid.
func (p *proc) cpuTime() time.Duration {
	return procCPU(func(_, _, pgrp int) bool { return pgrp == p.pid })
}

// procCPU returns the CPU time (user + system) of every process in /proc
// that want accepts, given its pid, parent pid and process group.
func procCPU(want func(pid, ppid, pgrp int) bool) time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var ticks int64
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, ok := statFields(pid)
		if !ok || len(f) < 13 {
			continue
		}
		// f[0] is field 3 (state) of proc(5): ppid is field 4, pgrp 5, utime 14, stime 15.
		ppid, _ := strconv.Atoi(f[1])
		pgrp, _ := strconv.Atoi(f[2])
		if !want(pid, ppid, pgrp) {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * clockTick
}

// statFields returns the fields of /proc/pid/stat after the command name.
func statFields(pid int) ([]string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, false
	}
	return strings.Fields(string(b[i+1:])), true
}

// rss returns p's resident set size (VmRSS) in bytes.
func (p *proc) rss() (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(p.pid) + "/status")
}

// A busyMeter measures how much of the server CPUs processes other than the
// lab's used over an interval: on a shared machine, the share of the core
// the server under test did not get.
type busyMeter struct {
	l          *lab
	start      time.Time
	busy, ours time.Duration
}

// meter starts measuring.
func (l *lab) meter() busyMeter {
	return busyMeter{l: l, start: time.Now(), busy: cpuBusy(l.opts.serverCPUs), ours: l.accountedCPU()}
}

// foreign returns the share of the server CPUs' time, since the meter
// started, that went to other processes: 0.25 is a quarter of one CPU.
func (m busyMeter) foreign() float64 {
	wall := time.Since(m.start)
	if wall <= 0 {
		return 0
	}
	other := (cpuBusy(m.l.opts.serverCPUs) - m.busy) - (m.l.accountedCPU() - m.ours)
	return max(0, other.Seconds()/wall.Seconds())
}

// accountedCPU is the CPU time used so far by every process the lab runs and
// by the kernel's threads, which carry much of our own loopback traffic.
// Kernel threads on the client CPUs are counted too, so the foreign share
// errs low.
func (l *lab) accountedCPU() time.Duration {
	l.mu.Lock()
	groups := make(map[int]bool, len(l.procs))
	for _, p := range l.procs {
		groups[p.pid] = true
	}
	l.mu.Unlock()
	return procCPU(func(pid, ppid, pgrp int) bool { return groups[pgrp] || ppid == 2 || pid == 2 })
}

// cpuBusy returns the time the CPUs in list ("0", "0-1", "0,2") spent
// running processes or stolen by the hypervisor, from /proc/stat.
func cpuBusy(list string) time.Duration {
	want := map[string]bool{}
	for part := range strings.SplitSeq(list, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for c := a; c <= b; c++ {
			want["cpu"+strconv.Itoa(c)] = true
		}
	}
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	var ticks int64
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !want[f[0]] {
			continue
		}
		// user nice system idle iowait irq softirq steal: processes' time and
		// the hypervisor's steal. Interrupt time is left out: much of it is
		// loopback traffic of our own, charged to no process.
		for i, v := range f[1:9] {
			if i >= 3 && i <= 6 {
				continue
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * clockTick
}
