package registry

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-dev/switchboard/eureka"
)

// The banners of spec §7.2, verbatim.
const (
	dashEmergency = "EMERGENCY! EUREKA MAY BE INCORRECTLY CLAIMING INSTANCES ARE UP WHEN THEY'RE NOT. " +
		"RENEWALS ARE LESSER THAN THRESHOLD AND HENCE THE INSTANCES ARE NOT BEING EXPIRED JUST TO BE SAFE."
	dashBelowOff = "RENEWALS ARE LESSER THAN THE THRESHOLD. THE SELF PRESERVATION MODE IS TURNED OFF. " +
		"THIS MAY NOT PROTECT INSTANCE EXPIRY IN CASE OF NETWORK/OTHER PROBLEMS."
	dashOff = "THE SELF PRESERVATION MODE IS TURNED OFF. " +
		"THIS MAY NOT PROTECT INSTANCE EXPIRY IN CASE OF NETWORK/OTHER PROBLEMS."
)

func newDashClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 5, 29, 16, 26, 40, 0, time.UTC)}
}

func dashInstance(app, id, ip string) *eureka.Instance {
	return &eureka.Instance{
		App:            app,
		HostName:       ip,
		IPAddr:         ip,
		InstanceID:     id,
		DataCenterInfo: eureka.DataCenterInfo{Name: "MyOwn"},
		Status:         eureka.StatusUp,
		// Register refuses an empty overriddenStatus; decoders fill in UNKNOWN.
		OverriddenStatus: eureka.StatusUnknown,
		LeaseInfo:        eureka.LeaseInfo{RenewalIntervalInSecs: 30, DurationInSecs: 90},
		StatusPageURL:    "http://" + ip + ":8080/actuator/info",
	}
}

func newDashRegistry(t *testing.T, cfg Config) (*Registry, *fakeClock) {
	t.Helper()
	clock := newDashClock()
	r, err := New(cfg, WithClock(clock))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, clock
}

func dashRegister(t *testing.T, r *Registry, in *eureka.Instance) {
	t.Helper()
	if err := r.Register("", in, false); err != nil {
		t.Fatalf("Register(%s/%s): %v", in.App, in.InstanceID, err)
	}
}

// The instance of the tutorial that stops renewing.
const (
	dashSilentApp = "PAYMENTS"
	dashSilentID  = "10.0.0.31:payments:8080"
)

// dashTutorial plays the getting-started scenario by hand on a fake clock: a
// standalone registry opens with nothing synced (E=1), six instances register
// (E=7, T=11) and renew every 30 s; the renewal counter rolls and eviction
// runs every minute. After 3 minutes PAYMENTS' second instance stops renewing
// without cancelling. The registry is left 7 minutes after opening, when that
// lease has long expired. peers become Config.Peers, for the DS Replicas list.
func dashTutorial(t *testing.T, selfPreservation bool, peers ...string) (*Registry, *fakeClock) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.EnableSelfPreservation = selfPreservation
	cfg.Peers = peers
	r, clock := newDashRegistry(t, cfg)
	r.OpenForTraffic(0)

	type key struct{ app, id string }
	var all []key
	for i, app := range []string{"ORDERS", "USERS", dashSilentApp} {
		for j := range 2 {
			ip := fmt.Sprintf("10.0.0.%d", (i+1)*10+j)
			id := ip + ":" + strings.ToLower(app) + ":8080"
			dashRegister(t, r, dashInstance(app, id, ip))
			all = append(all, key{app, id})
		}
	}
	if got := r.threshold.Load(); got != 11 {
		t.Fatalf("threshold after 6 registrations = %d, want 11 (E=1+6=7, int(7*2*0.85))", got)
	}

	evicted := 0
	for now := 30 * time.Second; now <= 7*time.Minute; now += 30 * time.Second {
		clock.Advance(30 * time.Second)
		for _, k := range all {
			if k.id == dashSilentID && now > 3*time.Minute {
				continue
			}
			if _, err := r.Renew(k.app, k.id, RenewArgs{}); err != nil {
				t.Fatalf("at %v: Renew(%s, %s): %v", now, k.app, k.id, err)
			}
		}
		if now%time.Minute != 0 {
			continue
		}
		r.rollRenewals()
		evicted += r.evict()
		if now <= 3*time.Minute {
			if got := r.renewsLastMin.Load(); got != 12 {
				t.Fatalf("at %v: renewsLastMin = %d, want 12 (6 instances × 2)", now, got)
			}
			if !r.LeaseExpirationEnabled() {
				t.Fatalf("at %v: LeaseExpirationEnabled() = false with 12 renewals over a threshold of 11", now)
			}
		}
		if now == 5*time.Minute {
			// Exactly 5 minutes after opening is not "more than" the wait.
			if v := r.dashboardView(); v.BelowRenewThreshold {
				t.Errorf("at %v: BelowRenewThreshold = true before WaitTimeWhenSyncEmpty has passed", now)
			}
		}
	}

	if got := r.renewsLastMin.Load(); got != 10 {
		t.Errorf("renewsLastMin = %d, want 10 (5 instances × 2)", got)
	}
	_, err := r.Instance(dashSilentApp, dashSilentID)
	if selfPreservation {
		if evicted != 0 {
			t.Errorf("evict() removed %d leases in self-preservation, want 0", evicted)
		}
		if got := r.threshold.Load(); got != 11 {
			t.Errorf("threshold = %d, want 11", got)
		}
		if r.LeaseExpirationEnabled() {
			t.Errorf("LeaseExpirationEnabled() = true with renewsLastMin 10 <= threshold 11, want false")
		}
		if n := r.evict(); n != 0 {
			t.Errorf("evict() = %d in self-preservation, want 0", n)
		}
		if err != nil {
			t.Errorf("Instance(%s, %s) = %v; the expired instance should still be registered", dashSilentApp, dashSilentID, err)
		}
	} else {
		if evicted != 1 {
			t.Errorf("evict() removed %d leases without self-preservation, want 1", evicted)
		}
		if got := r.threshold.Load(); got != 10 {
			t.Errorf("threshold after the eviction = %d, want 10 (E=6, int(6*2*0.85))", got)
		}
		if !r.LeaseExpirationEnabled() {
			t.Errorf("LeaseExpirationEnabled() = false without self-preservation, want true")
		}
		if err == nil {
			t.Errorf("Instance(%s, %s) found; want it evicted", dashSilentApp, dashSilentID)
		}
	}
	return r, clock
}

