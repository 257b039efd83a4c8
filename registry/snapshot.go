package registry

import (
	"compress/gzip"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

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

// A payload is one encoding of a document: its bytes or, for an
// uncompressed registry document larger than MaxCachedUncompressedBytes,
// the document itself, encoded anew as each read sends it (see stream).
type payload struct {
	once sync.Once
	body []byte
	doc  *document    // set instead of body when the document is streamed
	size atomic.Int64 // doc's encoded length, once known; 0 before
	done atomic.Bool  // body or doc is set
}

type docEntry struct {
	once sync.Once
	doc  *document // nil for an app that does not exist
}

// payloadCache holds the encoded documents of one registry generation. A new
// generation (any change) drops them; a delta trim drops only the delta
// documents. Each document is then built once, by the first reader, and
// shared; of an uncompressed registry document over MaxCachedUncompressedBytes
// only the collected document is kept, and each reader encodes it.
type payloadCache struct {
	mu        sync.Mutex // guards the fields below
	gen       uint64
	deltaTrim uint64 // the trims count of the delta documents held
	payloads  map[payloadKey]*payload
	docs      map[docKey]*docEntry
	bytes     int                 // the length of the payloads held
	sizes     map[sizeKey]docSize // the last full and delta documents' sizes, across generations
}

// A sizeKey names a document whose size hints the next build's.
type sizeKey struct {
	kind docKind
	json bool
}

// docSize is an encoded document's length and its number of instances.
type docSize struct{ bytes, instances int }

// roll drops the documents of generations before gen, so that a change
// releases them even when no read follows.
func (c *payloadCache) roll(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen > c.gen {
		c.gen = gen
		c.payloads, c.docs = nil, nil
		c.bytes = 0
	}
}

// entriesLocked returns the cache maps for generation gen, or nil maps when
// gen is older than the cache (the caller then builds without caching). A
// delta trims count newer than the cache's drops the older delta documents.
func (c *payloadCache) entriesLocked(gen, trim uint64) (map[payloadKey]*payload, map[docKey]*docEntry) {
	if gen > c.gen || c.payloads == nil {
		c.gen = gen
		c.payloads = make(map[payloadKey]*payload)
		c.docs = make(map[docKey]*docEntry)
	}
	if gen < c.gen {
		return nil, nil
	}
	if trim > c.deltaTrim {
		c.deltaTrim = trim
		dropped := 0
		for k, p := range c.payloads {
			if k.kind == docDelta && k.trim < trim {
				if p.done.Load() {
					dropped += len(p.body)
				}
				delete(c.payloads, k)
			}
		}
		for k := range c.docs {
			if k.kind == docDelta && k.trim < trim {
				delete(c.docs, k)
			}
		}
		c.bytes -= dropped
	}
	return c.payloads, c.docs
}

func (c *payloadCache) payloadEntry(gen uint64, k payloadKey) *payload {
	c.mu.Lock()
	defer c.mu.Unlock()
	payloads, _ := c.entriesLocked(gen, k.trim)
	if payloads == nil || k.kind == docDelta && k.trim < c.deltaTrim {
		return &payload{}
	}
	p := payloads[k]
	if p == nil {
		p = &payload{}
		payloads[k] = p
	}
	return p
}

// store records that p, the payload for k in generation gen, now holds its
// body.
func (c *payloadCache) store(gen uint64, k payloadKey, p *payload) {
	p.done.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen && c.payloads[k] == p {
		c.bytes += len(p.body)
	}
}

// held returns the length of the payloads the cache holds.
func (c *payloadCache) held() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// built returns the payload for k if generation gen already has it, or nil.
func (c *payloadCache) built(gen uint64, k payloadKey) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return nil
	}
	if p := c.payloads[k]; p != nil && p.done.Load() {
		return p.body
	}
	return nil
}

func (c *payloadCache) docEntry(gen uint64, k docKey) *docEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, docs := c.entriesLocked(gen, k.trim)
	if docs == nil || k.kind == docDelta && k.trim < c.deltaTrim {
		return &docEntry{}
	}
	d := docs[k]
	if d == nil {
		d = &docEntry{}
		docs[k] = d
	}
	return d
}

// sizeHint returns the capacity to encode doc into: the size of the last
// document of its kind, scaled to doc's instances, with room for instances
// a little larger than those, or 0 when there is no earlier document.
func (c *payloadCache) sizeHint(k sizeKey, instances int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sizes[k]
	if !ok || s.instances == 0 {
		return 0
	}
	n := int(int64(s.bytes) * int64(instances) / int64(s.instances))
	return n + n/64 + 4096
}

