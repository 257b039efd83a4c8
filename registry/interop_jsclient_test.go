package registry_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
	"github.com/switchboard-dev/switchboard/internal/testenv"
	"github.com/switchboard-dev/switchboard/registry"
)

// jsInterval is the eureka-js-client heartbeat and registry fetch interval.
const jsInterval = 200 * time.Millisecond

// jsClient is one eureka-js-client instance the driver runs.
type jsClient struct {
	name       string // the driver's name for the client
	app        string // as configured: lower case
	host       string
	port       int
	vip        string
	instanceID string // empty: eureka-js-client then uses hostName as the id
}

func (c jsClient) id() string {
	if c.instanceID != "" {
		return c.instanceID
	}
	return c.host
}

// config is the instance section of the client's config, as its README
// shows it.
func (c jsClient) config() map[string]any {
	in := map[string]any{
		"app":            c.app,
		"hostName":       c.host,
		"ipAddr":         "127.0.0.1",
		"port":           map[string]any{"$": c.port, "@enabled": true},
		"vipAddress":     c.vip,
		"statusPageUrl":  fmt.Sprintf("http://%s:%d/info", c.host, c.port),
		"dataCenterInfo": map[string]any{"@class": eureka.ClassDefaultDataCenterInfo, "name": "MyOwn"},
	}
	if c.instanceID != "" {
		in["instanceId"] = c.instanceID
	}
	return in
}

