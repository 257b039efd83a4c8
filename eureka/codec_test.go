package eureka

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .golden files in testdata")

// A codec decodes a document and encodes it again.
type codec struct {
	name      string
	roundTrip func(data []byte) ([]byte, error)
}

func newCodec[T any](name string, decode func([]byte) (T, error), encode func([]byte, T) []byte) codec {
	return codec{name, func(data []byte) ([]byte, error) {
		v, err := decode(data)
		if err != nil {
			return nil, err
		}
		return encode(nil, v), nil
	}}
}

var (
	instanceJSON        = newCodec("instance JSON", DecodeInstanceJSON, AppendInstanceDocJSON)
	applicationJSON     = newCodec("application JSON", DecodeApplicationJSON, AppendApplicationJSON)
	applicationsJSON    = newCodec("applications JSON", DecodeApplicationsJSON, AppendApplicationsJSON)
	replicationListJSON = newCodec("replication list JSON", DecodeReplicationListJSON, AppendReplicationListJSON)
	replicationRespJSON = newCodec("replication responses JSON", DecodeReplicationResponseListJSON, AppendReplicationResponseListJSON)
	instanceXML         = newCodec("instance XML", DecodeInstanceXML, AppendInstanceXML)
	applicationXML      = newCodec("application XML", DecodeApplicationXML, AppendApplicationXML)
	applicationsXML     = newCodec("applications XML", DecodeApplicationsXML, AppendApplicationsXML)
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCanonical checks that the documents in testdata, written as Eureka
// writes them, decode and re-encode byte for byte.
func TestCanonical(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		c    codec
	}{
		{"apps.json", applicationsJSON},             // spec 3.9
		{"apps-delta.json", applicationsJSON},       // spec 3.10
		{"apps-empty.json", applicationsJSON},       // spec 3.9, empty registry
		{"application.json", applicationJSON},       // spec 3.11
		{"instance.json", instanceJSON},             // spec 3.11
		{"instance-amazon.json", instanceJSON},      // every optional field, AWS data center
		{"register-java.json", instanceJSON},        // spec 3.13
		{"batch-request.json", replicationListJSON}, // spec 3.15
		{"batch-response.json", replicationRespJSON},
		{"apps.xml", applicationsXML}, // spec 3.12
		{"apps-empty.xml", applicationsXML},
		{"application.xml", applicationXML},
		{"instance-amazon.xml", instanceXML},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			want := readTestdata(t, tt.file)
			got, err := tt.c.roundTrip(want)
			if err != nil {
				t.Fatalf("%s decode: %v", tt.c.name, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s re-encoding differs:\ngot:\n%s\nwant:\n%s", tt.c.name, got, want)
			}
		})
	}
}

