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
// and never lock. A change rebuilds only the applications it touches: the
// others' entries, and the VIP views only they make up, are shared with the
// snapshot before, and so are the shards of the tables that hold them. A
// change costs what it touches plus a copy of the list of applications, not
// a pass over every instance.
type snapshot struct {
	synced bool             // a full fetch has succeeded
	apps   table[*appEntry] // upper-case app name -> its instances and views
	counts statusCounts     // instances per status over every application
	hash   string           // apps__hashcode of every instance

	doc    *eureka.Applications // every application, sorted, for Applications
	byVIP  vipIndex             // upper-cased VIP -> lookup view
	bySVIP vipIndex             // upper-cased secure VIP -> lookup view

	changed chan struct{} // closed when a newer snapshot replaces this one
}

// appEntry is one application in a snapshot. It is immutable and shared by
// every snapshot until a change touches the application.
type appEntry struct {
	instances map[string]*eureka.Instance // id -> instance, every status
	doc       *eureka.Application         // instances sorted by id, for Applications
	view      []*eureka.Instance          // lookup view: UP only if so configured, shuffled
	counts    statusCounts

	// The view's instances under each upper-cased VIP and secure VIP they
	// list, each shuffled.
	vips, svips map[string][]*eureka.Instance
}

// statusCounts counts instances by status, in the order of eureka.Statuses;
// the last element counts any other status, which the hash leaves out.
type statusCounts [len(eureka.Statuses) + 1]int

func statusIndex(s eureka.Status) int {
	for i, known := range eureka.Statuses {
		if s == known {
			return i
		}
	}
	return len(eureka.Statuses)
}

// hash returns apps__hashcode for the counts.
func (c *statusCounts) hash() string {
	m := make(map[eureka.Status]int, len(eureka.Statuses))
	for i, s := range eureka.Statuses {
		m[s] = c[i]
	}
	return eureka.HashCode(m)
}

// vipIndex finds the lookup view's instances by VIP name.
type vipIndex struct {
	views  table[[]*eureka.Instance] // name -> instances, shuffled; read by lookups
	owners table[[]string]           // name -> applications with instances under it, sorted
}

// lookup returns the instances under the upper-case name.
func (x *vipIndex) lookup(name string) []*eureka.Instance {
	v, _ := x.views.get(name)
	return v
}

func emptySnapshot() *snapshot {
	return &snapshot{
		doc:     &eureka.Applications{VersionsDelta: -1},
		changed: make(chan struct{}),
	}
}

// view returns the lookup view of app, an upper-case name.
func (s *snapshot) view(app string) []*eureka.Instance {
	if e, _ := s.apps.get(app); e != nil {
		return e.view
	}
	return nil
}

// instances returns app's instances by id, or nil.
func (s *snapshot) instances(app string) map[string]*eureka.Instance {
	if e, _ := s.apps.get(app); e != nil {
		return e.instances
	}
	return nil
}

// edits are what a document changes in the local registry: for each
// application it touches, all of the application's instances afterwards,
// by id (none when it has no instances left).
type edits map[string]map[string]*eureka.Instance

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

// deltaEdits returns what delta changes in s, applying it the way the Java
// client does (§6.3): ADDED and MODIFIED insert or replace by instance id,
// DELETED removes by id. It is empty when nothing changed, which is common:
// Eureka's delta repeats the last three minutes of changes at every fetch.
func (s *snapshot) deltaEdits(delta *eureka.Applications) edits {
	e := edits{}
	for _, a := range delta.Applications {
		for _, in := range a.Instances {
			if in == nil {
				continue
			}
			app, id := appKey(a, in), in.ID()
			m, copied := e[app]
			if !copied {
				m = s.instances(app)
			}
			old, ok := m[id]
			if in.ActionType == eureka.ActionDeleted {
				if !ok {
					continue
				}
			} else if ok && sameInstance(old, in) {
				continue
			}
			if !copied {
				m = maps.Clone(m)
				if m == nil {
					m = make(map[string]*eureka.Instance)
				}
				e[app] = m
			}
			if in.ActionType == eureka.ActionDeleted {
				delete(m, id)
			} else {
				m[id] = in
			}
		}
	}
	return e
}

