package filter

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Request filters never change the request they are given: like net/http's
// StripPrefix they pass a shallow copy on, with its own Header map (or URL)
// when they change it. So a filter that Retry runs again starts from the
// same request each attempt and never adds a header twice, and the access
// log still sees what the client sent.

// AddRequestHeader adds value to the request header name; values already
// there stay. value may use {var} templates.
//
// Spring: AddRequestHeader=name, value.
func AddRequestHeader(name, value string) (Filter, error) {
	key, t, err := headerArgs(name, value)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2 := withHeader(r)
			old := r2.Header[key]
			vals := make([]string, len(old)+1)
			copy(vals, old)
			vals[len(old)] = t.expand(r, nil)
			r2.Header[key] = vals
			next.ServeHTTP(w, r2)
		})
	}, nil
}

// AddRequestHeadersIfNotPresent adds each "name:value" pair to the request
// unless the request has that header with a non-blank value. Repeat a name
// to add several values. Values may use {var} templates.
//
// Spring: AddRequestHeadersIfNotPresent=name:value, name:value, ...
func AddRequestHeadersIfNotPresent(pairs ...string) (Filter, error) {
	if len(pairs) == 0 {
		return nil, fmt.Errorf("want at least one name:value pair")
	}
	type header struct {
		key    string
		values []varTemplate
	}
	var headers []header
	var errs []error
	for _, p := range pairs {
		name, value, ok := strings.Cut(p, ":")
		if !ok {
			errs = append(errs, fmt.Errorf("%q: want name:value", p))
			continue
		}
		key, t, err := headerArgs(strings.TrimSpace(name), strings.TrimSpace(value))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		i := 0
		for i < len(headers) && headers[i].key != key {
			i++
		}
		if i == len(headers) {
			headers = append(headers, header{key: key})
		}
		headers[i].values = append(headers[i].values, t)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2 := r
			for _, h := range headers {
				if !headerBlank(r.Header[h.key]) {
					continue
				}
				if r2 == r {
					r2 = withHeader(r)
				}
				old := r.Header[h.key] // blank values stay, as Spring adds
				vals := make([]string, len(old), len(old)+len(h.values))
				copy(vals, old)
				for _, t := range h.values {
					vals = append(vals, t.expand(r, nil))
				}
				r2.Header[h.key] = vals
			}
			next.ServeHTTP(w, r2)
		})
	}, nil
}

// SetRequestHeader replaces every value of the request header name with
// value, which may use {var} templates.
//
// Spring: SetRequestHeader=name, value.
func SetRequestHeader(name, value string) (Filter, error) {
	key, t, err := headerArgs(name, value)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2 := withHeader(r)
			r2.Header[key] = []string{t.expand(r, nil)}
			next.ServeHTTP(w, r2)
		})
	}, nil
}

