package springconf

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// dump returns p's values as "key=value @where", sorted by key.
func dump(p *Props) []string {
	var out []string
	for _, v := range p.Values() {
		out = append(out, fmt.Sprintf("%s=%s @%s", v.Key, v.Value, v.Where))
	}
	return out
}

func diffLines(t *testing.T, call string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	t.Errorf("%s:\ngot:\n\t%s\nwant:\n\t%s", call, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
}

func TestParseYAML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		profiles []string
		want     []string
	}{
		{
			name: "nested maps",
			text: `eureka:
  server:
    enable-self-preservation: false
    renewal-percent-threshold: 0.85
server:
  port: 8761
`,
			want: []string{
				"eureka.server.enable-self-preservation=false @application.yml:3",
				"eureka.server.renewal-percent-threshold=0.85 @application.yml:4",
				"server.port=8761 @application.yml:6",
			},
		},
		{
			name: "dotted keys at any level",
			text: `eureka.server.enable-self-preservation: false
eureka:
  client.service-url: {defaultZone: "http://a:8761/eureka/"}
`,
			want: []string{
				"eureka.client.service-url.defaultZone=http://a:8761/eureka/ @application.yml:3",
				"eureka.server.enable-self-preservation=false @application.yml:1",
			},
		},
		{
			name: "lists of scalars and of maps",
			text: `spring:
  cloud:
    gateway:
      routes:
        - id: orders
          uri: lb://ORDERS
          predicates:
            - Path=/orders/**
            - name: Method
              args:
                methods: GET
        - id: users
`,
			want: []string{
				"spring.cloud.gateway.routes[0].id=orders @application.yml:5",
				"spring.cloud.gateway.routes[0].predicates[0]=Path=/orders/** @application.yml:8",
				"spring.cloud.gateway.routes[0].predicates[1].args.methods=GET @application.yml:11",
				"spring.cloud.gateway.routes[0].predicates[1].name=Method @application.yml:9",
				"spring.cloud.gateway.routes[0].uri=lb://ORDERS @application.yml:6",
				"spring.cloud.gateway.routes[1].id=users @application.yml:12",
			},
		},
		{
			name: "scalars as written, null and empty collections as empty",
			text: `a: 010
b: ~
c:
d: "null"
e: []
f: {}
g: yes
h: |
  two
  lines
i: 1.50
`,
			want: []string{
				"a=010 @application.yml:1",
				"b= @application.yml:2",
				"c= @application.yml:3",
				"d=null @application.yml:4",
				"e= @application.yml:5",
				"f= @application.yml:6",
				"g=yes @application.yml:7",
				"h=two\nlines\n @application.yml:8",
				"i=1.50 @application.yml:11",
			},
		},
		{
			name: "anchors, aliases and merge keys",
			text: `defaults: &d
  timeout: 5s
  retries: 3
a:
  <<: *d
  retries: 5
b: *d
`,
			want: []string{
				"a.retries=5 @application.yml:6",
				"a.timeout=5s @application.yml:2",
				"b.retries=3 @application.yml:3",
				"b.timeout=5s @application.yml:2",
				"defaults.retries=3 @application.yml:3",
				"defaults.timeout=5s @application.yml:2",
			},
		},
		{
			name: "bracketed map keys keep their dots",
			text: `spring.cloud.gateway.globalcors.cors-configurations:
  '[/**]':
    allowed-origins: "*"
`,
			want: []string{
				"spring.cloud.gateway.globalcors.cors-configurations[/**].allowed-origins=* @application.yml:3",
			},
		},
		{
			name: "later documents override earlier ones",
			text: `server.port: 8761
eureka.instance.hostname: a
---
server.port: 8762
`,
			want: []string{
				"eureka.instance.hostname=a @application.yml:2",
				"server.port=8762 @application.yml:4",
			},
		},
		{
			name: "profile documents apply only when active",
			text: `server.port: 8761
---
spring.config.activate.on-profile: peer1
server.port: 8762
---
spring:
  profiles: peer2
server.port: 8763
`,
			profiles: []string{"peer2"},
			want: []string{
				"server.port=8763 @application.yml:8",
				"spring.profiles=peer2 @application.yml:7",
			},
		},
		{
			name: "no profile given means the profile default",
			text: `server.port: 8761
---
spring.config.activate.on-profile: default
server.port: 1
---
spring.config.activate.on-profile: prod
server.port: 2
`,
			want: []string{
				"server.port=1 @application.yml:4",
				"spring.config.activate.on-profile=default @application.yml:3",
			},
		},
		{
			name: "the file's spring.profiles.active when none is given",
			text: `spring.profiles.active: dev
server.port: 8761
---
spring.config.activate.on-profile: dev
server.port: 1
`,
			want: []string{
				"server.port=1 @application.yml:5",
				"spring.config.activate.on-profile=dev @application.yml:4",
				"spring.profiles.active=dev @application.yml:1",
			},
		},
		{
			name: "given profiles beat the file's spring.profiles.active",
			text: `spring.profiles.active: dev
server.port: 8761
---
spring.config.activate.on-profile: dev
server.port: 1
`,
			profiles: []string{"prod"},
			want: []string{
				"server.port=8761 @application.yml:2",
				"spring.profiles.active=dev @application.yml:1",
			},
		},
		{
			name: "profile expressions and lists",
			text: `a: 0
---
spring.config.activate.on-profile: "prod & !eu"
a: 1
---
spring.config.activate.on-profile: [test, "(eu | us) & prod"]
b: 2
---
spring.config.activate.on-profile: dev,prod
c: 3
---
spring.config.activate.on-cloud-platform: kubernetes
d: 4
`,
			profiles: []string{"prod", "us"},
			want: []string{
				"a=1 @application.yml:4",
				"b=2 @application.yml:7",
				"c=3 @application.yml:10",
				"spring.config.activate.on-profile=dev,prod @application.yml:9",
				"spring.config.activate.on-profile[0]=test @application.yml:6",
				"spring.config.activate.on-profile[1]=(eu | us) & prod @application.yml:6",
			},
		},
		{
			name: "a later list replaces the whole list",
			text: `routes:
  - id: a
    uri: http://a
  - id: b
  - id: c
names: [x, y]
---
routes:
  - id: z
names: []
`,
			want: []string{
				"names= @application.yml:10",
				"routes[0].id=z @application.yml:9",
			},
		},
		{
			name: "empty documents",
			text: "---\n# nothing\n---\na: 1\n---\n",
			want: []string{"a=1 @application.yml:4"},
		},
		{
			name: "empty file",
			text: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse("config/application.yml", []byte(tt.text), tt.profiles)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			diffLines(t, "Parse", dump(p), tt.want)
		})
	}
}