// TestEurekaJSClient runs eureka-js-client 4.5.0 (Node.js) against a real
// registry: registration, heartbeats, full and delta fetches, a status
// override set by an operator, cancel on stop, and re-registration after a
// 404 heartbeat.
func TestEurekaJSClient(t *testing.T) {
	t.Parallel()
	dir := jsClientDir(t)
	reg := testenv.StartRegistry(t, nil)
	d := startJSDriver(t, dir, reg.URL)

	alpha := []jsClient{
		{"alpha-1", "alpha", "alpha-1.test", 8081, "Alpha.Service", ""},
		{"alpha-2", "alpha", "alpha-2.test", 8082, "Alpha.Service", ""},
		{"alpha-3", "alpha", "alpha-3.test", 8083, "Alpha.Service", ""},
	}
	beta := []jsClient{
		{"beta-1", "beta", "beta.test", 9091, "beta", "beta.test:beta:9091"},
		{"beta-2", "beta", "beta.test", 9092, "beta", "beta.test:beta:9092"},
	}
	clients := slices.Concat(alpha, beta)
	// gamma is registered by the test over HTTP once the clients run.
	gamma := jsClient{"", "gamma", "gamma-1.test", 7071, "gamma", "gamma-1.test:gamma:7071"}

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"Start", func(t *testing.T) {
			for _, c := range clients {
				if r := d.call(t, jsCommand{Cmd: "start", Client: c.name, Instance: c.config()}); r.Error != "" {
					t.Fatalf("client %s: start(): %s", c.name, r.Error)
				}
			}
			for _, c := range clients {
				if n := d.count(c.name, "registered"); n != 1 {
					t.Errorf("client %s: %d registered events after start(), want 1", c.name, n)
				}
				in, err := reg.Instance(strings.ToUpper(c.app), c.id())
				if err != nil {
					t.Errorf("registry: Instance(%s, %s) after start(): %v", strings.ToUpper(c.app), c.id(), err)
					continue
				}
				got := fmt.Sprintf("app=%s host=%s port=%d enabled=%v vip=%s status=%s",
					in.App, in.HostName, in.Port.Number, in.Port.Enabled, in.VIPAddress, in.Status)
				want := fmt.Sprintf("app=%s host=%s port=%d enabled=true vip=%s status=UP",
					strings.ToUpper(c.app), c.host, c.port, c.vip)
				if got != want {
					t.Errorf("registry: Instance(%s):\n got  %s\n want %s", c.id(), got, want)
				}
			}
			testenv.Eventually(t, 5*time.Second, func() error {
				for _, c := range clients {
					if n := d.count(c.name, "heartbeat"); n < 2 {
						return fmt.Errorf("client %s: %d heartbeats answered 200, want at least 2", c.name, n)
					}
				}
				return nil
			})
		}},
		{"FetchSeesEveryone", func(t *testing.T) {
			// alpha-1 started first: its full fetch held only itself, so it
			// learns of the others through deltas.
			testenv.Eventually(t, 10*time.Second, func() error {
				for _, c := range clients {
					if err := d.sees(t, c.name, "alpha", "Alpha.Service", alpha, eureka.StatusUp); err != nil {
						return err
					}
					if err := d.sees(t, c.name, "BETA", "beta", beta, eureka.StatusUp); err != nil {
						return err
					}
				}
				return nil
			})
		}},
		{"DeltaBringsNewInstance", func(t *testing.T) {
			// eureka-js-client emits registryUpdated on full fetches only;
			// once start() is done it fetches deltas (shouldUseDelta).
			fullFetches := make(map[string]int, len(clients))
			for _, c := range clients {
				fullFetches[c.name] = d.count(c.name, "registryUpdated")
			}
			body, err := json.Marshal(map[string]any{"instance": gamma.config()})
			if err != nil {
				t.Fatal(err)
			}
			req, err := http.NewRequest(http.MethodPost, reg.URL+"/apps/gamma", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if code := interopDo(t, req); code != http.StatusNoContent {
				t.Fatalf("POST /eureka/apps/gamma: status %d, want 204", code)
			}
			testenv.Eventually(t, 10*time.Second, func() error {
				for _, c := range clients {
					if err := d.sees(t, c.name, "gamma", "gamma", []jsClient{gamma}, eureka.StatusUp); err != nil {
						return err
					}
				}
				return nil
			})
			for _, c := range clients {
				if n := d.count(c.name, "registryUpdated") - fullFetches[c.name]; n != 0 {
					t.Errorf("client %s: made %d full fetches to learn of gamma, want 0 (deltas only)", c.name, n)
				}
			}
		}},
		{"StatusOverride", func(t *testing.T) {
			target := alpha[1]
			path := "/apps/ALPHA/" + target.id() + "/status?value=OUT_OF_SERVICE"
			req, err := http.NewRequest(http.MethodPut, reg.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if code := interopDo(t, req); code != http.StatusOK {
				t.Fatalf("PUT /eureka%s: status %d, want 200", path, code)
			}
			// Every client sees the override through a MODIFIED delta.
			testenv.Eventually(t, 10*time.Second, func() error {
				for _, c := range clients {
					r := d.lookup(t, c.name, "", target.vip)
					i := slices.IndexFunc(r.ByVIP, func(in jsInstance) bool { return in.HostName == target.host })
					if i < 0 {
						return fmt.Errorf("client %s: getInstancesByVipAddress(%q) lost %s: %v", c.name, target.vip, target.id(), r.ByVIP)
					}
					if got := r.ByVIP[i].Status; got != string(eureka.StatusOutOfService) {
						return fmt.Errorf("client %s: getInstancesByVipAddress(%q): %s has status %s, want OUT_OF_SERVICE", c.name, target.vip, target.id(), got)
					}
				}
				return nil
			})
			// The override survives the target's own heartbeats.
			before := d.count(target.name, "heartbeat")
			testenv.Eventually(t, 10*time.Second, func() error {
				if n := d.count(target.name, "heartbeat"); n < before+3 {
					return fmt.Errorf("client %s: %d heartbeats since the override, want 3", target.name, n-before)
				}
				return nil
			})
			in, err := reg.Instance("ALPHA", target.id())
			if err != nil {
				t.Fatalf("registry: Instance(ALPHA, %s) after 3 heartbeats: %v", target.id(), err)
			}
			if in.Status != eureka.StatusOutOfService || in.OverriddenStatus != eureka.StatusOutOfService {
				t.Errorf("registry: Instance(ALPHA, %s) after 3 heartbeats: status %s, overriddenstatus %s; want both OUT_OF_SERVICE",
					target.id(), in.Status, in.OverriddenStatus)
			}
			if n := d.count(target.name, "registered"); n != 1 {
				t.Errorf("client %s: registered %d times, want 1 (no heartbeat may answer 404)", target.name, n)
			}
		}},
		{"StopCancels", func(t *testing.T) {
			target := beta[1]
			if r := d.call(t, jsCommand{Cmd: "stop", Client: target.name}); r.Error != "" {
				t.Fatalf("client %s: stop(): %s", target.name, r.Error)
			}
			if n := d.count(target.name, "deregistered"); n != 1 {
				t.Errorf("client %s: %d deregistered events after stop(), want 1", target.name, n)
			}
			if _, err := reg.Instance("BETA", target.id()); !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("registry: Instance(BETA, %s) after stop(): error %v, want ErrNotFound", target.id(), err)
			}
			testenv.Eventually(t, 10*time.Second, func() error {
				for _, c := range clients {
					if c.name == target.name {
						continue
					}
					r := d.lookup(t, c.name, "", "beta")
					if got, want := hostPorts(r.ByVIP), []string{"beta.test:9091"}; !slices.Equal(got, want) {
						return fmt.Errorf("client %s: getInstancesByVipAddress(beta) = %q, want %q", c.name, got, want)
					}
				}
				return nil
			})
		}},
		{"ReRegisterOn404", func(t *testing.T) {
			target := alpha[2]
			req, err := http.NewRequest(http.MethodDelete, reg.URL+"/apps/ALPHA/"+target.id(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if code := interopDo(t, req); code != http.StatusOK {
				t.Fatalf("DELETE /eureka/apps/ALPHA/%s: status %d, want 200", target.id(), code)
			}
			// Its next heartbeat answers 404 and the client registers again.
			testenv.Eventually(t, 10*time.Second, func() error {
				if n := d.count(target.name, "registered"); n < 2 {
					return fmt.Errorf("client %s: registered %d times, want 2", target.name, n)
				}
				in, err := reg.Instance("ALPHA", target.id())
				if err != nil {
					return fmt.Errorf("registry: Instance(ALPHA, %s): %w", target.id(), err)
				}
				if in.Status != eureka.StatusUp {
					return fmt.Errorf("registry: Instance(ALPHA, %s): status %s, want UP", target.id(), in.Status)
				}
				return nil
			})
			before := d.count(target.name, "heartbeat")
			testenv.Eventually(t, 10*time.Second, func() error {
				if n := d.count(target.name, "heartbeat"); n < before+2 {
					return fmt.Errorf("client %s: %d heartbeats answered 200 since re-registering, want 2", target.name, n-before)
				}
				return nil
			})
		}},
	}
	for _, step := range steps {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

func hostPorts(ins []jsInstance) []string {
	out := make([]string, 0, len(ins))
	for _, in := range ins {
		out = append(out, fmt.Sprintf("%s:%v", in.HostName, in.Port))
	}
	slices.Sort(out)
	return out
}

// interopDo sends req and returns the status code.
func interopDo(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// jsClientDir returns testdata/jsclient with eureka-js-client installed,
// running npm ci there first if needed. Without node or npm the test skips,
// or fails under CI.
func jsClientDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "jsclient"))
	if err != nil {
		t.Fatal(err)
	}
	const install = "install Node.js 18 or later with npm (Debian: apt-get install nodejs npm; or https://nodejs.org)"
	if _, err := exec.LookPath("node"); err != nil {
		interopMissingTool(t, "node is not on PATH: "+install)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "eureka-js-client", "package.json")); err == nil {
		return dir
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		interopMissingTool(t, "eureka-js-client is not installed in "+dir+" and npm is not on PATH: "+install)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return dir
}

func interopMissingTool(t *testing.T, msg string) {
	t.Helper()
	if testenv.InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// jsDriver runs testdata/jsclient/driver.js and talks to it in JSON lines.
type jsDriver struct {
	stdin io.WriteCloser
	done  chan struct{} // closed when the driver's stdout ends

	mu      sync.Mutex // guards the fields below
	seq     int
	replies map[int]chan jsReply
	events  map[[2]string]int // {client, event} -> count
}

type jsCommand struct {
	Seq      int            `json:"seq"`
	Cmd      string         `json:"cmd"`
	Client   string         `json:"client"`
	Instance map[string]any `json:"instance,omitempty"`
	App      string         `json:"app,omitempty"`
	VIP      string         `json:"vip,omitempty"`
}

// jsReply is a line from the driver: a reply (Seq set) or an event.
type jsReply struct {
	Seq    int          `json:"seq"`
	Event  string       `json:"event"`
	Client string       `json:"client"`
	OK     bool         `json:"ok"`
	Error  string       `json:"error"`
	ByApp  []jsInstance `json:"byApp"`
	ByVIP  []jsInstance `json:"byVip"`
}

// jsInstance is an instance as eureka-js-client holds it.
type jsInstance struct {
	InstanceID string `json:"instanceId"`
	HostName   string `json:"hostName"`
	App        string `json:"app"`
	Status     string `json:"status"`
	Port       any    `json:"port"` // port.$, which must be a JSON number
	VIPAddress string `json:"vipAddress"`
}

func startJSDriver(t *testing.T, dir, eurekaURL string) *jsDriver {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", "driver.js", eurekaURL, fmt.Sprint(jsInterval.Milliseconds()))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_ENV=test")
	cmd.Stderr = &lineLogger{t: t, prefix: "driver: "}
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start node driver.js: %v", err)
	}
	d := &jsDriver{
		stdin:   stdin,
		done:    make(chan struct{}),
		replies: make(map[int]chan jsReply),
		events:  make(map[[2]string]int),
	}
	go d.read(t, stdout)
	t.Cleanup(func() {
		// Closing stdin makes the driver exit; kill it if it does not.
		stdin.Close()
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			t.Log("driver did not exit within 5s of closing stdin; killing it")
		}
		cancel()
		<-d.done
		cmd.Wait()
	})
	return d
}

