// Package serve runs HTTP servers the way every Switchboard listener runs:
// with TLS from PEM files (reloaded when they change, HTTP/2 offered), with
// limits on header and body size, on read, write and idle time and on open
// connections, with the admin endpoints on the main listener or one of
// their own, structured logs, and a graceful shutdown when the context ends.
//
// # Usage
//
// Bind reads the Spring keys (server.ssl.*, server.tomcat.*,
// server.max-http-request-header-size, management.server.*) and ours
// (switchboard.server.*) into Options. Listen loads the certificates and
// opens the sockets, so a bad file or a port in use stops start-up before
// anything serves; Serve then serves until its context ends:
//
//	opts, err := serve.Bind(props, serve.DefaultLimits(), false)
//	...
//	ls, err := serve.Listen(":8080", opts, log)
//	...
//	return ls.Serve(ctx, app, admin) // admin: /actuator/** and /metrics
//
// Server and Run are the parts underneath, for a single listener.
//
// # Slow clients
//
// Limits.ReadHeaderTimeout closes a connection that has not sent its
// headers in time, however slowly it trickles them (slowloris);
// Limits.MaxConnections caps what idle or slow connections can hold at once.
//
// # Concurrency
//
// Listeners and Certificate are safe for concurrent use. Serve and
// Certificate.Run are the only goroutines, and run until their context ends.
package serve