// RemoveRequestHeader removes the request header name before proxying.
//
// Spring: RemoveRequestHeader=name.
func RemoveRequestHeader(name string) (Filter, error) {
	key, err := canonicalHeaderName(name)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := r.Header[key]; ok {
				r = withHeader(r)
				delete(r.Header, key)
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// AddResponseHeader adds value to the response header name after the
// upstream answered. With override (Spring's default, true) the value is
// appended even if upstream sent the header; without, it is added only if
// the header is missing or blank. value may use {var} templates.
//
// Spring: AddResponseHeader=name, value, override.
func AddResponseHeader(name, value string, override bool) (Filter, error) {
	key, t, err := headerArgs(name, value)
	if err != nil {
		return nil, err
	}
	return postFilter(func(h http.Header, status int, r *http.Request) int {
		if override || headerBlank(h[key]) {
			h[key] = append(h[key], t.expand(r, nil))
		}
		return status
	}), nil
}

// SetResponseHeader replaces whatever the upstream sent in the response
// header name with value, which may use {var} templates.
//
// Spring: SetResponseHeader=name, value.
func SetResponseHeader(name, value string) (Filter, error) {
	key, t, err := headerArgs(name, value)
	if err != nil {
		return nil, err
	}
	fixed := []string{value}
	return postFilter(func(h http.Header, status int, r *http.Request) int {
		if t.hasVars() {
			h[key] = []string{t.expand(r, nil)}
		} else {
			h[key] = fixed[:1:1]
		}
		return status
	}), nil
}

// RemoveResponseHeader removes the response header name sent by the
// upstream.
//
// Spring: RemoveResponseHeader=name.
func RemoveResponseHeader(name string) (Filter, error) {
	key, err := canonicalHeaderName(name)
	if err != nil {
		return nil, err
	}
	return postFilter(func(h http.Header, status int, r *http.Request) int {
		delete(h, key)
		return status
	}), nil
}

// AddRequestParameter appends name=value to the request's raw query, with
// "&" before it if needed. Like Spring, name and the literal text of value
// are used as written, not URL-encoded; unlike Spring, the values of {var}
// templates are query-escaped, so a path variable cannot add parameters of
// its own ("a&admin=true").
//
// Spring: AddRequestParameter=name, value.
func AddRequestParameter(name, value string) (Filter, error) {
	if name == "" {
		return nil, fmt.Errorf("name must not be empty")
	}
	if err := checkQueryText("name", name); err != nil {
		return nil, err
	}
	if err := checkQueryText("value", value); err != nil {
		return nil, err
	}
	t, err := parseVarTemplate(value)
	if err != nil {
		return nil, fmt.Errorf("value %w", err)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2 := withURL(r)
			q := r.URL.RawQuery
			v := t.expand(r, url.QueryEscape)
			var b strings.Builder
			b.Grow(len(q) + len(name) + len(v) + 2)
			b.WriteString(q)
			if q != "" && q[len(q)-1] != '&' {
				b.WriteByte('&')
			}
			b.WriteString(name)
			b.WriteByte('=')
			b.WriteString(v)
			r2.URL.RawQuery = b.String()
			next.ServeHTTP(w, r2)
		})
	}, nil
}

// RemoveRequestParameter removes every query parameter called name
// (compared after decoding). The other parameters keep their raw form and
// order.
//
// Spring: RemoveRequestParameter=name.
func RemoveRequestParameter(name string) (Filter, error) {
	if name == "" {
		return nil, fmt.Errorf("name must not be empty")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if q, ok := removeQueryParam(r.URL.RawQuery, name); ok {
				r = withURL(r)
				r.URL.RawQuery = q
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// The strategies of DedupeResponseHeader.
const (
	RetainFirst  = "RETAIN_FIRST"  // keep the first value only (the default)
	RetainLast   = "RETAIN_LAST"   // keep the last value only
	RetainUnique = "RETAIN_UNIQUE" // keep each distinct value once, in first-seen order
)

// DedupeResponseHeader removes repeated values of the response headers
// listed in names (separated by spaces), typically CORS headers that both
// the gateway and the upstream set. strategy is RETAIN_FIRST (also when
// empty), RETAIN_LAST or RETAIN_UNIQUE. Each header line is one value; a
// single line "a, a" is left alone, as in Spring.
//
// Spring: DedupeResponseHeader=names, strategy.
func DedupeResponseHeader(names, strategy string) (Filter, error) {
	var keys []string
	var errs []error
	for n := range strings.FieldsSeq(names) {
		key, err := canonicalHeaderName(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("name: want one or more header names separated by spaces"))
	}
	if strategy == "" {
		strategy = RetainFirst
	}
	switch {
	case strings.EqualFold(strategy, RetainFirst):
		strategy = RetainFirst
	case strings.EqualFold(strategy, RetainLast):
		strategy = RetainLast
	case strings.EqualFold(strategy, RetainUnique):
		strategy = RetainUnique
	default:
		errs = append(errs, fmt.Errorf("strategy %q is not known; want RETAIN_FIRST, RETAIN_LAST or RETAIN_UNIQUE", strategy))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return postFilter(func(h http.Header, status int, r *http.Request) int {
		for _, key := range keys {
			vals := h[key]
			if len(vals) <= 1 {
				continue
			}
			switch strategy {
			case RetainFirst:
				h[key] = vals[:1:1]
			case RetainLast:
				h[key] = vals[len(vals)-1:]
			case RetainUnique:
				h[key] = uniqueValues(vals)
			}
		}
		return status
	}), nil
}

// uniqueValues keeps the first of equal values, in place.
func uniqueValues(vals []string) []string {
	out := vals[:0]
next:
	for _, v := range vals {
		for _, o := range out {
			if o == v {
				continue next
			}
		}
		out = append(out, v)
	}
	clear(vals[len(out):])
	return out[:len(out):len(out)]
}

// RewriteResponseHeader replaces every match of the regular expression
// pattern in each value of the response header name with replacement. The
// replacement uses Java's syntax as Spring does: $1 or ${name} for groups
// (written $\{name} in YAML), \$ for a dollar sign.
//
// Spring: RewriteResponseHeader=name, regexp, replacement.
func RewriteResponseHeader(name, pattern, replacement string) (Filter, error) {
	key, err := canonicalHeaderName(name)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	re, repl, err := compileRewrite(pattern, replacement)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return postFilter(func(h http.Header, status int, r *http.Request) int {
		vals := h[key]
		if len(vals) == 0 {
			return status
		}
		out := make([]string, len(vals))
		for i, v := range vals {
			out[i] = re.ReplaceAllString(v, repl)
		}
		h[key] = out
		return status
	}), nil
}

// preserveHostKey is the context key of the flag PreserveHostHeader sets.
type preserveHostKey struct{}

// PreserveHostHeader makes the proxy send the client's Host header upstream
// instead of the target's host:port. It only marks the request; the proxy's
// Rewrite asks PreservesHost and, if true, sets the outgoing Host back to the
// incoming one after SetURL (and SetRequestHostHeader has put its value into
// r.Host).
//
// Spring: PreserveHostHeader (no arguments).
func PreserveHostHeader() (Filter, error) {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, markPreserveHost(r))
		})
	}, nil
}