// checkGolden compares got with testdata/name, or rewrites it under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./eureka -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestLenient decodes what real clients send and checks the fields that
// matter and the canonical re-encoding in the .golden file beside each input.
func TestLenient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		c        codec
		sameAs   string // a canonical document the golden output must equal
		checkDoc func(t *testing.T, data []byte)
	}{
		{"apps-pretty.json", applicationsJSON, "apps.json", nil},
		{"register-spring.json", instanceJSON, "register-java.json", func(t *testing.T, data []byte) {
			in := mustInstanceJSON(t, data)
			if in.Sid != "" || in.AppGroupName != "" || in.ActionType != "" || in.LastDirtyTimestamp != 1716999998000 {
				t.Errorf("sid %q, appGroupName %q, actionType %q, lastDirtyTimestamp %d; want \"\", \"\", \"\", 1716999998000",
					in.Sid, in.AppGroupName, in.ActionType, in.LastDirtyTimestamp)
			}
		}},
		{"fargo.xml", instanceXML, "", func(t *testing.T, data []byte) {
			in, err := DecodeInstanceXML(data)
			if err != nil {
				t.Fatal(err)
			}
			checkInstance(t, in, instanceWant{
				app: "FARGO-APP", port: Port{21001, true}, securePort: Port{0, false},
				overridden: StatusUnknown, countryID: 0, class: ClassDefaultDataCenterInfo,
				lease: LeaseInfo{RenewalIntervalInSecs: 30, DurationInSecs: 90},
			})
			if in.Metadata != nil || in.DataCenterInfo.Metadata != nil {
				t.Errorf("metadata %v, data center metadata %v; want nil, nil", in.Metadata, in.DataCenterInfo.Metadata)
			}
		}},
		{"fargo.json", instanceJSON, "", func(t *testing.T, data []byte) {
			in := mustInstanceJSON(t, data)
			checkInstance(t, in, instanceWant{
				app: "FARGO-APP", port: Port{21001, true}, securePort: Port{0, false},
				overridden: StatusUnknown, countryID: 0, class: ClassDefaultDataCenterInfo,
				lease: LeaseInfo{RenewalIntervalInSecs: 30, DurationInSecs: 90},
			})
			if want := map[string]string{"version": "1.4.0"}; !reflect.DeepEqual(in.Metadata, want) {
				t.Errorf("metadata %v, want %v", in.Metadata, want)
			}
		}},
		{"arthurhlt.json", instanceJSON, "", func(t *testing.T, data []byte) {
			in := mustInstanceJSON(t, data)
			checkInstance(t, in, instanceWant{
				app: "ARTHUR-APP", port: Port{8080, true}, securePort: Port{8443, false},
				overridden: StatusUnknown, countryID: 1, class: ClassDefaultDataCenterInfo,
				lease: LeaseInfo{RenewalIntervalInSecs: 30, DurationInSecs: 90},
			})
			if in.VIPAddress != "http://10.0.0.30:8080" || in.ID() != "arthur-host" || in.Metadata != nil {
				t.Errorf("vipAddress %q, ID() %q, metadata %v", in.VIPAddress, in.ID(), in.Metadata)
			}
		}},
		{"eurekajs.json", instanceJSON, "", func(t *testing.T, data []byte) {
			in := mustInstanceJSON(t, data)
			checkInstance(t, in, instanceWant{
				app: "JQSERVICE", port: Port{8080, true}, securePort: Port{7002, false},
				overridden: StatusUnknown, countryID: 1, class: ClassDefaultDataCenterInfo,
				lease: LeaseInfo{RenewalIntervalInSecs: 30, DurationInSecs: 90},
			})
			if in.InstanceID != "" || in.ID() != "localhost" || in.VIPAddress != "jq.test.something.com" {
				t.Errorf("instanceId %q, ID() %q, vipAddress %q", in.InstanceID, in.ID(), in.VIPAddress)
			}
		}},
		{"eurekajs-readme.json", instanceJSON, "lenient/eurekajs.json.golden", func(t *testing.T, data []byte) {
			in := mustInstanceJSON(t, data)
			if in.Status != StatusUp || in.Port != (Port{8080, true}) || in.DataCenterInfo.Class != ClassDefaultDataCenterInfo {
				t.Errorf("status %q, port %+v, class %q", in.Status, in.Port, in.DataCenterInfo.Class)
			}
		}},
		{"jettison-apps.json", applicationsJSON, "", func(t *testing.T, data []byte) {
			apps, err := DecodeApplicationsJSON(data)
			if err != nil {
				t.Fatal(err)
			}
			if apps.VersionsDelta != 5 || len(apps.Applications) != 1 || len(apps.Applications[0].Instances) != 1 {
				t.Fatalf("versions %d, %d applications; want 5, 1 with 1 instance", apps.VersionsDelta, len(apps.Applications))
			}
			in := apps.Applications[0].Instances[0]
			if in.App != "ORDER-SERVICE" || in.LeaseInfo.LastRenewalTimestamp != 1717000210000 || in.LastDirtyTimestamp != 1716999998000 {
				t.Errorf("app %q, lastRenewalTimestamp %d, lastDirtyTimestamp %d", in.App, in.LeaseInfo.LastRenewalTimestamp, in.LastDirtyTimestamp)
			}
		}},
		{"apps-lenient.xml", applicationsXML, "", func(t *testing.T, data []byte) {
			apps, err := DecodeApplicationsXML(data)
			if err != nil {
				t.Fatal(err)
			}
			if apps.VersionsDelta != -1 || apps.AppsHashcode != "UP_2_" || len(apps.Applications) != 2 {
				t.Fatalf("versions %d, hash %q, %d applications; want -1, UP_2_, 2", apps.VersionsDelta, apps.AppsHashcode, len(apps.Applications))
			}
			ins := apps.Applications[0].Instances
			if len(ins) != 2 {
				t.Fatalf("%d instances, want 2", len(ins))
			}
			in := ins[0]
			checkInstance(t, in, instanceWant{
				app: "BILLING", port: Port{9000, true}, securePort: Port{9443, false},
				overridden: StatusOutOfService, countryID: 1, class: ClassAmazonInfo,
				lease: LeaseInfo{RenewalIntervalInSecs: 30, DurationInSecs: 90, LastRenewalTimestamp: 1717000210000},
			})
			wantMD := map[string]string{"my_key": "a", "price$usd": "7", "multi": "line one\nline two", "cdata": "<x> & y"}
			if !reflect.DeepEqual(in.Metadata, wantMD) {
				t.Errorf("metadata %q, want %q", in.Metadata, wantMD)
			}
			if in.ID() != "i-42" || !in.IsCoordinatingDiscoveryServer || in.LastUpdatedTimestamp != 1717000000000 {
				t.Errorf("ID() %q, isCoordinatingDiscoveryServer %v, lastUpdatedTimestamp %d", in.ID(), in.IsCoordinatingDiscoveryServer, in.LastUpdatedTimestamp)
			}
			if ins[1].Status != "SLEEPING" {
				t.Errorf("status %q decoded as %q, want SLEEPING (kept, upper-cased as XML does)", "sleeping", ins[1].Status)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			name := filepath.Join("lenient", tt.file)
			data := readTestdata(t, name)
			got, err := tt.c.roundTrip(data)
			if err != nil {
				t.Fatalf("%s decode: %v", tt.c.name, err)
			}
			checkGolden(t, name+".golden", got)
			if tt.sameAs != "" {
				if want := readTestdata(t, tt.sameAs); !bytes.Equal(got, want) {
					t.Errorf("re-encoding differs from %s:\ngot:\n%s\nwant:\n%s", tt.sameAs, got, want)
				}
			}
			// The golden output is canonical: it must round-trip unchanged.
			again, err := tt.c.roundTrip(got)
			if err != nil || !bytes.Equal(again, got) {
				t.Errorf("golden output does not round-trip (err %v):\n%s", err, again)
			}
			if tt.checkDoc != nil {
				tt.checkDoc(t, data)
			}
		})
	}
}

