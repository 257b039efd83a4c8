package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchboard-dev/switchboard/discovery"
	"github.com/switchboard-dev/switchboard/eureka"
	"github.com/switchboard-dev/switchboard/gateway/filter"
)

// Registry is what the proxy needs of the discovery client: the UP
// instances of an application, and a signal when they change.
type Registry interface {
	Instances(app string) []*eureka.Instance
	Applications() *eureka.Applications
	Changed() <-chan struct{}
}

// HTTPClientConfig is spring.cloud.gateway.httpclient: the upstream client.
type HTTPClientConfig struct {
	// ConnectTimeout bounds a TCP connect. httpclient.connect-timeout, in
	// milliseconds; default 5000 (Spring leaves Netty's 30 s).
	ConnectTimeout time.Duration
	// ResponseTimeout bounds the wait for the upstream's response headers;
	// 504 after it. httpclient.response-timeout, a duration; default 60 s
	// (Spring has none, so a hung upstream holds a request forever).
	ResponseTimeout time.Duration
	// MaxIdleConnsPerHost is httpclient.pool.max-idle-per-host (default 256).
	MaxIdleConnsPerHost int
	// IdleTimeout closes idle upstream connections. httpclient.pool.max-idle-time; default 90 s.
	IdleTimeout time.Duration
	// InsecureSkipVerify is httpclient.ssl.use-insecure-trust-manager (false).
	InsecureSkipVerify bool
	// TrustedCertificates are PEM files of the CAs that sign upstream
	// certificates, trusted in place of the system's, as in Spring.
	// httpclient.ssl.trusted-x509-certificates; default none: the system's.
	TrustedCertificates []string
	// Certificate and PrivateKey are PEM files of the client certificate the
	// gateway presents to upstreams that ask for one (mutual TLS), read at
	// start. switchboard.gateway.httpclient.ssl.certificate and
	// .certificate-private-key; default none.
	Certificate, PrivateKey string
	// HandshakeTimeout bounds a TLS handshake with an upstream.
	// httpclient.ssl.handshake-timeout; default 10 s, as in Spring.
	HandshakeTimeout time.Duration
}

