package predicate

import (
	"context"
	"math"
	"net/http/httptest"
	"testing"
)

// weightRoute is one route of a weight test: its ID, group and weight.
type weightRoute struct {
	id, group string
	weight    int
}

// buildWeights adds routes in order and returns their predicates.
func buildWeights(t *testing.T, routes []weightRoute) (*WeightGroups, []Predicate) {
	t.Helper()
	wg := NewWeightGroups()
	preds := make([]Predicate, len(routes))
	for i, rt := range routes {
		p, err := Weight(wg, rt.group, rt.id, rt.weight)
		if err != nil {
			t.Fatalf("Weight(%q, %q, %d): %v", rt.group, rt.id, rt.weight, err)
		}
		preds[i] = p
	}
	return wg, preds
}

func TestWeightSplit(t *testing.T) {
	t.Parallel()
	const draws = 10_000
	tests := []struct {
		name      string
		routes    []weightRoute
		want      []float64 // share of draws per route
		tolerance float64   // absolute, in shares
	}{
		{"95/5", []weightRoute{{"a", "g", 95}, {"b", "g", 5}}, []float64{0.95, 0.05}, 0.02},
		{"8/2", []weightRoute{{"a", "g", 8}, {"b", "g", 2}}, []float64{0.8, 0.2}, 0.03},
		{"1/1/2", []weightRoute{{"a", "g", 1}, {"b", "g", 1}, {"c", "g", 2}}, []float64{0.25, 0.25, 0.5}, 0.03},
		{"zero weight", []weightRoute{{"a", "g", 0}, {"b", "g", 3}}, []float64{0, 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wg, preds := buildWeights(t, tt.routes)
			counts := make([]int, len(preds))
			base := httptest.NewRequest("GET", "/", nil)
			for range draws {
				r := wg.Draw(base)
				matched := 0
				for i, p := range preds {
					if p(r) {
						counts[i]++
						matched++
					}
				}
				if matched != 1 {
					t.Fatalf("%d routes of one group matched one draw, want exactly 1", matched)
				}
			}
			for i, c := range counts {
				share := float64(c) / draws
				if math.Abs(share-tt.want[i]) > tt.tolerance {
					t.Errorf("route %q got %.3f of %d draws, want %.3f ± %.3f", tt.routes[i].id, share, draws, tt.want[i], tt.tolerance)
				}
			}
		})
	}
}

// TestWeightGroupsIndependent checks that two groups draw independently:
// each pair of routes, one per group, is picked about a quarter of the time.
func TestWeightGroupsIndependent(t *testing.T) {
	t.Parallel()
	wg, preds := buildWeights(t, []weightRoute{{"a1", "a", 1}, {"b1", "b", 1}, {"a2", "a", 1}, {"b2", "b", 1}})
	if n := wg.Len(); n != 2 {
		t.Fatalf("Len() = %d, want 2", n)
	}
	const draws = 10_000
	var pairs [2][2]int
	base := httptest.NewRequest("GET", "/", nil)
	for range draws {
		r := wg.Draw(base)
		ia, ib := 0, 0
		if preds[2](r) {
			ia = 1
		}
		if preds[3](r) {
			ib = 1
		}
		pairs[ia][ib]++
	}
	for ia := range 2 {
		for ib := range 2 {
			if share := float64(pairs[ia][ib]) / draws; math.Abs(share-0.25) > 0.03 {
				t.Errorf("groups a and b picked route %d and %d together %.3f of the time, want 0.25 ± 0.03", ia+1, ib+1, share)
			}
		}
	}
}

