// Package redact removes secrets from text meant for logs, errors, metrics
// and pages.
package redact

import "strings"

// URL removes user:password@ from a URL. A password may hold any character,
// '/' and '@' included, and url.Parse then reads part of it as the host or
// path, so URL does not trust the parse: everything between "//" and the
// last '@' goes. A service URL has no '@' in its path, so nothing else is lost.
func URL(s string) string {
	scheme, rest, ok := strings.Cut(s, "//")
	if !ok {
		return s
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		return scheme + "//" + rest[at+1:]
	}
	return s
}
