package predicate

import (
	"fmt"
	"regexp"
	"strings"
)

// This file compiles the pattern syntax that Path and Host share: segments
// separated by '/' (Path) or '.' (Host), each made of literal text, '?' (one
// character), '*' (any run of characters) and URI template variables
// {name} or {name:regexp}. Path adds {*name} and a final "**"; Host allows
// "**" anywhere and matches case-insensitively.

// segKind says how a compiled segment matches one path segment or host label.
type segKind uint8

const (
	segLiteral segKind = iota // exact text (lower case for hosts)
	segStar                   // "*": any non-empty text, see Path for the empty last segment
	segVar                    // "{name}": any non-empty text, captured
	segVarRe                  // "{name:re}": non-empty text that re fully matches, captured
	segGlob                   // text with '?' and '*' and no variables
	segRegexp                 // variables mixed with other text: one regexp, one group per variable
	segDeep                   // "**" in a host pattern: zero or more labels
)

// A segment is one compiled segment of a pattern.
type segment struct {
	kind  segKind
	text  string         // segLiteral: the literal; segGlob: the glob
	name  string         // segVar, segVarRe: the variable's name
	re    *regexp.Regexp // segVarRe: the anchored constraint; segRegexp: the anchored segment
	names []string       // segRegexp: variable names, in group order
}

// A capture is one URI template variable taken from a path or host.
type capture struct{ name, value string }

// dialect describes the flavour of pattern being compiled.
type dialect struct {
	sep  byte // '/' or '.'
	host bool // Host: "**" anywhere, no {*name}, '.' allowed in a constraint, case-insensitive
}

var (
	pathDialect = dialect{sep: '/'}
	hostDialect = dialect{sep: '.', host: true}
)

// patternError is the error of a bad pattern: `pattern "/orders/{id": no closing "}"`.
func patternError(pattern, format string, args ...any) error {
	return fmt.Errorf("pattern %q: %s", pattern, fmt.Sprintf(format, args...))
}

// A part is one piece of a segment while it is being parsed.
type part struct {
	kind byte   // 'l' literal, '?' one character, '*' any run, 'v' variable
	text string // 'l': the literal; 'v': the variable's name
	re   string // 'v': the constraint, "" if none
}

// parsed is the result of parsing a pattern, before its segments are compiled.
type parsed struct {
	segs     [][]part
	raw      []string // the source text of each segment
	restName string   // Path: the name in a final {*name}
	rest     bool     // Path: the pattern ends in "**" or {*name}
}

// parse splits pattern, from offset start on, into segments and parts.
func (d dialect) parse(pattern string, start int) (parsed, error) {
	var p parsed
	seen := make(map[string]bool)
	addName := func(name string) error {
		if seen[name] {
			return patternError(pattern, "variable %q appears twice", name)
		}
		seen[name] = true
		return nil
	}
	i := start
	for {
		segStart := i
		var parts []part
		lit := func(s string) {
			if n := len(parts); n > 0 && parts[n-1].kind == 'l' {
				parts[n-1].text += s
				return
			}
			parts = append(parts, part{kind: 'l', text: s})
		}
		for i < len(pattern) && pattern[i] != d.sep {
			switch c := pattern[i]; c {
			case '{':
				if !d.host && i+1 < len(pattern) && pattern[i+1] == '*' {
					name, next, err := d.captureRest(pattern, i)
					if err != nil {
						return p, err
					}
					if err := addName(name); err != nil {
						return p, err
					}
					if i != segStart {
						return p, patternError(pattern, "{*%s} must follow a %q", name, "/")
					}
					if next != len(pattern) {
						return p, patternError(pattern, "nothing may follow {*%s}", name)
					}
					p.rest, p.restName = true, name
					return p, nil
				}
				v, next, err := d.variable(pattern, i)
				if err != nil {
					return p, err
				}
				if err := addName(v.text); err != nil {
					return p, err
				}
				parts = append(parts, v)
				i = next
			case '}':
				return p, patternError(pattern, "%q at offset %d has no opening %q", "}", i, "{")
			case '*', '?':
				parts = append(parts, part{kind: c})
				i++
			default:
				lit(pattern[i : i+1])
				i++
			}
		}
		raw := pattern[segStart:i]
		if !d.host && raw == "**" {
			if i != len(pattern) {
				return p, patternError(pattern, "nothing may follow %q", "**")
			}
			p.rest = true
			return p, nil
		}
		p.segs = append(p.segs, parts)
		p.raw = append(p.raw, raw)
		if i == len(pattern) {
			return p, nil
		}
		i++ // the separator
	}
}

