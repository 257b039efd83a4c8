package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// upstreams is the gateway's own HTTP/1.1 client for plain-http upstreams,
// the common case behind a gateway. It does per request only what a proxy
// must: it writes the request head straight from the inbound request into
// a pooled connection's buffer, reads the response head in place, and
// copies the body, all on the handler's goroutine. net/http's Transport
// would clone the request and its headers, run two goroutines per
// connection and hand every request and response between them; measured on
// two cores that was about half of the gateway's CPU per request.
//
// Requests it does not handle (TLS upstreams, protocol upgrades such as
// websockets) go through httputil.ReverseProxy and the shared Transport.
type upstreams struct {
	cfg    HTTPClientConfig
	dialer net.Dialer

	// hosts maps host:port to its pool. Read on every request, written
	// when a new upstream appears: copied on write, so reads take no lock.
	hosts atomic.Pointer[map[string]*hostPool]
	mu    sync.Mutex // serializes writers of hosts
}

func newUpstreams(c HTTPClientConfig) *upstreams {
	u := &upstreams{
		cfg:    c,
		dialer: net.Dialer{Timeout: c.ConnectTimeout, KeepAlive: 30 * time.Second},
	}
	u.hosts.Store(&map[string]*hostPool{})
	return u
}

// hostPool keeps the idle connections to one host:port, most recently used
// last, so the warm ones are reused and the cold ones age out.
type hostPool struct {
	up   *upstreams
	addr string

	mu      sync.Mutex
	idle    []*upConn
	sweep   *time.Timer // closes connections idle longer than IdleTimeout
	closed  bool        // the gateway is stopping
	retired bool        // no longer in upstreams.hosts: keeps nothing
}

// upConn is one connection to an upstream with its buffers.
type upConn struct {
	net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	head     []byte    // the response head being read, reused
	deadline time.Time // the socket's deadline, zero for none
	idleAt   time.Time
}

func (u *upstreams) pool(addr string) *hostPool {
	if p := (*u.hosts.Load())[addr]; p != nil {
		return p
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	hosts := *u.hosts.Load()
	if p := hosts[addr]; p != nil {
		return p
	}
	p := &hostPool{up: u, addr: addr}
	next := maps.Clone(hosts)
	next[addr] = p
	u.hosts.Store(&next)
	return p
}

// get returns an idle connection, or nil when there is none fresh enough.
func (p *hostPool) get(now time.Time) *upConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle[len(p.idle)-1] = nil
		p.idle = p.idle[:len(p.idle)-1]
		if max := p.up.cfg.IdleTimeout; max <= 0 || now.Sub(c.idleAt) < max {
			return c
		}
		c.Close()
	}
	return nil
}

// put returns c to the pool, or closes it when the pool is full.
func (p *hostPool) put(c *upConn, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.retired || len(p.idle) >= max(p.up.cfg.MaxIdleConnsPerHost, 1) {
		c.Close()
		return
	}
	c.idleAt = now
	p.idle = append(p.idle, c)
	if d := p.up.cfg.IdleTimeout; d > 0 && p.sweep == nil {
		p.sweep = time.AfterFunc(d, p.expire)
	}
}

// expire closes the connections that have been idle too long, and runs
// again while any are left. A pool left empty is retired, so the pools of
// instances long gone do not pile up.
func (p *hostPool) expire() {
	if p.prune() {
		p.up.retire(p)
	}
}

// retire forgets p; the next request to its address makes a new pool.
func (u *upstreams) retire(p *hostPool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	hosts := *u.hosts.Load()
	if hosts[p.addr] != p {
		return
	}
	next := maps.Clone(hosts)
	delete(next, p.addr)
	u.hosts.Store(&next)
}

