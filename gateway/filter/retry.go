package filter

// How Retry and CircuitBreaker see a failed upstream call (a note for the proxy's author).
//
// The proxy answers a failed upstream call itself from its ErrorHandler: 502 when the
// connection could not be made or broke before the response head arrived, 504 when the
// response timeout expired. Before it writes that status it calls
//
//	filter.MarkUpstreamFailure(w, filter.ConnectFailure) // or Timeout, or Reset
//
// on the ResponseWriter it was given. Retry and CircuitBreaker hand the rest of the chain a
// writer that implements interface{ UpstreamFailure(FailureKind) }; MarkUpstreamFailure finds
// it, through any writers that wrap it and implement Unwrap() http.ResponseWriter (as
// http.ResponseController expects), and does nothing when there is none. The mark is how
// these filters tell "the upstream failed" (Spring's exceptions: retried by Retry's
// exceptions, counted by CircuitBreaker) from "the upstream answered 502" (a status: retried
// by statuses/series, counted only when listed in statusCodes).
//
// Both filters decide when the status is written, never later: the writers buffer no body.
// Retry discards a retryable attempt's headers and body and calls the chain again, so the
// proxy picks an instance again; the proxy may call NoteInstance(r, id) when it picks one,
// and a picker may call TriedInstances(r) to prefer an instance the request has not tried
// yet (spec §7.3). Anything that wants the raw connection calls Hijack through
// http.ResponseController as usual; that commits the attempt.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
)

// A FailureKind says how an upstream call failed before a response head arrived.
type FailureKind uint8

const (
	// ConnectFailure: no connection could be made (refused, unreachable, DNS, dial timeout).
	// Spring reports these as java.net.ConnectException, an IOException.
	ConnectFailure FailureKind = iota + 1
	// Timeout: the response timeout expired before the response head arrived. Spring
	// reports it as the gateway's TimeoutException.
	Timeout
	// Reset: the connection broke after the request was sent and before the response head
	// arrived (reset, EOF, "Connection prematurely closed BEFORE response"). Spring reports
	// these as IOExceptions.
	Reset
)

// String returns the kind's Go name, as the exceptions argument of Retry accepts it.
func (k FailureKind) String() string {
	switch k {
	case ConnectFailure:
		return "ConnectFailure"
	case Timeout:
		return "Timeout"
	case Reset:
		return "Reset"
	}
	return "FailureKind(" + strconv.Itoa(int(k)) + ")"
}

