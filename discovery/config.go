package discovery

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
	"github.com/switchboard-dev/switchboard/internal/redact"
)

// Config holds a Client's settings. Each field names the Spring Cloud Netflix
// property it corresponds to and its default, which is Spring's. Start from
// DefaultConfig: New fills zero durations and counts with their defaults, but
// takes booleans as written.
type Config struct {
	// ServiceURLs are the registries' service URLs, as in
	// eureka.client.service-url.defaultZone: each element may itself be a
	// comma-separated list. A URL may carry credentials,
	// "http://user:pass@host:8761/eureka/", which are then sent as HTTP Basic
	// authentication. Default "http://localhost:8761/eureka/".
	ServiceURLs []string
	// Token is a bearer token (Authorization: Bearer TOKEN) sent to every
	// registry whose URL carries no credentials. Switchboard only; default none.
	Token string

	// Instance describes the instance this client registers.
	Instance InstanceConfig

	// RegisterWithEureka registers Instance, renews its lease and cancels it
	// on shutdown. eureka.client.register-with-eureka, default true.
	RegisterWithEureka bool
	// FetchRegistry keeps a local copy of the registry for Instances and
	// friends. eureka.client.fetch-registry, default true.
	FetchRegistry bool
	// RegistryFetchInterval is how often the registry is polled for a delta,
	// and how long one watch waits for a change.
	// eureka.client.registry-fetch-interval-seconds, default 30 s.
	RegistryFetchInterval time.Duration
	// InitialRegistrationJitter bounds a random delay before the first
	// registration, so a fleet restarting together does not reach the
	// registry in the same instant. Switchboard only (the Java client waits a
	// fixed 40 s or registers on its first status change); default 2 s,
	// negative for none.
	InitialRegistrationJitter time.Duration
	// HeartbeatBackoffBound caps the delay between failing heartbeats (and
	// registrations) at LeaseRenewalInterval times this factor; each failure
	// doubles the delay. eureka.client.heartbeat-executor-exponential-back-off-bound,
	// default 10.
	HeartbeatBackoffBound int
	// CacheRefreshBackoffBound does the same for failing registry fetches,
	// as a factor of RegistryFetchInterval.
	// eureka.client.cache-refresh-executor-exponential-back-off-bound, default 10.
	CacheRefreshBackoffBound int
	// DisableDelta makes every fetch a full one. eureka.client.disable-delta,
	// default false.
	DisableDelta bool
	// FilterOnlyUpInstances makes Instances and InstancesByVIP return only
	// UP instances; Applications always has every status.
	// eureka.client.filter-only-up-instances, default true.
	FilterOnlyUpInstances bool
	// ShouldUnregisterOnShutdown cancels the registration when Run returns.
	// eureka.client.should-unregister-on-shutdown, default true.
	ShouldUnregisterOnShutdown bool
	// Watch uses the registry's watch extension (GET /eureka/watch) to see
	// changes as they happen instead of up to RegistryFetchInterval later,
	// and then fetches only the changes since the version it holds.
	// A server that answers 404 or 405, as Eureka does, is polled instead and
	// not asked again for WatchRetryAfter. Switchboard only; default true.
	Watch bool
	// QuarantineDuration is how long a registry that failed (no connection,
	// or a 5xx) is skipped while others are left. When every registry is in
	// quarantine the quarantine is lifted, as Eureka lifts it once 66 % of the
	// servers are in it. Switchboard only; default 30 s.
	QuarantineDuration time.Duration
}

