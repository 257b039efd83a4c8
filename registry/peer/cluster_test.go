package peer_test

import (
	"context"
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
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
	"github.com/switchboard-dev/switchboard/internal/testenv"
)

// fastEnv shrinks the registry's timers so a cluster test takes seconds:
// renewals counted over 2 s against 1 s heartbeats, eviction every 500 ms,
// short sync waits and batch delays.
var fastEnv = []string{
	"EUREKA_SERVER_EXPECTEDCLIENTRENEWALINTERVALSECONDS=1",
	"SWITCHBOARD_REGISTRY_RENEWALCOUNTWINDOWMS=2000",
	"EUREKA_SERVER_EVICTIONINTERVALTIMERINMS=500",
	"EUREKA_SERVER_REGISTRYSYNCRETRIES=3",
	"EUREKA_SERVER_REGISTRYSYNCRETRYWAITMS=200",
	"SWITCHBOARD_REGISTRY_REPLICATION_MAXBATCHDELAYMS=100",
	"EUREKA_SERVER_PEERNODEREADTIMEOUTMS=2000",
}

// node is one registry process of a test cluster.
type node struct {
	port  int
	url   string   // service URL clients use
	peers []string // service URLs it replicates to
	proc  *testenv.Process
}

func newNodes(t *testing.T, n int) []*node {
	nodes := make([]*node, n)
	for i := range nodes {
		p := testenv.FreePort(t)
		nodes[i] = &node{port: p, url: fmt.Sprintf("http://127.0.0.1:%d/eureka", p)}
	}
	for i, a := range nodes {
		for j, b := range nodes {
			if i != j {
				a.peers = append(a.peers, b.url+"/")
			}
		}
	}
	return nodes
}

func (n *node) start(t *testing.T, env ...string) {
	t.Helper()
	bin := testenv.Switchboard(t)
	args := []string{"registry", "--port", testenv.Itoa(n.port), "--peers", strings.Join(n.peers, ","), "--log-level", "warn"}
	n.proc = testenv.StartProcess(t, bin, args, append(slices.Clone(fastEnv), env...)...)
	testenv.Eventually(t, 15*time.Second, func() error {
		if done, code := n.proc.Exited(); done {
			t.Fatalf("registry on port %d exited with %d:\n%s", n.port, code, n.proc.Output())
		}
		_, err := fetch(n.url)
		return err
	})
}

var client = &http.Client{Timeout: 5 * time.Second}

func instanceBody(app, id string, port int) string {
	return fmt.Sprintf(`{"instance":{"instanceId":%q,"hostName":"h-%s","app":%q,"ipAddr":"10.1.0.1","status":"UP",
"port":{"$":%d,"@enabled":"true"},"vipAddress":%q,"leaseInfo":{"renewalIntervalInSecs":1,"durationInSecs":6},
"dataCenterInfo":{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"}}}`,
		id, id, app, port, strings.ToLower(app))
}

func register(url, app, id string) error {
	resp, err := client.Post(url+"/apps/"+app, "application/json", strings.NewReader(instanceBody(app, id, 8080)))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("register %s/%s at %s: %s", app, id, url, resp.Status)
	}
	return nil
}

// renew sends one heartbeat and returns the status code, 0 on a network error.
func renew(url, app, id string) int {
	req, _ := http.NewRequest(http.MethodPut, url+"/apps/"+app+"/"+id, nil)
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

type view struct {
	hash string
	ids  map[string]eureka.Status
}

func fetch(url string) (*view, error) {
	req, _ := http.NewRequest(http.MethodGet, url+"/apps/", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/apps/: %s", url, resp.Status)
	}
	apps, err := eureka.DecodeApplicationsJSON(data)
	if err != nil {
		return nil, err
	}
	v := &view{hash: apps.AppsHashcode, ids: map[string]eureka.Status{}}
	for _, a := range apps.Applications {
		for _, in := range a.Instances {
			v.ids[a.Name+"/"+in.ID()] = in.Status
		}
	}
	return v, nil
}

// converged checks that every node holds exactly want (app/id keys).
func converged(nodes []*node, want map[string]bool) error {
	for _, n := range nodes {
		v, err := fetch(n.url)
		if err != nil {
			return err
		}
		if len(v.ids) != len(want) {
			return fmt.Errorf("node %d has %d instances (hash %s), want %d", n.port, len(v.ids), v.hash, len(want))
		}
		for k := range want {
			if _, ok := v.ids[k]; !ok {
				return fmt.Errorf("node %d lacks %s", n.port, k)
			}
		}
		if wantHash := fmt.Sprintf("UP_%d_", len(want)); v.hash != wantHash {
			return fmt.Errorf("node %d hash %q, want %q", n.port, v.hash, wantHash)
		}
	}
	return nil
}

// fleet simulates Eureka clients: each instance has a home node, heartbeats
// every second, fails over to the next node when its server is unreachable,
// and registers again when a heartbeat answers 404, as the Java client does.
type fleet struct {
	nodes []*node
	mu    sync.Mutex // guards acked and home
	acked map[string]bool
	home  map[string]int
}

func newFleet(nodes []*node) *fleet {
	return &fleet{nodes: nodes, acked: map[string]bool{}, home: map[string]int{}}
}

func (f *fleet) register(app, id string, home int) error {
	if err := register(f.nodes[home].url, app, id); err != nil {
		return err
	}
	f.mu.Lock()
	f.acked[app+"/"+id] = true
	f.home[app+"/"+id] = home
	f.mu.Unlock()
	return nil
}

func (f *fleet) snapshot() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps(f.acked)
}

