package springconf

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Binder binds keys to Go values and collects every problem, so that Err
// reports all of them at once. A key that is absent leaves its destination
// as it was, which is how defaults survive; so does an empty value, except
// for String, as in Spring.
//
// Every key a Binder is asked for is known; Unknown reports the others.
// Make one with NewBinder; a Binder is not safe for concurrent use.
type Binder struct {
	p     *Props
	known []known
	probs []*problem

	// Indexes of known, rebuilt when it grew: exact names by canonical and
	// flat form, and the keys known with everything under them.
	indexed  int
	canons   map[string]bool
	flats    map[string]bool
	subtrees []known
}

// A known key was bound, looked up or ignored; with subtree, so is
// everything under it.
type known struct {
	key string // as the caller spells it
	name
	subtree bool
}

// NewBinder returns a Binder over p. The keys that choose profiles,
// spring.profiles.* and spring.config.activate.*, are known from the start.
func NewBinder(p *Props) *Binder {
	b := &Binder{p: p}
	b.Ignore("spring.profiles", "spring.config.activate")
	return b
}

func (b *Binder) mark(key string, subtree bool) name {
	n := parseName(key)
	b.known = append(b.known, known{key: key, name: n, subtree: subtree})
	return n
}

// value returns the entry for key and its resolved value.
func (b *Binder) value(key string) (*entry, string, bool) {
	e := b.p.lookup(b.mark(key, false))
	if e == nil {
		return nil, "", false
	}
	return b.resolved(e)
}

func (b *Binder) resolved(e *entry) (*entry, string, bool) {
	v, err := b.p.resolve(e)
	if err != nil {
		b.add(problemAt(e, err.Error()))
		return nil, "", false
	}
	return e, v, true
}

func (b *Binder) add(p *problem) {
	p.seq = len(b.probs)
	b.probs = append(b.probs, p)
}

func (b *Binder) errAt(e *entry, format string, args ...any) {
	b.add(problemAt(e, fmt.Sprintf(format, args...)))
}

// Lookup returns the value of key with its placeholders resolved, as
// Props.Lookup does, and makes key known. A placeholder that cannot be
// resolved is reported, and Lookup returns false.
func (b *Binder) Lookup(key string) (Value, bool) {
	e, v, ok := b.value(key)
	if !ok {
		return Value{}, false
	}
	val := e.Value
	val.Value = v
	return val, true
}

// List returns the elements directly under key, as Props.List does.
func (b *Binder) List(key string) []string { return b.p.List(key) }

// String sets *dst to the value of key.
func (b *Binder) String(key string, dst *string) {
	if _, v, ok := b.value(key); ok {
		*dst = v
	}
}

// Bool sets *dst to the value of key: true, on, yes or 1, or false, off,
// no or 0, in any case, as Spring converts them.
func (b *Binder) Bool(key string, dst *bool) {
	e, v, ok := b.value(key)
	if !ok {
		return
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
	case "true", "on", "yes", "1":
		*dst = true
	case "false", "off", "no", "0":
		*dst = false
	default:
		b.errAt(e, "%q is not a boolean; want true or false", v)
	}
}

// Int sets *dst to the value of key, a whole number from min to max.
func (b *Binder) Int(key string, dst *int, min, max int) {
	e, v, ok := b.value(key)
	if !ok {
		return
	}
	s := strings.TrimSpace(v)
	if s == "" {
		return
	}
	n, err := strconv.Atoi(s)
	switch {
	case errors.Is(err, strconv.ErrRange):
		b.errAt(e, "%s is out of range; %s", s, wantRange(min, max))
	case err != nil:
		b.errAt(e, "%q is not a whole number", v)
	case n < min || n > max:
		b.errAt(e, "%s is out of range; %s", s, wantRange(min, max))
	default:
		*dst = n
	}
}

func wantRange(min, max int) string {
	switch {
	case min == math.MinInt && max == math.MaxInt:
		return "want a smaller number"
	case min == math.MinInt:
		return fmt.Sprintf("want at most %d", max)
	case max == math.MaxInt:
		return fmt.Sprintf("want at least %d", min)
	}
	return fmt.Sprintf("want %d to %d", min, max)
}

// Float sets *dst to the value of key, a finite number. If check is not
// nil and returns a reason, such as "out of range; want a value in (0, 1]",
// the value is rejected with it.
func (b *Binder) Float(key string, dst *float64, check func(float64) string) {
	e, v, ok := b.value(key)
	if !ok {
		return
	}
	s := strings.TrimSpace(v)
	if s == "" {
		return
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		b.errAt(e, "%q is not a number", v)
		return
	}
	if check != nil {
		if why := check(f); why != "" {
			b.errAt(e, "%s is %s", s, why)
			return
		}
	}
	*dst = f
}

