package springconf

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Value is one configuration value and where it came from.
type Value struct {
	// Key is the key as written, flattened:
	// "eureka.server.renewal-percent-threshold",
	// "spring.cloud.gateway.routes[0].predicates[1]". A key from the
	// environment is given in Spring's form: SPRING_CLOUD_GATEWAY_ROUTES_0_ID
	// is "spring.cloud.gateway.routes[0].id".
	Key string
	// Value is the scalar text as written, with placeholders resolved.
	// YAML null and empty lists and maps are "".
	Value string
	// Where is the base file name and 1-based line ("application.yml:14"),
	// the environment variable ("EUREKA_SERVER_ENABLESELFPRESERVATION"), or
	// what the caller of Set gave, e.g. "--server.port".
	Where string
}

// Where an entry came from, in order of precedence: flags beat the
// environment, which beats files.
const (
	layerFile = iota
	layerEnv
	layerFlag
)

// An entry is one value with its parsed key and its position.
type entry struct {
	Value
	name
	layer int
	src   int  // position order: files in load order, then env, then flags
	line  int  // in its file; for env and flags, 0
	seq   int  // order of appearance, for List
	empty bool // an empty list from YAML "[]": it replaces a list
	dup   bool // an environment variable that loses to another of the same flat form
}

const (
	srcEnv  = 1 << 20
	srcFlag = srcEnv + 1
)

// matches reports whether the key n names e. Files and flags match element
// by element; environment variables, whose boundaries are unknown, by the
// flat form.
func (e *entry) matches(n name) bool {
	if e.layer == layerEnv {
		return e.flat == n.flat
	}
	return e.canon == n.canon
}

// under reports whether e is prefix or lies under it, and returns the
// elements below prefix.
func (e *entry) under(prefix name) ([]seg, bool) {
	if e.layer == layerEnv {
		return e.name.hasFlatPrefix(prefix)
	}
	return e.name.hasPrefix(prefix)
}

// Props is a loaded set of values: files, then environment variables, then
// values from Set, each overriding the ones before. Lookup is by relaxed name.
//
// Lookup, Values and List may be called concurrently; Set may not be called
// concurrently with anything. The zero value is an empty set, ready for Set.
type Props struct {
	files    []*entry          // the merged active documents, in order of appearance
	fileAt   map[string]*entry // files by canonical key
	env      []*entry          // sorted by variable name
	envAt    map[string]*entry // env by flat key, the winner of each
	flags    []*entry          // in order of Set
	environ  map[string]string // every variable, for placeholders
	profiles []string
	seq      int

	// below indexes files and flags by each proper prefix of their names
	// (segKey), so List and children need not scan every entry: a gateway
	// with 10,000 routes asks for the children of tens of thousands of keys.
	below map[string][]*entry
}

// Profiles returns the profiles that selected documents and profile
// files: those given to Parse or Load, else spring.profiles.active from the
// file, else "default".
func (p *Props) Profiles() []string { return slices.Clone(p.profiles) }

// Set sets key to value, overriding files and the environment; where is
// reported with errors, e.g. "--server.port". Placeholders in value are
// resolved like those in files.
func (p *Props) Set(key, value, where string) {
	n := parseName(key)
	p.seq++
	e := &entry{
		Value: Value{Key: key, Value: value, Where: where},
		name:  n, layer: layerFlag, src: srcFlag, seq: p.seq,
	}
	for i, old := range p.flags {
		if old.canon == n.canon {
			p.flags[i] = e
			return
		}
	}
	p.flags = append(p.flags, e)
	p.below = nil
}

// Lookup returns the value of key, matched by relaxed name:
// "eureka.server.enable-self-preservation" and
// "eureka.server.enableSelfPreservation" are one key, which the variable
// EUREKA_SERVER_ENABLESELFPRESERVATION sets too. A placeholder that cannot
// be resolved is left as written.
func (p *Props) Lookup(key string) (Value, bool) {
	e := p.lookup(parseName(key))
	if e == nil {
		return Value{}, false
	}
	v := e.Value
	if s, err := p.resolve(e); err == nil {
		v.Value = s
	}
	return v, true
}