func maps(m map[string]bool) map[string]bool {
	c := make(map[string]bool, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// heartbeat runs until ctx ends.
func (f *fleet) heartbeat(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		f.mu.Lock()
		keys := make([]string, 0, len(f.home))
		for k := range f.home {
			keys = append(keys, k)
		}
		f.mu.Unlock()
		sem := make(chan struct{}, 16)
		var wg sync.WaitGroup
		for _, k := range keys {
			if ctx.Err() != nil {
				break
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				f.beat(k)
			})
		}
		wg.Wait()
	}
}

func (f *fleet) beat(key string) {
	app, id, _ := strings.Cut(key, "/")
	f.mu.Lock()
	home := f.home[key]
	f.mu.Unlock()
	for try := range len(f.nodes) {
		i := (home + try) % len(f.nodes)
		switch renew(f.nodes[i].url, app, id) {
		case http.StatusOK:
			f.setHome(key, i)
			return
		case http.StatusNotFound:
			if register(f.nodes[i].url, app, id) == nil {
				f.setHome(key, i)
				return
			}
		}
	}
}

func (f *fleet) setHome(key string, i int) {
	f.mu.Lock()
	f.home[key] = i
	f.mu.Unlock()
}

// registerMany registers count instances over the nodes with a few workers,
// calling between(i) before the i-th registration.
func (f *fleet) registerMany(t *testing.T, count int, between func(i int)) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= count {
					return
				}
				if between != nil {
					between(i)
				}
				app := fmt.Sprintf("APP-%d", i%10)
				id := fmt.Sprintf("inst-%04d", i)
				home := i % len(f.nodes)
				// A client whose server is down tries the next one.
				var err error
				for try := range len(f.nodes) {
					if err = f.register(app, id, (home+try)%len(f.nodes)); err == nil {
						break
					}
				}
				if err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d registrations failed on every node", n)
	}
}

// startCluster starts three peered registries and a fleet that heartbeats
// until the test ends.
func startCluster(t *testing.T) ([]*node, *fleet) {
	nodes := newNodes(t, 3)
	for _, n := range nodes {
		n.start(t)
	}
	f := newFleet(nodes)
	f.beatUntilCleanup(t)
	return nodes, f
}

