package serve_test

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/switchboard-dev/switchboard/internal/serve"
)

var (
	app   = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("app")) })
	admin = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("admin")) })
)

// fetch returns the status and body of GET url, or -1 and the error.
func fetch(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestManagementPort(t *testing.T) {
	t.Parallel()
	type want struct {
		path   string
		status int
		body   string // "" when not 200
	}
	tests := []struct {
		name      string
		port      int
		main      []want
		adminWant []want // nil: no management listener
	}{
		{"on the main listener", serve.SamePort,
			[]want{{"/metrics", 200, "admin"}, {"/actuator/health", 200, "admin"}, {"/eureka/apps", 200, "app"}}, nil},
		{"off", serve.NoPort,
			[]want{{"/metrics", 404, ""}, {"/actuator/health", 404, ""}, {"/", 200, "app"}}, nil},
		{"own port", 0,
			[]want{{"/metrics", 404, ""}, {"/actuator/health", 404, ""}, {"/actuator", 404, ""}, {"/metricsx", 200, "app"}},
			[]want{{"/metrics", 200, "admin"}, {"/actuator/health", 200, "admin"}, {"/eureka/apps", 404, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := testOptions()
			opts.Management.Port = tt.port
			opts.Management.Address = "127.0.0.1"
			ls := start(t, opts, app, admin)
			check := func(base string, ws []want) {
				for _, w := range ws {
					status, body := fetch(t, http.DefaultClient, base+w.path)
					if status != w.status || w.status == 200 && body != w.body {
						t.Errorf("GET %s: %d %q, want %d %q", base+w.path, status, body, w.status, w.body)
					}
				}
			}
			check("http://"+ls.Addr().String(), tt.main)
			if tt.adminWant == nil {
				if ls.AdminAddr() != nil {
					t.Errorf("AdminAddr() = %v, want none", ls.AdminAddr())
				}
				return
			}
			check("http://"+ls.AdminAddr().String(), tt.adminWant)
		})
	}
}

// The management listener gets the main listener's TLS unless it has its
// own, and may be plain HTTP on its own.
func TestManagementTLS(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "mgmt")
	opts := tlsOptions(t, ca)
	opts.Management.Port, opts.Management.Address = 0, "127.0.0.1"
	ls := start(t, opts, app, admin)
	if status, body := fetch(t, httpsClient(t, ca), "https://"+ls.AdminAddr().String()+"/metrics"); status != 200 || body != "admin" {
		t.Errorf("GET /metrics over TLS on the management port: %d %q, want 200 admin", status, body)
	}

	opts.Management.TLS.Enabled = false
	ls = start(t, opts, app, admin)
	if status, _ := fetch(t, http.DefaultClient, "http://"+ls.AdminAddr().String()+"/metrics"); status != 200 {
		t.Errorf("GET /metrics over plain HTTP on the management port: %d, want 200", status)
	}
}

// A management port equal to the main one means the main listener, as in
// Spring.
func TestManagementPortSameAsMain(t *testing.T) {
	t.Parallel()
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()
	_, port, _ := net.SplitHostPort(addr)
	opts := testOptions()
	opts.Management.Port, _ = strconv.Atoi(port)
	ls, err := serve.Listen(addr, opts, nil)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", port, err)
	}
	defer ls.Close()
	if ls.AdminAddr() != nil {
		t.Errorf("management.server.port = server.port: AdminAddr() = %v, want none", ls.AdminAddr())
	}
}

func TestListenFailsWhole(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	opts := testOptions()
	opts.Management.Port = busy.Addr().(*net.TCPAddr).Port
	opts.Management.Address = "127.0.0.1"
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mainAddr := free.Addr().String()
	free.Close()
	if _, err := serve.Listen(mainAddr, opts, nil); err == nil {
		t.Fatal("Listen with a management port in use succeeded")
	}
	// The main socket was closed again.
	ln, err := net.Listen("tcp", mainAddr)
	if err != nil {
		t.Fatalf("main address still taken after a failed Listen: %v", err)
	}
	ln.Close()
}