// MarkUpstreamFailure tells the Retry and CircuitBreaker filters around w that the upstream
// call failed with kind. The proxy's ErrorHandler calls it before it writes its 502 or 504.
// Without such a filter it does nothing.
func MarkUpstreamFailure(w http.ResponseWriter, kind FailureKind) {
	for w != nil {
		if m, ok := w.(interface{ UpstreamFailure(FailureKind) }); ok {
			m.UpstreamFailure(kind)
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

// An UpstreamError is an upstream call that failed before a response head arrived, as
// marked by MarkUpstreamFailure. CircuitBreaker hands it to its fallback (ExecutionError).
type UpstreamError struct {
	Kind FailureKind
}

func (e *UpstreamError) Error() string {
	switch e.Kind {
	case ConnectFailure:
		return "upstream connection failed"
	case Timeout:
		return "upstream response timed out"
	case Reset:
		return "upstream connection closed before the response"
	}
	return "upstream failed: " + e.Kind.String()
}

// resUpstreamErrors holds one UpstreamError per kind, so a failure does not allocate one.
var resUpstreamErrors = [...]*UpstreamError{{0}, {ConnectFailure}, {Timeout}, {Reset}}

// RetryConfig holds Retry's arguments, as spelled in application.yml.
type RetryConfig struct {
	// Retries is how many times a request is tried again after the first attempt
	// (retries). Default 3; at least 1.
	Retries int
	// Statuses are response statuses that are retried, as codes or HttpStatus names
	// ("502", "BAD_GATEWAY") (statuses). They add to Series.
	Statuses []string
	// Series are status classes that are retried: INFORMATIONAL, SUCCESSFUL, REDIRECTION,
	// CLIENT_ERROR, SERVER_ERROR (series). Nil means SERVER_ERROR, as in Spring, so
	// "statuses: 502" alone still retries every 5xx; an empty non-nil list clears it.
	Series []string
	// Methods are the request methods that are retried (methods). Nil means GET.
	Methods []string
	// Exceptions are the failures that are retried (exceptions): the Go names
	// ConnectFailure, Timeout, Reset, or the Java names Spring users write, such as
	// java.io.IOException (ConnectFailure and Reset) and
	// org.springframework.cloud.gateway.support.TimeoutException (Timeout). Nil means
	// Spring's default, java.io.IOException and TimeoutException: every kind. An empty
	// non-nil list retries no failure.
	Exceptions []string
	// Backoff spaces the attempts out (backoff.*). Nil means the next attempt starts at
	// once.
	Backoff *RetryBackoff
	// Jitter randomizes the backoff (jitter.*). Nil means none.
	Jitter *RetryJitter
	// Timeout bounds the retrying (timeout): no attempt starts later than this after the
	// first began. Zero means no limit.
	Timeout time.Duration
	// ReplayBufferSize is how much of a request body is kept so it can be sent again
	// (replayBufferSize, Switchboard's own). Bodies are kept as the upstream reads them;
	// a request whose body is larger is not retried. Default 1 MiB.
	ReplayBufferSize int64
}

// RetryBackoff is Retry's backoff: the n-th retry waits FirstBackoff × Factor^(n-1),
// at most MaxBackoff.
type RetryBackoff struct {
	FirstBackoff time.Duration // backoff.firstBackoff; default 5ms
	MaxBackoff   time.Duration // backoff.maxBackoff; zero means no cap
	Factor       int           // backoff.factor; default 2
	// BasedOnPreviousValue (backoff.basedOnPreviousValue, default true) is accepted for
	// compatibility. Both of Spring's formulas give the same delays, and jitter is applied
	// to each delay on its own, so it changes nothing here.
	BasedOnPreviousValue *bool
}

// RetryJitter is Retry's jitter: each delay d is drawn from [d − d·f, d + d·f].
type RetryJitter struct {
	RandomFactor float64 // jitter.randomFactor f, in [0, 1]; zero means 0.5
}

const resDefaultReplayBufferSize = 1 << 20

// Retry calls the rest of the chain again when an attempt fails, as Spring's Retry
// filter does: when the method is one of Methods and either the response status is in
// Statuses or Series, or the upstream call failed in a way listed in Exceptions. Each
// attempt runs every filter after Retry again, including the proxy's choice of instance.
//
// An attempt's fate is decided when it writes its status: a retryable attempt with
// attempts left is discarded (headers and body), any other is passed on and streamed.
// Nothing is buffered but the request body, and only up to ReplayBufferSize.
//
// Spring: Retry=retries, statuses, methods, backoff.firstBackoff, backoff.maxBackoff,
// backoff.factor, backoff.basedOnPreviousValue, jitter.randomFactor, timeout; series,
// exceptions and replayBufferSize only in the expanded form.
func Retry(cfg RetryConfig) (Filter, error) {
	f, err := newRetry(cfg)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f.serve(next, w, r)
		})
	}, nil
}

type retryFilter struct {
	retries  int
	methods  []string
	statuses resStatusSet
	series   [6]bool // by code/100
	kinds    resKinds
	timeout  time.Duration
	replay   int64
	exec     failsafe.Executor[retryOutcome]
}

// retryOutcome is one attempt as the retry policy sees it.
type retryOutcome struct {
	again bool // the attempt was discarded and must be retried
}

