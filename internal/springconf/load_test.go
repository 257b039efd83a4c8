package springconf

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// writeFile writes text to name in a new temporary directory and returns
// its path. Names with a directory of "." share the directory of the
// previous call in the same test: see writeFiles.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	return writeFiles(t, map[string]string{name: text})[name]
}

func writeFiles(t *testing.T, files map[string]string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	paths := map[string]string{}
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths[name] = path
	}
	return paths
}

func TestLoadEnvironment(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "application.yml", `server:
  port: 8761
eureka:
  server:
    enable-self-preservation: true
    eviction-interval-timer-in-ms: 60000
  instance:
    metadata-map:
      zone: eu
  client:
    service-url:
      defaultZone: http://file/eureka/
spring.cloud.gateway.routes:
  - id: orders
    uri: lb://ORDERS
`)
	environ := []string{
		"SERVER_PORT=8762",
		"EUREKA_SERVER_ENABLESELFPRESERVATION=false",
		"EUREKA_SERVER_EVICTION_INTERVAL_TIMER_IN_MS=1000",
		"EUREKA_INSTANCE_METADATAMAP_ZONE=us",
		"EUREKA_CLIENT_SERVICEURL_DEFAULTZONE=http://env/eureka/",
		"SPRING_CLOUD_GATEWAY_ROUTES_0_URI=http://localhost:9000",
		"SPRING_CLOUD_GATEWAY_ROUTES_1_ID=users",
		"SPRING_APPLICATION__NAME=registry", // "__" is one separator
		"PORT=1",                            // no prefix: not a key
		"server_port=2",                     // lower case: not a key
		"SERVERPORT=3",                      // no underscore after the prefix
		"SWITCHBOARD_MODE",                  // no '='
		"=weird",
	}
	p, err := Load(file, environ, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Values shows what is in effect.
	diffLines(t, "Values", dump(p), []string{
		"eureka.client.serviceurl.defaultzone=http://env/eureka/ @EUREKA_CLIENT_SERVICEURL_DEFAULTZONE",
		"eureka.instance.metadatamap.zone=us @EUREKA_INSTANCE_METADATAMAP_ZONE",
		"eureka.server.enableselfpreservation=false @EUREKA_SERVER_ENABLESELFPRESERVATION",
		"eureka.server.eviction.interval.timer.in.ms=1000 @EUREKA_SERVER_EVICTION_INTERVAL_TIMER_IN_MS",
		"server.port=8762 @SERVER_PORT",
		"spring.application.name=registry @SPRING_APPLICATION__NAME",
		"spring.cloud.gateway.routes[0].id=orders @application.yml:14",
		"spring.cloud.gateway.routes[0].uri=http://localhost:9000 @SPRING_CLOUD_GATEWAY_ROUTES_0_URI",
		"spring.cloud.gateway.routes[1].id=users @SPRING_CLOUD_GATEWAY_ROUTES_1_ID",
		"switchboard.mode= @SWITCHBOARD_MODE",
	})
	tests := []struct{ key, value, where string }{
		{"server.port", "8762", "SERVER_PORT"},
		{"eureka.server.enable-self-preservation", "false", "EUREKA_SERVER_ENABLESELFPRESERVATION"},
		{"eureka.server.enableSelfPreservation", "false", "EUREKA_SERVER_ENABLESELFPRESERVATION"},
		{"eureka.server.eviction-interval-timer-in-ms", "1000", "EUREKA_SERVER_EVICTION_INTERVAL_TIMER_IN_MS"},
		{"eureka.instance.metadata-map.zone", "us", "EUREKA_INSTANCE_METADATAMAP_ZONE"},
		{"eureka.client.service-url.defaultZone", "http://env/eureka/", "EUREKA_CLIENT_SERVICEURL_DEFAULTZONE"},
		{"spring.cloud.gateway.routes[0].id", "orders", "application.yml:14"},
		{"spring.cloud.gateway.routes[0].uri", "http://localhost:9000", "SPRING_CLOUD_GATEWAY_ROUTES_0_URI"},
		{"spring.cloud.gateway.routes[1].id", "users", "SPRING_CLOUD_GATEWAY_ROUTES_1_ID"},
		{"switchboard.mode", "", "SWITCHBOARD_MODE"},
		{"spring.application.name", "registry", "SPRING_APPLICATION__NAME"},
	}
	for _, tt := range tests {
		v, ok := p.Lookup(tt.key)
		if !ok || v.Value != tt.value || v.Where != tt.where {
			t.Errorf("Lookup(%q) = %+v, %v; want %q from %s", tt.key, v, ok, tt.value, tt.where)
		}
	}
	for _, key := range []string{"port", "server"} {
		if v, ok := p.Lookup(key); ok {
			t.Errorf("Lookup(%q) = %+v; want nothing", key, v)
		}
	}
}