func TestParseProperties(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		profiles []string
		want     []string
	}{
		{
			name: "separators and comments",
			text: `# comment
! also a comment
server.port=8761
eureka.instance.hostname: localhost
eureka.client.register-with-eureka false
  spaced   =   value with spaces
empty=
alone
a=b=c
`,
			want: []string{
				"a=b=c @application.properties:9",
				"alone= @application.properties:8",
				"empty= @application.properties:7",
				"eureka.client.register-with-eureka=false @application.properties:5",
				"eureka.instance.hostname=localhost @application.properties:4",
				"server.port=8761 @application.properties:3",
				"spaced=value with spaces @application.properties:6",
			},
		},
		{
			name: "continuations and escapes",
			text: "list=a,\\\n     b,\\\n  c\n" +
				`key\ with\ spaces=1
k\:colon=2
tab=a\tb
unicode=caf\u00e9 \uD83D\uDE00
backslash=C:\\path
odd=ends with two\\
next=3
`,
			want: []string{
				"backslash=C:\\path @application.properties:8",
				"k:colon=2 @application.properties:5",
				"key with spaces=1 @application.properties:4",
				"list=a,b,c @application.properties:1",
				"next=3 @application.properties:10",
				"odd=ends with two\\ @application.properties:9",
				"tab=a\tb @application.properties:6",
				"unicode=café 😀 @application.properties:7",
			},
		},
		{
			name: "line endings",
			text: "a=1\r\nb=2\rc=3\n",
			want: []string{
				"a=1 @application.properties:1",
				"b=2 @application.properties:2",
				"c=3 @application.properties:3",
			},
		},
		{
			name: "lists and maps in keys",
			text: `spring.cloud.gateway.routes[0].id=orders
spring.cloud.gateway.routes[0].predicates[0]=Path=/orders/**
eureka.instance.metadata-map.zone=eu
`,
			want: []string{
				"eureka.instance.metadata-map.zone=eu @application.properties:3",
				"spring.cloud.gateway.routes[0].id=orders @application.properties:1",
				"spring.cloud.gateway.routes[0].predicates[0]=Path=/orders/** @application.properties:2",
			},
		},
		{
			name: "documents and profiles",
			text: `server.port=8761
#---
spring.config.activate.on-profile=peer1
server.port=8762
!---
spring.config.activate.on-profile=peer2
server.port=8763
`,
			profiles: []string{"peer1"},
			want: []string{
				"server.port=8762 @application.properties:4",
				"spring.config.activate.on-profile=peer1 @application.properties:3",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse("application.properties", []byte(tt.text), tt.profiles)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			diffLines(t, "Parse", dump(p), tt.want)
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, text string
		profiles         []string
		want             string
	}{
		{
			name: "yaml syntax",
			file: "application.yml",
			text: "a: 1\nb: [1, 2\nc: 3\n",
			want: "application.yml:2: did not find expected ',' or ']'",
		},
		{
			name: "yaml syntax in a later document",
			file: "application.yml",
			text: "a: 1\n---\nb: 2\n---\nc: 'open\nd: 4\n",
			want: "application.yml:5: found unexpected end of stream",
		},
		{
			name: "yaml bad indentation",
			file: "application.yaml",
			text: "eureka:\n  server:\n    a: 1\n   b: 2\n",
			want: "application.yaml:4: did not find expected key",
		},
		{
			name: "yaml tab",
			file: "application.yml",
			text: "a:\n\tb: 1\n",
			want: "application.yml:2: found character that cannot start any token",
		},
		{
			name: "top level list",
			file: "application.yml",
			text: "- a\n- b\n",
			want: "application.yml:1: want key: value lines at the top level, not a list",
		},
		{
			name: "top level scalar",
			file: "application.yml",
			text: "hello\n",
			want: `application.yml:1: want key: value lines at the top level, not "hello"`,
		},
		{
			name: "duplicate and complex keys, all reported",
			file: "application.yml",
			text: "server:\n  port: 1\n  port: 2\n? [a, b]\n: c\n<<: 5\n",
			want: "application.yml:3: server.port: already defined at line 2\n" +
				"application.yml:4: want a plain key, not a list or map\n" +
				"application.yml:6: << wants a map or a list of maps to merge",
		},
		{
			name:     "profile expression",
			file:     "application.yml",
			text:     "a: 1\n---\nspring.config.activate.on-profile: prod &\nb: 2\n",
			profiles: []string{"prod"},
			want:     `application.yml:3: spring.config.activate.on-profile: "prod &" is not a profile expression; want a profile name at the end`,
		},
		{
			name: "properties escapes",
			file: "application.properties",
			text: "a=1\nb=\\u00zz\nc\\u12=3\n=4\n",
			want: "application.properties:2: \"\\\\u00zz\" is not a \\uXXXX escape\n" +
				"application.properties:3: \"\\\\u12\" is not a \\uXXXX escape\n" +
				"application.properties:4: missing key before \"=\"",
		},
		{
			name: "unknown format",
			file: "/etc/switchboard/config.json",
			text: "{}",
			want: "config.json: unknown format; want a .yml, .yaml or .properties file",
		},
		{
			name: "unresolved placeholders, each at its line",
			file: "application.yml",
			text: "a: ${nope}\nb: ${a}\nc: x-${d}\nd: ${c}\ne: ${}\n",
			want: `application.yml:1: a: "${nope}" has no value; define nope or write "${nope:default}"` + "\n" +
				`application.yml:2: b: "${nope}" has no value; define nope or write "${nope:default}"` + "\n" +
				"application.yml:3: c: placeholders form a loop: c -> d -> c\n" +
				"application.yml:4: d: placeholders form a loop: d -> c -> d\n" +
				`application.yml:5: e: "${}" names nothing`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(tt.file, []byte(tt.text), tt.profiles)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error %q", tt.text, dump(p), tt.want)
			}
			ce, ok := errors.AsType[*ConfigError](err)
			if !ok {
				t.Fatalf("Parse(%q) error is %T, want *ConfigError", tt.text, err)
			}
			if !errors.Is(err, ce.Problems[len(ce.Problems)-1]) {
				t.Errorf("errors.Is(err, its last problem) = false; Unwrap does not give the problems")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse(%q) error:\n%s\nwant:\n%s", tt.text, got, tt.want)
			}
		})
	}
}