func newRetry(cfg RetryConfig) (*retryFilter, error) {
	var errs []error
	f := &retryFilter{retries: cfg.Retries, timeout: cfg.Timeout, replay: cfg.ReplayBufferSize}
	if f.retries == 0 {
		f.retries = 3
	} else if f.retries < 0 {
		errs = append(errs, fmt.Errorf("retries %d is below 1", f.retries))
	}
	for _, s := range cfg.Statuses {
		code, err := ParseStatus(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("statuses: %w", err))
			continue
		}
		f.statuses.add(code)
	}
	series := cfg.Series
	if series == nil {
		series = []string{"SERVER_ERROR"}
	}
	for _, s := range series {
		i := slices.Index(resSeriesNames[:], resEnumName(s))
		if i < 1 {
			errs = append(errs, fmt.Errorf("series: %q is not a status series; want one of %s", s, strings.Join(resSeriesNames[1:], ", ")))
			continue
		}
		f.series[i] = true
	}
	methods := cfg.Methods
	if methods == nil {
		methods = []string{http.MethodGet}
	}
	if len(methods) == 0 {
		errs = append(errs, errors.New("methods is empty; want at least one method, e.g. GET"))
	}
	for _, m := range methods {
		m = strings.ToUpper(strings.TrimSpace(m))
		if m == "" || strings.ContainsFunc(m, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) }) {
			errs = append(errs, fmt.Errorf("methods: %q is not an HTTP method", m))
			continue
		}
		f.methods = append(f.methods, m)
	}
	if cfg.Exceptions == nil {
		f.kinds = resAllKinds
	}
	for _, name := range cfg.Exceptions {
		k, ok := resExceptionKinds[strings.TrimSpace(name)]
		if !ok {
			errs = append(errs, fmt.Errorf("exceptions: %q is not a failure Retry knows; want one of %s", name, resExceptionNames()))
			continue
		}
		f.kinds |= k
	}
	if f.kinds == 0 && f.statuses == (resStatusSet{}) && !slices.Contains(f.series[:], true) && len(errs) == 0 {
		errs = append(errs, errors.New("statuses, series and exceptions are all empty; want at least one, or Retry never retries"))
	}
	if f.timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v is negative", f.timeout))
	}
	if f.replay == 0 {
		f.replay = resDefaultReplayBufferSize
	} else if f.replay < 0 {
		errs = append(errs, fmt.Errorf("replayBufferSize %d is negative", f.replay))
	}

	b := retrypolicy.NewBuilder[retryOutcome]().
		HandleIf(func(o retryOutcome, _ error) bool { return o.again }).
		WithMaxRetries(f.retries).
		ReturnLastFailure()
	if bo := cfg.Backoff; bo != nil {
		first, maxDelay, factor := bo.FirstBackoff, bo.MaxBackoff, bo.Factor
		if first == 0 {
			first = 5 * time.Millisecond
		}
		if factor == 0 {
			factor = 2
		}
		switch {
		case first < 0:
			errs = append(errs, fmt.Errorf("backoff.firstBackoff %v is not positive", first))
		case factor < 1:
			errs = append(errs, fmt.Errorf("backoff.factor %d is below 1", factor))
		case maxDelay < 0:
			errs = append(errs, fmt.Errorf("backoff.maxBackoff %v is negative", maxDelay))
		case maxDelay != 0 && maxDelay < first:
			errs = append(errs, fmt.Errorf("backoff.maxBackoff %v is below backoff.firstBackoff %v", maxDelay, first))
		}
		b = b.WithDelayFunc(func(exec failsafe.ExecutionAttempt[retryOutcome]) time.Duration {
			return resBackoff(first, maxDelay, factor, exec.Retries())
		})
	}
	if j := cfg.Jitter; j != nil {
		rf := j.RandomFactor
		if rf == 0 {
			rf = 0.5
		}
		if rf < 0 || rf > 1 || math.IsNaN(rf) {
			errs = append(errs, fmt.Errorf("jitter.randomFactor %v is out of range; want a value in [0, 1]", j.RandomFactor))
		} else {
			b = b.WithJitterFactor(rf)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	f.exec = failsafe.With[retryOutcome](b.Build())
	return f, nil
}

// resBackoff is the delay before retry n+1 (n counts from 0): first × factor^n, capped.
func resBackoff(first, maxDelay time.Duration, factor, n int) time.Duration {
	d := float64(first) * math.Pow(float64(factor), float64(n))
	if maxDelay > 0 && d > float64(maxDelay) {
		return maxDelay
	}
	if d > float64(math.MaxInt64/2) {
		return math.MaxInt64 / 2
	}
	return time.Duration(d)
}

func (f *retryFilter) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	if !slices.Contains(f.methods, r.Method) || r.ContentLength > f.replay {
		next.ServeHTTP(w, r)
		return
	}
	var body *resReplay
	if r.Body != nil && r.Body != http.NoBody {
		body = &resReplay{src: r.Body, limit: f.replay}
	}
	st := &resRetryState{}
	ctx := context.WithValue(r.Context(), resRetryKey{}, st)
	var last *resAttempt
	f.exec.WithContext(r.Context()).GetWithExecution(func(exec failsafe.Execution[retryOutcome]) (retryOutcome, error) {
		a := newResAttempt(w, f, false)
		a.again = exec.Attempts() <= f.retries && (f.timeout == 0 || exec.ElapsedTime() < f.timeout)
		a.body = body
		actx, cancel := context.WithCancel(ctx)
		defer cancel()
		a.stop = cancel
		ra := r.Clone(actx) // filters after Retry may change the request; each attempt starts afresh
		if body != nil {
			ra.Body = body.reader()
		}
		last = a
		resServe(next, a, ra)
		return retryOutcome{again: a.dropped()}, nil
	})
	if last != nil && last.dropped() && r.Context().Err() == nil {
		// Only a canceled execution ends on a discarded attempt, and only the client
		// cancels it; this is a safety net.
		http.Error(w, http.StatusText(http.StatusBadGateway), http.StatusBadGateway)
	}
}

