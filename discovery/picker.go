package discovery

import (
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/switchboard-dev/switchboard/eureka"
)

// A Picker chooses one of an application's UP instances, or returns nil for
// an empty list. Pick is called concurrently; a Picker keeps its own state in
// atomics, by instance id where it tracks instances, so that state survives
// each new registry snapshot. Pick must not modify the slice.
type Picker interface {
	Pick(instances []*eureka.Instance) *eureka.Instance
}

// RoundRobin picks the instances in turn, as Spring Cloud LoadBalancer's
// default does. Its zero value is ready and starts at the first instance;
// the Client's lists come shuffled, so clients do not all start at the same
// one. Use one RoundRobin per application. It is safe for concurrent use and
// Pick does not allocate.
type RoundRobin struct {
	next atomic.Uint64
}

// Pick returns the next instance in turn.
func (r *RoundRobin) Pick(instances []*eureka.Instance) *eureka.Instance {
	switch len(instances) {
	case 0:
		return nil
	case 1:
		return instances[0]
	}
	n := r.next.Add(1) - 1
	return instances[n%uint64(len(instances))]
}

// Random picks an instance uniformly at random. It has no state, is safe for
// concurrent use, and Pick does not allocate.
type Random struct{}

// Pick returns a random instance.
func (Random) Pick(instances []*eureka.Instance) *eureka.Instance {
	if len(instances) == 0 {
		return nil
	}
	return instances[rand.IntN(len(instances))]
}

// maxWeight caps one instance's weight so that sums cannot overflow.
const maxWeight = 1 << 24

// Weighted returns a Picker that chooses instances at random in proportion to
// the integer weight in their metadata under metadataKey ("weight" when
// empty). As in Spring Cloud LoadBalancer's weighted supplier, a missing,
// unparsable or non-positive weight counts as 1. The Picker is safe for
// concurrent use and its Pick does not allocate.
func Weighted(metadataKey string) Picker {
	if metadataKey == "" {
		metadataKey = "weight"
	}
	return weighted{key: metadataKey}
}

type weighted struct{ key string }

func (w weighted) Pick(instances []*eureka.Instance) *eureka.Instance {
	switch len(instances) {
	case 0:
		return nil
	case 1:
		return instances[0]
	}
	var total int64
	for _, in := range instances {
		total += w.weight(in)
	}
	r := rand.Int64N(total)
	for _, in := range instances {
		if r -= w.weight(in); r < 0 {
			return in
		}
	}
	return instances[len(instances)-1]
}

// weight parses the weight by hand: strconv's errors allocate, and most
// instances carry no weight at all.
func (w weighted) weight(in *eureka.Instance) int64 {
	s := strings.TrimPrefix(in.Metadata[w.key], "+")
	if s == "" {
		return 1
	}
	var n int64
	for i := range len(s) {
		c := s[i]
		if c < '0' || c > '9' {
			return 1
		}
		if n < maxWeight {
			n = n*10 + int64(c-'0')
		}
	}
	return max(1, min(n, maxWeight))
}

// ZonePreference returns a Picker that passes fallback only the instances
// whose metadata under metadataKey ("zone" when empty) equals zone, ignoring
// case, or every instance when none is in the zone or zone is empty, as
// Spring Cloud LoadBalancer's zone-preference supplier does. fallback nil
// means a new RoundRobin.
//
// It remembers the in-zone instances of the last list it saw, so a Pick on
// the same list again (the Client hands out the same immutable slice until
// the registry changes) does not allocate. The Picker is safe for concurrent
// use; lists passed to Pick must not be changed afterwards.
func ZonePreference(zone, metadataKey string, fallback Picker) Picker {
	if metadataKey == "" {
		metadataKey = "zone"
	}
	if fallback == nil {
		fallback = &RoundRobin{}
	}
	return &zonePreference{zone: zone, key: metadataKey, next: fallback}
}

type zonePreference struct {
	zone, key string
	next      Picker
	last      atomic.Pointer[zoneView]
}