func TestPlaceholders(t *testing.T) {
	t.Parallel()
	text := `server.port: 8761
eureka:
  instance.hostname: peer1
  client.service-url.defaultZone: http://${eureka.instance.hostname}:${server.port}/eureka/
relaxed: ${eureka.instance.HostName}/${eureka.instance.host-name}
default: ${missing:fallback}
nested-default: ${missing:${server.port}}
default-with-colon: ${missing:http://x:1}
empty-default: "[${missing:}]"
chain: ${default}
unclosed: ${not closed
literal: /$\{segment}
from-env: ${HOME}${app.data-dir}
`
	if _, err := Parse("application.yml", []byte(text), nil); err == nil {
		t.Errorf("Parse resolved ${HOME} without an environment")
	}
	file := writeFile(t, "application.yml", text)
	p, err := Load(file, []string{"HOME=/root", "APP_DATA_DIR=/data"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ key, want string }{
		{"eureka.client.service-url.defaultZone", "http://peer1:8761/eureka/"},
		{"relaxed", "peer1/peer1"},
		{"default", "fallback"},
		{"nested-default", "8761"},
		{"default-with-colon", "http://x:1"},
		{"empty-default", "[]"},
		{"chain", "fallback"},
		{"unclosed", "${not closed"},
		{"literal", `/$\{segment}`},
		{"from-env", "/root/data"},
	}
	for _, tt := range tests {
		if v, ok := p.Lookup(tt.key); !ok || v.Value != tt.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tt.key, v.Value, ok, tt.want)
		}
	}
	// A flag changes what placeholders see.
	p.Set("server.port", "9000", "--port")
	if v, _ := p.Lookup("eureka.client.service-url.defaultZone"); v.Value != "http://peer1:9000/eureka/" {
		t.Errorf("after Set(server.port), Lookup(defaultZone) = %q, want http://peer1:9000/eureka/", v.Value)
	}
}