type instanceWant struct {
	app              string
	port, securePort Port
	overridden       Status
	countryID        int
	class            string
	lease            LeaseInfo
}

func checkInstance(t *testing.T, in *Instance, want instanceWant) {
	t.Helper()
	if in.App != want.app {
		t.Errorf("app %q, want %q", in.App, want.app)
	}
	if in.Status != StatusUp {
		t.Errorf("status %q, want UP", in.Status)
	}
	if in.OverriddenStatus != want.overridden {
		t.Errorf("overriddenStatus %q, want %q", in.OverriddenStatus, want.overridden)
	}
	if in.Port != want.port || in.SecurePort != want.securePort {
		t.Errorf("port %+v, securePort %+v; want %+v, %+v", in.Port, in.SecurePort, want.port, want.securePort)
	}
	if in.CountryID != want.countryID {
		t.Errorf("countryId %d, want %d", in.CountryID, want.countryID)
	}
	if in.DataCenterInfo.Class != want.class {
		t.Errorf("dataCenterInfo class %q, want %q", in.DataCenterInfo.Class, want.class)
	}
	if in.LeaseInfo != want.lease {
		t.Errorf("leaseInfo %+v, want %+v", in.LeaseInfo, want.lease)
	}
}

func mustInstanceJSON(t *testing.T, data []byte) *Instance {
	t.Helper()
	in, err := DecodeInstanceJSON(data)
	if err != nil {
		t.Fatalf("DecodeInstanceJSON: %v", err)
	}
	return in
}

// TestJSONAndXMLAgree checks that a document decodes to the same value from
// JSON and from the XML we write for it.
func TestJSONAndXMLAgree(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"apps.json", "apps-delta.json", "apps-empty.json", "lenient/jettison-apps.json", "lenient/fargo.json"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			data := readTestdata(t, file)
			var fromJSON, fromXML any
			var err error
			if strings.Contains(file, "apps") {
				var apps *Applications
				apps, err = DecodeApplicationsJSON(data)
				if err == nil {
					fromJSON = apps
					fromXML, err = DecodeApplicationsXML(AppendApplicationsXML(nil, apps))
				}
			} else {
				var in *Instance
				in, err = DecodeInstanceJSON(data)
				if err == nil {
					fromJSON = in
					fromXML, err = DecodeInstanceXML(AppendInstanceXML(nil, in))
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fromJSON, fromXML) {
				t.Errorf("JSON and XML decode differently:\nJSON: %+v\nXML:  %+v", fromJSON, fromXML)
			}
		})
	}
}

