package filter

import (
	"net/http"
	"strings"
)

// TokenRelay sends upstream, unchanged, the bearer token that a JWT filter
// earlier in the route validated, as "Authorization: Bearer <token>". It
// answers 401 (with "WWW-Authenticate: Bearer") when no JWT filter ran
// before it, so a misordered route fails closed rather than passing an
// unchecked header along.
//
// Where we differ from Spring: Spring Cloud Gateway's TokenRelay takes the
// OAuth2 access token of the user who logged in to the gateway (an
// oauth2Login session, optionally of the client registration named by its
// clientRegistrationId argument), refreshing it when it has expired. The
// gateway has no login sessions and no OAuth2 client, so there is nothing to
// look up, refresh or exchange: the token relayed is the one the client
// presented. That is what makes TokenRelay useful after a JWT filter with
// relay-token false, or to state in the route that the upstream relies on
// the token. It takes no arguments; clientRegistrationId is not supported.
func TokenRelay() Filter {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t, ok := r.Context().Value(jwtKey{}).(*jwtToken)
			if !ok {
				jwtWriteError(w, errJWTNotVerified)
				return
			}
			if v := r.Header["Authorization"]; len(v) != 1 || !jwtIsBearer(v[0], t.raw) {
				r = r.WithContext(r.Context()) // a shallow copy; the client's request stays as sent
				r.Header = r.Header.Clone()
				r.Header["Authorization"] = []string{"Bearer " + t.raw}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// jwtIsBearer reports whether the header value h is "Bearer tok".
func jwtIsBearer(h, tok string) bool {
	scheme, rest, ok := strings.Cut(h, " ")
	return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(rest) == tok
}
