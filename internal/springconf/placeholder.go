package springconf

import (
	"fmt"
	"strings"
)

// Limits on placeholder expansion, which a few lines can make exponential.
const (
	maxPlaceholderDepth = 32
	maxValueLen         = 64 << 10
)

// resolve returns e's value with its placeholders resolved.
func (p *Props) resolve(e *entry) (string, error) {
	if !strings.Contains(e.Value.Value, "${") {
		return e.Value.Value, nil
	}
	r := &resolver{p: p, visiting: map[*entry]bool{e: true}, chain: []string{e.Key}}
	return r.expand(e.Value.Value, 0)
}

// check resolves every value in effect and reports those that cannot be.
func (p *Props) check() []*problem {
	var probs []*problem
	for _, e := range p.effective() {
		if _, err := p.resolve(e); err != nil {
			probs = append(probs, problemAt(e, err.Error()))
		}
	}
	return probs
}

// A resolver expands ${NAME} and ${NAME:default} as Spring's
// PropertyPlaceholderHelper does: NAME is looked up as a key (by relaxed
// name), then as an environment variable as written, then in Spring's
// environment form (MY_HOST for my.host); the value found is expanded in
// turn. A "${" without its "}" is kept as written.
type resolver struct {
	p        *Props
	visiting map[*entry]bool // keys being expanded, to catch loops
	chain    []string        // their keys, for the message
}

func (r *resolver) expand(s string, depth int) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	if depth > maxPlaceholderDepth {
		return "", fmt.Errorf("placeholders nest more than %d deep", maxPlaceholderDepth)
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		end := closingBrace(s, i+2)
		if end < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		v, err := r.placeholder(s[i:end+1], depth)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
		if b.Len() > maxValueLen {
			return "", fmt.Errorf("placeholders expand to more than %d bytes", maxValueLen)
		}
		s = s[end+1:]
	}
	return b.String(), nil
}

// closingBrace returns the index of the "}" that closes a "{" before from,
// counting nested braces, or -1.
func closingBrace(s string, from int) int {
	n := 1
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '{':
			n++
		case '}':
			if n--; n == 0 {
				return i
			}
		}
	}
	return -1
}

// placeholder expands one "${name:default}".
func (r *resolver) placeholder(text string, depth int) (string, error) {
	inner := text[2 : len(text)-1]
	nameText, def, hasDef := inner, "", false
	if i := topLevelColon(inner); i >= 0 {
		nameText, def, hasDef = inner[:i], inner[i+1:], true
	}
	n, err := r.expand(nameText, depth+1)
	if err != nil {
		return "", err
	}
	if v, ok, err := r.lookup(n, depth); ok || err != nil {
		return v, err
	}
	if hasDef {
		return r.expand(def, depth+1)
	}
	if strings.TrimSpace(n) == "" {
		return "", fmt.Errorf("%q names nothing", text)
	}
	return "", fmt.Errorf("%q has no value; define %s or write %q", text, n, "${"+n+":default}")
}

// topLevelColon returns the index of the first ':' outside nested braces.
func topLevelColon(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			n++
		case '}':
			n--
		case ':':
			if n == 0 {
				return i
			}
		}
	}
	return -1
}

func (r *resolver) lookup(n string, depth int) (string, bool, error) {
	if strings.TrimSpace(n) == "" {
		return "", false, nil
	}
	if e := r.p.lookup(parseName(n)); e != nil {
		if r.visiting[e] {
			return "", false, fmt.Errorf("placeholders form a loop: %s -> %s", strings.Join(r.chain, " -> "), e.Key)
		}
		r.visiting[e] = true
		r.chain = append(r.chain, e.Key)
		v, err := r.expand(e.Value.Value, depth+1)
		r.chain = r.chain[:len(r.chain)-1]
		delete(r.visiting, e)
		return v, true, err
	}
	// Spring's SystemEnvironmentPropertySource: as written, with '.' and '-'
	// as '_', and upper case.
	under := strings.NewReplacer(".", "_", "-", "_").Replace(n)
	for _, k := range []string{n, under, strings.ToUpper(n), strings.ToUpper(under)} {
		if v, ok := r.p.environ[k]; ok {
			v, err := r.expand(v, depth+1)
			return v, true, err
		}
	}
	return "", false, nil
}
