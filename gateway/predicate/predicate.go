package predicate

import "net/http"

// Predicate reports whether a request matches. It is safe for concurrent use.
type Predicate func(r *http.Request) bool

// An Extractor stores in dst the URI template variables that a route's Path
// or Host patterns capture from r, replacing variables of the same name. The
// gateway calls it once a route has matched, so unlike a Predicate it may
// allocate. It is safe for concurrent use.
type Extractor func(r *http.Request, dst map[string]string)
