package discovery

import (
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
)

func inst(app, id string, status eureka.Status, action eureka.ActionType) *eureka.Instance {
	return &eureka.Instance{
		InstanceID: id, App: app, HostName: "h-" + id, IPAddr: "10.0.0.1", Status: status,
		ActionType: action, VIPAddress: strings.ToLower(app), SecureVIPAddress: strings.ToLower(app) + "-s,shared",
		LastUpdatedTimestamp: 1, LastDirtyTimestamp: 1,
	}
}

func doc(apps ...*eureka.Instance) *eureka.Applications {
	d := &eureka.Applications{}
	for _, in := range apps {
		d.Applications = append(d.Applications, &eureka.Application{Name: in.App, Instances: []*eureka.Instance{in}})
	}
	return d
}

// ids lists app/id=STATUS of every instance of a snapshot, sorted.
func ids(s *snapshot) []string {
	var out []string
	for app, e := range s.apps.all() {
		for id, in := range e.instances {
			out = append(out, app+"/"+id+"="+string(in.Status))
		}
	}
	slices.Sort(out)
	return out
}

func TestApplyDelta(t *testing.T) {
	t.Parallel()
	base := newSnapshot(fromFull(doc(inst("A", "a1", eureka.StatusUp, ""), inst("A", "a2", eureka.StatusUp, ""), inst("B", "b1", eureka.StatusDown, ""))), 1, true)
	renewed := inst("A", "a1", eureka.StatusUp, eureka.ActionModified)
	renewed.LeaseInfo.LastRenewalTimestamp = 99
	moved := inst("A", "a1", eureka.StatusUp, eureka.ActionModified)
	moved.IPAddr = "10.0.0.2"
	moved.LastUpdatedTimestamp = 2
	tests := []struct {
		name  string
		delta *eureka.Applications
		want  []string // nil: nothing changed
	}{
		{"empty delta changes nothing", doc(), nil},
		{"added instance", doc(inst("C", "c1", eureka.StatusUp, eureka.ActionAdded)),
			[]string{"A/a1=UP", "A/a2=UP", "B/b1=DOWN", "C/c1=UP"}},
		{"modified status", doc(inst("B", "b1", eureka.StatusUp, eureka.ActionModified)),
			[]string{"A/a1=UP", "A/a2=UP", "B/b1=UP"}},
		{"deleted instance", doc(inst("A", "a2", eureka.StatusUp, eureka.ActionDeleted)),
			[]string{"A/a1=UP", "B/b1=DOWN"}},
		{"last instance deleted drops the app", doc(inst("B", "b1", eureka.StatusDown, eureka.ActionDeleted)),
			[]string{"A/a1=UP", "A/a2=UP"}},
		{"deleting an unknown instance changes nothing", doc(inst("A", "zz", eureka.StatusUp, eureka.ActionDeleted)), nil},
		{"re-applying a known change changes nothing", doc(inst("A", "a1", eureka.StatusUp, eureka.ActionAdded)), nil},
		{"a renewal alone changes nothing", doc(renewed), nil},
		{"a new address is a change", doc(moved), []string{"A/a1=UP", "A/a2=UP", "B/b1=DOWN"}},
		{"added then deleted in one delta", doc(inst("C", "c1", eureka.StatusUp, eureka.ActionAdded), inst("C", "c1", eureka.StatusUp, eureka.ActionDeleted)),
			[]string{"A/a1=UP", "A/a2=UP", "B/b1=DOWN"}},
		{"app name from the application when the instance has none",
			&eureka.Applications{Applications: []*eureka.Application{{Name: "d", Instances: []*eureka.Instance{{InstanceID: "d1", Status: eureka.StatusUp, ActionType: eureka.ActionAdded}}}}},
			[]string{"A/a1=UP", "A/a2=UP", "B/b1=DOWN", "D/d1=UP"}},
	}
	before := ids(base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := base.deltaEdits(tt.delta)
			if tt.want == nil {
				if len(e) != 0 {
					t.Errorf("deltaEdits = %v, want no change", e)
				}
				return
			}
			next := base.next(e, 2, true)
			if got := ids(next); !slices.Equal(got, tt.want) {
				t.Errorf("after the delta: %v, want %v", got, tt.want)
			}
			if got := ids(base); !slices.Equal(got, before) {
				t.Errorf("applying the delta changed the snapshot before: %v, was %v", got, before)
			}
			checkSnapshot(t, next, true)
		})
	}
	next := base.next(base.deltaEdits(doc(moved)), 2, true)
	if ip := next.instances("A")["a1"].IPAddr; ip != "10.0.0.2" {
		t.Errorf("after a MODIFIED delta, a1's address is %s, want 10.0.0.2", ip)
	}
}