// InstanceConfig describes the registered instance, as the eureka.instance.*
// properties do. Only App and Port are required; New fills in the rest.
type InstanceConfig struct {
	// App is the application name. It is upper-cased on the wire, as Eureka
	// does. eureka.instance.appname (Spring: spring.application.name).
	App string
	// InstanceID identifies the instance within its application.
	// eureka.instance.instance-id, default "<HostName>:<App>:<Port>" as Spring builds it.
	InstanceID string
	// HostName is the instance's host name. eureka.instance.hostname,
	// default os.Hostname.
	HostName string
	// IPAddr is the instance's IP address. eureka.instance.ip-address,
	// default the first non-loopback IPv4 address of the host, else 127.0.0.1.
	IPAddr string
	// Port is the plain HTTP port. eureka.instance.non-secure-port (Spring:
	// server.port). Required, unless SecurePortEnabled: then 0 registers the
	// non-secure port as disabled (eureka.instance.non-secure-port-enabled=false).
	Port int
	// SecurePort is the HTTPS port. eureka.instance.secure-port, default 443.
	SecurePort int
	// SecurePortEnabled says the instance serves HTTPS on SecurePort.
	// eureka.instance.secure-port-enabled, default false.
	SecurePortEnabled bool
	// VIPAddress is the virtual host name clients look the instance up by.
	// eureka.instance.virtual-host-name, default App in lower case.
	VIPAddress string
	// SecureVIPAddress is the secure virtual host name.
	// eureka.instance.secure-virtual-host-name, default App in lower case.
	SecureVIPAddress string
	// Metadata is published with the instance; entries with empty values are
	// dropped, as Eureka drops them. eureka.instance.metadata-map.*; the zone
	// pickers read is metadata "zone".
	Metadata map[string]string
	// HomePageURL, StatusPageURL and HealthCheckURL are published for
	// dashboards and health checkers. eureka.instance.home-page-url,
	// status-page-url and health-check-url; defaults http://<HostName>:<Port>
	// followed by "/", "/actuator/info" and "/actuator/health".
	HomePageURL    string
	StatusPageURL  string
	HealthCheckURL string
	// DataCenter is the dataCenterInfo name. eureka.instance.data-center-info,
	// default "MyOwn".
	DataCenter string
	// LeaseRenewalInterval is how often the client sends a heartbeat.
	// eureka.instance.lease-renewal-interval-in-seconds, default 30 s. The
	// registry is told whole seconds, at least 1.
	LeaseRenewalInterval time.Duration
	// LeaseExpirationDuration is how long the registry keeps the instance
	// without a heartbeat. eureka.instance.lease-expiration-duration-in-seconds,
	// default 90 s; whole seconds, at least 1.
	LeaseExpirationDuration time.Duration
	// InitialStatus is the status of the first registration; change it later
	// with Client.SetStatus. eureka.instance.initial-status, default UP.
	InitialStatus eureka.Status
}

// Defaults, Spring's unless said otherwise.
const (
	defaultServiceURL         = "http://localhost:8761/eureka/"
	defaultFetchInterval      = 30 * time.Second
	defaultRenewalInterval    = 30 * time.Second
	defaultExpirationDuration = 90 * time.Second
	defaultRegistrationJitter = 2 * time.Second // ours
	defaultBackoffBound       = 10
	defaultQuarantine         = 30 * time.Second // ours
	defaultSecurePort         = 443
	defaultDataCenter         = "MyOwn"
	defaultStatusPagePath     = "/actuator/info"
	defaultHealthCheckPath    = "/actuator/health"
)

// WatchRetryAfter is how long a registry without the watch extension is
// polled before the client asks it for a watch again.
const WatchRetryAfter = 5 * time.Minute

// DefaultConfig returns Spring's defaults: register and fetch every 30 s,
// renew every 30 s, only UP instances in lookups, unregister on shutdown,
// plus Switchboard's watch and a 2 s registration jitter.
func DefaultConfig() Config {
	return Config{
		ServiceURLs:                []string{defaultServiceURL},
		RegisterWithEureka:         true,
		FetchRegistry:              true,
		RegistryFetchInterval:      defaultFetchInterval,
		InitialRegistrationJitter:  defaultRegistrationJitter,
		HeartbeatBackoffBound:      defaultBackoffBound,
		CacheRefreshBackoffBound:   defaultBackoffBound,
		FilterOnlyUpInstances:      true,
		ShouldUnregisterOnShutdown: true,
		Watch:                      true,
		QuarantineDuration:         defaultQuarantine,
		Instance: InstanceConfig{
			LeaseRenewalInterval:    defaultRenewalInterval,
			LeaseExpirationDuration: defaultExpirationDuration,
			InitialStatus:           eureka.StatusUp,
		},
	}
}

