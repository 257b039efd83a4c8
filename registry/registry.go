package registry

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-dev/switchboard/eureka"
)

// Errors the registry returns; statusFor maps them to HTTP status codes.
var (
	// ErrNotFound means the instance has no lease: clients re-register on it.
	ErrNotFound = errors.New("not registered")
	// ErrConflict means a peer's heartbeat carried an older lastDirtyTimestamp
	// than ours; the peer should adopt our copy.
	ErrConflict = errors.New("newer copy here")
	// ErrWarmingUp means registry reads are refused during the warm-up window.
	ErrWarmingUp = errors.New("registry warming up after an empty start")
)

// InputError is a request the registry refuses; Reason goes back to the client.
type InputError struct{ Reason string }

func (e *InputError) Error() string { return e.Reason }

func badInput(format string, args ...any) error {
	return &InputError{Reason: fmt.Sprintf(format, args...)}
}

// A Clock tells the time. Tests inject a fake one to move leases by hand.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// lease is one registration. holder is never changed once stored: a change
// stores a new copy, so snapshots may keep pointers to old holders.
type lease struct {
	holder      *eureka.Instance // guarded by Registry.mu
	registered  int64            // ms; set once
	duration    int64            // ms; set once
	serviceUp   int64            // ms; guarded by Registry.mu
	evicted     int64            // ms, set on cancel; guarded by Registry.mu
	lastRenewal atomic.Int64     // ms; a heartbeat only touches this
}

// expired reports whether the lease ran out at now, allowing extra ms.
// Eureka adds the duration twice for leases renewed at least once (its
// renew() stores now+duration and isExpired adds duration again); we expire
// a lease exactly one duration after its last renewal, as documented.
func (l *lease) expired(now, extra int64) bool {
	return l.evicted > 0 || now > l.lastRenewal.Load()+l.duration+extra
}

// change is one entry of the recently-changed queue behind /apps/delta.
type change struct {
	at    int64            // ms
	inst  *eureka.Instance // the holder right after the change
	lease *lease
}

// Event is one line of the dashboard's "last 1000" lists.
type Event struct {
	At    time.Time
	App   string
	ID    string
	Cause string // "registered", "cancelled" or "evicted"
}

const recentEvents = 1000

// Registry is the one owner of registry state. Every mutation goes through it,
// bumps the version and records the change. It is safe for concurrent use.
type Registry struct {
	cfg     Config
	clock   Clock
	log     *slog.Logger
	metrics *metrics
	obs     observers // request histogram children for common op/code pairs
	started time.Time
	rep     Replicator // nil without peers

	cache payloadCache

	gen           atomic.Uint64 // bumped with version; keys the payload cache
	trims         atomic.Uint64 // bumped when old changes leave the delta; keys the delta document
	ver           atomic.Uint64 // a copy of version for readers that take no lock
	threshold     atomic.Int64  // renews-per-minute threshold, T
	renewsThisMin atomic.Int64
	renewsLastMin atomic.Int64 // R, the last complete minute

	mu            sync.RWMutex                 // guards the fields below
	apps          map[string]map[string]*lease // app -> instance ID -> lease
	count         int                          // number of leases
	overrides     map[string]eureka.Status     // instance ID -> status override
	version       uint64                       // bumped by every change
	changes       []change                     // recent changes, oldest first
	changed       chan struct{}                // closed and replaced on every change
	expected      int                          // expected clients sending renews, E
	opened        time.Time                    // when the registry opened for traffic
	transferEmpty bool                         // opened with nothing synced: warm-up applies
	lastEviction  time.Time
	registered    []Event // ring of the last registrations
	cancelled     []Event // ring of the last cancels and evictions
}

// A Replicator passes the writes this registry accepted from clients on to
// its peers. Replicate is called after the write, outside the registry lock,
// and must not block. Writes that arrived as replication are never passed on.
type Replicator interface {
	Replicate(item eureka.ReplicationInstance)
	// Peers reports the state of each peer, for the dashboard and health.
	Peers() []PeerState
}

