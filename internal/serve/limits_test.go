package serve_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSlowloris holds 300 connections that send their headers a byte at a
// time. Normal requests keep being answered, and the server closes every
// slow connection once its read-header timeout passes.
func TestSlowloris(t *testing.T) {
	t.Parallel()
	const (
		slow          = 300
		headerTimeout = 500 * time.Millisecond
		trickle       = 50 * time.Millisecond // between bytes
	)
	opts := testOptions()
	opts.Limits.ReadHeaderTimeout = headerTimeout
	ls := start(t, opts, http.HandlerFunc(hello), nil)
	addr := ls.Addr().String()

	var closed atomic.Int64
	var worst atomic.Int64 // longest time a slow connection lived, in ns
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range slow {
		wg.Go(func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Errorf("slow connection %d: %v", i, err)
				return
			}
			defer conn.Close()
			opened := time.Now()
			gone := make(chan struct{})
			go func() {
				// The server never answers a slow client; it closes it.
				io.Copy(io.Discard, conn)
				close(gone)
			}()
			msg := []byte("GET / HTTP/1.1\r\nHost: slow\r\nX-Padding: " + strings.Repeat("a", 200))
			for _, b := range msg {
				select {
				case <-gone:
				case <-time.After(trickle):
					conn.Write([]byte{b})
					continue
				}
				break
			}
			select {
			case <-gone:
				closed.Add(1)
				d := int64(time.Since(opened))
				for {
					w := worst.Load()
					if d <= w || worst.CompareAndSwap(w, d) {
						break
					}
				}
			case <-time.After(5 * time.Second):
				t.Errorf("slow connection %d still open after 5s", i)
			}
		})
	}

	// Meanwhile, normal requests are answered promptly.
	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	n := 0
	for time.Since(begin) < 2*time.Second {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			t.Fatalf("normal request %d during the attack: %v", n, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "hello" {
			t.Fatalf("normal request %d: body %q, want %q", n, body, "hello")
		}
		n++
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	if got := closed.Load(); got != slow {
		t.Errorf("server closed %d of %d slow connections, want all", got, slow)
	}
	// Each is cut at the header timeout, give or take the scheduler.
	if w := time.Duration(worst.Load()); w > headerTimeout+time.Second {
		t.Errorf("a slow connection lived %v; want about the read-header timeout, %v", w, headerTimeout)
	}
	t.Logf("%d normal requests answered while %d slow connections were held", n, slow)
}

func TestOversizeHeaders(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Limits.MaxHeaderBytes = 4 << 10
	ls := start(t, opts, http.HandlerFunc(hello), nil)
	url := "http://" + ls.Addr().String() + "/"
	for _, tt := range []struct {
		size int
		want int
	}{
		{1 << 10, http.StatusOK},
		{64 << 10, http.StatusRequestHeaderFieldsTooLarge},
	} {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("X-Big", strings.Repeat("b", tt.size))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET with a %d-byte header: %v", tt.size, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("GET with a %d-byte header: %d, want %d", tt.size, resp.StatusCode, tt.want)
		}
	}
}

func TestOversizeBody(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Limits.MaxBodyBytes = 1 << 10
	var called atomic.Int64
	ls := start(t, opts, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called.Add(1)
		data, err := io.ReadAll(r.Body)
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		fmt.Fprintf(w, "%d", len(data))
	}), nil)
	url := "http://" + ls.Addr().String() + "/"
	tests := []struct {
		name        string
		size        int
		chunked     bool
		want        int
		wantHandler bool
	}{
		{"under the cap", 1 << 10, false, http.StatusOK, true},
		{"Content-Length over the cap", 2 << 10, false, http.StatusRequestEntityTooLarge, false},
		{"chunked under the cap", 1 << 10, true, http.StatusOK, true},
		{"chunked over the cap", 4 << 10, true, http.StatusRequestEntityTooLarge, true},
	}
	for _, tt := range tests {
		var body io.Reader = bytes.NewReader(make([]byte, tt.size))
		if tt.chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
		before := called.Load()
		resp, err := http.Post(url, "application/octet-stream", body)
		if err != nil {
			t.Fatalf("%s: POST: %v", tt.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: POST %d bytes: %d, want %d", tt.name, tt.size, resp.StatusCode, tt.want)
		}
		if got := called.Load() > before; got != tt.wantHandler {
			t.Errorf("%s: handler called = %v, want %v", tt.name, got, tt.wantHandler)
		}
	}
}

// TestMaxConnections: beyond the cap a new connection waits, unanswered,
// while the open ones keep working; it is served once one closes.
func TestMaxConnections(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Limits.MaxConnections = 2
	ls := start(t, opts, http.HandlerFunc(hello), nil)
	addr := ls.Addr().String()

	// get sends a request on conn and reads the answer.
	get := func(conn net.Conn, br *bufio.Reader) error {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if body, _ := io.ReadAll(resp.Body); string(body) != "hello" {
			return fmt.Errorf("body %q, want %q", body, "hello")
		}
		return nil
	}
	var conns [2]net.Conn
	var readers [2]*bufio.Reader
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i], readers[i] = c, bufio.NewReader(c)
		if err := get(c, readers[i]); err != nil {
			t.Fatalf("request on connection %d of 2: %v", i+1, err)
		}
	}

	third := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", addr) // the kernel completes it; we do not accept it
		if err != nil {
			third <- err
			return
		}
		defer c.Close()
		third <- get(c, bufio.NewReader(c))
	}()
	select {
	case err := <-third:
		t.Fatalf("a third connection was served at a cap of 2 (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	for i := range conns {
		if err := get(conns[i], readers[i]); err != nil {
			t.Fatalf("request on open connection %d at the cap: %v", i+1, err)
		}
	}
	conns[0].Close()
	select {
	case err := <-third:
		if err != nil {
			t.Fatalf("third connection, once one closed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("third connection not served 5s after another closed")
	}
}
