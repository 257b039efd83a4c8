package registry

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const registerBody = `{"instance":{"instanceId":"host1:orders:8080","hostName":"host1","app":"ORDERS","ipAddr":"10.0.0.11",
"status":"UP","overriddenStatus":"UNKNOWN","port":{"$":8080,"@enabled":"true"},"securePort":{"$":443,"@enabled":"false"},
"countryId":1,"dataCenterInfo":{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"},
"leaseInfo":{"renewalIntervalInSecs":30,"durationInSecs":90},"metadata":{"zone":"z1"},
"vipAddress":"orders","secureVipAddress":"orders","lastDirtyTimestamp":"1716999998000"}}`

type apiTest struct {
	t   *testing.T
	srv *httptest.Server
	r   *Registry
}

func newAPITest(t *testing.T, mutate func(*Config)) *apiTest {
	t.Helper()
	r, _ := newTestRegistry(t, mutate)
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return &apiTest{t: t, srv: srv, r: r}
}

func (a *apiTest) do(method, path, contentType, body string, header ...string) (*http.Response, string) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (a *apiTest) expect(method, path, contentType, body string, want int, header ...string) string {
	a.t.Helper()
	resp, got := a.do(method, path, contentType, body, header...)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s = %d %q, want %d", method, path, resp.StatusCode, got, want)
	}
	return got
}

func TestAPIStatusCodes(t *testing.T) {
	t.Parallel()
	a := newAPITest(t, nil)
	a.expect("POST", "/eureka/apps/orders", "application/json", registerBody, 204)
	a.expect("PUT", "/eureka/apps/orders/host1:orders:8080?status=UP&lastDirtyTimestamp=1716999998000", "", "", 200)
	a.expect("PUT", "/eureka/v2/apps/ORDERS/host1%3Aorders%3A8080", "", "", 200)
	a.expect("PUT", "/eureka/apps/orders/nobody", "", "", 404)
	a.expect("GET", "/eureka/apps/orders/host1:orders:8080", "", "", 200)
	a.expect("GET", "/eureka/instances/host1:orders:8080", "", "", 200)
	a.expect("GET", "/eureka/apps/unknown", "", "", 404)
	a.expect("GET", "/eureka/apps/orders/unknown", "", "", 404)
	a.expect("GET", "/eureka/vips/nothing", "", "", 200)
	a.expect("PUT", "/eureka/apps/orders/host1:orders:8080/status?value=OUT_OF_SERVICE", "", "", 200)
	a.expect("PUT", "/eureka/apps/orders/host1:orders:8080?status=UP", "", "", 200)
	a.expect("PUT", "/eureka/apps/orders/host1:orders:8080/metadata?version=2", "", "", 200)
	a.expect("DELETE", "/eureka/apps/orders/host1:orders:8080/status?value=UP", "", "", 200)
	a.expect("DELETE", "/eureka/apps/orders/host1:orders:8080", "", "", 200)
	a.expect("DELETE", "/eureka/apps/orders/host1:orders:8080", "", "", 404)
	if body := a.expect("PUT", "/eureka/apps/orders/host1:orders:8080", "", "", 404); body != "" {
		t.Errorf("404 heartbeat body = %q, want empty (clients choke on error bodies)", body)
	}
	a.expect("GET", "/eureka/status", "", "", 200)
	a.expect("PATCH", "/eureka/apps/orders", "", "", 405)
	a.expect("GET", "/eureka/nothing/here", "", "", 404)
}

func TestAPIBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	a := newAPITest(t, func(c *Config) { c.MaxBodyBytes = 4096 })
	bad := []struct {
		name, path, ctype, body string
		want                    int
		reason                  string
	}{
		{"malformed json", "/eureka/apps/orders", "application/json", `{"instance":{"hostName":`, 400, "cannot parse request body"},
		{"malformed xml", "/eureka/apps/orders", "application/xml", `<instance><hostName>x</instance>`, 400, "cannot parse request body"},
		{"missing hostName", "/eureka/apps/orders", "application/json", strings.Replace(registerBody, `"hostName":"host1",`, "", 1), 400, "Missing hostname"},
		{"missing app", "/eureka/apps/orders", "application/json", strings.Replace(registerBody, `"app":"ORDERS",`, "", 1), 400, "Missing appName"},
		{"app mismatch", "/eureka/apps/payments", "application/json", registerBody, 400, "Mismatched appName, expecting PAYMENTS but was ORDERS"},
		{"unknown status", "/eureka/apps/orders", "application/json", strings.Replace(registerBody, `"status":"UP"`, `"status":"SLEEPY"`, 1), 400, "SLEEPY"},
		{"oversize body", "/eureka/apps/orders", "application/json", registerBody + strings.Repeat(" ", 5000), 413, "larger than 4096"},
		{"wrong content type", "/eureka/apps/orders", "text/plain", registerBody, 415, "Content-Type"},
	}
	for _, tt := range bad {
		resp, body := a.do("POST", tt.path, tt.ctype, tt.body)
		if resp.StatusCode != tt.want || !strings.Contains(body, tt.reason) {
			t.Errorf("%s: POST = %d %q, want %d with %q", tt.name, resp.StatusCode, body, tt.want, tt.reason)
		}
	}
	if v, _ := a.r.Version(); v != 0 {
		t.Fatalf("registry version after bad input = %d, want 0 (nothing changed)", v)
	}
	a.expect("POST", "/eureka/apps/orders", "application/json", registerBody, 204)
	a.expect("PUT", "/eureka/apps/orders/host1:orders:8080/status?value=SLEEPY", "", "", 400)
	a.expect("PUT", "/eureka/apps/orders/host1:orders:8080/status", "", "", 400)
	a.expect("PUT", "/eureka/apps/orders/host1:orders:8080?lastDirtyTimestamp=yesterday", "", "", 400)
	a.expect("POST", "/eureka/peerreplication/batch", "application/json", `{"replicationList":[`, 400)
	in, err := a.r.Instance("ORDERS", "host1:orders:8080")
	if err != nil || in.Status != "UP" {
		t.Fatalf("instance after refused requests = %+v, %v; want it UP and unchanged", in, err)
	}
}