// drop implements resJudge: it discards an attempt that failed in a retryable way while
// attempts are left and the request body can be sent again.
func (f *retryFilter) drop(a *resAttempt, code int) bool {
	if !a.again || (a.body != nil && !a.body.replayable()) {
		return false
	}
	if a.kind != 0 {
		return f.kinds.has(a.kind)
	}
	return f.statuses.has(code) || code/100 < len(f.series) && f.series[code/100]
}

// resRetryKey is the context key of a request's *resRetryState.
type resRetryKey struct{}

// resRetryState is what the attempts of one request share. Attempts run one after
// another, so it needs no lock.
type resRetryState struct {
	tried []string
}

// NoteInstance records that the proxy sends r to the instance id. Under a Retry filter,
// later attempts of the same request see it in TriedInstances; elsewhere it does nothing.
func NoteInstance(r *http.Request, id string) {
	if st, _ := r.Context().Value(resRetryKey{}).(*resRetryState); st != nil {
		st.tried = append(st.tried, id)
	}
}

// TriedInstances returns the instances noted so far for r's request, oldest first, so a
// picker can prefer one the request has not tried. It is empty on a first attempt and
// outside a Retry filter. The caller must not modify the slice.
func TriedInstances(r *http.Request) []string {
	if st, _ := r.Context().Value(resRetryKey{}).(*resRetryState); st != nil {
		return st.tried
	}
	return nil
}

// resJudge decides, when an attempt writes its status, whether to discard the attempt.
type resJudge interface {
	drop(a *resAttempt, code int) bool
}

// Attempt states. An attempt leaves resPending once, by compare-and-swap, so the goroutine
// running the chain and CircuitBreaker's time limit cannot both win.
const (
	resPending   int32 = iota
	resCommitted       // passed on to the real writer
	resDropped         // discarded when its status was written
	resAbandoned       // given up by CircuitBreaker (time limit, client gone, panic)
)

// resDrainLimit is how much of a discarded attempt's body is read and thrown away (which
// lets the upstream connection be reused) before writes fail and the attempt is cut off.
const resDrainLimit = 64 << 10

var errResDropped = errors.New("response discarded: the request is being retried or sent to a fallback")

// A resAttempt is the ResponseWriter one attempt of Retry or CircuitBreaker writes to. It
// keeps its own header map and buffers nothing: at WriteHeader it either commits (copies
// the headers to the real writer and streams from then on) or drops the attempt.
type resAttempt struct {
	w     http.ResponseWriter
	h     http.Header
	judge resJudge
	state atomic.Int32

	// Set by the goroutine running the chain before the state changes.
	kind    FailureKind // from MarkUpstreamFailure
	code    int         // the status written, once decided
	failed  bool        // CircuitBreaker: counted as a failure
	drained int

	again   bool               // Retry: attempts are left
	body    *resReplay         // Retry: the replayable request body, or nil
	stop    context.CancelFunc // cancels the attempt's context once it is dropped
	decided chan struct{}
}

func newResAttempt(w http.ResponseWriter, j resJudge, waitable bool) *resAttempt {
	a := &resAttempt{w: w, h: w.Header().Clone(), judge: j}
	if a.h == nil {
		a.h = http.Header{}
	}
	if waitable {
		a.decided = make(chan struct{})
	}
	return a
}

