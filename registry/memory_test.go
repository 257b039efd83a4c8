package registry

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/switchboard-dev/switchboard/eureka"
)

// springInstance is an instance as Spring Cloud's Eureka client registers
// it, numbered i, ten to an application: the shape the load harness uses.
func springInstance(i int, dirty int64) *eureka.Instance {
	app := fmt.Sprintf("FLEET-SVC-%04d", i/10)
	host := fmt.Sprintf("fleet-host-%06d.bench.internal", i)
	root := "http://" + host + ":8080"
	return &eureka.Instance{
		InstanceID:       host + ":" + strings.ToLower(app) + ":8080",
		HostName:         host,
		App:              app,
		IPAddr:           fmt.Sprintf("127.%d.%d.%d", 1+i>>16&0xff, i>>8&0xff, i&0xff),
		Status:           eureka.StatusUp,
		OverriddenStatus: eureka.StatusUnknown,
		Port:             eureka.Port{Number: 8080, Enabled: true},
		SecurePort:       eureka.Port{Number: 443},
		CountryID:        eureka.DefaultCountryID,
		DataCenterInfo:   eureka.DataCenterInfo{Class: eureka.ClassDefaultDataCenterInfo, Name: "MyOwn"},
		LeaseInfo:        eureka.LeaseInfo{RenewalIntervalInSecs: 30, DurationInSecs: 90},
		Metadata:         map[string]string{"management.port": "8080", "zone": "zone1"},
		HomePageURL:      root + "/",
		StatusPageURL:    root + "/actuator/info",
		HealthCheckURL:   root + "/actuator/health",
		VIPAddress:       strings.ToLower(app),
		SecureVIPAddress: strings.ToLower(app),

		LastUpdatedTimestamp: dirty,
		LastDirtyTimestamp:   dirty,
	}
}