func (c *payloadCache) noteSize(k sizeKey, s docSize) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sizes == nil {
		c.sizes = make(map[sizeKey]docSize)
	}
	c.sizes[k] = s
}

// payload returns the encoded document, or nil if it does not exist (an
// unknown application) or is streamed (see encoded).
func (r *Registry) payload(kind docKind, name string, json, gz bool) []byte {
	return r.encoded(kind, name, json, gz).body
}

// encoded returns a document's payload in one encoding, built once per
// generation: its bytes or, for an uncompressed registry document over
// MaxCachedUncompressedBytes, the document to stream. Neither is set for an
// application that does not exist. It never returns data older than the last
// completed write: the generation is read first, and any change after that
// read makes a newer generation.
//
// Keeping every encoding is what makes a read cheap, but at 100,000
// instances the uncompressed ones are 100 MB of JSON and 160 MB of XML. The
// collector lets the heap grow to twice what is live before it runs, so
// holding them costs twice their size in memory, while a fetch of 100 MB is
// bound by the network rather than by encoding it again (about 140 ms of CPU
// for the JSON, a sixth of what a 1 Gbit/s link takes to carry it). Eureka's
// own clients ask for gzip, which is a few percent of that and always kept.
func (r *Registry) encoded(kind docKind, name string, json, gz bool) *payload {
	gen := r.gen.Load()
	var trim uint64
	if kind == docDelta {
		trim = r.trims.Load()
	}
	key := payloadKey{kind, name, json, gz, trim}
	p := r.cache.payloadEntry(gen, key)
	p.once.Do(func() {
		doc := r.document(gen, trim, kind, name)
		if doc == nil {
			return
		}
		if gz {
			p.body = r.gzipPayload(gen, key, doc)
			r.cache.store(gen, key, p)
			return
		}
		size, exact := r.identitySize(doc, kind, json)
		if kind != docApp && size > r.cfg.MaxCachedUncompressedBytes {
			p.doc = doc
			if exact {
				p.size.Store(int64(size))
			}
		} else {
			p.body = r.encodePayload(doc, kind, json, size)
		}
		r.cache.store(gen, key, p)
	})
	return p
}

// identitySize returns the length doc's uncompressed encoding will have:
// the size of the last document of its kind scaled to doc's instances, with
// room for instances a little larger than those, or for a first large
// document the exact length, from encoding it once without keeping the bytes
// (exact is then true).
func (r *Registry) identitySize(doc *document, kind docKind, json bool) (size int, exact bool) {
	if kind == docFull || kind == docDelta {
		if n := r.cache.sizeHint(sizeKey{kind, json}, doc.instances); n > 0 {
			return n, false
		}
	}
	if doc.instances >= 1000 {
		var c countingWriter
		encodeDocument(&c, doc, kind, json)
		return c.n, true
	}
	return 512 + 2048*doc.instances, false
}

// encodePayload encodes doc into a slice of capacity size, the length
// identitySize expects, so that building a large document leaves no garbage
// of the size of the document behind.
func (r *Registry) encodePayload(doc *document, kind docKind, json bool, size int) []byte {
	w := appendWriter{b: make([]byte, 0, size)}
	encodeDocument(&w, doc, kind, json)
	if kind == docFull || kind == docDelta {
		r.cache.noteSize(sizeKey{kind, json}, docSize{len(w.b), doc.instances})
	}
	return w.b
}

// stream writes p's document, in JSON or XML, to w as it encodes it, and
// returns the first error w gave. Every stream of p writes the same bytes,
// those encodePayload would have kept: the document holds the lease times
// read when it was collected. The first to complete records their length.
func (r *Registry) stream(w io.Writer, p *payload, kind docKind, json bool) error {
	c := countingWriter{w: w}
	if err := encodeDocument(&c, p.doc, kind, json); err != nil {
		return err
	}
	p.size.CompareAndSwap(0, int64(c.n))
	if kind == docFull || kind == docDelta {
		r.cache.noteSize(sizeKey{kind, json}, docSize{c.n, p.doc.instances})
	}
	return nil
}

// gzipPayload compresses doc: the identity encoding when this generation
// already has it, otherwise the document as it is encoded, so a registry
// whose clients all ask for gzip never holds the identity form.
func (r *Registry) gzipPayload(gen uint64, key payloadKey, doc *document) []byte {
	var out chunkWriter
	zw, _ := gzip.NewWriterLevel(&out, gzip.DefaultCompression)
	plain := key
	plain.gzip = false
	if b := r.cache.built(gen, plain); b != nil {
		zw.Write(b)
	} else {
		encodeDocument(zw, doc, key.kind, key.json)
	}
	zw.Close()
	return out.bytes()
}