// prune closes the connections idle too long and reports whether the pool
// is now empty and retired.
func (p *hostPool) prune() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.up.cfg.IdleTimeout
	now := time.Now()
	keep := p.idle[:0]
	for _, c := range p.idle {
		if now.Sub(c.idleAt) >= d {
			c.Close()
		} else {
			keep = append(keep, c)
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	p.sweep = nil
	if len(p.idle) == 0 {
		p.retired = true
		return true
	}
	if !p.closed {
		p.sweep = time.AfterFunc(d, p.expire)
	}
	return false
}

// closeIdle closes every idle connection; with stop, the pools also close
// the connections returned to them later.
func (u *upstreams) closeIdle(stop bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, p := range *u.hosts.Load() {
		p.mu.Lock()
		for _, c := range p.idle {
			c.Close()
		}
		clear(p.idle)
		p.idle = p.idle[:0]
		if p.sweep != nil {
			p.sweep.Stop()
			p.sweep = nil
		}
		p.closed = p.closed || stop
		p.mu.Unlock()
	}
}

func (p *hostPool) dial(ctx context.Context, timeout time.Duration) (*upConn, error) {
	d := &p.up.dialer
	if timeout > 0 && timeout != d.Timeout {
		dc := *d
		dc.Timeout = timeout
		d = &dc
	}
	c, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	return &upConn{Conn: c, br: bufio.NewReaderSize(c, 8<<10), bw: bufio.NewWriterSize(c, 8<<10)}, nil
}

// exchange is one proxied request on the lean path. Exchanges are pooled.
type exchange struct {
	p       *proxy
	w       http.ResponseWriter
	r       *http.Request
	host    string // the upstream's host:port
	timeout time.Duration
	connect time.Duration

	cur      atomic.Pointer[upConn] // the connection in use, for cancelIO
	cancelIO func()                 // x.interrupt, bound once
	running  bool                   // cancelIO may still be running: do not reuse x
}

var exchanges = sync.Pool{New: func() any {
	x := &exchange{}
	x.cancelIO = x.interrupt
	return x
}}

// proxyHTTP proxies r to host on the lean path.
func (p *proxy) proxyHTTP(w http.ResponseWriter, r *http.Request, host string, timeout, connect time.Duration) {
	x := exchanges.Get().(*exchange)
	x.p, x.w, x.r, x.host, x.timeout, x.connect = p, w, r, host, timeout, connect
	x.serve()
	if x.running {
		return // the cancellation callback may still hold x
	}
	x.p, x.w, x.r = nil, nil, nil
	x.cur.Store(nil)
	exchanges.Put(x)
}

// interrupt unblocks the exchange's I/O when its client has gone.
func (x *exchange) interrupt() {
	if c := x.cur.Load(); c != nil {
		c.SetDeadline(aLongTimeAgo)
	}
}

// maxResponseHead bounds a response's status line and headers, as
// net/http's Transport does by default.
const maxResponseHead = 1 << 20

// errUpstreamHead marks a malformed response head from the upstream.
var errUpstreamHead = errors.New("malformed HTTP response from upstream")

// serve sends the request upstream and copies the response back. Errors
// before the response head reached the client become 502/504 as on the
// ReverseProxy path; a failure while copying the body aborts the client's
// connection, since the status has already gone.
func (x *exchange) serve() {
	pool := x.p.up.pool(x.host)
	ctx := x.r.Context()
	// A client that goes away takes the upstream request with it.
	stop := context.AfterFunc(ctx, x.cancelIO)
	stopped := false
	defer func() {
		if !stopped && !stop() {
			x.running = true
		}
	}()

	now := time.Now()
	c := pool.get(now)
	for {
		reused := c != nil
		if c == nil {
			var err error
			if c, err = pool.dial(ctx, x.connect); err != nil {
				x.fail(err)
				return
			}
		}
		x.cur.Store(c)
		if ctx.Err() != nil {
			c.Close()
			x.fail(ctx.Err())
			return
		}
		c.armDeadline(now, x.timeout)
		err := x.writeRequest(c)
		var h head
		if err == nil {
			h, err = x.readHead(c)
		}
		if err != nil {
			c.Close()
			if reused && errors.Is(err, errStaleConn) && x.replayable() {
				c = nil // the upstream had closed the idle connection: dial
				continue
			}
			x.fail(err)
			return
		}
		complete, reusable := x.copyBody(c, h)
		switch {
		case !complete:
			c.Close()
			if ctx.Err() == nil {
				panic(http.ErrAbortHandler)
			}
		case reusable && h.keep:
			stopped = true
			if stop() {
				pool.put(c, time.Now())
				return
			}
			x.running = true // the client left just now: the deadline is spoilt
			c.Close()
		default:
			c.Close()
		}
		return
	}
}

// armDeadline bounds the request's write and the wait for the response
// head by d from now (the response timeout). Moving a socket deadline
// updates a runtime timer, so a deadline left by the connection's previous
// request is kept when it falls at most d/64 after the one wanted: the
// timeout may fire up to 1.6 % late, never early.
func (c *upConn) armDeadline(now time.Time, d time.Duration) {
	if d <= 0 {
		c.clearDeadline()
		return
	}
	want := now.Add(d)
	if !c.deadline.Before(want) && c.deadline.Sub(want) <= d/64 {
		return
	}
	c.deadline = want.Add(d / 64)
	c.SetDeadline(c.deadline)
}

// clearDeadline lifts the response timeout before the body streams: it
// covers the wait for the head only, as in Spring.
func (c *upConn) clearDeadline() {
	if !c.deadline.IsZero() {
		c.deadline = time.Time{}
		c.SetDeadline(time.Time{})
	}
}

// aLongTimeAgo is a deadline in the past, to interrupt blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// replayable tells whether a request that failed on a stale connection may
// be sent again: it has no body and does not change anything, as net/http
// decides.
func (x *exchange) replayable() bool {
	if x.r.Body != nil && x.r.Body != http.NoBody {
		return false
	}
	switch x.r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return x.r.Header.Get("Idempotency-Key") != "" || x.r.Header.Get("X-Idempotency-Key") != ""
}

// fail answers for an upstream that could not be reached or did not answer
// in time, as errorHandler does on the ReverseProxy path.
func (x *exchange) fail(err error) {
	if x.r.Context().Err() != nil {
		markUpstreamFailure(x.w, failureCanceled)
		return
	}
	if errors.Is(err, errStaleConn) {
		err = io.ErrUnexpectedEOF
	}
	kind, code := classify(x.r.Context(), err)
	markUpstreamFailure(x.w, kind)
	if code != 499 {
		http.Error(x.w, http.StatusText(code), code)
	}
}

// hopHeaders are the hop-by-hop headers a proxy must not forward (RFC 9110
// section 7.6.1), and the ones this proxy writes itself.
func hopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Expect", "Host":
		return true
	}
	return false
}

