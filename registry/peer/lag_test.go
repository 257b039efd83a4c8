package peer_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
	"github.com/switchboard-dev/switchboard/registry"
	"github.com/switchboard-dev/switchboard/registry/peer"
)

// inProcCluster runs n registries with replicators in this process.
func inProcCluster(b *testing.B, n int) []*registry.Registry {
	b.Helper()
	regs := make([]*registry.Registry, n)
	srvs := make([]*httptest.Server, n)
	for i := range n {
		r, err := registry.New(registry.DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		regs[i] = r
		srvs[i] = httptest.NewServer(r.Handler())
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, r := range regs {
		var urls []string
		for j, s := range srvs {
			if j != i {
				urls = append(urls, s.URL+"/eureka/")
			}
		}
		rep, err := peer.New(r, urls, peer.DefaultConfig(), nil)
		if err != nil {
			b.Fatal(err)
		}
		r.SetReplicator(rep)
		r.OpenForTraffic(0)
		wg.Go(func() { rep.Run(ctx) })
		wg.Go(func() { r.Run(ctx) })
	}
	b.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, s := range srvs {
			s.Close()
		}
	})
	return regs
}

func benchInstance(app, id string) *eureka.Instance {
	return &eureka.Instance{
		InstanceID: id, HostName: id, App: app, IPAddr: "10.0.0.1", Status: eureka.StatusUp,
		Port:           eureka.Port{Number: 8080, Enabled: true},
		DataCenterInfo: eureka.DataCenterInfo{Name: "MyOwn"},
		LeaseInfo:      eureka.LeaseInfo{RenewalIntervalInSecs: 30, DurationInSecs: 90},
	}
}

// BenchmarkReplicationLag measures the time from a registration on one node
// to its visibility on the two others, under a steady load of heartbeats
// (5,000 a second over 1,500 instances) replicated across the cluster.
// It reports p50 and p99 in milliseconds.
func BenchmarkReplicationLag(b *testing.B) {
	regs := inProcCluster(b, 3)
	const fleet = 1500
	for i := range fleet {
		r := regs[i%3]
		if err := r.Register("LOAD", benchInstance("LOAD", fmt.Sprintf("load-%d", i)), false); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		// 5,000 heartbeats a second, in 100 ticks of 50.
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		i := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for range 50 {
				regs[i%3].Renew("LOAD", fmt.Sprintf("load-%d", i%fleet), registry.RenewArgs{})
				i++
			}
		}
	})
	defer func() { cancel(); wg.Wait() }()

	var lags []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("probe-%d", i)
		src := regs[i%3]
		start := time.Now()
		if err := src.Register("PROBE", benchInstance("PROBE", id), false); err != nil {
			b.Fatal(err)
		}
		for _, r := range regs {
			for r.Current("PROBE", id) == nil {
				_, changed := r.Version()
				if r.Current("PROBE", id) != nil {
					break
				}
				select {
				case <-changed:
				case <-time.After(5 * time.Second):
					b.Fatalf("probe %s not replicated within 5s", id)
				}
			}
		}
		lags = append(lags, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lags)
	b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-ms")
}