// encodeDocument writes doc in JSON or XML, decorating one application's
// instances at a time.
func encodeDocument(w io.Writer, doc *document, kind docKind, json bool) error {
	var app eureka.Application
	var scratch []eureka.Instance
	if kind == docApp {
		if len(doc.apps) == 0 {
			return nil
		}
		a := &doc.apps[0]
		app.Name = a.name
		app.Instances = a.decorate(&scratch, nil)
		var b []byte
		if json {
			b = eureka.AppendApplicationJSON(make([]byte, 0, 512+2048*len(a.instances)), &app)
		} else {
			b = eureka.AppendApplicationXML(make([]byte, 0, 512+2048*len(a.instances)), &app)
		}
		_, err := w.Write(b)
		return err
	}
	var e *eureka.ApplicationsEncoder
	if json {
		e = eureka.NewApplicationsJSONEncoder(w, doc.versionsDelta, doc.hash)
	} else {
		e = eureka.NewApplicationsXMLEncoder(w, doc.versionsDelta, doc.hash)
	}
	for i := range doc.apps {
		a := &doc.apps[i]
		app.Name = a.name
		app.Instances = a.decorate(&scratch, app.Instances[:0])
		if err := e.Encode(&app); err != nil {
			return err
		}
	}
	return e.Close()
}

// appendWriter appends what is written to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// countingWriter counts what is written and passes it on to w, or, when w
// is nil, keeps none of it.
type countingWriter struct {
	w io.Writer
	n int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.w == nil {
		w.n += len(p)
		return len(p), nil
	}
	n, err := w.w.Write(p)
	w.n += n
	return n, err
}

// chunkWriter keeps what is written in blocks and copies them once, into a
// slice of the exact size, when done: growing one slice instead would leave
// copies of up to twice the final size behind.
type chunkWriter struct {
	chunks [][]byte
	n      int
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	w.n += n
	for len(p) > 0 {
		if len(w.chunks) == 0 || len(w.chunks[len(w.chunks)-1]) == cap(w.chunks[len(w.chunks)-1]) {
			size := 16 << 10
			if len(w.chunks) > 0 {
				size = min(2*cap(w.chunks[len(w.chunks)-1]), 1<<20)
			}
			w.chunks = append(w.chunks, make([]byte, 0, size))
		}
		c := &w.chunks[len(w.chunks)-1]
		k := min(len(p), cap(*c)-len(*c))
		*c = append(*c, p[:k]...)
		p = p[k:]
	}
	return n, nil
}

func (w *chunkWriter) bytes() []byte {
	b := make([]byte, 0, w.n)
	for _, c := range w.chunks {
		b = append(b, c...)
	}
	return b
}

// A document is a registry document as collected under the read lock: the
// stored copy of each instance with the lease times a read shows (see
// decorate). It takes 40 bytes an instance where a decorated copy takes over
// 400; encoders decorate one application at a time.
type document struct {
	versionsDelta int64
	hash          string
	apps          []docApplication
	instances     int
}

type docApplication struct {
	name      string
	instances []docInstance
}

type docInstance struct {
	holder *eureka.Instance
	times  leaseTimes
}

// decorate returns decorated copies of a's instances, made in *scratch and
// appended to ptrs.
func (a *docApplication) decorate(scratch *[]eureka.Instance, ptrs []*eureka.Instance) []*eureka.Instance {
	if cap(*scratch) < len(a.instances) {
		*scratch = make([]eureka.Instance, len(a.instances))
	}
	s := (*scratch)[:len(a.instances)]
	for i := range a.instances {
		s[i] = *a.instances[i].holder
		a.instances[i].times.decorate(&s[i])
		ptrs = append(ptrs, &s[i])
	}
	return ptrs
}

// applications returns doc with decorated copies of its instances, made in
// one allocation.
func (d *document) applications() *eureka.Applications {
	out := &eureka.Applications{VersionsDelta: d.versionsDelta, AppsHashcode: d.hash,
		Applications: make([]*eureka.Application, 0, len(d.apps))}
	copies := make([]eureka.Instance, 0, d.instances)
	for i := range d.apps {
		a := &d.apps[i]
		start := len(copies)
		for _, in := range a.instances {
			copies = append(copies, *in.holder)
			in.times.decorate(&copies[len(copies)-1])
		}
		app := &eureka.Application{Name: a.name, Instances: make([]*eureka.Instance, 0, len(a.instances))}
		for j := start; j < len(copies); j++ {
			app.Instances = append(app.Instances, &copies[j])
		}
		out.Applications = append(out.Applications, app)
	}
	return out
}

