package springconf

import (
	"cmp"
	"slices"
	"strings"
)

// ConfigError holds every problem found in a configuration, in order of
// position: the file's lines, then environment variables, then flags.
// Each problem reads "where: key: what", for example
//
//	application.yml:3: eureka.server.renewal-percent-threshold: 1.5 is out of range; want a value in (0, 1]
//	EUREKA_SERVER_EVICTIONINTERVALTIMERINMS: "60s" is not a whole number of milliseconds
type ConfigError struct {
	Problems []error
}

// Error returns the problems, one a line.
func (e *ConfigError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (e *ConfigError) Unwrap() []error { return e.Problems }

// A problem is one line of a ConfigError.
type problem struct {
	where, key, msg string
	src, line       int // position, for sorting
	seq             int // order of report, for sorting problems at one position
}

const srcNone = srcFlag + 1 // problems without a position go last

func (p *problem) Error() string {
	var parts []string
	for _, s := range []string{p.where, p.key, p.msg} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ": ")
}

// configError returns nil, or the problems sorted as *ConfigError.
func configError(ps []*problem) error {
	if len(ps) == 0 {
		return nil
	}
	ps = slices.Clone(ps)
	slices.SortStableFunc(ps, func(a, b *problem) int {
		return cmp.Or(
			cmp.Compare(a.src, b.src),
			cmp.Compare(a.line, b.line),
			cmp.Compare(a.where, b.where),
			cmp.Compare(a.seq, b.seq),
		)
	})
	errs := make([]error, 0, len(ps))
	seen := map[string]bool{}
	for _, p := range ps {
		if s := p.Error(); !seen[s] {
			seen[s] = true
			errs = append(errs, p)
		}
	}
	return &ConfigError{Problems: errs}
}

// problemAt returns a problem at e's position about e's own key, which an
// environment variable needs no repeating of.
func problemAt(e *entry, msg string) *problem {
	p := &problem{where: e.Where, key: e.Key, msg: msg, src: e.src, line: e.line}
	if e.layer == layerEnv || e.layer == layerFlag && strings.TrimLeft(e.Where, "-") == e.Key {
		p.key = ""
	}
	return p
}