// PeerState is what a Replicator knows of one peer.
type PeerState struct {
	URL       string // service URL, credentials removed
	Available bool   // the last exchange with it succeeded
	Pending   int    // replication tasks waiting for it
	LastError string // why the last exchange failed, if it did
}

// SetReplicator makes r pass accepted client writes to rep. Call it before
// the registry serves requests.
func (r *Registry) SetReplicator(rep Replicator) { r.rep = rep }

// Option configures a Registry.
type Option func(*Registry)

// WithClock makes the registry read time from c.
func WithClock(c Clock) Option { return func(r *Registry) { r.clock = c } }

// WithLogger sets the registry's logger.
func WithLogger(l *slog.Logger) Option { return func(r *Registry) { r.log = l } }

// New returns an empty registry. It starts no goroutines: call Run for the
// timers (eviction, renewal counting, delta retention).
func New(cfg Config, opts ...Option) (*Registry, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Registry{
		cfg:           cfg,
		clock:         systemClock{},
		log:           slog.New(slog.DiscardHandler),
		apps:          make(map[string]map[string]*lease),
		overrides:     make(map[string]eureka.Status),
		changed:       make(chan struct{}),
		expected:      cfg.ExpectedClientsSendingRenews,
		transferEmpty: true,
	}
	for _, o := range opts {
		o(r)
	}
	r.started = r.clock.Now()
	r.metrics = newMetrics(r)
	for o := range numOps {
		for i, c := range commonCodes {
			r.obs[o][i] = r.metrics.requests.WithLabelValues(opNames[o], strconv.Itoa(c))
		}
	}
	r.updateThresholdLocked()
	return r, nil
}

func (r *Registry) nowMs() int64 { return r.clock.Now().UnixMilli() }

// Version returns the registry version and a channel closed at the next change.
func (r *Registry) Version() (uint64, <-chan struct{}) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.version, r.changed
}

// recordLocked publishes a change: new version, delta entry, wake watchers.
func (r *Registry) recordLocked(now int64, inst *eureka.Instance, l *lease) {
	r.version++
	r.ver.Store(r.version)
	r.cache.roll(r.gen.Add(1))
	r.changes = append(r.changes, change{at: now, inst: inst, lease: l})
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *Registry) lookupLocked(app, id string) *lease {
	return r.apps[app][id]
}

// effectiveStatusLocked runs Eureka's override rule chain: a DOWN, STARTING or
// UNKNOWN report wins; then an override; then, for a client's own call, an
// existing lease that is UP or OUT_OF_SERVICE keeps its status.
func (r *Registry) effectiveStatusLocked(in *eureka.Instance, existing *lease, replication bool) eureka.Status {
	s := in.Status
	if s != eureka.StatusUp && s != eureka.StatusOutOfService {
		return s
	}
	if o, ok := r.overrides[in.ID()]; ok {
		return o
	}
	if !replication && existing != nil {
		if es := existing.holder.Status; es == eureka.StatusUp || es == eureka.StatusOutOfService {
			return es
		}
	}
	return s
}

// validate checks a registration the way Eureka's resource does, in its order.
func validateRegistration(pathApp string, in *eureka.Instance) error {
	switch {
	case in.ID() == "":
		return badInput("Missing instanceId")
	case in.HostName == "":
		return badInput("Missing hostname")
	case in.IPAddr == "":
		return badInput("Missing ip address")
	case in.App == "":
		return badInput("Missing appName")
	case pathApp != "" && in.App != pathApp:
		return badInput("Mismatched appName, expecting %s but was %s", pathApp, in.App)
	case in.DataCenterInfo.Name == "":
		return badInput("Missing dataCenterInfo Name")
	}
	if _, ok := eureka.ParseStatus(string(in.Status)); !ok {
		return badInput("status %q is not one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN", in.Status)
	}
	if _, ok := eureka.ParseStatus(string(in.OverriddenStatus)); !ok {
		return badInput("overriddenStatus %q is not one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN", in.OverriddenStatus)
	}
	return nil
}

