package filter

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// SecureHeadersConfig holds SecureHeaders' arguments, as spelled in
// application.yml: per route (spring.cloud.gateway.routes[].filters[] args)
// or globally (spring.cloud.gateway.filter.secure-headers.*). An empty
// value means Spring's default; to leave a header out, disable it.
type SecureHeadersConfig struct {
	XSSProtectionHeader          string   // xss-protection-header; default "1 ; mode=block" (Spring's own spacing)
	StrictTransportSecurity      string   // strict-transport-security; default "max-age=631138519"
	FrameOptions                 string   // frame-options; default "DENY"
	ContentTypeOptions           string   // content-type-options; default "nosniff"
	ReferrerPolicy               string   // referrer-policy; default "no-referrer"
	ContentSecurityPolicy        string   // content-security-policy; default DefaultContentSecurityPolicy
	DownloadOptions              string   // download-options; default "noopen"
	PermittedCrossDomainPolicies string   // permitted-cross-domain-policies; default "none"
	PermissionsPolicy            string   // permissions-policy; sent only if enabled; default DefaultPermissionsPolicy
	Disable                      []string // disable: lower-case header names to leave out, e.g. "x-frame-options"
	Enable                       []string // enable: opt-in headers; only "permissions-policy" is off by default
}

// Spring's default values of the SecureHeaders headers that are long.
const (
	DefaultContentSecurityPolicy = "default-src 'self' https:; font-src 'self' https: data:; img-src 'self' https: data:; object-src 'none'; script-src https:; style-src 'self' https: 'unsafe-inline'"
	DefaultPermissionsPolicy     = "accelerometer=(), ambient-light-sensor=(), autoplay=(), battery=(), camera=(), cross-origin-isolated=(), display-capture=(), document-domain=(), encrypted-media=(), execution-while-not-rendered=(), execution-while-out-of-viewport=(), fullscreen=(), geolocation=(), gyroscope=(), keyboard-map=(), magnetometer=(), microphone=(), midi=(), navigation-override=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), sync-xhr=(), usb=(), web-share=(), xr-spatial-tracking=()"
)

// SecureHeaders adds the standard security headers to every response whose
// upstream did not send them already, with Spring's defaults (spec §3.4).
// Permissions-Policy is added only when Enable lists "permissions-policy".
// Header names and values are prepared when the filter is built, so a
// request costs no allocation beyond storing the headers.
//
// Spring: SecureHeaders (no shortcut arguments; expanded args disable,
// enable, permissions-policy and the global properties above).
func SecureHeaders(cfg SecureHeadersConfig) (Filter, error) {
	type header struct {
		name, value string
		optIn       bool
	}
	all := []header{
		{"X-Xss-Protection", orDefault(cfg.XSSProtectionHeader, "1 ; mode=block"), false},
		{"Strict-Transport-Security", orDefault(cfg.StrictTransportSecurity, "max-age=631138519"), false},
		{"X-Frame-Options", orDefault(cfg.FrameOptions, "DENY"), false},
		{"X-Content-Type-Options", orDefault(cfg.ContentTypeOptions, "nosniff"), false},
		{"Referrer-Policy", orDefault(cfg.ReferrerPolicy, "no-referrer"), false},
		{"Content-Security-Policy", orDefault(cfg.ContentSecurityPolicy, DefaultContentSecurityPolicy), false},
		{"X-Download-Options", orDefault(cfg.DownloadOptions, "noopen"), false},
		{"X-Permitted-Cross-Domain-Policies", orDefault(cfg.PermittedCrossDomainPolicies, "none"), false},
		{"Permissions-Policy", orDefault(cfg.PermissionsPolicy, DefaultPermissionsPolicy), true},
	}
	known := func() string {
		names := make([]string, len(all))
		for i, h := range all {
			names[i] = strings.ToLower(h.name)
		}
		return strings.Join(names, ", ")
	}
	var errs []error
	find := func(list, name string) int {
		for i, h := range all {
			if strings.EqualFold(h.name, strings.TrimSpace(name)) {
				return i
			}
		}
		errs = append(errs, fmt.Errorf("%s: %q is not a secure header; known: %s", list, name, known()))
		return -1
	}
	on := make([]bool, len(all))
	for i, h := range all {
		on[i] = !h.optIn
	}
	enabled := make([]bool, len(all))
	for _, name := range cfg.Enable {
		if i := find("enable", name); i >= 0 {
			on[i], enabled[i] = true, true
		}
	}
	for _, name := range cfg.Disable {
		if i := find("disable", name); i >= 0 {
			if enabled[i] {
				errs = append(errs, fmt.Errorf("disable: %q is also enabled; list it in one of enable and disable", name))
			}
			on[i] = false
		}
	}
	for _, h := range all {
		if i := strings.IndexAny(h.value, "\r\n\x00"); i >= 0 {
			errs = append(errs, fmt.Errorf("%s: control character %q is not allowed in a header value", strings.ToLower(h.name), h.value[i]))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// One slice per header, capped so that an append elsewhere copies it.
	var keys []string
	var values [][]string
	for i, h := range all {
		if on[i] {
			keys = append(keys, http.CanonicalHeaderKey(h.name))
			values = append(values, []string{h.value}[:1:1])
		}
	}
	return postFilter(func(h http.Header, status int, r *http.Request) int {
		for i, key := range keys {
			if len(h[key]) == 0 {
				h[key] = values[i]
			}
		}
		return status
	}), nil
}

// orDefault returns v, or def if v is empty.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
