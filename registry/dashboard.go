package registry

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
)

// The dashboard copies Spring Cloud Netflix's (spec §7): the same sections,
// texts and self-preservation banners, so answers written for Spring's
// dashboard apply here. It differs in three ways: there are no external
// assets (the style sheet is inline and pinned by its hash in the
// Content-Security-Policy, which allows nothing else), the page reloads
// itself every refreshSeconds with a meta refresh (no script), and /lastn
// shows both lists one under the other instead of in tabs.

//go:embed templates
var templateFS embed.FS

// dashboardCSS is the style sheet, written inside <style> on every page.
var dashboardCSS = mustReadTemplate("templates/dashboard.css")

// dashboardTemplates holds status.html (GET /) and lastn.html (GET /lastn).
var dashboardTemplates = template.Must(template.New("").ParseFS(templateFS, "templates/*.html"))

// dashboardCSP allows the inline style sheet by hash and nothing else: no
// script, image, font, frame, form or connection. Instance ids, app names and
// URLs come from clients, so even a template bug cannot run their script.
var dashboardCSP = "default-src 'none'; style-src '" + cssHash(dashboardCSS) + "'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// refreshSeconds is how often the pages reload themselves.
const refreshSeconds = 5

// dashboardTimeLayout is Spring's yyyy-MM-dd'T'HH:mm:ss Z.
const dashboardTimeLayout = "2006-01-02T15:04:05 -0700"