func dashGet(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", url, resp.StatusCode)
	}
	return resp, string(body)
}

func dashServer(t *testing.T, r *Registry) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return srv
}

var dashBannerRE = regexp.MustCompile(`<h4 class="banner"><b>([^<]*)</b></h4>`)

// dashBanners returns the texts of the red banners on a page.
func dashBanners(body string) []string {
	var out []string
	for _, m := range dashBannerRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func wantDashBanner(t *testing.T, body, want string) {
	t.Helper()
	got := dashBanners(body)
	switch {
	case want == "" && len(got) != 0:
		t.Errorf("banners = %q, want none", got)
	case want != "" && (len(got) != 1 || got[0] != want):
		t.Errorf("banners = %q, want exactly [%q]", got, want)
	}
}

// wantDashContains checks for HTML as html/template writes it (it writes
// "+" as "&#43;").
func wantDashContains(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func TestDashboardSelfPreservation(t *testing.T) {
	t.Parallel()
	r, _ := dashTutorial(t, true)
	_, body := dashGet(t, dashServer(t, r).URL+"/")
	wantDashBanner(t, body, dashEmergency)
	wantDashContains(t, body,
		"<td>Environment</td><td>test</td>",
		"<td>Data center</td><td>default</td>",
		"<td>Current time</td><td>2024-05-29T16:33:40 &#43;0000</td>",
		"<td>Uptime</td><td>00:07</td>",
		"<td>Lease expiration enabled</td><td>false</td>",
		"<td>Renews threshold</td><td>11</td>",
		"<td>Renews (last min)</td><td>10</td>",
		"<td><b>PAYMENTS</b></td>",
		"<td><b>n/a</b> (2)</td>",
		"<td><b></b> (2)</td>",
		`<b>UP</b> (2) - <a href="http://10.0.0.30:8080/actuator/info" target="_blank" rel="noopener noreferrer">10.0.0.30:payments:8080</a>, `+
			`<a href="http://10.0.0.31:8080/actuator/info" target="_blank" rel="noopener noreferrer">10.0.0.31:payments:8080</a>`,
	)
	if i, j, k := strings.Index(body, "<b>ORDERS</b>"), strings.Index(body, "<b>PAYMENTS</b>"), strings.Index(body, "<b>USERS</b>"); !(i >= 0 && i < j && j < k) {
		t.Errorf("applications not sorted by name: ORDERS at %d, PAYMENTS at %d, USERS at %d", i, j, k)
	}
}

func TestDashboardSelfPreservationOff(t *testing.T) {
	t.Parallel()
	r, _ := dashTutorial(t, false)
	_, body := dashGet(t, dashServer(t, r).URL+"/")
	// One eviction took E to 6 and T to 10, and R is 10: still below.
	wantDashBanner(t, body, dashBelowOff)
	wantDashContains(t, body,
		"<td>Lease expiration enabled</td><td>true</td>",
		"<td>Renews threshold</td><td>10</td>",
		"<td>Renews (last min)</td><td>10</td>",
		"10.0.0.30:payments:8080",
	)
	if strings.Contains(body, dashSilentID) {
		t.Errorf("dashboard still lists evicted instance %s", dashSilentID)
	}
	_, lastn := dashGet(t, dashServer(t, r).URL+"/lastn")
	wantDashContains(t, lastn, "<tr><td>2024-05-29T16:31:40 &#43;0000</td><td>PAYMENTS(10.0.0.31:payments:8080)</td></tr>")
}

// TestDashboardBanner pins when each banner shows: isBelowRenewThreshold is
// R <= T, opened for traffic, and more than WaitTimeWhenSyncEmpty since.
func TestDashboardBanner(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		selfPreservation bool
		open             bool
		sinceOpen        time.Duration
		renews, thresh   int64
		want             string
	}{
		{"below, after the wait", true, true, 6 * time.Minute, 10, 11, dashEmergency},
		{"equal counts as below", true, true, 6 * time.Minute, 11, 11, dashEmergency},
		{"zero threshold, no renewals", true, true, 6 * time.Minute, 0, 0, dashEmergency},
		{"below, exactly at the wait", true, true, 5 * time.Minute, 10, 11, ""},
		{"below, within the wait", true, true, time.Minute, 10, 11, ""},
		{"below, never opened", true, false, 6 * time.Minute, 10, 11, ""},
		{"above", true, true, 6 * time.Minute, 12, 11, ""},
		{"off, below", false, true, 6 * time.Minute, 10, 11, dashBelowOff},
		{"off, above", false, true, 6 * time.Minute, 12, 11, dashOff},
		{"off, within the wait", false, true, time.Minute, 10, 11, dashOff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			cfg.EnableSelfPreservation = tt.selfPreservation
			r, clock := newDashRegistry(t, cfg)
			if tt.open {
				r.OpenForTraffic(0)
			}
			clock.Advance(tt.sinceOpen)
			r.threshold.Store(tt.thresh)
			r.renewsLastMin.Store(tt.renews)
			w := httptest.NewRecorder()
			r.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			wantDashBanner(t, w.Body.String(), tt.want)
		})
	}
}

