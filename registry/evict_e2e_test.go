package registry_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/testenv"
	"github.com/switchboard-dev/switchboard/registry"
)

// TestEvictionEndToEnd runs the real timers with short intervals: an
// instance that stops renewing is evicted about one lease duration later,
// while one that keeps renewing stays.
func TestEvictionEndToEnd(t *testing.T) {
	t.Parallel()
	cfg := registry.DefaultConfig()
	cfg.EnableSelfPreservation = false
	cfg.EvictionInterval = 100 * time.Millisecond
	reg := testenv.StartRegistry(t, &cfg)

	body := func(id string) string {
		return fmt.Sprintf(`{"instance":{"instanceId":%q,"hostName":"h","app":"E2E","ipAddr":"10.0.0.1","status":"UP",
"port":{"$":80,"@enabled":"true"},"leaseInfo":{"renewalIntervalInSecs":1,"durationInSecs":1},
"dataCenterInfo":{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"}}}`, id)
	}
	for _, id := range []string{"quiet", "alive"} {
		resp, err := http.Post(reg.URL+"/apps/E2E", "application/json", strings.NewReader(body(id)))
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("register %s: %v %v", id, resp, err)
		}
		resp.Body.Close()
	}
	status := func(id string) int {
		resp, err := http.Get(reg.URL + "/apps/E2E/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	start := time.Now()
	testenv.Eventually(t, 10*time.Second, func() error {
		req, _ := http.NewRequest(http.MethodPut, reg.URL+"/apps/E2E/alive", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		if reg.Current("E2E", "quiet") != nil {
			return fmt.Errorf("quiet instance not evicted yet")
		}
		return nil
	})
	if elapsed := time.Since(start); elapsed < time.Second {
		t.Errorf("evicted after %v, before its 1 s lease ran out", elapsed)
	}
	if got := status("alive"); got != http.StatusOK {
		t.Errorf("renewing instance: GET = %d, want 200", got)
	}
	if got := status("quiet"); got != http.StatusNotFound {
		t.Errorf("evicted instance: GET = %d, want 404", got)
	}
}
