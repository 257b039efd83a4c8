package discovery

import (
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/eureka"
)

// pickerInstances returns n instances with ids "i0".."i(n-1)" and the given
// metadata, one map per instance (nil for none).
func pickerInstances(n int, md ...map[string]string) []*eureka.Instance {
	out := make([]*eureka.Instance, n)
	for i := range out {
		out[i] = &eureka.Instance{InstanceID: fmt.Sprintf("i%d", i), App: "APP", Status: eureka.StatusUp}
		if i < len(md) {
			out[i].Metadata = md[i]
		}
	}
	return out
}

// shares picks n times and returns each instance id's share of the picks.
func shares(p Picker, instances []*eureka.Instance, n int) map[string]float64 {
	counts := map[string]int{}
	for range n {
		in := p.Pick(instances)
		if in == nil {
			counts["<nil>"]++
			continue
		}
		counts[in.InstanceID]++
	}
	out := make(map[string]float64, len(counts))
	for id, c := range counts {
		out[id] = float64(c) / float64(n)
	}
	return out
}

func TestPickersOnEmptyAndSingle(t *testing.T) {
	t.Parallel()
	pickers := []struct {
		name string
		p    Picker
	}{
		{"RoundRobin", &RoundRobin{}},
		{"Random", Random{}},
		{"Weighted", Weighted("")},
		{"ZonePreference", ZonePreference("z1", "", nil)},
		{"ZonePreference no zone", ZonePreference("", "", Random{})},
		{"LeastOutstanding", &LeastOutstanding{}},
	}
	one := pickerInstances(1)
	for _, tt := range pickers {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Pick(nil); got != nil {
				t.Errorf("Pick(nil) = %v, want nil", got.InstanceID)
			}
			if got := tt.p.Pick([]*eureka.Instance{}); got != nil {
				t.Errorf("Pick([]) = %v, want nil", got.InstanceID)
			}
			for range 3 {
				if got := tt.p.Pick(one); got != one[0] {
					t.Fatalf("Pick(one instance) = %v, want i0", got)
				}
			}
		})
	}
}

func TestRoundRobinTakesTurns(t *testing.T) {
	t.Parallel()
	var rr RoundRobin
	in := pickerInstances(3)
	var got []string
	for range 7 {
		got = append(got, rr.Pick(in).InstanceID)
	}
	want := []string{"i0", "i1", "i2", "i0", "i1", "i2", "i0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("7 picks over 3 instances = %v, want %v", got, want)
	}
}

func TestPickerDistribution(t *testing.T) {
	t.Parallel()
	const n = 40_000
	const tolerance = 0.02
	tests := []struct {
		name      string
		p         Picker
		instances []*eureka.Instance
		want      map[string]float64
	}{
		{"RoundRobin is even", &RoundRobin{}, pickerInstances(4),
			map[string]float64{"i0": 0.25, "i1": 0.25, "i2": 0.25, "i3": 0.25}},
		{"Random is uniform", Random{}, pickerInstances(4),
			map[string]float64{"i0": 0.25, "i1": 0.25, "i2": 0.25, "i3": 0.25}},
		{"Weighted by metadata", Weighted("weight"),
			pickerInstances(3, map[string]string{"weight": "1"}, map[string]string{"weight": "3"}, map[string]string{"weight": "6"}),
			map[string]float64{"i0": 0.1, "i1": 0.3, "i2": 0.6}},
		{"Weighted: missing, bad and non-positive weights count 1", Weighted(""),
			pickerInstances(5, nil, map[string]string{"weight": "abc"}, map[string]string{"weight": "0"},
				map[string]string{"weight": "-4"}, map[string]string{"weight": "4"}),
			map[string]float64{"i0": 0.125, "i1": 0.125, "i2": 0.125, "i3": 0.125, "i4": 0.5}},
		{"Weighted with its own key", Weighted("lb.weight"),
			pickerInstances(2, map[string]string{"lb.weight": "3", "weight": "1"}, map[string]string{"weight": "9"}),
			map[string]float64{"i0": 0.75, "i1": 0.25}},
		{"ZonePreference keeps to the zone", ZonePreference("eu-1", "zone", &RoundRobin{}),
			pickerInstances(3, map[string]string{"zone": "eu-1"}, map[string]string{"zone": "us-1"}, map[string]string{"zone": "EU-1"}),
			map[string]float64{"i0": 0.5, "i2": 0.5}},
		{"ZonePreference falls back to all when none is in the zone", ZonePreference("ap-1", "", nil),
			pickerInstances(2, map[string]string{"zone": "eu-1"}, map[string]string{"zone": "us-1"}),
			map[string]float64{"i0": 0.5, "i1": 0.5}},
		{"ZonePreference without a zone uses all", ZonePreference("", "zone", Random{}),
			pickerInstances(2, map[string]string{"zone": "eu-1"}, nil),
			map[string]float64{"i0": 0.5, "i1": 0.5}},
		{"ZonePreference with its own key", ZonePreference("b", "az", nil),
			pickerInstances(3, map[string]string{"az": "a"}, map[string]string{"az": "b"}, map[string]string{"zone": "b"}),
			map[string]float64{"i1": 1}},
		{"LeastOutstanding breaks ties at random", &LeastOutstanding{}, pickerInstances(3),
			map[string]float64{"i0": 1.0 / 3, "i1": 1.0 / 3, "i2": 1.0 / 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := shares(tt.p, tt.instances, n)
			for id := range got {
				if _, ok := tt.want[id]; !ok {
					t.Errorf("picked %s %.3f of the time, want never", id, got[id])
				}
			}
			for id, w := range tt.want {
				if math.Abs(got[id]-w) > tolerance {
					t.Errorf("picked %s %.3f of the time, want %.3f ± %.2f", id, got[id], w, tolerance)
				}
			}
		})
	}
}