func TestDashboardRefreshAndEscaping(t *testing.T) {
	t.Parallel()
	r, _ := newDashRegistry(t, DefaultConfig())
	r.OpenForTraffic(0)
	srv := dashServer(t, r)

	_, empty := dashGet(t, srv.URL+"/")
	wantDashContains(t, empty, `<tr><td colspan="4">No instances available</td></tr>`)

	evil := dashInstance("EVIL", `<script>alert(1)</script><img src=x onerror=alert(2)>`, "10.0.0.66")
	evil.StatusPageURL = `http://x/"><script>alert(3)</script>`
	evil.Metadata = map[string]string{"<script>": "<img src=x onerror=alert(4)>"}
	dashRegister(t, r, evil)
	js := dashInstance("EVIL", "js-link", "10.0.0.67")
	js.StatusPageURL = "javascript:alert(5)"
	dashRegister(t, r, js)
	down := dashInstance("EVIL", "down-1", "10.0.0.68")
	down.Status = eureka.StatusDown
	down.StatusPageURL = ""
	dashRegister(t, r, down)

	for _, path := range []string{"/", "/lastn"} {
		resp, body := dashGet(t, srv.URL+path)
		for h, want := range map[string]string{
			"Content-Type":           "text/html; charset=utf-8",
			"X-Content-Type-Options": "nosniff",
			"Cache-Control":          "no-store",
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, h, got, want)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.HasPrefix(csp, "default-src 'none'; ") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: Content-Security-Policy = %q, want default-src 'none' and nothing unsafe", path, csp)
		}
		// The inline style sheet must be exactly the one the CSP hash allows.
		_, css, _ := strings.Cut(body, "<style>")
		css, _, _ = strings.Cut(css, "</style>")
		sum := sha256.Sum256([]byte(css))
		if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
			t.Errorf("GET %s: Content-Security-Policy = %q, want it to allow the page's style sheet with %q", path, csp, want)
		}
		wantDashContains(t, body, `<meta http-equiv="refresh" content="5">`)
		for _, bad := range []string{"<script", "<img", "javascript:", "alert(3)</script>"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: page contains %q unescaped", path, bad)
			}
		}
		wantDashContains(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;")
	}

	_, body := dashGet(t, srv.URL+"/")
	wantDashContains(t, body,
		// The quote cannot end the attribute.
		`<a href="http://x/%22%3e%3cscript%3ealert%283%29%3c/script%3e" target="_blank" rel="noopener noreferrer">`,
		// Not an http URL: no link.
		"</a>, js-link</div>",
		`<span class="not-up"><b>DOWN</b> (1) - </span>down-1</div>`,
	)
}

