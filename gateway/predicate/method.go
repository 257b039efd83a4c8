package predicate

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// Method matches when the request method is one of methods. The comparison
// is exact, as in Spring: methods are case-sensitive, so "get" never matches
// a GET request.
//
// Spring: Method=GET,POST; shortcut values are all methods; expanded arg
// methods (a list).
func Method(methods ...string) (Predicate, error) {
	if len(methods) == 0 {
		return nil, errors.New("no methods")
	}
	var errs []error
	for _, m := range methods {
		if !isToken(m) {
			errs = append(errs, fmt.Errorf("method %q is not an HTTP token", m))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	methods = slices.Clone(methods)
	return func(r *http.Request) bool {
		for _, m := range methods {
			if r.Method == m {
				return true
			}
		}
		return false
	}, nil
}