// Register adds or replaces an instance, as POST /apps/{APP} does. pathApp is
// the upper-cased application name from the URL, or "" to skip that check.
// The registry takes ownership of in.
func (r *Registry) Register(pathApp string, in *eureka.Instance, replication bool) error {
	if in.Status == "" {
		in.Status = eureka.StatusUp
	}
	if in.OverriddenStatus == "" {
		in.OverriddenStatus = eureka.StatusUnknown
	}
	if err := validateRegistration(pathApp, in); err != nil {
		return err
	}
	now := r.nowMs()
	if in.LastDirtyTimestamp == 0 {
		in.LastDirtyTimestamp = now
	}
	if in.LeaseInfo.DurationInSecs <= 0 {
		in.LeaseInfo.DurationInSecs = eureka.DefaultDurationInSecs
	}
	if in.LeaseInfo.RenewalIntervalInSecs <= 0 {
		in.LeaseInfo.RenewalIntervalInSecs = eureka.DefaultRenewalIntervalInSecs
	}
	compactStrings(in)
	r.mu.Lock()
	stored := r.registerLocked(now, in, replication)
	r.mu.Unlock()
	r.metrics.registrations.Inc()
	if !replication {
		r.replicateRegister(stored)
	}
	return nil
}

func (r *Registry) replicateRegister(in *eureka.Instance) {
	if r.rep == nil {
		return
	}
	r.rep.Replicate(eureka.ReplicationInstance{
		Action: eureka.ActionRegister, AppName: in.App, ID: in.ID(),
		LastDirtyTimestamp: in.LastDirtyTimestamp, Status: in.Status, InstanceInfo: in,
	})
}

func (r *Registry) registerLocked(now int64, in *eureka.Instance, replication bool) *eureka.Instance {
	id := in.ID()
	existing := r.lookupLocked(in.App, id)
	if existing != nil && existing.holder.LastDirtyTimestamp > in.LastDirtyTimestamp {
		// Eureka keeps the newer copy it has and still renews the lease.
		r.log.Warn("registration older than the registered copy; keeping ours",
			"app", in.App, "id", id,
			"incoming_dirty", in.LastDirtyTimestamp, "existing_dirty", existing.holder.LastDirtyTimestamp)
		in = existing.holder.Clone()
	}
	if existing == nil && r.expected > 0 {
		r.expected++
		r.updateThresholdLocked()
	}
	l := &lease{registered: now, duration: int64(in.LeaseInfo.DurationInSecs) * 1000}
	l.lastRenewal.Store(now)
	if existing != nil {
		l.serviceUp = existing.serviceUp
	}
	if in.OverriddenStatus == "" {
		in.OverriddenStatus = eureka.StatusUnknown
	}
	if in.OverriddenStatus != eureka.StatusUnknown {
		if _, ok := r.overrides[id]; !ok {
			r.overrides[id] = in.OverriddenStatus
		}
	}
	if o, ok := r.overrides[id]; ok {
		in.OverriddenStatus = o
	}
	in.Status = r.effectiveStatusLocked(in, existing, replication)
	if in.Status == eureka.StatusUp && l.serviceUp == 0 {
		l.serviceUp = now
	}
	in.ActionType = eureka.ActionAdded
	in.LastUpdatedTimestamp = now
	r.shareLocked(in, existing)
	l.holder = in
	leases := r.apps[in.App]
	if leases == nil {
		leases = make(map[string]*lease)
		r.apps[in.App] = leases
	}
	leases[id] = l
	if existing == nil {
		r.count++
	}
	r.registered = pushEvent(r.registered, Event{At: time.UnixMilli(now), App: in.App, ID: id, Cause: "registered"})
	r.recordLocked(now, in, l)
	return in
}

