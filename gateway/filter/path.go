package filter

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// The path filters work on the raw (still encoded) path, as Spring does, and
// keep r.URL.Path and r.URL.RawPath consistent: an encoded "/" (%2F) stays
// encoded. They pass on a copy of the request and its URL, like net/http's
// StripPrefix; so a filter that Retry runs again starts from the original
// path each attempt (Spring needs a "already prefixed" flag for PrefixPath).

// StripPrefix removes the first parts segments of the path. Empty segments
// are dropped, a trailing "/" is kept unless the result is "/", and removing
// as many segments as there are, or more, leaves "/". With 2, /name/blue/red
// becomes /red. Spring's default for parts is 1.
//
// Spring: StripPrefix=parts.
func StripPrefix(parts int) (Filter, error) {
	if parts < 0 {
		return nil, fmt.Errorf("parts %d is negative; want the number of leading path segments to remove", parts)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2 := withURL(r)
			// Only escapes can make this fail, and stripPrefix keeps the
			// segments as they were, so it cannot.
			_ = setRawPath(r2.URL, stripPrefix(r.URL.EscapedPath(), parts))
			next.ServeHTTP(w, r2)
		})
	}, nil
}

// stripPrefix removes the first n non-empty segments of the raw path p.
func stripPrefix(p string, n int) string {
	out := make([]byte, 1, len(p)+1)
	out[0] = '/'
	seg := 0
	for i := 0; i < len(p); {
		if p[i] == '/' {
			i++
			continue
		}
		j := i
		for j < len(p) && p[j] != '/' {
			j++
		}
		if seg >= n {
			if len(out) > 1 {
				out = append(out, '/')
			}
			out = append(out, p[i:j]...)
		}
		seg++
		i = j
	}
	if len(out) > 1 && strings.HasSuffix(p, "/") {
		out = append(out, '/')
	}
	return string(out)
}

// PrefixPath puts prefix before the request path: with /mypath, /hello
// becomes /mypath/hello. prefix must start with "/" and may use {var}
// templates; variable values are escaped for the path.
//
// Spring: PrefixPath=prefix.
func PrefixPath(prefix string) (Filter, error) {
	t, err := pathTemplate("prefix", prefix)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2 := withURL(r)
			if err := setRawPath(r2.URL, t.expand(r, escapePathValue)+r.URL.EscapedPath()); err != nil {
				http.Error(w, "invalid path", http.StatusBadRequest)
				return
			}
			next.ServeHTTP(w, r2)
		})
	}, nil
}

// RewritePath replaces every match of the regular expression pattern in the
// raw path with replacement, in Java's syntax as Spring does: $1 or ${name}
// for groups, written $\{name} in YAML. The canonical example:
// RewritePath=/red/?(?<segment>.*), /$\{segment}. A result without a leading
// "/" gets one; a result that is not a valid escaped path is answered with
// 400 Bad Request.
//
// Patterns are Go (RE2) regular expressions: named groups (?<name>...) work,
// lookaround and backreferences do not and are reported when the filter is
// built.
//
// Spring: RewritePath=regexp, replacement.
func RewritePath(pattern, replacement string) (Filter, error) {
	re, repl, err := compileRewrite(pattern, replacement)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := r.URL.EscapedPath()
			np := rewritePath(re.ReplaceAllString(p, repl))
			if np != p {
				r2 := withURL(r)
				if err := setRawPath(r2.URL, np); err != nil {
					http.Error(w, "invalid path after rewrite", http.StatusBadRequest)
					return
				}
				r = r2
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// rewritePath gives a rewritten path its leading "/".
func rewritePath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "/" + p
	}
	return p
}