func TestStatusInfo(t *testing.T) {
	t.Parallel()
	self, err := DecodeInstanceJSON(readTestdata(t, "register-java.json"))
	if err != nil {
		t.Fatal(err)
	}
	self.InstanceID = "peer1:eureka-server:8761"
	self.HostName = "peer1"
	self.App = "EUREKA-SERVER"
	self.IsCoordinatingDiscoveryServer = true
	healthy := true
	tests := []struct {
		name string
		s    *StatusInfo
	}{
		{"status", &StatusInfo{
			GeneralStats: []Stat{
				{"environment", "test"}, {"num-of-cpus", "4"}, {"total-avail-memory", "368mb"},
				{"current-memory-usage", "203mb (55%)"}, {"server-uptime", "00:04"},
				{"not a name", "left out of XML"},
			},
			ApplicationStats: []Stat{
				{"registered-replicas", "http://peer2:8762/eureka/"},
				{"available-replicas", "http://peer2:8762/eureka/,"},
				{"unavailable-replicas", ""},
			},
			Instance: self,
			Healthy:  &healthy,
		}},
		{"status-minimal", &StatusInfo{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := AppendStatusInfoJSON(nil, tt.s)
			if !json.Valid(j) {
				t.Errorf("AppendStatusInfoJSON wrote invalid JSON: %s", j)
			}
			checkGolden(t, tt.name+".json.golden", j)
			x := AppendStatusInfoXML(nil, tt.s)
			if err := xmlWellFormed(x); err != nil {
				t.Errorf("AppendStatusInfoXML wrote broken XML: %v\n%s", err, x)
			}
			checkGolden(t, tt.name+".xml.golden", x)
		})
	}
}

