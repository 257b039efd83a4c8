// Package registry is a Netflix Eureka server: the REST API v2, leases,
// eviction, self-preservation, status overrides, deltas and the dashboard,
// wire-compatible with Eureka's own clients.
//
// # Usage
//
//	reg, err := registry.New(registry.DefaultConfig())
//	reg.OpenForTraffic(0)
//	go reg.Run(ctx)                 // eviction, renewal counting, delta retention
//	http.ListenAndServe(":8761", reg.Handler())
//
// # What we implement, and where we differ from Eureka
//
// Every endpoint of Eureka's API under /eureka and /eureka/v2, with Eureka's
// status codes, JSON and XML, content negotiation (JSON only when Accept
// mentions json), gzip only when asked, upper-cased application names,
// trailing slashes and percent-encoded ids. The override rule chain,
// lastDirtyTimestamp conflict rules, the delta queue (3 minutes), the
// apps__hashcode algorithm, the eviction task (compensation for late runs, at
// most the unprotected share of the registry per run, chosen at random) and
// self-preservation (threshold = int(E × 60/interval × percent), renewals
// counted per whole minute, E recounted every 15 minutes) follow Eureka's
// rules and numbers. We depart from it where it is wrong or surprising:
//
//   - Lease expiry. Eureka's renew() stores now+duration as the last update and
//     isExpired() adds the duration again, so a renewed lease lives twice its
//     duration (180 s by default; Netflix/eureka#531, #1277). Here a lease
//     expires one duration after its last renewal, and leaseInfo's
//     lastRenewalTimestamp is the real time of that renewal.
//   - No stale reads. Eureka serves /apps from a read-only cache refreshed
//     every 30 s. Here every change bumps a version and payloads are rebuilt
//     once per version, on the first read after it, so a read always reflects
//     the last completed write. The response-cache settings are accepted and
//     have no effect.
//   - Large uncompressed documents are not kept. Eureka's response cache
//     holds every payload it served. Here the gzip form of every document is
//     kept, and so is a JSON or XML document up to
//     switchboard.registry.max-cached-uncompressed-bytes (32 MiB, about
//     30,000 instances in JSON and 20,000 in XML); a larger registry document
//     (/apps, /apps/delta, /vips, /svips) is encoded on each read as it is
//     sent, from the instances collected for its version, byte for byte what
//     the cache would have held. At 100,000 instances the full registry is
//     100 MB of JSON and 160 MB of XML. Go's collector lets the heap grow to
//     twice what is live before it runs, so keeping both would take over
//     500 MB, while encoding a read of the JSON takes about 140 ms of CPU, a
//     sixth of the time a 1 Gbit/s link needs to carry it, and Eureka's
//     clients ask for gzip.
//     Small documents, the 10,000-instance registry among them, are kept.
//   - Silent status fixes. When a heartbeat finds the holder's status
//     disagreeing with the override table, Eureka changes it without a delta
//     entry; we record a MODIFIED change so clients see it.
//   - Bad input. An unknown status, a bad lastDirtyTimestamp or override value
//     gets 400 with a reason instead of Eureka's 500; oversize bodies get 413.
//     404, 403 and 409 answers carry no body, as Eureka's do.
//   - The 15-minute recount counts this registry's own leases (Eureka counts
//     its embedded client's copy of the peers' registry).
//   - The override table does not expire entries after an hour of no access;
//     entries go when the instance is cancelled or evicted, as they do in
//     Eureka in every case that matters.
//
// # Concurrency
//
// A Registry is safe for concurrent use. One mutex guards the registry maps;
// heartbeats take it for reading and store one atomic integer, so they
// neither contend with each other nor allocate. Stored instances are never
// modified: a change stores a new copy, so documents built from them can be
// encoded outside the lock.
package registry
