package filter

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
)

// DefaultCorrelationHeader is CorrelationId's header when none is given.
const DefaultCorrelationHeader = "X-Correlation-ID"

// correlationKey is the context key of the request's correlation id.
type correlationKey struct{}

// CorrelationId gives every request a correlation id in header (default
// X-Correlation-ID). An id the client sent is kept if it is 1 to 128
// printable ASCII characters without spaces, and replaced otherwise, so it is
// safe to log; a request without one gets a new random UUID (version 4). The
// id goes upstream in header, comes back to the client in header (replacing
// whatever the upstream sent there), and is available to later filters and
// the proxy as CorrelationID(r).
//
// The access log, which wraps the route's chain and so sees the request as
// it was before this filter, reads the id from the response header: it is
// set before the upstream is called, and stays.
//
// Switchboard's own filter (Spring has none): CorrelationId=header.
func CorrelationId(header string) (Filter, error) {
	key, err := canonicalHeaderName(orDefault(header, DefaultCorrelationHeader))
	if err != nil {
		return nil, err
	}
	hook := func(h http.Header, status int, r *http.Request) int {
		if c, ok := r.Context().Value(correlationKey{}).(*correlation); ok {
			h[key] = c.vals[:1:1]
		}
		return status
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			vals := r.Header[key]
			id := ""
			if len(vals) == 1 && validCorrelationID(vals[0]) {
				id = vals[0]
			} else {
				id = newCorrelationID()
			}
			// One value slice serves the request, the response and the
			// hook; capped, so an append elsewhere copies it.
			c := &correlation{id: id, vals: []string{id}}
			r2 := r.WithContext(context.WithValue(r.Context(), correlationKey{}, c))
			r2.Header = cloneHeader(r.Header)
			r2.Header[key] = c.vals[:1:1]
			w.Header()[key] = c.vals[:1:1]
			hw, owner := hookWriterFor(w)
			n := hw.push(hook, r2)
			next.ServeHTTP(hw, r2)
			hw.pop(n, owner)
		})
	}, nil
}

// correlation is what CorrelationId keeps in the request's context.
type correlation struct {
	id   string
	vals []string // []string{id}
}

// CorrelationID returns the correlation id CorrelationId gave r, or "".
func CorrelationID(r *http.Request) string {
	if c, ok := r.Context().Value(correlationKey{}).(*correlation); ok {
		return c.id
	}
	return ""
}

// validCorrelationID reports whether a client's id may be kept: 1 to 128
// visible ASCII characters, so it can go into logs and headers as it is.
func validCorrelationID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7f {
			return false
		}
	}
	return true
}

// newCorrelationID returns a random UUID (version 4). It uses math/rand/v2's
// lock-free generator, seeded from the OS: an id must be unique, not secret.
func newCorrelationID() string {
	var u [16]byte
	binary.LittleEndian.PutUint64(u[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(u[8:], rand.Uint64())
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], u[10:16])
	return string(s[:])
}