func xmlWellFormed(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() == "EOF" {
				return nil
			}
			return err
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, want string
		c                 codec
	}{
		{"empty", ``, `instance: unexpected end of JSON input`, instanceJSON},
		{"truncated", `{"instance":{"hostName":`, `instance: unexpected end of JSON input`, instanceJSON},
		{"top-level array", `[{"hostName":"h"}]`, `instance: expected an object, got an array`, instanceJSON},
		{"bad port", `{"instance":{"port":{"$":"abc"}}}`, `instance.port.$: "abc" is not a number`, instanceJSON},
		{"fractional port", `{"instance":{"port":{"$":80.5}}}`, `instance.port.$: "80.5" is not a number`, instanceJSON},
		{"port overflow", `{"instance":{"port":99999999999999999999}}`, `instance.port: "99999999999999999999" is not a number`, instanceJSON},
		{"bad enabled", `{"instance":{"securePort":{"$":1,"@enabled":"yes"}}}`, `instance.securePort.@enabled: "yes" is not a boolean`, instanceJSON},
		{"port array", `{"instance":{"port":[8080]}}`, `instance.port: expected an object or a number, got an array`, instanceJSON},
		{"hostName object", `{"hostName":{}}`, `instance.hostName: expected a string, got an object`, instanceJSON},
		{"metadata value", `{"metadata":{"a":["b"]}}`, `instance.metadata.a: expected a string, got an array`, instanceJSON},
		{"lease", `{"leaseInfo":{"durationInSecs":"ninety"}}`, `instance.leaseInfo.durationInSecs: "ninety" is not a number`, instanceJSON},
		{"timestamp", `{"lastDirtyTimestamp":true}`, `instance.lastDirtyTimestamp: expected a number, got a boolean`, instanceJSON},
		{"bad character", `{"instance":{"app":x}}`, `instance: offset 19: invalid character 'x' looking for beginning of value`, instanceJSON},
		{"trailing", `{} {}`, `instance: offset 3: invalid character '{' after top-level value`, instanceJSON},
		{"control in string", "{\"app\":\"a\x01\"}", `instance: offset 9: invalid character '\x01' in string literal`, instanceJSON},
		{"bad escape", `{"app":"\q"}`, `instance: offset 9: invalid character 'q' in string escape code`, instanceJSON},
		{"nested instance", `{"application":{"instance":[{},{"countryId":"x"}]}}`, `application.instance[1].countryId: "x" is not a number`, applicationJSON},
		{"apps", `{"applications":{"application":[{"name":"A","instance":{"port":"p"}}]}}`, `applications.application[0].instance.port: "p" is not a number`, applicationsJSON},
		{"apps string", `{"applications":"x"}`, `applications: expected an object, got a string`, applicationsJSON},
		{"application list", `{"applications":{"application":"x"}}`, `applications.application: expected an array or an object, got a string`, applicationsJSON},
		{"replication", `{"replicationList":[{"action":"Register","instanceInfo":{"port":{"$":"p"}}}]}`, `replicationList[0].instanceInfo.port.$: "p" is not a number`, replicationListJSON},
		{"responses", `{"responseList":[{"statusCode":"ok"}]}`, `responseList[0].statusCode: "ok" is not a number`, replicationRespJSON},
		{"deep", strings.Repeat("[", 20000), `instance: offset 10000: exceeded max depth`, instanceJSON},

		{"xml empty", ``, `instance: unexpected end of XML input`, instanceXML},
		{"xml wrong root", `<application/>`, `instance: root element is <application>, want <instance>`, instanceXML},
		{"xml json body", `{"instance":{}}`, `instance: text before the root element`, instanceXML},
		{"xml bad port", `<instance><port enabled="true">abc</port></instance>`, `instance.port: "abc" is not a number`, instanceXML},
		{"xml truncated", `<instance><hostName>h`, `instance.hostName: XML syntax error on line 1: unexpected EOF`, instanceXML},
		{"xml bad bool", `<instance><isCoordinatingDiscoveryServer>maybe</isCoordinatingDiscoveryServer></instance>`, `instance.isCoordinatingDiscoveryServer: "maybe" is not a boolean`, instanceXML},
		{"xml second root", `<instance/><instance/>`, `instance: element <instance> after the root element`, instanceXML},
		{"xml nested", `<applications><application><instance><leaseInfo><durationInSecs>x</durationInSecs></leaseInfo></instance></application></applications>`,
			`applications.application[0].instance[0].leaseInfo.durationInSecs: "x" is not a number`, applicationsXML},
		{"xml mismatched", `<application><name>A</nom></application>`, `application.name: XML syntax error on line 1: element <name> closed by </nom>`, applicationXML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.c.roundTrip([]byte(tt.input))
			if err == nil {
				t.Fatalf("%s decode of %q: no error, want %q", tt.c.name, tt.input, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("%s decode of %q:\n got error %q\nwant error %q", tt.c.name, tt.input, err, tt.want)
			}
		})
	}
}

