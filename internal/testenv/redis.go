package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// StartRedis runs redis-server on a free 127.0.0.1 port, without persistence, until the
// test ends, and returns its address once it answers PING. Without redis-server the
// test is skipped, or fails under CI.
func StartRedis(t testing.TB) (addr string) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if InCI() {
			t.Fatal("redis-server not found; CI must install it: apt-get install redis-server")
		}
		t.Skip("install redis-server: apt-get install redis-server")
	}
	var lastErr error
	for range 3 { // the free port may be taken before redis-server binds it
		port := strconv.Itoa(FreePort(t))
		addr = net.JoinHostPort("127.0.0.1", port)
		p := StartProcess(t, bin, []string{
			"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", t.TempDir(),
		})
		if lastErr = waitRedis(p, addr, 10*time.Second); lastErr == nil {
			return addr
		}
		p.Kill()
	}
	t.Fatalf("redis-server did not start: %v", lastErr)
	return ""
}

// waitRedis waits until the server at addr answers PING or its process exits.
func waitRedis(p *Process, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		err := pingRedis(addr)
		if err == nil {
			return nil
		}
		if exited, code := p.Exited(); exited {
			return fmt.Errorf("redis-server exited with status %d:\n%s", code, p.Output())
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pingRedis sends PING in Redis's inline protocol and expects +PONG.
func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING: unexpected reply %q", strings.TrimSpace(line))
	}
	return nil
}
