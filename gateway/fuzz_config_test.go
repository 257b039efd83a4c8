package gateway

import (
	"testing"

	"github.com/switchboard-dev/switchboard/internal/springconf"
)

// FuzzConfig feeds arbitrary YAML to the gateway's configuration loader: it
// must never panic, and a configuration it accepts must compile into a
// gateway.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(`spring:
  cloud:
    gateway:
      routes:
        - id: a
          uri: http://127.0.0.1:1
          predicates: [Path=/a/{x}/**, Method=GET]
          filters: [StripPrefix=1, AddRequestHeader=X-A, {x}, SetPath=/b/{x}]
`))
	f.Add([]byte(`spring.cloud.gateway.routes[0].uri: lb://X
spring.cloud.gateway.routes[0].predicates[0]: Weight=g,5
spring.cloud.gateway.routes[0].filters[0].name: Retry
spring.cloud.gateway.routes[0].filters[0].args.retries: 2
`))
	f.Add([]byte(`spring:
  cloud:
    gateway:
      routes:
        - uri: http://x
          predicates:
            - name: Path
              args: {patterns: "/{a:[0-9]+}"}
          filters:
            - name: CircuitBreaker
              args: {name: cb, fallbackUri: "forward:/f", statusCodes: [500]}
resilience4j.circuitbreaker.instances.cb.slidingWindowSize: 5
`))
	f.Fuzz(func(t *testing.T, data []byte) {
		props, err := springconf.Parse("fuzz.yml", data, nil)
		if err != nil {
			return
		}
		cfg, err := Bind(props)
		if err != nil {
			return
		}
		g, err := New(cfg)
		if err != nil {
			t.Fatalf("Bind accepted a configuration New refused: %v", err)
		}
		g.closeIdle()
	})
}
