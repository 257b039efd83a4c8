package registry

import (
	"fmt"
	"time"
)

// Config holds the registry's settings. Each field names the Spring Cloud
// Netflix property it is bound from (see Bind) and its default, which is
// Eureka's. The zero Config is not valid: start from DefaultConfig.
type Config struct {
	// EnableSelfPreservation stops eviction while renewals fall below the
	// threshold. eureka.server.enable-self-preservation, default true.
	EnableSelfPreservation bool
	// RenewalPercentThreshold is the share of expected renewals below which
	// self-preservation starts, and 1 minus the share of the registry one
	// eviction run may remove. eureka.server.renewal-percent-threshold,
	// default 0.85, in (0, 1].
	RenewalPercentThreshold float64
	// ExpectedClientRenewalInterval is how often clients are expected to renew.
	// eureka.server.expected-client-renewal-interval-seconds, default 30 s.
	ExpectedClientRenewalInterval time.Duration
	// RenewalCountWindow is the period over which renewals are counted for
	// self-preservation; the threshold scales with it.
	// switchboard.registry.renewal-count-window-ms, default 60 000 ms (Eureka's
	// fixed minute). Shorter windows react faster, for tests and small fleets.
	RenewalCountWindow time.Duration
	// EvictionInterval is how often expired leases are evicted.
	// eureka.server.eviction-interval-timer-in-ms, default 60 000 ms.
	EvictionInterval time.Duration
	// RenewalThresholdUpdateInterval is how often the expected number of
	// renewing clients is recounted from the registry.
	// eureka.server.renewal-threshold-update-interval-ms, default 900 000 ms.
	RenewalThresholdUpdateInterval time.Duration
	// DeltaRetention is how long a change stays in /apps/delta.
	// eureka.server.retention-time-in-m-s-in-delta-queue, default 180 000 ms.
	DeltaRetention time.Duration
	// DeltaRetentionTimerInterval is how often old changes are dropped.
	// eureka.server.delta-retention-timer-interval-in-ms, default 30 000 ms.
	DeltaRetentionTimerInterval time.Duration
	// DisableDelta makes GET /apps/delta answer 403, as Eureka does.
	// eureka.server.disable-delta, default false.
	DisableDelta bool
	// SyncWhenTimestampDiffers turns on lastDirtyTimestamp conflict checks on
	// heartbeats. eureka.server.sync-when-timestamp-differs, default true.
	SyncWhenTimestampDiffers bool
	// WaitTimeWhenSyncEmpty is how long after opening the dashboard keeps
	// quiet about low renewals, and how long reads answer 403 after an empty
	// start when DefaultOpenForTrafficCount is 0.
	// eureka.server.wait-time-in-ms-when-sync-empty, default 300 000 ms.
	WaitTimeWhenSyncEmpty time.Duration
	// ExpectedClientsSendingRenews is the starting estimate of renewing
	// clients. eureka.instance.registry.expected-number-of-clients-sending-renews,
	// default 1 (Spring's, so a standalone server's threshold is never stuck at 0).
	ExpectedClientsSendingRenews int
	// DefaultOpenForTrafficCount replaces an empty start-up sync count.
	// eureka.instance.registry.default-open-for-traffic-count, default 1;
	// 0 brings back Eureka's 403 warm-up window after an empty start.
	DefaultOpenForTrafficCount int
	// ResponseCacheUpdateInterval, ResponseCacheAutoExpiration and
	// UseReadOnlyResponseCache are accepted for compatibility
	// (eureka.server.response-cache-update-interval-ms, default 30 000;
	// eureka.server.response-cache-auto-expiration-in-seconds, default 180;
	// eureka.server.use-read-only-response-cache, default true) and change
	// nothing: payloads are rebuilt once per change, so reads are never stale.
	ResponseCacheUpdateInterval time.Duration
	ResponseCacheAutoExpiration time.Duration
	UseReadOnlyResponseCache    bool
	// MaxBodyBytes caps request bodies (registrations, batches).
	// switchboard.registry.max-body-bytes, default 1 MiB.
	MaxBodyBytes int64
	// MaxCachedUncompressedBytes is the size above which a registry document
	// (/apps, /apps/delta, /vips, /svips) in JSON or XML is not kept between
	// reads: each read encodes it as it sends it. Its gzip form is always
	// kept, and so are smaller documents. At 100,000 instances the full
	// registry is 100 MB of JSON and 160 MB of XML, which the heap would
	// otherwise hold twice over (see registry/doc.go).
	// switchboard.registry.max-cached-uncompressed-bytes, default 32 MiB
	// (about 30,000 instances in JSON, 20,000 in XML); 0 to 1 GiB, 0 sending
	// every registry document as it is encoded.
	MaxCachedUncompressedBytes int

	// AppName is the registry's own application name, shown on the dashboard.
	// spring.application.name, default "switchboard".
	AppName string
	// Environment and Datacenter are shown on the dashboard.
	// eureka.environment (default "test") and eureka.datacenter (default "default").
	Environment string
	Datacenter  string
	// Peers are the other registries' service URLs, shown as DS replicas.
	Peers []string

	// Security turns on authentication for writes (and, optionally, reads);
	// see Security for its keys. The zero value leaves it off, as in Eureka.
	Security Security
}

// DefaultConfig returns Eureka's defaults.
func DefaultConfig() Config {
	return Config{
		EnableSelfPreservation:         true,
		RenewalPercentThreshold:        0.85,
		ExpectedClientRenewalInterval:  30 * time.Second,
		RenewalCountWindow:             time.Minute,
		EvictionInterval:               60 * time.Second,
		RenewalThresholdUpdateInterval: 15 * time.Minute,
		DeltaRetention:                 3 * time.Minute,
		DeltaRetentionTimerInterval:    30 * time.Second,
		SyncWhenTimestampDiffers:       true,
		WaitTimeWhenSyncEmpty:          5 * time.Minute,
		ExpectedClientsSendingRenews:   1,
		DefaultOpenForTrafficCount:     1,
		ResponseCacheUpdateInterval:    30 * time.Second,
		ResponseCacheAutoExpiration:    180 * time.Second,
		UseReadOnlyResponseCache:       true,
		MaxBodyBytes:                   1 << 20,
		MaxCachedUncompressedBytes:     32 << 20,
		AppName:                        "switchboard",
		Environment:                    "test",
		Datacenter:                     "default",
	}
}

// validate reports settings no registry can run with. Bind checks user input
// with file and line; this catches programmatic misuse.
func (c *Config) validate() error {
	switch {
	case c.RenewalPercentThreshold <= 0 || c.RenewalPercentThreshold > 1:
		return fmt.Errorf("registry: RenewalPercentThreshold %v is out of range; want a value in (0, 1]", c.RenewalPercentThreshold)
	case c.ExpectedClientRenewalInterval <= 0:
		return fmt.Errorf("registry: ExpectedClientRenewalInterval %v must be positive", c.ExpectedClientRenewalInterval)
	case c.EvictionInterval <= 0, c.RenewalCountWindow <= 0, c.RenewalThresholdUpdateInterval <= 0, c.DeltaRetention <= 0, c.DeltaRetentionTimerInterval <= 0:
		return fmt.Errorf("registry: timer intervals must be positive")
	case c.MaxBodyBytes <= 0:
		return fmt.Errorf("registry: MaxBodyBytes %d must be positive", c.MaxBodyBytes)
	case c.MaxCachedUncompressedBytes < 0:
		return fmt.Errorf("registry: MaxCachedUncompressedBytes %d is negative; want 0 or more", c.MaxCachedUncompressedBytes)
	}
	return c.Security.validate()
}
