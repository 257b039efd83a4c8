package predicate

import (
	"net/http/httptest"
	"testing"
)

func TestRemoteAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		sources    []string
		remoteAddr string
		want       bool
	}{
		{"in IPv4 prefix", []string{"192.168.1.0/24"}, "192.168.1.10:5000", true},
		{"outside IPv4 prefix", []string{"192.168.1.0/24"}, "192.168.2.10:5000", false},
		{"unmasked prefix", []string{"192.168.1.1/24"}, "192.168.1.200:5000", true},
		{"bare IPv4 is /32", []string{"10.0.0.7"}, "10.0.0.7:1", true},
		{"bare IPv4 is not /24", []string{"10.0.0.7"}, "10.0.0.8:1", false},
		{"bare IPv6 is /128", []string{"2001:db8::1"}, "[2001:db8::1]:1", true},
		{"bare IPv6 is not /32", []string{"2001:db8::1"}, "[2001:db8::2]:1", false},
		{"IPv6 prefix", []string{"fd00::/8"}, "[fd12::1]:443", true},
		{"mapped client matches IPv4", []string{"10.0.0.0/8"}, "[::ffff:10.1.2.3]:80", true},
		{"mapped prefix matches IPv4", []string{"::ffff:10.0.0.0/104"}, "10.1.2.3:80", true},
		{"zone ignored", []string{"fe80::/10"}, "[fe80::1%eth0]:80", true},
		{"second source", []string{"10.0.0.0/8", "127.0.0.1"}, "127.0.0.1:9", true},
		{"IPv4 is not IPv6", []string{"::/0"}, "10.0.0.1:1", false},
		{"unparsable remote address", []string{"0.0.0.0/0"}, "@", false},
		{"no port", []string{"0.0.0.0/0"}, "10.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := RemoteAddr(tt.sources...)
			if err != nil {
				t.Fatalf("RemoteAddr(%q): %v", tt.sources, err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remoteAddr
			if got := p(r); got != tt.want {
				t.Errorf("RemoteAddr(%q) on %q = %v, want %v", tt.sources, tt.remoteAddr, got, tt.want)
			}
		})
	}
}

func TestXForwardedRemoteAddr(t *testing.T) {
	t.Parallel()
	const list = "0.0.0.1, 0.0.0.2, 0.0.0.3"
	tests := []struct {
		name       string
		maxTrusted int
		source     string
		xff        []string // X-Forwarded-For lines
		want       bool
	}{
		{"index 1 is the right-most", 1, "0.0.0.3", []string{list}, true},
		{"index 1 is not the left-most", 1, "0.0.0.1", []string{list}, false},
		{"index 2", 2, "0.0.0.2", []string{list}, true},
		{"index 3 is the left-most", 3, "0.0.0.1", []string{list}, true},
		{"index past the list is the left-most", 10, "0.0.0.1", []string{list}, true},
		{"one entry", 2, "0.0.0.9", []string{"0.0.0.9"}, true},
		{"no spaces", 2, "0.0.0.2", []string{"0.0.0.1,0.0.0.2,0.0.0.3"}, true},
		{"IPv6 entry", 1, "2001:db8::/32", []string{"0.0.0.1, 2001:db8::5"}, true},
		{"entry with port", 1, "0.0.0.3", []string{"0.0.0.3:1234"}, true},
		{"garbage entry never matches", 1, "0.0.0.0/0", []string{"0.0.0.1, unknown"}, false},
		{"no header uses the socket", 1, "192.0.2.1", nil, true},
		{"empty header uses the socket", 1, "192.0.2.1", []string{" "}, true},
		{"two lines use the socket", 1, "192.0.2.1", []string{"0.0.0.1", "0.0.0.2"}, true},
		{"two lines ignore the header", 1, "0.0.0.2", []string{"0.0.0.1", "0.0.0.2"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := XForwardedRemoteAddr(tt.maxTrusted, tt.source)
			if err != nil {
				t.Fatalf("XForwardedRemoteAddr(%d, %q): %v", tt.maxTrusted, tt.source, err)
			}
			r := httptest.NewRequest("GET", "/", nil) // from 192.0.2.1:1234
			r.Header["X-Forwarded-For"] = tt.xff
			if got := p(r); got != tt.want {
				t.Errorf("XForwardedRemoteAddr(%d, %q) on %q = %v, want %v", tt.maxTrusted, tt.source, tt.xff, got, tt.want)
			}
		})
	}
}

func TestRemoteAddrErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		call string
		err  error
		want string
	}{
		{"RemoteAddr()", second(RemoteAddr()), "no sources"},
		{`RemoteAddr("10.0.0.0/33", "ok", "10.0.0.1")`, second(RemoteAddr("10.0.0.0/33", "ok", "10.0.0.1")),
			`source "10.0.0.0/33" is not an IP address or a CIDR prefix such as 10.0.0.0/8 or fd00::/8` + "\n" +
				`source "ok" is not an IP address or a CIDR prefix such as 10.0.0.0/8 or fd00::/8`},
		{`RemoteAddr("fe80::1%eth0")`, second(RemoteAddr("fe80::1%eth0")),
			`source "fe80::1%eth0" is not an IP address or a CIDR prefix such as 10.0.0.0/8 or fd00::/8`},
		{`RemoteAddr("::ffff:0.0.0.0/80")`, second(RemoteAddr("::ffff:0.0.0.0/80")),
			`source "::ffff:0.0.0.0/80": an IPv4-mapped prefix needs at least 96 bits`},
		{`XForwardedRemoteAddr(0, "10.0.0.1")`, second(XForwardedRemoteAddr(0, "10.0.0.1")),
			"maxTrustedIndex 0 is out of range; want 1 or more"},
		{`XForwardedRemoteAddr(-1)`, second(XForwardedRemoteAddr(-1)),
			"maxTrustedIndex -1 is out of range; want 1 or more\nno sources"},
	}
	for _, tt := range tests {
		if tt.err == nil || tt.err.Error() != tt.want {
			t.Errorf("%s error = %v, want %q", tt.call, tt.err, tt.want)
		}
	}
}