// beatUntilCleanup runs the fleet's heartbeats until the test ends.
func (f *fleet) beatUntilCleanup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { f.heartbeat(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func TestClusterConverges(t *testing.T) {
	t.Parallel()
	nodes, f := startCluster(t)

	f.registerMany(t, 1000, nil)
	testenv.Eventually(t, 30*time.Second, func() error { return converged(nodes, f.snapshot()) })
}

func TestClusterSurvivesKill(t *testing.T) {
	t.Parallel()
	nodes, f := startCluster(t)

	var killOnce sync.Once
	f.registerMany(t, 600, func(i int) {
		if i == 300 {
			killOnce.Do(func() { nodes[2].proc.Kill() })
		}
	})
	survivors := nodes[:2]
	testenv.Eventually(t, 30*time.Second, func() error { return converged(survivors, f.snapshot()) })

	nodes[2].start(t)
	testenv.Eventually(t, 30*time.Second, func() error { return converged(nodes, f.snapshot()) })
}

func TestClusterSplitHeals(t *testing.T) {
	t.Parallel()
	nodes := newNodes(t, 3)
	// Peers reach each other only through fault proxies, one per direction.
	proxies := map[[2]int]*testenv.FaultProxy{}
	for i, a := range nodes {
		a.peers = nil
		for j, b := range nodes {
			if i == j {
				continue
			}
			p := testenv.StartFaultProxy(t, fmt.Sprintf("127.0.0.1:%d", b.port))
			proxies[[2]int{i, j}] = p
			a.peers = append(a.peers, "http://"+p.Addr()+"/eureka/")
		}
	}
	for _, n := range nodes {
		n.start(t)
	}
	f := newFleet(nodes)
	f.beatUntilCleanup(t)

	f.registerMany(t, 300, nil)
	testenv.Eventually(t, 20*time.Second, func() error { return converged(nodes, f.snapshot()) })

	// Cut node 0 off from nodes 1 and 2, both ways.
	for k, p := range proxies {
		if k[0] == 0 || k[1] == 0 {
			p.Block()
		}
	}
	// Each side keeps serving: new registrations are accepted on both.
	if err := f.register("SPLIT-A", "a-1", 0); err != nil {
		t.Fatalf("register on the isolated node: %v", err)
	}
	if err := f.register("SPLIT-B", "b-1", 1); err != nil {
		t.Fatalf("register on the majority side: %v", err)
	}
	// Leases of the other side's instances lapse (6 s: slack for a loaded
	// machine, where a round of 300 heartbeats can take seconds) but self-preservation
	// stops the eviction: for several lease durations nobody loses anything.
	deadline := time.Now().Add(9 * time.Second)
	for time.Now().Before(deadline) {
		for i, n := range nodes {
			v, err := fetch(n.url)
			if err != nil {
				t.Fatalf("node %d stopped serving during the split: %v", i, err)
			}
			if len(v.ids) < 300 {
				t.Fatalf("node %d evicted during the split: %d instances left of 300", i, len(v.ids))
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, p := range proxies {
		p.Heal()
	}
	testenv.Eventually(t, 30*time.Second, func() error { return converged(nodes, f.snapshot()) })
}

func TestHAProxyFrontsCluster(t *testing.T) {
	t.Parallel()
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		if testenv.InCI() {
			t.Fatal("haproxy not installed; .ci/run installs it with apt-get install haproxy")
		}
		t.Skip("haproxy not installed; apt-get install haproxy to run this test")
	}
	nodes := newNodes(t, 3)
	for _, n := range nodes {
		n.start(t)
	}
	front := testenv.FreePort(t)
	cfg := fmt.Sprintf(`global
  maxconn 1000
defaults
  mode http
  timeout connect 1s
  timeout client 10s
  timeout server 10s
  retries 3
  option redispatch
  retry-on conn-failure empty-response response-timeout
frontend eureka
  bind 127.0.0.1:%d
  default_backend registries
backend registries
  balance roundrobin
  option httpchk GET /actuator/health
  default-server inter 200ms fall 1 rise 2
  server r1 127.0.0.1:%d check
  server r2 127.0.0.1:%d check
  server r3 127.0.0.1:%d check
`, front, nodes[0].port, nodes[1].port, nodes[2].port)
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.StartProcess(t, haproxy, []string{"-db", "-f", path})
	url := fmt.Sprintf("http://127.0.0.1:%d/eureka", front)
	testenv.Eventually(t, 10*time.Second, func() error { _, err := fetch(url); return err })

	f := newFleet([]*node{{url: url}})
	f.beatUntilCleanup(t)

	var fails []error
	for i := range 300 {
		if i == 100 {
			nodes[1].proc.Kill()
		}
		if err := f.register("HA", fmt.Sprintf("ha-%03d", i), 0); err != nil {
			fails = append(fails, err)
		}
		if _, err := fetch(url); err != nil {
			fails = append(fails, err)
		}
	}
	if len(fails) > 0 {
		t.Fatalf("%d of 600 requests through HAProxy failed while a node died; first: %v", len(fails), errors.Join(fails[:min(3, len(fails))]...))
	}
	// A registration the dead node acknowledged but had not yet replicated
	// comes back with the instance's next heartbeat (404, then register).
	survivors := []*node{nodes[0], nodes[2]}
	testenv.Eventually(t, 20*time.Second, func() error { return converged(survivors, f.snapshot()) })
}