// PreservesHost reports whether PreserveHostHeader or SetRequestHostHeader
// ran for r, so the proxy must send r.Host upstream as it is.
func PreservesHost(r *http.Request) bool {
	v, _ := r.Context().Value(preserveHostKey{}).(bool)
	return v
}

func markPreserveHost(r *http.Request) *http.Request {
	if PreservesHost(r) {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), preserveHostKey{}, true))
}

// postFilter returns a Filter that runs hook on the response just before its
// header is sent; see writer.go.
func postFilter(hook responseHook) Filter {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hw, owner := hookWriterFor(w)
			n := hw.push(hook, r)
			next.ServeHTTP(hw, r)
			hw.pop(n, owner)
		})
	}
}

// withHeader returns a shallow copy of r with its own Header map. The value
// slices are shared with r, capped so that an append copies: replace a
// name's slice, never change one in place.
func withHeader(r *http.Request) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = cloneHeader(r.Header)
	return r2
}

// cloneHeader returns a copy of h for withHeader; never nil.
func cloneHeader(h http.Header) http.Header {
	h2 := maps.Clone(h)
	if h2 == nil {
		return make(http.Header, 1)
	}
	for k, v := range h2 {
		h2[k] = v[:len(v):len(v)]
	}
	return h2
}

// withURL returns a shallow copy of r with its own URL.
func withURL(r *http.Request) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := new(url.URL)
	*u = *r.URL
	r2.URL = u
	return r2
}

// headerBlank reports whether vals has no value other than whitespace, Spring's
// "missing or blank".
func headerBlank(vals []string) bool {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// headerArgs checks a header name and a value template.
func headerArgs(name, value string) (key string, t varTemplate, err error) {
	key, err = canonicalHeaderName(name)
	if err != nil {
		return "", varTemplate{}, err
	}
	if i := strings.IndexAny(value, "\r\n\x00"); i >= 0 {
		return "", varTemplate{}, fmt.Errorf("value %q: control character %q is not allowed in a header value", value, value[i])
	}
	t, err = parseVarTemplate(value)
	if err != nil {
		return "", varTemplate{}, fmt.Errorf("value %w", err)
	}
	return key, t, nil
}

// canonicalHeaderName checks name and returns its canonical form.
func canonicalHeaderName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("header name must not be empty")
	}
	for i := 0; i < len(name); i++ {
		if !headerTokenChar(name[i]) {
			return "", fmt.Errorf("header name %q: character %q is not allowed", name, name[i])
		}
	}
	return http.CanonicalHeaderKey(name), nil
}

