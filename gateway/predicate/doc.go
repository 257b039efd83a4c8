// Package predicate holds the gateway's route predicates, named as Spring
// Cloud Gateway names them: After, Before, Between, Cookie, Header, Host,
// Method, Path, Query, RemoteAddr, XForwardedRemoteAddr and Weight.
//
// Each constructor validates its arguments and compiles them once, when the
// configuration loads; its errors say what is wrong with the arguments
// (pattern "/orders/{id": no closing "}"), and the gateway's config loader
// adds the file, line and route. At match time a predicate neither
// allocates nor changes the request. A route matches when all its
// predicates do.
//
// # Usage
//
// The config loader maps each Spring name to its constructor. Path and
// Host can also be compiled once and shared between the predicate and an
// Extractor, which fills the route's URI template variables after it has
// matched:
//
//	pats := make([]*predicate.PathPattern, len(patterns))
//	for i, s := range patterns {
//		p, err := predicate.CompilePath(s) // then p.WithMatchTrailingSlash(false) if asked
//		...
//	}
//	route.predicates = append(route.predicates, predicate.PathPredicate(pats...))
//	route.vars = append(route.vars, predicate.PathVars(pats...))
//
// Path matches the escaped request path (see RequestPath) and Host the Host
// header with its port, as Spring does by default. Regular expressions are
// Go's (RE2), not Java's: no look-around or back-references. They must
// match a whole value, as Java's String.matches does.
//
// Dates for After, Before and Between come from ParseDateTime, which reads
// the ISO zoned date-times and epoch milliseconds Spring accepts.
//
// # Weight
//
// Weight routes share a random draw, so the predicates of a route table
// need per-request state that a Predicate, which only sees the request,
// cannot keep. The contract:
//
//   - The config loader builds one WeightGroups per route table and, for
//     each route with Weight=group,w in route order, calls Weight (or Add
//     then Predicate) with the route's ID.
//   - For every request, the gateway calls Draw on the table's
//     WeightGroups before matching routes, and matches with the request Draw
//     returns. Draw stores one random number in the request's context; each
//     group's choice is derived from it. When the table has no Weight
//     routes, Draw returns the request unchanged at no cost; otherwise it
//     costs two allocations.
//   - A Weight predicate matches only the route drawn for its group. The
//     route's other predicates still apply: when they fail, the request
//     falls through to later routes and is not drawn again (as in Spring).
//     Without a draw, Weight predicates never match.
//
// # Concurrency
//
// Predicates, Extractors and compiled patterns are immutable and safe for
// concurrent use. A WeightGroups is written while its route table is built
// and only read afterwards; publish the table (an atomic.Pointer Store)
// after the last Add.
package predicate