func pushEvent(ring []Event, e Event) []Event {
	if len(ring) >= recentEvents {
		copy(ring, ring[1:])
		ring = ring[:len(ring)-1]
	}
	return append(ring, e)
}

// RenewArgs are a heartbeat's query parameters.
type RenewArgs struct {
	LastDirtyTimestamp int64         // 0 when absent
	OverriddenStatus   eureka.Status // sent by peers only
	Replication        bool
}

// Renew extends a lease, as PUT /apps/{APP}/{ID} does. It returns ErrNotFound
// when the client must register again (no lease, its status is UNKNOWN, or the
// client holds a newer lastDirtyTimestamp), and ErrConflict with our copy when
// a peer's heartbeat is older than what we hold. app must be upper case.
// A successful renew takes a read lock and stores one integer: it does not
// allocate.
func (r *Registry) Renew(app, id string, args RenewArgs) (*eureka.Instance, error) {
	now := r.nowMs()
	r.mu.RLock()
	l := r.lookupLocked(app, id)
	if l == nil {
		r.mu.RUnlock()
		return nil, ErrNotFound
	}
	h := l.holder
	status := h.Status
	override, hasOverride := r.overrides[id]
	if hasOverride && (status == eureka.StatusUp || status == eureka.StatusOutOfService) {
		status = override
	}
	r.mu.RUnlock()
	if status == eureka.StatusUnknown {
		return nil, ErrNotFound
	}
	if status != h.Status {
		// The override table and the holder disagree (an override arrived
		// without a status change). Eureka fixes the holder silently; we
		// record it as a change so no read is stale.
		r.fixStatus(app, id, h, status)
	}
	r.renewsThisMin.Add(1)
	l.lastRenewal.Store(now)
	r.metrics.renewals.Inc()
	if !args.Replication && r.rep != nil {
		item := eureka.ReplicationInstance{Action: eureka.ActionHeartbeat, AppName: app, ID: id,
			LastDirtyTimestamp: h.LastDirtyTimestamp, Status: status}
		if hasOverride {
			item.OverriddenStatus = override
		}
		r.rep.Replicate(item)
	}
	if args.LastDirtyTimestamp == 0 || !r.cfg.SyncWhenTimestampDiffers {
		return nil, nil
	}
	switch {
	case args.LastDirtyTimestamp > h.LastDirtyTimestamp:
		if args.Replication && args.OverriddenStatus != "" && args.OverriddenStatus != eureka.StatusUnknown {
			r.mu.Lock()
			r.overrides[id] = args.OverriddenStatus
			r.mu.Unlock()
		}
		return nil, ErrNotFound
	case args.LastDirtyTimestamp < h.LastDirtyTimestamp && args.Replication:
		return r.decorate(h, l), ErrConflict
	}
	return nil, nil
}

func (r *Registry) fixStatus(app, id string, seen *eureka.Instance, status eureka.Status) {
	now := r.nowMs()
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lookupLocked(app, id)
	if l == nil || l.holder != seen {
		return
	}
	c := l.holder.Clone()
	c.Status = status
	c.ActionType = eureka.ActionModified
	c.LastUpdatedTimestamp = now
	l.holder = c
	r.recordLocked(now, c, l)
}

// Cancel removes an instance, as DELETE /apps/{APP}/{ID} does.
func (r *Registry) Cancel(app, id string, replication bool) error {
	now := r.nowMs()
	r.mu.Lock()
	ok := r.cancelLocked(now, app, id, "cancelled")
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("cancel %s/%s: %w", app, id, ErrNotFound)
	}
	r.metrics.cancels.Inc()
	if !replication && r.rep != nil {
		r.rep.Replicate(eureka.ReplicationInstance{Action: eureka.ActionCancel, AppName: app, ID: id})
	}
	return nil
}