// withDefaults returns cfg with zero durations, counts and instance fields
// filled in. It is the one place defaults are applied.
func (cfg Config) withDefaults() Config {
	if len(cfg.ServiceURLs) == 0 {
		cfg.ServiceURLs = []string{defaultServiceURL}
	}
	if cfg.RegistryFetchInterval == 0 {
		cfg.RegistryFetchInterval = defaultFetchInterval
	}
	if cfg.InitialRegistrationJitter == 0 {
		cfg.InitialRegistrationJitter = defaultRegistrationJitter
	}
	if cfg.HeartbeatBackoffBound == 0 {
		cfg.HeartbeatBackoffBound = defaultBackoffBound
	}
	if cfg.CacheRefreshBackoffBound == 0 {
		cfg.CacheRefreshBackoffBound = defaultBackoffBound
	}
	if cfg.QuarantineDuration == 0 {
		cfg.QuarantineDuration = defaultQuarantine
	}
	in := &cfg.Instance
	if in.LeaseRenewalInterval == 0 {
		in.LeaseRenewalInterval = defaultRenewalInterval
	}
	if in.LeaseExpirationDuration == 0 {
		in.LeaseExpirationDuration = defaultExpirationDuration
	}
	if in.InitialStatus == "" {
		in.InitialStatus = eureka.StatusUp
	}
	if !cfg.RegisterWithEureka {
		return cfg
	}
	if in.HostName == "" {
		in.HostName, _ = os.Hostname()
	}
	if in.IPAddr == "" {
		in.IPAddr = hostIP()
	}
	if in.SecurePort == 0 {
		in.SecurePort = defaultSecurePort
	}
	port := in.Port
	if port == 0 && in.SecurePortEnabled {
		port = in.SecurePort
	}
	if in.InstanceID == "" && in.HostName != "" && in.App != "" {
		in.InstanceID = in.HostName + ":" + in.App + ":" + strconv.Itoa(port)
	}
	if in.VIPAddress == "" {
		in.VIPAddress = strings.ToLower(in.App)
	}
	if in.SecureVIPAddress == "" {
		in.SecureVIPAddress = strings.ToLower(in.App)
	}
	if in.DataCenter == "" {
		in.DataCenter = defaultDataCenter
	}
	scheme := "http"
	if in.Port == 0 && in.SecurePortEnabled {
		scheme = "https"
	}
	root := scheme + "://" + net.JoinHostPort(in.HostName, strconv.Itoa(port))
	if in.HomePageURL == "" {
		in.HomePageURL = root + "/"
	}
	if in.StatusPageURL == "" {
		in.StatusPageURL = root + defaultStatusPagePath
	}
	if in.HealthCheckURL == "" {
		in.HealthCheckURL = root + defaultHealthCheckPath
	}
	return cfg
}

// hostIP returns the first non-loopback IPv4 address of the host, as
// Spring's InetUtils finds it, or 127.0.0.1.
func hostIP() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// validate reports every setting no client can run with, all at once.
func (cfg *Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("discovery: "+format, args...))
	}
	if _, err := parseServiceURLs(cfg.ServiceURLs); err != nil {
		errs = append(errs, err)
	}
	if strings.ContainsFunc(cfg.Token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		bad("Token: holds a space or a control character; want the token alone")
	}
	if cfg.RegistryFetchInterval < 0 {
		bad("RegistryFetchInterval: %v is negative", cfg.RegistryFetchInterval)
	}
	if cfg.HeartbeatBackoffBound < 1 {
		bad("HeartbeatBackoffBound: %d; want 1 or more", cfg.HeartbeatBackoffBound)
	}
	if cfg.CacheRefreshBackoffBound < 1 {
		bad("CacheRefreshBackoffBound: %d; want 1 or more", cfg.CacheRefreshBackoffBound)
	}
	if cfg.QuarantineDuration < 0 {
		bad("QuarantineDuration: %v is negative", cfg.QuarantineDuration)
	}
	if !cfg.RegisterWithEureka {
		return errors.Join(errs...)
	}
	in := &cfg.Instance
	if in.App == "" {
		bad(`Instance.App: empty; want the application name, e.g. "orders"`)
	}
	if in.HostName == "" {
		bad("Instance.HostName: empty and the host name is unknown; set it")
	}
	if in.Port == 0 && !in.SecurePortEnabled {
		bad("Instance.Port: 0; want the port the service listens on, or SecurePortEnabled")
	}
	if in.Port < 0 || in.Port > 65535 {
		bad("Instance.Port: %d is not a port number", in.Port)
	}
	if in.SecurePort < 0 || in.SecurePort > 65535 {
		bad("Instance.SecurePort: %d is not a port number", in.SecurePort)
	}
	if in.LeaseRenewalInterval < 0 {
		bad("Instance.LeaseRenewalInterval: %v is negative", in.LeaseRenewalInterval)
	}
	if in.LeaseExpirationDuration < 0 {
		bad("Instance.LeaseExpirationDuration: %v is negative", in.LeaseExpirationDuration)
	}
	if err := checkStatus(in.InitialStatus); err != nil {
		bad("Instance.InitialStatus: %v", err)
	}
	return errors.Join(errs...)
}

