package registry

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
)

// Switchboard extends Eureka's API for clients that follow the registry
// closely. Eureka's own clients never use these and keep polling.
//
//	GET /eureka/watch?version=V[&wait=30s]
//
// answers as soon as the registry version differs from V, or after wait
// (default 30 s, at most 5 minutes) with the version unchanged. The body is
// {"version":"N"}; the same N is in the X-Registry-Version header, which every
// registry document also carries. A client that sees a new version fetches
// the delta since the version it has:
//
//	GET /eureka/apps/delta?since=V[&epoch=E]
//
// answers with only the changes after version V: Eureka's delta document,
// the latest change of each instance, in JSON or XML and gzipped as for
// /apps/delta, with versions__delta and X-Registry-Version set to the version
// it was taken at and apps__hashcode of the whole registry at that version,
// so the client still reconciles by hash. Without since, /apps/delta is
// Eureka's: every change of the retention time. Versions count from zero at
// each start and differ from node to node, so each document, watch answer
// and delta names the run that numbered it in X-Registry-Epoch; a client
// sends that back as epoch. The answers:
//
//	200  the delta since V
//	400  since is not a version number
//	403  as for /apps/delta: deltas disabled, or warming up
//	409  V is not a version of this run: epoch names another run or node, or
//	     V is beyond the current version (the registry restarted)
//	410  changes after V have left the delta queue (eureka.server.
//	     retention-time-in-m-s-in-delta-queue, 3 minutes by default)
//
// After a 409 or a 410 the client fetches /apps in full.
//
// The delta is a parameter of /apps/delta rather than part of the watch
// answer. That way the watch stays a small notification any number of
// clients can hold open, while the delta gets the document shape, content
// negotiation, gzip, access rules and metrics that /apps/delta already has;
// a client that polls, or missed a watch answer, can ask for it too; and a
// Eureka server, which ignores the parameter, answers with its usual delta,
// which a client applies the same way. The cost is one more request on a
// kept-alive connection after each watch answer.
const (
	defaultWatchWait = 30 * time.Second
	maxWatchWait     = 5 * time.Minute
)

// versionHeader carries the registry version on documents and watch answers.
const versionHeader = "X-Registry-Version"

// epochHeader names the registry run that numbered versionHeader.
const epochHeader = "X-Registry-Epoch"

// Errors of a delta since a version; statusFor maps them to 410 and 409.
var (
	errSinceTrimmed = errors.New("changes after it have left the delta queue; fetch /apps in full")
	errSinceForeign = errors.New("not a version of this registry's run; fetch /apps in full")
)

// epoch names this run of the registry: its start time in nanoseconds, which
// differs between two runs and, in practice, between two nodes.
func (r *Registry) epoch() string {
	return strconv.FormatInt(r.started.UnixNano(), 36)
}

func (r *Registry) serveWatch(w http.ResponseWriter, req *http.Request) int {
	raw := req.URL.RawQuery
	var since uint64
	if v, ok := queryValue(raw, "version"); ok && v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return r.writeError(w, req, badInput("version %q is not a registry version", v))
		}
		since = n
	}
	wait := defaultWatchWait
	if v, ok := queryValue(raw, "wait"); ok && v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return r.writeError(w, req, badInput("wait %q is not a duration such as 30s", v))
		}
		wait = min(d, maxWatchWait)
	}
	version, changed := r.Version()
	if version == since {
		timer := time.NewTimer(wait)
		select {
		case <-changed:
		case <-timer.C:
		case <-req.Context().Done():
			timer.Stop()
			return 499
		}
		timer.Stop()
		version, _ = r.Version()
	}
	v := strconv.FormatUint(version, 10)
	w.Header()["Content-Type"] = contentJSON
	w.Header().Set(versionHeader, v)
	w.Header().Set(epochHeader, r.epoch())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(`{"version":"` + v + `"}`))
	return http.StatusOK
}

