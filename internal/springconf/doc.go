// Package springconf reads configuration the way Spring Boot does, so that
// teams can bring their application.yml, application.properties and
// environment variables over unchanged: the files and the environment
// become flat keys ("eureka.server.enable-self-preservation",
// "spring.cloud.gateway.routes[0].predicates[1]"), each with where it came
// from, and a Binder turns keys into Go values with errors that say what to
// change:
//
//	application.yml:3: eureka.server.renewal-percent-threshold: 1.5 is out of range; want a value in (0, 1]
//	application.yml:7: eureka.server.renewal-percent-treshold: unknown key; did you mean eureka.server.renewal-percent-threshold?
//	EUREKA_SERVER_EVICTIONINTERVALTIMERINMS: "60s" is not a whole number of milliseconds
//
// # Usage
//
// Load the file and the environment, let flags override both with Set,
// then bind every key of a part and call Unknown for its prefixes, so that
// a misspelt key fails as loudly as a bad value:
//
//	p, err := springconf.Load(*configFile, os.Environ(), nil)
//	if err != nil {
//		return err // every syntax error, with file and line
//	}
//	if *port != 0 {
//		p.Set("server.port", strconv.Itoa(*port), "--port")
//	}
//	b := springconf.NewBinder(p)
//	cfg := registry.Config{Port: 8761, RenewalPercentThreshold: 0.85} // defaults
//	b.Int("server.port", &cfg.Port, 0, 65535)
//	b.Float("eureka.server.renewal-percent-threshold", &cfg.RenewalPercentThreshold, inUnitInterval)
//	b.Millis("eureka.server.eviction-interval-timer-in-ms", &cfg.EvictionInterval, time.Second)
//	b.Map("eureka.instance.metadata-map", &cfg.Metadata)
//	b.Ignore("eureka.server.use-read-only-response-cache") // no effect here
//	b.Unknown("eureka.server", "eureka.instance")
//	if err := b.Err(); err != nil {
//		return err // a *ConfigError: every problem, in file order
//	}
//
// A key that is absent leaves its destination as it was, so defaults are
// set before binding.
//
// # Names
//
// Keys match by Spring's relaxed rules: case, '-' and '_' do not count
// within an element, so eureka.server.enable-self-preservation,
// eureka.server.enableSelfPreservation and the environment variable
// EUREKA_SERVER_ENABLESELFPRESERVATION are one key. An environment variable
// cannot tell an element boundary from a dash, so it matches a key with the
// dots left out too: EUREKA_SERVER_ENABLE_SELF_PRESERVATION also works. In a
// variable, a number between underscores is an index:
// SPRING_CLOUD_GATEWAY_ROUTES_0_ID is spring.cloud.gateway.routes[0].id.
// Only variables starting with EUREKA_, SERVER_, SPRING_, SWITCHBOARD_,
// RESILIENCE4J_, MANAGEMENT_ or LOGGING_ are read as keys. Map keys, as
// under metadata-map, keep their case when written in a file; from the
// environment they are lower case, as Spring makes them.
//
// # Files
//
// YAML maps join keys with '.', lists add "[i]"; dotted keys
// ("eureka.server.enable-self-preservation: false"), anchors, aliases and
// "<<" merges work, and "[/**]" map keys keep their dots as in Spring.
// Documents separated by "---" (or "#---" in .properties) that set
// spring.config.activate.on-profile, or the older spring.profiles, apply
// only when their profile expression ("prod", "!test", "eu & prod") holds;
// later documents override earlier ones, and a list replaces an earlier
// list whole. The properties format is Java's: "key=value", "key: value",
// '#' and '!' comments, backslash continuations and \uXXXX escapes.
//
// Values may hold placeholders, ${NAME} or ${NAME:default}, resolved
// against the other keys, then the environment. One that cannot be
// resolved is an error, where Spring would keep it as written; a
// Spring Cloud Gateway rewrite that means the text "${segment}" is written
// "$\{segment}" as its documentation says.
//
// # Where we differ from Spring
//
// An environment variable overrides one key: SPRING_CLOUD_GATEWAY_ROUTES_0_URI
// changes the first route's uri and keeps the rest of the file's routes,
// where Spring would replace the whole list. Boolean, number, duration and
// enum values trim spaces. Documents with
// spring.config.activate.on-cloud-platform never apply, as no platform is
// detected. spring.profiles.include and spring.config.import are not read,
// and the only profile files read are application-{profile} beside the
// given file, with its extension.
//
// # Concurrency
//
// A Props may be read (Lookup, Values, List) from several goroutines, but Set
// must not run concurrently with anything. A Binder is for one goroutine.
package springconf