func TestDashboardReplicas(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Peers = []string{"http://admin:s3cret@peer1:8761/eureka/", "http://peer2:8762/eureka/"}
	r, _ := newDashRegistry(t, cfg)
	r.OpenForTraffic(0)
	dashRegister(t, r, dashInstance("SWITCHBOARD", "peer2:switchboard:8762", "peer2"))
	_, body := dashGet(t, dashServer(t, r).URL+"/")
	if strings.Contains(body, "s3cret") || strings.Contains(body, "admin") {
		t.Errorf("dashboard shows peer credentials")
	}
	wantDashContains(t, body,
		`<li class="list-group-item"><a href="http://peer1:8761/eureka/">peer1</a></li>`,
		`<li class="list-group-item"><a href="http://peer2:8762/eureka/">peer2</a></li>`,
		"<tr><td>registered-replicas</td><td>http://peer1:8761/eureka/, http://peer2:8762/eureka/</td></tr>",
		"<tr><td>available-replicas</td><td>http://peer2:8762/eureka/,</td></tr>",
		"<tr><td>unavailable-replicas</td><td>http://peer1:8761/eureka/,</td></tr>",
		"<tr><td>ipAddr</td><td>127.0.0.1</td></tr>",
		"<tr><td>status</td><td>UP</td></tr>",
	)
	for _, name := range []string{"total-avail-memory", "num-of-cpus", "current-memory-usage", "server-uptime"} {
		wantDashContains(t, body, "<tr><td>"+name+"</td><td>")
	}
}

func TestDashboardLastN(t *testing.T) {
	t.Parallel()
	r, clock := newDashRegistry(t, DefaultConfig())
	r.OpenForTraffic(0)
	srv := dashServer(t, r)

	_, body := dashGet(t, srv.URL+"/lastn")
	if n := strings.Count(body, `<tr><td colspan="2">No results available</td></tr>`); n != 2 {
		t.Errorf("empty /lastn shows %d \"No results available\" rows, want 2", n)
	}

	dashRegister(t, r, dashInstance("ORDERS", "o-1", "10.0.0.1"))
	clock.Advance(time.Second)
	dashRegister(t, r, dashInstance("USERS", "u-1", "10.0.0.2"))
	clock.Advance(time.Second)
	if err := r.Cancel("ORDERS", "o-1", false); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	_, body = dashGet(t, srv.URL+"/lastn")
	wantDashContains(t, body,
		"<h2 id=\"cancelled\">Last 1000 cancelled leases</h2>",
		"<h2 id=\"registered\">Last 1000 newly registered leases</h2>",
		"<tbody>\n<tr><td>2024-05-29T16:26:42 &#43;0000</td><td>ORDERS(o-1)</td></tr>\n</tbody>",
		"<tbody>\n<tr><td>2024-05-29T16:26:41 &#43;0000</td><td>USERS(u-1)</td></tr>\n"+
			"<tr><td>2024-05-29T16:26:40 &#43;0000</td><td>ORDERS(o-1)</td></tr>\n</tbody>",
	)
}

