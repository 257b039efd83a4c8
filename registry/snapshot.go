package registry

import (
	"bytes"
	"compress/gzip"
	"sort"
	"strings"
	"sync"

	"github.com/switchboard-dev/switchboard/eureka"
)

// docKind names a cached registry document.
type docKind uint8

const (
	docFull  docKind = iota // GET /apps
	docDelta                // GET /apps/delta
	docApp                  // GET /apps/{APP}
	docVIP                  // GET /vips/{VIP}
	docSVIP                 // GET /svips/{SVIP}
)

type payloadKey struct {
	kind docKind
	name string
	json bool
	gzip bool
	trim uint64 // for deltas: the trims count the document was built at
}

type docKey struct {
	kind docKind
	name string
	trim uint64
}

type payload struct {
	once sync.Once
	body []byte
}

type docEntry struct {
	once sync.Once
	doc  *eureka.Applications // nil for an app that does not exist
}

// payloadCache holds the encoded documents of one registry generation. A new
// generation (any change) starts an empty cache; a delta trim only makes a
// new delta document. Each
// document is then built once, by the first reader, and shared.
type payloadCache struct {
	mu       sync.Mutex // guards the fields below
	gen      uint64
	payloads map[payloadKey]*payload
	docs     map[docKey]*docEntry
}

// entries returns the cache maps for generation gen, or nil maps when gen is
// older than the cache (the caller then builds without caching).
func (c *payloadCache) entries(gen uint64) (map[payloadKey]*payload, map[docKey]*docEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen > c.gen || c.payloads == nil {
		c.gen = gen
		c.payloads = make(map[payloadKey]*payload)
		c.docs = make(map[docKey]*docEntry)
	}
	if gen < c.gen {
		return nil, nil
	}
	return c.payloads, c.docs
}

