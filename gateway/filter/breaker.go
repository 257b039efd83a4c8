package filter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// BreakerConfig holds CircuitBreaker's arguments, as spelled in application.yml.
type BreakerConfig struct {
	// Name is the breaker's id (name). Routes that name the same breaker share its state,
	// and resilience4j.circuitbreaker.instances.NAME (or configs.NAME) configures it.
	// Empty means RouteID, as in Spring.
	Name string
	// RouteID is the id of the route the filter is on; the config loader sets it.
	RouteID string
	// FallbackURI is where failed calls go (fallbackUri). Only forward: URIs are
	// supported, as in Spring; the config loader turns one into the fallback handler it
	// passes to CircuitBreaker. Without a fallback, failures get the statuses Spring gives.
	FallbackURI string
	// FallbackStatus is Switchboard's fixed-response fallback (fallbackStatus): on any
	// failure answer this status, a code or an HttpStatus name, with FallbackBody
	// (fallbackBody) as the body, of type FallbackContentType (fallbackContentType,
	// default text/plain; charset=utf-8). It excludes FallbackURI.
	FallbackStatus      string
	FallbackBody        string
	FallbackContentType string
	// StatusCodes are upstream statuses that count as failures (statusCodes), as codes or
	// HttpStatus names. Without them every response counts as a success, 5xx included.
	StatusCodes []string
	// ResumeWithoutError (resumeWithoutError), without a fallback, swallows an upstream
	// failure marked by the proxy: the client gets an empty 200, as in Spring, instead of
	// the proxy's 502. An open circuit (503) and the time limit (504) are never hidden.
	ResumeWithoutError bool
	// ReplayBufferSize is how much of the request body is kept, with a fallback, so that
	// the fallback can read it again (replayBufferSize, Switchboard's own). A fallback
	// after a larger body was read gets a body that fails. Default 1 MiB.
	ReplayBufferSize int64
	// Breakers holds the named breakers and their Resilience4j configuration. Nil means a
	// set of this filter's own, with Resilience4j's defaults.
	Breakers *Breakers
}

// Errors CircuitBreaker hands to its fallback, besides *UpstreamError and
// *StatusCodeError. They come wrapped with the breaker's name.
var (
	// ErrCallNotPermitted: the circuit is open, or half-open with no trial call left
	// (Resilience4j's CallNotPermittedException).
	ErrCallNotPermitted = errors.New("call not permitted")
	// ErrTimeLimit: no response head within the time limiter's timeoutDuration
	// (java.util.concurrent.TimeoutException).
	ErrTimeLimit = errors.New("time limit exceeded")
)

// A StatusCodeError is an upstream response whose status is in CircuitBreaker's
// statusCodes (Spring's CircuitBreakerStatusCodeException).
type StatusCodeError struct {
	Code int
}

func (e *StatusCodeError) Error() string {
	return "upstream answered " + strconv.Itoa(e.Code) + " " + http.StatusText(e.Code)
}

// resBreakerErrKey is the context key of the error ExecutionError returns.
type resBreakerErrKey struct{}

// ExecutionError returns why CircuitBreaker sent r to its fallback: an error wrapping
// ErrCallNotPermitted or ErrTimeLimit, an *UpstreamError or a *StatusCodeError. It is
// Spring's circuitBreakerExecutionException attribute, for FallbackHeaders; nil outside a
// fallback.
func ExecutionError(r *http.Request) error {
	err, _ := r.Context().Value(resBreakerErrKey{}).(error)
	return err
}