// checkSnapshot compares s with a snapshot built from nothing out of the
// same instances: every view, index and count kept by changes must be what
// a fresh build gives.
func checkSnapshot(t *testing.T, s *snapshot, upOnly bool) {
	t.Helper()
	all := map[string]map[string]*eureka.Instance{}
	for app, e := range s.apps.all() {
		all[app] = e.instances
	}
	fresh := newSnapshot(all, s.doc.VersionsDelta, upOnly)
	if s.hash != fresh.hash || s.doc.AppsHashcode != fresh.hash || s.counts != fresh.counts {
		t.Errorf("hash %q (document %q, counts %v), a fresh build's %q (%v)", s.hash, s.doc.AppsHashcode, s.counts, fresh.hash, fresh.counts)
	}
	docIDs := func(d *eureka.Applications) []string {
		var out []string
		for _, a := range d.Applications {
			for _, in := range a.Instances {
				out = append(out, a.Name+"/"+in.ID())
			}
		}
		return out
	}
	if got, want := docIDs(s.doc), docIDs(fresh.doc); !slices.Equal(got, want) {
		t.Errorf("Applications lists %v, a fresh build %v", got, want)
	}
	sorted := func(list []*eureka.Instance) []string {
		var out []string
		for _, in := range list {
			out = append(out, in.App+"/"+in.ID())
		}
		slices.Sort(out)
		return out
	}
	for app := range all {
		if got, want := sorted(s.view(app)), sorted(fresh.view(app)); !slices.Equal(got, want) {
			t.Errorf("view of %s = %v, a fresh build's %v", app, got, want)
		}
	}
	for _, x := range []struct {
		name      string
		got, want vipIndex
	}{{"VIP", s.byVIP, fresh.byVIP}, {"secure VIP", s.bySVIP, fresh.bySVIP}} {
		if got, want := maps.Collect(x.got.owners.all()), maps.Collect(x.want.owners.all()); !maps.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s owners = %v, a fresh build's %v", x.name, got, want)
		}
		if x.got.views.len() != x.want.views.len() || x.got.owners.len() != x.want.owners.len() {
			t.Errorf("%s index has %d names (%d owned), a fresh build %d (%d)", x.name, x.got.views.len(), x.got.owners.len(), x.want.views.len(), x.want.owners.len())
		}
		for name, list := range x.want.views.all() {
			if got, want := sorted(x.got.lookup(name)), sorted(list); !slices.Equal(got, want) {
				t.Errorf("%s view of %s = %v, a fresh build's %v", x.name, name, got, want)
			}
		}
	}
}

// TestNextMatchesAFreshBuild applies random deltas one after another and
// checks each snapshot against one built from nothing.
func TestNextMatchesAFreshBuild(t *testing.T) {
	t.Parallel()
	for _, upOnly := range []bool{true, false} {
		rng := rand.New(rand.NewPCG(7, 8))
		statuses := eureka.Statuses
		s := emptySnapshot()
		for step := range 400 {
			var d []*eureka.Instance
			for range 1 + rng.IntN(3) {
				app := "APP" + strconv.Itoa(rng.IntN(5))
				in := inst(app, app+"-"+strconv.Itoa(rng.IntN(4)), statuses[rng.IntN(len(statuses))], eureka.ActionModified)
				// Some applications share a VIP, some list two.
				switch rng.IntN(3) {
				case 0:
					in.VIPAddress = "shared"
				case 1:
					in.VIPAddress = strings.ToLower(app) + ",both"
				}
				if rng.IntN(4) == 0 {
					in.ActionType = eureka.ActionDeleted
				}
				d = append(d, in)
			}
			if e := s.deltaEdits(doc(d...)); len(e) > 0 {
				s = s.next(e, int64(step), upOnly)
			}
			checkSnapshot(t, s, upOnly)
			if t.Failed() {
				t.Fatalf("upOnly %v: step %d differs from a fresh build", upOnly, step)
			}
		}
	}
}

