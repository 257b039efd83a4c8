package discovery

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
	"github.com/switchboard-dev/switchboard/internal/testenv"
	"github.com/switchboard-dev/switchboard/registry"
)

// BenchmarkPropagation measures how long a registration written to the
// registry over HTTP takes to show in another client's Instances, with the
// watch and with Eureka's delta polling (every second here; 30 s by
// default). It reports the median and the 99th percentile of the latency;
// ns/op is the mean. Run it with a fixed count: -bench Propagation -benchtime 50x.
func BenchmarkPropagation(b *testing.B) {
	for _, bc := range []struct {
		name  string
		watch bool
	}{
		{"watch", true},
		{"poll-1s", false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			reg := testenv.StartRegistry(b, nil)
			cfg := observerConfig(reg.URL)
			cfg.Watch = bc.watch
			cfg.RegistryFetchInterval = time.Second
			c, _ := start(b, cfg)
			testenv.Eventually(b, within, func() error {
				if c.stats.fullFetches.Load() == 0 {
					return errors.New("no full fetch yet")
				}
				return nil
			})
			var lat []time.Duration
			i := 0
			for b.Loop() {
				id := "bench-" + strconv.Itoa(i)
				i++
				if !bc.watch {
					// Write at a random point of the polling period, or
					// every write would follow a poll and wait a full one.
					b.StopTimer()
					time.Sleep(rand.N(cfg.RegistryFetchInterval))
					b.StartTimer()
				}
				begin := time.Now()
				registerVia(b, reg.URL, newInstance("bench", id))
				for {
					ch := c.Changed()
					if has(c, "bench", id) {
						break
					}
					select {
					case <-ch:
					case <-time.After(within):
						b.Fatalf("%s not visible after %v", id, within)
					}
				}
				lat = append(lat, time.Since(begin))
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}

// BenchmarkPropagationFleet measures what one change costs a watching client
// when the registry is large: fleet instances (10 per application, as in
// bench's fleet) are registered in process, then each iteration makes one
// change over HTTP, in turn a new instance, a status change and a cancel, and
// waits until the client shows it. It reports the median and 99th percentile
// of write → client, the client's own time per change decoding what it
// fetched and building its next snapshot (client-ms/op), and the CPU time
// of the whole process per change, registry included (proc-cpu-ms/op, Linux
// only). The delta queue still holds the fleet's registrations, as it does
// for three minutes after a fleet starts (queue=fresh), or has been emptied
// by a short retention (queue=settled). Run it with a fixed count:
// -bench PropagationFleet -benchtime 300x.
func BenchmarkPropagationFleet(b *testing.B) {
	for _, bc := range []struct {
		n       int
		settled bool
	}{
		{10_000, false}, {10_000, true}, {100_000, false}, {100_000, true},
	} {
		queue := "fresh"
		if bc.settled {
			queue = "settled"
		}
		b.Run("instances="+strconv.Itoa(bc.n)+"/queue="+queue, func(b *testing.B) {
			rc := registry.DefaultConfig()
			if bc.settled {
				rc.DeltaRetention = time.Second
				rc.DeltaRetentionTimerInterval = 100 * time.Millisecond
			}
			reg := testenv.StartRegistry(b, &rc)
			for i := range bc.n {
				app := "SVC-" + strconv.Itoa(i/10)
				in := newInstance(app, app+"-"+strconv.Itoa(i))
				if err := reg.Register(app, in, false); err != nil {
					b.Fatal(err)
				}
			}
			cfg := observerConfig(reg.URL)
			cfg.RegistryFetchInterval = 30 * time.Second
			c, _ := start(b, cfg)
			testenv.Eventually(b, 5*time.Minute, func() error {
				if !c.snap.Load().synced {
					return errors.New("no full fetch yet")
				}
				return nil
			})
			if got := c.snap.Load().counts[statusIndex(eureka.StatusUp)]; got != bc.n {
				b.Fatalf("client holds %d UP instances, want %d", got, bc.n)
			}
			if bc.settled {
				testenv.Eventually(b, time.Minute, func() error {
					d := httptest.NewRecorder()
					reg.Handler().ServeHTTP(d, httptest.NewRequest(http.MethodGet, "/eureka/apps/delta", nil))
					if d.Body.Len() > 1000 {
						return fmt.Errorf("delta still %d bytes", d.Body.Len())
					}
					return nil
				})
			}
			base := strings.TrimSuffix(reg.URL, "/")
			var lat []time.Duration
			applied, cpu, full := c.stats.applyNanos.Load(), processCPU(), c.stats.fullFetches.Load()
			i := 0
			for b.Loop() {
				id := "probe-" + strconv.Itoa(i/3)
				var seen func() bool
				begin := time.Now()
				switch i % 3 {
				case 0:
					registerVia(b, reg.URL, newInstance("probe", id))
					seen = func() bool { return has(c, "probe", id) }
				case 1:
					send(b, http.MethodPut, base+"/apps/PROBE/"+id+"/status?value=OUT_OF_SERVICE", nil, http.StatusOK)
					seen = func() bool { return !has(c, "probe", id) }
				case 2:
					send(b, http.MethodDelete, base+"/apps/PROBE/"+id, nil, http.StatusOK)
					seen = func() bool { return len(c.Instances("probe")) == 0 && !inApplications(c, "PROBE") }
				}
				i++
				for {
					ch := c.Changed()
					if seen() {
						break
					}
					select {
					case <-ch:
					case <-time.After(within):
						b.Fatalf("change %d not visible after %v", i, within)
					}
				}
				lat = append(lat, time.Since(begin))
			}
			perOp := func(d time.Duration) float64 {
				return float64(d) / float64(time.Millisecond) / float64(len(lat))
			}
			b.ReportMetric(perOp(time.Duration(c.stats.applyNanos.Load()-applied)), "client-ms/op")
			b.ReportMetric(float64(c.stats.fullFetches.Load()-full), "full-fetches")
			if cpu >= 0 {
				b.ReportMetric(perOp(processCPU()-cpu), "proc-cpu-ms/op")
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}

// inApplications reports whether the client's Applications lists app.
func inApplications(c *Client, app string) bool {
	apps := c.Applications().Applications
	i, ok := slices.BinarySearchFunc(apps, app, func(a *eureka.Application, name string) int { return strings.Compare(a.Name, name) })
	return ok && len(apps[i].Instances) > 0
}

// processCPU returns the user and system CPU time this process has used, or
// -1 where /proc/self/stat is not there to tell.
func processCPU() time.Duration {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return -1
	}
	// The fields after the command name, which is in parentheses: utime
	// and stime are the 12th and 13th, in clock ticks (100 per second).
	_, rest, ok := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// BenchmarkApplyChange measures the client's side of one change in a large
// local registry: a delta of one instance applied to a snapshot of
// 100,000 instances in 10,000 applications.
func BenchmarkApplyChange(b *testing.B) {
	all := map[string]map[string]*eureka.Instance{}
	for i := range 100_000 {
		app := "SVC-" + strconv.Itoa(i/10)
		in := newInstance(app, app+"-"+strconv.Itoa(i))
		if all[in.App] == nil {
			all[in.App] = map[string]*eureka.Instance{}
		}
		all[in.App][in.InstanceID] = in
	}
	s := newSnapshot(all, 1, true)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in := newInstance("SVC-42", "SVC-42-"+strconv.Itoa(420+i%10))
		in.Status = eureka.StatusOutOfService
		if i%2 == 1 {
			in.Status = eureka.StatusUp
		}
		in.ActionType = eureka.ActionModified
		i++
		s = s.next(s.deltaEdits(&eureka.Applications{Applications: []*eureka.Application{{Name: in.App, Instances: []*eureka.Instance{in}}}}), int64(i), true)
	}
}
