package filter

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRequestSizeContentLength(t *testing.T) {
	t.Parallel()
	f := basicMust(t)(RequestSize(DefaultRequestSize))
	tests := []struct {
		name       string
		length     int64
		wantStatus int
		wantMsg    string
	}{
		{"under", 4_999_999, 200, ""},
		{"at the limit", 5_000_000, 200, ""},
		{"over", 6_000_000, 413, "Request size is larger than permissible limit. Request size is 6.0 MB where permissible limit is 5.0 MB"},
		{"just over", 5_000_001, 413, "Request size is larger than permissible limit. Request size is 5.0 MB where permissible limit is 5.0 MB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/upload", strings.NewReader("x"))
			r.ContentLength = tt.length
			rec, got := basicServe(t, f, r, nil)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if (got != nil) != (tt.wantStatus == 200) {
				t.Errorf("proxied = %v, want %v", got != nil, tt.wantStatus == 200)
			}
			if msg := rec.Header().Get("errorMessage"); msg != tt.wantMsg {
				t.Errorf("errorMessage = %q, want %q", msg, tt.wantMsg)
			}
		})
	}
}

func TestRequestSizeStreamed(t *testing.T) {
	t.Parallel()
	received := make(chan int, 4)
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			received <- -1
			http.Error(w, "short body", http.StatusBadRequest)
			return
		}
		received <- int(n)
		io.WriteString(w, "stored")
	})
	gw := basicGateway(t, backend, basicMust(t)(RequestSize(1000)))
	post := func(n int) *http.Response {
		t.Helper()
		// A reader of unknown length makes the client send the body chunked.
		body := io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("a"), n)))
		req, _ := http.NewRequest("POST", gw+"/upload", body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if req.ContentLength != 0 && req.ContentLength != -1 {
			t.Fatalf("request was sent with Content-Length %d, want chunked", req.ContentLength)
		}
		return resp
	}
	if resp := post(1000); resp.StatusCode != 200 || <-received != 1000 {
		t.Errorf("1000 bytes chunked: status %d, want 200 and the whole body upstream", resp.StatusCode)
	}
	resp := post(200_000)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("200000 bytes chunked: status %d, want 413", resp.StatusCode)
	}
	want := "Request size is larger than permissible limit. Request size is more than 1.0 kB where permissible limit is 1.0 kB"
	if got := resp.Header.Get("errorMessage"); got != want {
		t.Errorf("errorMessage = %q, want %q", got, want)
	}
	select {
	case n := <-received:
		if n != -1 {
			t.Errorf("backend received a complete body of %d bytes", n)
		}
	default:
	}
}

func TestLimitedBody(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 9, 10, 11, 100} {
		b := &limitedBody{rc: io.NopCloser(strings.NewReader(strings.Repeat("x", n))), remaining: 10, limit: 10}
		got, err := io.ReadAll(b)
		over := n > 10
		if over != (err != nil) || len(got) > 10 {
			t.Errorf("%d bytes: read %d, err %v", n, len(got), err)
		}
		if over {
			if _, ok := err.(*http.MaxBytesError); !ok {
				t.Errorf("%d bytes: error %T, want *http.MaxBytesError", n, err)
			}
		}
	}
}

func TestReadableByteCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{999, "999 B"},
		{1000, "1.0 kB"},
		{1050, "1.1 kB"},
		{1250, "1.3 kB"}, // Java rounds half up; Go's %.1f would say 1.2
		{1949, "1.9 kB"},
		{999_999, "1000.0 kB"},
		{5_000_000, "5.0 MB"},
		{5_242_880, "5.2 MB"},
		{6_000_000, "6.0 MB"},
		{1_000_000_000, "1.0 GB"},
		{9_223_372_036_854_775_807, "9.2 EB"},
	}
	for _, tt := range tests {
		if got := readableByteCount(tt.n); got != tt.want {
			t.Errorf("readableByteCount(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestParseDataSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"5000000", 5_000_000, true},
		{"5MB", 5 << 20, true},
		{"500KB", 500 << 10, true},
		{"10B", 10, true},
		{"1GB", 1 << 30, true},
		{"2TB", 2 << 40, true},
		{"5mb", 5 << 20, true},
		{" 5 MB ", 5 << 20, true},
		{"+7", 7, true},
		{"0", 0, true},
		{"", 0, false},
		{"MB", 0, false},
		{"5XB", 0, false},
		{"-5MB", 0, false},
		{"1.5MB", 0, false},
		{"99999999999TB", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDataSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDataSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if _, err := RequestSize(0); err == nil {
		t.Error("RequestSize(0) succeeded, want an error")
	}
}
