package registry_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-dev/switchboard/discovery"
	"github.com/switchboard-dev/switchboard/eureka"
	"github.com/switchboard-dev/switchboard/internal/springconf"
	"github.com/switchboard-dev/switchboard/internal/testenv"
	"github.com/switchboard-dev/switchboard/registry"
)

// Secrets of the secured test registry. Tests check that none of them ever
// comes back in an answer, a log line or an error.
const (
	adminUser    = "eureka"
	adminPass    = "admin-secret-1"
	ordersPass   = "orders-secret-2"
	paymentsPass = "payments-secret-3"
	ordersToken  = "orders-token-4"
	fullToken    = "full-token-5"
	wrongPass    = "wrong-secret-6"
)

var secrets = []string{adminPass, ordersPass, paymentsPass, ordersToken, fullToken, wrongPass}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

var (
	ordersBcryptOnce sync.Once
	ordersBcrypt     string
)

// secureConfig has an administrator (plain password), ORDERS's credentials
// (bcrypt), PAYMENTS's ({noop}), a token for ORDERS and a full-access token.
func secureConfig(t testing.TB) registry.Config {
	t.Helper()
	ordersBcryptOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(ordersPass), bcrypt.MinCost)
		if err != nil {
			panic(err)
		}
		ordersBcrypt = "{bcrypt}" + string(h)
	})
	cfg := registry.DefaultConfig()
	cfg.Security = registry.Security{
		User: registry.Credentials{Username: adminUser, Password: adminPass},
		Apps: map[string]registry.Credentials{
			"ORDERS":   {Username: "orders", Password: ordersBcrypt},
			"PAYMENTS": {Username: "payments", Password: "{noop}" + paymentsPass},
		},
		Tokens: []registry.Token{
			{Name: "orders-ci", Hash: tokenHash(ordersToken), Apps: []string{"orders"}},
			{Name: "ops", Hash: tokenHash(fullToken)},
		},
	}
	return cfg
}

// cred sets a request's credentials; nil sends none.
type cred func(*http.Request)