// TestWeightOrder checks that ranges follow the order routes were added in,
// by fixing the draw.
func TestWeightOrder(t *testing.T) {
	t.Parallel()
	_, preds := buildWeights(t, []weightRoute{{"a", "g", 1}, {"b", "g", 3}})
	r := httptest.NewRequest("GET", "/", nil)
	// Find seeds whose draw for group 0 falls at each end of [0, 4).
	var low, high uint64
	for seed := uint64(0); low == 0 || high == 0; seed++ {
		switch (&drawContext{seed: seed}).uniform(0, 4) {
		case 0:
			low = seed
		case 3:
			high = seed
		}
	}
	for _, tt := range []struct {
		seed uint64
		want [2]bool
	}{{low, [2]bool{true, false}}, {high, [2]bool{false, true}}} {
		rd := r.WithContext(&drawContext{Context: r.Context(), seed: tt.seed})
		if got := [2]bool{preds[0](rd), preds[1](rd)}; got != tt.want {
			t.Errorf("seed %d: routes a, b matched %v, want %v", tt.seed, got, tt.want)
		}
	}
}

func TestWeightWithoutDraw(t *testing.T) {
	t.Parallel()
	_, preds := buildWeights(t, []weightRoute{{"a", "g", 1}})
	if preds[0](httptest.NewRequest("GET", "/", nil)) {
		t.Error("Weight matched a request that Draw did not see, want no match")
	}
}

func TestWeightAllZero(t *testing.T) {
	t.Parallel()
	wg, preds := buildWeights(t, []weightRoute{{"a", "g", 0}, {"b", "g", 0}})
	r := wg.Draw(httptest.NewRequest("GET", "/", nil))
	if preds[0](r) || preds[1](r) {
		t.Error("a route of a group whose weights are all 0 matched, want none")
	}
}

// TestWeightPredicateBeforeLastAdd checks that a predicate built before the
// rest of its group was added sees the final ranges.
func TestWeightPredicateBeforeLastAdd(t *testing.T) {
	t.Parallel()
	wg := NewWeightGroups()
	if err := wg.Add("g", "a", 1); err != nil {
		t.Fatal(err)
	}
	pa := wg.Predicate("g", "a")
	if err := wg.Add("g", "b", 1_000_000); err != nil {
		t.Fatal(err)
	}
	hits := 0
	for range 1000 {
		if pa(wg.Draw(httptest.NewRequest("GET", "/", nil))) {
			hits++
		}
	}
	if hits > 10 {
		t.Errorf("route a (weight 1 of 1000001) matched %d of 1000 draws, want about 0", hits)
	}
}

func TestWeightDrawContext(t *testing.T) {
	t.Parallel()
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(t.Context(), key{}, "v"))
	wg, _ := buildWeights(t, []weightRoute{{"a", "g", 1}})
	r := wg.Draw(httptest.NewRequestWithContext(ctx, "GET", "/", nil))
	if got := r.Context().Value(key{}); got != "v" {
		t.Errorf("after Draw, Value(key) = %v, want v", got)
	}
	cancel()
	<-r.Context().Done() // the draw's context follows its parent
	if r.Context().Err() != context.Canceled {
		t.Errorf("after cancel, Err() = %v, want %v", r.Context().Err(), context.Canceled)
	}
}

func TestWeightDrawWithoutGroups(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/", nil)
	var nilGroups *WeightGroups
	for _, wg := range []*WeightGroups{nilGroups, NewWeightGroups(), {}} {
		if got := wg.Draw(r); got != r {
			t.Errorf("Draw on %#v returned a new request, want r itself", wg)
		}
		if n := wg.Len(); n != 0 {
			t.Errorf("Len() on %#v = %d, want 0", wg, n)
		}
	}
}

func TestWeightErrors(t *testing.T) {
	t.Parallel()
	wg := NewWeightGroups()
	if err := wg.Add("g", "a", math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		group, id string
		weight    int
		want      string
	}{
		{"g", "b", -1, "weight -1 is negative; want 0 or more"},
		{"", "", 1, "empty group\nempty route id"},
		{"g", "a", 1, `route "a" is already in weight group "g"`},
		{"g", "b", 1, `weight 1 makes group "g" add up to more than 9223372036854775807`},
	}
	for _, tt := range tests {
		err := wg.Add(tt.group, tt.id, tt.weight)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Add(%q, %q, %d) error = %v, want %q", tt.group, tt.id, tt.weight, err, tt.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error(`Predicate("g", "missing") did not panic`)
		}
	}()
	wg.Predicate("g", "missing")
}