// TestDecodeInstanceJSON pins single lenient rules.
func TestDecodeInstanceJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input string
		check       func(in *Instance) bool
	}{
		{"bare object", `{"hostName":"h","app":"a"}`, func(in *Instance) bool { return in.HostName == "h" && in.App == "A" }},
		{"empty object", `{}`, func(in *Instance) bool {
			return in.Status == StatusUp && in.OverriddenStatus == StatusUnknown && in.Port == Port{7001, true} &&
				in.SecurePort == Port{7002, false} && in.CountryID == 1 && in.DataCenterInfo.Name == "MyOwn" &&
				in.LeaseInfo == LeaseInfo{RenewalIntervalInSecs: 30, DurationInSecs: 90}
		}},
		{"nulls", `{"instance":{"hostName":null,"port":null,"securePort":null,"countryId":null,"dataCenterInfo":null,"leaseInfo":null,"metadata":null,"status":null,"isCoordinatingDiscoveryServer":null,"lastDirtyTimestamp":null}}`,
			func(in *Instance) bool {
				return in.Port == Port{7001, true} && in.CountryID == 1 && in.Status == StatusUp
			}},
		{"unknown status kept as written", `{"status":"up"}`, func(in *Instance) bool { return in.Status == "up" }},
		{"empty status", `{"status":""}`, func(in *Instance) bool { return in.Status == StatusUp }},
		{"lower-case override", `{"overriddenstatus":"OUT_OF_SERVICE"}`, func(in *Instance) bool { return in.OverriddenStatus == StatusOutOfService }},
		{"bare port string", `{"port":"8080","securePort":443}`, func(in *Instance) bool {
			return in.Port == Port{8080, true} && in.SecurePort == Port{443, true}
		}},
		{"port without $", `{"port":{"@enabled":"false"}}`, func(in *Instance) bool { return in.Port == Port{7001, false} }},
		{"port float", `{"port":{"$":8.08e3,"@enabled":"TRUE"}}`, func(in *Instance) bool { return in.Port == Port{8080, true} }},
		{"amazon inferred", `{"dataCenterInfo":{"metadata":{"instance-id":"i-1"},"name":"Amazon"}}`, func(in *Instance) bool {
			return in.DataCenterInfo.Class == ClassAmazonInfo && in.ID() == "i-1"
		}},
		{"metadata dropped for MyOwn", `{"dataCenterInfo":{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn","metadata":{"a":"b"}}}`,
			func(in *Instance) bool { return in.DataCenterInfo.Metadata == nil }},
		{"unknown members", `{"extra":{"deep":[1,{"x":null}]},"more":[[]],"app":"x","leaseInfo":{"evictionDurationInSecs":30,"durationInSecs":"15"}}`,
			func(in *Instance) bool { return in.App == "X" && in.LeaseInfo.DurationInSecs == 15 }},
		{"metadata markers and scalars", `{"metadata":{"@class":"java.util.Collections$EmptyMap","class":"x","n":5,"b":true,"z":null}}`,
			func(in *Instance) bool {
				return reflect.DeepEqual(in.Metadata, map[string]string{"n": "5", "b": "true", "z": ""})
			}},
		{"only markers", `{"metadata":{"@class":"java.util.Collections$EmptyMap"}}`, func(in *Instance) bool { return in.Metadata == nil }},
		{"string timestamps and booleans", `{"lastUpdatedTimestamp":" 17 ","isCoordinatingDiscoveryServer":"True"}`,
			func(in *Instance) bool { return in.LastUpdatedTimestamp == 17 && in.IsCoordinatingDiscoveryServer }},
		{"lease <= 0", `{"leaseInfo":{"renewalIntervalInSecs":0,"durationInSecs":-1}}`, func(in *Instance) bool {
			return in.LeaseInfo.RenewalIntervalInSecs == 30 && in.LeaseInfo.DurationInSecs == 90
		}},
		{"sid defaults", `{"sid":"na"}`, func(in *Instance) bool { return in.Sid == "" }},
		{"escapes", `{"app":"\u00e9t\u00e9\ud83d\ude00\ud800x\/\"\\"}`, func(in *Instance) bool { return in.App == "ÉTÉ😀\uFFFDX/\"\\" }},
		{"invalid utf-8", "{\"hostName\":\"a\xffb\"}", func(in *Instance) bool { return in.HostName == "a\uFFFDb" }},
		{"whitespace", " \t\r\n{ \"app\" : \"a\" } \n", func(in *Instance) bool { return in.App == "A" }},
		{"byte order mark", "\xef\xbb\xbf{\"app\":\"a\"}", func(in *Instance) bool { return in.App == "A" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, err := DecodeInstanceJSON([]byte(tt.input))
			if err != nil {
				t.Fatalf("DecodeInstanceJSON(%q): %v", tt.input, err)
			}
			if !tt.check(in) {
				t.Errorf("DecodeInstanceJSON(%q) = %+v", tt.input, in)
			}
		})
	}
}