func basic(user, pass string) cred {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

func bearer(token string) cred {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func header(value string) cred {
	return func(r *http.Request) { r.Header.Set("Authorization", value) }
}

var (
	admin    = basic(adminUser, adminPass)
	orders   = basic("orders", ordersPass)
	payments = basic("payments", paymentsPass)
)

// call sends one request and returns the answer with its body read.
func call(t *testing.T, method, u, body string, c cred, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c != nil {
		c(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func expectCode(t *testing.T, want int, method, u, body string, c cred, hdr ...string) *http.Response {
	t.Helper()
	resp, got := call(t, method, u, body, c, hdr...)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %q, want %d", method, u, resp.StatusCode, got, want)
	}
	for _, s := range secrets {
		if strings.Contains(got, s) || strings.Contains(fmt.Sprint(resp.Header), s) {
			t.Errorf("%s %s: the answer holds the secret %q", method, u, s)
		}
	}
	return resp
}

func instanceJSON(app, id string) string {
	return fmt.Sprintf(`{"instance":{"instanceId":%q,"hostName":"h","app":%q,"ipAddr":"10.0.0.1","status":"UP",
"port":{"$":80,"@enabled":"true"},"leaseInfo":{"renewalIntervalInSecs":30,"durationInSecs":90},
"dataCenterInfo":{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"}}}`, id, app)
}

// write is one write to the Eureka API.
type write struct {
	name, method, path, body string
	hdr                      []string
}

// writesTo lists every kind of write to app's instance id.
func writesTo(app, id string) []write {
	batch := fmt.Sprintf(`{"replicationList":[{"appName":%q,"id":%q,"action":"Cancel"}]}`, app, id)
	return []write{
		{"register", "POST", "/apps/" + app, instanceJSON(app, id+"-new"), nil},
		{"re-register", "POST", "/apps/" + app, instanceJSON(app, id), nil},
		{"renew", "PUT", "/apps/" + app + "/" + id + "?status=UP", "", nil},
		{"status", "PUT", "/apps/" + app + "/" + id + "/status?value=OUT_OF_SERVICE", "", nil},
		{"delete status", "DELETE", "/apps/" + app + "/" + id + "/status?value=UP", "", nil},
		{"metadata", "PUT", "/apps/" + app + "/" + id + "/metadata?owner=mallory", "", nil},
		{"cancel", "DELETE", "/apps/" + app + "/" + id, "", nil},
		{"replicated cancel", "DELETE", "/apps/" + app + "/" + id, "", []string{"X-Netflix-Discovery-Replication", "true"}},
		{"batch", "POST", "/peerreplication/batch/", batch, nil},
	}
}

// counters reads the registry's write counters: with the version, they
// show whether anything changed.
func counters(t *testing.T, r *registry.Registry) string {
	t.Helper()
	mfs, err := r.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		switch mf.GetName() {
		case "switchboard_registry_registrations_total", "switchboard_registry_renewals_total", "switchboard_registry_cancels_total":
			fmt.Fprintf(&b, "%s=%v ", mf.GetName(), mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	v, _ := r.Version()
	fmt.Fprintf(&b, "version=%d", v)
	return b.String()
}

// TestWritesWithoutGoodCredentialsChangeNothing sends every write without
// credentials and with wrong ones: each gets 401 with Spring Security's Basic
// challenge, and the registry does not change.
func TestWritesWithoutGoodCredentialsChangeNothing(t *testing.T) {
	t.Parallel()
	cfg := secureConfig(t)
	reg := testenv.StartRegistry(t, &cfg)
	expectCode(t, 204, "POST", reg.URL+"/apps/ORDERS", instanceJSON("ORDERS", "o1"), admin)
	before := counters(t, reg.Registry)

	bad := map[string]cred{
		"none":                     nil,
		"wrong password":           basic(adminUser, wrongPass),
		"wrong user":               basic("mallory", adminPass),
		"app user, admin password": basic("orders", adminPass),
		"empty password":           basic(adminUser, ""),
		"not base64":               header("Basic %%%"),
		"no colon":                 header("Basic ZXVyZWth"),
		"wrong token":              bearer(wrongPass),
		"hash as token":            bearer(tokenHash(fullToken)),
		"password as token":        bearer(adminPass),
		"other scheme":             header("Digest username=\"eureka\""),
	}
	for _, w := range writesTo("ORDERS", "o1") {
		for name, c := range bad {
			resp := expectCode(t, 401, w.method, reg.URL+w.path, w.body, c, w.hdr...)
			if got := resp.Header.Values("WWW-Authenticate"); len(got) == 0 || got[0] != `Basic realm="eureka"` {
				t.Errorf("%s with %s credentials: WWW-Authenticate = %q, want Basic realm=\"eureka\" first", w.name, name, got)
			}
		}
	}
	if after := counters(t, reg.Registry); after != before {
		t.Errorf("refused writes changed the registry: %s, was %s", after, before)
	}
	if in := reg.Current("ORDERS", "o1"); in == nil || in.Status != eureka.StatusUp || in.Metadata["owner"] != "" {
		t.Errorf("ORDERS/o1 after refused writes = %+v, want it UP and unchanged", in)
	}
}

// TestWritesWithCredentials runs each write with each kind of credentials
// allowed to make it.
func TestWritesWithCredentials(t *testing.T) {
	t.Parallel()
	cfg := secureConfig(t)
	reg := testenv.StartRegistry(t, &cfg)
	for name, c := range map[string]cred{
		"admin":            admin,
		"full token":       bearer(fullToken),
		"app credentials":  orders,
		"app token":        bearer(ordersToken),
		"lower-case basic": header(strings.Replace(basicHeader("orders", ordersPass), "Basic", "basic", 1)),
	} {
		id := "o-" + strings.ReplaceAll(name, " ", "-")
		base := reg.URL + "/apps/orders/" + id
		expectCode(t, 204, "POST", reg.URL+"/apps/orders", instanceJSON("ORDERS", id), c)
		expectCode(t, 200, "PUT", base+"?status=UP", "", c)
		expectCode(t, 200, "PUT", base+"/status?value=OUT_OF_SERVICE", "", c)
		expectCode(t, 200, "DELETE", base+"/status?value=UP", "", c)
		expectCode(t, 200, "PUT", base+"/metadata?owner="+url.QueryEscape(name), "", c)
		if in := reg.Current("ORDERS", id); in == nil || in.Metadata["owner"] != name {
			t.Fatalf("%s: ORDERS/%s = %+v, want metadata owner=%s", name, id, in, name)
		}
		expectCode(t, 200, "DELETE", base, "", c)
		if reg.Current("ORDERS", id) != nil {
			t.Errorf("%s: ORDERS/%s still registered after cancel", name, id)
		}
	}
	// Reads stay open by default.
	expectCode(t, 200, "GET", reg.URL+"/apps", "", nil)
}

func basicHeader(user, pass string) string {
	r, _ := http.NewRequest("GET", "http://x/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

// TestAppCredentialsTouchOnlyTheirApp checks per-application credentials:
// ORDERS's may not register, renew, change or cancel PAYMENTS's instances
// (403), nor send replication, and nothing changes.
func TestAppCredentialsTouchOnlyTheirApp(t *testing.T) {
	t.Parallel()
	cfg := secureConfig(t)
	reg := testenv.StartRegistry(t, &cfg)
	expectCode(t, 204, "POST", reg.URL+"/apps/PAYMENTS", instanceJSON("PAYMENTS", "p1"), payments)
	expectCode(t, 204, "POST", reg.URL+"/apps/ORDERS", instanceJSON("ORDERS", "o1"), orders)
	before := counters(t, reg.Registry)

	for name, c := range map[string]cred{"ORDERS's credentials": orders, "ORDERS's token": bearer(ordersToken)} {
		for _, w := range writesTo("PAYMENTS", "p1") {
			resp := expectCode(t, 403, w.method, reg.URL+w.path, w.body, c, w.hdr...)
			if resp.Header.Get("WWW-Authenticate") != "" {
				t.Errorf("%s with %s: 403 carries a challenge", w.name, name)
			}
		}
		// Its own instance, but as replication: only peers replicate.
		expectCode(t, 403, "PUT", reg.URL+"/apps/ORDERS/o1", "", c, "X-Netflix-Discovery-Replication", "true")
		expectCode(t, 403, "POST", reg.URL+"/peerreplication/batch/",
			`{"replicationList":[{"appName":"ORDERS","id":"o1","action":"Heartbeat"}]}`, c)
	}
	if after := counters(t, reg.Registry); after != before {
		t.Errorf("refused writes changed the registry: %s, was %s", after, before)
	}
	if reg.Current("PAYMENTS", "p1") == nil {
		t.Fatal("PAYMENTS/p1 was cancelled with ORDERS's credentials")
	}
	// PAYMENTS's own credentials and the administrator may.
	expectCode(t, 200, "PUT", reg.URL+"/apps/PAYMENTS/p1", "", payments)
	expectCode(t, 200, "DELETE", reg.URL+"/apps/PAYMENTS/p1", "", admin)
	expectCode(t, 200, "DELETE", reg.URL+"/apps/ORDERS/o1", "", orders)
}

// TestReplicationNeedsPeerCredentials: the replication header and batches are
// honoured only from the administrator, a full-access token or a peer.
func TestReplicationNeedsPeerCredentials(t *testing.T) {
	t.Parallel()
	cfg := secureConfig(t)
	cfg.Security.Peers = registry.PeerCredentials{Token: "peer-token-7"}
	reg := testenv.StartRegistry(t, &cfg)
	batch := `{"replicationList":[{"appName":"ORDERS","id":"o1","action":"Register","lastDirtyTimestamp":1,"status":"UP",
"instanceInfo":` + strings.TrimSuffix(strings.TrimPrefix(instanceJSON("ORDERS", "o1"), `{"instance":`), "}") + `}]}`
	expectCode(t, 401, "POST", reg.URL+"/peerreplication/batch/", batch, nil)
	expectCode(t, 401, "POST", reg.URL+"/apps/ORDERS", instanceJSON("ORDERS", "o1"), nil, "X-Netflix-Discovery-Replication", "true")
	expectCode(t, 403, "POST", reg.URL+"/peerreplication/batch/", batch, orders)
	if reg.Current("ORDERS", "o1") != nil {
		t.Fatal("a refused batch registered ORDERS/o1")
	}
	for name, c := range map[string]cred{"peer token": bearer("peer-token-7"), "admin": admin, "full token": bearer(fullToken)} {
		expectCode(t, 200, "POST", reg.URL+"/peerreplication/batch/", batch, c)
		if reg.Current("ORDERS", "o1") == nil {
			t.Fatalf("batch with the %s registered nothing", name)
		}
		expectCode(t, 200, "DELETE", reg.URL+"/apps/ORDERS/o1", "", c, "X-Netflix-Discovery-Replication", "true")
	}
}

// TestReadsClosed: with reads authenticated, anonymous reads of the API,
// /metrics and the dashboard (it lists every instance) get 401; health stays
// open.
func TestReadsClosed(t *testing.T) {
	t.Parallel()
	cfg := secureConfig(t)
	cfg.Security.AuthenticatedReads = true
	reg := testenv.StartRegistry(t, &cfg)
	expectCode(t, 204, "POST", reg.URL+"/apps/ORDERS", instanceJSON("ORDERS", "o1"), admin)
	reads := []string{reg.URL + "/apps", reg.URL + "/apps/", reg.URL + "/v2/apps", reg.URL + "/apps/delta",
		reg.URL + "/apps/ORDERS", reg.URL + "/apps/ORDERS/o1", reg.URL + "/instances/o1", reg.URL + "/vips/orders",
		reg.URL + "/status", reg.URL + "/watch?version=0&wait=1ms", reg.Base + "/metrics", reg.Base + "/", reg.Base + "/lastn"}
	for _, u := range reads {
		resp := expectCode(t, 401, "GET", u, "", nil)
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s: 401 without WWW-Authenticate", u)
		}
		expectCode(t, 401, "GET", u, "", basic(adminUser, wrongPass))
		expectCode(t, 200, "GET", u, "", payments) // any valid credentials read
	}
	expectCode(t, 200, "GET", reg.Base+"/actuator/health", "", nil)

	open := testenv.StartRegistry(t, new(secureConfig(t)))
	expectCode(t, 200, "GET", open.URL+"/apps", "", nil)
	expectCode(t, 200, "GET", open.Base+"/metrics", "", nil)
	expectCode(t, 200, "GET", open.URL+"/apps", "", basic(adminUser, wrongPass)) // open reads ignore credentials
}

// TestDiscoveryClientWithCredentials runs the real client against a registry
// with closed reads: with the credentials in its defaultZone URL, or a token,
// it registers, renews, fetches and cancels; with wrong ones it gets nowhere.
func TestDiscoveryClientWithCredentials(t *testing.T) {
	t.Parallel()
	cfg := secureConfig(t)
	cfg.Security.AuthenticatedReads = true
	reg := testenv.StartRegistry(t, &cfg)
	host := strings.TrimPrefix(reg.Base, "http://")
	tests := []struct {
		name, serviceURL, token string
		works                   bool
	}{
		{"admin in defaultZone", "http://" + adminUser + ":" + adminPass + "@" + host + "/eureka/", "", true},
		{"app credentials in defaultZone", "http://orders:" + ordersPass + "@" + host + "/eureka/", "", true},
		{"app token", reg.URL + "/", ordersToken, true},
		{"wrong password in defaultZone", "http://orders:" + wrongPass + "@" + host + "/eureka/", "", false},
		{"no credentials", reg.URL + "/", "", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := discovery.DefaultConfig()
			c.ServiceURLs = []string{tt.serviceURL}
			c.Token = tt.token
			c.Instance.App = "orders"
			c.Instance.HostName = "127.0.0.1"
			c.Instance.IPAddr = "127.0.0.1"
			c.Instance.Port = 9000 + i
			c.Instance.LeaseRenewalInterval = 50 * time.Millisecond
			c.RegistryFetchInterval = 50 * time.Millisecond
			c.InitialRegistrationJitter = -1
			logs := &syncWriter{w: &bytes.Buffer{}}
			client, err := discovery.New(c, discovery.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			if err != nil {
				t.Fatalf("discovery.New: %v", err)
			}
			id := client.Instance().InstanceID
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- client.Run(ctx) }()
			var once sync.Once
			var runErr error
			stop := func() error {
				once.Do(func() { cancel(); runErr = <-done })
				return runErr
			}
			defer stop()
			if !tt.works {
				time.Sleep(300 * time.Millisecond) // six heartbeat intervals
				if in := reg.Current("ORDERS", id); in != nil {
					t.Errorf("registered with %s: %+v", tt.name, in)
				}
				if n := len(client.Instances("ORDERS")); n != 0 {
					t.Errorf("fetched %d instances with %s, want none", n, tt.name)
				}
				stop()
				if s := logs.String(); strings.Contains(s, wrongPass) {
					t.Errorf("client logs hold the password:\n%s", s)
				}
				return
			}
			renewals := func() float64 {
				mfs, _ := reg.Metrics().Gather()
				for _, mf := range mfs {
					if mf.GetName() == "switchboard_registry_renewals_total" {
						return mf.GetMetric()[0].GetCounter().GetValue()
					}
				}
				return 0
			}
			start := renewals()
			testenv.Eventually(t, 10*time.Second, func() error {
				if reg.Current("ORDERS", id) == nil {
					return fmt.Errorf("ORDERS/%s not registered", id)
				}
				if n := renewals() - start; n < 3 {
					return fmt.Errorf("%v heartbeats, want 3", n)
				}
				if len(client.Instances("ORDERS")) == 0 {
					return fmt.Errorf("the client's registry copy has no ORDERS")
				}
				return nil
			})
			if err := stop(); err != nil {
				t.Errorf("Run (cancel on shutdown): %v", err)
			}
			if in := reg.Current("ORDERS", id); in != nil {
				t.Errorf("ORDERS/%s still registered after the client cancelled", id)
			}
		})
	}
}

// syncWriter serialises writes from the client's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.w)
}

// TestSecretsStayOut checks that passwords and tokens show in no answer, log
// line, config dump or error: peer URLs with credentials on /eureka/status and
// the dashboard, refused requests in the debug log, Config printed with fmt
// and slog.
func TestSecretsStayOut(t *testing.T) {
	t.Parallel()
	cfg := secureConfig(t)
	cfg.Security.AuthenticatedReads = true
	cfg.Security.Peers = registry.PeerCredentials{Username: "peer", Password: "{noop}" + wrongPass}
	cfg.Peers = []string{"http://eureka:" + adminPass + "@10.0.0.9:8761/eureka/", "http://x:" + ordersPass + "@bad host/"}
	logs := &syncWriter{w: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := testenv.StartRegistry(t, &cfg, registry.WithLogger(log))

	expectCode(t, 401, "PUT", reg.URL+"/apps/ORDERS/o1", "", basic(adminUser, wrongPass))
	expectCode(t, 401, "GET", reg.URL+"/apps", "", bearer(ordersPass))
	expectCode(t, 403, "DELETE", reg.URL+"/apps/PAYMENTS/p1", "", orders)
	_, body := call(t, "GET", reg.URL+"/status", "", admin, "Accept", "application/json")
	if !strings.Contains(body, "10.0.0.9") {
		t.Errorf("/eureka/status does not list the peer: %s", body)
	}
	_, dash := call(t, "GET", reg.Base+"/", "", nil)
	dumps := []string{
		body, dash, logs.String(),
		// Config.Peers holds the defaultZone URLs as written, credentials
		// and all; Security prints without secrets.
		fmt.Sprintf("%v", cfg.Security), fmt.Sprintf("%+v", cfg.Security), fmt.Sprintf("%#v", cfg.Security),
		fmt.Sprintf("%v %+v %#v", cfg.Security.Apps, cfg.Security.User, cfg.Security.Peers),
	}
	var out bytes.Buffer
	slog.New(slog.NewJSONHandler(&out, nil)).Info("config", "user", cfg.Security.User, "peers", cfg.Security.Peers, "apps", cfg.Security.Apps)
	dumps = append(dumps, out.String())
	for i, d := range dumps {
		for _, s := range secrets {
			if strings.Contains(d, s) {
				t.Errorf("output %d holds the secret %q:\n%s", i, s, d)
			}
		}
	}
	if !strings.Contains(fmt.Sprintf("%v", cfg.Security.User), adminUser) {
		t.Errorf("Credentials print without their user name: %v", cfg.Security.User)
	}
}

// TestBindSecurity binds every key from a Spring file.
func TestBindSecurity(t *testing.T) {
	t.Parallel()
	yml := `
spring:
  security:
    user:
      name: eureka
      password: "{noop}` + adminPass + `"
      roles: ADMIN
switchboard:
  registry:
    security:
      reads: AUTHENTICATED
      apps:
        orders:
          username: orders
          password: "` + ordersBcrypt0 + `"
        "[payments-v2]":
          username: payments
          password: ` + paymentsPass + `
      tokens:
        - name: ci
          hash: ` + tokenHash(ordersToken) + `
          apps: [orders, payments-v2]
        - hash: ` + tokenHash(fullToken) + `
      peers:
        token: peer-token
`
	p, err := springconf.Parse("application.yml", []byte(yml), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := registry.Bind(p)
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	sec := s.Config.Security
	if sec.User != (registry.Credentials{Username: "eureka", Password: "{noop}" + adminPass}) {
		t.Errorf("User = %#v", sec.User)
	}
	if !sec.AuthenticatedReads {
		t.Error("AuthenticatedReads = false, want true")
	}
	if got := sec.Apps["ORDERS"]; got.Username != "orders" || got.Password != ordersBcrypt0 {
		t.Errorf("Apps[ORDERS] = %#v", got)
	}
	if got := sec.Apps["PAYMENTS-V2"]; got.Username != "payments" || got.Password != paymentsPass {
		t.Errorf("Apps[PAYMENTS-V2] = %#v (apps: %v)", got, sec.Apps)
	}
	if len(sec.Tokens) != 2 || sec.Tokens[0].Name != "ci" || sec.Tokens[0].Hash != tokenHash(ordersToken) ||
		fmt.Sprint(sec.Tokens[0].Apps) != "[orders payments-v2]" || len(sec.Tokens[1].Apps) != 0 {
		t.Errorf("Tokens = %+v", sec.Tokens)
	}
	if sec.Peers.Token != "peer-token" {
		t.Errorf("Peers.Token not bound")
	}
	if _, err := registry.New(s.Config); err != nil {
		t.Errorf("New with the bound config: %v", err)
	}

	// A password alone gets Spring's user name; nothing configured is off.
	p, _ = springconf.Parse("application.yml", []byte("spring.security.user.password: x\n"), nil)
	if s, err := registry.Bind(p); err != nil || s.Config.Security.User.Username != "user" {
		t.Errorf("password alone: user %q, %v; want user \"user\"", s.Config.Security.User.Username, err)
	}
	p, _ = springconf.Parse("application.yml", []byte("server.port: 8761\n"), nil)
	if s, err := registry.Bind(p); err != nil || s.Config.Security.Enabled() {
		t.Errorf("no security keys: Enabled = %v, %v; want false", s.Config.Security.Enabled(), err)
	}
}

// ordersBcrypt0 is a bcrypt hash (cost 4) of ordersPass, for config files.
const ordersBcrypt0 = "{bcrypt}$2a$04$fa4WdOkZb5Tir6M.gL2GUOINWQZtOwix2YjRy00KJEqqONq9TUsnq"

// TestBindSecurityErrors: every mistake is reported at once, with its key,
// and no message repeats a secret.
func TestBindSecurityErrors(t *testing.T) {
	t.Parallel()
	yml := `
spring:
  security:
    user:
      name: eureka
      pasword: ` + adminPass + `
switchboard:
  registry:
    security:
      reads: closed
      apps:
        orders:
          username: orders
          password: "{sha256}` + ordersPass + `"
        payments:
          username: payments
        billing:
          username: billing
          password: "{bcrypt}` + paymentsPass + `"
        empty:
          username: empty
          password: ""
      tokens:
        - hash: ` + ordersToken + `
        - name: nohash
          apps: [orders]
        - hash: sha256:zz` + strings.Repeat("0", 62) + `
      peers:
        username: peer
        password: "` + ordersBcrypt0 + `"
`
	p, err := springconf.Parse("application.yml", []byte(yml), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = registry.Bind(p)
	if err == nil {
		t.Fatal("Bind accepted a bad security config")
	}
	msg := err.Error()
	for _, want := range []string{
		"application.yml:5: spring.security.user.name: set without spring.security.user.password",
		"spring.security.user.pasword: unknown key; did you mean spring.security.user.password?",
		`switchboard.registry.security.reads: "closed" is not allowed; want one of open, authenticated`,
		"switchboard.registry.security.apps.orders.password: starts with an encoding other than {bcrypt} or {noop}",
		"application.yml:16: switchboard.registry.security.apps.payments: no password",
		"switchboard.registry.security.apps.billing.password: {bcrypt} is not followed by a bcrypt hash",
		"switchboard.registry.security.apps.empty.password: empty",
		"switchboard.registry.security.tokens[0].hash: want \"sha256:\"",
		"switchboard.registry.security.tokens[1]: no hash",
		"switchboard.registry.security.tokens[2].hash: want \"sha256:\" and the 64 hex digits of the token's SHA-256; found a character",
		"switchboard.registry.security.peers.password: peers send this password",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q; got:\n%s", want, msg)
		}
	}
	for _, unwanted := range []string{
		"peers.username: set without", // the password is there, only hashed
	} {
		if strings.Contains(msg, unwanted) {
			t.Errorf("errors hold %q; got:\n%s", unwanted, msg)
		}
	}
	for _, s := range append(secrets, strings.TrimPrefix(ordersBcrypt0, "{bcrypt}")) {
		if strings.Contains(msg, s) {
			t.Errorf("errors repeat the secret %q:\n%s", s, msg)
		}
	}
}

// TestNewRejectsBadSecurity: programmatic configs are checked by New.
func TestNewRejectsBadSecurity(t *testing.T) {
	t.Parallel()
	for name, sec := range map[string]registry.Security{
		"reads without credentials": {AuthenticatedReads: true},
		"user without password":     {User: registry.Credentials{Username: "eureka"}},
		"bad token hash":            {Tokens: []registry.Token{{Hash: fullToken}}},
		"hashed peer password":      {Peers: registry.PeerCredentials{Username: "p", Password: ordersBcrypt0}},
		"peer token and password":   {Peers: registry.PeerCredentials{Username: "p", Password: "x", Token: "t"}},
	} {
		cfg := registry.DefaultConfig()
		cfg.Security = sec
		_, err := registry.New(cfg)
		if err == nil {
			t.Errorf("%s: New accepted it", name)
			continue
		}
		if strings.Contains(err.Error(), fullToken) {
			t.Errorf("%s: error repeats the token: %v", name, err)
		}
	}
}

// discardWriter is a ResponseWriter that keeps only the status code.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// heartbeat returns a handler with one ORDERS instance and a heartbeat
// request for it carrying c.
func heartbeat(tb testing.TB, cfg registry.Config, c cred) (http.Handler, *http.Request) {
	tb.Helper()
	r, err := registry.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	r.OpenForTraffic(0)
	in := &eureka.Instance{InstanceID: "h:orders:80", HostName: "h", App: "ORDERS", IPAddr: "10.0.0.1",
		Status: eureka.StatusUp, DataCenterInfo: eureka.DataCenterInfo{Name: "MyOwn"}}
	if err := r.Register("ORDERS", in, false); err != nil {
		tb.Fatal(err)
	}
	req := httptest.NewRequest("PUT", "/eureka/apps/ORDERS/h:orders:80?status=UP&lastDirtyTimestamp=1", nil)
	if c != nil {
		c(req)
	}
	return r.Handler(), req
}

var heartbeatCases = []struct {
	name string
	cred cred
	sec  bool
}{
	{"open", nil, false},
	{"basic-plain", admin, true},
	{"basic-bcrypt", orders, true},
	{"bearer", bearer(ordersToken), true},
}

// TestAuthenticatedRenewDoesNotAllocate pins the heartbeat path with
// credentials: once verified, they are found in the cache without
// allocating, whether the password was plain or bcrypt.
func TestAuthenticatedRenewDoesNotAllocate(t *testing.T) {
	for _, tc := range heartbeatCases {
		cfg := registry.DefaultConfig()
		if tc.sec {
			cfg = secureConfig(t)
		}
		h, req := heartbeat(t, cfg, tc.cred)
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req) // verifies and caches
		if n := testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, req) }); n != 0 || w.code != 200 {
			t.Errorf("%s: PUT renew: %v allocations, status %d; want 0 and 200", tc.name, n, w.code)
		}
	}
}

// BenchmarkRenewAuthenticated measures a heartbeat through the handler with
// each kind of credentials, against none; and, for scale, one uncached bcrypt
// comparison at Spring's default cost (10), which the cache saves.
func BenchmarkRenewAuthenticated(b *testing.B) {
	for _, tc := range heartbeatCases {
		b.Run(tc.name, func(b *testing.B) {
			cfg := registry.DefaultConfig()
			if tc.sec {
				cfg = secureConfig(b)
			}
			h, req := heartbeat(b, cfg, tc.cred)
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, req)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
			if w.code != 200 {
				b.Fatalf("renew answered %d", w.code)
			}
		})
	}
	b.Run("bcrypt-cost-10-uncached", func(b *testing.B) {
		hash, err := bcrypt.GenerateFromPassword([]byte(ordersPass), bcrypt.DefaultCost)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := bcrypt.CompareHashAndPassword(hash, []byte(ordersPass)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDiscoveryConfigErrorsHideCredentials: the client's config errors name
// bad service URLs without their credentials, and a malformed token without
// repeating it.
func TestDiscoveryConfigErrorsHideCredentials(t *testing.T) {
	t.Parallel()
	cfg := discovery.DefaultConfig()
	cfg.RegisterWithEureka = false
	cfg.ServiceURLs = []string{"ftp://eureka:" + adminPass + "@host/eureka/", "http://eureka:" + ordersPass + "@host:87 61/eureka/"}
	cfg.Token = fullToken + "\n"
	_, err := discovery.New(cfg)
	if err == nil {
		t.Fatal("discovery.New accepted bad service URLs and token")
	}
	for _, want := range []string{`"ftp://host/eureka/"`, `"http://host:87 61/eureka/"`, "Token: holds a space or a control character"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error holds the secret %q: %v", s, err)
		}
	}
}