// TestDashboardBrowser loads the self-preservation dashboard in headless
// Chromium: the banner as a user reads it, no script from instance data runs,
// the style sheet passes the CSP, and the page reloads itself.
func TestDashboardBrowser(t *testing.T) {
	t.Parallel()
	const chromium = "/usr/bin/chromium"
	if _, err := exec.LookPath(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found (apt-get install chromium): %v", chromium, err)
		}
		t.Skipf("%s not found; apt-get install chromium", chromium)
	}

	r, clock := dashTutorial(t, true, "http://admin:s3cret@peer1:8761/eureka/", "http://peer2:8762/eureka/")
	xss := dashInstance("<img src=x onerror=window.__xssApp=1>", `<script>window.__xssID=1</script><img src=x onerror="window.__xssImg=1">`, "10.0.0.66")
	xss.StatusPageURL = `http://x/"><script>window.__xssURL=1</script>`
	xss.Metadata = map[string]string{"<script>window.__xssKey=1</script>": "<img src=x onerror=window.__xssMeta=1>"}
	dashRegister(t, r, xss)
	down := dashInstance("INVENTORY", "10.0.0.41:inventory:8080", "10.0.0.41")
	down.Status = eureka.StatusDown
	dashRegister(t, r, down)
	srv := dashServer(t, r)

	userData := t.TempDir() // removed after the browser exits: cleanups run after defers
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(userData),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	defer cancelAlloc() // kills Chromium and waits for it
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(format string, args ...any) {
		// cdproto lags Chromium; events it cannot decode are noise here.
		if !strings.HasPrefix(format, "could not unmarshal event") {
			t.Logf("chromedp: "+format, args...)
		}
	}))
	defer cancelBrowser()
	defer func() {
		// Close Chromium gracefully so it reaps its own helper processes.
		if err := chromedp.Cancel(bctx); err != nil {
			t.Logf("closing Chromium: %v", err)
		}
	}()

	var banner, instances, navColor, html string
	var injected []string
	var elements int
	var png, lastnPNG []byte
	err := chromedp.Run(bctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.Text(".banner", &banner, chromedp.ByQuery),
		chromedp.Text("#instances", &instances, chromedp.ByQuery),
		chromedp.Evaluate(`Object.keys(window).filter(k => k.startsWith("__xss"))`, &injected),
		chromedp.Evaluate(`document.querySelectorAll("script, img, iframe, object").length`, &elements),
		chromedp.Evaluate(`getComputedStyle(document.querySelector(".navbar")).backgroundColor`, &navColor),
		chromedp.OuterHTML("html", &html, chromedp.ByQuery),
		chromedp.FullScreenshot(&png, 100),
	)
	if err != nil {
		t.Fatalf("loading the dashboard in Chromium: %v", err)
	}
	var lastn string
	err = chromedp.Run(bctx,
		chromedp.Navigate(srv.URL+"/lastn"),
		chromedp.Text("main", &lastn, chromedp.ByQuery),
		chromedp.FullScreenshot(&lastnPNG, 100),
		chromedp.Navigate(srv.URL+"/"),
	)
	if err != nil {
		t.Fatalf("loading /lastn in Chromium: %v", err)
	}
	if want := "PAYMENTS(10.0.0.31:payments:8080)"; !strings.Contains(lastn, want) {
		t.Errorf("/lastn does not show %q; it reads:\n%s", want, lastn)
	}
	if got := strings.TrimSpace(banner); got != dashEmergency {
		t.Errorf("banner text = %q, want %q", got, dashEmergency)
	}
	if len(injected) != 0 {
		t.Errorf("instance data ran script in the page: window has %q", injected)
	}
	if elements != 0 {
		t.Errorf("page has %d script/img/iframe/object elements, want 0: instance data became markup", elements)
	}
	for _, want := range []string{
		"<img src=x onerror=window.__xssApp=1>",
		`<script>window.__xssID=1</script><img src=x onerror="window.__xssImg=1">`,
		"10.0.0.31:payments:8080",
	} {
		if !strings.Contains(instances, want) {
			t.Errorf("instances table does not show %q literally; it reads:\n%s", want, instances)
		}
	}
	if strings.Contains(html, "s3cret") {
		t.Errorf("page shows a peer's password")
	}
	// The style sheet is inline and allowed by hash: if the CSP refused it,
	// the header bar would have no background.
	if navColor != "rgb(52, 48, 45)" {
		t.Errorf("header bar background = %q, want rgb(52, 48, 45): the CSP refused the style sheet?", navColor)
	}

	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating TEST_ARTIFACTS directory: %v", err)
	}
	for name, b := range map[string][]byte{"dashboard.png": png, "dashboard-lastn.png": lastnPNG} {
		shot := filepath.Join(dir, name)
		if err := os.WriteFile(shot, b, 0o644); err != nil {
			t.Fatalf("saving screenshot: %v", err)
		}
		t.Logf("screenshot: %s", shot)
	}

	// The page reloads itself: mark this document, move the clock, and wait
	// for a new document showing the new time.
	if err := chromedp.Run(bctx, chromedp.Evaluate(`window.__before = 1`, nil)); err != nil {
		t.Fatalf("marking the page: %v", err)
	}
	clock.Advance(time.Minute)
	want := clock.Now().Format(dashboardTimeLayout)
	deadline := time.Now().Add(3 * refreshSeconds * time.Second)
	for {
		var status string
		err := chromedp.Run(bctx, chromedp.Evaluate(`window.__before === undefined && document.readyState === "complete" `+
			`? document.querySelector("#status").innerText : ""`, &status))
		if err == nil && strings.Contains(status, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("page did not reload with the new time %q within %v (last error: %v)", want, 3*refreshSeconds*time.Second, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