// CircuitBreaker runs the rest of the chain inside a Resilience4j-style circuit breaker
// and time limiter, as Spring Cloud Gateway's CircuitBreaker filter does, built on
// failsafe-go's circuit breaker and timeout policies.
//
// A call fails when the proxy marks an upstream failure (see MarkUpstreamFailure), when
// its status is in StatusCodes, or when no response head arrives within the time limit;
// the time limit cancels the call's context. While the circuit is open calls do not
// reach the rest of the chain. Failures go to fallback, or to the fixed response, or else
// get 503 (circuit open), 504 (time limit) or pass through unchanged (other failures).
//
// fallback is the handler the config loader built for FallbackURI; it receives the
// request as it reached CircuitBreaker, its body readable again, and ExecutionError(r)
// says why. Nil means no fallback.
//
// Spring: CircuitBreaker=name (the shortcut takes only the name); fallbackUri,
// statusCodes, resumeWithoutError and Switchboard's fallbackStatus, fallbackBody,
// fallbackContentType and replayBufferSize in the expanded form.
func CircuitBreaker(cfg BreakerConfig, fallback http.Handler) (Filter, error) {
	var errs []error
	name := cfg.Name
	if name == "" {
		name = cfg.RouteID
	}
	if name == "" {
		errs = append(errs, errors.New("name is empty and the route has no id; want a breaker name"))
	}
	if cfg.FallbackURI != "" {
		if !strings.HasPrefix(cfg.FallbackURI, "forward:") {
			errs = append(errs, fmt.Errorf("fallbackUri %q: only forward: URIs are supported, e.g. forward:/fallback", cfg.FallbackURI))
		} else if fallback == nil {
			errs = append(errs, fmt.Errorf("fallbackUri %q has no handler", cfg.FallbackURI))
		}
	}
	if cfg.FallbackStatus != "" {
		code, err := ParseStatus(cfg.FallbackStatus)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("fallbackStatus: %w", err))
		case code < 200:
			errs = append(errs, fmt.Errorf("fallbackStatus %q: an informational (1xx) status cannot end a response", cfg.FallbackStatus))
		case fallback != nil || cfg.FallbackURI != "":
			errs = append(errs, errors.New("fallbackUri and fallbackStatus are both set; want one of them"))
		default:
			ct := cfg.FallbackContentType
			if ct == "" {
				ct = "text/plain; charset=utf-8"
			}
			fallback = &resFixedResponse{status: code, body: []byte(cfg.FallbackBody), contentType: []string{ct}}
		}
	} else if cfg.FallbackBody != "" || cfg.FallbackContentType != "" {
		errs = append(errs, errors.New("fallbackBody and fallbackContentType need fallbackStatus"))
	}
	f := &breakerFilter{resume: cfg.ResumeWithoutError, fallback: fallback, replay: cfg.ReplayBufferSize}
	for _, s := range cfg.StatusCodes {
		code, err := ParseStatus(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("statusCodes: %w", err))
			continue
		}
		f.statusCodes.add(code)
	}
	if f.replay == 0 {
		f.replay = resDefaultReplayBufferSize
	} else if f.replay < 0 {
		errs = append(errs, fmt.Errorf("replayBufferSize %d is negative", f.replay))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	bs := cfg.Breakers
	if bs == nil {
		bs = &Breakers{}
	}
	br, err := bs.breaker(name)
	if err != nil {
		return nil, err
	}
	f.br = br
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f.serve(next, w, r)
		})
	}, nil
}

type breakerFilter struct {
	br          *breaker
	statusCodes resStatusSet
	resume      bool
	fallback    http.Handler
	replay      int64
}

// drop implements resJudge: it judges the call when it writes its status, and discards
// a failed call that goes to the fallback or that ResumeWithoutError swallows.
func (f *breakerFilter) drop(a *resAttempt, code int) bool {
	a.failed = a.kind != 0 || f.statusCodes.has(code)
	if !a.failed {
		return false
	}
	return f.fallback != nil || a.kind != 0 && f.resume
}

