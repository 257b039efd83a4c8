package registry

import (
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/internal/springconf"
)

// Settings is what `switchboard registry` reads from configuration: the
// registry's Config and the listener.
type Settings struct {
	Config Config
	// Port is the listening port. server.port, default 8761.
	Port int
	// Address is the listening address. server.address, default all interfaces.
	Address string
	// Replication settings; see package peer for their meaning.
	Replication Replication
}

// Replication holds the peer replication settings, bound from Eureka's keys.
type Replication struct {
	// MyURL is this node's own service URL, to recognise it in the peer
	// list. eureka.server.my-url; default: recognised by host and port.
	MyURL string
	// QueueCapacity is eureka.server.max-elements-in-peer-replication-pool (10000).
	QueueCapacity int
	// ConnectTimeout is eureka.server.peer-node-connect-timeout-ms (1000).
	ConnectTimeout time.Duration
	// ReadTimeout is eureka.server.peer-node-read-timeout-ms (5000).
	ReadTimeout time.Duration
	// SyncRetries is eureka.server.registry-sync-retries (5).
	SyncRetries int
	// SyncRetryWait is eureka.server.registry-sync-retry-wait-ms (1000).
	SyncRetryWait time.Duration
	// MaxBatchDelay is switchboard.registry.replication.max-batch-delay-ms (0).
	MaxBatchDelay time.Duration
}

// ignoredServerKeys are eureka.server properties that Spring accepts and that
// have no meaning here (AWS bindings, remote regions, Eureka's thread pools
// and response cache internals). They are accepted so a Spring file loads.
var ignoredServerKeys = []string{
	"initial-capacity-of-response-cache", "min-threads-for-peer-replication",
	"max-idle-thread-age-in-minutes-for-peer-replication", "max-elements-in-status-replication-pool",
	"max-threads-for-status-replication", "min-threads-for-status-replication",
	"max-idle-thread-in-minutes-age-for-status-replication", "number-of-replication-retries",
	"peer-eureka-status-refresh-time-interval-ms", "batch-replication", "prime-aws-replica-connections",
	"remote-region-urls-with-name", "remote-region-urls", "remote-region-app-whitelist",
	"remote-region-registry-fetch-interval", "remote-region-fetch-thread-pool-size",
	"remote-region-connect-timeout-ms", "remote-region-read-timeout-ms", "remote-region-total-connections",
	"remote-region-total-connections-per-host", "remote-region-connection-idle-timeout-seconds",
	"g-zip-content-from-remote-region", "disable-delta-for-remote-regions",
	"disable-transparent-fallback-to-other-region", "remote-region-trust-store", "remote-region-trust-store-password",
	"rate-limiter-enabled", "rate-limiter-throttle-standard-clients", "rate-limiter-privileged-clients",
	"rate-limiter-burst-size", "rate-limiter-registry-fetch-average-rate", "rate-limiter-full-fetch-average-rate",
	"log-identity-headers", "json-codec-name", "xml-codec-name", "metrics.enabled",
	"max-threads-for-peer-replication", "max-time-for-replication",
	"peer-node-total-connections",
	"peer-node-total-connections-per-host", "peer-node-connection-idle-timeout-seconds",
	"enable-replicated-request-compression", "peer-eureka-nodes-update-interval-ms", "min-available-instances-for-peer-replication"}

// ignoredInstanceKeys and ignoredClientKeys describe the registry's own
// instance and embedded client in Spring; a standalone registry has neither.
var ignoredInstanceKeys = []string{
	"hostname", "appname", "app-group-name", "instance-id", "ip-address", "prefer-ip-address",
	"non-secure-port", "non-secure-port-enabled", "secure-port", "secure-port-enabled",
	"lease-renewal-interval-in-seconds", "lease-expiration-duration-in-seconds", "virtual-host-name",
	"secure-virtual-host-name", "status-page-url-path", "status-page-url", "home-page-url-path",
	"home-page-url", "health-check-url-path", "health-check-url", "secure-health-check-url",
	"instance-enabled-onit", "initial-status", "a-s-g-name", "data-center-info", "namespace",
	"async-client-initialization",
}

var ignoredClientKeys = []string{
	"register-with-eureka", "fetch-registry", "registry-fetch-interval-seconds",
	"instance-info-replication-interval-seconds", "initial-instance-info-replication-interval-seconds",
	"region", "prefer-same-zone-eureka", "healthcheck.enabled", "eureka-server-connect-timeout-seconds",
	"eureka-server-read-timeout-seconds", "g-zip-content", "filter-only-up-instances",
	"should-unregister-on-shutdown", "enabled",
}