// vmRSS reads this process's resident set size from /proc/self/status, or
// returns 0 where there is none.
func vmRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// cpuTime returns the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkRegistryMemory is issue 7's memory scenario in process: it
// registers a Spring-shaped fleet (100,000 instances; 10,000 with -short)
// through the HTTP handler, serves the full registry in its four encodings,
// and reports the document sizes, the CPU time of three fetches of each (the
// first builds it, or measures it when it is streamed), VmRSS once
// registered, after the fetches, after three rounds of one change and four
// fetches, and in service: after three renewal rounds of heartbeats through
// the handler with the four fetches after each (each read without forcing a
// collection first, as the harness reads it). The last is the figure issue
// 7's target is judged on: traffic lets the heap grow to the collector's
// goal, twice what is live. Then the live heap after the fetches and its
// part per instance besides the encoded documents held (which includes the
// collected document's 40 bytes an instance). Run it alone, once:
//
//	go test -run '^$' -bench RegistryMemory -benchtime 1x ./registry/
func BenchmarkRegistryMemory(b *testing.B) {
	n := 100000
	if testing.Short() {
		n = 10000
	}
	for b.Loop() {
		r, err := New(DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		r.OpenForTraffic(0)
		h := r.Handler()
		w := &discardWriter{h: http.Header{}}
		before := liveHeap()
		dirty := time.Now().UnixMilli()
		var body []byte
		for i := range n {
			in := springInstance(i, dirty)
			body = eureka.AppendInstanceDocJSON(body[:0], in)
			req := httptest.NewRequest("POST", "/eureka/apps/"+in.App, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			w.code = 0
			h.ServeHTTP(w, req)
			if w.code != http.StatusNoContent {
				b.Fatalf("POST /eureka/apps/%s = %d, want 204", in.App, w.code)
			}
		}
		rssRegistered := vmRSS()

		fetchAll := func(report bool) {
			for _, v := range []struct {
				name, accept string
				gzip         bool
			}{{"json", "application/json", false}, {"json.gz", "application/json", true}, {"xml", "application/xml", false}, {"xml.gz", "application/xml", true}} {
				req := httptest.NewRequest("GET", "/eureka/apps/", nil)
				req.Header.Set("Accept", v.accept)
				if v.gzip {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				start := cpuTime()
				for range 3 {
					w.h = http.Header{}
					h.ServeHTTP(w, req)
					if w.code != http.StatusOK {
						b.Fatalf("GET /eureka/apps/ (%s) = %d, want 200", v.name, w.code)
					}
				}
				if report {
					size, _ := strconv.Atoi(w.h.Get("Content-Length"))
					b.ReportMetric(float64(size)/(1<<20), v.name+"-MB")
					b.ReportMetric(float64((cpuTime() - start).Milliseconds()), v.name+"-cpu-ms")
				}
			}
		}
		fetchAll(true)
		rssFetched := vmRSS()
		fetched := liveHeap()
		docs := r.cache.held()
		// A registry that changes between full fetches: each change makes
		// every document anew, and the old ones are garbage.
		for i := range 3 {
			in := springInstance(n+i, dirty)
			if err := r.Register(in.App, in, false); err != nil {
				b.Fatal(err)
			}
			fetchAll(false)
		}
		rssChanged := vmRSS()
		// The registry in service: every instance renews every 30 s, so
		// 300,000 heartbeats are three renewal rounds (90 s at 3,333/s for
		// 100,000 instances), and clients fetch the whole registry now and
		// then. Each request is built afresh, leaving garbage as a server's
		// requests do, so the collector runs and the heap grows to its goal.
		heartbeats := 3 * n
		for i := range heartbeats {
			in := springInstance(i%n, dirty)
			req := httptest.NewRequest("PUT", "/eureka/apps/"+in.App+"/"+in.InstanceID+
				"?status=UP&lastDirtyTimestamp="+strconv.FormatInt(dirty, 10), nil)
			h.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				b.Fatalf("PUT /eureka/apps/%s/%s = %d, want 200", in.App, in.InstanceID, w.code)
			}
			if (i+1)%n == 0 {
				fetchAll(false)
			}
		}
		b.ReportMetric(float64(rssRegistered)/(1<<20), "rss-registered-MB")
		b.ReportMetric(float64(rssFetched)/(1<<20), "rss-fetched-MB")
		b.ReportMetric(float64(rssChanged)/(1<<20), "rss-changed-MB")
		b.ReportMetric(float64(vmRSS())/(1<<20), "rss-steady-MB")
		b.ReportMetric(float64(int(fetched-before)-docs)/float64(n), "live-B/instance")
		b.ReportMetric(float64(fetched-before)/(1<<20), "live-fetched-MB")
		runtime.KeepAlive(r)
	}
}

func TestPackStrings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     []string
		packed int // bytes of the one allocation
	}{
		{"host inside id, home page inside status page",
			[]string{"h1.local:orders:8080", "http://h1.local:8080/actuator/info", "http://h1.local:8080/", "h1.local"}, 20 + 34},
		{"nothing shared", []string{"abc", "def"}, 6},
		{"empty strings take nothing", []string{"", "abc", "", "b"}, 3},
		{"all empty", []string{"", ""}, 0},
		{"equal strings", []string{"x", "x", "x"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := make([]*string, len(tt.in))
			for i := range tt.in {
				s := strings.Clone(tt.in[i])
				fields[i] = &s
			}
			packStrings(fields...)
			lo, hi := uintptr(0), uintptr(0)
			for i, f := range fields {
				if *f != tt.in[i] {
					t.Errorf("field %d = %q after packing, want %q", i, *f, tt.in[i])
				}
				if *f == "" {
					continue
				}
				p := uintptr(unsafe.Pointer(unsafe.StringData(*f)))
				if lo == 0 || p < lo {
					lo = p
				}
				hi = max(hi, p+uintptr(len(*f)))
			}
			if got := int(hi - lo); got != tt.packed {
				t.Errorf("packStrings(%q) spans %d bytes, want %d", tt.in, got, tt.packed)
			}
		})
	}
}

