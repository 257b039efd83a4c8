package registry

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
)

// fakeClock is a Clock moved by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTestRegistry(t *testing.T, mutate func(*Config)) (*Registry, *fakeClock) {
	t.Helper()
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	clk := newFakeClock()
	r, err := New(cfg, WithClock(clk))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r.OpenForTraffic(0)
	return r, clk
}

func testInstance(app, id string) *eureka.Instance {
	return &eureka.Instance{
		InstanceID:       id,
		HostName:         id,
		App:              app,
		IPAddr:           "10.0.0.1",
		Status:           eureka.StatusUp,
		OverriddenStatus: eureka.StatusUnknown,
		Port:             eureka.Port{Number: 8080, Enabled: true},
		SecurePort:       eureka.Port{Number: 443},
		CountryID:        1,
		DataCenterInfo:   eureka.DataCenterInfo{Class: eureka.ClassDefaultDataCenterInfo, Name: "MyOwn"},
		LeaseInfo:        eureka.LeaseInfo{RenewalIntervalInSecs: 30, DurationInSecs: 90},
		VIPAddress:       "vip-" + app,
	}
}

func regOK(t *testing.T, r *Registry, in *eureka.Instance) {
	t.Helper()
	if err := r.Register(in.App, in, false); err != nil {
		t.Fatalf("Register(%s/%s): %v", in.App, in.ID(), err)
	}
}

func TestThresholdFormula(t *testing.T) {
	t.Parallel()
	// Eureka: (int)(E * (60.0 / interval) * percent), E starting at 1 in Spring.
	for _, tt := range []struct{ instances, want int }{{0, 1}, {1, 3}, {5, 10}, {6, 11}, {9, 17}} {
		r, _ := newTestRegistry(t, nil)
		for i := range tt.instances {
			regOK(t, r, testInstance("APP", "i"+string(rune('a'+i))))
		}
		if got := r.threshold.Load(); got != int64(tt.want) {
			t.Errorf("threshold with %d instances = %d, want %d", tt.instances, got, tt.want)
		}
	}
}

func TestLeaseExpiresOnceNotTwice(t *testing.T) {
	t.Parallel()
	r, clk := newTestRegistry(t, func(c *Config) { c.EnableSelfPreservation = false })
	regOK(t, r, testInstance("APP", "a"))
	clk.Advance(30 * time.Second)
	if _, err := r.Renew("APP", "a", RenewArgs{}); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	clk.Advance(60 * time.Second)
	if n := r.evict(); n != 0 {
		t.Fatalf("evict() 60s after the last renewal = %d, want 0", n)
	}
	clk.Advance(30 * time.Second)
	if _, err := r.Instance("APP", "a"); err != nil {
		t.Fatalf("instance gone at exactly the lease duration: %v", err)
	}
	clk.Advance(time.Millisecond)
	if _, err := r.Instance("APP", "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Instance after one lease duration without renewal: err = %v, want ErrNotFound (Eureka would wait twice as long)", err)
	}
	if n := r.evict(); n != 1 {
		t.Fatalf("evict() = %d, want 1", n)
	}
}

