package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/discovery"
	"github.com/switchboard-dev/switchboard/internal/testenv"
)

// These tests run the switchboard binary as users do.

func TestVersion(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(testenv.Switchboard(t), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("switchboard version: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`^switchboard \S+\n$`).Match(out) {
		t.Errorf("switchboard version printed %q, want \"switchboard VERSION\"", out)
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(testenv.Switchboard(t), "regsitry").CombinedOutput()
	if code := exitCode(err); code == 0 {
		t.Fatalf("switchboard regsitry exited 0, want an error\n%s", out)
	}
	if !strings.Contains(string(out), `unknown command "regsitry"`) {
		t.Errorf("switchboard regsitry printed:\n%s\nwant it to name the unknown command", out)
	}
}

// startProcess runs the binary with args on free ports, retrying when a
// port was taken before the process bound it. ports picks the arguments
// from fresh ports; ready says when the process serves.
func startProcess(t *testing.T, ports int, args func(ports []int) []string, ready func(ports []int) error) (*testenv.Process, []int) {
	t.Helper()
	bin := testenv.Switchboard(t)
	var lastErr error
	for range 3 {
		ps := make([]int, ports)
		for i := range ps {
			ps[i] = testenv.FreePort(t)
		}
		p := testenv.StartProcess(t, bin, args(ps))
		deadline := time.Now().Add(15 * time.Second)
		for {
			lastErr = ready(ps)
			if lastErr == nil {
				return p, ps
			}
			if exited, code := p.Exited(); exited {
				lastErr = fmt.Errorf("exited with status %d:\n%s", code, p.Output())
				break
			}
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		p.Kill()
	}
	t.Fatalf("switchboard %v did not start: %v", args([]int{0, 0}), lastErr)
	return nil, nil
}

func httpOK(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

func base(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }

// TestRegistryStandalone runs a registry with no peers. A bug once made it
// exit at once: it must keep serving until told to stop, then exit 0.
func TestRegistryStandalone(t *testing.T) {
	t.Parallel()
	p, ports := startProcess(t, 1,
		func(ps []int) []string { return []string{"registry", "--port", strconv.Itoa(ps[0])} },
		func(ps []int) error { return httpOK(base(ps[0]) + "/eureka/apps") })
	apps := base(ports[0]) + "/eureka/apps"
	for until := time.Now().Add(2500 * time.Millisecond); time.Now().Before(until); {
		if exited, code := p.Exited(); exited {
			t.Fatalf("the registry exited with status %d while it should serve:\n%s", code, p.Output())
		}
		if err := httpOK(apps); err != nil {
			t.Fatalf("while running: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	req, _ := http.NewRequest("GET", apps, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"applications"`) {
		t.Errorf("GET /eureka/apps (JSON) = %s", body)
	}
	p.Stop()
	if exited, code := p.Exited(); !exited || code != 0 {
		t.Errorf("after SIGTERM: exited %v with status %d, want 0\n%s", exited, code, p.Output())
	}
}

// TestBadConfigExits checks that a bad configuration stops the process
// before it listens, naming every problem with its file and line.
func TestBadConfigExits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, command, config string
		want                  []string
	}{
		{"registry", "registry", `
eureka:
  server:
    renewal-percent-treshold: 0.5
    enable-self-preservation: perhaps
`, []string{
			`application.yml:4: eureka.server.renewal-percent-treshold: unknown key; did you mean eureka.server.renewal-percent-threshold?`,
			`application.yml:5: eureka.server.enable-self-preservation: "perhaps" is not a boolean`,
		}},
		{"gateway", "gateway", `
spring:
  cloud:
    gateway:
      routes:
        - id: orders
          uri: lb://ORDERS
          predicates:
            - Path=/orders/{id
          filters:
            - RateLimiter=10
      rotues: []
      httpclient:
        connect-timeout: 5s
`, []string{
			`application.yml:9: spring.cloud.gateway.routes[0] (orders): predicates[0]: Path=/orders/{id: pattern "/orders/{id": no closing "}"`,
			`application.yml:11: spring.cloud.gateway.routes[0] (orders): filters[0]: RateLimiter=10: unknown filter "RateLimiter"; known: `,
			`application.yml:12: spring.cloud.gateway.rotues: unknown key`,
			`application.yml:14: spring.cloud.gateway.httpclient.connect-timeout: "5s" is not a whole number of milliseconds`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "application.yml")
			if err := os.WriteFile(file, []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			port := testenv.FreePort(t)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, testenv.Switchboard(t), tt.command, "--config", file, "--port", strconv.Itoa(port))
			out, err := cmd.CombinedOutput()
			if code := exitCode(err); code == 0 || ctx.Err() != nil {
				t.Fatalf("switchboard %s with a bad config: exit status %d (%v), want non-zero at once\n%s", tt.command, code, err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), "listening") {
				t.Errorf("switchboard %s listened before refusing its config:\n%s", tt.command, out)
			}
		})
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// TestDev runs switchboard dev, registers a backend with its registry and
// reaches the backend through its gateway at /{app}/.
func TestDev(t *testing.T) {
	t.Parallel()
	_, ports := startProcess(t, 2,
		func(ps []int) []string {
			return []string{"dev", "--port", strconv.Itoa(ps[0]), "--gateway-port", strconv.Itoa(ps[1])}
		},
		func(ps []int) error {
			if err := httpOK(base(ps[0]) + "/eureka/apps"); err != nil {
				return err
			}
			return httpOK(base(ps[1]) + "/actuator/health")
		})

	backend := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello at %s", r.URL.Path)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go backend.Serve(ln)
	t.Cleanup(func() { backend.Close() })

	cfg := discovery.DefaultConfig()
	cfg.ServiceURLs = []string{base(ports[0]) + "/eureka/"}
	cfg.FetchRegistry = false
	cfg.InitialRegistrationJitter = -1
	cfg.Instance.App = "hello"
	cfg.Instance.HostName = "127.0.0.1"
	cfg.Instance.IPAddr = "127.0.0.1"
	cfg.Instance.Port = ln.Addr().(*net.TCPAddr).Port
	dc, err := discovery.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		dc.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	url := base(ports[1]) + "/hello/greet"
	testenv.Eventually(t, 15*time.Second, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != "hello at /greet" {
			return fmt.Errorf("GET %s = %d %q, want 200 \"hello at /greet\"", url, resp.StatusCode, body)
		}
		return nil
	})
}