// lookup returns the entry that gives n its value, or nil.
func (p *Props) lookup(n name) *entry {
	for _, e := range slices.Backward(p.flags) {
		if e.matches(n) {
			return e
		}
	}
	if e := p.envAt[n.flat]; e != nil {
		return e
	}
	return p.fileAt[n.canon]
}

// all returns every entry in order of precedence, lowest first, leaving out
// environment variables that lose to another of the same form.
func (p *Props) all() []*entry {
	all := make([]*entry, 0, len(p.files)+len(p.env)+len(p.flags))
	all = append(all, p.files...)
	for _, e := range p.env {
		if !e.dup {
			all = append(all, e)
		}
	}
	return append(all, p.flags...)
}

// near returns, in the order of all, the entries that may lie strictly
// under prefix: files and flags through the index, and every environment
// variable (their element boundaries are uncertain, and they are few).
// Callers still check each with under.
func (p *Props) near(prefix name) []*entry {
	if p.below == nil {
		p.below = make(map[string][]*entry)
		for _, list := range [][]*entry{p.files, p.flags} {
			for _, e := range list {
				for i := range len(e.segs) {
					k := segKey(e.segs[:i])
					p.below[k] = append(p.below[k], e)
				}
			}
		}
	}
	list := p.below[segKey(prefix.segs)]
	out := make([]*entry, 0, len(list)+len(p.env))
	for _, e := range list {
		if e.layer == layerFile {
			out = append(out, e)
		}
	}
	for _, e := range p.env {
		if !e.dup {
			out = append(out, e)
		}
	}
	for _, e := range list {
		if e.layer == layerFlag {
			out = append(out, e)
		}
	}
	return out
}

// segKey joins the canonical forms of segs, as hasPrefix compares them.
func segKey(segs []seg) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(s.canon)
	}
	return b.String()
}

// effective returns the entries that are not overridden.
func (p *Props) effective() []*entry {
	flagCanon := make(map[string]bool, len(p.flags))
	flagFlat := make(map[string]bool, len(p.flags))
	for _, e := range p.flags {
		flagCanon[e.canon] = true
		flagFlat[e.flat] = true
	}
	var out []*entry
	for _, e := range p.files {
		if !flagCanon[e.canon] && p.envAt[e.flat] == nil {
			out = append(out, e)
		}
	}
	for _, e := range p.env {
		if !e.dup && !flagCanon[e.canon] && !flagFlat[e.flat] {
			out = append(out, e)
		}
	}
	return append(out, p.flags...)
}

// Values returns every value in effect, sorted by key.
func (p *Props) Values() []Value {
	var vs []Value
	for _, e := range p.effective() {
		v := e.Value
		if s, err := p.resolve(e); err == nil {
			v.Value = s
		}
		vs = append(vs, v)
	}
	slices.SortStableFunc(vs, func(a, b Value) int { return cmp.Compare(a.Key, b.Key) })
	return vs
}

// List returns the elements directly under key: the indices of a list
// (List("spring.cloud.gateway.routes") is ["0", "1"]) or the keys of a map,
// as written and in the order written (List("eureka.instance.metadata-map")
// is ["zone", "version"]). Keys that arrive from the environment are lower
// case. A bracketed map key keeps its brackets ("[/**]"), so key+"."+sub,
// key+"["+sub+"]" or key+sub names a child as Lookup expects.
func (p *Props) List(key string) []string {
	prefix := parseName(key)
	type child struct {
		raw   string
		index int // -1 for a name
	}
	var kids []child
	seen := map[string]bool{}
	for _, e := range p.near(prefix) {
		rest, ok := e.under(prefix)
		if !ok || len(rest) == 0 || seen[rest[0].canon] {
			continue
		}
		seen[rest[0].canon] = true
		c := child{raw: rest[0].raw, index: -1}
		if rest[0].index {
			c.index, _ = strconv.Atoi(rest[0].raw)
		}
		kids = append(kids, c)
	}
	// Indices in numeric order: the environment may add SPRING_..._ROUTES_2_ID
	// after a file's routes[0] and routes[1], or skip one.
	slices.SortStableFunc(kids, func(a, b child) int {
		switch {
		case a.index >= 0 && b.index >= 0:
			return cmp.Compare(a.index, b.index)
		case a.index >= 0:
			return -1
		case b.index >= 0:
			return 1
		}
		return 0
	})
	out := make([]string, len(kids))
	for i, c := range kids {
		out[i] = c.raw
	}
	return out
}