// Millis sets *dst to the value of key, a whole number of milliseconds
// (Eureka's "...-in-ms" keys), at least min.
func (b *Binder) Millis(key string, dst *time.Duration, min time.Duration) {
	b.whole(key, dst, min, time.Millisecond, "milliseconds")
}

// Seconds sets *dst to the value of key, a whole number of seconds
// (Eureka's "...-in-seconds" keys), at least min.
func (b *Binder) Seconds(key string, dst *time.Duration, min time.Duration) {
	b.whole(key, dst, min, time.Second, "seconds")
}

func (b *Binder) whole(key string, dst *time.Duration, min, unit time.Duration, units string) {
	e, v, ok := b.value(key)
	if !ok {
		return
	}
	s := strings.TrimSpace(v)
	if s == "" {
		return
	}
	n, err := strconv.ParseInt(s, 10, 64)
	least := int64((min + unit - 1) / unit) // min in units, rounded up
	switch {
	case errors.Is(err, strconv.ErrRange) || n > math.MaxInt64/int64(unit) || n < math.MinInt64/int64(unit):
		b.errAt(e, "%s is out of range; want at most %d", s, math.MaxInt64/int64(unit))
	case err != nil:
		b.errAt(e, "%q is not a whole number of %s", v, units)
	case time.Duration(n)*unit < min:
		b.errAt(e, "%s is out of range; want at least %d", s, least)
	default:
		*dst = time.Duration(n) * unit
	}
}

// Duration sets *dst to the value of key in Spring's duration format: a
// whole number and a unit, ns, us, ms, s, m, h or d ("500ms", "30s", "2m"),
// a bare number of milliseconds, or ISO-8601 ("PT30S").
func (b *Binder) Duration(key string, dst *time.Duration) {
	e, v, ok := b.value(key)
	if !ok {
		return
	}
	s := strings.TrimSpace(v)
	if s == "" {
		return
	}
	d, err := parseDuration(s)
	if err != nil {
		b.errAt(e, "%q %v", v, err)
		return
	}
	*dst = d
}

// Enum sets *dst to the one of allowed that the value of key names, by
// relaxed name as Spring binds enums: "ROUND_ROBIN" names "round-robin".
func (b *Binder) Enum(key string, dst *string, allowed ...string) {
	e, v, ok := b.value(key)
	if !ok {
		return
	}
	s := strings.TrimSpace(v)
	if s == "" {
		return
	}
	for _, a := range allowed {
		if canonName(a) == canonName(s) {
			*dst = a
			return
		}
	}
	b.errAt(e, "%q is not allowed; want one of %s", v, strings.Join(allowed, ", "))
}

// StringList sets *dst to the value of key: a YAML list, or one value of
// comma-separated items, each trimmed, empty ones dropped. An empty value
// or list sets an empty slice. If the environment or a flag sets a single
// value where a file has a list, the single value wins.
func (b *Binder) StringList(key string, dst *[]string) {
	n := b.mark(key, false)
	scalar := b.p.lookup(n)
	kids, _ := b.p.children(n)
	top := -1
	for _, k := range kids {
		top = max(top, k.layer)
	}
	if scalar != nil && scalar.layer > top {
		if _, v, ok := b.resolved(scalar); ok {
			list := []string{}
			for item := range strings.SplitSeq(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					list = append(list, item)
				}
			}
			*dst = list
		}
		return
	}
	if len(kids) == 0 {
		return
	}
	list := []string{}
	ok := true
	for _, sub := range b.p.List(key) {
		if !isDigits(sub) {
			b.mark(key, true)
			b.Errorf(key, "want a list or comma-separated values, not a map")
			return
		}
		itemKey := key + "[" + sub + "]"
		item := b.p.lookup(b.mark(itemKey, false))
		if item == nil {
			b.mark(itemKey, true)
			b.Errorf(itemKey, "want a single value, not a list or map")
			ok = false
			continue
		}
		if _, v, good := b.resolved(item); good {
			list = append(list, v)
		} else {
			ok = false
		}
	}
	if ok {
		*dst = list
	}
}

