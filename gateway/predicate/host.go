package predicate

import (
	"errors"
	"net/http"
	"strings"
)

// A HostPattern is a compiled Ant-style host pattern, such as
// {sub}.example.org, *.example.org:8080 or **.example.org. It is immutable
// and safe for concurrent use.
//
// Labels are separated by '.'. '?' matches one character and '*' any run of
// characters within a label (a label that is just '*' needs at least one);
// "**" as a whole label matches zero or more
// labels, anywhere in the pattern; {name} matches one non-empty label, or
// part of one, and captures it; {name:regexp} does so only when the regexp
// (Go syntax) matches. Letters match in either case, as host names do; a
// captured value keeps the request's spelling.
//
// The host is matched as the client sent it, port included (Spring's
// include-port=true): **.example.org does not match api.example.org:8080,
// but **.example.org:* does.
type HostPattern struct {
	text string
	segs []segment
}

// CompileHost compiles a HostPattern. Errors name the pattern and the
// problem: pattern "{sub.example.org": no closing "}".
func CompileHost(pattern string) (*HostPattern, error) {
	if pattern == "" {
		return nil, errors.New("empty pattern")
	}
	parsed, err := hostDialect.parse(pattern, 0)
	if err != nil {
		return nil, err
	}
	segs, err := hostDialect.compile(pattern, parsed)
	if err != nil {
		return nil, err
	}
	return &HostPattern{text: pattern, segs: segs}, nil
}

// String returns the pattern as written.
func (p *HostPattern) String() string { return p.text }

// Match reports whether host, as in the Host header, matches p. It does not
// allocate.
func (p *HostPattern) Match(host string) bool {
	return p.match(host, nil)
}

// Vars reports whether host matches p and, if it does, stores p's URI
// template variables in dst, replacing variables of the same name.
func (p *HostPattern) Vars(host string, dst map[string]string) bool {
	var caps []capture
	if !p.match(host, &caps) {
		return false
	}
	setCaptures(dst, caps)
	return true
}

// match matches host label by label. A "**" is a star over labels, so the
// classic wildcard algorithm applies: on a mismatch, let the last "**" take
// one more label and retry from there. That bounds the work by
// labels × segments, whatever the Host header holds.
func (p *HostPattern) match(host string, caps *[]capture) bool {
	segs := p.segs
	si, pos := 0, 0 // pos: start of the next label; len(host)+1 once used up
	starSi, starPos, mark := -1, 0, 0
	for {
		if si < len(segs) && segs[si].kind == segDeep {
			starSi, starPos = si, pos
			if caps != nil {
				mark = len(*caps)
			}
			si++
			continue
		}
		if si == len(segs) && pos > len(host) {
			return true
		}
		if si < len(segs) && pos <= len(host) {
			label, next := nextLabel(host, pos)
			if segs[si].match(label, true, caps) {
				si, pos = si+1, next
				continue
			}
		}
		if starSi < 0 || starPos > len(host) {
			return false
		}
		_, starPos = nextLabel(host, starPos)
		si, pos = starSi+1, starPos
		if caps != nil {
			*caps = (*caps)[:mark]
		}
	}
}

// nextLabel returns the label of host that starts at pos, and where the one
// after it starts (len(host)+1 if none).
func nextLabel(host string, pos int) (label string, next int) {
	end := strings.IndexByte(host[pos:], '.')
	if end < 0 {
		return host[pos:], len(host) + 1
	}
	return host[pos : pos+end], pos + end + 1
}

// Host matches the Host header (r.Host) against Ant-style patterns; the
// first matching pattern wins. See HostPattern for the syntax.
//
// Spring: Host=**.somehost.org,**.anotherhost.org; shortcut values are all
// patterns; expanded arg patterns (a list).
func Host(patterns ...string) (Predicate, error) {
	if len(patterns) == 0 {
		return nil, errors.New("no patterns")
	}
	var errs []error
	pats := make([]*HostPattern, 0, len(patterns))
	for _, s := range patterns {
		p, err := CompileHost(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pats = append(pats, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return HostPredicate(pats...), nil
}

// HostPredicate returns the Host predicate of patterns compiled by
// CompileHost, so that a route can share them with HostVars.
func HostPredicate(patterns ...*HostPattern) Predicate {
	return func(r *http.Request) bool {
		for _, p := range patterns {
			if p.match(r.Host, nil) {
				return true
			}
		}
		return false
	}
}

// HostVars returns an Extractor that stores the URI template variables of
// the first of patterns that matches r.Host.
func HostVars(patterns ...*HostPattern) Extractor {
	return func(r *http.Request, dst map[string]string) {
		for _, p := range patterns {
			if p.Vars(r.Host, dst) {
				return
			}
		}
	}
}