func TestDecodeInstanceXML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input string
		check       func(in *Instance) bool
	}{
		{"empty", `<instance/>`, func(in *Instance) bool {
			return in.Status == StatusUp && in.Port == Port{7001, true} && in.SecurePort == Port{7002, false} && in.CountryID == 1
		}},
		{"port attribute", `<instance><port enabled="False">1</port><securePort enabled="true">2</securePort></instance>`,
			func(in *Instance) bool { return in.Port == Port{1, true} && in.SecurePort == Port{2, true} }},
		{"port disabled", `<instance><port enabled="false">1</port><securePort>2</securePort></instance>`,
			func(in *Instance) bool { return in.Port == Port{1, false} && in.SecurePort == Port{2, false} }},
		{"empty port", `<instance><port enabled="false"></port></instance>`, func(in *Instance) bool { return in.Port == Port{7001, false} }},
		{"status upper-cased", `<instance><status>starting</status><overriddenStatus>down</overriddenStatus></instance>`,
			func(in *Instance) bool { return in.Status == StatusStarting && in.OverriddenStatus == StatusDown }},
		{"entities", `<instance><app>a&amp;b&#x9;&lt;</app><hostName>&#xd;x&#10;</hostName></instance>`,
			func(in *Instance) bool { return in.App == "A&B\t<" && in.HostName == "\rx\n" }},
		{"declaration and comments", `<?xml version="1.0"?><!-- c --><instance><!-- c --><app>x</app></instance><!-- c -->`,
			func(in *Instance) bool { return in.App == "X" }},
		{"namespace", `<instance xmlns="urn:x"><app>x</app></instance>`, func(in *Instance) bool { return in.App == "X" }},
		{"byte order mark", "\xef\xbb\xbf<instance><app>x</app></instance>", func(in *Instance) bool { return in.App == "X" }},
		{"empty metadata marker", `<instance><metadata class="java.util.Collections$EmptyMap"/></instance>`,
			func(in *Instance) bool { return in.Metadata == nil }},
		{"metadata names", `<instance><metadata><a__b>1</a__b><_-x>2</_-x><c_d>3</c_d><e_>4</e_></metadata></instance>`,
			func(in *Instance) bool {
				return reflect.DeepEqual(in.Metadata, map[string]string{"a_b": "1", "$x": "2", "c_d": "3", "e_": "4"})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, err := DecodeInstanceXML([]byte(tt.input))
			if err != nil {
				t.Fatalf("DecodeInstanceXML(%q): %v", tt.input, err)
			}
			if !tt.check(in) {
				t.Errorf("DecodeInstanceXML(%q) = %+v", tt.input, in)
			}
		})
	}
}

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	tests := []string{
		"", "plain", `"quoted" \ back`, "<script>&amp;</script>", "\x00\x01\x1f\x7f",
		"\b\f\n\r\t", "line\u2028sep\u2029", "é😀", "bad\xffutf8\xc3", "\ud7ff\ue000",
	}
	for _, s := range tests {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendJSONString(%q) = %s, want %s (as encoding/json)", s, got, want)
		}
	}
}

func TestAppendXMLText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, text, attr string }{
		{"plain", "plain", "plain"},
		{`a&b<c>d"e'f`, "a&amp;b&lt;c&gt;d&quot;e&apos;f", "a&amp;b&lt;c&gt;d&quot;e&apos;f"},
		{"t\tn\nr\r", "t\tn\nr&#xd;", "t&#x9;n&#xa;r&#xd;"},
		{"nul\x00 esc\x1b", "nul\uFFFD esc\uFFFD", "nul\uFFFD esc\uFFFD"},
		{"bad\xff \uFFFE é", "bad\uFFFD \uFFFD é", "bad\uFFFD \uFFFD é"},
	}
	for _, tt := range tests {
		if got := string(appendXMLText(nil, tt.in, false)); got != tt.text {
			t.Errorf("appendXMLText(%q, text) = %q, want %q", tt.in, got, tt.text)
		}
		if got := string(appendXMLText(nil, tt.in, true)); got != tt.attr {
			t.Errorf("appendXMLText(%q, attribute) = %q, want %q", tt.in, got, tt.attr)
		}
	}
}

func TestXMLMetadataNames(t *testing.T) {
	t.Parallel()
	md := map[string]string{
		"zone": "z", "management.port": "8080", "my_key": "u", "$dollar": "d", "_lead": "l", "a-b.c9": "n",
		"": "empty", "9lives": "digit", "-x": "dash", ".x": "dot", "has space": "s", "a/b": "slash",
		"ns:key": "colon", "émoji": "non-ASCII", "a<b": "lt",
	}
	in := &Instance{App: "A", Metadata: md}
	x := AppendInstanceXML(nil, in)
	if err := xmlWellFormed(x); err != nil {
		t.Fatalf("AppendInstanceXML wrote broken XML: %v\n%s", err, x)
	}
	got, err := DecodeInstanceXML(x)
	if err != nil {
		t.Fatalf("DecodeInstanceXML: %v\n%s", err, x)
	}
	want := map[string]string{"zone": "z", "management.port": "8080", "my_key": "u", "$dollar": "d", "_lead": "l", "a-b.c9": "n"}
	if !reflect.DeepEqual(got.Metadata, want) {
		t.Errorf("metadata through XML = %q, want %q\n%s", got.Metadata, want, x)
	}
	if !bytes.Contains(x, []byte("<my__key>u</my__key>")) || !bytes.Contains(x, []byte("<_-dollar>d</_-dollar>")) {
		t.Errorf("keys not escaped the XStream way:\n%s", x)
	}

	// With no writable key left, metadata is Eureka's empty map.
	x = AppendInstanceXML(nil, &Instance{Metadata: map[string]string{"a b": "c"}})
	if !bytes.Contains(x, []byte(`<metadata class="java.util.Collections$EmptyMap"/>`)) {
		t.Errorf("unwritable metadata not written as the empty map:\n%s", x)
	}
}