// children returns the values under key in order of precedence, lowest
// first, with the key of each below key.
func (p *Props) children(key name) (entries []*entry, subs [][]seg) {
	for _, e := range p.near(key) {
		if rest, ok := e.under(key); ok && len(rest) > 0 {
			entries = append(entries, e)
			subs = append(subs, rest)
		}
	}
	return entries, subs
}

// addEnv adds the environment variables Spring would bind, those whose
// names start with one of envPrefixes, as keys: SPRING_CLOUD_GATEWAY_ROUTES_0_ID
// is "spring.cloud.gateway.routes[0].id".
func (p *Props) addEnv(environ []string) {
	p.environ = make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := p.environ[k]; !dup && k != "" {
			p.environ[k] = v // the first wins, as with os.Getenv
		}
	}
	p.env = p.env[:0]
	for k, v := range p.environ {
		if !hasEnvPrefix(k) {
			continue
		}
		key := rawOf(splitKey(strings.ToLower(strings.ReplaceAll(k, "_", "."))))
		p.env = append(p.env, &entry{
			Value: Value{Key: key, Value: v, Where: k},
			name:  parseName(key), layer: layerEnv, src: srcEnv,
		})
	}
	slices.SortFunc(p.env, func(a, b *entry) int { return cmp.Compare(a.Where, b.Where) })
	// Two variables with one flat form, as EUREKA_SERVER_ENABLESELFPRESERVATION
	// and EUREKA_SERVER_ENABLE_SELF_PRESERVATION: Spring tries the form without
	// underscores in an element first, so the one with fewer elements wins.
	p.envAt = make(map[string]*entry, len(p.env))
	for _, e := range p.env {
		p.seq++
		e.seq = p.seq
		w := p.envAt[e.flat]
		if w == nil || len(e.segs) < len(w.segs) {
			p.envAt[e.flat] = e
		}
	}
	for _, e := range p.env {
		e.dup = p.envAt[e.flat] != e
	}
}

// envPrefixes are the environment variables that can be configuration.
var envPrefixes = []string{"EUREKA_", "SERVER_", "SPRING_", "SWITCHBOARD_", "RESILIENCE4J_", "MANAGEMENT_", "LOGGING_"}

func hasEnvPrefix(k string) bool {
	for _, p := range envPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// merge adds an active document's entries to the file layer. A later value
// replaces an earlier one of the same key in place, so List keeps the order
// first written; a list in a later document replaces the whole earlier list,
// as in Spring.
func (p *Props) merge(d []*entry) {
	roots := map[string]bool{}
	for _, e := range d {
		if e.empty {
			roots[e.canon] = true
		}
		for i, s := range e.segs {
			if s.index && i > 0 {
				roots[canonOf(e.segs[:i])] = true
			}
		}
	}
	if len(roots) > 0 {
		p.below = nil
		p.files = slices.DeleteFunc(p.files, func(e *entry) bool {
			for i, s := range e.segs {
				if s.index && roots[canonOf(e.segs[:i])] {
					return true
				}
			}
			return e.empty && roots[e.canon]
		})
	}
	at := make(map[string]int, len(p.files))
	for i, e := range p.files {
		at[e.canon] = i
	}
	for _, e := range d {
		p.seq++
		e.seq = p.seq
		if i, ok := at[e.canon]; ok {
			e.seq = p.files[i].seq
			p.files[i] = e
			continue
		}
		at[e.canon] = len(p.files)
		p.files = append(p.files, e)
		p.below = nil
	}
	p.fileAt = make(map[string]*entry, len(p.files))
	for _, e := range p.files {
		p.fileAt[e.canon] = e
	}
}
