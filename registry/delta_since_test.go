package registry

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
)

// newSinceTest returns an API test and its registry's clock.
func newSinceTest(t *testing.T, mutate func(*Config)) (*apiTest, *fakeClock) {
	t.Helper()
	r, clk := newTestRegistry(t, mutate)
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return &apiTest{t: t, srv: srv, r: r}, clk
}

// version returns the registry version /apps announces.
func (a *apiTest) version() uint64 {
	a.t.Helper()
	resp, _ := a.do("GET", "/eureka/apps", "", "")
	v, err := strconv.ParseUint(resp.Header.Get(versionHeader), 10, 64)
	if err != nil {
		a.t.Fatalf("GET /eureka/apps: %s %q: %v", versionHeader, resp.Header.Get(versionHeader), err)
	}
	return v
}

// since fetches the JSON delta since v and decodes it; it fails the test
// unless the answer is a 200 whose headers agree with the document.
func (a *apiTest) since(v uint64) *eureka.Applications {
	a.t.Helper()
	path := "/eureka/apps/delta?since=" + strconv.FormatUint(v, 10)
	resp, body := a.do("GET", path, "", "", "Accept", "application/json")
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("GET %s = %d %q, want 200", path, resp.StatusCode, body)
	}
	doc, err := eureka.DecodeApplicationsJSON([]byte(body))
	if err != nil {
		a.t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
	if got, want := resp.Header.Get(versionHeader), strconv.FormatInt(doc.VersionsDelta, 10); got != want {
		a.t.Errorf("GET %s: %s = %s, versions__delta %s; want them equal", path, versionHeader, got, want)
	}
	if got := resp.Header.Get(epochHeader); got != a.r.epoch() {
		a.t.Errorf("GET %s: %s = %q, want %q", path, epochHeader, got, a.r.epoch())
	}
	return doc
}

// entries lists a delta's instances as APP/id=STATUS/ACTION, in order.
func entries(doc *eureka.Applications) []string {
	var out []string
	for _, app := range doc.Applications {
		for _, in := range app.Instances {
			out = append(out, app.Name+"/"+in.ID()+"="+string(in.Status)+"/"+string(in.ActionType))
		}
	}
	return out
}

// fullHash returns apps__hashcode of the full registry.
func (a *apiTest) fullHash() string {
	a.t.Helper()
	body := a.expect("GET", "/eureka/apps", "", "", http.StatusOK, "Accept", "application/json")
	doc, err := eureka.DecodeApplicationsJSON([]byte(body))
	if err != nil {
		a.t.Fatal(err)
	}
	return doc.AppsHashcode
}