func sameString(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.StringData(a) == unsafe.StringData(b))
}

// TestStoredInstancesShareButReadTheSame registers instances as clients send
// them and checks that the stored copies hold the same values, share what
// repeats within an application, and stay independent when one of them is
// changed.
func TestStoredInstancesShareButReadTheSame(t *testing.T) {
	t.Parallel()
	r, _ := newTestRegistry(t, nil)
	var sent []*eureka.Instance
	for i := range 3 {
		in := springInstance(i, 1716999998000)
		if i == 2 {
			in.Metadata = map[string]string{"management.port": "8081", "zone": "zone1"}
		}
		sent = append(sent, in.Clone())
		data := eureka.AppendInstanceDocJSON(nil, in)
		decoded, err := eureka.DecodeInstanceJSON(data)
		if err != nil {
			t.Fatal(err)
		}
		regOK(t, r, decoded)
	}
	stored := make([]*eureka.Instance, len(sent))
	for i, want := range sent {
		got := r.Current(want.App, want.InstanceID)
		if got == nil {
			t.Fatalf("Current(%s, %s) = nil after registering it", want.App, want.InstanceID)
		}
		stored[i] = got
		w := want.Clone()
		w.ActionType, w.LastUpdatedTimestamp = got.ActionType, got.LastUpdatedTimestamp
		if !reflect.DeepEqual(got, w) {
			t.Errorf("stored instance %d =\n%+v\nwant\n%+v", i, got, w)
		}
	}
	a, b, c := stored[0], stored[1], stored[2]
	if !sameString(a.App, b.App) || !sameString(a.VIPAddress, b.VIPAddress) || !sameString(a.DataCenterInfo.Class, b.DataCenterInfo.Class) {
		t.Error("instances of one application hold separate copies of its name, VIP address or data center")
	}
	if reflect.ValueOf(a.Metadata).UnsafePointer() != reflect.ValueOf(b.Metadata).UnsafePointer() {
		t.Error("instances with equal metadata hold separate maps")
	}
	if reflect.ValueOf(a.Metadata).UnsafePointer() == reflect.ValueOf(c.Metadata).UnsafePointer() {
		t.Error("instances with different metadata share a map")
	}
	if !strings.Contains(a.InstanceID, a.HostName) || unsafe.StringData(a.HostName) != unsafe.StringData(a.InstanceID) {
		t.Error("the host name is not stored inside the instance id")
	}

	if err := r.UpdateMetadata(a.App, a.InstanceID, map[string]string{"zone": "zone9"}); err != nil {
		t.Fatal(err)
	}
	if got := r.Current(b.App, b.InstanceID).Metadata["zone"]; got != "zone1" {
		t.Errorf("metadata update of %s changed %s's zone to %q", a.InstanceID, b.InstanceID, got)
	}
	if got := r.Current(a.App, a.InstanceID).Metadata["zone"]; got != "zone9" {
		t.Errorf("zone of %s after the metadata update = %q, want zone9", a.InstanceID, got)
	}
}