func (f *breakerFilter) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	br := f.br
	orig := r
	var body *resReplay
	if f.fallback != nil {
		// Keep the request as it is here, body included, for the fallback.
		r = r.Clone(r.Context())
		if r.Body != nil && r.Body != http.NoBody {
			body = &resReplay{src: r.Body, limit: f.replay}
			r.Body = body.reader()
		}
	}
	// The chain's context ends when the time limit strikes first or the call is dropped.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	r = r.WithContext(ctx)
	a := newResAttempt(w, f, true)
	a.stop = cancel
	var (
		done     chan struct{}
		panicked any
	)
	_, err := br.exec.WithContext(orig.Context()).GetWithExecution(func(exec failsafe.Execution[breakerOutcome]) (breakerOutcome, error) {
		// The chain runs in its own goroutine so that the call can be judged, and the
		// time limit stopped, when the response head is written, while the body streams.
		start := time.Now()
		done = make(chan struct{})
		go func() {
			defer close(done)
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler && a.dropped() {
						return // the proxy gave up writing a response we discarded
					}
					panicked = p
					a.abandonFailed()
				}
			}()
			next.ServeHTTP(a, r)
			a.finish()
		}()
		select {
		case <-a.decided:
		case <-exec.Canceled(): // the time limit, or the client went away
			if a.abandon() {
				cancel()
				return breakerOutcome{}, exec.Context().Err()
			}
			<-a.decided
		}
		return breakerOutcome{failed: a.failed, elapsed: time.Since(start)}, nil
	})
	if done == nil { // not called
		if errors.Is(err, circuitbreaker.ErrOpen) {
			br.notPermitted.Add(1)
			f.fail(w, orig, body, br.errOpen, http.StatusServiceUnavailable, "Upstream service is temporarily unavailable")
		}
		return
	}
	<-done
	if panicked != nil {
		panic(panicked)
	}
	switch a.state.Load() {
	case resCommitted:
		return
	case resDropped:
		if f.fallback != nil {
			var cause error = resUpstreamErrors[a.kind]
			if a.kind == 0 {
				cause = &StatusCodeError{Code: a.code}
			}
			f.fail(w, orig, body, cause, 0, "")
		}
		return // else ResumeWithoutError swallowed the failure
	}
	if orig.Context().Err() != nil {
		return // the client went away; nobody to answer
	}
	br.timeouts.Add(1)
	f.fail(w, orig, body, br.errTimeout, http.StatusGatewayTimeout, "Upstream service did not answer in time")
}

// fail answers a failed call: with the fallback if there is one, else with status.
func (f *breakerFilter) fail(w http.ResponseWriter, r *http.Request, body *resReplay, cause error, status int, msg string) {
	if f.fallback == nil {
		http.Error(w, msg, status)
		return
	}
	f.br.fallbacks.Add(1)
	fr := r.WithContext(context.WithValue(r.Context(), resBreakerErrKey{}, cause))
	if body != nil {
		fr.Body = body.reader()
	}
	f.fallback.ServeHTTP(w, fr)
}

// abandonFailed abandons a pending attempt whose chain panicked, as a failure.
func (a *resAttempt) abandonFailed() {
	if a.state.CompareAndSwap(resPending, resAbandoned) {
		a.failed = true
		a.signal()
	}
}

// resFixedResponse is the fallback of fallbackStatus.
type resFixedResponse struct {
	status      int
	body        []byte
	contentType []string
}

func (h *resFixedResponse) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header()["Content-Type"] = h.contentType[:1:1]
	w.Header().Set("Content-Length", strconv.Itoa(len(h.body)))
	w.WriteHeader(h.status)
	w.Write(h.body)
}

// Breakers holds a gateway's circuit breakers by name and the Resilience4j configuration
// they are built from. The config loader fills the exported fields from
// resilience4j.circuitbreaker.*, resilience4j.timelimiter.* and
// spring.cloud.circuitbreaker.resilience4j.*, calls Validate, and passes the Breakers to
// every CircuitBreaker filter. Set the fields before the first filter is built; they are
// read, not copied.
//
// A breaker is created, CLOSED, the first time a filter names it, and lives as long as the
// Breakers: a new configuration wants a new Breakers. The zero value has Resilience4j's
// defaults. Methods are safe for concurrent use.
type Breakers struct {
	// Configs are shared breaker configurations (resilience4j.circuitbreaker.configs.NAME).
	// "default" underlies every breaker.
	Configs map[string]BreakerProperties
	// Instances configure breakers by name (resilience4j.circuitbreaker.instances.NAME).
	Instances map[string]BreakerProperties
	// TimeLimiterConfigs and TimeLimiterInstances do the same for the time limiter
	// (resilience4j.timelimiter.configs.NAME, resilience4j.timelimiter.instances.NAME).
	TimeLimiterConfigs   map[string]TimeLimiterProperties
	TimeLimiterInstances map[string]TimeLimiterProperties
	// DisableTimeLimiter turns the time limiter off for every breaker
	// (spring.cloud.circuitbreaker.resilience4j.disable-time-limiter, default false).
	DisableTimeLimiter bool
	// DisableTimeLimiterMap overrides DisableTimeLimiter by breaker name
	// (spring.cloud.circuitbreaker.resilience4j.disable-time-limiter-map.NAME).
	DisableTimeLimiterMap map[string]bool
	// Logger gets one warning per breaker that uses Resilience4j's silent 1s time limit
	// because none is configured. Nil means slog.Default().
	Logger *slog.Logger

	mu       sync.Mutex          // guards breakers
	breakers map[string]*breaker // by name
}