func (r *Registry) cancelLocked(now int64, app, id, cause string) bool {
	delete(r.overrides, id)
	l := r.lookupLocked(app, id)
	if l == nil {
		return false
	}
	delete(r.apps[app], id)
	if len(r.apps[app]) == 0 {
		delete(r.apps, app)
	}
	r.count--
	l.evicted = now
	c := l.holder.Clone()
	c.ActionType = eureka.ActionDeleted
	c.LastUpdatedTimestamp = now
	l.holder = c
	r.cancelled = pushEvent(r.cancelled, Event{At: time.UnixMilli(now), App: app, ID: id, Cause: cause})
	r.recordLocked(now, c, l)
	if r.expected > 0 {
		r.expected--
		r.updateThresholdLocked()
	}
	return true
}

// SetStatus sets a status override, as PUT /apps/{APP}/{ID}/status does.
// Like Eureka, setting the status an instance already has stores nothing.
func (r *Registry) SetStatus(app, id string, status eureka.Status, lastDirty int64, replication bool) error {
	if err := r.setStatus(app, id, status, lastDirty); err != nil {
		return err
	}
	if !replication && r.rep != nil {
		r.rep.Replicate(eureka.ReplicationInstance{Action: eureka.ActionStatusUpdate, AppName: app, ID: id,
			Status: status, LastDirtyTimestamp: lastDirty})
	}
	return nil
}

func (r *Registry) setStatus(app, id string, status eureka.Status, lastDirty int64) error {
	now := r.nowMs()
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lookupLocked(app, id)
	if l == nil {
		return fmt.Errorf("status %s/%s: %w", app, id, ErrNotFound)
	}
	l.lastRenewal.Store(now)
	if l.holder.Status == status {
		return nil
	}
	if status == eureka.StatusUp && l.serviceUp == 0 {
		l.serviceUp = now
	}
	r.overrides[id] = status
	c := l.holder.Clone()
	c.OverriddenStatus = status
	c.Status = status
	if lastDirty > c.LastDirtyTimestamp {
		c.LastDirtyTimestamp = lastDirty
	}
	c.ActionType = eureka.ActionModified
	c.LastUpdatedTimestamp = now
	l.holder = c
	r.recordLocked(now, c, l)
	return nil
}

// DeleteStatusOverride removes an override and sets the status to status
// (UNKNOWN when the caller gave none, which makes the next heartbeat answer 404
// so the client re-registers with its real status).
func (r *Registry) DeleteStatusOverride(app, id string, status eureka.Status, lastDirty int64, replication bool) error {
	if err := r.deleteStatusOverride(app, id, status, lastDirty); err != nil {
		return err
	}
	if !replication && r.rep != nil {
		r.rep.Replicate(eureka.ReplicationInstance{Action: eureka.ActionDeleteStatusOverride, AppName: app, ID: id,
			Status: status, LastDirtyTimestamp: lastDirty})
	}
	return nil
}

func (r *Registry) deleteStatusOverride(app, id string, status eureka.Status, lastDirty int64) error {
	now := r.nowMs()
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lookupLocked(app, id)
	if l == nil {
		return fmt.Errorf("delete status override %s/%s: %w", app, id, ErrNotFound)
	}
	l.lastRenewal.Store(now)
	if _, had := r.overrides[id]; !had {
		return nil
	}
	delete(r.overrides, id)
	c := l.holder.Clone()
	c.OverriddenStatus = eureka.StatusUnknown
	c.Status = status
	if lastDirty > c.LastDirtyTimestamp {
		c.LastDirtyTimestamp = lastDirty
	}
	c.ActionType = eureka.ActionModified
	c.LastUpdatedTimestamp = now
	l.holder = c
	r.recordLocked(now, c, l)
	return nil
}

// UpdateMetadata merges kv into an instance's metadata and re-registers it,
// as PUT /apps/{APP}/{ID}/metadata does.
func (r *Registry) UpdateMetadata(app, id string, kv map[string]string) error {
	now := r.nowMs()
	r.mu.Lock()
	l := r.lookupLocked(app, id)
	if l == nil {
		r.mu.Unlock()
		return fmt.Errorf("metadata %s/%s: %w", app, id, ErrNotFound)
	}
	c := l.holder.Clone()
	if c.Metadata == nil {
		c.Metadata = make(map[string]string, len(kv))
	}
	for k, v := range kv {
		c.Metadata[k] = v
	}
	stored := r.registerLocked(now, c, false)
	r.mu.Unlock()
	r.replicateRegister(stored)
	return nil
}