// TestPayloadsMatchTheDocument checks every encoded document against the
// document functions applied to the same registry, gzip against identity
// whichever is built first, and the sizes of large documents.
func TestPayloadsMatchTheDocument(t *testing.T) {
	t.Parallel()
	r, _ := newTestRegistry(t, nil)
	for i := range 1200 {
		regOK(t, r, springInstance(i, 1716999998000))
	}
	app := springInstance(0, 0).App
	vip := springInstance(0, 0).VIPAddress
	for round := range 2 {
		for _, d := range []struct {
			kind docKind
			name string
		}{{docFull, ""}, {docDelta, ""}, {docApp, app}, {docVIP, vip}, {docSVIP, vip}} {
			want := r.buildDocument(d.kind, d.name)
			for _, json := range []bool{round == 0, round != 0} {
				plain := r.payload(d.kind, d.name, json, false)
				var w []byte
				switch {
				case d.kind == docApp && json:
					w = eureka.AppendApplicationJSON(nil, want.Applications[0])
				case d.kind == docApp:
					w = eureka.AppendApplicationXML(nil, want.Applications[0])
				case json:
					w = eureka.AppendApplicationsJSON(nil, want)
				default:
					w = eureka.AppendApplicationsXML(nil, want)
				}
				if !bytes.Equal(plain, w) {
					t.Errorf("round %d: payload(%v, %q, json %v) differs from the document:\n%.200s\nwant\n%.200s", round, d.kind, d.name, json, plain, w)
				}
				if d.kind == docFull && cap(plain)-len(plain) > len(plain)/64+4096 {
					t.Errorf("round %d: full registry payload (json %v) has %d bytes of spare capacity for %d", round, json, cap(plain)-len(plain), len(plain))
				}
				zr, err := gzip.NewReader(bytes.NewReader(r.payload(d.kind, d.name, json, true)))
				if err != nil {
					t.Fatal(err)
				}
				unzipped, err := io.ReadAll(zr)
				if err != nil || !bytes.Equal(unzipped, w) {
					t.Errorf("round %d: gzip payload(%v, %q, json %v) does not decompress to the document (err %v)", round, d.kind, d.name, json, err)
				}
			}
		}
		// A new generation: the sizes now come from the first.
		regOK(t, r, springInstance(5000, 1716999998000))
	}
}

// TestDeltaTrimDropsOldDeltas checks that a delta trim drops the delta
// documents of earlier trims, which would otherwise stay until the next change.
func TestDeltaTrimDropsOldDeltas(t *testing.T) {
	t.Parallel()
	r, clk := newTestRegistry(t, nil)
	regOK(t, r, testInstance("APP", "a"))
	clk.Advance(time.Minute)
	regOK(t, r, testInstance("APP", "b"))
	r.payload(docFull, "", true, false)
	r.payload(docDelta, "", true, false)
	clk.Advance(2*time.Minute + time.Second)
	r.trimDeltas()
	r.payload(docDelta, "", true, false)
	r.cache.mu.Lock()
	defer r.cache.mu.Unlock()
	deltas := 0
	for k := range r.cache.payloads {
		if k.kind == docDelta {
			deltas++
		}
	}
	if deltas != 1 || len(r.cache.payloads) != 2 {
		t.Errorf("after a trim the cache holds %d delta payloads of %d, want 1 of 2", deltas, len(r.cache.payloads))
	}
}

