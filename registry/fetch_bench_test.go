package registry

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkFullFetchHTTP measures a cached full fetch of a 10,000-instance
// registry through the handler, in each encoding: what the registry does
// beyond writing the bytes a bare handler would.
func BenchmarkFullFetchHTTP(b *testing.B) {
	r, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	r.OpenForTraffic(0)
	dirty := time.Now().UnixMilli()
	for i := range 10000 {
		in := springInstance(i, dirty)
		if err := r.Register(in.App, in, false); err != nil {
			b.Fatal(err)
		}
	}
	h := r.Handler()
	for _, v := range []struct{ name, accept, encoding string }{
		{"json", "application/json", ""},
		{"json-gzip", "application/json", "gzip"},
		{"xml", "application/xml", ""},
		{"xml-gzip", "application/xml", "gzip"},
	} {
		b.Run(v.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/eureka/apps/", nil)
			req.Header.Set("Accept", v.accept)
			if v.encoding != "" {
				req.Header.Set("Accept-Encoding", v.encoding)
			}
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, req) // builds the document
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
			if w.code != http.StatusOK {
				b.Fatalf("GET /eureka/apps/ answered %d", w.code)
			}
		})
	}
}
