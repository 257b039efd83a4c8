package predicate

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
)

// fullMatch compiles src so that it must match a whole value, as Java's
// String.matches does, which Spring uses: ^(?:src)$.
func fullMatch(src string) (*regexp.Regexp, error) {
	// Compile src on its own first, so that an error quotes only what the user wrote.
	if _, err := regexp.Compile(src); err != nil {
		return nil, regexpError(src, err)
	}
	re, err := regexp.Compile("^(?:" + src + ")$")
	if err != nil {
		return nil, regexpError(src, err)
	}
	return re, nil
}

// regexpError says what is wrong with the regexp src:
// regexp "a[": missing closing ]: "[".
func regexpError(src string, err error) error {
	if se, ok := errors.AsType[*syntax.Error](err); ok {
		return fmt.Errorf("regexp %q: %s: %q", src, se.Code, se.Expr)
	}
	return fmt.Errorf("regexp %q: %v", src, err)
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2), as method
// and header names must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '!', c == '#', c == '$', c == '%', c == '&', c == '\'', c == '*', c == '+',
			c == '-', c == '.', c == '^', c == '_', c == '`', c == '|', c == '~':
		default:
			return false
		}
	}
	return true
}