// Map sets *dst to the values under key, such as the entries of
// eureka.instance.metadata-map. A map key is the rest of the key below key,
// as written; from the environment it is lower case, as Spring makes it,
// except that a variable overriding a file's key keeps the file's spelling.
// An empty map ("metadata-map: {}") sets an empty map. Everything under
// key is known.
func (b *Binder) Map(key string, dst *map[string]string) {
	n := b.mark(key, true)
	entries, subs := b.p.children(n)
	if scalar := b.p.lookup(n); scalar != nil {
		if _, v, ok := b.resolved(scalar); ok && strings.TrimSpace(v) != "" {
			b.errAt(scalar, "%q is not a map; want keys and values under it", v)
			return
		}
		if len(entries) == 0 {
			*dst = map[string]string{}
			return
		}
	}
	if len(entries) == 0 {
		return
	}
	m := make(map[string]string, len(entries))
	spelled := map[string]string{} // flat form -> first spelling
	for i, e := range entries {
		sub := subs[i]
		k, ok := spelled[flatOf(sub)]
		if !ok {
			k = mapKey(sub)
			spelled[flatOf(sub)] = k
		}
		if b.p.lookup(e.name) != e {
			continue // overridden
		}
		if _, v, ok := b.resolved(e); ok {
			m[k] = v
		}
	}
	*dst = m
}

// mapKey returns the key of a map entry: the elements below the map, as
// written, except that the first loses its brackets: "0" rather than "[0]",
// and "/**" for Spring's "[/**]".
func mapKey(sub []seg) string {
	first := sub[0].raw
	if sub[0].lit {
		first = first[1 : len(first)-1]
	}
	return first + rawTail(sub[1:])
}

// Ignore makes keys, and everything under them, known: they are accepted
// and have no effect.
func (b *Binder) Ignore(keys ...string) {
	for _, k := range keys {
		b.mark(k, true)
	}
}

// Errorf reports a problem with key, which becomes known, at its position:
// "application.yml:7: key: message". If key has no value of its own, as a
// list item that is a map, the position is that of the first value under it.
func (b *Binder) Errorf(key string, format string, args ...any) {
	n := b.mark(key, false)
	msg := fmt.Sprintf(format, args...)
	if e := b.p.lookup(n); e != nil {
		b.add(problemAt(e, msg))
		return
	}
	var first *entry
	var rest []seg
	for _, e := range b.p.all() {
		r, ok := e.under(n)
		if ok && (first == nil || e.src < first.src || e.src == first.src && e.line < first.line) {
			first, rest = e, r
		}
	}
	if first == nil {
		b.add(&problem{key: key, msg: msg, src: srcNone})
		return
	}
	written := key
	if first.layer != layerEnv {
		written = rawOf(first.segs[:len(first.segs)-len(rest)])
	}
	b.add(&problem{where: first.Where, key: written, msg: msg, src: first.src, line: first.line})
}

// ErrorAt reports a problem at v's position, worded entirely by the caller:
// "application.yml:14: message". It suits messages that name the key their
// own way, as "spring.cloud.gateway.routes[0] (orders): predicates[1]: ...".
func (b *Binder) ErrorAt(v Value, format string, args ...any) {
	p := &problem{where: v.Where, msg: fmt.Sprintf(format, args...), src: srcNone}
	for _, e := range b.p.all() {
		if e.Where == v.Where {
			p.src, p.line = e.src, e.line
			break
		}
	}
	b.add(p)
}

// Unknown reports every key under one of prefixes, such as "eureka.server",
// that no other method was asked for, suggesting the closest known key:
//
//	application.yml:7: eureka.server.renewal-percent-treshold: unknown key; did you mean eureka.server.renewal-percent-threshold?
//
// Call it after binding everything under prefixes. Keys read with
// Props.Lookup rather than Binder.Lookup are not known.
func (b *Binder) Unknown(prefixes ...string) {
	reported := map[*entry]bool{}
	for _, prefix := range prefixes {
		pn := parseName(prefix)
		var cands []known
		seen := map[string]bool{}
		for _, k := range b.known {
			if _, ok := k.hasPrefix(pn); ok && !seen[k.canon] {
				seen[k.canon] = true
				cands = append(cands, k)
			}
		}
		for _, e := range b.p.candidates() {
			rest, ok := e.under(pn)
			if !ok || reported[e] || b.isKnown(e) {
				continue
			}
			reported[e] = true
			b.add(problemAt(e, "unknown key"+suggest(e, rest, pn, cands)))
		}
	}
}

// candidates returns every entry that Unknown checks: all of them, including
// those overridden, whose keys are as much the user's as the others.
func (p *Props) candidates() []*entry {
	all := make([]*entry, 0, len(p.files)+len(p.env)+len(p.flags))
	all = append(all, p.files...)
	all = append(all, p.env...)
	return append(all, p.flags...)
}

