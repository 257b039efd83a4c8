package springconf

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// load loads text as application.yml (none if text is "") and environ.
func load(t *testing.T, text string, environ ...string) *Props {
	t.Helper()
	file := ""
	if text != "" {
		file = writeFile(t, "application.yml", text)
	}
	p, err := Load(file, environ, nil)
	if err != nil {
		t.Fatalf("Load(%q, %q): %v", text, environ, err)
	}
	return p
}

func unitInterval(f float64) string {
	if f <= 0 || f > 1 {
		return "out of range; want a value in (0, 1]"
	}
	return ""
}

func TestBinder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		env  []string
		bind func(b *Binder) any // binds and returns the result
		want any
		err  string // the whole of b.Err(), or ""
	}{
		// String
		{
			name: "string",
			yaml: "eureka.instance.hostName: peer1\n",
			bind: func(b *Binder) any { s := "x"; b.String("eureka.instance.hostname", &s); return s },
			want: "peer1",
		},
		{
			name: "string absent keeps the default",
			yaml: "a: 1\n",
			bind: func(b *Binder) any { s := "x"; b.String("eureka.instance.hostname", &s); return s },
			want: "x",
		},
		{
			name: "string empty is empty",
			yaml: "eureka.instance.hostname:\n",
			bind: func(b *Binder) any { s := "x"; b.String("eureka.instance.hostname", &s); return s },
			want: "",
		},

		// Bool
		{
			name: "bool",
			yaml: "a: true\nb: FALSE\nc: on\nd: no\ne: 1\nf:\n",
			bind: func(b *Binder) any {
				v := []bool{false, true, false, true, false, true}
				for i, k := range []string{"a", "b", "c", "d", "e", "f"} {
					b.Bool(k, &v[i])
				}
				return v
			},
			want: []bool{true, false, true, false, true, true},
		},
		{
			name: "bool error",
			yaml: "eureka:\n  server:\n    enable-self-preservation: \"yes please\"\n",
			bind: func(b *Binder) any { v := true; b.Bool("eureka.server.enable-self-preservation", &v); return v },
			want: true,
			err:  `application.yml:3: eureka.server.enable-self-preservation: "yes please" is not a boolean; want true or false`,
		},
		{
			name: "bool error from the environment",
			env:  []string{"EUREKA_SERVER_ENABLESELFPRESERVATION=maybe"},
			bind: func(b *Binder) any { v := true; b.Bool("eureka.server.enable-self-preservation", &v); return v },
			want: true,
			err:  `EUREKA_SERVER_ENABLESELFPRESERVATION: "maybe" is not a boolean; want true or false`,
		},

		// Int
		{
			name: "int",
			yaml: "server.port: 8080\n",
			bind: func(b *Binder) any { v := 8761; b.Int("server.port", &v, 0, 65535); return v },
			want: 8080,
		},
		{
			name: "int out of range",
			yaml: "server.port: 70000\n",
			bind: func(b *Binder) any { v := 8761; b.Int("server.port", &v, 0, 65535); return v },
			want: 8761,
			err:  "application.yml:1: server.port: 70000 is out of range; want 0 to 65535",
		},
		{
			name: "int not a number",
			yaml: "server.port: 80a\n",
			bind: func(b *Binder) any { v := 8761; b.Int("server.port", &v, 0, 65535); return v },
			want: 8761,
			err:  `application.yml:1: server.port: "80a" is not a whole number`,
		},
		{
			name: "int overflows",
			yaml: "server.port: 99999999999999999999\n",
			bind: func(b *Binder) any { v := 8761; b.Int("server.port", &v, 0, 65535); return v },
			want: 8761,
			err:  "application.yml:1: server.port: 99999999999999999999 is out of range; want 0 to 65535",
		},
		{
			name: "int bounded on one side",
			yaml: "a: 0\nb: 11\n",
			bind: func(b *Binder) any {
				x, y := 5, 5
				b.Int("a", &x, 1, math.MaxInt)
				b.Int("b", &y, math.MinInt, 10)
				return []int{x, y}
			},
			want: []int{5, 5},
			err: "application.yml:1: a: 0 is out of range; want at least 1\n" +
				"application.yml:2: b: 11 is out of range; want at most 10",
		},

		// Float
		{
			name: "float",
			yaml: "eureka.server.renewal-percent-threshold: 0.5\n",
			bind: func(b *Binder) any {
				v := 0.85
				b.Float("eureka.server.renewal-percent-threshold", &v, unitInterval)
				return v
			},
			want: 0.5,
		},
		{
			name: "float rejected by check",
			yaml: "eureka:\n  server:\n    renewal-percent-threshold: 1.5\n",
			bind: func(b *Binder) any {
				v := 0.85
				b.Float("eureka.server.renewal-percent-threshold", &v, unitInterval)
				return v
			},
			want: 0.85,
			err:  "application.yml:3: eureka.server.renewal-percent-threshold: 1.5 is out of range; want a value in (0, 1]",
		},
		{
			name: "float not a number",
			yaml: "a: abc\nb: NaN\nc: 1e400\n",
			bind: func(b *Binder) any {
				v := []float64{1, 2, 3}
				b.Float("a", &v[0], nil)
				b.Float("b", &v[1], nil)
				b.Float("c", &v[2], nil)
				return v
			},
			want: []float64{1, 2, 3},
			err: `application.yml:1: a: "abc" is not a number` + "\n" +
				`application.yml:2: b: "NaN" is not a number` + "\n" +
				`application.yml:3: c: "1e400" is not a number`,
		},

		// Millis and Seconds
		{
			name: "millis",
			yaml: "eureka.server.eviction-interval-timer-in-ms: 60000\n",
			bind: func(b *Binder) any {
				v := time.Second
				b.Millis("eureka.server.eviction-interval-timer-in-ms", &v, time.Millisecond)
				return v
			},
			want: time.Minute,
		},
		{
			name: "millis with a unit",
			env:  []string{"EUREKA_SERVER_EVICTIONINTERVALTIMERINMS=60s"},
			bind: func(b *Binder) any {
				v := time.Second
				b.Millis("eureka.server.eviction-interval-timer-in-ms", &v, time.Millisecond)
				return v
			},
			want: time.Second,
			err:  `EUREKA_SERVER_EVICTIONINTERVALTIMERINMS: "60s" is not a whole number of milliseconds`,
		},
		{
			name: "millis below the minimum and too big",
			yaml: "a: 500\nb: 9223372036854775807\n",
			bind: func(b *Binder) any {
				x, y := time.Second, time.Second
				b.Millis("a", &x, time.Second)
				b.Millis("b", &y, 0)
				return []time.Duration{x, y}
			},
			want: []time.Duration{time.Second, time.Second},
			err: "application.yml:1: a: 500 is out of range; want at least 1000\n" +
				"application.yml:2: b: 9223372036854775807 is out of range; want at most 9223372036854",
		},
		{
			name: "seconds",
			yaml: "a: 90\nb: 1.5\nc: 0\n",
			bind: func(b *Binder) any {
				v := []time.Duration{1, 2, 3}
				b.Seconds("a", &v[0], time.Second)
				b.Seconds("b", &v[1], time.Second)
				b.Seconds("c", &v[2], time.Second)
				return v
			},
			want: []time.Duration{90 * time.Second, 2, 3},
			err: `application.yml:2: b: "1.5" is not a whole number of seconds` + "\n" +
				"application.yml:3: c: 0 is out of range; want at least 1",
		},

		// Duration
		{
			name: "durations",
			yaml: "a: 30s\nb: 500ms\nc: 2m\nd: 1500\ne: 1d\nf: PT1M30S\ng: -5s\nh: pt0.5s\ni: 10US\nj: P1DT1H\nk: \" 3h \"\n",
			bind: func(b *Binder) any {
				var v []time.Duration
				for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"} {
					var d time.Duration
					b.Duration(k, &d)
					v = append(v, d)
				}
				return v
			},
			want: []time.Duration{
				30 * time.Second, 500 * time.Millisecond, 2 * time.Minute, 1500 * time.Millisecond,
				24 * time.Hour, 90 * time.Second, -5 * time.Second, 500 * time.Millisecond,
				10 * time.Microsecond, 25 * time.Hour, 3 * time.Hour,
			},
		},
		{
			name: "duration errors",
			yaml: "a: 30 sec\nb: 5y\nc: PT\nd: 1.5s\ne: 9999999999999d\n",
			bind: func(b *Binder) any {
				v := []time.Duration{1, 1, 1, 1, 1}
				for i, k := range []string{"a", "b", "c", "d", "e"} {
					b.Duration(k, &v[i])
				}
				return v
			},
			want: []time.Duration{1, 1, 1, 1, 1},
			err: `application.yml:1: a: "30 sec" is not a duration; want a whole number and a unit (ns, us, ms, s, m, h, d), e.g. "30s"` + "\n" +
				`application.yml:2: b: "5y" is not a duration; want a whole number and a unit (ns, us, ms, s, m, h, d), e.g. "30s"` + "\n" +
				`application.yml:3: c: "PT" is not a duration; want a whole number and a unit (ns, us, ms, s, m, h, d), e.g. "30s"` + "\n" +
				`application.yml:4: d: "1.5s" is not a duration; want a whole number and a unit (ns, us, ms, s, m, h, d), e.g. "30s"` + "\n" +
				`application.yml:5: e: "9999999999999d" is out of range; want at most 292 years`,
		},

		// Enum
		{
			name: "enum by relaxed name",
			yaml: "picker: ROUND_ROBIN\n",
			bind: func(b *Binder) any { v := "random"; b.Enum("picker", &v, "random", "round-robin"); return v },
			want: "round-robin",
		},
		{
			name: "enum error lists the values",
			yaml: "picker: fastest\n",
			bind: func(b *Binder) any { v := "random"; b.Enum("picker", &v, "random", "round-robin"); return v },
			want: "random",
			err:  `application.yml:1: picker: "fastest" is not allowed; want one of random, round-robin`,
		},

		// StringList
		{
			name: "string list from commas",
			yaml: "a: \"x, y ,,z\"\n",
			bind: func(b *Binder) any { var v []string; b.StringList("a", &v); return v },
			want: []string{"x", "y", "z"},
		},
		{
			name: "string list from a list",
			yaml: "a:\n  - x\n  - y, z\n",
			bind: func(b *Binder) any { var v []string; b.StringList("a", &v); return v },
			want: []string{"x", "y, z"},
		},
		{
			name: "string list empty",
			yaml: "a: []\nb: \"\"\n",
			bind: func(b *Binder) any {
				x, y := []string{"default"}, []string{"default"}
				b.StringList("a", &x)
				b.StringList("b", &y)
				return [][]string{x, y}
			},
			want: [][]string{{}, {}},
		},
		{
			name: "string list absent keeps the default",
			yaml: "b: 1\n",
			bind: func(b *Binder) any { v := []string{"d"}; b.StringList("a", &v); return v },
			want: []string{"d"},
		},
		{
			name: "string list: the environment's value replaces the file's list",
			yaml: "spring.profiles.group:\n  - x\n  - y\n",
			env:  []string{"SPRING_PROFILES_GROUP=p,q"},
			bind: func(b *Binder) any { var v []string; b.StringList("spring.profiles.group", &v); return v },
			want: []string{"p", "q"},
		},
		{
			name: "string list: the environment's items join the file's list",
			yaml: "switchboard.list:\n  - x\n  - y\n",
			env:  []string{"SWITCHBOARD_LIST_1=Y", "SWITCHBOARD_LIST_2=z"},
			bind: func(b *Binder) any { var v []string; b.StringList("switchboard.list", &v); return v },
			want: []string{"x", "Y", "z"},
		},
		{
			name: "string list of maps",
			yaml: "a:\n  - x\n  - name: y\n    args: z\n",
			bind: func(b *Binder) any { v := []string{"d"}; b.StringList("a", &v); b.Unknown("a"); return v },
			want: []string{"d"},
			err:  "application.yml:3: a[1]: want a single value, not a list or map",
		},
		{
			name: "string list that is a map",
			yaml: "a:\n  x: 1\n  y: 2\n",
			bind: func(b *Binder) any { v := []string{"d"}; b.StringList("a", &v); b.Unknown("a"); return v },
			want: []string{"d"},
			err:  "application.yml:2: a: want a list or comma-separated values, not a map",
		},

		// Map
		{
			name: "map as written",
			yaml: "eureka.instance.metadata-map:\n  zone: eu\n  someKey: 1\n  management.port: 8081\n",
			bind: func(b *Binder) any {
				var m map[string]string
				b.Map("eureka.instance.metadataMap", &m)
				b.Unknown("eureka")
				return m
			},
			want: map[string]string{"zone": "eu", "someKey": "1", "management.port": "8081"},
		},
		{
			name: "map from the environment",
			yaml: "eureka.client.service-url.defaultZone: http://file\n",
			env: []string{
				"EUREKA_CLIENT_SERVICEURL_DEFAULTZONE=http://env",
				"EUREKA_CLIENT_SERVICE_URL_EU_WEST=http://eu",
			},
			bind: func(b *Binder) any {
				var m map[string]string
				b.Map("eureka.client.service-url", &m)
				b.Unknown("eureka")
				return m
			},
			want: map[string]string{"defaultZone": "http://env", "eu.west": "http://eu"},
		},
		{
			name: "map with bracketed keys",
			yaml: "routes:\n  '[/api/**]': a\n  '[/x.y]': b\n  0: c\n  '[/z]': {d: e}\n",
			bind: func(b *Binder) any { var m map[string]string; b.Map("routes", &m); return m },
			want: map[string]string{"/api/**": "a", "/x.y": "b", "0": "c", "/z.d": "e"},
		},
		{
			name: "map empty",
			yaml: "eureka.instance.metadata-map: {}\n",
			bind: func(b *Binder) any {
				m := map[string]string{"d": "d"}
				b.Map("eureka.instance.metadata-map", &m)
				b.Unknown("eureka")
				return m
			},
			want: map[string]string{},
		},
		{
			name: "map absent keeps the default",
			yaml: "a: 1\n",
			bind: func(b *Binder) any { m := map[string]string{"d": "d"}; b.Map("m", &m); return m },
			want: map[string]string{"d": "d"},
		},
		{
			name: "map that is a value",
			yaml: "eureka.instance.metadata-map: zone=eu\n",
			bind: func(b *Binder) any { var m map[string]string; b.Map("eureka.instance.metadata-map", &m); return m },
			want: map[string]string(nil),
			err:  `application.yml:1: eureka.instance.metadata-map: "zone=eu" is not a map; want keys and values under it`,
		},

		// Lookup, List, Errorf, ErrorAt
		{
			name: "lookup and errorf on a list of maps",
			yaml: `spring:
  cloud:
    gateway:
      routes:
        - id: orders
          predicates:
            - Path=/orders/**
        - uri: lb://USERS
`,
			env: []string{"SPRING_CLOUD_GATEWAY_ROUTES_2_ID=extra"},
			bind: func(b *Binder) any {
				var ids []string
				for _, i := range b.List("spring.cloud.gateway.routes") {
					route := "spring.cloud.gateway.routes[" + i + "]"
					id, ok := b.Lookup(route + ".id")
					if !ok {
						b.Errorf(route, "no id")
					}
					if _, ok := b.Lookup(route + ".uri"); !ok {
						b.Errorf(route, "no uri")
					}
					for _, j := range b.List(route + ".predicates") {
						v, _ := b.Lookup(route + ".predicates[" + j + "]")
						b.ErrorAt(v, "%s (%s): predicates[%s]: %s: unknown predicate", route, id.Value, j, v.Value)
					}
					ids = append(ids, id.Value)
				}
				b.Errorf("spring.cloud.gateway.default-filters", "missing")
				b.Unknown("spring.cloud.gateway")
				return ids
			},
			want: []string{"orders", "", "extra"},
			err: "application.yml:5: spring.cloud.gateway.routes[0]: no uri\n" +
				"application.yml:7: spring.cloud.gateway.routes[0] (orders): predicates[0]: Path=/orders/**: unknown predicate\n" +
				"application.yml:8: spring.cloud.gateway.routes[1]: no id\n" +
				"SPRING_CLOUD_GATEWAY_ROUTES_2_ID: spring.cloud.gateway.routes[2]: no uri\n" +
				"spring.cloud.gateway.default-filters: missing",
		},
		{
			name: "placeholder set by a flag that cannot be resolved",
			yaml: "a: 1\n",
			bind: func(b *Binder) any {
				b.p.Set("server.port", "${PORT}", "--port")
				v := 1
				b.Int("server.port", &v, 0, 65535)
				return v
			},
			want: 1,
			err:  `--port: server.port: "${PORT}" has no value; define PORT or write "${PORT:default}"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := NewBinder(load(t, tt.yaml, tt.env...))
			got := tt.bind(b)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("bound %#v, want %#v", got, tt.want)
			}
			err := b.Err()
			if tt.err == "" {
				if err != nil {
					t.Errorf("Err() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Err() = nil, want:\n%s", tt.err)
			}
			if got := err.Error(); got != tt.err {
				t.Errorf("Err():\n%s\nwant:\n%s", got, tt.err)
			}
		})
	}
}

func TestUnknown(t *testing.T) {
	t.Parallel()
	text := `server:
  port: 8761
eureka:
  server:
    enable-self-preservation: false
    renewal-percent-treshold: 0.5
    use-read-only-response-cache: false
  enable-self-preservation: true
  instance:
    metdata-map:
      zone: eu
    metadata-map:
      version: 2
  client:
spring:
  application.name: registry
  config.activate.on-profile: default
  cloud.gateway.routes: []
logging.level.root: INFO
`
	tests := []struct {
		name     string
		env      []string
		prefixes []string
		want     string
	}{
		{
			name:     "eureka",
			prefixes: []string{"eureka"},
			want: "application.yml:6: eureka.server.renewal-percent-treshold: unknown key; did you mean eureka.server.renewal-percent-threshold?\n" +
				"application.yml:8: eureka.enable-self-preservation: unknown key; did you mean eureka.server.enable-self-preservation?\n" +
				"application.yml:11: eureka.instance.metdata-map.zone: unknown key; did you mean eureka.instance.metadata-map.zone?",
		},
		{
			name:     "a few known keys are listed",
			prefixes: []string{"server"},
			env:      []string{"SERVER_ADDRESS=0.0.0.0", "SERVER_PORT=1"},
			want:     "SERVER_ADDRESS: unknown key; known: SERVER_PORT",
		},
		{
			name:     "environment",
			prefixes: []string{"eureka"},
			env: []string{
				"EUREKA_SERVER_RENEWALPERCENTTHRESHHOLD=0.5",
				"EUREKA_SERVER_RENEWAL_PERCENT_THRESHOLD=0.5",
				"EUREKA_INSTANCE_METADATAMAP_ANYTHING=x",
				"EUREKA_INSTANCE_METADATA_MAP_ANYTHING=x",
			},
			want: "application.yml:6: eureka.server.renewal-percent-treshold: unknown key; did you mean eureka.server.renewal-percent-threshold?\n" +
				"application.yml:8: eureka.enable-self-preservation: unknown key; did you mean eureka.server.enable-self-preservation?\n" +
				"application.yml:11: eureka.instance.metdata-map.zone: unknown key; did you mean eureka.instance.metadata-map.zone?\n" +
				"EUREKA_SERVER_RENEWALPERCENTTHRESHHOLD: unknown key; did you mean EUREKA_SERVER_RENEWALPERCENTTHRESHOLD?",
		},
		{
			name:     "keys outside the prefixes pass, profile keys are known",
			prefixes: []string{"spring.config", "spring.profiles"},
			env:      []string{"SPRING_PROFILES_ACTIVE=default"},
		},
		{
			name:     "empty lists and maps where keys are expected",
			prefixes: []string{"spring.cloud.gateway", "eureka.client"},
		},
		{
			name:     "logging",
			prefixes: []string{"logging"},
			want:     "application.yml:19: logging.level.root: unknown key",
		},
		{
			name:     "unknown key with no known keys",
			prefixes: []string{"spring.application"},
			want:     "application.yml:16: spring.application.name: unknown key",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := NewBinder(load(t, text, tt.env...))
			var port int
			var esp bool
			var rpt float64
			var md map[string]string
			b.Int("server.port", &port, 0, 65535)
			b.Bool("eureka.server.enable-self-preservation", &esp)
			b.Float("eureka.server.renewal-percent-threshold", &rpt, nil)
			b.Ignore("eureka.server.use-read-only-response-cache")
			b.Map("eureka.instance.metadata-map", &md)
			var routes []string
			b.StringList("spring.cloud.gateway.routes", &routes)
			b.Lookup("eureka.client.service-url.defaultZone")
			b.Unknown(tt.prefixes...)
			err := b.Err()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Unknown(%q): %v, want no error", tt.prefixes, err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("Unknown(%q):\n%v\nwant:\n%s", tt.prefixes, err, tt.want)
			}
		})
	}
}

func TestUnknownLists(t *testing.T) {
	t.Parallel()
	b := NewBinder(load(t, "eureka.server.a: 1\neureka.server.zzzzzz: 1\n"))
	var s string
	keys := []string{"eureka.server.a", "eureka.server.bbbbbbbb", "eureka.server.cccccccc"}
	for _, k := range keys {
		b.String(k, &s)
	}
	b.Unknown("eureka.server")
	want := "application.yml:2: eureka.server.zzzzzz: unknown key; known under eureka.server: a, bbbbbbbb, cccccccc"
	if err := b.Err(); err == nil || err.Error() != want {
		t.Errorf("Err() = %v, want %s", err, want)
	}

	// With many known keys and none close, none are listed.
	b = NewBinder(load(t, "eureka.server.zzzzzz: 1\n"))
	for _, k := range strings.Fields("a b c d e f g h i j") {
		b.String("eureka.server."+k+"-long-name", &s)
	}
	b.Unknown("eureka.server")
	want = "application.yml:1: eureka.server.zzzzzz: unknown key"
	if err := b.Err(); err == nil || err.Error() != want {
		t.Errorf("Err() = %v, want %s", err, want)
	}
}

// TestErrAllAtOnce checks that every problem is reported, in order of
// position whatever the order of binding: the file by line, then the
// environment, then flags, then problems without a position.
func TestErrAllAtOnce(t *testing.T) {
	t.Parallel()
	p := load(t, `server:
  port: 70000
eureka:
  server:
    enable-self-preservation: "yes please"
    renewal-percent-threshold: 1.5
    eviction-interval-timer-in-ms: 60000
    bogus: 1
`, "EUREKA_SERVER_EVICTIONINTERVALTIMERINMS=60s", "EUREKA_INSTANCE_LEASERENEWALINTERVALINSECONDS=-1")
	p.Set("eureka.instance.hostname", "", "--hostname")
	b := NewBinder(p)
	var cfg struct {
		port      int
		esp       bool
		rpt       float64
		evict     time.Duration
		renew     time.Duration
		hostname  string
		picker    string
		unrelated string
	}
	b.Seconds("eureka.instance.lease-renewal-interval-in-seconds", &cfg.renew, time.Second)
	b.Millis("eureka.server.eviction-interval-timer-in-ms", &cfg.evict, time.Second)
	b.Float("eureka.server.renewal-percent-threshold", &cfg.rpt, unitInterval)
	b.Errorf("eureka.instance.hostname", "must not be empty")
	b.Errorf("switchboard.picker", "no picker")
	b.Bool("eureka.server.enable-self-preservation", &cfg.esp)
	b.Int("server.port", &cfg.port, 0, 65535)
	b.Unknown("eureka")
	err := b.Err()
	want := []string{
		"application.yml:2: server.port: 70000 is out of range; want 0 to 65535",
		`application.yml:5: eureka.server.enable-self-preservation: "yes please" is not a boolean; want true or false`,
		"application.yml:6: eureka.server.renewal-percent-threshold: 1.5 is out of range; want a value in (0, 1]",
		"application.yml:8: eureka.server.bogus: unknown key; known under eureka.server: enable-self-preservation, eviction-interval-timer-in-ms, renewal-percent-threshold",
		"EUREKA_INSTANCE_LEASERENEWALINTERVALINSECONDS: -1 is out of range; want at least 1",
		`EUREKA_SERVER_EVICTIONINTERVALTIMERINMS: "60s" is not a whole number of milliseconds`,
		"--hostname: eureka.instance.hostname: must not be empty",
		"switchboard.picker: no picker",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("Err():\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	ce, ok := errors.AsType[*ConfigError](err)
	if !ok || len(ce.Problems) != len(want) {
		t.Fatalf("Err() = %T with %d problems, want *ConfigError with %d", err, len(ce.Problems), len(want))
	}
	for i, p := range ce.Problems {
		if p.Error() != want[i] {
			t.Errorf("Problems[%d] = %q, want %q", i, p, want[i])
		}
	}
}

func TestErrNil(t *testing.T) {
	t.Parallel()
	b := NewBinder(load(t, "server.port: 1\n"))
	var port int
	b.Int("server.port", &port, 0, 65535)
	b.Unknown("server")
	if err := b.Err(); err != nil {
		t.Errorf("Err() = %v (%T), want nil", err, err)
	}
}