// forwardedHeader reports the headers the proxy sets itself from the socket
// peer (X-Forwarded-For, -Host, -Proto and Forwarded), and, from an
// untrusted client, every other X-Forwarded-* too, as Spring strips them.
func forwardedHeader(k string, trusted bool) bool {
	if k == "Forwarded" {
		return true
	}
	if len(k) < len("X-Forwarded-") || !strings.EqualFold(k[:len("X-Forwarded-")], "X-Forwarded-") {
		return false
	}
	if !trusted {
		return true
	}
	switch k[len("X-Forwarded-"):] {
	case "For", "Host", "Proto":
		return true
	}
	return false
}

// writeRequest writes the request head and body to c.
func (x *exchange) writeRequest(c *upConn) error {
	r, bw := x.r, c.bw
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	if p := r.URL.EscapedPath(); p != "" {
		bw.WriteString(p)
	} else {
		bw.WriteByte('/')
	}
	if r.URL.ForceQuery || r.URL.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(r.URL.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	host := x.host
	if preservesHost(r) && r.Host != "" {
		host = r.Host
	}
	if !validHeaderValue(host) {
		return fmt.Errorf("invalid Host %q", host)
	}
	bw.WriteString(host)
	bw.WriteString("\r\n")

	trusted := x.p.isTrusted(r.RemoteAddr)
	conn := r.Header["Connection"]
	for k, vs := range r.Header {
		if hopHeader(k) || forwardedHeader(k, trusted) || (len(conn) > 0 && hasToken(conn, k)) {
			if k == "Te" && hasToken(vs, "trailers") {
				bw.WriteString("Te: trailers\r\n")
			}
			continue
		}
		if !validHeaderName(k) {
			return fmt.Errorf("invalid header name %q", k)
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				return fmt.Errorf("invalid value for header %s", k)
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	x.writeForwarded(bw, trusted)

	body := r.Body != nil && r.Body != http.NoBody
	switch {
	case r.ContentLength > 0 || (r.ContentLength == 0 && body):
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), r.ContentLength, 10))
		bw.WriteString("\r\n\r\n")
		if err := x.copyRequestBody(bw, bw, r.ContentLength); err != nil {
			return err
		}
	case body: // length unknown: stream it chunked
		bw.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		cw := httputil.NewChunkedWriter(bw)
		if err := x.copyRequestBody(bw, cw, -1); err != nil {
			return err
		}
		cw.Close()
		bw.WriteString("\r\n")
	default:
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			bw.WriteString("Content-Length: 0\r\n")
		}
		bw.WriteString("\r\n")
	}
	if err := bw.Flush(); err != nil {
		return staleErr(err)
	}
	return nil
}

