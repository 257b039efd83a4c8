package discovery

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/testenv"
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