// Instance returns a copy of one instance, or ErrNotFound. Leases that have
// expired but are not yet evicted count as absent while expiry is enabled.
func (r *Registry) Instance(app, id string) (*eureka.Instance, error) {
	now := r.nowMs()
	r.mu.RLock()
	defer r.mu.RUnlock()
	l := r.lookupLocked(app, id)
	if l == nil || (r.LeaseExpirationEnabled() && l.expired(now, 0)) {
		return nil, fmt.Errorf("instance %s/%s: %w", app, id, ErrNotFound)
	}
	return r.decorate(l.holder, l), nil
}

// InstanceByID returns the first instance with that id in any application.
func (r *Registry) InstanceByID(id string) (*eureka.Instance, error) {
	now := r.nowMs()
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.apps))
	for name := range r.apps {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if l := r.apps[name][id]; l != nil && !(r.LeaseExpirationEnabled() && l.expired(now, 0)) {
			return r.decorate(l.holder, l), nil
		}
	}
	return nil, fmt.Errorf("instance %s: %w", id, ErrNotFound)
}

// decorate returns a copy of h carrying the lease's timestamps, as Eureka
// writes them on every read. lastRenewalTimestamp is the real time of the last
// renewal (Eureka writes that time plus the lease duration).
func (r *Registry) decorate(h *eureka.Instance, l *lease) *eureka.Instance {
	c := *h
	l.times().decorate(&c)
	return &c
}

// leaseTimes are the lease times a read shows, taken at one moment.
type leaseTimes struct{ registered, lastRenewal, evicted, serviceUp int64 }

// times reads l's times; the caller holds Registry.mu.
func (l *lease) times() leaseTimes {
	return leaseTimes{registered: l.registered, lastRenewal: l.lastRenewal.Load(), evicted: l.evicted, serviceUp: l.serviceUp}
}

// decorate writes t into the copy c.
func (t leaseTimes) decorate(c *eureka.Instance) {
	c.LeaseInfo.RegistrationTimestamp = t.registered
	c.LeaseInfo.LastRenewalTimestamp = t.lastRenewal
	c.LeaseInfo.EvictionTimestamp = t.evicted
	c.LeaseInfo.ServiceUpTimestamp = t.serviceUp
	c.IsCoordinatingDiscoveryServer = false
}

// updateThresholdLocked recomputes the renewal threshold with Eureka's
// formula, int(E × (60 / interval) × percent), in its order of float
// operations, truncated; the 60 is the renewal count window.
func (r *Registry) updateThresholdLocked() {
	perWindow := r.cfg.RenewalCountWindow.Seconds() / r.cfg.ExpectedClientRenewalInterval.Seconds()
	r.threshold.Store(int64(float64(r.expected) * perWindow * r.cfg.RenewalPercentThreshold))
}

// LeaseExpirationEnabled reports whether eviction may run: always without
// self-preservation, else only while the last minute's renewals exceed the
// threshold.
func (r *Registry) LeaseExpirationEnabled() bool {
	if !r.cfg.EnableSelfPreservation {
		return true
	}
	t := r.threshold.Load()
	return t > 0 && r.renewsLastMin.Load() > t
}

// OpenForTraffic starts serving after the start-up sync copied count instances
// from peers. An empty sync counts as DefaultOpenForTrafficCount.
func (r *Registry) OpenForTraffic(count int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if count == 0 {
		count = r.cfg.DefaultOpenForTrafficCount
	}
	r.expected = count
	r.updateThresholdLocked()
	r.transferEmpty = count == 0
	r.opened = r.clock.Now()
	r.lastEviction = r.opened
}