// BreakerProperties is one block of resilience4j.circuitbreaker.configs.NAME.* or
// instances.NAME.*, as written: a zero field is not set and falls through to the layer
// below (see Breakers.Config). The comments give Resilience4j's defaults.
type BreakerProperties struct {
	BaseConfig                            string        // baseConfig: the configs entry this block extends
	SlidingWindowType                     string        // slidingWindowType: COUNT_BASED (calls) or TIME_BASED (seconds)
	SlidingWindowSize                     int           // slidingWindowSize: 100
	MinimumNumberOfCalls                  int           // minimumNumberOfCalls: 100
	FailureRateThreshold                  float64       // failureRateThreshold: 50 (percent)
	SlowCallRateThreshold                 float64       // slowCallRateThreshold: 100 (percent)
	SlowCallDurationThreshold             time.Duration // slowCallDurationThreshold: 60s
	WaitDurationInOpenState               time.Duration // waitDurationInOpenState: 60s
	PermittedNumberOfCallsInHalfOpenState int           // permittedNumberOfCallsInHalfOpenState: 10
	// AutomaticTransitionFromOpenToHalfOpenEnabled (default false): the breaker reports
	// HALF_OPEN as soon as the wait is over, rather than at the next call.
	AutomaticTransitionFromOpenToHalfOpenEnabled *bool
}

// TimeLimiterProperties is one block of resilience4j.timelimiter.configs.NAME.* or
// instances.NAME.*, as written; a zero field is not set.
type TimeLimiterProperties struct {
	BaseConfig          string        // baseConfig
	TimeoutDuration     time.Duration // timeoutDuration: 1s
	CancelRunningFuture *bool         // cancelRunningFuture: true
}

// Resilience4jConfig is the effective configuration of one breaker and its time limiter.
type Resilience4jConfig struct {
	SlidingWindowType                            string // COUNT_BASED or TIME_BASED
	SlidingWindowSize                            int
	MinimumNumberOfCalls                         int
	FailureRateThreshold                         float64 // percent
	SlowCallRateThreshold                        float64 // percent
	SlowCallDurationThreshold                    time.Duration
	WaitDurationInOpenState                      time.Duration
	PermittedNumberOfCallsInHalfOpenState        int
	AutomaticTransitionFromOpenToHalfOpenEnabled bool

	// TimeLimiterEnabled is false when disable-time-limiter applies.
	TimeLimiterEnabled bool
	TimeoutDuration    time.Duration
	// CancelRunningFuture is accepted for compatibility. As in Spring's reactive binding,
	// a call that runs out of time is always cancelled (its context is).
	CancelRunningFuture bool
}

// resilience4jDefaults returns CircuitBreakerConfig.ofDefaults() and
// TimeLimiterConfig.ofDefaults().
func resilience4jDefaults() Resilience4jConfig {
	return Resilience4jConfig{
		SlidingWindowType:                     "COUNT_BASED",
		SlidingWindowSize:                     100,
		MinimumNumberOfCalls:                  100,
		FailureRateThreshold:                  50,
		SlowCallRateThreshold:                 100,
		SlowCallDurationThreshold:             60 * time.Second,
		WaitDurationInOpenState:               60 * time.Second,
		PermittedNumberOfCallsInHalfOpenState: 10,
		TimeLimiterEnabled:                    true,
		TimeoutDuration:                       time.Second,
		CancelRunningFuture:                   true,
	}
}

// Config returns the effective configuration of the breaker called name, resolved as
// Spring Cloud CircuitBreaker does (spec §5.3), for the breaker and the time limiter
// alike. Layers apply from the bottom up, each setting only the fields it sets:
//
//  1. Resilience4j's defaults;
//  2. Configs["default"];
//  3. if Instances[name] exists: the Configs entry its BaseConfig names (and that entry's
//     own BaseConfig, recursively), then Instances[name];
//     otherwise, if Configs[name] exists: Configs[name] (with its BaseConfig chain).
//
// The time limiter is off if DisableTimeLimiterMap[name] says so, else if
// DisableTimeLimiter does. Missing baseConfig entries are skipped here; Validate reports
// them.
func (b *Breakers) Config(name string) Resilience4jConfig {
	c, _ := b.resolve(name)
	return c
}

