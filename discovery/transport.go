package discovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Like the Java client's retrying transport, one call tries at most three
// registries, sticking to the last one that answered.
const maxAttempts = 3

// attemptTimeout bounds one HTTP exchange (a watch gets its wait on top),
// close to the Jersey client's 5 s connect plus 8 s read timeouts.
const attemptTimeout = 10 * time.Second

// maxBodyBytes bounds a registry document: about 100 000 instances.
const maxBodyBytes = 256 << 20

const userAgent = "switchboard-discovery"

// servers is the client's view of its registries: a shuffled order of its
// own, so a fleet spreads over the registries as Eureka's resolver spreads
// it; one sticky current server; a quarantine for those that failed.
type servers struct {
	list       []*server
	quarantine time.Duration

	mu      sync.Mutex // guards the fields below
	current int
	until   []time.Time // quarantined until; zero when not
}

func newServers(list []*server, quarantine time.Duration) *servers {
	rand.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	return &servers{list: list, quarantine: quarantine, until: make([]time.Time, len(list))}
}

// pick returns the index of the server to try next: the current one or the
// first after it that is neither tried nor quarantined. If only quarantined
// ones are left, the quarantine is lifted (Eureka's refresh rule, simplified:
// it lifts it at 66 %). It returns -1 when every server was tried.
func (s *servers) pick(tried []bool) int {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.list)
	for k := range n {
		i := (s.current + k) % n
		if !tried[i] && !s.until[i].After(now) {
			return i
		}
	}
	clear(s.until)
	for k := range n {
		if i := (s.current + k) % n; !tried[i] {
			return i
		}
	}
	return -1
}

// failed quarantines server i and moves the current server past it.
func (s *servers) failed(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.until[i] = time.Now().Add(s.quarantine)
	if s.current == i {
		s.current = (i + 1) % len(s.list)
	}
}

// succeeded makes server i the current one.
func (s *servers) succeeded(i int) {
	s.mu.Lock()
	s.current = i
	s.mu.Unlock()
}

// call is one request to the registry API, relative to a service URL.
type call struct {
	op     string // what for, in errors: "register ORDERS/host:orders:8080"
	method string
	path   string // e.g. "/apps/ORDERS"
	body   []byte // JSON, or nil
	// accept reports whether a status code is an answer; other codes make
	// the client try the next registry, as in the Java client (§2.13).
	accept func(code int) bool
	wait   time.Duration // added to attemptTimeout, for watches
}

// result is a registry's answer, read in full.
type result struct {
	code   int
	header http.Header
	body   []byte
	server *server
}

// errNoRegistry wraps the failures of every registry a call tried.
var errNoRegistry = errors.New("no registry answered")

// do sends cl to the current registry and, on a connection error or an
// unaccepted status, to the next ones, quarantining those that failed.
func (c *Client) do(ctx context.Context, cl *call) (*result, error) {
	tried := make([]bool, len(c.servers.list))
	var fails []string
	for range min(maxAttempts, len(tried)) {
		i := c.servers.pick(tried)
		if i < 0 {
			break
		}
		tried[i] = true
		srv := c.servers.list[i]
		res, err := c.send(ctx, srv, cl)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", cl.op, context.Cause(ctx))
		}
		if err == nil && cl.accept(res.code) {
			c.servers.succeeded(i)
			return res, nil
		}
		if err == nil {
			err = fmt.Errorf("%d %s", res.code, http.StatusText(res.code))
		}
		fails = append(fails, srv.base+": "+err.Error())
		c.servers.failed(i)
	}
	return nil, fmt.Errorf("%s: %w: %s", cl.op, errNoRegistry, strings.Join(fails, "; "))
}

// send makes one attempt against one registry.
func (c *Client) send(ctx context.Context, srv *server, cl *call) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout+cl.wait)
	defer cancel()
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, srv.base+cl.path, body)
	if err != nil {
		return nil, err
	}
	// No Accept-Encoding: net/http then asks for gzip and unzips itself.
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if srv.auth {
		req.SetBasicAuth(srv.user, srv.password)
	} else if srv.bearer != "" {
		req.Header.Set("Authorization", srv.bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxBodyBytes {
		return nil, fmt.Errorf("answer larger than %d bytes", maxBodyBytes)
	}
	return &result{code: resp.StatusCode, header: resp.Header, body: data, server: srv}, nil
}

func accept2xx(code int) bool { return code >= 200 && code < 300 }

// acceptLease accepts what register and renew may answer: 404 means
// "register again", not "try another registry".
func acceptLease(code int) bool { return accept2xx(code) || code == http.StatusNotFound }

// acceptDelta accepts 403 and 404, which make the client fetch in full.
func acceptDelta(code int) bool {
	return accept2xx(code) || code == http.StatusForbidden || code == http.StatusNotFound
}

// acceptDeltaSince also accepts the answers of a registry that cannot give
// the changes since a version (409, 410) or does not understand the question
// (400): the client then fetches in full.
func acceptDeltaSince(code int) bool {
	return acceptDelta(code) || code == http.StatusBadRequest || code == http.StatusConflict || code == http.StatusGone
}

// acceptWatch accepts 404 and 405: a registry without the watch extension.
func acceptWatch(code int) bool {
	return accept2xx(code) || code == http.StatusNotFound || code == http.StatusMethodNotAllowed
}

func acceptAny(int) bool { return true }

// backoff returns the delay after n failures in a row: interval, doubled per
// failure up to interval×bound, as Eureka's timed supervisor does; after a
// failure the delay is drawn from its upper half, so clients that failed
// together do not retry together.
func backoff(interval time.Duration, n, bound int) time.Duration {
	if n == 0 {
		return interval
	}
	limit := interval * time.Duration(bound)
	d := interval
	for range n {
		if d >= limit {
			break
		}
		d *= 2
	}
	d = min(d, limit)
	return d/2 + rand.N(d/2+1)
}

// sleep waits for d or until ctx is done, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