// Bind reads the registry's settings from Spring-style properties, collecting
// every problem. Unknown keys under eureka., server. and switchboard.registry.
// are errors.
func Bind(p *springconf.Props) (Settings, error) {
	s := Settings{Config: DefaultConfig(), Port: 8761, Replication: Replication{
		QueueCapacity: 10000, ConnectTimeout: time.Second, ReadTimeout: 5 * time.Second,
		SyncRetries: 5, SyncRetryWait: time.Second,
	}}
	rp := &s.Replication
	c := &s.Config
	b := springconf.NewBinder(p)
	b.Int("server.port", &s.Port, 0, 65535)
	b.String("server.address", &s.Address)
	b.String("spring.application.name", &c.AppName)

	const srv = "eureka.server."
	b.Bool(srv+"enable-self-preservation", &c.EnableSelfPreservation)
	b.Float(srv+"renewal-percent-threshold", &c.RenewalPercentThreshold, func(v float64) string {
		if v <= 0 || v > 1 {
			return "out of range; want a value in (0, 1]"
		}
		return ""
	})
	b.Seconds(srv+"expected-client-renewal-interval-seconds", &c.ExpectedClientRenewalInterval, time.Second)
	b.Millis("switchboard.registry.renewal-count-window-ms", &c.RenewalCountWindow, time.Millisecond)
	b.Millis(srv+"eviction-interval-timer-in-ms", &c.EvictionInterval, time.Millisecond)
	b.Millis(srv+"renewal-threshold-update-interval-ms", &c.RenewalThresholdUpdateInterval, time.Millisecond)
	b.Millis(srv+"retention-time-in-m-s-in-delta-queue", &c.DeltaRetention, time.Millisecond)
	b.Millis(srv+"delta-retention-timer-interval-in-ms", &c.DeltaRetentionTimerInterval, time.Millisecond)
	b.Bool(srv+"disable-delta", &c.DisableDelta)
	b.Bool(srv+"sync-when-timestamp-differs", &c.SyncWhenTimestampDiffers)
	b.Millis(srv+"wait-time-in-ms-when-sync-empty", &c.WaitTimeWhenSyncEmpty, 0)
	b.Millis(srv+"response-cache-update-interval-ms", &c.ResponseCacheUpdateInterval, time.Millisecond)
	b.Seconds(srv+"response-cache-auto-expiration-in-seconds", &c.ResponseCacheAutoExpiration, time.Second)
	b.Bool(srv+"use-read-only-response-cache", &c.UseReadOnlyResponseCache)
	b.String(srv+"my-url", &rp.MyURL)
	b.Int(srv+"max-elements-in-peer-replication-pool", &rp.QueueCapacity, 1, 10_000_000)
	b.Millis(srv+"peer-node-connect-timeout-ms", &rp.ConnectTimeout, time.Millisecond)
	b.Millis(srv+"peer-node-read-timeout-ms", &rp.ReadTimeout, time.Millisecond)
	b.Int(srv+"registry-sync-retries", &rp.SyncRetries, 0, 1000)
	b.Millis(srv+"registry-sync-retry-wait-ms", &rp.SyncRetryWait, time.Millisecond)
	b.Millis("switchboard.registry.replication.max-batch-delay-ms", &rp.MaxBatchDelay, 0)
	for _, k := range ignoredServerKeys {
		b.Ignore(srv + k)
	}
	b.Int("eureka.instance.registry.expected-number-of-clients-sending-renews", &c.ExpectedClientsSendingRenews, 0, 1<<30)
	b.Int("eureka.instance.registry.default-open-for-traffic-count", &c.DefaultOpenForTrafficCount, 0, 1<<30)
	for _, k := range ignoredInstanceKeys {
		b.Ignore("eureka.instance." + k)
	}
	var metadata map[string]string
	b.Map("eureka.instance.metadata-map", &metadata)
	for _, k := range ignoredClientKeys {
		b.Ignore("eureka.client." + k)
	}
	var zones map[string]string
	b.Map("eureka.client.service-url", &zones)
	if dz, ok := zones["defaultZone"]; ok {
		c.Peers = splitList(dz)
	} else if dz, ok := zones["defaultzone"]; ok {
		c.Peers = splitList(dz)
	}
	b.String("eureka.environment", &c.Environment)
	b.String("eureka.datacenter", &c.Datacenter)
	b.Ignore("eureka.dashboard.path", "eureka.dashboard.enabled")
	maxBody := int(c.MaxBodyBytes)
	b.Int("switchboard.registry.max-body-bytes", &maxBody, 1024, 1<<30)
	c.MaxBodyBytes = int64(maxBody)
	b.Int("switchboard.registry.max-cached-uncompressed-bytes", &c.MaxCachedUncompressedBytes, 0, 1<<30)
	bindSecurity(b, &c.Security)
	// TLS, limits and the admin listener are bound by package serve.
	b.Ignore("server.ssl", "server.tomcat", "server.max-http-request-header-size", "server.http2.enabled", "management", "switchboard.server")
	b.Unknown("eureka.", "server.", "switchboard.registry.", "spring.security.user.")
	if err := b.Err(); err != nil {
		return s, err
	}
	return s, nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Addr returns the listen address for the settings.
func (s Settings) Addr() string {
	return s.Address + ":" + strconv.Itoa(s.Port)
}
