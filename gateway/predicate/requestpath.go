package predicate

import (
	"net/http"
	"strings"
)

// RequestPath returns r.URL.EscapedPath() without allocating in the cases a
// server sees.
//
// EscapedPath allocates when it must validate a RawPath that holds escapes
// (/a%2Fb) and when the decoded Path needs escaping again (/caf%C3%A9,
// /a%20b). In those cases the text is already in r.RequestURI as the client
// sent it, so RequestPath checks, without allocating, that it is exactly what
// EscapedPath would return and returns that substring. Only when neither
// works does it call EscapedPath: for a request built by hand, a URL
// changed after parsing, or a path holding bytes the client should have
// escaped, such as '|', which EscapedPath escapes.
func RequestPath(r *http.Request) string {
	u := r.URL
	if u.RawPath != "" && validEncodedPath(u.RawPath) && unescapesTo(u.RawPath, u.Path) {
		return u.RawPath
	}
	if u.Path == "*" {
		return "*"
	}
	if pathIsEscaped(u.Path) {
		return u.Path // nothing to escape: the common case
	}
	if p := requestURIPath(r.RequestURI); p != "" && escapesTo(u.Path, p) {
		return p
	}
	return u.EscapedPath()
}

// requestURIPath returns the path of a request target in origin form
// (/p?q) or absolute form (http://h/p?q), or "" for any other.
func requestURIPath(uri string) string {
	if !strings.HasPrefix(uri, "/") {
		i := strings.Index(uri, "://")
		if i < 0 {
			return ""
		}
		uri = uri[i+3:]
		j := strings.IndexByte(uri, '/')
		if j < 0 {
			return ""
		}
		uri = uri[j:]
	}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	return uri
}

// pathSafeTable[c] is '1' when net/url leaves the byte c unescaped in a
// path (shouldEscape(c, encodePath) is false): letters, digits, "-_.~" and
// "$&+,/:;=@". A table is the fastest test, and RequestPath runs it over the
// whole path once per Path predicate.
const pathSafeTable = "" +
	"00000000000000000000000000000000" + // 0x00-0x1f
	"00001010000111111111111111110100" + // 0x20-0x3f
	"11111111111111111111111111100001" + // 0x40-0x5f
	"01111111111111111111111111100010" + // 0x60-0x7f
	"00000000000000000000000000000000" + // 0x80-0x9f
	"00000000000000000000000000000000" + // 0xa0-0xbf
	"00000000000000000000000000000000" + // 0xc0-0xdf
	"00000000000000000000000000000000" // 0xe0-0xff

// pathSafe reports whether net/url leaves c unescaped in a path.
func pathSafe(c byte) bool { return pathSafeTable[c] == '1' }

// validEncodedPath is net/url's validEncoded(s, encodePath).
func validEncodedPath(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '[', ']', '%':
		default:
			if !pathSafe(c) {
				return false
			}
		}
	}
	return true
}

// unescapesTo reports whether unescaping the path escaped reads path, and
// every '%' in escaped is followed by two hex digits.
func unescapesTo(escaped, path string) bool {
	j := 0
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		if c == '%' {
			if i+2 >= len(escaped) || !isHex(escaped[i+1]) || !isHex(escaped[i+2]) {
				return false
			}
			c = unhex(escaped[i+1])<<4 | unhex(escaped[i+2])
			i += 2
		}
		if j >= len(path) || path[j] != c {
			return false
		}
		j++
	}
	return j == len(path)
}

// pathIsEscaped reports whether escaping path leaves it as it is.
func pathIsEscaped(path string) bool {
	for i := 0; i < len(path); i++ {
		if !pathSafe(path[i]) {
			return false
		}
	}
	return true
}

// escapesTo reports whether escaping path as net/url does (upper-case hex)
// gives escaped.
func escapesTo(path, escaped string) bool {
	const upperhex = "0123456789ABCDEF"
	j := 0
	for i := 0; i < len(path); i++ {
		c := path[i]
		if pathSafe(c) {
			if j >= len(escaped) || escaped[j] != c {
				return false
			}
			j++
			continue
		}
		if j+2 >= len(escaped) || escaped[j] != '%' || escaped[j+1] != upperhex[c>>4] || escaped[j+2] != upperhex[c&15] {
			return false
		}
		j += 3
	}
	return j == len(escaped)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
