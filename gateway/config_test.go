package gateway

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/springconf"
)

var update = flag.Bool("update", false, "rewrite the .err files in testdata/bad")

// loadConfig parses, binds and compiles the configuration in file, as
// switchboard gateway does at start-up.
func loadConfig(t testing.TB, file string) (*Config, *Gateway, error) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	props, err := springconf.Parse(file, data, nil)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := Bind(props)
	if err != nil {
		return nil, nil, err
	}
	g, err := New(cfg)
	return cfg, g, err
}

func routeIDs(g *Gateway) []string {
	var ids []string
	for _, rt := range g.Routes() {
		ids = append(ids, rt.ID)
	}
	return ids
}

func TestGoodConfigs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		check func(t *testing.T, cfg *Config, g *Gateway)
	}{
		{"shortcut.yml", func(t *testing.T, cfg *Config, g *Gateway) {
			// orders has order 10, so it sorts last; the others keep their order.
			want := []string{"rewrite", "setpath", "redirect", "canary", "stable", "forwarded", "fallback", "orders"}
			if got := routeIDs(g); !slices.Equal(got, want) {
				t.Errorf("routes = %v, want %v", got, want)
			}
			orders := g.tbl.Load().byID["orders"]
			if len(orders.PredicateDefs) != 10 || len(orders.FilterDefs) != 19 {
				t.Errorf("orders has %d predicates and %d filters, want 10 and 19", len(orders.PredicateDefs), len(orders.FilterDefs))
			}
			if rt := g.tbl.Load().byID["setpath"]; rt.Service != "ORDERS" {
				t.Errorf("lb://orders: Service = %q, want ORDERS", rt.Service)
			}
		}},
		{"expanded.yml", func(t *testing.T, cfg *Config, g *Gateway) {
			want := []string{"orders", "users", "secure", "fallback-orders"}
			if got := routeIDs(g); !slices.Equal(got, want) {
				t.Errorf("routes = %v, want %v", got, want)
			}
			d := cfg.Routes[0].Predicates[0]
			if got, want := d.list(0, "patterns"), []string{"/orders/{id}", "/orders"}; !slices.Equal(got, want) {
				t.Errorf("Path patterns = %q, want %q", got, want)
			}
			jwt := cfg.Routes[2].Filters[0]
			if got := jwt.mapArg("claim-headers"); got["sub"] != "X-User-Id" || got["email"] != "X-User-Email" {
				t.Errorf("JWT claim-headers = %v, want sub: X-User-Id and email: X-User-Email", got)
			}
		}},
		{"defaults.yml", func(t *testing.T, cfg *Config, g *Gateway) {
			if cfg.Port != 8081 {
				t.Errorf("Port = %d, want 8081", cfg.Port)
			}
			hc := cfg.HTTPClient
			if hc.ConnectTimeout != time.Second || hc.ResponseTimeout != 5*time.Second ||
				hc.MaxIdleConnsPerHost != 64 || hc.IdleTimeout != 30*time.Second {
				t.Errorf("HTTPClient = %+v, want 1s connect, 5s response, 64 idle per host, 30s idle", hc)
			}
			if got, want := routeIDs(g), []string{"slow", "unlimited"}; !slices.Equal(got, want) {
				t.Errorf("routes = %v, want %v (disabled left out)", got, want)
			}
			slow := g.tbl.Load().byID["slow"]
			if slow.ResponseTimeout != 200*time.Millisecond || slow.ConnectTimeout != 50*time.Millisecond {
				t.Errorf("slow: timeouts %v/%v, want 200ms response, 50ms connect", slow.ResponseTimeout, slow.ConnectTimeout)
			}
			if slow.Metadata["owner"] != "team-a" {
				t.Errorf("slow: metadata %v, want owner: team-a kept", slow.Metadata)
			}
			if rt := g.tbl.Load().byID["unlimited"]; rt.ResponseTimeout >= 0 {
				t.Errorf("unlimited: ResponseTimeout = %v, want negative (global timeout off)", rt.ResponseTimeout)
			}
			// Three default filters interleave with none of the route's own.
			if got := len(slow.FilterDefs); got != 3 {
				t.Errorf("slow: %d filters %q, want the 3 default filters", got, slow.FilterDefs)
			}
		}},
		{"resilience4j.yml", func(t *testing.T, cfg *Config, g *Gateway) {
			br := g.tbl.Load().byID["payments"]
			if br == nil {
				t.Fatal("no payments route")
			}
			b := (&builder{g: g, cfg: cfg}).breakers()
			c := b.Config("payments")
			if c.SlidingWindowType != "TIME_BASED" || c.SlidingWindowSize != 5 || c.MinimumNumberOfCalls != 5 ||
				c.FailureRateThreshold != 50 || c.WaitDurationInOpenState != 200*time.Millisecond ||
				c.PermittedNumberOfCallsInHalfOpenState != 1 || c.SlowCallRateThreshold != 80 ||
				c.SlowCallDurationThreshold != 2*time.Second || !c.AutomaticTransitionFromOpenToHalfOpenEnabled ||
				c.TimeoutDuration != 500*time.Millisecond || c.CancelRunningFuture {
				t.Errorf("payments breaker config = %+v", c)
			}
			c = b.Config("inventory")
			if c.SlidingWindowType != "COUNT_BASED" || c.SlidingWindowSize != 10 || c.WaitDurationInOpenState != 10*time.Second ||
				c.TimeoutDuration != 2*time.Second {
				t.Errorf("inventory breaker config = %+v, want configs.default's", c)
			}
		}},
		{"webflux.yml", func(t *testing.T, cfg *Config, g *Gateway) {
			if got, want := cfg.RegistryURLs, []string{"http://127.0.0.1:8761/eureka/", "http://127.0.0.1:8762/eureka/"}; !slices.Equal(got, want) {
				t.Errorf("RegistryURLs = %q, want %q", got, want)
			}
			if cfg.RegistryFetchInterval != 5*time.Second {
				t.Errorf("RegistryFetchInterval = %v, want 5s", cfg.RegistryFetchInterval)
			}
			if !cfg.Locator.Enabled || !cfg.Locator.LowerCaseServiceID || cfg.Locator.RouteIDPrefix != "eureka_" {
				t.Errorf("Locator = %+v, want enabled, lower case, prefix eureka_", cfg.Locator)
			}
			if cfg.Redis.Addr != "127.0.0.1:6380" || cfg.Redis.Timeout != 500*time.Millisecond || cfg.Redis.FailOpen {
				t.Errorf("Redis = %+v, want 127.0.0.1:6380, 500ms, fail closed", cfg.Redis)
			}
			if cfg.LoadBalancer != "zone-preference" || cfg.Zone != "eu-west-1a" {
				t.Errorf("LoadBalancer = %q, zone %q", cfg.LoadBalancer, cfg.Zone)
			}
			var got []string
			for _, p := range cfg.TrustedProxies {
				got = append(got, p.String())
			}
			if want := []string{"10.0.0.0/8", "192.168.1.7/32", "::1/128"}; !slices.Equal(got, want) {
				t.Errorf("TrustedProxies = %q, want %q", got, want)
			}
			if len(cfg.DefaultFilters) != 1 || len(cfg.Routes) != 1 {
				t.Errorf("got %d default filters and %d routes, want 1 and 1", len(cfg.DefaultFilters), len(cfg.Routes))
			}
		}},
	}
	files, _ := filepath.Glob("testdata/good/*.yml")
	if len(files) != len(tests) {
		t.Errorf("testdata/good has %d files, the table %d: add the new ones", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			cfg, g, err := loadConfig(t, filepath.Join("testdata", "good", tt.file))
			if err != nil {
				t.Fatalf("load %s:\n%v", tt.file, err)
			}
			tt.check(t, cfg, g)
		})
	}
}

// TestBadConfigs loads every testdata/bad file and compares the error with
// its .err file, which holds the exact text a user sees. Run
// go test ./gateway -run TestBadConfigs -update to rewrite them.
func TestBadConfigs(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/bad/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/bad/*.yml: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			_, _, err := loadConfig(t, file)
			if err == nil {
				t.Fatalf("load %s: no error", file)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./gateway -run TestBadConfigs -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("load %s:\ngot:\n%s\nwant:\n%s", file, got, want)
			}
		})
	}
}
