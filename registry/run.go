package registry

import (
	"context"
	"time"
)

// Run runs the registry's timers until ctx is done: the renewal counter rolls
// every minute, eviction every EvictionInterval, the threshold recount every
// RenewalThresholdUpdateInterval and delta retention every
// DeltaRetentionTimerInterval. It opens the registry for traffic first if
// OpenForTraffic was not called. It returns nil when ctx ends.
func (r *Registry) Run(ctx context.Context) error {
	r.mu.RLock()
	opened := !r.opened.IsZero()
	r.mu.RUnlock()
	if !opened {
		r.OpenForTraffic(0)
	}
	renews := time.NewTicker(r.cfg.RenewalCountWindow)
	defer renews.Stop()
	evict := time.NewTicker(r.cfg.EvictionInterval)
	defer evict.Stop()
	threshold := time.NewTicker(r.cfg.RenewalThresholdUpdateInterval)
	defer threshold.Stop()
	deltas := time.NewTicker(r.cfg.DeltaRetentionTimerInterval)
	defer deltas.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-renews.C:
			r.rollRenewals()
		case <-evict.C:
			r.evict()
		case <-threshold.C:
			r.updateRenewThreshold()
		case <-deltas.C:
			r.trimDeltas()
		}
	}
}
