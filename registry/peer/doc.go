// Package peer replicates a registry's writes to its peers the way Eureka
// servers do, so a Switchboard node can join a cluster of Eureka servers and
// losing one node loses no registration.
//
// # Usage
//
//	rep, err := peer.New(reg, urls, peer.DefaultConfig(), log)
//	reg.SetReplicator(rep)
//	n, _ := rep.Sync(ctx)     // copy the peers' registries before opening
//	reg.OpenForTraffic(n)
//	go rep.Run(ctx)           // one sender per peer
//
// Every write the registry accepted from a client (register, heartbeat,
// cancel, status override and its removal, metadata change) becomes a task in
// one bounded queue per peer. A newer task for the same action and instance
// replaces a pending one. One goroutine per peer sends tasks in batches to
// POST {peer}/peerreplication/batch/ in Eureka's wire format: a batch leaves
// as soon as the previous one is answered, with up to 250 tasks. While a peer is unreachable its
// batches are retried with backoff; registrations, cancels and status changes
// are kept until delivered (or pushed out of a full queue, which is counted),
// heartbeats expire after one renewal interval because the next one replaces
// them. A heartbeat the peer answers with 404 becomes a registration; a 409
// carries the peer's newer copy, which we adopt, as Eureka does.
//
// Batches and the start-up sync authenticate with Config's Username and
// Password or Token, else with the registry's
// switchboard.registry.security.peers, else with the credentials in the
// peer's URL, which net/http sends as HTTP Basic: Spring's way, where every
// node's defaultZone holds http://user:pass@peer/eureka/. A peer that answers
// 401 or 403 is retried with backoff, as a restarting one is, so a cluster
// whose credentials are being rolled out catches up once they match.
//
// # Concurrency
//
// Replicate is safe for concurrent use and never blocks: it only appends to
// the queues. Run owns the senders.
package peer