func TestRenewUnknownIs404(t *testing.T) {
	t.Parallel()
	r, _ := newTestRegistry(t, nil)
	if _, err := r.Renew("APP", "nope", RenewArgs{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Renew of an unregistered instance: %v, want ErrNotFound", err)
	}
}

func TestEvictionCapAndCompensation(t *testing.T) {
	t.Parallel()
	r, clk := newTestRegistry(t, func(c *Config) { c.EnableSelfPreservation = false })
	for i := range 20 {
		regOK(t, r, testInstance("APP", "i"+string(rune('a'+i))))
	}
	// A paused process: 10 minutes pass between runs. Compensation adds the
	// 9 late minutes to every lease, so nothing expires.
	clk.Advance(10 * time.Minute)
	if n := r.evict(); n != 0 {
		t.Fatalf("evict() after a long pause = %d, want 0 (compensation)", n)
	}
	clk.Advance(2 * time.Minute)
	// Now all 20 are expired; one run may evict 20 - int(20*0.85) = 3.
	if n := r.evict(); n != 3 {
		t.Fatalf("evict() = %d, want 3 (the unprotected 15%%)", n)
	}
	if got := r.count; got != 17 {
		t.Fatalf("count after eviction = %d, want 17", got)
	}
}

func TestSelfPreservationStopsEviction(t *testing.T) {
	t.Parallel()
	r, clk := newTestRegistry(t, nil)
	for i := range 6 {
		regOK(t, r, testInstance("APP", "i"+string(rune('a'+i))))
	}
	// Two renewal rounds a minute for a few minutes, then "a" stops.
	for minute := range 6 {
		for range 2 {
			clk.Advance(30 * time.Second)
			for i := range 6 {
				id := "i" + string(rune('a'+i))
				if minute >= 2 && id == "ia" {
					continue
				}
				if _, err := r.Renew("APP", id, RenewArgs{}); err != nil {
					t.Fatalf("Renew(%s): %v", id, err)
				}
			}
		}
		r.rollRenewals()
		r.evict()
	}
	if got, want := r.renewsLastMin.Load(), int64(10); got != want {
		t.Fatalf("renews last minute = %d, want %d", got, want)
	}
	if r.LeaseExpirationEnabled() {
		t.Fatal("LeaseExpirationEnabled() = true with 10 renewals against a threshold of 11")
	}
	if _, ok := r.apps["APP"]["ia"]; !ok {
		t.Fatal("instance evicted during self-preservation")
	}
}

func TestOverrideSurvivesHeartbeats(t *testing.T) {
	t.Parallel()
	r, _ := newTestRegistry(t, nil)
	regOK(t, r, testInstance("APP", "a"))
	if err := r.SetStatus("APP", "a", eureka.StatusOutOfService, 0, false); err != nil {
		t.Fatalf("SetStatus: %v", err)
	}
	for range 3 {
		if _, err := r.Renew("APP", "a", RenewArgs{}); err != nil {
			t.Fatalf("Renew: %v", err)
		}
	}
	// The client re-registers saying UP: the override still wins.
	regOK(t, r, testInstance("APP", "a"))
	in, err := r.Instance("APP", "a")
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != eureka.StatusOutOfService || in.OverriddenStatus != eureka.StatusOutOfService {
		t.Fatalf("status after heartbeats and re-registration = %s/%s, want OUT_OF_SERVICE/OUT_OF_SERVICE", in.Status, in.OverriddenStatus)
	}
	// A client reporting DOWN wins over the override.
	down := testInstance("APP", "a")
	down.Status = eureka.StatusDown
	regOK(t, r, down)
	if in, _ := r.Instance("APP", "a"); in.Status != eureka.StatusDown {
		t.Fatalf("status after DOWN registration = %s, want DOWN", in.Status)
	}
	// Removing the override without a value leaves UNKNOWN: the next heartbeat is a 404.
	if err := r.DeleteStatusOverride("APP", "a", eureka.StatusUnknown, 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Renew("APP", "a", RenewArgs{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Renew after override removal: %v, want ErrNotFound", err)
	}
	regOK(t, r, testInstance("APP", "a"))
	if in, _ := r.Instance("APP", "a"); in.Status != eureka.StatusUp {
		t.Fatalf("status after re-registration = %s, want UP", in.Status)
	}
}

func TestLastDirtyTimestampRules(t *testing.T) {
	t.Parallel()
	r, _ := newTestRegistry(t, nil)
	in := testInstance("APP", "a")
	in.LastDirtyTimestamp = 1000
	regOK(t, r, in)

	older := testInstance("APP", "a")
	older.LastDirtyTimestamp = 500
	older.Metadata = map[string]string{"stale": "yes"}
	regOK(t, r, older)
	if got, _ := r.Instance("APP", "a"); got.Metadata["stale"] != "" || got.LastDirtyTimestamp != 1000 {
		t.Fatalf("an older registration replaced the newer copy: %+v", got)
	}
	tests := []struct {
		name  string
		args  RenewArgs
		want  error
		isNil bool
	}{
		{"client newer", RenewArgs{LastDirtyTimestamp: 2000}, ErrNotFound, false},
		{"client older", RenewArgs{LastDirtyTimestamp: 10}, nil, true},
		{"equal", RenewArgs{LastDirtyTimestamp: 1000}, nil, true},
		{"peer older", RenewArgs{LastDirtyTimestamp: 10, Replication: true}, ErrConflict, false},
	}
	for _, tt := range tests {
		got, err := r.Renew("APP", "a", tt.args)
		if tt.isNil && err != nil || !tt.isNil && !errors.Is(err, tt.want) {
			t.Errorf("%s: Renew(%+v) err = %v, want %v", tt.name, tt.args, err, tt.want)
		}
		if errors.Is(err, ErrConflict) && (got == nil || got.LastDirtyTimestamp != 1000) {
			t.Errorf("%s: conflict answer = %+v, want our copy", tt.name, got)
		}
	}
}

func TestDeltaAndHashAgree(t *testing.T) {
	t.Parallel()
	r, clk := newTestRegistry(t, nil)
	regOK(t, r, testInstance("A", "a1"))
	regOK(t, r, testInstance("A", "a2"))
	regOK(t, r, testInstance("B", "b1"))
	if err := r.Cancel("B", "b1", false); err != nil {
		t.Fatal(err)
	}
	if err := r.SetStatus("A", "a2", eureka.StatusDown, 0, false); err != nil {
		t.Fatal(err)
	}
	d := r.buildDocument(docDelta, "")
	actions := map[string]eureka.ActionType{}
	for _, app := range d.Applications {
		for _, in := range app.Instances {
			actions[in.ID()] = in.ActionType
		}
	}
	want := map[string]eureka.ActionType{"a1": eureka.ActionAdded, "a2": eureka.ActionModified, "b1": eureka.ActionDeleted}
	for id, a := range want {
		if actions[id] != a {
			t.Errorf("delta action for %s = %q, want %q", id, actions[id], a)
		}
	}
	if d.AppsHashcode != "DOWN_1_UP_1_" {
		t.Errorf("delta hash = %q, want DOWN_1_UP_1_ (the whole registry after the changes)", d.AppsHashcode)
	}
	clk.Advance(3*time.Minute + time.Second)
	r.trimDeltas()
	if d := r.buildDocument(docDelta, ""); len(d.Applications) != 0 {
		t.Errorf("delta after retention has %d applications, want 0", len(d.Applications))
	}
}

func TestReadsAreNeverStale(t *testing.T) {
	t.Parallel()
	r, _ := newTestRegistry(t, nil)
	for i := range 50 {
		id := "i" + string(rune('A'+i))
		regOK(t, r, testInstance("APP", id))
		doc := r.Applications()
		if got := len(doc.Applications[0].Instances); got != i+1 {
			t.Fatalf("after %d registrations the full document has %d instances", i+1, got)
		}
	}
}

func TestWarmUpWindow(t *testing.T) {
	t.Parallel()
	r, clk := newTestRegistry(t, func(c *Config) { c.DefaultOpenForTrafficCount = 0 })
	r.OpenForTraffic(0)
	if r.allowAccess() {
		t.Fatal("reads allowed right after an empty start with default-open-for-traffic-count 0")
	}
	clk.Advance(5 * time.Minute)
	if !r.allowAccess() {
		t.Fatal("reads still refused after the warm-up window")
	}
}

func BenchmarkRenew(b *testing.B) {
	r, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		in := testInstance("APP", "i"+string(rune(0x100+i)))
		if err := r.Register("APP", in, false); err != nil {
			b.Fatal(err)
		}
	}
	id := "i" + string(rune(0x100+500))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Renew("APP", id, RenewArgs{LastDirtyTimestamp: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRenewDoesNotAllocate(t *testing.T) {
	r, _ := newTestRegistry(t, nil)
	regOK(t, r, testInstance("APP", "a"))
	if n := testing.AllocsPerRun(1000, func() { r.Renew("APP", "a", RenewArgs{}) }); n != 0 {
		t.Errorf("Renew allocates %v times per call, want 0", n)
	}
}