// headerTokenChar reports whether c may appear in an HTTP token (RFC 9110 tchar).
func headerTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// checkQueryText checks text written by the user for a raw query.
func checkQueryText(what, s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '#' || c >= 0x7f {
			return fmt.Errorf("%s %q: character %q is not allowed in a query; percent-encode it", what, s, c)
		}
	}
	return nil
}

// removeQueryParam removes the parameters called name from the raw query q.
// ok is false if q has none.
func removeQueryParam(q, name string) (string, bool) {
	found := false
	for part := range strings.SplitSeq(q, "&") {
		if queryKeyIs(part, name) {
			found = true
			break
		}
	}
	if !found {
		return q, false
	}
	var b strings.Builder
	b.Grow(len(q))
	for part := range strings.SplitSeq(q, "&") {
		if part == "" || queryKeyIs(part, name) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	return b.String(), true
}

// queryKeyIs reports whether the raw query part "key=value" has the key
// name once decoded. It allocates only for keys with escapes.
func queryKeyIs(part, name string) bool {
	key, _, _ := strings.Cut(part, "=")
	if strings.ContainsAny(key, "%+") {
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
	}
	return key == name
}

// compileRewrite compiles a Go regexp and converts a Java replacement
// (Matcher.replaceAll syntax, after Spring's "$\" -> "$") into a Go
// template that uses only ${N}.
func compileRewrite(pattern, replacement string) (*regexp.Regexp, string, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, "", fmt.Errorf("regexp %q: %v", pattern, unwrapRegexpError(err))
	}
	repl, err := javaReplacement(replacement, re)
	if err != nil {
		return nil, "", fmt.Errorf("replacement %q: %v", replacement, err)
	}
	return re, repl, nil
}

// unwrapRegexpError drops the "error parsing regexp: " prefix, the "what"
// part being said by the caller.
func unwrapRegexpError(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

// javaReplacement converts a java.util.regex replacement into a Go regexp
// template. It follows Matcher.appendReplacement: "\x" is a literal x; "$n"
// takes as many digits as still name a group; "${name}" names a group.
// Spring first turns "$\" into "$", because YAML users write $\{name}.
func javaReplacement(s string, re *regexp.Regexp) (string, error) {
	s = strings.ReplaceAll(s, `$\`, "$")
	groups := re.NumSubexp()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			i++
			if i == len(s) {
				return "", fmt.Errorf("a trailing \\ escapes nothing")
			}
			if s[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(s[i])
			}
		case '$':
			i++
			if i == len(s) {
				return "", fmt.Errorf("a trailing $ names no group; write \\$ for a dollar sign")
			}
			if s[i] == '{' {
				end := strings.IndexByte(s[i:], '}')
				if end < 0 {
					return "", fmt.Errorf("${ has no closing }")
				}
				name := s[i+1 : i+end]
				n := re.SubexpIndex(name)
				if n < 0 {
					if k, ok := groupNumber(name); ok && k <= groups {
						n = k
					} else {
						return "", fmt.Errorf("no group named %q in the regexp", name)
					}
				}
				fmt.Fprintf(&b, "${%d}", n)
				i += end
				continue
			}
			if s[i] < '0' || s[i] > '9' {
				return "", fmt.Errorf("$%c names no group; write ${name}, $1, or \\$ for a dollar sign", s[i])
			}
			n := int(s[i] - '0')
			if n > groups {
				return "", fmt.Errorf("no group %d in the regexp (it has %d)", n, groups)
			}
			for i+1 < len(s) && '0' <= s[i+1] && s[i+1] <= '9' {
				m := n*10 + int(s[i+1]-'0')
				if m > groups {
					break
				}
				n = m
				i++
			}
			fmt.Fprintf(&b, "${%d}", n)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// groupNumber parses a short decimal number.
func groupNumber(s string) (int, bool) {
	if s == "" || len(s) > 4 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
