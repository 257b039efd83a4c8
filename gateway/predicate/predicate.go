// Package predicate holds the gateway's route predicates, named as Spring
// Cloud Gateway names them: Path, Host, Method, Header, Query, Cookie,
// RemoteAddr, After, Before, Between and Weight.
//
// A predicate is compiled once, when the configuration loads; at match time it
// neither allocates nor changes the request.
package predicate

import "net/http"

// Predicate reports whether a request matches. It is safe for concurrent use.
type Predicate func(r *http.Request) bool