// resolve is Config; it also reports whether the time limit is Resilience4j's default
// because nothing configures it.
func (b *Breakers) resolve(name string) (c Resilience4jConfig, defaultTimeLimit bool) {
	c = resilience4jDefaults()
	for _, p := range resLayers(b.Configs, b.Instances, name) {
		p.apply(&c)
	}
	defaultTimeLimit = true
	for _, p := range resLayers(b.TimeLimiterConfigs, b.TimeLimiterInstances, name) {
		if p.TimeoutDuration != 0 {
			c.TimeoutDuration = p.TimeoutDuration
			defaultTimeLimit = false
		}
		if p.CancelRunningFuture != nil {
			c.CancelRunningFuture = *p.CancelRunningFuture
		}
	}
	disabled, ok := b.DisableTimeLimiterMap[name]
	if !ok {
		disabled = b.DisableTimeLimiter
	}
	c.TimeLimiterEnabled = !disabled
	return c, defaultTimeLimit
}

func (p *BreakerProperties) apply(c *Resilience4jConfig) {
	if p.SlidingWindowType != "" {
		c.SlidingWindowType = resEnumName(p.SlidingWindowType)
	}
	resSetIf(&c.SlidingWindowSize, p.SlidingWindowSize)
	resSetIf(&c.MinimumNumberOfCalls, p.MinimumNumberOfCalls)
	resSetIf(&c.FailureRateThreshold, p.FailureRateThreshold)
	resSetIf(&c.SlowCallRateThreshold, p.SlowCallRateThreshold)
	resSetIf(&c.SlowCallDurationThreshold, p.SlowCallDurationThreshold)
	resSetIf(&c.WaitDurationInOpenState, p.WaitDurationInOpenState)
	resSetIf(&c.PermittedNumberOfCallsInHalfOpenState, p.PermittedNumberOfCallsInHalfOpenState)
	if p.AutomaticTransitionFromOpenToHalfOpenEnabled != nil {
		c.AutomaticTransitionFromOpenToHalfOpenEnabled = *p.AutomaticTransitionFromOpenToHalfOpenEnabled
	}
}

