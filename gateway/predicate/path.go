package predicate

import (
	"errors"
	"net/http"
	"strings"
)

// restKind says what ends a path pattern.
type restKind uint8

const (
	restNone    restKind = iota
	restWild             // "/**": zero or more segments
	restCapture          // "/{*name}": the rest of the path, captured
)

// A PathPattern is a compiled Spring PathPattern, such as /orders/{id},
// /static/** or /files/{*path}. It is immutable and safe for concurrent use.
//
// The syntax is Spring's: '?' matches one character and '*' zero or more
// characters within a segment; "**" as the last segment matches zero or more
// segments; {name} matches one non-empty segment and captures it;
// {name:regexp} does so only when the regexp (Go syntax) matches the whole
// segment; and {*name}, last, captures the rest of the path from its '/'
// ("" when nothing is left). A variable can share a segment with other text,
// as in /{name}.{ext}. Matching is case-sensitive and works on the escaped
// path, so /a%2Fb is one segment "a%2Fb" and a pattern must spell %20, not a
// space.
type PathPattern struct {
	text        string
	segs        []segment
	prefix      string // the leading literal segments, from the first '/': the path must start with them
	lits        int    // how many segments prefix holds
	rest        restKind
	restName    string
	strictSlash bool // do not tolerate one extra trailing slash
}

// CompilePath compiles a PathPattern. The pattern must start with '/'.
//
// The compiled pattern tolerates one extra trailing slash (/red/{x} matches
// /red/1/), which is Spring's default; see WithMatchTrailingSlash. Errors
// name the pattern and the problem: pattern "/orders/{id": no closing "}".
func CompilePath(pattern string) (*PathPattern, error) {
	if pattern == "" {
		return nil, errors.New("empty pattern")
	}
	if pattern[0] != '/' {
		// Spring accepts such a pattern but it can never match a request path.
		return nil, patternError(pattern, "must start with %q", "/")
	}
	parsed, err := pathDialect.parse(pattern, 1)
	if err != nil {
		return nil, err
	}
	segs, err := pathDialect.compile(pattern, parsed)
	if err != nil {
		return nil, err
	}
	p := &PathPattern{text: pattern, segs: segs}
	if parsed.rest {
		p.rest = restWild
		if parsed.restName != "" {
			p.rest, p.restName = restCapture, parsed.restName
		}
	}
	var b strings.Builder
	for _, s := range segs {
		if s.kind != segLiteral {
			break
		}
		b.WriteByte('/')
		b.WriteString(s.text)
		p.lits++
	}
	p.prefix = b.String()
	return p, nil
}

// WithMatchTrailingSlash returns a copy of p that tolerates one extra
// trailing slash when match is true (the default of CompilePath) and does not
// when match is false, like Path's matchTrailingSlash argument.
func (p *PathPattern) WithMatchTrailingSlash(match bool) *PathPattern {
	q := *p
	q.strictSlash = !match
	return &q
}

// String returns the pattern as written.
func (p *PathPattern) String() string { return p.text }

// Match reports whether the escaped path (as from url.URL.EscapedPath)
// matches p. An empty path is taken as "/". Match does not allocate.
func (p *PathPattern) Match(path string) bool {
	return p.match(path, nil)
}

// Vars reports whether path matches p and, if it does, stores p's URI
// template variables in dst, replacing variables of the same name. Values
// are as escaped in the path.
func (p *PathPattern) Vars(path string, dst map[string]string) bool {
	var caps []capture
	if !p.match(path, &caps) {
		return false
	}
	setCaptures(dst, caps)
	return true
}

// match reports whether path matches p, appending captures to caps if it is not nil.
// It follows Spring's PathPattern element by element; see the comments below.
func (p *PathPattern) match(path string, caps *[]capture) bool {
	if path == "" {
		path = "/"
	}
	if path[0] != '/' {
		return false
	}
	pos := 1 // start of the next segment; len(path)+1 once the path is used up
	last := ""
	if p.lits > 0 {
		// The leading literal segments, compared at once.
		end := len(p.prefix)
		if !strings.HasPrefix(path, p.prefix) || end < len(path) && path[end] != '/' {
			return false
		}
		last = p.segs[p.lits-1].text
		pos = end + 1
	}
	n := len(p.segs)
	for k := p.lits; k < n; k++ {
		s := &p.segs[k]
		if pos > len(path) {
			return false
		}
		end := strings.IndexByte(path[pos:], '/')
		if end < 0 {
			end = len(path)
		} else {
			end += pos
		}
		text := path[pos:end]
		// "*" as the last element also matches the empty segment after a
		// final slash: /a/* matches /a/ but not /a//b.
		finalStar := s.kind == segStar && text == "" && k == n-1 && p.rest == restNone && end == len(path)
		if !finalStar && !s.match(text, false, caps) {
			return false
		}
		last = text
		pos = end + 1
	}
	switch p.rest {
	case restWild:
		return true
	case restCapture:
		if caps != nil {
			rest := ""
			if pos <= len(path) {
				rest = path[pos-1:]
			}
			*caps = append(*caps, capture{p.restName, rest})
		}
		return true
	}
	if pos == len(path)+1 {
		return true
	}
	// One slash is left over. Spring tolerates it after a non-empty segment,
	// so /a/{x} matches /a/1/ but /a/ does not match /a//.
	return !p.strictSlash && pos == len(path) && last != ""
}

// Path matches the request path against Spring PathPatterns; the first
// matching pattern wins. When matchTrailingSlash is true (Spring's default)
// /red/{x} also matches /red/1/. See PathPattern for the syntax.
//
// Spring: Path=/red/{segment},/blue/**,false; shortcut order patterns...,
// then an optional final true or false; expanded args patterns (a list) and
// matchTrailingSlash.
//
// The path is the escaped path, as url.URL.EscapedPath returns it; see
// RequestPath for how it is obtained without allocating.
func Path(matchTrailingSlash bool, patterns ...string) (Predicate, error) {
	pats, err := compilePaths(matchTrailingSlash, patterns)
	if err != nil {
		return nil, err
	}
	return PathPredicate(pats...), nil
}

// compilePaths compiles every pattern and reports every bad one.
func compilePaths(matchTrailingSlash bool, patterns []string) ([]*PathPattern, error) {
	if len(patterns) == 0 {
		return nil, errors.New("no patterns")
	}
	var errs []error
	pats := make([]*PathPattern, 0, len(patterns))
	for _, s := range patterns {
		p, err := CompilePath(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !matchTrailingSlash {
			p.strictSlash = true
		}
		pats = append(pats, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return pats, nil
}

// PathPredicate returns the Path predicate of patterns compiled by
// CompilePath, so that a route can share them with PathVars.
func PathPredicate(patterns ...*PathPattern) Predicate {
	return func(r *http.Request) bool {
		path := RequestPath(r)
		for _, p := range patterns {
			if p.match(path, nil) {
				return true
			}
		}
		return false
	}
}

// PathVars returns an Extractor that stores the URI template variables of the
// first of patterns that matches the request path.
func PathVars(patterns ...*PathPattern) Extractor {
	return func(r *http.Request, dst map[string]string) {
		path := RequestPath(r)
		for _, p := range patterns {
			if p.Vars(path, dst) {
				return
			}
		}
	}
}