func mustReadTemplate(name string) string {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func cssHash(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// page is what every dashboard page shows around its content.
type page struct {
	Title   string       // the registry's application name
	CSS     template.CSS // dashboardCSS; trusted, it is ours
	Refresh int          // seconds between reloads
}

// statusPage is everything GET / shows, copied out of the registry so the
// template runs without a lock.
type statusPage struct {
	page
	Environment, Datacenter string
	CurrentTime, Uptime     string
	LeaseExpirationEnabled  bool
	RenewsThreshold         int64
	RenewsLastMin           int64
	// BelowRenewThreshold and SelfPreservation choose the red banner, as
	// Spring's isBelowRenewThresold and selfPreservationModeEnabled do.
	BelowRenewThreshold bool
	SelfPreservation    bool
	Replicas            []replicaLink
	Apps                []appRow
	GeneralInfo         []nameValue
	InstanceInfo        []nameValue
}

type replicaLink struct{ Name, URL string }

// appRow is one line of "Instances currently registered with Eureka".
type appRow struct {
	Name     string
	AMIs     []nameCount
	Zones    []nameCount
	Statuses []statusGroup
}

type nameCount struct {
	Name  string
	Count int
}

type statusGroup struct {
	Status    eureka.Status
	Instances []instanceLink
}

// instanceLink is an instance id and, when its statusPageUrl is an http(s)
// URL, that URL.
type instanceLink struct{ ID, URL string }

type nameValue struct{ Name, Value string }

// lastNPage is what GET /lastn shows, newest first.
type lastNPage struct {
	page
	Cancelled  []lastNEntry
	Registered []lastNEntry
}

type lastNEntry struct{ Timestamp, Lease string }

// statusOrder is the order of status groups in a row. Spring's follows a
// hash map; we put UP first and the rest in a fixed order.
var statusOrder = [...]eureka.Status{eureka.StatusUp, eureka.StatusDown, eureka.StatusOutOfService,
	eureka.StatusStarting, eureka.StatusUnknown}

func (r *Registry) newPage() page {
	return page{Title: r.cfg.AppName, CSS: template.CSS(dashboardCSS), Refresh: refreshSeconds}
}

// dashboardView copies out what the dashboard shows. Like Spring's, it lists
// every lease, expired or not: in self-preservation those are exactly the
// instances the banner warns about.
func (r *Registry) dashboardView() *statusPage {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	r.mu.RLock()
	now := r.clock.Now()
	v := &statusPage{
		page:                   r.newPage(),
		Environment:            r.cfg.Environment,
		Datacenter:             r.cfg.Datacenter,
		CurrentTime:            now.Format(dashboardTimeLayout),
		Uptime:                 formatUptime(now.Sub(r.started)),
		LeaseExpirationEnabled: r.LeaseExpirationEnabled(),
		RenewsThreshold:        r.threshold.Load(),
		RenewsLastMin:          r.renewsLastMin.Load(),
		SelfPreservation:       r.cfg.EnableSelfPreservation,
	}
	v.BelowRenewThreshold = v.RenewsLastMin <= v.RenewsThreshold &&
		!r.opened.IsZero() && now.Sub(r.opened) > r.cfg.WaitTimeWhenSyncEmpty
	v.Apps = make([]appRow, 0, len(r.apps))
	for name, leases := range r.apps {
		v.Apps = append(v.Apps, appRowOf(name, leases))
	}
	registered, available, unavailable := r.replicaStatsLocked()
	r.mu.RUnlock()

	slices.SortFunc(v.Apps, func(a, b appRow) int { return strings.Compare(a.Name, b.Name) })
	peers := r.cfg.Peers
	if r.rep != nil {
		peers, _, _ = r.replicas()
	}
	for _, p := range peers {
		if l, ok := replicaLinkOf(p); ok {
			v.Replicas = append(v.Replicas, l)
		}
	}
	v.GeneralInfo = []nameValue{
		{"total-avail-memory", strconv.FormatUint(ms.Sys>>20, 10) + "mb"},
		{"num-of-cpus", strconv.Itoa(runtime.NumCPU())},
		{"current-memory-usage", memoryUsage(&ms)},
		{"server-uptime", v.Uptime},
		{"registered-replicas", registered},
		{"available-replicas", available},
		{"unavailable-replicas", unavailable},
	}
	self := r.self()
	v.InstanceInfo = []nameValue{
		{"ipAddr", self.IPAddr},
		{"status", string(self.Status)},
	}
	return v
}

// appRowOf counts one application's AMIs, zones and statuses as Spring's
// EurekaController does: AMI "n/a" and zone "" outside AWS.
func appRowOf(name string, leases map[string]*lease) appRow {
	amis := make(map[string]int)
	zones := make(map[string]int)
	byStatus := make(map[eureka.Status][]instanceLink)
	for _, l := range leases {
		in := l.holder
		ami, zone := "n/a", ""
		if in.DataCenterInfo.IsAmazon() {
			ami = in.DataCenterInfo.Metadata["ami-id"]
			zone = in.DataCenterInfo.Metadata["availability-zone"]
		}
		amis[ami]++
		zones[zone]++
		link := instanceLink{ID: in.ID()}
		if strings.HasPrefix(in.StatusPageURL, "http") {
			link.URL = in.StatusPageURL
		}
		byStatus[in.Status] = append(byStatus[in.Status], link)
	}
	row := appRow{Name: name, AMIs: sortedCounts(amis), Zones: sortedCounts(zones)}
	add := func(s eureka.Status) {
		links := byStatus[s]
		if len(links) == 0 {
			return
		}
		slices.SortFunc(links, func(a, b instanceLink) int { return strings.Compare(a.ID, b.ID) })
		row.Statuses = append(row.Statuses, statusGroup{Status: s, Instances: links})
		delete(byStatus, s)
	}
	for _, s := range statusOrder {
		add(s)
	}
	// Statuses outside Eureka's five cannot be registered, but show any anyway.
	rest := make([]eureka.Status, 0, len(byStatus))
	for s := range byStatus {
		rest = append(rest, s)
	}
	slices.Sort(rest)
	for _, s := range rest {
		add(s)
	}
	return row
}

func sortedCounts(m map[string]int) []nameCount {
	out := make([]nameCount, 0, len(m))
	for k, n := range m {
		out = append(out, nameCount{k, n})
	}
	slices.SortFunc(out, func(a, b nameCount) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// scrubURL removes user:password@ from a service URL.
func scrubURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, false
	}
	u.User = nil
	return u, true
}

// replicaLinkOf is a DS Replicas entry: the peer's host name, linked to its
// service URL, both without credentials. A peer that is not a URL is left
// out rather than shown with whatever secret it may hold.
func replicaLinkOf(peer string) (replicaLink, bool) {
	u, ok := scrubURL(peer)
	if !ok {
		return replicaLink{}, false
	}
	return replicaLink{Name: u.Hostname(), URL: u.String()}, true
}

// replicaStatsLocked returns the applicationStats of Eureka's StatusInfo:
// every peer URL, joined with ", ", then the available and the unavailable
// ones, each followed by ",". A peer is available when an instance of our own
// application runs on its host (by host name or IP address), as in Eureka's
// isReplicaAvailable; this is why peers that do not register with each
// other show as unavailable. URLs are shown without credentials. The caller
// holds r.mu.
func (r *Registry) replicaStatsLocked() (registered, available, unavailable string) {
	if r.rep != nil {
		// With replication running we know better: the last exchange.
		reg, up, down := r.replicas()
		return strings.Join(reg, ", "), joinComma(up), joinComma(down)
	}
	hosts := make(map[string]bool)
	for _, l := range r.apps[strings.ToUpper(r.cfg.AppName)] {
		hosts[strings.ToLower(l.holder.HostName)] = true
		hosts[l.holder.IPAddr] = true
	}
	var reg []string
	var up, down strings.Builder
	for _, p := range r.cfg.Peers {
		u, ok := scrubURL(p)
		if !ok {
			continue
		}
		s := u.String()
		reg = append(reg, s)
		if h := strings.ToLower(u.Hostname()); h != "" && hosts[h] {
			up.WriteString(s + ",")
		} else {
			down.WriteString(s + ",")
		}
	}
	return strings.Join(reg, ", "), up.String(), down.String()
}

// lastNView copies the event rings, newest first.
func (r *Registry) lastNView() *lastNPage {
	r.mu.RLock()
	loc := r.clock.Now().Location()
	v := &lastNPage{
		page:       r.newPage(),
		Cancelled:  lastNEntries(r.cancelled, loc),
		Registered: lastNEntries(r.registered, loc),
	}
	r.mu.RUnlock()
	return v
}

func lastNEntries(ring []Event, loc *time.Location) []lastNEntry {
	out := make([]lastNEntry, len(ring))
	for i, e := range ring {
		out[len(ring)-1-i] = lastNEntry{
			Timestamp: e.At.In(loc).Format(dashboardTimeLayout),
			Lease:     e.App + "(" + e.ID + ")",
		}
	}
	return out
}

func (r *Registry) serveDashboard(w http.ResponseWriter, req *http.Request) {
	r.renderPage(w, req, "status.html", r.dashboardView())
}

func (r *Registry) serveLastN(w http.ResponseWriter, req *http.Request) {
	r.renderPage(w, req, "lastn.html", r.lastNView())
}

// renderPage renders into a buffer first, so a template error gives a clean
// 500 rather than half a page.
func (r *Registry) renderPage(w http.ResponseWriter, req *http.Request, name string, data any) {
	var buf bytes.Buffer
	if err := dashboardTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		r.log.Error("dashboard render failed", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	if req.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// memoryUsage writes the heap in use as Eureka does: "203mb (55%)".
func memoryUsage(ms *runtime.MemStats) string {
	used := ms.HeapAlloc
	return strconv.FormatUint(used>>20, 10) + "mb (" + strconv.FormatUint(used*100/max(ms.Sys, 1), 10) + "%)"
}