func (d *jsDriver) read(t *testing.T, stdout io.Reader) {
	defer close(d.done)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var r jsReply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Logf("driver stdout: %s", sc.Bytes())
			continue
		}
		d.mu.Lock()
		if r.Event != "" {
			d.events[[2]string{r.Client, r.Event}]++
			if r.Event == "fatal" || r.Event == "bad-command" {
				t.Errorf("driver: %s: %s", r.Event, r.Error)
			}
		} else if ch := d.replies[r.Seq]; ch != nil {
			delete(d.replies, r.Seq)
			ch <- r
		}
		d.mu.Unlock()
	}
}

// call sends a command and waits for its reply.
func (d *jsDriver) call(t *testing.T, c jsCommand) jsReply {
	t.Helper()
	ch := make(chan jsReply, 1)
	d.mu.Lock()
	d.seq++
	c.Seq = d.seq
	d.replies[c.Seq] = ch
	d.mu.Unlock()
	line, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.stdin.Write(append(line, '\n')); err != nil {
		t.Fatalf("driver: send %s: %v", line, err)
	}
	select {
	case r := <-ch:
		return r
	case <-d.done:
		t.Fatalf("driver: exited before answering %s", line)
	case <-time.After(20 * time.Second):
		t.Fatalf("driver: no answer to %s within 20s", line)
	}
	return jsReply{}
}

