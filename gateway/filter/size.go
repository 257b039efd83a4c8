package filter

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// DefaultRequestSize is Spring's default for RequestSize's maxSize: 5 000 000
// bytes.
const DefaultRequestSize int64 = 5_000_000

// RequestSize answers 413 Payload Too Large when the request body is larger
// than maxBytes, with Spring's errorMessage response header, e.g.
// "Request size is larger than permissible limit. Request size is 6.0 MB
// where permissible limit is 5.0 MB". The config loader passes
// DefaultRequestSize when the argument is absent, and converts Spring's
// DataSize strings ("5MB") with ParseDataSize.
//
// Spring checks only the Content-Length header, so a chunked upload is not
// limited at all. Here a body without Content-Length is counted as it
// streams: past maxBytes, reading it fails with an *http.MaxBytesError (the
// upstream request fails and is not retried with a partial body), and the
// response becomes 413 with the errorMessage header "Request size is larger
// than permissible limit. Request size is more than 5.0 MB where permissible
// limit is 5.0 MB" unless the upstream had already answered.
//
// Spring: RequestSize=maxSize.
func RequestSize(maxBytes int64) (Filter, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("maxSize %d: want a size greater than 0, such as 5000000 or 5MB", maxBytes)
	}
	limit := readableByteCount(maxBytes)
	streamed := []string{requestSizeMessage("more than "+limit, limit)}
	hook := func(h http.Header, status int, r *http.Request) int {
		if b, ok := r.Body.(*limitedBody); ok && b.exceeded.Load() {
			h[errorMessageHeader] = streamed[:1:1]
			return http.StatusRequestEntityTooLarge
		}
		return status
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > maxBytes {
				w.Header()[errorMessageHeader] = []string{requestSizeMessage(readableByteCount(r.ContentLength), limit)}
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				return
			}
			if r.ContentLength >= 0 || r.Body == nil || r.Body == http.NoBody {
				// net/http stops a body at its Content-Length.
				next.ServeHTTP(w, r)
				return
			}
			r2 := new(http.Request)
			*r2 = *r
			r2.Body = &limitedBody{rc: r.Body, remaining: maxBytes, limit: maxBytes}
			hw, owner := hookWriterFor(w)
			n := hw.push(hook, r2)
			next.ServeHTTP(hw, r2)
			hw.pop(n, owner)
		})
	}, nil
}

// errorMessageHeader is Spring's errorMessage header, in Go's canonical form
// (header names are case-insensitive).
var errorMessageHeader = http.CanonicalHeaderKey("errorMessage")

func requestSizeMessage(size, limit string) string {
	return "Request size is larger than permissible limit. Request size is " + size + " where permissible limit is " + limit
}

// limitedBody is a request body without Content-Length, cut at a limit like
// http.MaxBytesReader. The transport may read it on another goroutine, hence
// the atomic flag.
type limitedBody struct {
	rc        io.ReadCloser
	remaining int64
	limit     int64
	exceeded  atomic.Bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.remaining < 0 || b.exceeded.Load() {
		return 0, &http.MaxBytesError{Limit: b.limit}
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Read one byte more than allowed, to tell "exactly at the limit" from
	// "over it".
	if int64(len(p))-1 > b.remaining {
		p = p[:b.remaining+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) <= b.remaining {
		b.remaining -= int64(n)
		return n, err
	}
	n = int(b.remaining)
	b.remaining = -1
	b.exceeded.Store(true)
	return n, &http.MaxBytesError{Limit: b.limit}
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// readableByteCount formats n as Spring's RequestSize does: decimal units
// (1 kB = 1000 B) with one decimal, rounded half up like Java's %.1f.
func readableByteCount(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	exp, div := 0, int64(1)
	for n/div >= 1000 && exp < 6 {
		div *= 1000
		exp++
	}
	return formatOneDecimal(float64(n)/float64(div)) + " " + "kMGTPE"[exp-1:exp] + "B"
}

// formatOneDecimal formats v with one decimal the way Java's %.1f does: it
// rounds the shortest decimal form of v half up (Go's %.1f rounds the binary
// value half to even, so 1.25 would give 1.2 where Java gives 1.3).
func formatOneDecimal(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	ip, fp, _ := strings.Cut(s, ".")
	fp += "00"
	tenths, _ := strconv.ParseInt(ip+fp[:1], 10, 64)
	if fp[1] >= '5' {
		tenths++
	}
	return strconv.FormatInt(tenths/10, 10) + "." + strconv.FormatInt(tenths%10, 10)
}

// ParseDataSize parses a size as Spring's DataSize does for gateway
// properties: a whole number of bytes ("5000000"), or a number with one of
// the units B, KB, MB, GB, TB ("500KB", "5MB"). Units are binary (1 KB =
// 1024 bytes), as in Spring, and their case does not matter.
func ParseDataSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(t, "+")
	i := 0
	for i < len(t) && '0' <= t[i] && t[i] <= '9' {
		i++
	}
	num, unit := t[:i], strings.ToUpper(strings.TrimSpace(t[i:]))
	var mult int64
	switch unit {
	case "", "B":
		mult = 1
	case "KB":
		mult = 1 << 10
	case "MB":
		mult = 1 << 20
	case "GB":
		mult = 1 << 30
	case "TB":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("%q is not a data size; want a number of bytes, or a number with B, KB, MB, GB or TB, such as 5MB", s)
	}
	if num == "" {
		return 0, fmt.Errorf("%q is not a data size; want a number of bytes, or a number with B, KB, MB, GB or TB, such as 5MB", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > (1<<63-1)/mult {
		return 0, fmt.Errorf("%q is too large a data size", s)
	}
	return n * mult, nil
}