// checkStatus accepts the statuses an instance may give itself.
func checkStatus(s eureka.Status) error {
	switch s {
	case eureka.StatusUp, eureka.StatusDown, eureka.StatusStarting, eureka.StatusOutOfService:
		return nil
	}
	return fmt.Errorf("%q is not a status an instance sets; want UP, DOWN, STARTING or OUT_OF_SERVICE", s)
}

// instance builds the InstanceInfo the client registers, as the Java
// client's InstanceInfo factory does.
func (in *InstanceConfig) instance(now int64) *eureka.Instance {
	var md map[string]string
	for k, v := range in.Metadata {
		if v == "" {
			continue
		}
		if md == nil {
			md = make(map[string]string, len(in.Metadata))
		}
		md[k] = v
	}
	return &eureka.Instance{
		InstanceID:       in.InstanceID,
		HostName:         in.HostName,
		App:              strings.ToUpper(in.App),
		IPAddr:           in.IPAddr,
		Status:           in.InitialStatus,
		OverriddenStatus: eureka.StatusUnknown,
		Port:             eureka.Port{Number: in.Port, Enabled: in.Port != 0 || !in.SecurePortEnabled},
		SecurePort:       eureka.Port{Number: in.SecurePort, Enabled: in.SecurePortEnabled},
		CountryID:        eureka.DefaultCountryID,
		DataCenterInfo:   eureka.DataCenterInfo{Class: eureka.ClassDefaultDataCenterInfo, Name: in.DataCenter},
		LeaseInfo: eureka.LeaseInfo{
			RenewalIntervalInSecs: wholeSeconds(in.LeaseRenewalInterval),
			DurationInSecs:        wholeSeconds(in.LeaseExpirationDuration),
		},
		Metadata:             md,
		HomePageURL:          in.HomePageURL,
		StatusPageURL:        in.StatusPageURL,
		HealthCheckURL:       in.HealthCheckURL,
		VIPAddress:           in.VIPAddress,
		SecureVIPAddress:     in.SecureVIPAddress,
		LastUpdatedTimestamp: now,
		LastDirtyTimestamp:   now,
	}
}

// wholeSeconds rounds d up to whole seconds, at least 1: the wire counts
// seconds and Eureka replaces 0 with its default.
func wholeSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// server is one registry service URL.
type server struct {
	base     string // e.g. "http://host:8761/eureka", no credentials, no trailing slash
	user     string
	password string
	auth     bool   // send user and password as HTTP Basic
	bearer   string // or, when not auth, this Authorization header, if any

	noWatchUntil atomic.Int64 // unix ns until which the watch is not tried here
}

// parseServiceURLs splits and checks service URLs; the error lists every bad one.
func parseServiceURLs(list []string) ([]*server, error) {
	var servers []*server
	var errs []error
	for i, item := range list {
		for raw := range strings.SplitSeq(item, ",") {
			raw = strings.TrimSpace(raw)
			if raw == "" {
				continue
			}
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Errorf("discovery: ServiceURLs[%d]: %q is not an http or https URL such as %q", i, redact.URL(raw), defaultServiceURL))
				continue
			}
			s := &server{}
			if u.User != nil {
				s.user = u.User.Username()
				s.password, _ = u.User.Password()
				s.auth = true
				u.User = nil
			}
			u.RawQuery, u.Fragment = "", ""
			s.base = strings.TrimRight(u.String(), "/")
			servers = append(servers, s)
		}
	}
	if len(servers) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("discovery: ServiceURLs: no URL; want one such as %q", defaultServiceURL))
	}
	return servers, errors.Join(errs...)
}
