//go:build race

package predicate

// raceEnabled is true under the race detector, whose sync.Pool drops items
// at random, so that regexp matching sometimes allocates.
const raceEnabled = true
