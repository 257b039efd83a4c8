package eureka

import (
	"strconv"
	"testing"
)

// benchApplications builds a registry of apps applications with perApp
// instances each, shaped like Spring Boot registrations.
func benchApplications(apps, perApp int) *Applications {
	doc := &Applications{VersionsDelta: 1}
	for a := range apps {
		name := "SERVICE-" + strconv.Itoa(a)
		vip := "service-" + strconv.Itoa(a)
		app := &Application{Name: name}
		for i := range perApp {
			host := "10.0." + strconv.Itoa(a%256) + "." + strconv.Itoa(i%256)
			app.Instances = append(app.Instances, &Instance{
				InstanceID:       host + ":" + vip + ":8080",
				HostName:         host,
				App:              name,
				IPAddr:           host,
				Status:           StatusUp,
				OverriddenStatus: StatusUnknown,
				Port:             Port{8080, true},
				SecurePort:       Port{443, false},
				CountryID:        1,
				DataCenterInfo:   DataCenterInfo{Class: ClassDefaultDataCenterInfo, Name: "MyOwn"},
				LeaseInfo: LeaseInfo{
					RenewalIntervalInSecs: 30, DurationInSecs: 90,
					RegistrationTimestamp: 1717000000000, LastRenewalTimestamp: 1717000210000, ServiceUpTimestamp: 1717000000000,
				},
				Metadata:             map[string]string{"management.port": "8080", "zone": "zone" + strconv.Itoa(i%3)},
				HomePageURL:          "http://" + host + ":8080/",
				StatusPageURL:        "http://" + host + ":8080/actuator/info",
				HealthCheckURL:       "http://" + host + ":8080/actuator/health",
				VIPAddress:           vip,
				SecureVIPAddress:     vip,
				LastUpdatedTimestamp: 1717000000000,
				LastDirtyTimestamp:   1716999998000,
				ActionType:           ActionAdded,
			})
		}
		doc.Applications = append(doc.Applications, app)
	}
	doc.AppsHashcode = doc.Hash()
	return doc
}

func benchmarkAppend(b *testing.B, enc func([]byte, *Applications) []byte) {
	apps := benchApplications(100, 100) // 10,000 instances
	buf := enc(nil, apps)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = enc(buf[:0], apps)
	}
}

func BenchmarkAppendApplicationsJSON(b *testing.B) { benchmarkAppend(b, AppendApplicationsJSON) }

func BenchmarkAppendApplicationsXML(b *testing.B) { benchmarkAppend(b, AppendApplicationsXML) }

func BenchmarkDecodeApplicationsJSON(b *testing.B) {
	data := AppendApplicationsJSON(nil, benchApplications(10, 100))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeApplicationsJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}
