// Package filter holds the gateway's route filters, named as Spring Cloud
// Gateway names them (AddRequestHeader, StripPrefix, Retry, CircuitBreaker,
// RequestRateLimiter ...) plus Switchboard's own (CorrelationId, ApiKey, JWT,
// MaskResponse).
//
// Each constructor validates its arguments and returns a Filter, built once
// when the configuration loads. Constructor errors say what is wrong with the
// arguments; the gateway's config loader adds the file, line and route.
package filter

import "net/http"

// A Filter wraps the rest of a route's chain: the filters after it and, last,
// the proxy. It is built once and must be safe for concurrent use.
type Filter func(next http.Handler) http.Handler
