package gateway

import (
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-dev/switchboard/gateway/predicate"
)

// predicateNames are the predicate names the configuration may use.
var predicateNames = []string{"After", "Before", "Between", "Cookie", "Header", "Host", "JwtClaim", "Method",
	"Path", "Query", "RemoteAddr", "Weight", "XForwardedRemoteAddr"}

// predicate compiles one predicate definition. For Path and Host it also
// returns the extractor of the URI template variables they capture, for the
// filters that use them ({segment} in SetPath, for example).
func (b *builder) predicate(d *Def, routeID string) (predicate.Predicate, predicate.Extractor, error) {
	switch d.Name {
	case "Path":
		pats := d.list(0, "patterns")
		trailing := true
		if d.Named == nil && len(pats) > 1 {
			if last := strings.ToLower(pats[len(pats)-1]); last == "true" || last == "false" {
				trailing = last == "true"
				pats = pats[:len(pats)-1]
			}
		} else if v, ok := d.arg(-1, "matchTrailingSlash"); ok {
			t, err := parseBool("matchTrailingSlash", v)
			if err != nil {
				return nil, nil, err
			}
			trailing = t
		}
		if len(pats) == 0 {
			return nil, nil, fmt.Errorf("%w %q", errMissing, "patterns")
		}
		var compiled []*predicate.PathPattern
		var errs []error
		for _, s := range pats {
			pp, err := predicate.CompilePath(s)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			compiled = append(compiled, pp.WithMatchTrailingSlash(trailing))
		}
		if len(errs) > 0 {
			return nil, nil, errors.Join(errs...)
		}
		return predicate.PathPredicate(compiled...), predicate.PathVars(compiled...), nil
	case "Host":
		pats := d.list(0, "patterns")
		if len(pats) == 0 {
			return nil, nil, fmt.Errorf("%w %q", errMissing, "patterns")
		}
		var compiled []*predicate.HostPattern
		var errs []error
		for _, s := range pats {
			hp, err := predicate.CompileHost(s)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			compiled = append(compiled, hp)
		}
		if len(errs) > 0 {
			return nil, nil, errors.Join(errs...)
		}
		return predicate.HostPredicate(compiled...), predicate.HostVars(compiled...), nil
	case "Method":
		ms := d.list(0, "methods")
		p, err := predicate.Method(ms...)
		return p, nil, err
	case "Header", "Query", "Cookie":
		first := map[string]string{"Header": "header", "Query": "param", "Cookie": "name"}[d.Name]
		name, err := need(d, 0, first)
		if err != nil {
			return nil, nil, err
		}
		re := optional(d, 1, "regexp", "")
		var p predicate.Predicate
		switch d.Name {
		case "Header":
			p, err = predicate.Header(name, re)
		case "Query":
			p, err = predicate.Query(name, re)
		default:
			p, err = predicate.Cookie(name, re)
		}
		return p, nil, err
	case "RemoteAddr":
		p, err := predicate.RemoteAddr(d.list(0, "sources")...)
		return p, nil, err
	case "XForwardedRemoteAddr":
		idx := 1
		if v, ok := d.arg(-1, "maxTrustedIndex"); ok {
			n, err := atoi("maxTrustedIndex", v)
			if err != nil {
				return nil, nil, err
			}
			idx = n
		}
		p, err := predicate.XForwardedRemoteAddr(idx, d.list(0, "sources")...)
		return p, nil, err
	case "After", "Before":
		s, err := need(d, 0, "datetime")
		if err != nil {
			return nil, nil, err
		}
		t, err := predicate.ParseDateTime(s)
		if err != nil {
			return nil, nil, err
		}
		if d.Name == "After" {
			return predicate.After(t), nil, nil
		}
		return predicate.Before(t), nil, nil
	case "Between":
		s1, err := need(d, 0, "datetime1")
		if err != nil {
			return nil, nil, err
		}
		s2, err := need(d, 1, "datetime2")
		if err != nil {
			return nil, nil, err
		}
		t1, err := predicate.ParseDateTime(s1)
		if err != nil {
			return nil, nil, err
		}
		t2, err := predicate.ParseDateTime(s2)
		if err != nil {
			return nil, nil, err
		}
		p, err := predicate.Between(t1, t2)
		return p, nil, err
	case "Weight":
		group, err := need(d, 0, "group")
		if err != nil {
			return nil, nil, err
		}
		ws, err := need(d, 1, "weight")
		if err != nil {
			return nil, nil, err
		}
		w, err := atoi("weight", ws)
		if err != nil {
			return nil, nil, err
		}
		if err := b.weights.Add(group, routeID, w); err != nil {
			return nil, nil, err
		}
		return b.weights.Predicate(group, routeID), nil, nil
	case "JwtClaim":
		p, err := b.jwtClaim(d)
		return p, nil, err
	}
	return nil, nil, errUnknown("predicate", d.Name, predicateNames)
}
