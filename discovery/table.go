package discovery

import (
	"iter"
	"maps"
)

// tableShards is how many maps a table is split into.
const tableShards = 64

// table is an immutable map from names to values. It is split into shards by
// a hash of the name, so that a copy with a few names changed shares the
// shards of every other name: a change to one application of 10,000 copies
// about 150 map entries, not 10,000. The zero table is empty. Lookups do not
// allocate.
type table[V any] struct {
	shards [tableShards]map[string]V
	n      int
}

// shardOf hashes name with 32-bit FNV-1a. Names come from the registry, and
// an unlucky spread only makes changes copy more.
func shardOf(name string) int {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	return int(h % tableShards)
}

func (t *table[V]) get(name string) (V, bool) {
	v, ok := t.shards[shardOf(name)][name]
	return v, ok
}

func (t *table[V]) len() int { return t.n }

// all yields every name and value, in no particular order.
func (t *table[V]) all() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		for _, m := range t.shards {
			for k, v := range m {
				if !yield(k, v) {
					return
				}
			}
		}
	}
}

// tableEdit makes a changed copy of a table, copying each shard on its first
// change. Call done for the copy; the table edited is never changed.
type tableEdit[V any] struct {
	t      table[V]
	copied [tableShards]bool
}

func (t *table[V]) edit() *tableEdit[V] { return &tableEdit[V]{t: *t} }

func (e *tableEdit[V]) shard(name string) map[string]V {
	i := shardOf(name)
	if !e.copied[i] {
		e.copied[i] = true
		m := maps.Clone(e.t.shards[i])
		if m == nil {
			m = make(map[string]V)
		}
		e.t.shards[i] = m
	}
	return e.t.shards[i]
}

func (e *tableEdit[V]) set(name string, v V) {
	m := e.shard(name)
	if _, ok := m[name]; !ok {
		e.t.n++
	}
	m[name] = v
}

func (e *tableEdit[V]) delete(name string) {
	if _, ok := e.t.get(name); !ok {
		return
	}
	delete(e.shard(name), name)
	e.t.n--
}

func (e *tableEdit[V]) done() table[V] { return e.t }
