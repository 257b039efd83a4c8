package predicate

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// RemoteAddr matches when the client's address (r.RemoteAddr, the socket
// peer) is inside one of sources, each a CIDR prefix (192.168.0.0/16,
// fd00::/8) or a bare address. A bare IPv4 address means /32 and a bare IPv6
// address /128; Spring appends /32 to both, which makes an IPv6 address
// stand for a huge range. An IPv4 client seen over IPv6 (::ffff:10.0.0.1)
// counts as IPv4; a zone (fe80::1%eth0) is ignored.
//
// Spring: RemoteAddr=192.168.1.1/24,10.0.0.7; shortcut values are all
// sources; expanded arg sources (a list).
func RemoteAddr(sources ...string) (Predicate, error) {
	prefixes, err := parseSources(sources)
	if err != nil {
		return nil, err
	}
	return func(r *http.Request) bool {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		return err == nil && contains(prefixes, ap.Addr())
	}, nil
}

// XForwardedRemoteAddr is RemoteAddr for a gateway behind proxies: the
// client's address is taken from X-Forwarded-For, as Spring's
// XForwardedRemoteAddressResolver.maxTrustedIndex does.
//
// maxTrustedIndex n picks the n-th entry from the right, 1 being the one the
// nearest proxy added; when the list is shorter, the left-most entry is
// used. For "0.0.0.1, 0.0.0.2, 0.0.0.3", 1 picks .3, 2 picks .2, and 3 or
// more .1. Set it to the number of proxies you trust: entries further left
// can be forged by the client. When the request has no X-Forwarded-For, an
// empty one, or more than one header line, r.RemoteAddr is used instead. An
// entry that is not an IP address (it may carry a port) never matches.
//
// Spring: XForwardedRemoteAddr=192.168.1.1/24; shortcut values are all
// sources; expanded args sources (a list) and maxTrustedIndex, which has no
// shortcut and defaults to 1.
func XForwardedRemoteAddr(maxTrustedIndex int, sources ...string) (Predicate, error) {
	var errs []error
	if maxTrustedIndex < 1 {
		errs = append(errs, fmt.Errorf("maxTrustedIndex %d is out of range; want 1 or more", maxTrustedIndex))
	}
	prefixes, err := parseSources(sources)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return func(r *http.Request) bool {
		if lines := r.Header["X-Forwarded-For"]; len(lines) == 1 && strings.TrimSpace(lines[0]) != "" {
			a, ok := forwardedAddr(lines[0], maxTrustedIndex)
			return ok && contains(prefixes, a)
		}
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		return err == nil && contains(prefixes, ap.Addr())
	}, nil
}

// forwardedAddr returns the n-th address from the right of the
// X-Forwarded-For list xff, or its left-most when the list is shorter.
func forwardedAddr(xff string, n int) (netip.Addr, bool) {
	var entry string
	for i := 1; ; i++ {
		j := strings.LastIndexByte(xff, ',')
		entry = xff[j+1:]
		if j < 0 || i == n {
			break
		}
		xff = xff[:j]
	}
	entry = strings.TrimSpace(entry)
	if a, err := netip.ParseAddr(entry); err == nil {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(entry); err == nil {
		return ap.Addr(), true
	}
	return netip.Addr{}, false
}

// parseSources parses RemoteAddr sources into masked prefixes.
func parseSources(sources []string) ([]netip.Prefix, error) {
	if len(sources) == 0 {
		return nil, errors.New("no sources")
	}
	var errs []error
	prefixes := make([]netip.Prefix, 0, len(sources))
	for _, s := range sources {
		p, err := parseSource(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		prefixes = append(prefixes, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return prefixes, nil
}

func parseSource(s string) (netip.Prefix, error) {
	bad := fmt.Errorf("source %q is not an IP address or a CIDR prefix such as 10.0.0.0/8 or fd00::/8", s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, bad
		}
		if p.Addr().Is4In6() {
			// ::ffff:10.0.0.0/104 is 10.0.0.0/8, as clients are compared unmapped.
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("source %q: an IPv4-mapped prefix needs at least 96 bits", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, bad
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// contains reports whether a, unmapped and without its zone, is in one of prefixes.
func contains(prefixes []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
