package predicate

import (
	"errors"
	"net/http"
	"strings"
	"sync"
)

// Query matches when the query string has the parameter param and, if
// regexp is not blank, one of its values matches the whole of regexp (Go
// syntax). Without a regexp any occurrence counts, even ?param with no
// value; with one, a value is needed (?param= has the empty value).
//
// Names and values are URL-decoded ('+' is a space) before they are
// compared, as Spring does; a value with a malformed escape is used as
// written. The query is parsed by hand from r.URL.RawQuery, split on '&'
// only, so matching does not allocate.
//
// Spring: Query=color, gree.; shortcut order param, regexp; expanded args
// param and regexp.
func Query(param, regexp string) (Predicate, error) {
	if param == "" {
		return nil, errors.New("empty param")
	}
	if strings.TrimSpace(regexp) == "" {
		// Spring tests the regexp with StringUtils.hasText.
		return func(r *http.Request) bool {
			for rest := r.URL.RawQuery; rest != ""; {
				var pair string
				pair, rest, _ = strings.Cut(rest, "&")
				name, _, _ := strings.Cut(pair, "=")
				if name != "" && decodesTo(name, param) {
					return true
				}
			}
			return false
		}, nil
	}
	re, err := fullMatch(regexp)
	if err != nil {
		return nil, err
	}
	// Decoded values go into buffers from this pool, and re.Match reads the
	// bytes, so a value with escapes costs no allocation either.
	bufs := sync.Pool{New: func() any { b := make([]byte, 0, 128); return &b }}
	return func(r *http.Request) bool {
		for rest := r.URL.RawQuery; rest != ""; {
			var pair string
			pair, rest, _ = strings.Cut(rest, "&")
			name, value, hasValue := strings.Cut(pair, "=")
			if name == "" || !hasValue || !decodesTo(name, param) {
				continue
			}
			if !strings.ContainsAny(value, "%+") || !validEscapes(value) {
				if re.MatchString(value) {
					return true
				}
				continue
			}
			bp := bufs.Get().(*[]byte)
			*bp = appendDecoded((*bp)[:0], value)
			ok := re.Match(*bp)
			bufs.Put(bp)
			if ok {
				return true
			}
		}
		return false
	}, nil
}

// validEscapes reports whether every '%' in s starts a two-digit escape.
func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

// decodesTo reports whether the query component raw, URL-decoded, is want.
// A component with a malformed escape stands for itself.
func decodesTo(raw, want string) bool {
	if !validEscapes(raw) {
		return raw == want
	}
	j := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
		}
		if j >= len(want) || want[j] != c {
			return false
		}
		j++
	}
	return j == len(want)
}

// appendDecoded appends the URL-decoded form of the query component raw,
// whose escapes are valid, to b.
func appendDecoded(b []byte, raw string) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
		}
		b = append(b, c)
	}
	return b
}
