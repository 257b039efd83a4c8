package springconf

import "testing"

func TestSplitKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key, canon, flat, raw string
	}{
		{"eureka.server.enable-self-preservation", "eureka.server.enableselfpreservation", "eurekaserverenableselfpreservation", "eureka.server.enable-self-preservation"},
		{"eureka.server.enableSelfPreservation", "eureka.server.enableselfpreservation", "eurekaserverenableselfpreservation", "eureka.server.enableSelfPreservation"},
		{"Eureka.Server.ENABLE_SELF_PRESERVATION", "eureka.server.enableselfpreservation", "eurekaserverenableselfpreservation", "Eureka.Server.ENABLE_SELF_PRESERVATION"},
		{"spring.cloud.gateway.routes[0].predicates[1]", "spring.cloud.gateway.routes[0].predicates[1]", "springcloudgatewayroutes[0]predicates[1]", "spring.cloud.gateway.routes[0].predicates[1]"},
		{"spring.cloud.gateway.routes.0.id", "spring.cloud.gateway.routes[0].id", "springcloudgatewayroutes[0]id", "spring.cloud.gateway.routes[0].id"},
		{"a[007]", "a[7]", "a[7]", "a[7]"},
		{"cors.configurations[/**].allowed-origins", "cors.configurations[/**].allowedorigins", "corsconfigurations[/**]allowedorigins", "cors.configurations[/**].allowed-origins"},
		{"a[b.c]d", "a[b.c].d", "a[b.c]d", "a[b.c].d"},
		{"unclosed[x.y", "unclosed[x.y", "unclosed[x.y", "unclosed[x.y"},
		{"a.[", "a.[", "a[", "a.["},
		{"..a..b.", "a.b", "ab", "a.b"},
		{"", "", "", ""},
	}
	for _, tt := range tests {
		n := parseName(tt.key)
		if n.canon != tt.canon || n.flat != tt.flat {
			t.Errorf("parseName(%q) = canon %q, flat %q; want %q, %q", tt.key, n.canon, n.flat, tt.canon, tt.flat)
		}
		if got := rawOf(n.segs); got != tt.raw {
			t.Errorf("rawOf(splitKey(%q)) = %q, want %q", tt.key, got, tt.raw)
		}
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	tests := []struct{ key, want string }{
		{"eureka.server.enable-self-preservation", "EUREKA_SERVER_ENABLESELFPRESERVATION"},
		{"spring.cloud.gateway.routes[0].id", "SPRING_CLOUD_GATEWAY_ROUTES_0_ID"},
		{"server.port", "SERVER_PORT"},
	}
	for _, tt := range tests {
		if got := envName(tt.key); got != tt.want {
			t.Errorf("envName(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"port", "port", 0},
		{"port", "prot", 1},
		{"renewalpercenttreshold", "renewalpercentthreshold", 1},
		{"kitten", "sitting", 3},
		{"", "abc", 3},
	}
	for _, tt := range tests {
		if got := distance(tt.a, tt.b); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
