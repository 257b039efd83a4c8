package discovery

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/switchboard-dev/switchboard/eureka"
)

// snapshot is one immutable version of the local registry. The fetch loop
// builds a new one for every change and publishes it; readers load it once
// and never lock.
type snapshot struct {
	synced bool                                   // a full fetch has succeeded
	all    map[string]map[string]*eureka.Instance // app -> instance id -> instance, every status
	hash   string                                 // apps__hashcode of all

	apps   *eureka.Applications          // all, sorted, for Applications
	byApp  map[string][]*eureka.Instance // app -> lookup view
	byVIP  map[string][]*eureka.Instance // upper-cased VIP -> lookup view
	bySVIP map[string][]*eureka.Instance // upper-cased secure VIP -> lookup view

	changed chan struct{} // closed when a newer snapshot replaces this one
}

func emptySnapshot() *snapshot {
	return &snapshot{
		all:     map[string]map[string]*eureka.Instance{},
		apps:    &eureka.Applications{VersionsDelta: -1},
		changed: make(chan struct{}),
	}
}

// fromFull indexes a full registry document. Applications are keyed by upper
// case name, which is what Eureka sends; instances by id.
func fromFull(doc *eureka.Applications) map[string]map[string]*eureka.Instance {
	all := make(map[string]map[string]*eureka.Instance, len(doc.Applications))
	for _, a := range doc.Applications {
		for _, in := range a.Instances {
			if in == nil {
				continue
			}
			app := appKey(a, in)
			m := all[app]
			if m == nil {
				m = make(map[string]*eureka.Instance, len(a.Instances))
				all[app] = m
			}
			m[in.ID()] = in
		}
	}
	return all
}

// appKey is the application an instance belongs to in the local registry.
func appKey(a *eureka.Application, in *eureka.Instance) string {
	if in.App != "" {
		return strings.ToUpper(in.App)
	}
	return strings.ToUpper(a.Name)
}

// applyDelta applies a delta to all the way the Java client does (§6.3):
// ADDED and MODIFIED insert or replace by instance id, DELETED removes by id.
// Maps of applications the delta does not touch are shared with all. It
// returns nil when nothing changed, which is common: a delta repeats the
// last three minutes of changes at every fetch.
func applyDelta(all map[string]map[string]*eureka.Instance, delta *eureka.Applications) map[string]map[string]*eureka.Instance {
	var next map[string]map[string]*eureka.Instance
	copied := map[string]bool{}
	// edit returns next's own map for app, copying the old one on first use.
	edit := func(app string) map[string]*eureka.Instance {
		if next == nil {
			next = maps.Clone(all)
		}
		if !copied[app] {
			copied[app] = true
			m := maps.Clone(next[app])
			if m == nil {
				m = make(map[string]*eureka.Instance)
			}
			next[app] = m
		}
		return next[app]
	}
	cur := func(app string) map[string]*eureka.Instance {
		if next != nil {
			return next[app]
		}
		return all[app]
	}
	for _, a := range delta.Applications {
		for _, in := range a.Instances {
			if in == nil {
				continue
			}
			app, id := appKey(a, in), in.ID()
			old, ok := cur(app)[id]
			if in.ActionType == eureka.ActionDeleted {
				if ok {
					delete(edit(app), id)
				}
				continue
			}
			if ok && sameInstance(old, in) {
				continue
			}
			edit(app)[id] = in
		}
	}
	if next != nil {
		for app := range copied {
			if len(next[app]) == 0 {
				delete(next, app)
			}
		}
	}
	return next
}

// sameIndex reports whether two indexes hold the same instances.
func sameIndex(a, b map[string]map[string]*eureka.Instance) bool {
	return maps.EqualFunc(a, b, func(x, y map[string]*eureka.Instance) bool {
		return maps.EqualFunc(x, y, sameInstance)
	})
}

// sameInstance reports whether a and b describe the instance the same way.
// Lease timestamps and the action type are left out: they change with every
// heartbeat or delta and say nothing about where to send traffic.
func sameInstance(a, b *eureka.Instance) bool {
	if a == b {
		return true
	}
	return a.InstanceID == b.InstanceID && a.HostName == b.HostName && a.App == b.App &&
		a.IPAddr == b.IPAddr && a.Sid == b.Sid && a.Status == b.Status &&
		a.OverriddenStatus == b.OverriddenStatus && a.Port == b.Port && a.SecurePort == b.SecurePort &&
		a.CountryID == b.CountryID && a.DataCenterInfo.Class == b.DataCenterInfo.Class &&
		a.DataCenterInfo.Name == b.DataCenterInfo.Name &&
		maps.Equal(a.DataCenterInfo.Metadata, b.DataCenterInfo.Metadata) &&
		maps.Equal(a.Metadata, b.Metadata) && a.AppGroupName == b.AppGroupName &&
		a.HomePageURL == b.HomePageURL && a.StatusPageURL == b.StatusPageURL &&
		a.HealthCheckURL == b.HealthCheckURL && a.SecureHealthCheckURL == b.SecureHealthCheckURL &&
		a.VIPAddress == b.VIPAddress && a.SecureVIPAddress == b.SecureVIPAddress &&
		a.IsCoordinatingDiscoveryServer == b.IsCoordinatingDiscoveryServer &&
		a.LastUpdatedTimestamp == b.LastUpdatedTimestamp && a.LastDirtyTimestamp == b.LastDirtyTimestamp &&
		a.ASGName == b.ASGName
}

// newSnapshot builds the lookup views of all. upOnly keeps only UP instances
// in them; each view is shuffled, as the Java client shuffles its lists.
func newSnapshot(all map[string]map[string]*eureka.Instance, version int64, upOnly bool) *snapshot {
	s := &snapshot{
		synced:  true,
		all:     all,
		apps:    &eureka.Applications{VersionsDelta: version},
		byApp:   make(map[string][]*eureka.Instance, len(all)),
		byVIP:   make(map[string][]*eureka.Instance),
		bySVIP:  make(map[string][]*eureka.Instance),
		changed: make(chan struct{}),
	}
	for _, app := range slices.Sorted(maps.Keys(all)) {
		m := all[app]
		a := &eureka.Application{Name: app, Instances: make([]*eureka.Instance, 0, len(m))}
		for _, id := range slices.Sorted(maps.Keys(m)) {
			a.Instances = append(a.Instances, m[id])
		}
		s.apps.Applications = append(s.apps.Applications, a)
		var view []*eureka.Instance
		for _, in := range a.Instances {
			if upOnly && in.Status != eureka.StatusUp {
				continue
			}
			view = append(view, in)
			addVIPs(s.byVIP, in.VIPAddress, in)
			addVIPs(s.bySVIP, in.SecureVIPAddress, in)
		}
		if len(view) > 0 {
			shuffle(view)
			s.byApp[app] = view
		}
	}
	for _, v := range s.byVIP {
		shuffle(v)
	}
	for _, v := range s.bySVIP {
		shuffle(v)
	}
	s.hash = s.apps.Hash()
	s.apps.AppsHashcode = s.hash
	return s
}

// addVIPs indexes in under each name of a comma-separated VIP list, upper
// cased as the Java client keys them.
func addVIPs(index map[string][]*eureka.Instance, list string, in *eureka.Instance) {
	for name := range strings.SplitSeq(list, ",") {
		if name = strings.ToUpper(strings.TrimSpace(name)); name != "" {
			index[name] = append(index[name], in)
		}
	}
}

func shuffle(v []*eureka.Instance) {
	rand.Shuffle(len(v), func(i, j int) { v[i], v[j] = v[j], v[i] })
}