// captureRest parses {*name} at pattern[i:] and returns the name and the offset after it.
func (d dialect) captureRest(pattern string, i int) (name string, next int, err error) {
	end := strings.IndexByte(pattern[i:], '}')
	if end < 0 {
		return "", 0, patternError(pattern, "no closing %q", "}")
	}
	name = pattern[i+2 : i+end]
	if err := checkName(pattern, name); err != nil {
		return "", 0, err
	}
	return name, i + end + 1, nil
}

// variable parses {name} or {name:regexp} at pattern[i:] and returns it as a
// part and the offset after it. Like Spring, a '{' inside the regexp must be
// balanced or escaped, and a Path regexp may not hold an unescaped '/'.
func (d dialect) variable(pattern string, i int) (part, int, error) {
	j := i + 1
	for j < len(pattern) && pattern[j] != ':' && pattern[j] != '}' {
		switch c := pattern[j]; {
		case c == '{':
			return part{}, 0, patternError(pattern, "%q at offset %d is inside a variable", "{", j)
		case c == '/' && !d.host:
			return part{}, 0, patternError(pattern, "no closing %q", "}")
		}
		j++
	}
	if j == len(pattern) {
		return part{}, 0, patternError(pattern, "no closing %q", "}")
	}
	name := pattern[i+1 : j]
	if err := checkName(pattern, name); err != nil {
		return part{}, 0, err
	}
	if pattern[j] == '}' {
		return part{kind: 'v', text: name}, j + 1, nil
	}
	// A constraint: find the '}' that closes the variable.
	reStart := j + 1
	depth := 0
	for k := reStart; k < len(pattern); k++ {
		switch c := pattern[k]; {
		case c == '\\':
			k++ // skip the escaped character
		case c == '{':
			depth++
		case c == '}' && depth > 0:
			depth--
		case c == '}':
			src := pattern[reStart:k]
			if src == "" {
				return part{}, 0, patternError(pattern, "variable %q has an empty regexp", name)
			}
			if _, err := constraint(pattern, name, src, false); err != nil {
				return part{}, 0, err
			}
			return part{kind: 'v', text: name, re: src}, k + 1, nil
		case c == '/' && !d.host:
			return part{}, 0, patternError(pattern, "no closing %q", "}")
		}
	}
	return part{}, 0, patternError(pattern, "no closing %q", "}")
}

// checkName reports whether name is a valid variable name: as in Spring, a
// Java identifier that may also hold '-'.
func checkName(pattern, name string) error {
	if name == "" {
		return patternError(pattern, "empty variable name")
	}
	for k := 0; k < len(name); k++ {
		c := name[k]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '$' || c >= 0x80
		if k == 0 && !letter || k > 0 && !letter && !('0' <= c && c <= '9') && c != '-' {
			return patternError(pattern, "variable name %q: %q is not allowed there; want a letter, %q or %q first, then letters, digits, %q, %q or %q",
				name, name[k:k+1], "_", "$", "_", "$", "-")
		}
	}
	return nil
}

// constraint compiles the regexp of {name:src} anchored at both ends, and
// rejects capturing groups as Spring does (they would shift the variables).
func constraint(pattern, name, src string, fold bool) (*regexp.Regexp, error) {
	// Compile src on its own first, so that an error quotes only what the user wrote.
	if _, err := regexp.Compile(src); err != nil {
		return nil, patternError(pattern, "variable %q: %v", name, regexpError(src, err))
	}
	anchored := "^(?:" + src + ")$"
	if fold {
		anchored = "(?i)" + anchored
	}
	re, err := regexp.Compile(anchored)
	if err != nil {
		return nil, patternError(pattern, "variable %q: %v", name, regexpError(src, err))
	}
	if re.NumSubexp() > 0 {
		return nil, patternError(pattern, "variable %q: regexp %q has a capturing group; use (?:...) instead", name, src)
	}
	return re, nil
}

// compile turns parsed segments into matchers.
func (d dialect) compile(pattern string, p parsed) ([]segment, error) {
	segs := make([]segment, 0, len(p.segs))
	for k, parts := range p.segs {
		raw := p.raw[k]
		if d.host && raw == "**" {
			if n := len(segs); n > 0 && segs[n-1].kind == segDeep {
				continue // "**.**" is "**"
			}
			segs = append(segs, segment{kind: segDeep})
			continue
		}
		s, err := d.segment(pattern, raw, parts)
		if err != nil {
			return nil, err
		}
		segs = append(segs, s)
	}
	return segs, nil
}