// statusHash returns apps__hashcode over doc's instances.
func (d *document) statusHash() string {
	counts := make(map[eureka.Status]int, len(eureka.Statuses))
	for i := range d.apps {
		for _, in := range d.apps[i].instances {
			counts[in.holder.Status]++
		}
	}
	return eureka.HashCode(counts)
}

// document returns the registry document of one kind, built once per
// generation and shared by its encodings.
func (r *Registry) document(gen, trim uint64, kind docKind, name string) *document {
	d := r.cache.docEntry(gen, docKey{kind, name, trim})
	d.once.Do(func() { d.doc = r.collect(kind, name) })
	return d.doc
}

// buildDocument returns a document of one kind with decorated copies of its
// instances, or nil for an application that does not exist.
func (r *Registry) buildDocument(kind docKind, name string) *eureka.Applications {
	d := r.collect(kind, name)
	if d == nil {
		return nil
	}
	return d.applications()
}

// collect gathers what a document needs under the read lock; encoding
// happens outside it.
func (r *Registry) collect(kind docKind, name string) *document {
	r.mu.RLock()
	defer r.mu.RUnlock()
	switch kind {
	case docFull:
		doc := r.collectLocked(func(string) bool { return true }, nil)
		doc.versionsDelta = 1
		doc.hash = doc.statusHash()
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
		doc.versionsDelta = -1
		doc.hash = doc.statusHash()
		return doc
	case docDelta:
		return r.deltaLocked()
	}
	return nil
}

// collectLocked gathers the instances of the apps for which wantApp is true
// (and, if match is set, the instances it accepts), apps sorted by name and
// instances by id.
func (r *Registry) collectLocked(wantApp func(string) bool, match func(*eureka.Instance) bool) *document {
	names := make([]string, 0, len(r.apps))
	n := 0
	for name, leases := range r.apps {
		if wantApp(name) {
			names = append(names, name)
			n += len(leases)
		}
	}
	sort.Strings(names)
	insts := make([]docInstance, 0, n)
	doc := &document{apps: make([]docApplication, 0, len(names))}
	for _, name := range names {
		start := len(insts)
		for _, l := range r.apps[name] {
			if match != nil && !match(l.holder) {
				continue
			}
			insts = append(insts, docInstance{holder: l.holder, times: l.times()})
		}
		if len(insts) == start {
			continue
		}
		group := insts[start:]
		sort.Slice(group, func(i, j int) bool { return group[i].holder.ID() < group[j].holder.ID() })
		doc.apps = append(doc.apps, docApplication{name: name, instances: group})
	}
	doc.instances = len(insts)
	return doc
}

// deltaLocked builds /apps/delta: every instance changed within the retention
// time, the latest change of each winning, with the hash of the whole
// registry taken at the same moment so the two always agree.
func (r *Registry) deltaLocked() *document {
	type key struct{ app, id string }
	latest := make(map[key]int, len(r.changes))
	for i, c := range r.changes {
		latest[key{c.inst.App, c.inst.ID()}] = i
	}
	byApp := make(map[string][]docInstance)
	for i, c := range r.changes {
		if latest[key{c.inst.App, c.inst.ID()}] != i {
			continue
		}
		byApp[c.inst.App] = append(byApp[c.inst.App], docInstance{holder: c.inst, times: c.lease.times()})
	}
	names := make([]string, 0, len(byApp))
	for name := range byApp {
		names = append(names, name)
	}
	sort.Strings(names)
	doc := &document{versionsDelta: int64(r.version), apps: make([]docApplication, 0, len(names))}
	for _, name := range names {
		insts := byApp[name]
		sort.Slice(insts, func(i, j int) bool { return insts[i].holder.ID() < insts[j].holder.ID() })
		doc.apps = append(doc.apps, docApplication{name: name, instances: insts})
		doc.instances += len(insts)
	}
	counts := make(map[eureka.Status]int, len(eureka.Statuses))
	for _, leases := range r.apps {
		for _, l := range leases {
			counts[l.holder.Status]++
		}
	}
	doc.hash = eureka.HashCode(counts)
	return doc
}

// Applications returns the full registry as a document (a decorated copy).
func (r *Registry) Applications() *eureka.Applications {
	return r.document(r.gen.Load(), 0, docFull, "").applications()
}

// wantsJSON applies Eureka's negotiation: JSON iff Accept mentions json.
func wantsJSON(accept string) bool { return strings.Contains(accept, "json") }
