package eureka

import "testing"

func TestHashCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		counts map[Status]int
		want   string
	}{
		{"all up", map[Status]int{StatusUp: 6}, "UP_6_"},
		{"sorted by status name", map[Status]int{StatusUp: 12, StatusStarting: 3, StatusDown: 1}, "DOWN_1_STARTING_3_UP_12_"},
		{"every status", map[Status]int{StatusUp: 1, StatusUnknown: 2, StatusStarting: 3, StatusOutOfService: 4, StatusDown: 5},
			"DOWN_5_OUT_OF_SERVICE_4_STARTING_3_UNKNOWN_2_UP_1_"},
		{"zero counts left out", map[Status]int{StatusUp: 0, StatusDown: 2}, "DOWN_2_"},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := HashCode(tt.counts); got != tt.want {
				t.Errorf("HashCode(%v) = %q, want %q", tt.counts, got, tt.want)
			}
		})
	}
}

func TestApplicationsHash(t *testing.T) {
	t.Parallel()
	withStatuses := func(statuses ...Status) *Application {
		app := &Application{Name: "A"}
		for _, s := range statuses {
			app.Instances = append(app.Instances, &Instance{Status: s})
		}
		return app
	}
	repeat := func(s Status, n int) []Status {
		out := make([]Status, n)
		for i := range out {
			out[i] = s
		}
		return out
	}
	tests := []struct {
		name string
		apps *Applications
		want string
	}{
		{"six up", &Applications{Applications: []*Application{withStatuses(repeat(StatusUp, 4)...), withStatuses(repeat(StatusUp, 2)...)}}, "UP_6_"},
		{"mixed across applications", &Applications{Applications: []*Application{
			withStatuses(append(repeat(StatusUp, 7), StatusDown)...),
			withStatuses(append(repeat(StatusStarting, 3), repeat(StatusUp, 5)...)...),
		}}, "DOWN_1_STARTING_3_UP_12_"},
		{"empty", &Applications{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.apps.Hash(); got != tt.want {
				t.Errorf("Hash() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHashOfSpecDocuments(t *testing.T) {
	t.Parallel()
	for file, want := range map[string]string{"apps.json": "DOWN_1_UP_2_", "apps-empty.json": ""} {
		apps, err := DecodeApplicationsJSON(readTestdata(t, file))
		if err != nil {
			t.Fatal(err)
		}
		if got := apps.Hash(); got != want || apps.AppsHashcode != want {
			t.Errorf("%s: Hash() = %q, apps__hashcode %q, want %q", file, got, apps.AppsHashcode, want)
		}
	}
}
