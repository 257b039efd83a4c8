// Package eureka holds the Netflix Eureka wire format shared by the registry
// server and the discovery client: InstanceInfo and its parts, applications
// documents, peer replication batches, and their JSON and XML encodings exactly
// as Eureka's legacy Jackson codec and XStream write them.
//
// Encoders write the strict shape every Eureka client accepts (string
// versions__delta, port objects, arrays even for one element, the empty-map
// marker). Decoders are lenient the way real clients need: numbers or strings,
// booleans or strings, single objects in place of arrays, either spelling of
// overriddenStatus, missing optional parts and unknown members.
//
// The package imports only the standard library.
package eureka