// entry returns app's entry in s, or nil.
func entry(s *snapshot, app string) *appEntry {
	e, _ := s.apps.get(app)
	return e
}

// TestNextSharesUntouchedApplications pins what makes a change cheap: the
// applications a delta does not touch keep their entries, views and
// documents, and so do the VIP views only they make up.
func TestNextSharesUntouchedApplications(t *testing.T) {
	t.Parallel()
	prev := newSnapshot(fromFull(doc(inst("A", "a1", eureka.StatusUp, ""), inst("B", "b1", eureka.StatusUp, ""), inst("C", "c1", eureka.StatusUp, ""))), 1, true)
	next := prev.next(prev.deltaEdits(doc(inst("B", "b2", eureka.StatusUp, eureka.ActionAdded))), 2, true)
	for _, app := range []string{"A", "C"} {
		if entry(next, app) != entry(prev, app) {
			t.Errorf("entry of untouched %s rebuilt", app)
		}
		if &next.view(app)[0] != &prev.view(app)[0] {
			t.Errorf("view of untouched %s rebuilt", app)
		}
		if &next.byVIP.lookup(app)[0] != &prev.byVIP.lookup(app)[0] {
			t.Errorf("VIP view of untouched %s rebuilt", app)
		}
	}
	if next.doc.Applications[0] != prev.doc.Applications[0] || next.doc.Applications[2] != prev.doc.Applications[2] {
		t.Error("Applications entries of untouched A and C rebuilt")
	}
	if entry(next, "B") == entry(prev, "B") || len(next.view("B")) != 2 || len(next.byVIP.lookup("B")) != 2 {
		t.Errorf("B not rebuilt with b2: view %d, VIP view %d", len(next.view("B")), len(next.byVIP.lookup("B")))
	}
	if len(prev.view("B")) != 1 || len(prev.doc.Applications[1].Instances) != 1 {
		t.Error("the snapshot before the delta changed")
	}
	// SHARED lists every application, so any change rebuilds it.
	if len(next.bySVIP.lookup("SHARED")) != 4 || len(prev.bySVIP.lookup("SHARED")) != 3 {
		t.Errorf("secure VIP SHARED: %d instances after, %d before; want 4 and 3", len(next.bySVIP.lookup("SHARED")), len(prev.bySVIP.lookup("SHARED")))
	}
}

// TestSameInstanceCoversEveryField guards sameInstance against fields added
// to eureka.Instance later: every field but the lease and the action type
// must make two instances differ.
func TestSameInstanceCoversEveryField(t *testing.T) {
	t.Parallel()
	ignored := map[string]bool{"LeaseInfo": true, "ActionType": true}
	typ := reflect.TypeFor[eureka.Instance]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		a := inst("A", "a1", eureka.StatusUp, "")
		a.Metadata = map[string]string{"k": "v"}
		b := a.Clone()
		fv := reflect.ValueOf(b).Elem().Field(i)
		changeValue(t, fv)
		if got := sameInstance(a, b); got != ignored[f.Name] {
			t.Errorf("sameInstance with only %s changed = %v, want %v", f.Name, got, ignored[f.Name])
		}
	}
}

// changeValue sets v to a value that differs from what it holds.
func changeValue(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Int, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Map:
		v.Set(reflect.ValueOf(map[string]string{"other": "value"}))
	case reflect.Struct:
		for i := range v.NumField() {
			changeValue(t, v.Field(i))
		}
	default:
		t.Fatalf("no way to change a %s; extend changeValue", v.Kind())
	}
}

