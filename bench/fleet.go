package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
)

// A fleet is a set of simulated service instances, as Spring clients would
// register them: instancesPerApp instances per application, loopback
// addresses (nothing ever connects to them), a lease long enough that no
// instance expires while the suite runs.
type fleet struct {
	instances []*eureka.Instance
	bodies    [][]byte // registration bodies, {"instance":{...}}
}

const (
	instancesPerApp = 10
	// fleetLease keeps every simulated instance registered for the whole
	// suite, whatever its heartbeat schedule; eviction still runs.
	fleetLease = 3600
)

// newFleet builds n instances named with prefix.
func newFleet(n int, prefix string) *fleet {
	f := &fleet{}
	dirty := time.Now().UnixMilli()
	for i := range n {
		app := fmt.Sprintf("%s-SVC-%04d", strings.ToUpper(prefix), i/instancesPerApp)
		host := fmt.Sprintf("%s-host-%06d.bench.internal", prefix, i)
		ip := fmt.Sprintf("127.%d.%d.%d", 1+i>>16&0xff, i>>8&0xff, i&0xff)
		in := benchInstance(app, host+":"+strings.ToLower(app)+":8080", host, ip, 8080, dirty)
		f.instances = append(f.instances, in)
		f.bodies = append(f.bodies, eureka.AppendInstanceDocJSON(nil, in))
	}
	return f
}

// benchInstance is an instance as Spring Cloud's Eureka client registers it.
func benchInstance(app, id, host, ip string, port int, dirty int64) *eureka.Instance {
	root := "http://" + host + ":" + strconv.Itoa(port)
	return &eureka.Instance{
		InstanceID:       id,
		HostName:         host,
		App:              app,
		IPAddr:           ip,
		Status:           eureka.StatusUp,
		OverriddenStatus: eureka.StatusUnknown,
		Port:             eureka.Port{Number: port, Enabled: true},
		SecurePort:       eureka.Port{Number: 443},
		CountryID:        eureka.DefaultCountryID,
		DataCenterInfo:   eureka.DataCenterInfo{Class: eureka.ClassDefaultDataCenterInfo, Name: "MyOwn"},
		LeaseInfo:        eureka.LeaseInfo{RenewalIntervalInSecs: 30, DurationInSecs: fleetLease},
		Metadata:         map[string]string{"management.port": strconv.Itoa(port), "zone": "zone1"},
		HomePageURL:      root + "/",
		StatusPageURL:    root + "/actuator/info",
		HealthCheckURL:   root + "/actuator/health",
		VIPAddress:       strings.ToLower(app),
		SecureVIPAddress: strings.ToLower(app),

		LastUpdatedTimestamp: dirty,
		LastDirtyTimestamp:   dirty,
	}
}

// renewPath is the heartbeat of in, as the Java client sends it.
func renewPath(in *eureka.Instance) string {
	return "/eureka/apps/" + in.App + "/" + in.InstanceID + "?status=UP&lastDirtyTimestamp=" +
		strconv.FormatInt(in.LastDirtyTimestamp, 10)
}

// newHTTPClient returns a client keeping up to conns connections to each
// host, for the Go load generator.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConns:        4 * conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// register registers in with the registry at base (http://host:port).
func register(ctx context.Context, hc *http.Client, base string, in *eureka.Instance) error {
	_, err := do(ctx, hc, http.MethodPost, base+"/eureka/apps/"+in.App, eureka.AppendInstanceDocJSON(nil, in), http.StatusNoContent)
	return err
}

// do sends one request and checks the status; it returns the body.
func do(ctx context.Context, hc *http.Client, method, url string, body []byte, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return b, fmt.Errorf("%s %s: %s, want %d", method, url, resp.Status, want)
	}
	return b, nil
}