// serveDeltaSince answers /apps/delta?since=V, with sinceText the raw V.
func (r *Registry) serveDeltaSince(w http.ResponseWriter, req *http.Request, d *sinceDeltas, sinceText string) int {
	if !r.allowAccess() {
		return r.writeError(w, req, ErrWarmingUp)
	}
	since, err := strconv.ParseUint(sinceText, 10, 64)
	if err != nil {
		return r.writeError(w, req, badInput("since %q is not a registry version", sinceText))
	}
	epoch := r.epoch()
	if e, ok := queryValue(req.URL.RawQuery, "epoch"); ok && e != "" && e != epoch {
		return r.writeError(w, req, fmt.Errorf("epoch %q: this registry's is %q: %w", e, epoch, errSinceForeign))
	}
	sd, err := d.delta(r, since)
	if err != nil {
		return r.writeError(w, req, err)
	}
	json := wantsJSON(req.Header.Get("Accept"))
	gz := strings.Contains(req.Header.Get("Accept-Encoding"), "gzip")
	body := sd.body(json, gz)
	h := w.Header()
	setDocHeaders(h, json, gz, sd.version, epoch)
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return http.StatusOK
}

// sinceDeltas builds the deltas since a version. Each handler owns one; it is
// safe for concurrent use.
//
// A delta's apps__hashcode counts the whole registry by status, which takes
// tens of milliseconds at 100,000 instances. So sinceDeltas keeps the status
// of every instance, as of version at, and moves it forward along the
// registry's change log: a delta then costs what changed since at and since
// the client's version, not the size of the registry. Instances are keyed by
// a 64-bit hash of application and id, so the table takes about 24 bytes an
// instance (2.4 MB at 100,000) and keeps no strings of the registry alive.
// (Two instances would have to share a hash to miscount: at a million
// instances the odds are about one in 40 million, and a miscount shows as a
// hash mismatch, after which clients fetch in full.) Deltas are built once per
// registry version and since, and shared by the clients that ask for the
// same; they are encoded outside the locks.
type sinceDeltas struct {
	seed maphash.Seed

	mu       sync.Mutex                    // guards the fields below
	statuses map[uint64]uint8              // instance -> status, as an index into eureka.Statuses (other: len)
	counts   [len(eureka.Statuses) + 1]int // instances per status index
	at       uint64                        // the version statuses and counts reflect
	docs     map[uint64]*sinceDoc          // deltas at version at, by since
}

func newSinceDeltas() *sinceDeltas { return &sinceDeltas{seed: maphash.MakeSeed()} }

// sinceDoc is one delta since a version, and its encodings, built on first use.
type sinceDoc struct {
	version uint64 // the registry version the delta brings a client to
	doc     *eureka.Applications
	bodies  [4]struct {
		once sync.Once
		b    []byte
	} // JSON and XML, each plain and gzipped
}

func (sd *sinceDoc) body(json, gz bool) []byte {
	i := 0
	if json {
		i = 2
	}
	if gz {
		i++
	}
	e := &sd.bodies[i]
	e.once.Do(func() {
		if gz {
			e.b = gzipped(sd.body(json, false))
			return
		}
		b := make([]byte, 0, 256+1500*countInstances(sd.doc))
		if json {
			e.b = eureka.AppendApplicationsJSON(b, sd.doc)
		} else {
			e.b = eureka.AppendApplicationsXML(b, sd.doc)
		}
	})
	return e.b
}

