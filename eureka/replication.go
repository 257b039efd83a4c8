package eureka

// ReplicationAction names one replicated operation in a peer batch.
type ReplicationAction string

// The actions Eureka peers replicate.
const (
	ActionRegister             ReplicationAction = "Register"
	ActionHeartbeat            ReplicationAction = "Heartbeat"
	ActionCancel               ReplicationAction = "Cancel"
	ActionStatusUpdate         ReplicationAction = "StatusUpdate"
	ActionDeleteStatusOverride ReplicationAction = "DeleteStatusOverride"
)

// ReplicationInstance is one item of a POST /peerreplication/batch body.
// Empty fields are omitted on output; LastDirtyTimestamp 0 means absent.
type ReplicationInstance struct {
	AppName            string
	ID                 string
	LastDirtyTimestamp int64
	OverriddenStatus   Status
	Status             Status
	InstanceInfo       *Instance // Register only, written unwrapped
	Action             ReplicationAction
}

// ReplicationList is the body of a peer batch: {"replicationList":[...]}.
type ReplicationList struct {
	Items []ReplicationInstance
}

// ReplicationResponse is one item of a batch answer, aligned by position with
// the request's items. ResponseEntity is set for 409 heartbeats.
type ReplicationResponse struct {
	StatusCode     int
	ResponseEntity *Instance
}

// ReplicationResponseList is a batch answer: {"responseList":[...]}.
type ReplicationResponseList struct {
	Items []ReplicationResponse
}