func (b *Binder) isKnown(e *entry) bool {
	// Exact matches first, through an index: a gateway with 10,000 routes
	// has tens of thousands of keys, and comparing each with every known
	// key took minutes.
	if len(b.known) != b.indexed {
		b.reindex()
	}
	if e.layer == layerEnv {
		if b.flats[e.flat] {
			return true
		}
	} else if b.canons[e.canon] {
		return true
	}
	candidates := b.subtrees
	if e.Value.Value == "" {
		candidates = b.known
	}
	for _, k := range candidates {
		if e.matches(k.name) {
			return true
		}
		if _, ok := e.under(k.name); ok && k.subtree {
			return true
		}
		// An empty value where the caller expects more below, as
		// "metadata-map: {}", "routes: []" or a "server:" left empty.
		if e.Value.Value == "" {
			var above bool
			if e.layer == layerEnv {
				_, above = k.hasFlatPrefix(e.name)
			} else {
				_, above = k.hasPrefix(e.name)
			}
			if above {
				return true
			}
		}
	}
	return false
}

// reindex builds the indexes isKnown uses from b.known.
func (b *Binder) reindex() {
	b.canons = make(map[string]bool, len(b.known))
	b.flats = make(map[string]bool, len(b.known))
	b.subtrees = b.subtrees[:0]
	for _, k := range b.known {
		b.canons[k.canon] = true
		b.flats[k.flat] = true
		if k.subtree {
			b.subtrees = append(b.subtrees, k)
		}
	}
	b.indexed = len(b.known)
}

// suggest returns "; did you mean KEY?" for the known key closest to e, or
// lists the known keys under prefix if there are few, or returns "".
func suggest(e *entry, rest []seg, prefix name, cands []known) string {
	env := e.layer == layerEnv
	spell := func(key string) string {
		if env {
			return envName(key)
		}
		return key
	}
	form := func(segs []seg) string {
		if env {
			return flatOf(segs)
		}
		return canonOf(segs)
	}
	typed := form(rest)
	best, bestDist := "", math.MaxInt
	for _, k := range cands {
		krest := k.segs[len(prefix.segs):]
		var d int
		var full string
		switch {
		case k.subtree && !env && len(rest) > len(krest):
			// A typo above a map: "metadat-map.zone" for metadata-map.
			d = distance(canonOf(rest[:len(krest)]), form(krest))
			full = k.key + rawTail(rest[len(krest):])
		default:
			d = distance(typed, form(krest))
			full = k.key
		}
		if d < bestDist {
			best, bestDist = full, d
		}
	}
	if best != "" && bestDist <= closeEnough(len(typed)) {
		return "; did you mean " + spell(best) + "?"
	}
	// The right name in the wrong place: "eureka.enable-self-preservation".
	if len(rest) > 0 {
		last := rest[len(rest)-1].canon
		var same []known
		for _, k := range cands {
			if len(k.segs) > 0 && k.segs[len(k.segs)-1].canon == last && !k.subtree {
				same = append(same, k)
			}
		}
		if len(same) == 1 {
			return "; did you mean " + spell(same[0].key) + "?"
		}
	}
	// List the known keys under the closest ancestor of e that has some.
	for depth := len(prefix.segs) + len(rest) - 1; depth >= len(prefix.segs); depth-- {
		scope := name{segs: append(slices.Clone(prefix.segs), rest[:depth-len(prefix.segs)]...)}
		if env {
			scope.segs = prefix.segs // the environment's elements are uncertain
			depth = len(prefix.segs)
		}
		var names []string
		for _, k := range cands {
			if _, ok := k.hasPrefix(scope); ok && len(k.segs) > len(scope.segs) {
				if env {
					names = append(names, envName(k.key))
				} else {
					names = append(names, rawOf(k.segs[len(scope.segs):]))
				}
			}
		}
		if len(names) == 0 {
			continue
		}
		if len(names) > maxListed {
			return ""
		}
		slices.Sort(names)
		if env {
			return "; known: " + strings.Join(names, ", ")
		}
		return "; known under " + rawOf(scope.segs) + ": " + strings.Join(names, ", ")
	}
	return ""
}

// maxListed is how many known keys an unknown-key error lists.
const maxListed = 8

// rawTail is rawOf(segs) as a continuation of a key: ".zone", "[0]".
func rawTail(segs []seg) string {
	if len(segs) == 0 {
		return ""
	}
	s := rawOf(segs)
	if segs[0].bracketed() {
		return s
	}
	return "." + s
}

// closeEnough is the largest edit distance that is likely a typo.
func closeEnough(n int) int {
	return min(max(n/5, 1), 3)
}

// EditDistance is the optimal string alignment distance between a and b,
// for "did you mean" suggestions.
func EditDistance(a, b string) int { return distance(a, b) }

// distance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent letters.
func distance(a, b string) int {
	if len(a) > 256 || len(b) > 256 {
		return math.MaxInt
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// Err returns nil, or a *ConfigError holding every problem reported so far,
// in order of position.
func (b *Binder) Err() error { return configError(b.probs) }