func TestLoadValuesHidesOverridden(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "application.properties", "server.port=8761\neureka.instance.hostname=a\n")
	p, err := Load(file, []string{"SERVER_PORT=8762", "EUREKA_INSTANCE_HOST_NAME=b", "EUREKA_INSTANCE_HOSTNAME=c"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Set("server.port", "9000", "--server.port")
	diffLines(t, "Values", dump(p), []string{
		"eureka.instance.hostname=c @EUREKA_INSTANCE_HOSTNAME",
		"server.port=9000 @--server.port",
	})
}

func TestLoadProfiles(t *testing.T) {
	t.Parallel()
	paths := writeFiles(t, map[string]string{
		"application.yml": `server.port: 8761
eureka.instance.hostname: base
---
spring.config.activate.on-profile: peer2
eureka.instance.hostname: peer2-doc
`,
		"application-peer1.yml":   "server.port: 8762\n",
		"application-peer2.yml":   "server.port: 8763\nbad: [\n",
		"application-default.yml": "eureka.instance.hostname: default\n",
	})
	file := paths["application.yml"]
	tests := []struct {
		name     string
		environ  []string
		profiles []string
		port     string
		portAt   string
		host     string
		err      string
	}{
		{name: "none active: default", port: "8761", portAt: "application.yml:1", host: "default"},
		{name: "argument", profiles: []string{"peer1"}, port: "8762", portAt: "application-peer1.yml:1", host: "base"},
		{name: "environment", environ: []string{"SPRING_PROFILES_ACTIVE=x, peer1"}, port: "8762", portAt: "application-peer1.yml:1", host: "base"},
		{name: "error in a profile file", profiles: []string{"peer2"}, err: "application-peer2.yml:2: did not find expected node content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Load(file, tt.environ, tt.profiles)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Load(%q, %q) error = %v, want %s", tt.environ, tt.profiles, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := p.Lookup("server.port"); v.Value != tt.port || v.Where != tt.portAt {
				t.Errorf("Load(%q, %q): server.port = %+v, want %s at %s", tt.environ, tt.profiles, v, tt.port, tt.portAt)
			}
			if v, _ := p.Lookup("eureka.instance.hostname"); v.Value != tt.host {
				t.Errorf("Load(%q, %q): eureka.instance.hostname = %q, want %q", tt.environ, tt.profiles, v.Value, tt.host)
			}
		})
	}
}

func TestLoadProfilesList(t *testing.T) {
	t.Parallel()
	p, err := Load("", []string{"SPRING_PROFILES_ACTIVE=b,c"}, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Profiles(), []string{"a", "b", "c"}; !equal(got, want) {
		t.Errorf("Profiles() = %q, want %q", got, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "missing.yml"), nil, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing file) = %v, want fs.ErrNotExist", err)
	}
	_, err = Load("", []string{"SPRING_APPLICATION_NAME=${nope}"}, nil)
	if want := `SPRING_APPLICATION_NAME: "${nope}" has no value; define nope or write "${nope:default}"`; err == nil || err.Error() != want {
		t.Errorf("Load(env with a bad placeholder) = %v, want %s", err, want)
	}
}

func TestSet(t *testing.T) {
	t.Parallel()
	var p Props // the zero value is ready for Set
	p.Set("server.port", "1", "--server.port")
	p.Set("server.PORT", "2", "--port")
	p.Set("eureka.instance.metadata-map.zone", "eu", "--zone")
	diffLines(t, "Values", dump(&p), []string{
		"eureka.instance.metadata-map.zone=eu @--zone",
		"server.PORT=2 @--port",
	})
	if got := p.List("eureka.instance.metadata-map"); !equal(got, []string{"zone"}) {
		t.Errorf("List(metadata-map) = %q, want [zone]", got)
	}
}
