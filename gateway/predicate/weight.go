package predicate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"net/http"
	"slices"
)

// WeightGroups holds the Weight groups of one route table: for each group,
// its routes and weights in the order the routes were added. Build one per
// route table with NewWeightGroups and Add, then publish the table; from
// then on it is read-only and safe for concurrent use. Add must not be
// called once requests are being matched. The zero value is an empty set,
// ready to use, and Draw accepts a nil *WeightGroups.
//
// Each request draws once, before route lookup, with Draw. The draw picks
// one route per group, with probability weight/sum of the group's weights;
// the group's Weight predicates then match on that route only. See the
// package documentation for the contract.
type WeightGroups struct {
	groups []weightGroup
	index  map[string]int // group name -> position in groups
}

// A weightGroup lays its routes' weights out as consecutive ranges of
// [0, total), in the order the routes were added: route i owns
// [ends[i-1], ends[i]).
type weightGroup struct {
	name   string
	routes []string
	ends   []uint64
}

// NewWeightGroups returns an empty set of groups.
func NewWeightGroups() *WeightGroups {
	return &WeightGroups{}
}

// Len returns the number of groups; 0 for a nil *WeightGroups. A route
// table whose WeightGroups has no groups need not call Draw.
func (wg *WeightGroups) Len() int {
	if wg == nil {
		return 0
	}
	return len(wg.groups)
}

// Add puts routeID in group with weight (0 or more; 0 means the route is
// never drawn). Call it in route order: that order lays out the ranges.
func (wg *WeightGroups) Add(group, routeID string, weight int) error {
	var errs []error
	if group == "" {
		errs = append(errs, errors.New("empty group"))
	}
	if routeID == "" {
		errs = append(errs, errors.New("empty route id"))
	}
	if weight < 0 {
		errs = append(errs, fmt.Errorf("weight %d is negative; want 0 or more", weight))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if wg.index == nil {
		wg.index = make(map[string]int)
	}
	gi, ok := wg.index[group]
	if !ok {
		gi = len(wg.groups)
		wg.index[group] = gi
		wg.groups = append(wg.groups, weightGroup{name: group})
	}
	g := &wg.groups[gi]
	if slices.Contains(g.routes, routeID) {
		return fmt.Errorf("route %q is already in weight group %q", routeID, group)
	}
	var total uint64
	if n := len(g.ends); n > 0 {
		total = g.ends[n-1]
	}
	if total > math.MaxInt64-uint64(weight) {
		return fmt.Errorf("weight %d makes group %q add up to more than %d", weight, group, int64(math.MaxInt64))
	}
	g.routes = append(g.routes, routeID)
	g.ends = append(g.ends, total+uint64(weight))
	return nil
}

// Predicate returns the Weight predicate of routeID in group, which must
// have been added. It matches when the request's draw (see Draw) picked
// routeID for group, and never when the request has no draw. Routes may be
// added to the group after Predicate is called: the predicate reads the
// group's final ranges when it runs.
func (wg *WeightGroups) Predicate(group, routeID string) Predicate {
	gi, ok := wg.index[group]
	ri := -1
	if ok {
		ri = slices.Index(wg.groups[gi].routes, routeID)
	}
	if ri < 0 {
		// A programmer error: the config loader calls Add first.
		panic(fmt.Sprintf("predicate: route %q was not added to weight group %q", routeID, group))
	}
	return func(r *http.Request) bool {
		d, ok := r.Context().Value(drawKey{}).(*drawContext)
		if !ok {
			return false
		}
		g := &wg.groups[gi]
		total := g.ends[len(g.ends)-1]
		if total == 0 {
			return false
		}
		v := d.uniform(gi, total)
		var lo uint64
		if ri > 0 {
			lo = g.ends[ri-1]
		}
		return lo <= v && v < g.ends[ri]
	}
}

// Weight adds routeID to group with weight in wg and returns its predicate:
// Add followed by Predicate.
//
// Spring: Weight=group1, 8; shortcut order group, weight; expanded args
// group and weight. The route ID is the route's own.
func Weight(wg *WeightGroups, group, routeID string, weight int) (Predicate, error) {
	if err := wg.Add(group, routeID, weight); err != nil {
		return nil, err
	}
	return wg.Predicate(group, routeID), nil
}

// Draw draws this request's route in every group and returns a shallow copy
// of r whose context carries the draw, for the Weight predicates to read.
// Call it once per request, before matching routes. When wg has no groups
// it returns r itself and costs nothing; otherwise it allocates twice (the
// context and the copy of r).
//
// The draw is one 64-bit random number (math/rand/v2), from which each
// group's uniform number is derived, so the cost does not grow with the
// number of groups and the groups' draws are independent of each other.
func (wg *WeightGroups) Draw(r *http.Request) *http.Request {
	if wg == nil || len(wg.groups) == 0 {
		return r
	}
	return r.WithContext(&drawContext{Context: r.Context(), seed: rand.Uint64()})
}

// drawKey is the context key of a request's draw.
type drawKey struct{}

// drawContext carries a request's draw. It answers Value(drawKey{}) with
// itself, which saves the allocations of context.WithValue boxing a value.
type drawContext struct {
	context.Context
	seed uint64
}

func (c *drawContext) Value(key any) any {
	if key == (drawKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// uniform returns group gi's number for this draw, uniform in [0, total):
// SplitMix64 of the seed and the group, scaled without division.
func (c *drawContext) uniform(gi int, total uint64) uint64 {
	x := c.seed + uint64(gi+1)*0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	hi, _ := bits.Mul64(x, total)
	return hi
}