// zoneView is the in-zone part of one input list, identified by its backing
// array, length and end elements.
type zoneView struct {
	first       **eureka.Instance
	n           int
	head, tail  *eureka.Instance
	inZone      []*eureka.Instance
	noneInZones bool
}

func (z *zonePreference) Pick(instances []*eureka.Instance) *eureka.Instance {
	if len(instances) == 0 {
		return nil
	}
	if z.zone == "" {
		return z.next.Pick(instances)
	}
	v := z.last.Load()
	if v == nil || v.first != &instances[0] || v.n != len(instances) ||
		v.head != instances[0] || v.tail != instances[len(instances)-1] {
		v = z.view(instances)
		z.last.Store(v)
	}
	if v.noneInZones {
		return z.next.Pick(instances)
	}
	return z.next.Pick(v.inZone)
}

func (z *zonePreference) view(instances []*eureka.Instance) *zoneView {
	v := &zoneView{first: &instances[0], n: len(instances), head: instances[0], tail: instances[len(instances)-1]}
	for _, in := range instances {
		if strings.EqualFold(in.Metadata[z.key], z.zone) {
			v.inZone = append(v.inZone, in)
		}
	}
	v.noneInZones = len(v.inZone) == 0
	return v
}

// LeastOutstanding picks the instance with the fewest requests in flight,
// breaking ties at random. Callers report requests with Start. Counts are
// kept by instance id, so they survive registry changes. Its zero value is
// ready; it is safe for concurrent use, and Pick does not allocate.
type LeastOutstanding struct {
	counts atomic.Pointer[map[string]*inflight] // replaced, never changed, when an id is added

	mu    sync.Mutex // guards limit and serialises replacing counts
	limit int        // map size at which idle, unused counters are dropped
}

// inflight is one instance's count of requests in flight.
type inflight struct {
	n    atomic.Int64
	used atomic.Bool // Start ran since the last prune
}

// Pick returns an instance with the fewest requests in flight.
func (l *LeastOutstanding) Pick(instances []*eureka.Instance) *eureka.Instance {
	var counts map[string]*inflight
	if p := l.counts.Load(); p != nil {
		counts = *p
	}
	var best *eureka.Instance
	var bestN int64
	ties := 0
	for _, in := range instances {
		var n int64
		if c := counts[in.ID()]; c != nil {
			n = c.n.Load()
		}
		switch {
		case best == nil || n < bestN:
			best, bestN, ties = in, n, 1
		case n == bestN:
			ties++
			if rand.IntN(ties) == 0 {
				best = in
			}
		}
	}
	return best
}

// Start counts one request to in as in flight until done is called. Call
// done exactly once, when the response is complete.
func (l *LeastOutstanding) Start(in *eureka.Instance) (done func()) {
	c := l.counter(in.ID())
	c.used.Store(true)
	c.n.Add(1)
	return func() { c.n.Add(-1) }
}

// minPruneSize is the map size below which counters are never dropped.
const minPruneSize = 64

// counter returns the in-flight counter of id, adding one if needed by
// copying the map. When the map has doubled since the last prune, the copy
// leaves out counters that are idle and were not started since that prune,
// so ids of instances long gone do not pile up while the cost stays
// amortised. A request started on a counter at the moment it is dropped
// goes uncounted until it ends: a rare, harmless undercount.
func (l *LeastOutstanding) counter(id string) *inflight {
	if p := l.counts.Load(); p != nil {
		if c := (*p)[id]; c != nil {
			return c
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var old map[string]*inflight
	if p := l.counts.Load(); p != nil {
		old = *p
		if c := old[id]; c != nil {
			return c
		}
	}
	next := make(map[string]*inflight, len(old)+1)
	prune := len(old) >= max(l.limit, minPruneSize)
	for k, c := range old {
		if prune {
			if !c.used.Swap(false) && c.n.Load() == 0 {
				continue
			}
		}
		next[k] = c
	}
	if prune {
		l.limit = 2 * len(next)
	}
	c := new(inflight)
	next[id] = c
	l.counts.Store(&next)
	return c
}