// SetPath sets the path from template, filled with the request's URI
// template variables: Path=/red/{segment} with SetPath=/{segment} sends
// /red/blue to /blue. template must start with "/"; variable values are
// escaped for the path, keeping "/".
//
// Spring: SetPath=template.
func SetPath(tmpl string) (Filter, error) {
	t, err := pathTemplate("template", tmpl)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2 := withURL(r)
			if err := setRawPath(r2.URL, t.expand(r, escapePathValue)); err != nil {
				http.Error(w, "invalid path", http.StatusBadRequest)
				return
			}
			next.ServeHTTP(w, r2)
		})
	}, nil
}

// RedirectTo answers every request with status, which must be a 3xx code,
// and Location: target, without proxying. With includeRequestParams the
// request's query is added to target. Spring's default for
// includeRequestParams is false; status may be written as a name, which
// ParseStatus converts.
//
// Spring: RedirectTo=status, url, includeRequestParams.
func RedirectTo(status int, target string, includeRequestParams bool) (Filter, error) {
	var errs []error
	if status < 300 || status > 399 {
		errs = append(errs, fmt.Errorf("status %d is not a redirect; want a 3xx code such as 301, 302, 303, 307 or 308", status))
	}
	if target == "" {
		errs = append(errs, fmt.Errorf("url must not be empty"))
	} else if _, err := url.Parse(target); err != nil {
		errs = append(errs, fmt.Errorf("url %q: %v", target, unwrapURLError(err)))
	} else if i := strings.IndexAny(target, " \t\r\n"); i >= 0 {
		errs = append(errs, fmt.Errorf("url %q: character %q is not allowed; percent-encode it", target, target[i]))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	base, fragment, _ := strings.Cut(target, "#")
	if fragment != "" {
		fragment = "#" + fragment
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = ""
		}
	}
	location := []string{target}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			if includeRequestParams && r.URL.RawQuery != "" {
				h["Location"] = []string{base + sep + r.URL.RawQuery + fragment}
			} else {
				h["Location"] = location[:1:1]
			}
			w.WriteHeader(status)
		})
	}, nil
}

// SetRequestHostHeader sends host (which may use {var} templates) as the
// Host header upstream, and marks the request so the proxy keeps it (see
// PreservesHost).
//
// Spring: SetRequestHostHeader=host.
func SetRequestHostHeader(host string) (Filter, error) {
	if host == "" {
		return nil, fmt.Errorf("host must not be empty")
	}
	if i := strings.IndexAny(host, " \t\r\n\x00/?#@"); i >= 0 {
		return nil, fmt.Errorf("host %q: character %q is not allowed in a host", host, host[i])
	}
	t, err := parseVarTemplate(host)
	if err != nil {
		return nil, fmt.Errorf("host %w", err)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2 := markPreserveHost(r)
			if r2 == r {
				r2 = new(http.Request)
				*r2 = *r
			}
			r2.Host = t.expand(r, nil)
			next.ServeHTTP(w, r2)
		})
	}, nil
}

// pathTemplate checks a path argument that must start with "/" and parses
// its {var} templates.
func pathTemplate(what, s string) (varTemplate, error) {
	if !strings.HasPrefix(s, "/") {
		return varTemplate{}, fmt.Errorf("%s %q must start with \"/\"", what, s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !pathByteAllowed(c) && c != '%' && c != '{' && c != '}' {
			return varTemplate{}, fmt.Errorf("%s %q: character %q is not allowed in a path; percent-encode it", what, s, c)
		}
	}
	t, err := parseVarTemplate(s)
	if err != nil {
		return varTemplate{}, fmt.Errorf("%s %w", what, err)
	}
	return t, nil
}

// setRawPath sets u's path from the raw (escaped) path p, keeping Path and
// RawPath consistent as url.URL.setPath does.
func setRawPath(u *url.URL, p string) error {
	if strings.IndexByte(p, '%') < 0 {
		u.Path = p
		u.RawPath = ""
		return nil
	}
	path, err := url.PathUnescape(p)
	if err != nil {
		return err
	}
	u.Path = path
	u.RawPath = p
	return nil
}

// unwrapURLError drops url.Error's repetition of the input.
func unwrapURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
