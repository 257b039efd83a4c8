package registry_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hudl/fargo"
	"github.com/op/go-logging"

	"github.com/switchboard-dev/switchboard/eureka"
	"github.com/switchboard-dev/switchboard/internal/testenv"
)

// TestFargo runs hudl/fargo v1.4.0, a Go Eureka client, against a real
// registry in both of its encodings: XML (its default) and JSON (UseJson).
// fargo has no delta fetch; its watch facilities (InstanceSetSource,
// ScheduleAppUpdates) poll GET /apps/{APP} and GET /vips/{VIP}.
func TestFargo(t *testing.T) {
	t.Parallel()
	quietFargo.Do(func() {
		// fargo logs every request to stderr through go-logging's global
		// backend, which go test prints for any failure in this package.
		// Keep its errors only. Once: go-logging's levels are not safe to
		// change while fargo goroutines log.
		logging.SetLevel(logging.ERROR, "fargo")
	})
	for _, mode := range []struct {
		name    string
		useJSON bool
	}{
		{"XML", false},
		{"JSON", true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			testFargo(t, mode.useJSON)
		})
	}
}

var quietFargo sync.Once

// fargoSpec is one instance as the user configures it. Apps are spelled in
// lower case, as fargo users write them; the registry must upper-case them.
type fargoSpec struct {
	app, host string
	port      int
}

func (s fargoSpec) id() string { return s.host + ":" + s.app + ":" + strconv.Itoa(s.port) }

// instance builds a fresh fargo.Instance, as a starting process would.
func (s fargoSpec) instance() *fargo.Instance {
	in := &fargo.Instance{
		InstanceId:        s.id(),
		HostName:          s.host,
		App:               s.app,
		IPAddr:            "10.0.0." + strconv.Itoa(s.port%250),
		VipAddress:        s.app + "-vip",
		SecureVipAddress:  s.app + "-secure-vip",
		Status:            fargo.UP,
		Port:              s.port,
		PortEnabled:       true,
		SecurePort:        8443,
		SecurePortEnabled: false,
		HomePageUrl:       "http://" + s.host + ":" + strconv.Itoa(s.port) + "/",
		StatusPageUrl:     "http://" + s.host + ":" + strconv.Itoa(s.port) + "/info",
		HealthCheckUrl:    "http://" + s.host + ":" + strconv.Itoa(s.port) + "/health",
		DataCenterInfo:    fargo.DataCenterInfo{Name: fargo.MyOwn},
		LeaseInfo:         fargo.LeaseInfo{RenewalIntervalInSecs: 10, DurationInSecs: 30},
	}
	in.SetMetadataString("zone", "zone-"+s.host)
	in.SetMetadataString("team", "payments")
	return in
}

