package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// TestFilterOrder pins Spring Cloud Gateway's rule for default and route
// filters: each list is numbered from 1 and the lists are merged by number,
// defaults first on ties, so defaults [A, B] and route filters [C, D] run
// A, C, B, D. Each filter appends its letter to a request header, and the
// backend reports the order it saw.
func TestFilterOrder(t *testing.T) {
	t.Parallel()
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen", strings.Join(r.Header.Values("X-Order"), ","))
	})
	tests := []struct {
		name            string
		defaults, route []string
		want            string
	}{
		{"interleaved", []string{"A", "B"}, []string{"C", "D"}, "A,C,B,D"},
		{"more route filters", []string{"A"}, []string{"C", "D", "E"}, "A,C,D,E"},
		{"more default filters", []string{"A", "B", "C"}, []string{"D"}, "A,D,B,C"},
		{"only route filters", nil, []string{"C", "D"}, "C,D"},
		{"only default filters", []string{"A", "B"}, nil, "A,B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			list := func(letters []string) string {
				if len(letters) == 0 {
					return " []\n"
				}
				var b strings.Builder
				b.WriteString("\n")
				for _, l := range letters {
					b.WriteString("        - AddRequestHeader=X-Order, " + l + "\n")
				}
				return b.String()
			}
			text := "spring.cloud.gateway:\n" +
				"  default-filters:" + list(tt.defaults) +
				"  routes:\n" +
				"    - id: r\n" +
				"      uri: " + be.URL + "\n" +
				"      predicates: [Path=/**]\n" +
				"      filters:" + list(tt.route)
			gw := startGateway(t, text)
			code, _, hdr := get(t, nil, gw.URL+"/x")
			if code != http.StatusOK {
				t.Fatalf("GET /x = %d, want 200", code)
			}
			if got := hdr.Get("X-Seen"); got != tt.want {
				t.Errorf("defaults %v + route %v ran %s, want %s", tt.defaults, tt.route, got, tt.want)
			}
			var defs []string
			for _, f := range gw.Routes()[0].FilterDefs { // "[AddRequestHeader=X-Order, A, order = 1]"
				_, rest, _ := strings.Cut(f, "X-Order, ")
				letter, _, _ := strings.Cut(rest, ",")
				defs = append(defs, letter)
			}
			if got := strings.Join(defs, ","); got != tt.want {
				t.Errorf("/actuator/gateway/routes lists the filters as %s, want %s", got, tt.want)
			}
		})
	}
}
