package gateway

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/testenv"
)

// writeConfig writes text to a file in the test's temporary directory.
func writeConfig(t testing.TB, name, text string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// startGatewayProcess runs `switchboard gateway --config file --port P` on a
// free port and waits until it answers /actuator/health. It returns the
// gateway's base URL.
func startGatewayProcess(t testing.TB, file string) (string, *testenv.Process) {
	t.Helper()
	bin := testenv.Switchboard(t)
	var lastErr error
	for range 3 { // the free port may be taken before the gateway binds it
		port := strconv.Itoa(testenv.FreePort(t))
		p := testenv.StartProcess(t, bin, []string{"gateway", "--config", file, "--port", port, "--log-level", "warn"})
		url := "http://127.0.0.1:" + port
		if lastErr = waitHealthy(p, url, 15*time.Second); lastErr == nil {
			return url, p
		}
		p.Kill()
	}
	t.Fatalf("switchboard gateway did not start: %v", lastErr)
	return "", nil
}

func waitHealthy(p *testenv.Process, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url + "/actuator/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/actuator/health: %s", resp.Status)
		}
		if exited, code := p.Exited(); exited {
			return fmt.Errorf("exited with status %d:\n%s", code, p.Output())
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