func TestDeltaSinceHoldsOnlyLaterChanges(t *testing.T) {
	t.Parallel()
	a, _ := newSinceTest(t, nil)
	r := a.r
	for _, id := range []string{"a-1", "a-2"} {
		if err := r.Register("A", testInstance("A", id), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Register("B", testInstance("B", "b-1"), false); err != nil {
		t.Fatal(err)
	}
	v := a.version()
	if v != 3 {
		t.Fatalf("version after three registrations = %d, want 3", v)
	}
	if got := entries(a.since(v)); got != nil {
		t.Errorf("delta since the current version = %v, want no instances", got)
	}

	if err := r.SetStatus("A", "a-1", eureka.StatusDown, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := r.SetStatus("A", "a-1", eureka.StatusOutOfService, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := r.Cancel("B", "b-1", false); err != nil {
		t.Fatal(err)
	}
	if err := r.Register("C", testInstance("C", "c-1"), false); err != nil {
		t.Fatal(err)
	}
	doc := a.since(v)
	want := []string{"A/a-1=OUT_OF_SERVICE/MODIFIED", "B/b-1=UP/DELETED", "C/c-1=UP/ADDED"}
	if got := entries(doc); !slices.Equal(got, want) {
		t.Errorf("delta since %d = %v, want %v (the latest change of each)", v, got, want)
	}
	if doc.VersionsDelta != 7 {
		t.Errorf("versions__delta = %d, want 7", doc.VersionsDelta)
	}
	if h := a.fullHash(); doc.AppsHashcode != h || h != "OUT_OF_SERVICE_1_UP_2_" {
		t.Errorf("apps__hashcode = %q, full registry's %q; want both OUT_OF_SERVICE_1_UP_2_", doc.AppsHashcode, h)
	}
	if got := entries(a.since(6)); !slices.Equal(got, []string{"C/c-1=UP/ADDED"}) {
		t.Errorf("delta since 6 = %v, want only c-1", got)
	}
	if in := doc.Applications[2].Instances[0]; in.LeaseInfo.RegistrationTimestamp == 0 {
		t.Errorf("c-1 in the delta has no lease times: %+v", in.LeaseInfo)
	}

	// Plain /apps/delta is Eureka's: every change kept, whatever since was asked.
	body := a.expect("GET", "/eureka/apps/delta", "", "", http.StatusOK, "Accept", "application/json")
	plain, err := eureka.DecodeApplicationsJSON([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"A/a-1=OUT_OF_SERVICE/MODIFIED", "A/a-2=UP/ADDED", "B/b-1=UP/DELETED", "C/c-1=UP/ADDED"}
	if got := entries(plain); !slices.Equal(got, want) {
		t.Errorf("/apps/delta = %v, want %v", got, want)
	}
}

func TestDeltaSinceEncodings(t *testing.T) {
	t.Parallel()
	a, _ := newSinceTest(t, nil)
	for _, id := range []string{"a-1", "a-2"} {
		if err := a.r.Register("A", testInstance("A", id), false); err != nil {
			t.Fatal(err)
		}
	}
	const path = "/eureka/apps/delta?since=1"
	for _, tt := range []struct {
		name, accept, contentType string
		decode                    func([]byte) (*eureka.Applications, error)
	}{
		{"json", "application/json", "application/json", eureka.DecodeApplicationsJSON},
		{"xml", "application/xml", "application/xml", eureka.DecodeApplicationsXML},
		{"no accept is xml", "", "application/xml", eureka.DecodeApplicationsXML},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var plain []byte
			for _, gz := range []bool{false, true} {
				req, _ := http.NewRequest("GET", a.srv.URL+path, nil)
				if tt.accept != "" {
					req.Header.Set("Accept", tt.accept)
				}
				if gz {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				resp, err := http.DefaultTransport.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tt.contentType {
					t.Fatalf("GET %s (gzip %v) = %d %s, want 200 %s", path, gz, resp.StatusCode, resp.Header.Get("Content-Type"), tt.contentType)
				}
				if got := resp.Header.Get(versionHeader); got != "2" {
					t.Errorf("GET %s (gzip %v): %s = %q, want 2", path, gz, versionHeader, got)
				}
				if gz {
					if resp.Header.Get("Content-Encoding") != "gzip" {
						t.Fatalf("GET %s with Accept-Encoding gzip: Content-Encoding %q", path, resp.Header.Get("Content-Encoding"))
					}
					zr, err := gzip.NewReader(bytes.NewReader(body))
					if err != nil {
						t.Fatal(err)
					}
					if body, err = io.ReadAll(zr); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(body, plain) {
						t.Errorf("gunzipped body differs from the identity body:\n%s\n%s", body, plain)
					}
				} else if resp.Header.Get("Content-Encoding") != "" {
					t.Errorf("GET %s without gzip: Content-Encoding %q", path, resp.Header.Get("Content-Encoding"))
				}
				plain = body
				doc, err := tt.decode(body)
				if err != nil {
					t.Fatalf("decode: %v\n%s", err, body)
				}
				if got := entries(doc); !slices.Equal(got, []string{"A/a-2=UP/ADDED"}) || doc.AppsHashcode != "UP_2_" || doc.VersionsDelta != 2 {
					t.Errorf("delta since 1 = %v %q %d, want [A/a-2=UP/ADDED] UP_2_ 2", got, doc.AppsHashcode, doc.VersionsDelta)
				}
			}
		})
	}
}

func TestDeltaSinceRefusals(t *testing.T) {
	t.Parallel()
	a, clk := newSinceTest(t, nil)
	r := a.r
	if err := r.Register("A", testInstance("A", "a-1"), false); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	if err := r.Register("A", testInstance("A", "a-2"), false); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	r.trimDeltas() // drops version 1 only
	if err := r.Register("A", testInstance("A", "a-3"), false); err != nil {
		t.Fatal(err)
	}
	epoch := r.epoch()
	tests := []struct {
		query string
		want  int
		says  string // in the body
	}{
		{"since=1", http.StatusOK, ""}, // versions 2 and 3 are kept
		{"since=3", http.StatusOK, ""},
		{"since=0", http.StatusGone, "since 0: changes after it have left the delta queue"},
		{"since=4", http.StatusConflict, "since 4: this registry is at version 3"},
		{"since=1&epoch=" + epoch, http.StatusOK, ""},
		{"since=1&epoch=other", http.StatusConflict, `epoch "other": this registry's is "` + epoch + `"`},
		{"since=abc", http.StatusBadRequest, `since "abc" is not a registry version`},
		{"since=", http.StatusBadRequest, `since "" is not a registry version`},
		{"since=-1", http.StatusBadRequest, `since "-1"`},
	}
	for _, tt := range tests {
		resp, body := a.do("GET", "/eureka/apps/delta?"+tt.query, "", "", "Accept", "application/json")
		if resp.StatusCode != tt.want || !strings.Contains(body, tt.says) {
			t.Errorf("GET /eureka/apps/delta?%s = %d %q, want %d saying %q", tt.query, resp.StatusCode, body, tt.want, tt.says)
		}
	}

	off, _ := newSinceTest(t, func(c *Config) { c.DisableDelta = true })
	off.expect("GET", "/eureka/apps/delta?since=0", "", "", http.StatusForbidden)
}

// TestDeltaSinceHashFollowsTheRegistry checks the hash the deltas carry,
// which the registry keeps by following its change log, against a count of
// the full registry, over random registrations, status changes, override
// removals and cancels, and across a trim that makes it count again.
func TestDeltaSinceHashFollowsTheRegistry(t *testing.T) {
	t.Parallel()
	a, clk := newSinceTest(t, nil)
	r := a.r
	rng := rand.New(rand.NewPCG(1, 2))
	statuses := eureka.Statuses
	id := func() (string, string) {
		app := "APP-" + strconv.Itoa(rng.IntN(4))
		return app, app + "-" + strconv.Itoa(rng.IntN(6))
	}
	var v uint64
	for round := range 300 {
		app, inst := id()
		switch rng.IntN(4) {
		case 0:
			in := testInstance(app, inst)
			in.Status = statuses[rng.IntN(len(statuses))]
			r.Register(app, in, false)
		case 1:
			r.SetStatus(app, inst, statuses[rng.IntN(len(statuses))], 0, false)
		case 2:
			r.DeleteStatusOverride(app, inst, statuses[rng.IntN(len(statuses))], 0, false)
		case 3:
			r.Cancel(app, inst, false)
		}
		if round%50 == 49 {
			clk.Advance(4 * time.Minute)
			r.trimDeltas()
			v = a.version()
		}
		if rng.IntN(3) == 0 {
			doc := a.since(v)
			if h := a.fullHash(); doc.AppsHashcode != h {
				t.Fatalf("round %d: delta since %d has apps__hashcode %q, the full registry %q", round, v, doc.AppsHashcode, h)
			}
			v = uint64(doc.VersionsDelta)
		}
	}
}

func TestDocumentsNameTheirEpoch(t *testing.T) {
	t.Parallel()
	a, _ := newSinceTest(t, nil)
	for _, path := range []string{"/eureka/apps", "/eureka/apps/delta", "/eureka/watch?version=9&wait=1ms"} {
		resp, _ := a.do("GET", path, "", "")
		if got := resp.Header.Get(epochHeader); got == "" || got != a.r.epoch() {
			t.Errorf("GET %s: %s = %q, want %q", path, epochHeader, got, a.r.epoch())
		}
	}
	other, _ := newTestRegistry(t, nil)
	other.started = other.started.Add(time.Nanosecond)
	if other.epoch() == a.r.epoch() {
		t.Errorf("registries started a nanosecond apart share epoch %q", other.epoch())
	}
}