// TLSConfig returns the TLS settings for upstream connections: the trusted
// CAs, the client certificate and use-insecure-trust-manager.
func (c HTTPClientConfig) TLSConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}
	if len(c.TrustedCertificates) > 0 {
		tc.RootCAs = x509.NewCertPool()
		for _, f := range c.TrustedCertificates {
			if err := appendCAs(tc.RootCAs, f); err != nil {
				return nil, err
			}
		}
	}
	if c.Certificate != "" || c.PrivateKey != "" {
		cert, err := tls.LoadX509KeyPair(c.Certificate, c.PrivateKey)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// appendCAs adds the certificates of a PEM bundle to pool.
func appendCAs(pool *x509.CertPool, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if !pool.AppendCertsFromPEM(data) {
		return fmt.Errorf("%s: no PEM certificate in it", file)
	}
	return nil
}

// DefaultHTTPClientConfig returns the upstream client defaults.
func DefaultHTTPClientConfig() HTTPClientConfig {
	return HTTPClientConfig{
		ConnectTimeout:      5 * time.Second,
		ResponseTimeout:     60 * time.Second,
		MaxIdleConnsPerHost: 256,
		IdleTimeout:         90 * time.Second,
		HandshakeTimeout:    10 * time.Second,
	}
}

type ctxKey int

const (
	targetKey ctxKey = iota
	connectTimeoutKey
)

// newTransport builds the one transport every route shares. A route's own
// connect timeout travels in the request context.
func newTransport(c HTTPClientConfig) *http.Transport {
	dialer := &net.Dialer{Timeout: c.ConnectTimeout, KeepAlive: 30 * time.Second}
	tc, err := c.TLSConfig()
	if err != nil {
		// Bind read these files; if they went bad since, trust no upstream
		// certificate rather than the system's.
		tc = &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}
	}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if d, ok := ctx.Value(connectTimeoutKey).(time.Duration); ok && d > 0 {
				dc := *dialer
				dc.Timeout = d
				return dc.DialContext(ctx, network, addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   c.MaxIdleConnsPerHost,
		IdleConnTimeout:       c.IdleTimeout,
		TLSHandshakeTimeout:   c.HandshakeTimeout,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       tc,
	}
}

// bufferPool lends the proxy its copy buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v := b.p.Get(); v != nil {
		return *v.(*[]byte)
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// proxy is the last handler of every proxied route.
type proxy struct {
	rp      *httputil.ReverseProxy
	up      *upstreams // the lean path for plain-http upstreams; nil: always rp
	pool    *bufferPool
	reg     Registry
	pick    discovery.Picker
	trusted []netip.Prefix
	client  HTTPClientConfig

	urls   atomic.Pointer[map[*eureka.Instance]*url.URL] // see instanceURL
	urlsMu sync.Mutex
}

func newProxy(tr http.RoundTripper, up *upstreams, reg Registry, pick discovery.Picker, trusted []netip.Prefix, client HTTPClientConfig, pool *bufferPool) *proxy {
	p := &proxy{up: up, pool: pool, reg: reg, pick: pick, trusted: trusted, client: client}
	p.rp = &httputil.ReverseProxy{
		Rewrite:      p.rewrite,
		Transport:    tr,
		BufferPool:   pool,
		ErrorHandler: p.errorHandler,
	}
	return p
}

// routeHandler returns the handler that proxies for rt: it picks the
// upstream (an instance for lb:// routes, on every call, so a retry gets a
// fresh one) and applies the route's timeouts.
func (p *proxy) routeHandler(rt *Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := rt.target
		if rt.Service != "" {
			var insts []*eureka.Instance
			if p.reg != nil {
				insts = p.reg.Instances(rt.Service)
			}
			if tried := filter.TriedInstances(r); len(tried) > 0 {
				insts = untried(insts, tried)
			}
			in := p.pick.Pick(insts)
			if in == nil {
				http.Error(w, "Unable to find instance for "+rt.Service, http.StatusServiceUnavailable)
				return
			}
			filter.NoteInstance(r, in.ID())
			if lo, ok := p.pick.(*discovery.LeastOutstanding); ok {
				defer lo.Start(in)()
			}
			target = p.instanceURL(in)
		}
		timeout := p.client.ResponseTimeout
		if rt.ResponseTimeout != 0 {
			timeout = rt.ResponseTimeout
		}
		if p.up != nil && target.Scheme == "http" && !isUpgrade(r) {
			p.proxyHTTP(w, r, target.Host, timeout, rt.ConnectTimeout)
			return
		}
		ctx := context.WithValue(r.Context(), targetKey, target)
		if rt.ConnectTimeout > 0 {
			ctx = context.WithValue(ctx, connectTimeoutKey, rt.ConnectTimeout)
		}
		if timeout > 0 {
			var stop func() bool
			ctx, w, stop = withHeaderTimeout(ctx, timeout, w)
			defer stop()
		}
		p.rp.ServeHTTP(w, r.WithContext(ctx))
	})
}

// isUpgrade reports a request to switch protocols (a websocket, h2c), which
// the ReverseProxy path carries.
func isUpgrade(r *http.Request) bool {
	return r.Header["Upgrade"] != nil
}

// untried leaves out the instances a retried request already tried, unless
// that leaves none: a retry should land on another instance when there is
// one (Spring's round robin may pick the dead one again).
func untried(insts []*eureka.Instance, tried []string) []*eureka.Instance {
	out := make([]*eureka.Instance, 0, len(insts))
	for _, in := range insts {
		if !slices.Contains(tried, in.ID()) {
			out = append(out, in)
		}
	}
	if len(out) == 0 {
		return insts
	}
	return out
}

// instanceURL returns instanceURL(in), remembered per instance: the
// registry's instances are immutable, a changed one is a new pointer.
func (p *proxy) instanceURL(in *eureka.Instance) *url.URL {
	if m := p.urls.Load(); m != nil {
		if u := (*m)[in]; u != nil {
			return u
		}
	}
	u := instanceURL(in)
	p.urlsMu.Lock()
	defer p.urlsMu.Unlock()
	var next map[*eureka.Instance]*url.URL
	if m := p.urls.Load(); m != nil && len(*m) < maxCachedInstances {
		next = maps.Clone(*m)
	} else {
		next = make(map[*eureka.Instance]*url.URL) // start over rather than keep the departed
	}
	next[in] = u
	p.urls.Store(&next)
	return u
}

// maxCachedInstances bounds the instance URL cache.
const maxCachedInstances = 4096

// instanceURL is where an instance listens: https on its secure port when
// that is enabled, else http on its port.
func instanceURL(in *eureka.Instance) *url.URL {
	host := in.IPAddr
	if host == "" {
		host = in.HostName
	}
	if in.SecurePort.Enabled && !in.Port.Enabled {
		return &url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(in.SecurePort.Number))}
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(in.Port.Number))}
}

