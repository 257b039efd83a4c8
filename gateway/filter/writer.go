package filter

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// This file holds the response writer that the "post" filters share
// (AddResponseHeader, SetResponseHeader, RemoveResponseHeader,
// RewriteResponseHeader, DedupeResponseHeader, SetStatus, SecureHeaders,
// CorrelationId ...). In Spring a post filter runs after the upstream
// answered and before the response is committed, so it can still edit the
// status and headers. Here the proxy writes to an http.ResponseWriter, so a
// post filter registers a hook that runs when the header is about to be sent:
//
//	hw, owner := hookWriterFor(w)
//	n := hw.push(f.hook, r)
//	next.ServeHTTP(hw, r)
//	hw.pop(n, owner)
//
// Hooks run innermost first, as Spring's post filters run in reverse order.
// One hookWriter serves all the post filters of a route: a filter that is
// handed a hookWriter pushes its hook onto it instead of wrapping again, and
// hookWriters come from a sync.Pool, so a chain of post filters costs no
// allocation per request.
//
// A hook is active only while its filter's ServeHTTP runs. If the response
// was not started by then (the rest of the chain wrote nothing), the hook
// runs when its filter returns, on the pending status and header, which is
// when Spring's post filter would run too. Because a hook leaves with its
// filter, a filter that Retry runs again has one hook per attempt, never the
// last attempt's as well.
//
// Upgrades (websockets) pass through untouched: hooks do not run on 1xx
// responses, and Hijack reaches the server's connection through Unwrap or
// the Hijack method. Like every ResponseWriter, a hookWriter must not be used
// after the ServeHTTP it was passed to returns; it goes back to the pool then.

// A responseHook edits h, the header about to be sent, and returns the status
// to send instead of status. r is the request its filter passed on.
type responseHook func(h http.Header, status int, r *http.Request) int

// hookEntry is a registered hook and the request its filter passed on.
type hookEntry struct {
	fn responseHook
	r  *http.Request
}

// hookWriter runs the registered hooks just before the response header is
// sent. It is used by one request at a time.
type hookWriter struct {
	rw      http.ResponseWriter
	hooks   []hookEntry // registered, outermost first
	status  int         // status set by hooks that ran before anything was written; 0 if none
	written bool        // header sent (or connection hijacked)
}

var hookWriters = sync.Pool{New: func() any { return new(hookWriter) }}

// hookWriterFor returns w if it is a hookWriter still open for hooks, or a
// new one from the pool wrapping w; owner tells whether the caller got a new
// one and so must pass owner to pop.
func hookWriterFor(w http.ResponseWriter) (hw *hookWriter, owner bool) {
	if hw, ok := w.(*hookWriter); ok && !hw.written {
		return hw, false
	}
	hw = hookWriters.Get().(*hookWriter)
	hw.rw = w
	return hw, true
}

// push registers fn for the request r and returns the mark to pass to pop.
func (w *hookWriter) push(fn responseHook, r *http.Request) int {
	w.hooks = append(w.hooks, hookEntry{fn, r})
	return len(w.hooks) - 1
}

// pop ends the hook registered at mark n (and any registered after it that
// are still there). If nothing was written yet, the hooks run now, innermost
// first. The owner also sends a status a hook set, if nothing else did, and
// returns w to the pool.
func (w *hookWriter) pop(n int, owner bool) {
	if !w.written {
		h := w.rw.Header()
		status := w.status
		if status == 0 {
			status = http.StatusOK
		}
		for i := len(w.hooks) - 1; i >= n; i-- {
			e := w.hooks[i]
			if s := e.fn(h, status, e.r); s != status {
				status = s
				w.status = s
			}
		}
	}
	clear(w.hooks[n:])
	w.hooks = w.hooks[:n]
	if !owner {
		return
	}
	if !w.written && w.status != 0 {
		w.rw.WriteHeader(w.status)
	}
	w.rw = nil
	w.status = 0
	w.written = false
	w.hooks = w.hooks[:0]
	hookWriters.Put(w)
}

// Header returns the header of the underlying writer, so filters and the
// proxy edit one map.
func (w *hookWriter) Header() http.Header { return w.rw.Header() }

// WriteHeader runs the hooks, innermost first, and sends the header with the
// status they leave. Informational responses (1xx) go out as they are.
func (w *hookWriter) WriteHeader(status int) {
	if w.written {
		w.rw.WriteHeader(status) // let net/http report the superfluous call
		return
	}
	if status < 200 {
		w.rw.WriteHeader(status)
		return
	}
	w.written = true
	h := w.rw.Header()
	for i := len(w.hooks) - 1; i >= 0; i-- {
		e := w.hooks[i]
		status = e.fn(h, status, e.r)
	}
	w.rw.WriteHeader(status)
}

func (w *hookWriter) Write(p []byte) (int, error) {
	if !w.written {
		status := w.status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
	}
	return w.rw.Write(p)
}

// FlushError sends the header if needed and flushes the underlying writer;
// http.ResponseController uses it.
func (w *hookWriter) FlushError() error {
	if !w.written {
		w.Write(nil)
	}
	return http.NewResponseController(w.rw).Flush()
}

// Flush implements http.Flusher for code that type-asserts it.
func (w *hookWriter) Flush() { w.FlushError() }

// Hijack hands over the connection for upgrades; no hook runs after it.
func (w *hookWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.rw).Hijack()
	if err == nil {
		w.written = true
	}
	return c, brw, err
}

// Unwrap lets http.ResponseController reach the server's writer (deadlines,
// full duplex).
func (w *hookWriter) Unwrap() http.ResponseWriter { return w.rw }