// copyRequestBody copies the client's body (n bytes, or to its end when n
// is negative) to dst, which writes into bw. A body the client fails to
// send is the client's error (a 413 past the listener's cap); a connection
// that cannot be written is the upstream's.
func (x *exchange) copyRequestBody(bw *bufio.Writer, dst io.Writer, n int64) error {
	buf := x.p.pool.Get()
	defer x.p.pool.Put(buf)
	for n != 0 {
		b := buf
		if n > 0 && int64(len(b)) > n {
			b = b[:n]
		}
		m, rerr := x.r.Body.Read(b)
		if m > 0 {
			if _, werr := dst.Write(b[:m]); werr != nil {
				return staleErr(werr)
			}
			// Pass each piece on as it comes: the upstream may answer
			// a streamed body before its end.
			if werr := bw.Flush(); werr != nil {
				return staleErr(werr)
			}
			if n > 0 {
				n -= int64(m)
			}
		}
		if rerr == io.EOF {
			if n > 0 {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
	return nil
}

// writeForwarded adds X-Forwarded-For, -Host and -Proto: from a trusted
// proxy its own values are kept and the peer appended to the chain.
func (x *exchange) writeForwarded(bw *bufio.Writer, trusted bool) {
	r := x.r
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = ""
	}
	bw.WriteString("X-Forwarded-For: ")
	if prior := r.Header["X-Forwarded-For"]; trusted && len(prior) > 0 {
		for i, v := range prior {
			if i > 0 {
				bw.WriteString(", ")
			}
			bw.WriteString(v)
		}
		if ip != "" {
			bw.WriteString(", ")
		}
	}
	bw.WriteString(ip)
	bw.WriteString("\r\n")
	writeKept := func(k, v string) {
		if trusted {
			if prior := r.Header[k]; len(prior) > 0 {
				for _, pv := range prior {
					if validHeaderValue(pv) {
						bw.WriteString(k + ": " + pv + "\r\n")
					}
				}
				return
			}
		}
		if v != "" {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if validHeaderValue(r.Host) {
		writeKept("X-Forwarded-Host", r.Host)
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	writeKept("X-Forwarded-Proto", proto)
	if trusted {
		writeKept("Forwarded", "")
	}
}

// hasToken reports whether a comma-separated header (Connection, Te) lists
// tok, in any case.
func hasToken(vs []string, tok string) bool {
	for _, v := range vs {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), tok) {
				return true
			}
		}
	}
	return false
}

// validHeaderValue refuses what would split or end a header line.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

// validHeaderName accepts RFC 9110 tokens.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// errStaleConn marks a reused connection that failed before any byte of a
// response came back: the upstream had closed it while it sat idle.
var errStaleConn = errors.New("upstream closed the idle connection")

func staleErr(err error) error {
	if errors.Is(err, io.EOF) || isReset(err) {
		return fmt.Errorf("%w: %w", errStaleConn, err)
	}
	return err
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// head is what the proxy needs of a response head besides its headers.
type head struct {
	code    int
	keep    bool  // the upstream keeps the connection open
	length  int64 // Content-Length, or -1
	chunked bool
}

// readHead reads the response status line and headers into the client's
// response header, dropping hop-by-hop ones, and reports how the body is
// framed. Interim 1xx responses other than 101 are read and dropped.
func (x *exchange) readHead(c *upConn) (head, error) {
	for {
		h, err := x.readOneHead(c)
		if err != nil || h.code >= 200 || h.code == http.StatusSwitchingProtocols {
			return h, err
		}
	}
}

func (x *exchange) readOneHead(c *upConn) (head, error) {
	buf := c.head[:0]
	for lineStart := 0; ; {
		part, err := c.br.ReadSlice('\n')
		buf = append(buf, part...)
		if len(buf) > maxResponseHead {
			return head{}, fmt.Errorf("%w: response head over %d bytes", errUpstreamHead, maxResponseHead)
		}
		if err == bufio.ErrBufferFull {
			continue // a line longer than the buffer: read on
		}
		if err != nil {
			if len(buf) == 0 {
				return head{}, staleErr(err)
			}
			return head{}, err
		}
		if line := buf[lineStart:]; len(line) == 1 || len(line) == 2 && line[0] == '\r' {
			break // the empty line that ends the head
		}
		lineStart = len(buf)
	}
	c.head = buf
	// One string for the whole head: every value is a substring of it.
	s := string(buf)
	status, rest, _ := strings.Cut(s, "\n")
	status = strings.TrimSuffix(status, "\r")
	proto, code, ok := strings.Cut(status, " ")
	if !ok || !strings.HasPrefix(proto, "HTTP/1.") || len(code) < 3 || (len(code) > 3 && code[3] != ' ') {
		return head{}, fmt.Errorf("%w: status line %q", errUpstreamHead, status)
	}
	n, err := strconv.Atoi(code[:3])
	if err != nil || n < 100 {
		return head{}, fmt.Errorf("%w: status line %q", errUpstreamHead, status)
	}
	h := head{code: n, keep: proto != "HTTP/1.0", length: -1}
	if n < 200 && n != http.StatusSwitchingProtocols {
		return h, nil // an interim response: its headers are not the response's
	}
	hdr := x.w.Header()
	// One backing array for the values, each slice capped at its one
	// element so an append elsewhere copies rather than overwrites.
	vals := make([]string, 0, strings.Count(rest, "\n"))
	var connection []string
	for rest != "" {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || !validHeaderName(k) {
			return head{}, fmt.Errorf("%w: header line %q", errUpstreamHead, line)
		}
		k, v = canonicalKey(k), strings.TrimSpace(v)
		switch k {
		case "Content-Length":
			l, err := strconv.ParseInt(v, 10, 64)
			if err != nil || l < 0 || (h.length >= 0 && l != h.length) {
				return head{}, fmt.Errorf("%w: Content-Length %q", errUpstreamHead, v)
			}
			h.length = l
		case "Transfer-Encoding":
			if !strings.EqualFold(v, "chunked") {
				return head{}, fmt.Errorf("%w: Transfer-Encoding %q", errUpstreamHead, v)
			}
			h.chunked = true
			continue
		case "Connection":
			connection = append(connection, v)
			continue
		case "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate":
			continue
		case "Upgrade":
			if n != http.StatusSwitchingProtocols {
				continue
			}
		}
		if prev, ok := hdr[k]; ok {
			hdr[k] = append(prev, v)
			continue
		}
		vals = append(vals, v)
		hdr[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if len(connection) > 0 {
		if hasToken(connection, "close") {
			h.keep = false
		} else if hasToken(connection, "keep-alive") {
			h.keep = true
		}
		for _, v := range connection {
			for tok := range strings.SplitSeq(v, ",") {
				delete(hdr, http.CanonicalHeaderKey(strings.TrimSpace(tok)))
			}
		}
	}
	if _, ok := hdr["Content-Type"]; !ok {
		// The upstream did not say; neither does the proxy (net/http
		// would sniff the body and name a type).
		hdr["Content-Type"] = nil
	}
	if h.chunked {
		delete(hdr, "Content-Length") // RFC 9112 section 6.3: chunked wins
		h.length = -1
	} else {
		// Only a chunked body has trailers. Announced, they make the
		// server chunk the client's response too, so they can follow it.
		delete(hdr, "Trailer")
	}
	return h, nil
}

// canonicalKey returns k in canonical form, without allocating when it
// already is, as upstreams nearly always send it.
func canonicalKey(k string) string {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return http.CanonicalHeaderKey(k)
		}
		upper = c == '-'
	}
	return k
}

// copyBody writes the status and copies the body to the client. It
// reports whether the whole body arrived, and whether the connection may
// carry another request.
func (x *exchange) copyBody(c *upConn, h head) (complete, reusable bool) {
	w := x.w
	switch {
	case h.code == http.StatusSwitchingProtocols:
		// Upgrades go through ReverseProxy; an upstream that switches
		// protocols unasked cannot be followed.
		w.WriteHeader(http.StatusBadGateway)
		return true, false
	case x.r.Method == http.MethodHead || h.code == http.StatusNoContent || h.code == http.StatusNotModified:
		w.WriteHeader(h.code)
		return true, true
	case h.length >= 0:
		w.WriteHeader(h.code)
		if int64(c.br.Buffered()) < h.length {
			c.clearDeadline()
		}
		ok := copyN(w, c.br, h.length)
		return ok, ok
	case h.chunked:
		w.WriteHeader(h.code)
		c.clearDeadline()
		ok := x.copyChunked(c)
		return ok, ok
	}
	// Delimited by the upstream closing the connection.
	w.WriteHeader(h.code)
	c.clearDeadline()
	rc := http.NewResponseController(w)
	buf := x.p.pool.Get()
	defer x.p.pool.Put(buf)
	for {
		n, err := c.br.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return false, false
			}
			rc.Flush()
		}
		if err == io.EOF {
			return true, false
		}
		if err != nil {
			return false, false
		}
	}
}

// copyN copies exactly n bytes from br to w, from the reader's own buffer.
func copyN(w io.Writer, br *bufio.Reader, n int64) bool {
	for n > 0 {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				return false
			}
		}
		chunk := int64(br.Buffered())
		if chunk > n {
			chunk = n
		}
		b, _ := br.Peek(int(chunk))
		if _, err := w.Write(b); err != nil {
			return false
		}
		br.Discard(len(b))
		n -= chunk
	}
	return true
}

// copyChunked de-chunks the body, flushing after each piece so streams
// (server-sent events, long polls) reach the client as they come, then
// forwards trailers.
func (x *exchange) copyChunked(c *upConn) bool {
	w := x.w
	rc := http.NewResponseController(w)
	cr := httputil.NewChunkedReader(c.br)
	buf := x.p.pool.Get()
	defer x.p.pool.Put(buf)
	for {
		n, err := cr.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return false
			}
			if c.br.Buffered() == 0 {
				rc.Flush()
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return false
		}
	}
	// The trailer section ends with an empty line.
	h := w.Header()
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return false
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return true
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return false
		}
		key := http.CanonicalHeaderKey(string(k))
		if !validHeaderName(key) || hopHeader(key) {
			continue
		}
		h[http.TrailerPrefix+key] = append(h[http.TrailerPrefix+key], string(bytes.TrimSpace(v)))
	}
}