// A pacedLoad sends requests at given times whatever the answers (an open
// loop, as a fleet of independent clients does), with at most conc in
// flight. Latency is measured from each request's scheduled time, so a server
// that falls behind shows it (no coordinated omission).
type pacedLoad struct {
	hc   *http.Client
	n    int
	at   func(i int) time.Duration          // non-decreasing offsets from the start
	req  func(i int) (*http.Request, error) // the i-th request
	want int                                // the expected status
	conc int
}

// A pacedResult is what one paced load saw.
type pacedResult struct {
	sent, failed int64
	elapsed      time.Duration
	latencies    []time.Duration // of the successful requests
	firstErr     error
}

func (r pacedResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.sent) / r.elapsed.Seconds()
}

// run sends the load, stopping early if ctx ends.
func (p pacedLoad) run(ctx context.Context) pacedResult {
	lat := make([]time.Duration, p.n)
	ok := make([]bool, p.n)
	var failed atomic.Int64
	var errOnce sync.Once
	var firstErr error
	sem := make(chan struct{}, p.conc)
	var wg sync.WaitGroup
	start := time.Now()
	sent := 0
	for i := range p.n {
		due := start.Add(p.at(i))
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		sent++
		wg.Go(func() {
			defer func() { <-sem }()
			err := p.send(ctx, i)
			if err != nil {
				failed.Add(1)
				errOnce.Do(func() { firstErr = err })
				return
			}
			lat[i], ok[i] = time.Since(due), true
		})
	}
	wg.Wait()
	r := pacedResult{sent: int64(sent), failed: failed.Load(), elapsed: time.Since(start), firstErr: firstErr}
	for i, good := range ok {
		if good {
			r.latencies = append(r.latencies, lat[i])
		}
	}
	return r
}

func (p pacedLoad) send(ctx context.Context, i int) error {
	req, err := p.req(i)
	if err != nil {
		return err
	}
	resp, err := p.hc.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != p.want {
		return fmt.Errorf("%s %s: %s, want %d", req.Method, req.URL.Path, resp.Status, p.want)
	}
	return nil
}

// jitteredStarts returns n sorted offsets drawn uniformly from [0, window):
// the moments a fleet restarting together registers, each client after its
// own random delay (discovery's InitialRegistrationJitter).
func jitteredStarts(n int, window time.Duration) []time.Duration {
	at := make([]time.Duration, n)
	for i := range at {
		at[i] = rand.N(window)
	}
	slices.Sort(at)
	return at
}

// registerLoad registers every instance of f at the offsets at, instance i
// with the registry at bases[i % len(bases)].
func registerLoad(hc *http.Client, bases []string, f *fleet, at []time.Duration, conc int) pacedLoad {
	return pacedLoad{
		hc: hc, n: len(f.instances), conc: conc, want: http.StatusNoContent,
		at: func(i int) time.Duration { return at[i] },
		req: func(i int) (*http.Request, error) {
			req, err := http.NewRequest(http.MethodPost, bases[i%len(bases)]+"/eureka/apps/"+f.instances[i].App, bytes.NewReader(f.bodies[i]))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept-Encoding", "gzip")
			}
			return req, err
		},
	}
}

// heartbeatLoad sends count heartbeats at rate per second, instance by
// instance in turn, each to the base of bases its instance belongs to
// (instance i to bases[i % len(bases)], as a client sticks to one registry).
func heartbeatLoad(hc *http.Client, bases []string, f *fleet, count int, rate float64, conc int) pacedLoad {
	paths := make([]string, len(f.instances))
	for i, in := range f.instances {
		paths[i] = renewPath(in)
	}
	return pacedLoad{
		hc: hc, n: count, conc: conc, want: http.StatusOK,
		at: func(i int) time.Duration { return time.Duration(float64(i) / rate * float64(time.Second)) },
		req: func(i int) (*http.Request, error) {
			k := i % len(paths)
			return http.NewRequest(http.MethodPut, bases[k%len(bases)]+paths[k], nil)
		},
	}
}