// fullEdits returns what replacing s by the full registry all changes:
// applications whose instances differ, appear or disappear.
func (s *snapshot) fullEdits(all map[string]map[string]*eureka.Instance) edits {
	e := edits{}
	for app, m := range all {
		if !maps.EqualFunc(s.instances(app), m, sameInstance) {
			e[app] = m
		}
	}
	for app := range s.apps.all() {
		if _, ok := all[app]; !ok {
			e[app] = nil
		}
	}
	return e
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

// newSnapshot builds a snapshot of all from nothing. upOnly keeps only UP
// instances in the lookup views; each view is shuffled, as the Java client
// shuffles its lists.
func newSnapshot(all map[string]map[string]*eureka.Instance, version int64, upOnly bool) *snapshot {
	return emptySnapshot().next(edits(all), version, upOnly)
}

// next returns the snapshot after e: the applications e names are rebuilt,
// every other one is shared with s, and so are the VIP views only untouched
// applications make up. The result is synced; s is not changed.
func (s *snapshot) next(e edits, version int64, upOnly bool) *snapshot {
	n := &snapshot{
		synced:  true,
		counts:  s.counts,
		changed: make(chan struct{}),
	}
	names := slices.Sorted(maps.Keys(e))
	apps := s.apps.edit()
	for _, app := range names {
		if old, _ := s.apps.get(app); old != nil {
			for i, c := range old.counts {
				n.counts[i] -= c
			}
		}
		if len(e[app]) == 0 {
			apps.delete(app)
			continue
		}
		entry := newAppEntry(app, e[app], upOnly)
		for i, c := range entry.counts {
			n.counts[i] += c
		}
		apps.set(app, entry)
	}
	n.apps = apps.done()
	n.hash = n.counts.hash()
	n.doc = s.nextDoc(&n.apps, names, version)
	n.doc.AppsHashcode = n.hash
	n.byVIP = s.byVIP.next(&s.apps, &n.apps, names, func(e *appEntry) map[string][]*eureka.Instance { return e.vips })
	n.bySVIP = s.bySVIP.next(&s.apps, &n.apps, names, func(e *appEntry) map[string][]*eureka.Instance { return e.svips })
	return n
}

// newAppEntry builds the entry of app from its instances.
func newAppEntry(app string, m map[string]*eureka.Instance, upOnly bool) *appEntry {
	e := &appEntry{instances: m, doc: &eureka.Application{Name: app, Instances: make([]*eureka.Instance, 0, len(m))}}
	for _, id := range slices.Sorted(maps.Keys(m)) {
		e.doc.Instances = append(e.doc.Instances, m[id])
	}
	for _, in := range e.doc.Instances {
		e.counts[statusIndex(in.Status)]++
		if upOnly && in.Status != eureka.StatusUp {
			continue
		}
		e.view = append(e.view, in)
		e.vips = addVIPs(e.vips, in.VIPAddress, in)
		e.svips = addVIPs(e.svips, in.SecureVIPAddress, in)
	}
	shuffle(e.view)
	for _, v := range e.vips {
		shuffle(v)
	}
	for _, v := range e.svips {
		shuffle(v)
	}
	return e
}

// nextDoc returns the Applications document over apps, which differ from
// s's in the applications named by changed (sorted): s's list merged with
// the changed applications' new documents.
func (s *snapshot) nextDoc(apps *table[*appEntry], changed []string, version int64) *eureka.Applications {
	old := s.doc.Applications
	list := make([]*eureka.Application, 0, apps.len())
	for _, app := range changed {
		i, found := slices.BinarySearchFunc(old, app, func(a *eureka.Application, name string) int {
			return strings.Compare(a.Name, name)
		})
		list = append(list, old[:i]...)
		if found {
			i++
		}
		old = old[i:]
		if e, _ := apps.get(app); e != nil {
			list = append(list, e.doc)
		}
	}
	list = append(list, old...)
	return &eureka.Applications{VersionsDelta: version, Applications: list}
}

// next returns the index over the entries apps, which differ from before in
// the applications named by changed (sorted). Only the names those
// applications had or have are rebuilt; a name that belongs to one
// application shares its entry's list.
func (x vipIndex) next(before, apps *table[*appEntry], changed []string, names func(*appEntry) map[string][]*eureka.Instance) vipIndex {
	touched := map[string]bool{}
	joined := map[string][]string{} // name -> changed applications that have it now
	for _, app := range changed {
		if e, _ := before.get(app); e != nil {
			for name := range names(e) {
				touched[name] = true
			}
		}
		if e, _ := apps.get(app); e != nil {
			for name := range names(e) {
				touched[name] = true
				joined[name] = append(joined[name], app)
			}
		}
	}
	if len(touched) == 0 {
		return x
	}
	views, owners := x.views.edit(), x.owners.edit()
	for name := range touched {
		was, _ := x.owners.get(name)
		var now []string
		for _, app := range was {
			if _, found := slices.BinarySearch(changed, app); !found {
				now = append(now, app)
			}
		}
		now = append(now, joined[name]...)
		slices.Sort(now)
		switch len(now) {
		case 0:
			views.delete(name)
		case 1:
			e, _ := apps.get(now[0])
			views.set(name, names(e)[name])
		default:
			var list []*eureka.Instance
			for _, app := range now {
				e, _ := apps.get(app)
				list = append(list, names(e)[name]...)
			}
			shuffle(list)
			views.set(name, list)
		}
		switch {
		case slices.Equal(now, was):
		case len(now) == 0:
			owners.delete(name)
		default:
			owners.set(name, now)
		}
	}
	return vipIndex{views: views.done(), owners: owners.done()}
}

// addVIPs indexes in under each name of a comma-separated VIP list, upper
// cased as the Java client keys them, and returns the index.
func addVIPs(index map[string][]*eureka.Instance, list string, in *eureka.Instance) map[string][]*eureka.Instance {
	for name := range strings.SplitSeq(list, ",") {
		if name = strings.ToUpper(strings.TrimSpace(name)); name != "" {
			if index == nil {
				index = make(map[string][]*eureka.Instance, 1)
			}
			index[name] = append(index[name], in)
		}
	}
	return index
}

func shuffle(v []*eureka.Instance) {
	rand.Shuffle(len(v), func(i, j int) { v[i], v[j] = v[j], v[i] })
}
