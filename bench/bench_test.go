package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	t.Parallel()
	out := "Running 3s test @ http://127.0.0.1:1/\n" +
		"BENCH requests=3000 duration_us=3000000 bytes=330000 p50_us=250 p99_us=1500 connect=1 read=2 write=0 status=7 timeout=3\n"
	var s sample
	if err := parseWrk(out, &s); err != nil {
		t.Fatalf("parseWrk: %v", err)
	}
	want := sample{requests: 3000, elapsed: 3 * time.Second, bytes: 330000, p50: 250 * time.Microsecond,
		p99: 1500 * time.Microsecond, errors: 6, non2xx: 7}
	if s != want {
		t.Errorf("parseWrk = %+v, want %+v", s, want)
	}
	if got := s.rps(); got != 1000 {
		t.Errorf("rps = %v, want 1000", got)
	}
	if err := parseWrk("wrk: connection refused\n", &s); err == nil {
		t.Error("parseWrk without a BENCH line: no error")
	}
}

func TestSeriesMedianAndSpread(t *testing.T) {
	t.Parallel()
	run := func(reqs int64) sample { return sample{requests: reqs, elapsed: time.Second} }
	s := series{run(900), run(1000), run(1200)}
	if got := s.median().rps(); got != 1000 {
		t.Errorf("median = %v req/s, want 1000", got)
	}
	if got := s.spread(); got < 0.2999 || got > 0.3001 {
		t.Errorf("spread = %v, want 0.3", got)
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(ds, tt.p); got != tt.want {
			t.Errorf("percentile(1..100 ms, %v) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

// TestFloorServesCapturedDocuments checks that the floor answers each
// variant with the bytes loaded for it, and writes with no body.
func TestFloorServesCapturedDocuments(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range floorFiles {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(newFloor(dir))
	t.Cleanup(srv.Close)
	get := func(method, path string, headers ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(http.MethodPost, "/bench/load"); code != http.StatusOK {
		t.Fatalf("POST /bench/load = %d, want 200", code)
	}
	tests := []struct {
		path, accept, encoding, want string
	}{
		{"/eureka/apps", "application/json", "", "full.json"},
		{"/eureka/apps", "application/json", "gzip", "full.json.gz"},
		{"/eureka/apps", "", "", "full.xml"},
		{"/eureka/apps/delta", "application/xml", "gzip", "delta.xml.gz"},
	}
	for _, tt := range tests {
		code, body := get(http.MethodGet, tt.path, "Accept", tt.accept, "Accept-Encoding", tt.encoding)
		if code != http.StatusOK || body != tt.want {
			t.Errorf("GET %s (Accept %q, Accept-Encoding %q) = %d %q, want 200 %q", tt.path, tt.accept, tt.encoding, code, body, tt.want)
		}
	}
	if code, body := get(http.MethodPut, "/eureka/apps/A/1"); code != http.StatusOK || body != "" {
		t.Errorf("PUT heartbeat = %d %q, want 200 and no body", code, body)
	}
}

func TestBackendBodyIs100Bytes(t *testing.T) {
	t.Parallel()
	if len(backendBody) != 100 {
		t.Errorf("backend body is %d bytes, want 100", len(backendBody))
	}
}