// decide ends the pending state when the attempt writes its status.
func (a *resAttempt) decide(code int) {
	a.code = code
	if a.judge.drop(a, code) {
		if a.state.CompareAndSwap(resPending, resDropped) {
			if a.stop != nil {
				a.stop() // no need to read the rest; the proxy gives up at once
			}
			a.signal()
		}
		return
	}
	if !a.state.CompareAndSwap(resPending, resCommitted) {
		return
	}
	dst := a.w.Header()
	clear(dst)
	for k, v := range a.h {
		dst[k] = v
	}
	if a.kind != 0 {
		MarkUpstreamFailure(a.w, a.kind)
	}
	a.w.WriteHeader(code)
	a.signal()
}

// abandon gives up a pending attempt; it reports false if the attempt was decided first.
func (a *resAttempt) abandon() bool {
	if a.state.CompareAndSwap(resPending, resAbandoned) {
		a.signal()
		return true
	}
	return false
}

func (a *resAttempt) signal() {
	if a.decided != nil {
		close(a.decided)
	}
}

// dropped reports whether nothing of the attempt reaches the client.
func (a *resAttempt) dropped() bool {
	s := a.state.Load()
	return s == resDropped || s == resAbandoned
}

// finish runs when the chain returns: a handler that wrote nothing answered 200.
func (a *resAttempt) finish() {
	if a.state.Load() == resPending {
		a.decide(http.StatusOK)
	}
}

// UpstreamFailure records the proxy's mark; see MarkUpstreamFailure.
func (a *resAttempt) UpstreamFailure(k FailureKind) {
	if a.state.Load() == resCommitted {
		MarkUpstreamFailure(a.w, k)
		return
	}
	a.kind = k
}

func (a *resAttempt) Header() http.Header {
	if a.state.Load() == resCommitted {
		return a.w.Header()
	}
	return a.h
}

func (a *resAttempt) WriteHeader(code int) {
	switch a.state.Load() {
	case resPending:
		if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
			return // 1xx are not decisions; dropped until the attempt commits
		}
		a.decide(code)
	case resCommitted:
		a.w.WriteHeader(code)
	}
}

func (a *resAttempt) Write(p []byte) (int, error) {
	if a.state.Load() == resPending {
		a.decide(http.StatusOK)
	}
	if a.state.Load() == resCommitted {
		return a.w.Write(p)
	}
	a.drained += len(p)
	if a.drained > resDrainLimit {
		return 0, errResDropped
	}
	return len(p), nil
}

func (a *resAttempt) Flush() { a.FlushError() }

func (a *resAttempt) FlushError() error {
	if a.state.Load() == resPending {
		a.decide(http.StatusOK)
	}
	if a.state.Load() != resCommitted {
		return nil
	}
	if f, ok := a.w.(http.Flusher); ok {
		f.Flush()
		return nil
	}
	return http.NewResponseController(a.w).Flush()
}

// Hijack commits the attempt (an upgrade is a success) and hands over the connection.
func (a *resAttempt) Hijack() (c net.Conn, rw *bufio.ReadWriter, err error) {
	if a.state.CompareAndSwap(resPending, resCommitted) {
		a.code = http.StatusSwitchingProtocols
		dst := a.w.Header()
		clear(dst)
		for k, v := range a.h {
			dst[k] = v
		}
		a.signal()
	}
	if a.state.Load() != resCommitted {
		return nil, nil, errResDropped
	}
	return http.NewResponseController(a.w).Hijack()
}

// Unwrap lets http.ResponseController reach the real writer for deadlines.
func (a *resAttempt) Unwrap() http.ResponseWriter { return a.w }

// resServe runs one attempt of the chain. A handler aborted because its attempt was
// discarded (http.ErrAbortHandler from the proxy when a write fails) is not an error.
func resServe(next http.Handler, a *resAttempt, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler && a.dropped() {
				return
			}
			panic(p)
		}
	}()
	next.ServeHTTP(a, r)
	a.finish()
}

