package eureka

// This file fixes the codec API; json.go and xml.go implement it.

// StatusInfo is the body of GET /eureka/status. Stats keep their order.
type StatusInfo struct {
	GeneralStats     []Stat
	ApplicationStats []Stat
	Instance         *Instance
	Healthy          *bool // written only when set
}

// Stat is one name/value line of StatusInfo.
type Stat struct{ Name, Value string }