// lookup asks a client for the instances of app and of vip.
func (d *jsDriver) lookup(t *testing.T, client, app, vip string) jsReply {
	t.Helper()
	r := d.call(t, jsCommand{Cmd: "lookup", Client: client, App: app, VIP: vip})
	if r.Error != "" {
		t.Fatalf("client %s: lookup(app %q, vip %q): %s", client, app, vip, r.Error)
	}
	return r
}

// sees reports whether the client sees exactly want, with status status,
// under getInstancesByAppId(app) and getInstancesByVipAddress(vip).
func (d *jsDriver) sees(t *testing.T, client, app, vip string, want []jsClient, status eureka.Status) error {
	t.Helper()
	r := d.lookup(t, client, app, vip)
	var wantView []string
	for _, c := range want {
		wantView = append(wantView, fmt.Sprintf("%s %s:%d app=%s vip=%s %s",
			c.id(), c.host, c.port, strings.ToUpper(c.app), c.vip, status))
	}
	slices.Sort(wantView)
	for _, q := range []struct {
		call string
		got  []jsInstance
	}{
		{fmt.Sprintf("getInstancesByAppId(%q)", app), r.ByApp},
		{fmt.Sprintf("getInstancesByVipAddress(%q)", vip), r.ByVIP},
	} {
		var view []string
		for _, in := range q.got {
			id := in.InstanceID
			if id == "" {
				id = in.HostName
			}
			port := fmt.Sprintf("%v", in.Port)
			if _, isNumber := in.Port.(float64); !isNumber {
				port = fmt.Sprintf("%#v (not a JSON number)", in.Port)
			}
			view = append(view, fmt.Sprintf("%s %s:%s app=%s vip=%s %s", id, in.HostName, port, in.App, in.VIPAddress, in.Status))
		}
		slices.Sort(view)
		if !slices.Equal(view, wantView) {
			return fmt.Errorf("client %s: %s:\n got  %q\n want %q", client, q.call, view, wantView)
		}
	}
	return nil
}

// count returns how many times client emitted event.
func (d *jsDriver) count(client, event string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.events[[2]string{client, event}]
}

// lineLogger writes each line it is given to t.Log.
type lineLogger struct {
	t      *testing.T
	prefix string

	mu  sync.Mutex // guards buf
	buf []byte     // an incomplete last line
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.t.Log(w.prefix + string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}