// A resReplay keeps a request body as it is read, up to limit bytes, so it can be read
// again from the start by a later attempt or a fallback.
type resReplay struct {
	limit int64

	// mu guards the fields below. It is held while src is read, because src is not safe
	// for concurrent reads and the transport may still read an old attempt's body in its
	// own goroutine while a new attempt starts.
	mu   sync.Mutex
	src  io.ReadCloser
	buf  []byte
	read int64 // bytes read from src
	over bool  // read > limit: buf was dropped and the body cannot be replayed
	err  error // src's sticky error, io.EOF at the end
	gen  int   // the newest reader; older readers fail
}

var (
	errResStaleBody  = errors.New("request body reader replaced by a newer attempt")
	errResBodyTooBig = errors.New("request body too large to send again")
)

// reader returns a body that reads the request from the start; earlier readers stop.
func (p *resReplay) reader() io.ReadCloser {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	return &resReplayReader{p: p, gen: p.gen}
}

func (p *resReplay) replayable() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.over
}

type resReplayReader struct {
	p   *resReplay
	gen int
	off int64
}

func (r *resReplayReader) Read(b []byte) (int, error) {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.gen != p.gen {
		return 0, errResStaleBody
	}
	if r.off < p.read {
		if p.over {
			return 0, errResBodyTooBig
		}
		n := copy(b, p.buf[r.off:])
		r.off += int64(n)
		return n, nil
	}
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.src.Read(b)
	p.read += int64(n)
	r.off += int64(n)
	if !p.over {
		if p.read > p.limit {
			p.over, p.buf = true, nil
		} else {
			p.buf = append(p.buf, b[:n]...)
		}
	}
	if err != nil {
		p.err = err
	}
	return n, err
}

// Close does nothing: the server closes the request body, and another attempt may still
// need it.
func (r *resReplayReader) Close() error { return nil }

// resKinds is a set of FailureKinds.
type resKinds uint8

const resAllKinds = resKinds(1<<ConnectFailure | 1<<Timeout | 1<<Reset)

func (s resKinds) has(k FailureKind) bool { return s&(1<<k) != 0 }

// resExceptionKinds maps the names Retry's exceptions argument accepts to failure kinds.
// The Java names are those Spring users write; each stands for what it covers here.
var resExceptionKinds = map[string]resKinds{
	"ConnectFailure": 1 << ConnectFailure,
	"Timeout":        1 << Timeout,
	"Reset":          1 << Reset,

	"java.lang.Throwable":                                        resAllKinds,
	"java.lang.Exception":                                        resAllKinds,
	"java.io.IOException":                                        1<<ConnectFailure | 1<<Reset,
	"java.net.SocketException":                                   1<<ConnectFailure | 1<<Reset,
	"java.net.ConnectException":                                  1 << ConnectFailure,
	"io.netty.channel.ConnectTimeoutException":                   1 << ConnectFailure,
	"java.net.UnknownHostException":                              1 << ConnectFailure,
	"reactor.netty.http.client.PrematureCloseException":          1 << Reset,
	"java.util.concurrent.TimeoutException":                      1 << Timeout,
	"org.springframework.cloud.gateway.support.TimeoutException": 1 << Timeout,
	"io.netty.handler.timeout.ReadTimeoutException":              1 << Timeout,
	"java.net.SocketTimeoutException":                            1 << Timeout,
}

func resExceptionNames() string {
	names := make([]string, 0, len(resExceptionKinds))
	for n := range resExceptionKinds {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// resStatusSet is a set of HTTP status codes below 1024.
type resStatusSet [16]uint64

func (s *resStatusSet) add(code int) { s[code>>6] |= 1 << (code & 63) }

func (s *resStatusSet) has(code int) bool {
	return code >= 0 && code < 1024 && s[code>>6]&(1<<(code&63)) != 0
}

// resSeriesNames are Spring's HttpStatus.Series names, by code/100.
var resSeriesNames = [...]string{"", "INFORMATIONAL", "SUCCESSFUL", "REDIRECTION", "CLIENT_ERROR", "SERVER_ERROR"}

// resEnumName normalizes an enum value the way Spring Boot's lenient binding reads it:
// case and '-' versus '_' do not matter.
func resEnumName(s string) string {
	return strings.ReplaceAll(strings.ToUpper(strings.TrimSpace(s)), "-", "_")
}
