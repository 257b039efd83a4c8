package filter

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// varsKey is the context key for the URI template variables of a request.
type varsKey struct{}

// WithVars returns r with vars recorded as its URI template variables, the
// values captured by the route's Path and Host predicates. The gateway calls
// it once per request after the route matched and before the route's filters
// run. Like Spring's putUriTemplateVariables, variables already recorded on r
// are kept unless vars has the same name.
//
// Values are decoded, as Spring's PathPattern gives them: "/a%20b" matched by
// "/{seg}" records seg = "a b". Filters that put a value back into a path
// (SetPath, PrefixPath) escape it again. WithVars does not copy vars; the
// caller must not change the map afterwards.
func WithVars(r *http.Request, vars map[string]string) *http.Request {
	if len(vars) == 0 {
		return r
	}
	if old := Vars(r); len(old) > 0 {
		merged := make(map[string]string, len(old)+len(vars))
		for k, v := range old {
			merged[k] = v
		}
		for k, v := range vars {
			merged[k] = v
		}
		vars = merged
	}
	return r.WithContext(context.WithValue(r.Context(), varsKey{}, vars))
}

// Vars returns the URI template variables recorded on r by WithVars, or nil.
// The map must not be changed.
func Vars(r *http.Request) map[string]string {
	vars, _ := r.Context().Value(varsKey{}).(map[string]string)
	return vars
}

// Expand replaces each {name} in template with the request's URI template
// variable of that name (see Vars), as Spring does for filter arguments such
// as AddRequestHeader=X-Segment, {segment}. {name:regex} uses name. A variable
// the request does not have expands to the empty string, where Spring would
// fail the request. A template without "{" is returned as is, at no cost.
//
// Expand parses template on every call; the filters in this package parse
// their templates once, when they are built.
func Expand(template string, r *http.Request) string {
	if strings.IndexByte(template, '{') < 0 {
		return template
	}
	t, err := parseVarTemplate(template)
	if err != nil {
		return template
	}
	return t.expand(r, nil)
}

// A varTemplate is a filter argument with {name} variables, parsed once when
// the filter is built. Its zero value expands to "".
type varTemplate struct {
	raw   string   // the whole template, returned as is when there are no variables
	parts []string // literal, name, literal, name, ..., literal; nil without variables
}

// parseVarTemplate parses s. An unclosed "{" or an empty name is an error; the
// rest of s is literal text.
func parseVarTemplate(s string) (varTemplate, error) {
	t := varTemplate{raw: s}
	rest := s
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return varTemplate{}, fmt.Errorf("%q: no closing \"}\"", s)
		}
		name := rest[open+1 : open+end]
		if colon := strings.IndexByte(name, ':'); colon >= 0 {
			name = name[:colon]
		}
		name = strings.TrimSpace(name)
		if name == "" || strings.IndexByte(name, '{') >= 0 {
			return varTemplate{}, fmt.Errorf("%q: want a variable name between \"{\" and \"}\"", s)
		}
		t.parts = append(t.parts, rest[:open], name)
		rest = rest[open+end+1:]
	}
	if t.parts != nil {
		t.parts = append(t.parts, rest)
	}
	return t, nil
}

// hasVars reports whether the template has any {var}.
func (t varTemplate) hasVars() bool { return t.parts != nil }

// expand returns the template with the request's variables substituted. If
// escape is not nil, it is applied to each variable's value (never to the
// literal text, which the user wrote as it must appear).
func (t varTemplate) expand(r *http.Request, escape func(string) string) string {
	if t.parts == nil {
		return t.raw
	}
	vars := Vars(r)
	var b strings.Builder
	n := 0
	for i, p := range t.parts {
		if i%2 == 0 {
			n += len(p)
		} else {
			n += len(vars[p])
		}
	}
	b.Grow(n + n/4)
	for i, p := range t.parts {
		if i%2 == 0 {
			b.WriteString(p)
			continue
		}
		v := vars[p]
		if escape != nil {
			v = escape(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

// escapePathValue escapes a decoded path variable for use in a raw path. It
// keeps "/" (so {*rest} values stay paths) and the characters RFC 3986
// allows in a path segment, and percent-encodes everything else, "%"
// included, so a decoded "%" is not read as an escape again.
func escapePathValue(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !pathByteAllowed(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	buf := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if pathByteAllowed(c) {
			buf = append(buf, c)
			continue
		}
		buf = append(buf, '%', pathHex[c>>4], pathHex[c&15])
	}
	return string(buf)
}

const pathHex = "0123456789ABCDEF"

// pathByteAllowed reports whether c may appear unescaped in a raw path: RFC 3986
// pchar (unreserved, sub-delims, ":" and "@") plus "/".
func pathByteAllowed(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '/':
		return true
	}
	return false
}
