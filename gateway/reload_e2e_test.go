package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/testenv"
)

// TestHotReloadUnderLoad runs `switchboard gateway --config FILE` and keeps
// eight clients sending requests while the file changes under it: a new
// good file is picked up, SIGHUP reloads too, and a bad file is refused and
// logged while the last good routes keep serving. No request may fail, and
// no client may see an older configuration after a newer one.
func TestHotReloadUnderLoad(t *testing.T) {
	t.Parallel()
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	const conf = `
spring.cloud.gateway.routes:
  - id: app
    uri: {{BACKEND}}
    predicates: [Path=/app/**]
    filters: ["AddResponseHeader=X-Version, {{VERSION}}"]
`
	version := func(v string) string { return yamlConf(conf, "BACKEND", be.URL, "VERSION", v) }
	file := writeConfig(t, "application.yml", version("v1"))
	url, proc := startReloadingGateway(t, file)

	var (
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		requests atomic.Int64
		failures atomic.Int64
		latest   atomic.Int64 // highest version seen by any client
		errMu    sync.Mutex
		errs     []string
	)
	fail := func(format string, args ...any) {
		failures.Add(1)
		errMu.Lock()
		defer errMu.Unlock()
		if len(errs) < 10 {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for range 8 {
		wg.Go(func() {
			tick := time.NewTicker(10 * time.Millisecond) // ~800 requests a second in all
			defer tick.Stop()
			seen := 0
			for requests.Add(1) <= 6000 {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				resp, err := client.Get(url + "/app/x")
				if err != nil {
					fail("GET /app/x: %v", err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				v, _ := strconv.Atoi(strings.TrimPrefix(resp.Header.Get("X-Version"), "v"))
				switch {
				case resp.StatusCode != http.StatusOK:
					fail("GET /app/x = %s", resp.Status)
				case v < seen:
					fail("a client saw v%d after v%d", v, seen)
				}
				seen = max(seen, v)
				storeMax(&latest, int64(v))
			}
		})
	}
	waitVersion := func(want int) {
		t.Helper()
		testenv.Eventually(t, 10*time.Second, func() error {
			if got := latest.Load(); got != int64(want) {
				return fmt.Errorf("clients see v%d, want v%d", got, want)
			}
			return nil
		})
	}
	waitVersion(1)

	// A new file is picked up by the watcher (it checks every second).
	replaceFile(t, file, version("v2"))
	waitVersion(2)

	// SIGHUP reloads a file the watcher cannot tell has changed: same size,
	// same modification time.
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, file, version("v3"))
	if err := os.Chtimes(file, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := proc.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitVersion(3)

	// A bad file is refused and logged; v3 keeps serving.
	replaceFile(t, file, strings.Replace(version("v4"), "AddResponseHeader", "AddResponseHeaders", 1))
	testenv.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(proc.output(), "configuration refused") {
			return fmt.Errorf("the gateway did not log the refused configuration")
		}
		return nil
	})
	if out := proc.output(); !strings.Contains(out, `unknown filter \"AddResponseHeaders\"`) {
		t.Errorf("the log does not say what is wrong:\n%s", out)
	}
	before := requests.Load()
	testenv.Eventually(t, 5*time.Second, func() error { // more requests on the old routes
		if requests.Load() < before+100 {
			return fmt.Errorf("only %d requests since the bad file", requests.Load()-before)
		}
		return nil
	})
	close(stop)
	wg.Wait()
	if code, body, _ := get(t, nil, url+"/metrics"); code != 200 ||
		!strings.Contains(body, `switchboard_gateway_config_reloads_total{result="applied"} 2`) {
		t.Errorf("/metrics = %d, want 2 applied reloads counted:\n%s", code, grepLines(body, "reloads"))
	}
	if got := latest.Load(); got != 3 {
		t.Errorf("clients ended on v%d, want v3", got)
	}
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d requests failed during reloads; first ones:\n%s", n, requests.Load(), strings.Join(errs, "\n"))
	}
	t.Logf("%d requests, %d reached the backend", requests.Load(), be.hits.Load())
}

// grepLines returns the lines of text that contain s.
func grepLines(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// storeMax sets a to v if v is larger.
func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// replaceFile writes text to file atomically, as editors and config
// management do, so the watcher never reads half a file.
func replaceFile(t *testing.T, file, text string) {
	t.Helper()
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
}

// reloadingGateway is a gateway process this test can signal.
type reloadingGateway struct {
	*exec.Cmd
	mu  sync.Mutex
	out bytes.Buffer
}

func (p *reloadingGateway) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *reloadingGateway) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startReloadingGateway starts switchboard gateway on a free port and waits
// until it serves. testenv.StartProcess cannot send SIGHUP, so this starts
// the process itself.
func startReloadingGateway(t *testing.T, file string) (string, *reloadingGateway) {
	t.Helper()
	bin := testenv.Switchboard(t)
	for range 3 {
		port := strconv.Itoa(testenv.FreePort(t))
		p := &reloadingGateway{}
		p.Cmd = exec.Command(bin, "gateway", "--config", file, "--port", port, "--log-level", "warn")
		p.Stdout, p.Stderr = p, p
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			p.Wait()
			close(done)
		}()
		t.Cleanup(func() {
			p.Process.Kill()
			<-done
			if t.Failed() {
				t.Logf("switchboard gateway output:\n%s", p.output())
			}
		})
		url := "http://127.0.0.1:" + port
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if resp, err := http.Get(url + "/actuator/health"); err == nil {
				resp.Body.Close()
				return url, p
			}
			select {
			case <-done:
				deadline = time.Time{} // exited: try another port
			case <-time.After(20 * time.Millisecond):
			}
		}
		p.Process.Kill()
	}
	t.Fatal("switchboard gateway did not start")
	return "", nil
}