// TestStreamedDocumentsMatchCached serves the same registry from two
// registries over HTTP, one keeping every document and one streaming every
// uncompressed registry document, and checks that both answer with the same
// bytes and headers; a streamed document gets its length once one read has
// sent it whole, and gzip documents stay cached.
func TestStreamedDocumentsMatchCached(t *testing.T) {
	t.Parallel()
	cached, clk1 := newTestRegistry(t, func(c *Config) { c.MaxCachedUncompressedBytes = 1 << 30 })
	streamed, clk2 := newTestRegistry(t, func(c *Config) { c.MaxCachedUncompressedBytes = 0 })
	for _, r := range []*Registry{cached, streamed} {
		for i := range 40 {
			regOK(t, r, springInstance(i, 1716999998000))
		}
	}
	clk1.Advance(time.Second)
	clk2.Advance(time.Second)
	for _, r := range []*Registry{cached, streamed} {
		regOK(t, r, springInstance(40, 1716999999000))
		if err := r.SetStatus(springInstance(3, 0).App, springInstance(3, 0).InstanceID, eureka.StatusOutOfService, 0, false); err != nil {
			t.Fatal(err)
		}
	}
	cs := httptest.NewServer(cached.Handler())
	defer cs.Close()
	ss := httptest.NewServer(streamed.Handler())
	defer ss.Close()
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	get := func(base, path, accept string, gz bool) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", base+path, nil)
		req.Header.Set("Accept", accept)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s (Accept %s) = %d, %v; want 200", path, accept, resp.StatusCode, err)
		}
		return resp, body
	}
	vip := springInstance(0, 0).VIPAddress
	for _, path := range []string{"/eureka/apps/", "/eureka/apps/delta", "/eureka/vips/" + vip} {
		for _, accept := range []string{"application/json", "application/xml"} {
			wantResp, want := get(cs.URL, path, accept, false)
			for i := range 2 {
				resp, got := get(ss.URL, path, accept, false)
				if !bytes.Equal(got, want) {
					t.Errorf("GET %s (Accept %s) streamed, read %d:\n%.300s\ndiffers from the cached document:\n%.300s", path, accept, i, got, want)
				}
				for _, h := range []string{"Content-Type", "Content-Encoding", "Vary", versionHeader, epochHeader} {
					if g, w := resp.Header.Values(h), wantResp.Header.Values(h); !reflect.DeepEqual(g, w) {
						t.Errorf("GET %s (Accept %s) streamed, read %d: %s = %q, want %q", path, accept, i, h, g, w)
					}
				}
				// The first read of a small document does not know its
				// length; every later one does.
				if i == 1 && resp.ContentLength != int64(len(want)) {
					t.Errorf("GET %s (Accept %s) streamed, second read: Content-Length %d, want %d", path, accept, resp.ContentLength, len(want))
				}
			}
			_, want = get(cs.URL, path, accept, true)
			_, got := get(ss.URL, path, accept, true)
			if !bytes.Equal(got, want) {
				t.Errorf("GET %s (Accept %s, gzip) differs between the registries", path, accept)
			}
		}
	}
	streamed.cache.mu.Lock()
	defer streamed.cache.mu.Unlock()
	for k, p := range streamed.cache.payloads {
		if k.gzip != (p.body != nil) || k.gzip == (p.doc != nil) {
			t.Errorf("payload %+v: body %d bytes, document %v; want only gzip payloads kept", k, len(p.body), p.doc != nil)
		}
	}
}

// TestLargeDocumentsStreamed checks which documents a limit keeps: a
// registry a little over it is streamed, with its length known from the
// first read (a first large document is measured), and its gzip form kept;
// an application's document is kept whatever its size.
func TestLargeDocumentsStreamed(t *testing.T) {
	t.Parallel()
	r, _ := newTestRegistry(t, func(c *Config) { c.MaxCachedUncompressedBytes = 1 << 20 })
	for i := range 1100 {
		regOK(t, r, springInstance(i, 1716999998000))
	}
	small := r.encoded(docApp, springInstance(0, 0).App, true, false)
	if small.body == nil {
		t.Error("an application's document is streamed; want it kept")
	}
	for _, json := range []bool{true, false} {
		p := r.encoded(docFull, "", json, false)
		if p.body != nil || p.doc == nil {
			t.Fatalf("full registry (json %v, over 1 MiB): body %d bytes, document %v; want it streamed", json, len(p.body), p.doc != nil)
		}
		known := p.size.Load()
		var b bytes.Buffer
		if err := r.stream(&b, p, docFull, json); err != nil {
			t.Fatal(err)
		}
		if known != int64(b.Len()) || b.Len() <= 1<<20 {
			t.Errorf("full registry (json %v): streamed %d bytes, known before the read as %d; want over 1 MiB, known", json, b.Len(), known)
		}
		if gz := r.payload(docFull, "", json, true); len(gz) == 0 || len(gz) > b.Len()/10 {
			t.Errorf("gzip full registry (json %v) = %d bytes, want it kept, a few percent of %d", json, len(gz), b.Len())
		}
	}
	if got := r.cache.held(); got > 1<<20 {
		t.Errorf("the cache holds %d bytes, want the gzip documents and the application only", got)
	}
}