func resSetIf[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

// resBased is a properties block that may extend a configs entry.
type resBased interface {
	BreakerProperties | TimeLimiterProperties
}

func resBase[P resBased](p P) string {
	switch p := any(p).(type) {
	case BreakerProperties:
		return p.BaseConfig
	case TimeLimiterProperties:
		return p.BaseConfig
	}
	return ""
}

// resLayers returns the blocks that configure name, bottom layer first (see Config).
func resLayers[P resBased](configs, instances map[string]P, name string) []*P {
	var layers []*P
	if p, ok := configs["default"]; ok {
		layers = append(layers, &p)
	}
	if p, ok := instances[name]; ok {
		layers = append(layers, resBaseChain(configs, resBase(p))...)
		return append(layers, &p)
	}
	if name != "default" {
		layers = append(layers, resBaseChain(configs, name)...)
	}
	return layers
}

// resBaseChain returns configs[name] after the entries it extends, base first.
func resBaseChain[P resBased](configs map[string]P, name string) []*P {
	var chain []*P
	seen := map[string]bool{}
	for name != "" && !seen[name] {
		seen[name] = true
		p, ok := configs[name]
		if !ok {
			break
		}
		chain = append(chain, &p)
		name = resBase(p)
	}
	slices.Reverse(chain)
	return chain
}

// Validate reports every problem in the Resilience4j properties at once: values out of
// range and baseConfig names that are not configs entries. Each error names its key.
func (b *Breakers) Validate() error {
	var errs []error
	for _, block := range []struct {
		prefix string
		m      map[string]BreakerProperties
	}{
		{"resilience4j.circuitbreaker.configs.", b.Configs},
		{"resilience4j.circuitbreaker.instances.", b.Instances},
	} {
		for _, name := range slices.Sorted(maps.Keys(block.m)) {
			p := block.m[name]
			key := block.prefix + name + "."
			errs = append(errs, p.check(key)...)
			errs = append(errs, resCheckBase(b.Configs, "resilience4j.circuitbreaker.configs", key, name, block.prefix == "resilience4j.circuitbreaker.configs.", p.BaseConfig))
		}
	}
	for _, block := range []struct {
		prefix string
		m      map[string]TimeLimiterProperties
	}{
		{"resilience4j.timelimiter.configs.", b.TimeLimiterConfigs},
		{"resilience4j.timelimiter.instances.", b.TimeLimiterInstances},
	} {
		for _, name := range slices.Sorted(maps.Keys(block.m)) {
			p := block.m[name]
			key := block.prefix + name + "."
			if p.TimeoutDuration < 0 {
				errs = append(errs, fmt.Errorf("%stimeoutDuration: %v is negative", key, p.TimeoutDuration))
			}
			errs = append(errs, resCheckBase(b.TimeLimiterConfigs, "resilience4j.timelimiter.configs", key, name, block.prefix == "resilience4j.timelimiter.configs.", p.BaseConfig))
		}
	}
	return errors.Join(errs...)
}

// resCheckBase checks that base names a configs entry and, for a configs entry itself
// (inConfigs), does not lead back to it.
func resCheckBase[P resBased](configs map[string]P, configsKey, key, name string, inConfigs bool, base string) error {
	if base == "" {
		return nil
	}
	if _, ok := configs[base]; !ok {
		return fmt.Errorf("%sbaseConfig: %q is not in %s; known: %s", key, base, configsKey, strings.Join(slices.Sorted(maps.Keys(configs)), ", "))
	}
	if !inConfigs {
		return nil
	}
	for seen, n := map[string]bool{name: true}, base; n != ""; {
		if seen[n] {
			return fmt.Errorf("%sbaseConfig: %q leads back to %q", key, base, name)
		}
		seen[n] = true
		n = resBase(configs[n])
	}
	return nil
}

// check validates the fields a block sets, as Resilience4j's builder does.
func (p *BreakerProperties) check(key string) []error {
	var errs []error
	if p.SlidingWindowType != "" {
		if t := resEnumName(p.SlidingWindowType); t != "COUNT_BASED" && t != "TIME_BASED" {
			errs = append(errs, fmt.Errorf("%sslidingWindowType: %q is not a window type; want COUNT_BASED or TIME_BASED", key, p.SlidingWindowType))
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"slidingWindowSize", p.SlidingWindowSize},
		{"minimumNumberOfCalls", p.MinimumNumberOfCalls},
		{"permittedNumberOfCallsInHalfOpenState", p.PermittedNumberOfCallsInHalfOpenState},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s%s: %d is below 1", key, f.name, f.v))
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"failureRateThreshold", p.FailureRateThreshold},
		{"slowCallRateThreshold", p.SlowCallRateThreshold},
	} {
		if f.v < 0 || f.v > 100 || math.IsNaN(f.v) {
			errs = append(errs, fmt.Errorf("%s%s: %v is out of range; want a percentage in (0, 100]", key, f.name, f.v))
		}
	}
	if p.SlowCallDurationThreshold < 0 {
		errs = append(errs, fmt.Errorf("%sslowCallDurationThreshold: %v is negative", key, p.SlowCallDurationThreshold))
	}
	if d := p.WaitDurationInOpenState; d < 0 || d > 0 && d < time.Millisecond {
		errs = append(errs, fmt.Errorf("%swaitDurationInOpenState: %v is below 1ms", key, d))
	}
	return errs
}

// check validates an effective configuration (whose fields are all set).
func (c *Resilience4jConfig) check() error {
	var p BreakerProperties
	p.SlidingWindowType = c.SlidingWindowType
	p.SlidingWindowSize, p.MinimumNumberOfCalls, p.PermittedNumberOfCallsInHalfOpenState = c.SlidingWindowSize, c.MinimumNumberOfCalls, c.PermittedNumberOfCallsInHalfOpenState
	p.FailureRateThreshold, p.SlowCallRateThreshold = c.FailureRateThreshold, c.SlowCallRateThreshold
	p.SlowCallDurationThreshold, p.WaitDurationInOpenState = c.SlowCallDurationThreshold, c.WaitDurationInOpenState
	errs := p.check("")
	if c.TimeoutDuration < 0 {
		errs = append(errs, fmt.Errorf("timeoutDuration: %v is negative", c.TimeoutDuration))
	}
	return errors.Join(errs...)
}