func TestAPINegotiation(t *testing.T) {
	t.Parallel()
	a := newAPITest(t, nil)
	a.expect("POST", "/eureka/apps/orders", "application/json", registerBody, 204)

	resp, body := a.do("GET", "/eureka/apps/", "", "")
	if ct := resp.Header.Get("Content-Type"); ct != "application/xml" || !strings.HasPrefix(body, "<applications>") {
		t.Errorf("GET /apps/ without Accept = %s %.40q, want XML", ct, body)
	}
	if resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("GET /apps/ without Accept-Encoding was encoded %q; never gzip unasked", resp.Header.Get("Content-Encoding"))
	}
	resp, body = a.do("GET", "/eureka/apps", "", "", "Accept", "application/json;charset=UTF-8")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var doc struct {
		Applications struct {
			VersionsDelta string `json:"versions__delta"`
			Hash          string `json:"apps__hashcode"`
			Application   []struct {
				Name     string `json:"name"`
				Instance []map[string]any
			} `json:"application"`
		} `json:"applications"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("GET /apps JSON: %v in %s", err, body)
	}
	if doc.Applications.VersionsDelta != "1" || doc.Applications.Hash != "UP_1_" || len(doc.Applications.Application) != 1 ||
		doc.Applications.Application[0].Name != "ORDERS" || len(doc.Applications.Application[0].Instance) != 1 {
		t.Errorf("GET /apps JSON = %s", body)
	}

	resp, body = a.do("GET", "/eureka/apps/delta", "", "", "Accept", "application/json", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("delta with Accept-Encoding gzip not gzipped: %v", resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !strings.Contains(string(plain), `"actionType":"ADDED"`) {
		t.Errorf("delta = %s, want the ADDED instance", plain)
	}
}

func TestAPIBatch(t *testing.T) {
	t.Parallel()
	a := newAPITest(t, nil)
	inst := registerBody[len(`{"instance":`) : len(registerBody)-1]
	batch := `{"replicationList":[
{"appName":"ORDERS","id":"host1:orders:8080","lastDirtyTimestamp":1716999998000,"status":"UP","instanceInfo":` + inst + `,"action":"Register"},
{"appName":"ORDERS","id":"host1:orders:8080","lastDirtyTimestamp":1716999998000,"status":"UP","action":"Heartbeat"},
{"appName":"ORDERS","id":"host1:orders:8080","lastDirtyTimestamp":1,"status":"UP","action":"Heartbeat"},
{"appName":"ORDERS","id":"ghost","action":"Cancel"},
{"appName":"ORDERS","id":"host1:orders:8080","lastDirtyTimestamp":1716999998000,"status":"OUT_OF_SERVICE","action":"StatusUpdate"},
{"appName":"ORDERS","id":"host1:orders:8080","action":"Explode"}]}`
	body := a.expect("POST", "/eureka/peerreplication/batch/", "application/json", batch, 200)
	var resp struct {
		ResponseList []struct {
			StatusCode     int             `json:"statusCode"`
			ResponseEntity json.RawMessage `json:"responseEntity"`
		} `json:"responseList"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("batch response %s: %v", body, err)
	}
	want := []int{200, 200, 409, 404, 200, 400}
	if len(resp.ResponseList) != len(want) {
		t.Fatalf("batch response has %d items, want %d: %s", len(resp.ResponseList), len(want), body)
	}
	for i, w := range want {
		if resp.ResponseList[i].StatusCode != w {
			t.Errorf("item %d status = %d, want %d", i, resp.ResponseList[i].StatusCode, w)
		}
	}
	if len(resp.ResponseList[2].ResponseEntity) == 0 {
		t.Errorf("409 item carries no responseEntity: %s", body)
	}
	in, err := a.r.Instance("ORDERS", "host1:orders:8080")
	if err != nil || in.Status != "OUT_OF_SERVICE" {
		t.Fatalf("after batch: %+v %v, want OUT_OF_SERVICE", in, err)
	}
}

func BenchmarkRenewHTTP(b *testing.B) {
	r, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	in := testInstance("APP", "host:app:8080")
	if err := r.Register("APP", in, false); err != nil {
		b.Fatal(err)
	}
	h := r.Handler()
	req := httptest.NewRequest("PUT", "/eureka/apps/APP/host:app:8080?status=UP&lastDirtyTimestamp=1", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	if w.code != 200 {
		b.Fatalf("renew answered %d", w.code)
	}
}

// discardWriter is a ResponseWriter that keeps only the status code.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

func TestRenewHandlerDoesNotAllocate(t *testing.T) {
	r, _ := newTestRegistry(t, nil)
	regOK(t, r, testInstance("APP", "host:app:8080"))
	h := r.Handler()
	req := httptest.NewRequest("PUT", "/eureka/apps/APP/host:app:8080?status=UP&lastDirtyTimestamp=1", nil)
	w := &discardWriter{h: http.Header{}}
	if n := testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, req) }); n != 0 || w.code != 200 {
		t.Errorf("PUT renew through the handler: %v allocations, status %d; want 0 and 200", n, w.code)
	}
}

func TestDeltaTrimKeepsOtherPayloads(t *testing.T) {
	t.Parallel()
	r, clk := newTestRegistry(t, nil)
	regOK(t, r, testInstance("APP", "a"))
	full := r.payload(docFull, "", true, false)
	if d := r.payload(docDelta, "", true, false); !strings.Contains(string(d), `"instanceId":"a"`) {
		t.Fatalf("delta before retention = %s, want the registration", d)
	}
	clk.Advance(3*time.Minute + time.Second)
	r.trimDeltas()
	if d := r.payload(docDelta, "", true, false); strings.Contains(string(d), `"instanceId":"a"`) {
		t.Fatalf("delta after retention still has the registration: %s", d)
	}
	if again := r.payload(docFull, "", true, false); &again[0] != &full[0] {
		t.Error("a delta trim threw away the cached full registry")
	}
}