// allowAccess reports whether registry reads are served: not before the
// registry opens (while it syncs from its peers, so nobody mistakes a partial
// registry for the whole), and not during the warm-up window after an empty
// start when DefaultOpenForTrafficCount is 0, as in Eureka.
func (r *Registry) allowAccess() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.opened.IsZero() {
		return false
	}
	if !r.transferEmpty {
		return true
	}
	return r.clock.Now().Sub(r.opened) >= r.cfg.WaitTimeWhenSyncEmpty
}

// rollRenewals moves this minute's renewal count into "last minute".
func (r *Registry) rollRenewals() {
	r.renewsLastMin.Store(r.renewsThisMin.Swap(0))
}

// updateRenewThreshold recounts the expected renewing clients from the
// registry, as Eureka's 15-minute task does: only upwards, or downwards by at
// most 1-RenewalPercentThreshold of the estimate, unless self-preservation is off.
func (r *Registry) updateRenewThreshold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.cfg.EnableSelfPreservation || float64(r.count) > r.cfg.RenewalPercentThreshold*float64(r.expected) {
		r.expected = r.count
		r.updateThresholdLocked()
	}
}

// trimDeltas drops changes older than the delta retention time.
func (r *Registry) trimDeltas() {
	cut := r.nowMs() - r.cfg.DeltaRetention.Milliseconds()
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for n < len(r.changes) && r.changes[n].at < cut {
		n++
	}
	if n == 0 {
		return
	}
	kept := copy(r.changes, r.changes[n:])
	// Clear the tail so that it does not keep old copies alive.
	clear(r.changes[kept:])
	r.changes = r.changes[:kept]
	// Only the delta document changes: the full and application documents
	// stay cached.
	r.trims.Add(1)
}

// evict removes expired leases, as Eureka's eviction task does. It returns how
// many it removed. The time since the previous run beyond the eviction
// interval is added to every lease (so a paused process does not expire the
// fleet), and one run removes at most the unprotected share of the registry
// (1-RenewalPercentThreshold), picked at random so no single app is wiped out.
func (r *Registry) evict() int {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var extra time.Duration
	if !r.lastEviction.IsZero() {
		if d := now.Sub(r.lastEviction) - r.cfg.EvictionInterval; d > 0 {
			extra = d
		}
	}
	r.lastEviction = now
	if !r.LeaseExpirationEnabled() {
		return 0
	}
	ms := now.UnixMilli()
	type key struct{ app, id string }
	var expired []key
	for app, leases := range r.apps {
		for id, l := range leases {
			if l.expired(ms, extra.Milliseconds()) {
				expired = append(expired, key{app, id})
			}
		}
	}
	limit := r.count - int(float64(r.count)*r.cfg.RenewalPercentThreshold)
	n := min(len(expired), limit)
	for i := range n {
		j := i + rand.IntN(len(expired)-i)
		expired[i], expired[j] = expired[j], expired[i]
		k := expired[i]
		r.log.Info("evicting expired lease", "app", k.app, "id", k.id)
		r.cancelLocked(ms, k.app, k.id, "evicted")
	}
	if n < len(expired) {
		r.log.Warn("eviction capped; the rest wait for the next run", "expired", len(expired), "evicted", n)
	}
	r.metrics.evictions.Add(float64(n))
	return n
}

// Current returns the stored copy of an instance, expired or not, or nil.
// The result is shared and must not be modified. Peers use it to answer a
// peer's 404 with a fresh registration.
func (r *Registry) Current(app, id string) *eureka.Instance {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if l := r.lookupLocked(app, id); l != nil {
		return l.holder
	}
	return nil
}

// Opened reports whether the registry has opened for traffic (its start-up
// sync is over).
func (r *Registry) Opened() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return !r.opened.IsZero()
}

// Metrics returns the registry's Prometheus registry, on which peers and the
// process register their own metrics.
func (r *Registry) Metrics() *prometheus.Registry { return r.metrics.reg }