func TestPlaceholderLimits(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("k0: xxxxxxxxxxxxxxxx\n")
	for i := 1; i < 20; i++ {
		fmt.Fprintf(&b, "k%d: ${k%d}${k%d}${k%d}${k%d}\n", i, i-1, i-1, i-1, i-1)
	}
	_, err := Parse("application.yml", []byte(b.String()), nil)
	if err == nil || !strings.Contains(err.Error(), "placeholders expand to more than 65536 bytes") {
		t.Errorf("Parse of exponential placeholders: %v, want an error about their size", err)
	}
}

func TestParseAliasBomb(t *testing.T) {
	t.Parallel()
	text := `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
`
	_, err := Parse("application.yml", []byte(text), nil)
	if err == nil || !strings.Contains(err.Error(), "do aliases expand too much?") {
		t.Errorf("Parse of an alias bomb: %v, want an error about aliases", err)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	text := `eureka:
  instance:
    metadata-map:
      zone: eu
      version: 2
      someKey: x
spring.cloud.gateway:
  routes:
    - id: a
    - id: b
  globalcors.cors-configurations:
    '[/**]': {allowed-origins: "*"}
`
	p, err := Parse("application.yml", []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	p.addEnv([]string{
		"EUREKA_INSTANCE_METADATAMAP_SOMEKEY=y",
		"EUREKA_INSTANCE_METADATAMAP_REGION=r",
		"SPRING_CLOUD_GATEWAY_ROUTES_10_ID=k",
		"SPRING_CLOUD_GATEWAY_ROUTES_2_ID=c",
	})
	tests := []struct {
		key  string
		want []string
	}{
		{"eureka.instance.metadata-map", []string{"zone", "version", "someKey", "region"}},
		{"eureka.instance.metadataMap", []string{"zone", "version", "someKey", "region"}},
		{"spring.cloud.gateway.routes", []string{"0", "1", "2", "10"}},
		{"spring.cloud.gateway.globalcors.cors-configurations", []string{"[/**]"}},
		{"spring.cloud.gateway.routes[0]", []string{"id"}},
		{"eureka", []string{"instance"}},
		{"nothing", nil},
	}
	for _, tt := range tests {
		if got := p.List(tt.key); !slices.Equal(got, tt.want) {
			t.Errorf("List(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}
