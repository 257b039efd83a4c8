// Package discovery is a client for Eureka-compatible registries: it
// registers an instance, renews its lease, cancels it on shutdown, and keeps
// a local copy of the registry that lookups read without locking. It speaks
// Eureka's REST API, so it works against Netflix and Spring Cloud Eureka
// servers as well as Switchboard's registry, and it behaves like the Java
// client where that matters to the registry:
//
//   - registration is a POST of the whole instance in Eureka's JSON, and only
//     204 counts; a change of status (SetStatus) registers again, with a new
//     lastDirtyTimestamp, rather than calling the /status override endpoint;
//   - a heartbeat every lease renewal interval carries the status and the
//     lastDirtyTimestamp; a 404 makes the client register again at once, so
//     an evicted instance comes back within one interval;
//   - the local registry starts from a full fetch, then applies deltas
//     (ADDED and MODIFIED replace by instance id, DELETED removes) and checks
//     the result against the delta's apps__hashcode, fetching in full on a
//     mismatch; when no registry answers, the last good copy stays;
//   - lookups see only UP instances by default, in a random order;
//   - each client tries the registries in its own random order, sticks to
//     one, moves on after a connection error or an unexpected status and
//     quarantines the failed one for a while.
//
// It departs from the Java client in three ways. When the registry offers
// Switchboard's watch extension (GET /eureka/watch), the client long-polls it
// and, as soon as the registry changes, fetches only the changes since the
// version it holds (GET /eureka/apps/delta?since=V) and rebuilds only the
// applications they touch, so a change reaches it in milliseconds instead of
// up to 30 s, whatever the size of the registry; against a plain Eureka
// server it polls as the Java client does. The first registration happens
// after a random delay of up to InitialRegistrationJitter (2 s) instead of
// the Java client's 40 s replicator delay or Spring's immediate one. And
// every failure backs off exponentially, not only timeouts.
//
// # Usage
//
// Fill a Config from DefaultConfig, build the client with New, and run it
// for the life of the service:
//
//	cfg := discovery.DefaultConfig()
//	cfg.ServiceURLs = []string{"http://localhost:8761/eureka/"}
//	cfg.Instance.App = "orders"
//	cfg.Instance.Port = 8080
//	c, err := discovery.New(cfg, discovery.WithLogger(logger))
//	if err != nil {
//		return err
//	}
//	var wg sync.WaitGroup
//	wg.Go(func() { c.Run(ctx) }) // returns after cancelling, once ctx is done
//
// Other services are found by application name (or VIP) and chosen with a
// Picker:
//
//	var rr discovery.RoundRobin
//	if in := rr.Pick(c.Instances("PAYMENTS")); in != nil {
//		url := "http://" + in.HostName + ":" + strconv.Itoa(in.Port.Number)
//		...
//	}
//
// Code that derives state from the registry, such as a gateway's route
// table, waits on Changed and rebuilds after each change.
//
// # Concurrency
//
// A Client is safe for concurrent use. New starts nothing; Run starts the
// registration and fetch loops and returns when its context is done, after
// they stopped. The local registry is an immutable snapshot behind an
// atomic pointer: Instances, InstancesByVIP, Applications and Changed load it
// without locking and return shared values, which callers must not modify.
// A snapshot is replaced, never changed, so a caller that keeps one sees a
// consistent view. Pickers are safe for concurrent use and keep their state
// in atomics.
package discovery