// breaker returns the breaker called name, creating it on first use.
func (b *Breakers) breaker(name string) (*breaker, error) {
	b.mu.Lock()
	br := b.breakers[name]
	if br != nil {
		b.mu.Unlock()
		return br, nil
	}
	cfg, defaultTimeLimit := b.resolve(name)
	if err := cfg.check(); err != nil {
		b.mu.Unlock()
		return nil, fmt.Errorf("breaker %q: %w", name, err)
	}
	br = newBreaker(name, cfg)
	if b.breakers == nil {
		b.breakers = map[string]*breaker{}
	}
	b.breakers[name] = br
	b.mu.Unlock()

	if defaultTimeLimit && cfg.TimeLimiterEnabled {
		log := b.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("circuit breaker times calls out after Resilience4j's default 1s: no time limiter is configured",
			"breaker", name,
			"hint", "set resilience4j.timelimiter.configs.default.timeout-duration, or spring.cloud.circuitbreaker.resilience4j.disable-time-limiter")
	}
	return br, nil
}

// States returns each breaker's state by name, in Resilience4j's words: CLOSED, OPEN or
// HALF_OPEN.
func (b *Breakers) States() map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := make(map[string]string, len(b.breakers))
	for name, br := range b.breakers {
		m[name] = br.state()
	}
	return m
}

// BreakerStats is one breaker's state and counters, for metrics.
type BreakerStats struct {
	Name         string
	State        string // CLOSED, OPEN or HALF_OPEN
	NotPermitted uint64 // calls refused while open or half-open (Resilience4j's not_permitted)
	Timeouts     uint64 // calls stopped by the time limiter
	Fallbacks    uint64 // fallbacks (fallbackUri or fallbackStatus) served
}

// Stats returns every breaker's stats, sorted by name. Counters only grow.
func (b *Breakers) Stats() []BreakerStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	stats := make([]BreakerStats, 0, len(b.breakers))
	for _, name := range slices.Sorted(maps.Keys(b.breakers)) {
		br := b.breakers[name]
		stats = append(stats, BreakerStats{
			Name:         name,
			State:        br.state(),
			NotPermitted: br.notPermitted.Load(),
			Timeouts:     br.timeouts.Load(),
			Fallbacks:    br.fallbacks.Load(),
		})
	}
	return stats
}

// A breaker is the live state behind one breaker name: failsafe-go circuit breakers
// configured from Resilience4j settings, and counters.
type breaker struct {
	name     string
	cfg      Resilience4jConfig
	failures circuitbreaker.CircuitBreaker[breakerOutcome]
	// slow opens on the slow-call rate. Resilience4j keeps one window with two rates;
	// failsafe-go has one rate per breaker, so a second breaker sees the same calls. It
	// is nil when no call can be slower than slowCallDurationThreshold because the time
	// limiter stops it first (the defaults: 1s against 60s).
	slow circuitbreaker.CircuitBreaker[breakerOutcome]
	exec failsafe.Executor[breakerOutcome]

	errOpen, errTimeout error // wrapped with the name, made once

	notPermitted, timeouts, fallbacks atomic.Uint64
}

// breakerOutcome is one call as the breakers see it.
type breakerOutcome struct {
	failed  bool
	elapsed time.Duration // until the response head
}

