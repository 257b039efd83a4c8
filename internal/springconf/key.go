package springconf

import (
	"strings"
	"unicode"
)

// A seg is one element of a flattened key: a name ("enableSelfPreservation"),
// an index ("0", from "[0]", ".0" or an environment variable's "_0_"), or a
// bracketed map key ("[/**]"), which Spring keeps verbatim, dots and all.
type seg struct {
	raw   string // as written: "enableSelfPreservation", "0", "[/**]"
	canon string // relaxed: "enableselfpreservation", "[0]", "[/**]"
	index bool   // raw is a decimal index
	lit   bool   // raw is a bracketed map key
}

// splitKey parses a flattened key. It never fails: what is not a name or an
// index is kept as written, so every key the user can write has a form.
func splitKey(key string) []seg {
	var segs []seg
	name := func(s string) {
		if s == "" {
			return
		}
		if isDigits(s) {
			segs = append(segs, indexSeg(s))
			return
		}
		segs = append(segs, seg{raw: s, canon: canonName(s)})
	}
	start := 0
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '.':
			name(key[start:i])
			start = i + 1
		case '[':
			end := strings.IndexByte(key[i+1:], ']')
			if end < 0 {
				// No closing bracket: the rest is a name, as written.
				i = len(key) - 1
				continue
			}
			name(key[start:i])
			inner := key[i+1 : i+1+end]
			if isDigits(inner) {
				segs = append(segs, indexSeg(inner))
			} else {
				lit := key[i : i+end+2]
				segs = append(segs, seg{raw: lit, canon: lit, lit: true})
			}
			i += end + 1
			start = i + 1
		}
	}
	name(key[start:])
	return segs
}

func indexSeg(digits string) seg {
	n := strings.TrimLeft(digits, "0")
	if n == "" {
		n = "0"
	}
	return seg{raw: n, canon: "[" + n + "]", index: true}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// canonName is Spring's relaxed form of a name element: case and the
// separators '-' and '_' do not count.
func canonName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// canonOf joins canonical elements: "eureka.server.enableselfpreservation",
// "spring.cloud.gateway.routes[0].id".
func canonOf(segs []seg) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 && !s.bracketed() {
			b.WriteByte('.')
		}
		b.WriteString(s.canon)
	}
	return b.String()
}

// flatOf is the canonical form without dots, which is all an environment
// variable can be compared by: EUREKA_SERVER_ENABLESELFPRESERVATION and
// EUREKA_SERVER_ENABLE_SELF_PRESERVATION both flatten to
// "eurekaserverenableselfpreservation".
func flatOf(segs []seg) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteString(s.canon)
	}
	return b.String()
}

// rawOf joins elements as written: "spring.cloud.gateway.routes[0].id".
func rawOf(segs []seg) string {
	var b strings.Builder
	for i, s := range segs {
		switch {
		case s.index:
			b.WriteString("[" + s.raw + "]")
		case s.bracketed():
			b.WriteString(s.raw)
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.raw)
		}
	}
	return b.String()
}

// bracketed reports whether s is written in brackets when joined.
func (s seg) bracketed() bool { return s.index || s.lit }

// joinKey appends a child key as written in YAML to its parent, the way
// Spring flattens YAML: "a" + "b" is "a.b", "a" + "[/**]" is "a[/**]".
func joinKey(parent, child string) string {
	if parent == "" {
		return child
	}
	if strings.HasPrefix(child, "[") {
		return parent + child
	}
	return parent + "." + child
}

// A name is a parsed key with its comparison forms.
type name struct {
	segs  []seg
	canon string
	flat  string
}

func parseName(key string) name {
	segs := splitKey(key)
	return name{segs: segs, canon: canonOf(segs), flat: flatOf(segs)}
}

// hasPrefix reports whether n is prefix or lies under it, element by element,
// and returns the elements below prefix.
func (n name) hasPrefix(prefix name) ([]seg, bool) {
	if len(prefix.segs) > len(n.segs) {
		return nil, false
	}
	for i, s := range prefix.segs {
		if n.segs[i].canon != s.canon {
			return nil, false
		}
	}
	return n.segs[len(prefix.segs):], true
}

// hasFlatPrefix is hasPrefix for a name from the environment, whose element
// boundaries are uncertain: prefix must end on one of n's boundaries.
func (n name) hasFlatPrefix(prefix name) ([]seg, bool) {
	if !strings.HasPrefix(n.flat, prefix.flat) {
		return nil, false
	}
	l := 0
	for i, s := range n.segs {
		if l == len(prefix.flat) {
			return n.segs[i:], true
		}
		l += len(s.canon)
	}
	if l == len(prefix.flat) {
		return nil, true
	}
	return nil, false
}

// envName is the environment variable Spring would read for key:
// "eureka.server.enable-self-preservation" -> EUREKA_SERVER_ENABLESELFPRESERVATION,
// "spring.cloud.gateway.routes[0].id" -> SPRING_CLOUD_GATEWAY_ROUTES_0_ID.
func envName(key string) string {
	segs := splitKey(key)
	parts := make([]string, len(segs))
	for i, s := range segs {
		if s.index {
			parts[i] = s.raw
		} else {
			parts[i] = strings.ToUpper(s.canon)
		}
	}
	return strings.Join(parts, "_")
}
