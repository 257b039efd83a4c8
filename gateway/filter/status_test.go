package filter

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int
		wantErr string
	}{
		{"404", 404, ""},
		{"NOT_FOUND", 404, ""},
		{"not_found", 404, ""},
		{" UNAUTHORIZED ", 401, ""},
		{"I_AM_A_TEAPOT", 418, ""},
		{"PAYLOAD_TOO_LARGE", 413, ""},
		{"CONTENT_TOO_LARGE", 413, ""},
		{"MOVED_TEMPORARILY", 302, ""},
		{"599", 599, ""},
		{"99", 0, "not an HTTP status code"},
		{"1000", 0, "not an HTTP status code"},
		{"40x", 0, "not an HTTP status code"},
		{"NOT-FOUND", 0, `"NOT-FOUND" is not a Spring HttpStatus name`},
		{"", 0, "must not be empty"},
	}
	for _, tt := range tests {
		got, err := ParseStatus(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseStatus(%q) = %d, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseStatus(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestSetStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, status, header string
		upstream             int
		want                 int
		wantOriginal         string
	}{
		{"by name", "UNAUTHORIZED", "", 200, 401, ""},
		{"by number", "401", "", 200, 401, ""},
		{"over an error", "200", "", 503, 200, ""},
		{"original status header", "401", "X-Original-Status", 200, 401, "[200]"},
		{"original status header, same status", "200", "x-original-status", 200, 200, "[200]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := basicMust(t)(SetStatus(tt.status, tt.header))
			rec, _ := basicServe(t, f, httptest.NewRequest("GET", "/", nil), func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.upstream)
				io.WriteString(w, "body")
			})
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
			if got := rec.Header().Get("X-Original-Status"); got != tt.wantOriginal {
				t.Errorf("X-Original-Status = %q, want %q", got, tt.wantOriginal)
			}
			if rec.Body.String() != "body" {
				t.Errorf("body = %q, want the upstream's", rec.Body)
			}
		})
	}
	for _, bad := range []string{"CONTINUE", "100", "nope", ""} {
		if _, err := SetStatus(bad, ""); err == nil {
			t.Errorf("SetStatus(%q) succeeded, want an error", bad)
		}
	}
	if _, err := SetStatus("200", "bad header"); err == nil {
		t.Error("SetStatus with a bad original-status header name succeeded")
	}
}