// segment compiles one segment.
func (d dialect) segment(pattern, raw string, parts []part) (segment, error) {
	fold := d.host
	vars := 0
	for _, pt := range parts {
		if pt.kind == 'v' {
			vars++
		}
	}
	switch {
	case len(parts) == 0:
		return segment{kind: segLiteral}, nil
	case len(parts) == 1 && parts[0].kind == 'l':
		text := parts[0].text
		if fold {
			text = strings.ToLower(text)
		}
		return segment{kind: segLiteral, text: text}, nil
	case len(parts) == 1 && parts[0].kind == '*':
		return segment{kind: segStar}, nil
	case len(parts) == 1 && parts[0].kind == 'v' && parts[0].re == "":
		return segment{kind: segVar, name: parts[0].text}, nil
	case len(parts) == 1 && parts[0].kind == 'v':
		re, err := constraint(pattern, parts[0].text, parts[0].re, fold)
		if err != nil {
			return segment{}, err
		}
		return segment{kind: segVarRe, name: parts[0].text, re: re}, nil
	case vars == 0:
		text := raw
		if fold {
			text = strings.ToLower(text)
		}
		return segment{kind: segGlob, text: text}, nil
	}
	// Variables mixed with other text, e.g. {name}.{ext} or v{major}-*:
	// one regexp for the segment, built the way Spring builds it.
	var b strings.Builder
	if fold {
		b.WriteString("(?i)")
	}
	b.WriteString("^")
	s := segment{kind: segRegexp}
	for _, pt := range parts {
		switch pt.kind {
		case 'l':
			b.WriteString(regexp.QuoteMeta(pt.text))
		case '?':
			b.WriteString(".")
		case '*':
			b.WriteString(".*")
		case 'v':
			s.names = append(s.names, pt.text)
			if pt.re == "" {
				b.WriteString("(.*)")
			} else {
				b.WriteString("((?:" + pt.re + "))")
			}
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return segment{}, patternError(pattern, "segment %q: %v", raw, err)
	}
	s.re = re
	return s, nil
}

// match reports whether text matches s, appending captures to caps when caps
// is not nil. Neither "*" nor a variable matches empty text. fold makes literals and globs
// match ASCII letters in either case; their pattern text is already lower case.
func (s *segment) match(text string, fold bool, caps *[]capture) bool {
	switch s.kind {
	case segLiteral:
		if fold {
			return equalFoldLower(s.text, text)
		}
		return s.text == text
	case segStar:
		return text != ""
	case segVar:
		if text == "" {
			return false
		}
	case segVarRe:
		if text == "" || !s.re.MatchString(text) {
			return false
		}
	case segGlob:
		return glob(s.text, text, fold)
	case segRegexp:
		if text == "" {
			return false
		}
		if caps == nil {
			return s.re.MatchString(text)
		}
		m := s.re.FindStringSubmatchIndex(text)
		if m == nil {
			return false
		}
		for k, name := range s.names {
			*caps = append(*caps, capture{name, text[m[2*k+2]:m[2*k+3]]})
		}
		return true
	}
	if caps != nil {
		*caps = append(*caps, capture{s.name, text})
	}
	return true
}

// glob reports whether s matches pattern, where '?' is one byte and '*' any
// run of bytes. It backtracks only to the last '*', so it runs in
// O(len(pattern)·len(s)) at worst.
func glob(pattern, s string, fold bool) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				starPx, starSx = px, sx
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && (c == s[sx] || fold && c == lower(s[sx])) {
					px++
					sx++
					continue
				}
			}
		}
		if starPx >= 0 && starSx < len(s) {
			starSx++
			px, sx = starPx+1, starSx
			continue
		}
		return false
	}
	return true
}

// lower returns c in lower case if it is an ASCII letter.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFoldLower reports whether s equals the lower-case ASCII text lc,
// ignoring the case of ASCII letters in s.
func equalFoldLower(lc, s string) bool {
	if len(lc) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lc[i] != lower(s[i]) {
			return false
		}
	}
	return true
}

// setCaptures copies caps into dst, replacing variables of the same name.
func setCaptures(dst map[string]string, caps []capture) {
	for _, c := range caps {
		dst[c.name] = c.value
	}
}