func TestZonePreferenceSeesANewList(t *testing.T) {
	t.Parallel()
	z := ZonePreference("a", "", nil)
	first := pickerInstances(2, map[string]string{"zone": "a"}, map[string]string{"zone": "b"})
	if got := z.Pick(first); got != first[0] {
		t.Fatalf("Pick(first) = %s, want i0", got.InstanceID)
	}
	second := pickerInstances(2, map[string]string{"zone": "b"}, map[string]string{"zone": "a"})
	for range 4 {
		if got := z.Pick(second); got != second[1] {
			t.Fatalf("Pick(second) = %s, want i1, the only one in zone a", got.InstanceID)
		}
	}
}

func TestLeastOutstandingAvoidsBusyInstances(t *testing.T) {
	t.Parallel()
	var l LeastOutstanding
	in := pickerInstances(3)
	doneA := l.Start(in[0])
	doneA2 := l.Start(in[0])
	doneB := l.Start(in[1])
	for range 20 {
		if got := l.Pick(in); got != in[2] {
			t.Fatalf("Pick with i0 busy twice and i1 once = %s, want i2", got.InstanceID)
		}
	}
	doneC := l.Start(in[2])
	doneC2 := l.Start(in[2])
	for range 20 {
		if got := l.Pick(in); got != in[1] {
			t.Fatalf("Pick with i0 and i2 busy twice, i1 once = %s, want i1", got.InstanceID)
		}
	}
	doneA()
	doneA2()
	for range 20 {
		if got := l.Pick(in); got != in[0] {
			t.Fatalf("Pick after i0's requests ended = %s, want i0", got.InstanceID)
		}
	}
	doneB()
	doneC()
	doneC2()
	got := shares(&l, in, 30_000)
	for _, x := range in {
		if math.Abs(got[x.InstanceID]-1.0/3) > 0.02 {
			t.Errorf("with nothing in flight, picked %s %.3f of the time, want 1/3", x.InstanceID, got[x.InstanceID])
		}
	}
}

func TestLeastOutstandingDropsCountersOfGoneInstances(t *testing.T) {
	t.Parallel()
	var l LeastOutstanding
	live := pickerInstances(1)[0]
	busy := &eureka.Instance{InstanceID: "busy"}
	doneBusy := l.Start(busy)
	for i := range 10 * minPruneSize {
		l.Start(&eureka.Instance{InstanceID: fmt.Sprintf("gone-%d", i)})()
		l.Start(live)()
	}
	counts := *l.counts.Load()
	if len(counts) > 4*minPruneSize {
		t.Errorf("after %d instances came and went, %d counters are kept, want at most %d", 10*minPruneSize, len(counts), 4*minPruneSize)
	}
	if counts["busy"] == nil || counts["busy"].n.Load() != 1 {
		t.Errorf("the counter of an instance with a request in flight was dropped")
	}
	if counts[live.InstanceID] == nil {
		t.Errorf("the counter of an instance in use was dropped")
	}
	doneBusy()
}

func TestPickersConcurrently(t *testing.T) {
	t.Parallel()
	in := pickerInstances(5, map[string]string{"zone": "a", "weight": "2"}, map[string]string{"zone": "a"})
	var l LeastOutstanding
	pickers := []Picker{&RoundRobin{}, Random{}, Weighted(""), ZonePreference("a", "", nil), &l}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 2000 {
				for _, p := range pickers {
					if p.Pick(in) == nil {
						t.Error("Pick returned nil for a non-empty list")
						return
					}
				}
				done := l.Start(in[i%len(in)])
				done()
			}
		})
	}
	wg.Wait()
	for id, c := range *l.counts.Load() {
		if n := c.n.Load(); n != 0 {
			t.Errorf("after every request ended, %s has %d in flight, want 0", id, n)
		}
	}
}

func TestPickDoesNotAllocate(t *testing.T) {
	in := pickerInstances(8, map[string]string{"weight": "3", "zone": "a"}, map[string]string{"zone": "a"})
	var l LeastOutstanding
	l.Start(in[0])
	pickers := []struct {
		name string
		p    Picker
	}{
		{"RoundRobin", &RoundRobin{}},
		{"Random", Random{}},
		{"Weighted", Weighted("weight")},
		{"ZonePreference", ZonePreference("a", "zone", &RoundRobin{})},
		{"LeastOutstanding", &l},
	}
	for _, tt := range pickers {
		tt.p.Pick(in) // warm up: ZonePreference remembers the list
		if n := testing.AllocsPerRun(1000, func() { tt.p.Pick(in) }); n != 0 {
			t.Errorf("%s.Pick allocates %v times per call, want 0", tt.name, n)
		}
	}
}

func BenchmarkPick(b *testing.B) {
	in := pickerInstances(16, map[string]string{"weight": "3", "zone": "a"}, map[string]string{"zone": "a"})
	for _, bc := range []struct {
		name string
		p    Picker
	}{
		{"RoundRobin", &RoundRobin{}},
		{"Random", Random{}},
		{"Weighted", Weighted("weight")},
		{"ZonePreference", ZonePreference("a", "zone", &RoundRobin{})},
		{"LeastOutstanding", &LeastOutstanding{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					bc.p.Pick(in)
				}
			})
		})
	}
}