func (c *payloadCache) payloadEntry(gen uint64, k payloadKey) *payload {
	payloads, _ := c.entries(gen)
	if payloads == nil {
		return &payload{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return &payload{}
	}
	p := payloads[k]
	if p == nil {
		p = &payload{}
		payloads[k] = p
	}
	return p
}

func (c *payloadCache) docEntry(gen uint64, k docKey) *docEntry {
	_, docs := c.entries(gen)
	if docs == nil {
		return &docEntry{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return &docEntry{}
	}
	d := docs[k]
	if d == nil {
		d = &docEntry{}
		docs[k] = d
	}
	return d
}

// payload returns the encoded document, or nil if it does not exist (an
// unknown application). It never returns data older than the last completed
// write: the generation is read first, and any change after that read makes a
// newer generation.
func (r *Registry) payload(kind docKind, name string, json, gz bool) []byte {
	gen := r.gen.Load()
	var trim uint64
	if kind == docDelta {
		trim = r.trims.Load()
	}
	p := r.cache.payloadEntry(gen, payloadKey{kind, name, json, gz, trim})
	p.once.Do(func() {
		if gz {
			plain := r.payload(kind, name, json, false)
			if plain != nil {
				p.body = gzipBytes(plain)
			}
			return
		}
		doc := r.document(gen, trim, kind, name)
		if doc == nil {
			return
		}
		p.body = encodeDoc(kind, doc, json)
	})
	return p.body
}

func encodeDoc(kind docKind, doc *eureka.Applications, json bool) []byte {
	size := 512
	for _, a := range doc.Applications {
		size += 1200 * len(a.Instances)
	}
	b := make([]byte, 0, size)
	if kind == docApp {
		if json {
			return eureka.AppendApplicationJSON(b, doc.Applications[0])
		}
		return eureka.AppendApplicationXML(b, doc.Applications[0])
	}
	if json {
		return eureka.AppendApplicationsJSON(b, doc)
	}
	return eureka.AppendApplicationsXML(b, doc)
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/4 + 64)
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// document returns the registry document of one kind, built once per
// generation and shared by its JSON and XML encodings.
func (r *Registry) document(gen, trim uint64, kind docKind, name string) *eureka.Applications {
	d := r.cache.docEntry(gen, docKey{kind, name, trim})
	d.once.Do(func() { d.doc = r.buildDocument(kind, name) })
	return d.doc
}

// buildDocument copies what a document needs under the read lock; encoding
// happens outside it. Instances are decorated copies, made in one allocation.
func (r *Registry) buildDocument(kind docKind, name string) *eureka.Applications {
	r.mu.RLock()
	defer r.mu.RUnlock()
	switch kind {
	case docFull:
		doc := r.collectLocked(func(string) bool { return true }, nil)
		doc.VersionsDelta = 1
		doc.AppsHashcode = doc.Hash()
		return doc
	case docApp:
		if len(r.apps[name]) == 0 {
			return nil
		}
		return r.collectLocked(func(app string) bool { return app == name }, nil)
	case docVIP, docSVIP:
		match := func(in *eureka.Instance) bool {
			if kind == docVIP {
				return eureka.VIPs(in.VIPAddress, name)
			}
			return eureka.VIPs(in.SecureVIPAddress, name)
		}
		doc := r.collectLocked(func(string) bool { return true }, match)
		doc.VersionsDelta = -1
		doc.AppsHashcode = doc.Hash()
		return doc
	case docDelta:
		return r.deltaLocked()
	}
	return nil
}

// collectLocked gathers decorated copies of the instances of the apps for
// which wantApp is true (and, if match is set, the instances it accepts),
// apps sorted by name and instances by id.
func (r *Registry) collectLocked(wantApp func(string) bool, match func(*eureka.Instance) bool) *eureka.Applications {
	names := make([]string, 0, len(r.apps))
	n := 0
	for name, leases := range r.apps {
		if wantApp(name) {
			names = append(names, name)
			n += len(leases)
		}
	}
	sort.Strings(names)
	copies := make([]eureka.Instance, 0, n)
	doc := &eureka.Applications{Applications: make([]*eureka.Application, 0, len(names))}
	for _, name := range names {
		leases := r.apps[name]
		start := len(copies)
		for _, l := range leases {
			if match != nil && !match(l.holder) {
				continue
			}
			copies = append(copies, *l.holder)
			r.decorateInto(&copies[len(copies)-1], l)
		}
		if len(copies) == start {
			continue
		}
		group := copies[start:]
		sort.Slice(group, func(i, j int) bool { return group[i].ID() < group[j].ID() })
		app := &eureka.Application{Name: name, Instances: make([]*eureka.Instance, len(group))}
		for i := range group {
			app.Instances[i] = &group[i]
		}
		doc.Applications = append(doc.Applications, app)
	}
	return doc
}

// deltaLocked builds /apps/delta: every instance changed within the retention
// time, the latest change of each winning, with the hash of the whole
// registry taken at the same moment so the two always agree.
func (r *Registry) deltaLocked() *eureka.Applications {
	type key struct{ app, id string }
	latest := make(map[key]int, len(r.changes))
	for i, c := range r.changes {
		latest[key{c.inst.App, c.inst.ID()}] = i
	}
	byApp := make(map[string][]*eureka.Instance)
	for i, c := range r.changes {
		if latest[key{c.inst.App, c.inst.ID()}] != i {
			continue
		}
		cp := r.decorate(c.inst, c.lease)
		byApp[cp.App] = append(byApp[cp.App], cp)
	}
	names := make([]string, 0, len(byApp))
	for name := range byApp {
		names = append(names, name)
	}
	sort.Strings(names)
	doc := &eureka.Applications{VersionsDelta: int64(r.version), Applications: make([]*eureka.Application, 0, len(names))}
	for _, name := range names {
		insts := byApp[name]
		sort.Slice(insts, func(i, j int) bool { return insts[i].ID() < insts[j].ID() })
		doc.Applications = append(doc.Applications, &eureka.Application{Name: name, Instances: insts})
	}
	counts := make(map[eureka.Status]int, len(eureka.Statuses))
	for _, leases := range r.apps {
		for _, l := range leases {
			counts[l.holder.Status]++
		}
	}
	doc.AppsHashcode = eureka.HashCode(counts)
	return doc
}

// Applications returns the full registry as a document (a decorated copy).
func (r *Registry) Applications() *eureka.Applications {
	return r.document(r.gen.Load(), 0, docFull, "")
}

// wantsJSON applies Eureka's negotiation: JSON iff Accept mentions json.
func wantsJSON(accept string) bool { return strings.Contains(accept, "json") }