// timeoutCause marks a response-timeout cancellation, to answer 504.
var errResponseTimeout = errors.New("response timeout")

// withHeaderTimeout cancels ctx when the proxy has not written the
// upstream's response head to the returned writer within d: Spring's
// response timeout covers the wait for headers, not the streaming of the
// body. The writer wraps w itself, not the gateway's recorder, because
// filters such as Retry and CircuitBreaker wrap the writer the proxy gets.
func withHeaderTimeout(ctx context.Context, d time.Duration, w http.ResponseWriter) (context.Context, http.ResponseWriter, func() bool) {
	ctx, cancel := context.WithCancelCause(ctx)
	hw := &headerTimer{ResponseWriter: w}
	hw.t = time.AfterFunc(d, func() { cancel(errResponseTimeout) })
	return ctx, hw, func() bool { cancel(nil); return hw.t.Stop() }
}

// headerTimer stops the response timeout when the response head is written.
// Flush and Hijack reach w through Unwrap, as http.ResponseController and
// MarkUpstreamFailure expect.
type headerTimer struct {
	http.ResponseWriter
	t *time.Timer
}

func (h *headerTimer) WriteHeader(code int) {
	if code >= 200 {
		h.t.Stop()
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerTimer) Write(b []byte) (int, error) {
	h.t.Stop()
	return h.ResponseWriter.Write(b)
}

func (h *headerTimer) Unwrap() http.ResponseWriter { return h.ResponseWriter }

func (p *proxy) rewrite(pr *httputil.ProxyRequest) {
	target := pr.In.Context().Value(targetKey).(*url.URL)
	pr.Out.URL.Scheme = target.Scheme
	pr.Out.URL.Host = target.Host
	pr.Out.Host = ""
	if preservesHost(pr.In) {
		pr.Out.Host = pr.In.Host
	}
	// Forwarded headers from the client are kept only when it is a trusted
	// proxy; ours are always added from the socket peer. ReverseProxy has
	// removed Forwarded, X-Forwarded-For, -Host and -Proto from Out; the
	// other X-Forwarded-* (Port, Prefix ...) go too, as Spring strips them.
	if !p.isTrusted(pr.In.RemoteAddr) {
		for k := range pr.Out.Header {
			if len(k) > len("X-Forwarded-") && strings.EqualFold(k[:len("X-Forwarded-")], "X-Forwarded-") {
				delete(pr.Out.Header, k)
			}
		}
		pr.SetXForwarded()
		return
	}
	// A trusted proxy (one terminating TLS, say) knows the client's scheme
	// and host better than we do: keep them, and append its address.
	in := pr.In.Header
	if v := in["X-Forwarded-For"]; len(v) > 0 {
		pr.Out.Header["X-Forwarded-For"] = v
	}
	pr.SetXForwarded()
	for _, k := range []string{"X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded"} {
		if v := in[k]; len(v) > 0 {
			pr.Out.Header[k] = v
		}
	}
}

func (p *proxy) isTrusted(remote string) bool {
	if len(p.trusted) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	for _, pf := range p.trusted {
		if pf.Contains(ap.Addr().Unmap()) {
			return true
		}
	}
	return false
}

// errorHandler maps transport errors to the gateway's status codes: 504
// when the response timeout fired, 502 for a refused, reset or failed
// connection (Spring answers 500), 413 when the client's body passed the
// listener's cap, and tells a Retry filter what happened.
func (p *proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	kind, code := classify(r.Context(), err)
	markUpstreamFailure(w, kind)
	if code == 499 {
		return
	}
	http.Error(w, http.StatusText(code), code)
}

func isMaxBytes(err error) bool {
	_, ok := errors.AsType[*http.MaxBytesError](err)
	return ok
}

func classify(ctx context.Context, err error) (failureKind, int) {
	switch {
	case errors.Is(context.Cause(ctx), errResponseTimeout):
		return failureTimeout, http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return failureCanceled, 499
	case isMaxBytes(err):
		// The client's body passed the listener's cap while it streamed
		// upstream: the client's fault, not the upstream's.
		return failureCanceled, http.StatusRequestEntityTooLarge
	case errors.Is(err, context.DeadlineExceeded), os.IsTimeout(err):
		return failureTimeout, http.StatusGatewayTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return failureConnect, http.StatusBadGateway
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return failureReset, http.StatusBadGateway
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return failureConnect, http.StatusBadGateway
	}
	return failureReset, http.StatusBadGateway
}
