package predicate

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
)

// Header matches when the request has the header name and, if regexp is not
// empty, one of its values (each header line separately) matches the whole
// of regexp (Go syntax). An empty regexp only asks for the header to be
// present. The name is case-insensitive; Host, which Go keeps in r.Host,
// works too.
//
// Spring: Header=X-Request-Id, \d+; shortcut order header, regexp; expanded
// args header and regexp.
func Header(name, regexp string) (Predicate, error) {
	if name == "" {
		return nil, errors.New("empty header name")
	}
	if !isToken(name) {
		return nil, fmt.Errorf("header name %q is not an HTTP token", name)
	}
	key := http.CanonicalHeaderKey(name)
	if key == "Host" {
		return hostHeader(regexp)
	}
	if regexp == "" {
		return func(r *http.Request) bool { return len(r.Header[key]) > 0 }, nil
	}
	re, err := fullMatch(regexp)
	if err != nil {
		return nil, err
	}
	return func(r *http.Request) bool {
		for _, v := range r.Header[key] {
			if re.MatchString(v) {
				return true
			}
		}
		return false
	}, nil
}

// hostHeader is Header for the Host header, which Go moves to r.Host.
func hostHeader(regexp string) (Predicate, error) {
	if regexp == "" {
		return func(r *http.Request) bool { return r.Host != "" }, nil
	}
	re, err := fullMatch(regexp)
	if err != nil {
		return nil, err
	}
	return func(r *http.Request) bool { return r.Host != "" && re.MatchString(r.Host) }, nil
}

// Cookie matches when the request has a cookie called name whose value
// matches the whole of regexp (Go syntax). Both are required. Cookies are
// read as net/http reads them (surrounding quotes dropped, malformed
// values skipped), from every Cookie header line, without allocating.
//
// Spring: Cookie=session, [a-f0-9]+; shortcut order name, regexp; expanded
// args name and regexp.
func Cookie(name, regexp string) (Predicate, error) {
	if name == "" {
		return nil, errors.New("empty cookie name")
	}
	if !isToken(name) {
		return nil, fmt.Errorf("cookie name %q is not an HTTP token", name)
	}
	if regexp == "" {
		return nil, errors.New("empty regexp; Cookie needs one for the cookie's value")
	}
	re, err := fullMatch(regexp)
	if err != nil {
		return nil, err
	}
	return func(r *http.Request) bool {
		for _, line := range r.Header["Cookie"] {
			for line != "" {
				var pair string
				pair, line, _ = strings.Cut(line, ";")
				k, v, _ := strings.Cut(textproto.TrimString(pair), "=")
				if textproto.TrimString(k) != name {
					continue
				}
				if v, ok := cookieValue(v); ok && re.MatchString(v) {
					return true
				}
			}
		}
		return false
	}, nil
}

// cookieValue is net/http's parseCookieValue: it drops surrounding double
// quotes and rejects bytes a cookie value may not hold.
func cookieValue(raw string) (string, bool) {
	if len(raw) > 1 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	for i := 0; i < len(raw); i++ {
		if b := raw[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return "", false
		}
	}
	return raw, true
}