func countInstances(doc *eureka.Applications) int {
	n := 0
	for _, a := range doc.Applications {
		n += len(a.Instances)
	}
	return n
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/4 + 64)
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// delta returns the delta of r since version since, taken at r's current
// version, or an error that says why there is none.
//
// It relies on how Registry keeps its change log: every change bumps the
// version by one and appends one entry, and trims drop entries from the
// front only. The last entry is therefore version r.version, and the log
// holds versions r.version-len(r.changes)+1 to r.version.
func (d *sinceDeltas) delta(r *Registry, since uint64) (*sinceDoc, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r.mu.RLock()
	defer r.mu.RUnlock()
	version := r.version
	first := version - uint64(len(r.changes)) // the version just before the oldest change kept
	switch {
	case since > version:
		return nil, fmt.Errorf("since %d: this registry is at version %d: %w", since, version, errSinceForeign)
	case since < first:
		return nil, fmt.Errorf("since %d: %w", since, errSinceTrimmed)
	}
	d.advanceLocked(r, first)
	if sd := d.docs[since]; sd != nil {
		return sd, nil
	}
	sd := &sinceDoc{version: version, doc: d.collectLocked(r, r.changes[since-first:])}
	if d.docs == nil {
		d.docs = make(map[uint64]*sinceDoc)
	}
	d.docs[since] = sd
	return sd, nil
}

func (d *sinceDeltas) key(app, id string) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteString(app)
	h.WriteByte(0)
	h.WriteString(id)
	return h.Sum64()
}

func statusIndex(s eureka.Status) uint8 {
	for i, known := range eureka.Statuses {
		if s == known {
			return uint8(i)
		}
	}
	return uint8(len(eureka.Statuses))
}

// advanceLocked brings statuses and counts to r's current version: from the
// change log when it still holds every change since at, otherwise by counting
// the registry again. The caller holds d.mu and r.mu for reading; first is
// the version just before the oldest change in the log.
func (d *sinceDeltas) advanceLocked(r *Registry, first uint64) {
	if d.statuses != nil && d.at == r.version {
		return
	}
	clear(d.docs)
	if d.statuses == nil || d.at < first || d.at > r.version {
		d.statuses = make(map[uint64]uint8, r.count)
		d.counts = [len(d.counts)]int{}
		for app, leases := range r.apps {
			for id, l := range leases {
				s := statusIndex(l.holder.Status)
				d.statuses[d.key(app, id)] = s
				d.counts[s]++
			}
		}
		d.at = r.version
		return
	}
	for _, c := range r.changes[d.at-first:] {
		k := d.key(c.inst.App, c.inst.ID())
		if old, ok := d.statuses[k]; ok {
			d.counts[old]--
		}
		if c.inst.ActionType == eureka.ActionDeleted {
			delete(d.statuses, k)
			continue
		}
		s := statusIndex(c.inst.Status)
		d.statuses[k] = s
		d.counts[s]++
	}
	d.at = r.version
}

// collectLocked builds the delta document of changes, the tail of r's change
// log: the latest change of each instance, decorated as /apps/delta
// decorates it, applications sorted by name and instances by id, with the
// hash of the whole registry from d.counts. The caller holds d.mu and r.mu
// for reading, and d is at r's version.
func (d *sinceDeltas) collectLocked(r *Registry, changes []change) *eureka.Applications {
	type key struct{ app, id string }
	latest := make(map[key]int, len(changes))
	for i, c := range changes {
		latest[key{c.inst.App, c.inst.ID()}] = i
	}
	byApp := make(map[string][]*eureka.Instance)
	for i, c := range changes {
		if latest[key{c.inst.App, c.inst.ID()}] != i {
			continue
		}
		byApp[c.inst.App] = append(byApp[c.inst.App], r.decorate(c.inst, c.lease))
	}
	doc := &eureka.Applications{VersionsDelta: int64(r.version), Applications: make([]*eureka.Application, 0, len(byApp))}
	for name, insts := range byApp {
		sort.Slice(insts, func(i, j int) bool { return insts[i].ID() < insts[j].ID() })
		doc.Applications = append(doc.Applications, &eureka.Application{Name: name, Instances: insts})
	}
	sort.Slice(doc.Applications, func(i, j int) bool { return doc.Applications[i].Name < doc.Applications[j].Name })
	counts := make(map[eureka.Status]int, len(eureka.Statuses))
	for i, s := range eureka.Statuses {
		counts[s] = d.counts[i]
	}
	doc.AppsHashcode = eureka.HashCode(counts)
	return doc
}