func testFargo(t *testing.T, useJSON bool) {
	reg := testenv.StartRegistry(t, nil)
	// fargo's shared transport can dial a spare connection while requests
	// run concurrently (the watch step) and park it unused. The server
	// counts a connection that never sent a request as busy for 5s, longer
	// than the registry's shutdown allows, so close the spares first.
	t.Cleanup(fargo.HttpClient.CloseIdleConnections)
	conn := fargo.NewConn(reg.URL)
	conn.UseJson = useJSON
	conn.PollInterval = 50 * time.Millisecond

	orders := []fargoSpec{
		{"orders", "orders-1.test", 8081},
		{"orders", "orders-2.test", 8082},
		{"orders", "orders-3.test", 8083},
	}
	billing := []fargoSpec{
		{"billing", "billing-1.test", 9091},
		{"billing", "billing-2.test", 9092},
	}
	all := slices.Concat(orders, billing)

	// instances holds the fargo.Instance of each spec after registration;
	// fargo replaces it with the registry's copy once registered.
	instances := make(map[string]*fargo.Instance, len(all))

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"EmptyRegistry", func(t *testing.T) {
			apps, err := conn.GetApps()
			if err != nil || len(apps) != 0 {
				t.Errorf("GetApps on an empty registry = %v, %v; want no apps, no error", fargoAppSummary(apps), err)
			}
			got, err := conn.GetInstancesByVIPAddress("orders-vip", false)
			if err != nil || len(got) != 0 {
				t.Errorf("GetInstancesByVIPAddress(orders-vip) on an empty registry = %q, %v; want none", fargoIDs(got), err)
			}
		}},
		{"Register", func(t *testing.T) {
			for _, s := range all {
				in := s.instance()
				if err := conn.RegisterInstance(in); err != nil {
					t.Fatalf("RegisterInstance(%s): %v", s.id(), err)
				}
				// fargo reads the instance back after a 204; that copy
				// carries the registry's upper-cased app name.
				if want := strings.ToUpper(s.app); in.App != want {
					t.Errorf("RegisterInstance(%s): instance read back has App %q, want %q", s.id(), in.App, want)
				}
				instances[s.id()] = in
			}
			// A second RegisterInstance finds the instance (GET 200) and
			// does not register again.
			if err := conn.RegisterInstance(orders[0].instance()); err != nil {
				t.Errorf("RegisterInstance(%s) again: %v", orders[0].id(), err)
			}
		}},
		{"HeartBeat", func(t *testing.T) {
			for _, s := range all {
				if err := conn.HeartBeatInstance(instances[s.id()]); err != nil {
					t.Errorf("HeartBeatInstance(%s): %v", s.id(), err)
				}
			}
		}},
		{"GetApps", func(t *testing.T) {
			apps, err := conn.GetApps()
			if err != nil {
				t.Fatalf("GetApps: %v", err)
			}
			var names []string
			for name := range apps {
				names = append(names, name)
			}
			slices.Sort(names)
			if want := []string{"BILLING", "ORDERS"}; !slices.Equal(names, want) {
				t.Fatalf("GetApps: apps %q, want %q", names, want)
			}
			for name, app := range apps {
				if app.Name != name {
					t.Errorf("GetApps: app under key %q is named %q", name, app.Name)
				}
				want := orders
				if name == "BILLING" {
					want = billing
				}
				checkFargoApp(t, "GetApps "+name, app, want)
			}
		}},
		{"GetApp", func(t *testing.T) {
			app, err := conn.GetApp("orders")
			if err != nil {
				t.Fatalf("GetApp(orders): %v", err)
			}
			if app.Name != "ORDERS" {
				t.Errorf("GetApp(orders): Name %q, want ORDERS", app.Name)
			}
			checkFargoApp(t, "GetApp(orders)", app, orders)

			_, err = conn.GetApp("nosuchapp")
			if !errors.As(err, new(fargo.AppNotFoundError)) {
				t.Errorf("GetApp(nosuchapp): error %v, want fargo.AppNotFoundError", err)
			}
		}},
		{"GetInstance", func(t *testing.T) {
			for _, s := range all {
				// fargo users pass the app name as they configured it.
				in, err := conn.GetInstance(s.app, s.id())
				if err != nil {
					t.Errorf("GetInstance(%s, %s): %v", s.app, s.id(), err)
					continue
				}
				checkFargoInstance(t, "GetInstance", in, s)
			}
			_, err := conn.GetInstance("ORDERS", "nosuch.test:orders:1")
			if code, ok := fargo.HTTPResponseStatusCode(err); !ok || code != 404 {
				t.Errorf("GetInstance(ORDERS, unknown id): error %v, want one with code 404", err)
			}
		}},
		{"GetInstancesByVIPAddress", func(t *testing.T) {
			got, err := conn.GetInstancesByVIPAddress("orders-vip", false)
			if err != nil {
				t.Fatalf("GetInstancesByVIPAddress(orders-vip): %v", err)
			}
			if ids, want := fargoIDs(got), specIDs(orders); !slices.Equal(ids, want) {
				t.Errorf("GetInstancesByVIPAddress(orders-vip): %q, want %q", ids, want)
			}
			got, err = conn.GetInstancesByVIPAddress("billing-secure-vip", true)
			if err != nil {
				t.Fatalf("GetInstancesByVIPAddress(billing-secure-vip, secure): %v", err)
			}
			if ids, want := fargoIDs(got), specIDs(billing); !slices.Equal(ids, want) {
				t.Errorf("GetInstancesByVIPAddress(billing-secure-vip, secure): %q, want %q", ids, want)
			}
			// VIP addresses are case-sensitive.
			got, err = conn.GetInstancesByVIPAddress("ORDERS-VIP", false)
			if err != nil || len(got) != 0 {
				t.Errorf("GetInstancesByVIPAddress(ORDERS-VIP) = %q, %v; want no instances", fargoIDs(got), err)
			}
		}},
		{"Metadata", func(t *testing.T) {
			s := orders[0]
			if err := conn.AddMetadataString(instances[s.id()], "version", "v2-blue"); err != nil {
				t.Fatalf("AddMetadataString(%s, version): %v", s.id(), err)
			}
			in, err := conn.GetInstance(s.app, s.id())
			if err != nil {
				t.Fatalf("GetInstance(%s) after AddMetadataString: %v", s.id(), err)
			}
			for key, want := range map[string]string{"version": "v2-blue", "zone": "zone-" + s.host, "team": "payments"} {
				if got, err := in.Metadata.GetString(key); err != nil || got != want {
					t.Errorf("after AddMetadataString: metadata %q = %q, %v; want %q", key, got, err, want)
				}
			}
			// The other instances are untouched.
			other, err := conn.GetInstance(orders[1].app, orders[1].id())
			if err != nil {
				t.Fatalf("GetInstance(%s): %v", orders[1].id(), err)
			}
			if got, _ := other.Metadata.GetString("version"); got != "" {
				t.Errorf("AddMetadataString(%s) also set version=%q on %s", s.id(), got, orders[1].id())
			}
		}},
		{"StatusOverride", func(t *testing.T) {
			s := orders[1]
			if err := conn.UpdateInstanceStatus(instances[s.id()], fargo.OUTOFSERVICE); err != nil {
				t.Fatalf("UpdateInstanceStatus(%s, OUT_OF_SERVICE): %v", s.id(), err)
			}
			check := func(when string) {
				t.Helper()
				in, err := conn.GetInstance(s.app, s.id())
				if err != nil {
					t.Fatalf("GetInstance(%s) %s: %v", s.id(), when, err)
				}
				if in.Status != fargo.OUTOFSERVICE || in.Overriddenstatus != fargo.OUTOFSERVICE {
					t.Errorf("GetInstance(%s) %s: status %s, overriddenstatus %s; want both OUT_OF_SERVICE",
						s.id(), when, in.Status, in.Overriddenstatus)
				}
			}
			check("after UpdateInstanceStatus")
			for i := range 3 {
				if err := conn.HeartBeatInstance(instances[s.id()]); err != nil {
					t.Fatalf("HeartBeatInstance(%s) #%d with override: %v", s.id(), i+1, err)
				}
			}
			check("after 3 heartbeats")
			up, err := conn.GetInstancesByVIPAddress("orders-vip", false, fargo.ThatAreUp)
			if err != nil {
				t.Fatalf("GetInstancesByVIPAddress(orders-vip, ThatAreUp): %v", err)
			}
			if ids, want := fargoIDs(up), specIDs([]fargoSpec{orders[0], orders[2]}); !slices.Equal(ids, want) {
				t.Errorf("GetInstancesByVIPAddress(orders-vip, ThatAreUp) = %q, want %q", ids, want)
			}
			if in, err := reg.Instance("ORDERS", s.id()); err != nil || in.Status != eureka.StatusOutOfService {
				t.Errorf("registry: Instance(ORDERS, %s) = %v, %v; want OUT_OF_SERVICE", s.id(), statusOf(in), err)
			}
		}},
		{"Watch", func(t *testing.T) {
			// A user's view of the VIP: fargo polls GET /vips/{VIP} and keeps
			// the UP instances.
			src, err := conn.NewInstanceSetSourceForVIPAddress("orders-vip", false, true, fargo.ThatAreUp)
			if err != nil {
				t.Fatalf("NewInstanceSetSourceForVIPAddress: %v", err)
			}
			t.Cleanup(src.Stop)
			done := make(chan struct{})
			t.Cleanup(func() { close(done) })
			updates := conn.ScheduleAppUpdates("orders", true, done)

			first := <-updates
			if first.Err != nil {
				t.Fatalf("ScheduleAppUpdates(orders): first update: %v", first.Err)
			}
			if got := len(first.App.Instances); got != len(orders) {
				t.Errorf("ScheduleAppUpdates(orders): first update has %d instances, want %d", got, len(orders))
			}
			if ids, want := fargoIDs(src.Latest()), specIDs([]fargoSpec{orders[0], orders[2]}); !slices.Equal(ids, want) {
				t.Errorf("InstanceSetSource(orders-vip, ThatAreUp).Latest() = %q, want %q", ids, want)
			}

			late := fargoSpec{"orders", "orders-4.test", 8084}
			in := late.instance()
			if err := conn.RegisterInstance(in); err != nil {
				t.Fatalf("RegisterInstance(%s): %v", late.id(), err)
			}
			instances[late.id()] = in
			orders = append(orders, late)

			wantUp := specIDs([]fargoSpec{orders[0], orders[2], late})
			testenv.Eventually(t, 5*time.Second, func() error {
				if ids := fargoIDs(src.Latest()); !slices.Equal(ids, wantUp) {
					return fmt.Errorf("InstanceSetSource(orders-vip, ThatAreUp).Latest() = %q, want %q", ids, wantUp)
				}
				return nil
			})
			deadline := time.After(5 * time.Second)
			for {
				select {
				case u, ok := <-updates:
					if !ok {
						t.Fatal("ScheduleAppUpdates(orders): channel closed early")
					}
					if u.Err == nil && len(u.App.Instances) == len(orders) {
						return
					}
				case <-deadline:
					t.Fatalf("ScheduleAppUpdates(orders): no update with %d instances within 5s", len(orders))
				}
			}
		}},
		{"Deregister", func(t *testing.T) {
			s := orders[1] // the one with the OUT_OF_SERVICE override
			in := instances[s.id()]
			if err := conn.DeregisterInstance(in); err != nil {
				t.Fatalf("DeregisterInstance(%s): %v", s.id(), err)
			}
			if _, err := conn.GetInstance(s.app, s.id()); !isHTTPStatus(err, 404) {
				t.Errorf("GetInstance(%s) after DeregisterInstance: error %v, want code 404", s.id(), err)
			}
			err := conn.HeartBeatInstance(in)
			if !isHTTPStatus(err, 404) {
				t.Fatalf("HeartBeatInstance(%s) after DeregisterInstance: error %v, want code 404", s.id(), err)
			}
			if err := conn.DeregisterInstance(in); !isHTTPStatus(err, 404) {
				t.Errorf("DeregisterInstance(%s) twice: error %v, want code 404", s.id(), err)
			}
			app, err := conn.GetApp("orders")
			if err != nil {
				t.Fatalf("GetApp(orders) after DeregisterInstance: %v", err)
			}
			if slices.Contains(fargoIDs(app.Instances), s.id()) {
				t.Errorf("GetApp(orders) after DeregisterInstance(%s) still lists it", s.id())
			}

			// Re-registering, as a client does on a 404 heartbeat, brings it
			// back UP: the cancel dropped the OUT_OF_SERVICE override.
			fresh := s.instance()
			if err := conn.RegisterInstance(fresh); err != nil {
				t.Fatalf("RegisterInstance(%s) after 404: %v", s.id(), err)
			}
			if err := conn.HeartBeatInstance(fresh); err != nil {
				t.Errorf("HeartBeatInstance(%s) after re-registering: %v", s.id(), err)
			}
			got, err := conn.GetInstance(s.app, s.id())
			if err != nil {
				t.Fatalf("GetInstance(%s) after re-registering: %v", s.id(), err)
			}
			checkFargoInstance(t, "GetInstance after re-registering", got, s)

			// Deregistering every instance of an app removes the app.
			for _, b := range billing {
				if err := conn.DeregisterInstance(instances[b.id()]); err != nil {
					t.Errorf("DeregisterInstance(%s): %v", b.id(), err)
				}
			}
			if _, err := conn.GetApp("billing"); !errors.As(err, new(fargo.AppNotFoundError)) {
				t.Errorf("GetApp(billing) with no instances left: error %v, want fargo.AppNotFoundError", err)
			}
			apps, err := conn.GetApps()
			if err != nil {
				t.Fatalf("GetApps: %v", err)
			}
			if _, ok := apps["BILLING"]; ok || apps["ORDERS"] == nil || len(apps["ORDERS"].Instances) != len(orders) {
				t.Errorf("GetApps after deregistering billing: %v, want only ORDERS with %d instances", fargoAppSummary(apps), len(orders))
			}
		}},
	}
	for _, step := range steps {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

// checkFargoApp checks that app holds exactly the instances of want, each
// decoded correctly.
func checkFargoApp(t *testing.T, call string, app *fargo.Application, want []fargoSpec) {
	t.Helper()
	if ids, wantIDs := fargoIDs(app.Instances), specIDs(want); !slices.Equal(ids, wantIDs) {
		t.Errorf("%s: instances %q, want %q", call, ids, wantIDs)
		return
	}
	for _, in := range app.Instances {
		for _, s := range want {
			if s.id() == in.Id() {
				checkFargoInstance(t, call, in, s)
			}
		}
	}
}

// checkFargoInstance checks what a fargo user reads from an instance.
func checkFargoInstance(t *testing.T, call string, in *fargo.Instance, s fargoSpec) {
	t.Helper()
	want := s.instance()
	type view struct {
		ID, App, Host, IP, VIP, SecureVIP, Home, DataCenter string
		Status                                              fargo.StatusType
		Port, SecurePort                                    int
		PortEnabled, SecurePortEnabled                      bool
		Renewal, Duration                                   int32
	}
	viewOf := func(in *fargo.Instance) view {
		return view{in.Id(), in.App, in.HostName, in.IPAddr, in.VipAddress, in.SecureVipAddress, in.HomePageUrl,
			in.DataCenterInfo.Name, in.Status, in.Port, in.SecurePort, in.PortEnabled, in.SecurePortEnabled,
			in.LeaseInfo.RenewalIntervalInSecs, in.LeaseInfo.DurationInSecs}
	}
	wv := viewOf(want)
	wv.App = strings.ToUpper(s.app)
	if got := viewOf(in); got != wv {
		t.Errorf("%s: instance %s:\n got  %+v\n want %+v", call, s.id(), got, wv)
	}
	if in.LeaseInfo.RegistrationTimestamp <= 0 {
		t.Errorf("%s: instance %s: leaseInfo.registrationTimestamp %d, want a time", call, s.id(), in.LeaseInfo.RegistrationTimestamp)
	}
	for key, wantV := range map[string]string{"zone": "zone-" + s.host, "team": "payments"} {
		if got, err := in.Metadata.GetString(key); err != nil || got != wantV {
			t.Errorf("%s: instance %s: metadata %q = %q, %v; want %q", call, s.id(), key, got, err, wantV)
		}
	}
}

func isHTTPStatus(err error, code int) bool {
	got, ok := fargo.HTTPResponseStatusCode(err)
	return ok && got == code
}

func fargoIDs(ins []*fargo.Instance) []string {
	ids := make([]string, 0, len(ins))
	for _, in := range ins {
		ids = append(ids, in.Id())
	}
	slices.Sort(ids)
	return ids
}

func specIDs(specs []fargoSpec) []string {
	ids := make([]string, 0, len(specs))
	for _, s := range specs {
		ids = append(ids, s.id())
	}
	slices.Sort(ids)
	return ids
}

func fargoAppSummary(apps map[string]*fargo.Application) map[string][]string {
	m := make(map[string][]string, len(apps))
	for name, app := range apps {
		m[name] = fargoIDs(app.Instances)
	}
	return m
}

func statusOf(in *eureka.Instance) eureka.Status {
	if in == nil {
		return ""
	}
	return in.Status
}