// TestEncodeDefaults pins what encoders write for a zero-ish instance.
func TestEncodeDefaults(t *testing.T) {
	t.Parallel()
	in := &Instance{HostName: "h", App: "A", IPAddr: "1.2.3.4", Sid: "unknown"}
	got := string(AppendInstanceJSON(nil, in))
	want := `{"hostName":"h","app":"A","ipAddr":"1.2.3.4","status":"UP","overriddenStatus":"UNKNOWN",` +
		`"port":{"$":0,"@enabled":"false"},"securePort":{"$":0,"@enabled":"false"},"countryId":0,` +
		`"dataCenterInfo":{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"},` +
		`"leaseInfo":{"renewalIntervalInSecs":0,"durationInSecs":0,"registrationTimestamp":0,"lastRenewalTimestamp":0,"evictionTimestamp":0,"serviceUpTimestamp":0},` +
		`"metadata":{"@class":"java.util.Collections$EmptyMap"},` +
		`"isCoordinatingDiscoveryServer":"false","lastUpdatedTimestamp":"0","lastDirtyTimestamp":"0"}`
	if got != want {
		t.Errorf("AppendInstanceJSON(%+v) =\n%s\nwant\n%s", in, got, want)
	}

	amazon := &Instance{DataCenterInfo: DataCenterInfo{Name: "Amazon"}}
	got = string(AppendInstanceJSON(nil, amazon))
	if want := `"dataCenterInfo":{"@class":"com.netflix.appinfo.AmazonInfo","name":"Amazon","metadata":{}}`; !strings.Contains(got, want) {
		t.Errorf("AppendInstanceJSON(Amazon) = %s, want it to contain %s", got, want)
	}

	apps := &Applications{VersionsDelta: 3, Applications: []*Application{
		{Name: "EMPTY"}, nil, {Name: "NILS", Instances: []*Instance{nil}}, {Name: "A", Instances: []*Instance{nil, in, nil, in}},
	}}
	got = string(AppendApplicationsJSON(nil, apps))
	if !strings.HasPrefix(got, `{"applications":{"versions__delta":"3","apps__hashcode":"","application":[{"name":"A","instance":[{"hostName"`) ||
		strings.Count(got, `"hostName"`) != 2 || !json.Valid([]byte(got)) {
		t.Errorf("AppendApplicationsJSON skipped applications or instances wrongly: %s", got)
	}
	x := AppendApplicationsXML(nil, apps)
	if bytes.Contains(x, []byte("EMPTY")) || bytes.Contains(x, []byte("NILS")) || bytes.Count(x, []byte("<instance>")) != 2 {
		t.Errorf("AppendApplicationsXML skipped applications or instances wrongly:\n%s", x)
	}

	got = string(AppendApplicationJSON(nil, &Application{Name: "NONE"}))
	if want := `{"application":{"name":"NONE","instance":[]}}`; got != want {
		t.Errorf("AppendApplicationJSON(no instances) = %s, want %s", got, want)
	}
}

// TestAppendDoesNotAllocate pins that encoding into a large enough buffer
// allocates nothing: GET /eureka/apps re-encodes the registry on each change.
func TestAppendDoesNotAllocate(t *testing.T) {
	apps := benchApplications(3, 4)
	buf := make([]byte, 0, 1<<20)
	for _, enc := range []struct {
		name string
		fn   func([]byte, *Applications) []byte
	}{{"JSON", AppendApplicationsJSON}, {"XML", AppendApplicationsXML}} {
		if n := testing.AllocsPerRun(100, func() { buf = enc.fn(buf[:0], apps) }); n != 0 {
			t.Errorf("AppendApplications%s allocates %v times, want 0", enc.name, n)
		}
	}
}