func TestSnapshotViews(t *testing.T) {
	t.Parallel()
	all := fromFull(doc(inst("A", "a1", eureka.StatusUp, ""), inst("A", "a2", eureka.StatusDown, ""), inst("B", "b1", eureka.StatusUp, "")))
	up := newSnapshot(all, 7, true)
	if got := len(up.view("A")); got != 1 {
		t.Errorf("UP-only view of A has %d instances, want 1", got)
	}
	if got := len(up.byVIP.lookup("A")); got != 1 {
		t.Errorf("UP-only VIP view of a has %d instances, want 1", got)
	}
	if got := len(up.bySVIP.lookup("SHARED")); got != 2 {
		t.Errorf("secure VIP view of shared has %d instances, want 2 (a1, b1)", got)
	}
	if up.hash != "DOWN_1_UP_2_" || up.doc.AppsHashcode != up.hash {
		t.Errorf("hash = %q (document %q), want DOWN_1_UP_2_ over every status", up.hash, up.doc.AppsHashcode)
	}
	if up.doc.VersionsDelta != 7 || len(up.doc.Applications) != 2 || up.doc.Applications[0].Name != "A" ||
		len(up.doc.Applications[0].Instances) != 2 || up.doc.Applications[0].Instances[0].InstanceID != "a1" {
		t.Errorf("Applications document is not every instance, sorted: %+v", up.doc)
	}
	every := newSnapshot(all, 7, false)
	if got := len(every.view("A")); got != 2 {
		t.Errorf("unfiltered view of A has %d instances, want 2", got)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	const interval = time.Second
	tests := []struct {
		failures int
		min, max time.Duration
	}{
		{0, interval, interval},
		{1, interval, 2 * interval},
		{2, 2 * interval, 4 * interval},
		{3, 4 * interval, 8 * interval},
		{4, 5 * interval, 10 * interval},
		{50, 5 * interval, 10 * interval},
	}
	for _, tt := range tests {
		for range 100 {
			if d := backoff(interval, tt.failures, 10); d < tt.min || d > tt.max {
				t.Fatalf("backoff(1s, %d, 10) = %v, want within [%v, %v]", tt.failures, d, tt.min, tt.max)
			}
		}
	}
}

func TestParseServiceURLs(t *testing.T) {
	t.Parallel()
	list, err := parseServiceURLs([]string{"http://a:8761/eureka/, https://user:p%40ss@b:8443/eureka", " http://c/eureka "})
	if err != nil {
		t.Fatalf("parseServiceURLs: %v", err)
	}
	var got []string
	for _, s := range list {
		got = append(got, s.base+" "+s.user+" "+s.password)
	}
	want := []string{"http://a:8761/eureka  ", "https://b:8443/eureka user p@ss", "http://c/eureka  "}
	if !slices.Equal(got, want) {
		t.Errorf("parseServiceURLs = %q, want %q", got, want)
	}
	_, err = parseServiceURLs([]string{"localhost:8761", "ftp://x/eureka", "http://ok/eureka"})
	if err == nil || !strings.Contains(err.Error(), `ServiceURLs[0]: "localhost:8761"`) || !strings.Contains(err.Error(), `ServiceURLs[1]: "ftp://x/eureka"`) {
		t.Errorf("parseServiceURLs with two bad URLs: %v, want both named", err)
	}
}

func TestServersFailover(t *testing.T) {
	t.Parallel()
	list, _ := parseServiceURLs([]string{"http://a/eureka,http://b/eureka,http://c/eureka"})
	s := newServers(list, time.Hour)
	first := s.pick(make([]bool, 3))
	if again := s.pick(make([]bool, 3)); again != first {
		t.Fatalf("pick moved from server %d to %d without a failure", first, again)
	}
	s.failed(first)
	second := s.pick(make([]bool, 3))
	if second == first {
		t.Fatalf("pick returned quarantined server %d", first)
	}
	s.succeeded(second)
	s.failed((second + 1) % 3)
	s.failed((second + 2) % 3)
	if got := s.pick(make([]bool, 3)); got != second {
		t.Errorf("pick = %d, want %d, the only server not in quarantine", got, second)
	}
	s.failed(second)
	got := s.pick(make([]bool, 3))
	if got < 0 {
		t.Fatalf("with every server in quarantine, pick gave up instead of lifting the quarantine")
	}
	for i := range 3 {
		if !s.until[i].IsZero() {
			t.Errorf("server %d still in quarantine after every server was", i)
		}
	}
	tried := []bool{true, true, true}
	if got := s.pick(tried); got != -1 {
		t.Errorf("pick with every server tried = %d, want -1", got)
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.ServiceURLs = []string{"not a url"}
	cfg.Instance.Port = 70000
	cfg.Instance.InitialStatus = "SLEEPY"
	cfg.HeartbeatBackoffBound = -1
	_, err := New(cfg)
	if err == nil {
		t.Fatal("New with a bad config succeeded")
	}
	for _, want := range []string{
		`discovery: ServiceURLs[0]: "not a url" is not an http or https URL`,
		"discovery: Instance.App: empty",
		"discovery: Instance.Port: 70000 is not a port number",
		`discovery: Instance.InitialStatus: "SLEEPY" is not a status`,
		"discovery: HeartbeatBackoffBound: -1; want 1 or more",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New error lacks %q; got:\n%v", want, err)
		}
	}
}

func TestNewFillsInstanceDefaults(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Instance.App = "orders"
	cfg.Instance.HostName = "host1"
	cfg.Instance.Port = 8080
	cfg.Instance.Metadata = map[string]string{"zone": "eu-1", "empty": ""}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	in := c.Instance()
	checks := []struct{ name, got, want string }{
		{"InstanceID", in.InstanceID, "host1:orders:8080"},
		{"App", in.App, "ORDERS"},
		{"VIPAddress", in.VIPAddress, "orders"},
		{"SecureVIPAddress", in.SecureVIPAddress, "orders"},
		{"HomePageURL", in.HomePageURL, "http://host1:8080/"},
		{"StatusPageURL", in.StatusPageURL, "http://host1:8080/actuator/info"},
		{"HealthCheckURL", in.HealthCheckURL, "http://host1:8080/actuator/health"},
		{"DataCenterInfo.Name", in.DataCenterInfo.Name, "MyOwn"},
		{"Status", string(in.Status), "UP"},
		{"metadata", strings.Join(slices.Sorted(maps.Keys(in.Metadata)), ","), "zone"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if in.LeaseInfo.RenewalIntervalInSecs != 30 || in.LeaseInfo.DurationInSecs != 90 {
		t.Errorf("lease = %+v, want 30 s renewals and 90 s duration", in.LeaseInfo)
	}
	if !in.Port.Enabled || in.Port.Number != 8080 || in.SecurePort.Enabled || in.SecurePort.Number != 443 {
		t.Errorf("ports = %+v, %+v; want 8080 enabled, 443 disabled", in.Port, in.SecurePort)
	}
}

// TestLookupsDoNotAllocate pins the gateway's hot path: a lookup by an
// upper-case application name or VIP is a map read on the current snapshot.
func TestLookupsDoNotAllocate(t *testing.T) {
	c, err := New(observerConfig("http://127.0.0.1:1/eureka"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.publish(newSnapshot(fromFull(doc(inst("A", "a1", eureka.StatusUp, ""))), 1, true))
	if got := c.Instances("a"); len(got) != 1 {
		t.Fatalf("Instances(a) = %s, want [a1]", idsOf(got))
	}
	for name, lookup := range map[string]func(){
		"Instances":      func() { c.Instances("A") },
		"InstancesByVIP": func() { c.InstancesByVIP("A") },
		"Changed":        func() { c.Changed() },
	} {
		if n := testing.AllocsPerRun(1000, lookup); n != 0 {
			t.Errorf("%s allocates %v times per call, want 0", name, n)
		}
	}
}

func TestTableEditLeavesTheOriginal(t *testing.T) {
	t.Parallel()
	var t0 table[int]
	e := t0.edit()
	for i := range 500 {
		e.set("app-"+strconv.Itoa(i), i)
	}
	t1 := e.done()
	e = t1.edit()
	e.set("app-7", -7)
	e.delete("app-8")
	e.delete("absent")
	e.set("app-500", 500)
	t2 := e.done()
	if t0.len() != 0 || t1.len() != 500 || t2.len() != 500 {
		t.Errorf("lengths %d, %d, %d; want 0, 500, 500", t0.len(), t1.len(), t2.len())
	}
	if v, _ := t1.get("app-7"); v != 7 {
		t.Errorf("original app-7 = %d after editing a copy, want 7", v)
	}
	if _, ok := t1.get("app-8"); !ok {
		t.Error("original lost app-8 when a copy deleted it")
	}
	if v, _ := t2.get("app-7"); v != -7 {
		t.Errorf("copy's app-7 = %d, want -7", v)
	}
	if _, ok := t2.get("app-8"); ok {
		t.Error("copy still has app-8 after deleting it")
	}
	shared := 0
	for i := range t1.shards {
		if reflect.ValueOf(t1.shards[i]).UnsafePointer() == reflect.ValueOf(t2.shards[i]).UnsafePointer() {
			shared++
		}
	}
	if want := tableShards - 3; shared < want {
		t.Errorf("%d of %d shards shared after changing three names, want at least %d", shared, tableShards, want)
	}
}