func newBreaker(name string, c Resilience4jConfig) *breaker {
	br := &breaker{
		name:       name,
		cfg:        c,
		errOpen:    fmt.Errorf("circuit breaker %q is open: %w", name, ErrCallNotPermitted),
		errTimeout: fmt.Errorf("circuit breaker %q: no response within %v: %w", name, c.TimeoutDuration, ErrTimeLimit),
	}
	br.failures = resFailsafeBreaker(c, c.FailureRateThreshold, func(o breakerOutcome, err error) bool {
		if err != nil {
			// The time limit is a failure. ErrOpen comes from the slow-call breaker
			// inside, which refused the call; a client that went away (context.Canceled)
			// leaves no outcome in Resilience4j. failsafe-go releases a permit only by
			// recording, so both count as successes.
			return errors.Is(err, timeout.ErrExceeded)
		}
		return o.failed
	})
	policies := []failsafe.Policy[breakerOutcome]{br.failures}
	if !c.TimeLimiterEnabled || c.TimeoutDuration > c.SlowCallDurationThreshold {
		threshold, limit := c.SlowCallDurationThreshold, c.TimeoutDuration
		br.slow = resFailsafeBreaker(c, c.SlowCallRateThreshold, func(o breakerOutcome, err error) bool {
			if err != nil {
				return errors.Is(err, timeout.ErrExceeded) && limit > threshold
			}
			return o.elapsed > threshold
		})
		policies = append(policies, br.slow)
	}
	if c.TimeLimiterEnabled {
		policies = append(policies, timeout.New[breakerOutcome](c.TimeoutDuration))
	}
	br.exec = failsafe.With(policies...)
	return br
}

// resFailsafeBreaker maps Resilience4j's settings onto a failsafe-go circuit breaker that
// opens when the rate of calls for which failed returns true reaches ratePercent:
//
//   - COUNT_BASED: a window of the last min(minimumNumberOfCalls, slidingWindowSize) calls,
//     judged once it is full. With minimumNumberOfCalls at least slidingWindowSize (the
//     defaults) that is Resilience4j exactly; below it, Resilience4j judges the last
//     slidingWindowSize calls once minimumNumberOfCalls are in, and failsafe-go, which
//     has one size for both, judges the last minimumNumberOfCalls.
//   - TIME_BASED: the calls of the last slidingWindowSize seconds (in 10 buckets), judged
//     once there are minimumNumberOfCalls.
//   - OPEN lasts waitDurationInOpenState; the next call then finds it HALF_OPEN.
//   - HALF_OPEN lets m = min(minimumNumberOfCalls, permittedNumberOfCallsInHalfOpenState)
//     calls through at a time and decides on the first m outcomes, as Resilience4j does:
//     it reopens once the failures reach ratePercent of m and closes once they no
//     longer can. Resilience4j lets permittedNumberOfCallsInHalfOpenState calls start.
func resFailsafeBreaker(c Resilience4jConfig, ratePercent float64, failed func(breakerOutcome, error) bool) circuitbreaker.CircuitBreaker[breakerOutcome] {
	rate := ratePercent / 100
	b := circuitbreaker.NewBuilder[breakerOutcome]().
		HandleIf(failed).
		WithDelay(c.WaitDurationInOpenState)
	if c.SlidingWindowType == "TIME_BASED" {
		b = b.WithFailureRateThreshold(rate, uint(c.MinimumNumberOfCalls), time.Duration(c.SlidingWindowSize)*time.Second)
	} else {
		b = b.WithFailureRateThreshold(rate, uint(min(c.MinimumNumberOfCalls, c.SlidingWindowSize)), 0)
	}
	m := min(c.MinimumNumberOfCalls, c.PermittedNumberOfCallsInHalfOpenState)
	failuresToOpen := max(1, int(math.Ceil(ratePercent*float64(m)/100-1e-9)))
	return b.WithSuccessThresholdRatio(uint(m-failuresToOpen+1), uint(m)).Build()
}

// state is the breaker's state in Resilience4j's words.
func (br *breaker) state() string {
	s := br.stateOf(br.failures)
	if br.slow != nil {
		if t := br.stateOf(br.slow); t == "OPEN" || t == "HALF_OPEN" && s == "CLOSED" {
			s = t
		}
	}
	return s
}

func (br *breaker) stateOf(cb circuitbreaker.CircuitBreaker[breakerOutcome]) string {
	switch cb.State() {
	case circuitbreaker.OpenState:
		// failsafe-go half-opens at the next call; with automatic transition Resilience4j
		// would have switched already, so report what it would.
		if br.cfg.AutomaticTransitionFromOpenToHalfOpenEnabled && cb.RemainingDelay() == 0 {
			return "HALF_OPEN"
		}
		return "OPEN"
	case circuitbreaker.HalfOpenState:
		return "HALF_OPEN"
	}
	return "CLOSED"
}
