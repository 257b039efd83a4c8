package eureka

import (
	"strconv"
	"strings"
)

// Status is an instance's status as Eureka spells it.
type Status string

// The statuses Eureka knows. Any other text decodes to StatusUnknown.
const (
	StatusUp           Status = "UP"
	StatusDown         Status = "DOWN"
	StatusStarting     Status = "STARTING"
	StatusOutOfService Status = "OUT_OF_SERVICE"
	StatusUnknown      Status = "UNKNOWN"
)

// Statuses lists every valid status, in the order apps__hashcode sorts them.
var Statuses = [...]Status{StatusDown, StatusOutOfService, StatusStarting, StatusUnknown, StatusUp}

// ParseStatus returns the status spelled s (exact, upper case) and whether it is
// one of Eureka's five.
func ParseStatus(s string) (Status, bool) {
	switch Status(s) {
	case StatusUp, StatusDown, StatusStarting, StatusOutOfService, StatusUnknown:
		return Status(s), true
	}
	return StatusUnknown, false
}

// ActionType says how an instance changed, in deltas and in full documents.
type ActionType string

// The action types the server sets.
const (
	ActionAdded    ActionType = "ADDED"
	ActionModified ActionType = "MODIFIED"
	ActionDeleted  ActionType = "DELETED"
)

// Class markers Eureka's codecs write and read.
const (
	ClassDefaultDataCenterInfo = "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"
	ClassAmazonInfo            = "com.netflix.appinfo.AmazonInfo"
	ClassEmptyMap              = "java.util.Collections$EmptyMap"
)

// Eureka's defaults for fields a registration leaves out.
const (
	DefaultPort                  = 7001
	DefaultSecurePort            = 7002
	DefaultCountryID             = 1
	DefaultRenewalIntervalInSecs = 30
	DefaultDurationInSecs        = 90
)

// Port is a port number and whether it is enabled: {"$": 8080, "@enabled": "true"}
// in JSON, <port enabled="true">8080</port> in XML.
type Port struct {
	Number  int
	Enabled bool
}

// DataCenterInfo says where an instance runs. Metadata is only written for
// Amazon data centers (Eureka rejects it on the others).
type DataCenterInfo struct {
	Class    string // the @class marker; empty is written as ClassDefaultDataCenterInfo
	Name     string // "MyOwn", "Netflix" or "Amazon"
	Metadata map[string]string
}

// IsAmazon reports whether the data center is AWS, which carries metadata.
func (d DataCenterInfo) IsAmazon() bool {
	return d.Class == ClassAmazonInfo || strings.EqualFold(d.Name, "Amazon")
}

// LeaseInfo is the lease an instance asks for and, in server output, the lease
// the server holds. Timestamps are milliseconds since the epoch, 0 when unset.
type LeaseInfo struct {
	RenewalIntervalInSecs int
	DurationInSecs        int
	RegistrationTimestamp int64
	LastRenewalTimestamp  int64
	EvictionTimestamp     int64
	ServiceUpTimestamp    int64
}

// Instance is Eureka's InstanceInfo. Field order follows the order Eureka
// writes them. Empty optional strings are omitted on output, as Eureka omits nulls.
//
// An Instance is a plain value; share one between goroutines only when no one
// writes to it (the registry's snapshots never change once published).
type Instance struct {
	InstanceID       string
	HostName         string
	App              string // upper case once decoded
	IPAddr           string
	Sid              string // deprecated; "na" and "unknown" are not written
	Status           Status
	OverriddenStatus Status
	Port             Port
	SecurePort       Port
	CountryID        int
	DataCenterInfo   DataCenterInfo
	LeaseInfo        LeaseInfo
	Metadata         map[string]string

	AppGroupName                  string
	HomePageURL                   string
	StatusPageURL                 string
	HealthCheckURL                string
	SecureHealthCheckURL          string
	VIPAddress                    string
	SecureVIPAddress              string
	IsCoordinatingDiscoveryServer bool
	LastUpdatedTimestamp          int64
	LastDirtyTimestamp            int64
	ActionType                    ActionType
	ASGName                       string
}

// ID returns the instance's id as Eureka computes it: InstanceID when set,
// else the AWS instance-id for Amazon data centers, else HostName.
func (in *Instance) ID() string {
	if in.InstanceID != "" {
		return in.InstanceID
	}
	if in.DataCenterInfo.IsAmazon() {
		if id := in.DataCenterInfo.Metadata["instance-id"]; id != "" {
			return id
		}
	}
	return in.HostName
}

// Clone returns a deep copy of in.
func (in *Instance) Clone() *Instance {
	c := *in
	c.Metadata = cloneMap(in.Metadata)
	c.DataCenterInfo.Metadata = cloneMap(in.DataCenterInfo.Metadata)
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// VIPs reports whether vip is one of the comma-separated names in list,
// compared exactly, as Eureka's /vips lookup does.
func VIPs(list, vip string) bool {
	for list != "" {
		var name string
		name, list, _ = strings.Cut(list, ",")
		if name == vip {
			return true
		}
	}
	return false
}

// Application is one application and its instances.
type Application struct {
	Name      string
	Instances []*Instance
}

// Applications is a registry document: the full registry, a delta or a VIP query.
type Applications struct {
	VersionsDelta int64 // 1 for full fetches, a counter for deltas, -1 for VIP documents
	AppsHashcode  string
	Applications  []*Application
}

// HashCode computes apps__hashcode over the given instances the way Eureka does:
// "<STATUS>_<count>_" for each status present, statuses in lexical order.
// Six UP instances give "UP_6_"; none give "".
func HashCode(counts map[Status]int) string {
	var b []byte
	for _, s := range Statuses {
		if n := counts[s]; n > 0 {
			b = append(b, s...)
			b = append(b, '_')
			b = strconv.AppendInt(b, int64(n), 10)
			b = append(b, '_')
		}
	}
	return string(b)
}

// Hash computes apps__hashcode over every instance of apps.
func (apps *Applications) Hash() string {
	counts := make(map[Status]int, len(Statuses))
	for _, a := range apps.Applications {
		for _, in := range a.Instances {
			counts[in.Status]++
		}
	}
	return HashCode(counts)
}
