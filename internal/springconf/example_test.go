package springconf_test

import (
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/internal/springconf"
)

func Example() {
	yml := `server:
  port: 70000
eureka:
  server:
    renewal-percent-treshold: 0.5
    eviction-interval-timer-in-ms: 30000
  instance:
    metadata-map:
      zone: eu
`
	p, err := springconf.Parse("application.yml", []byte(yml), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	var cfg struct {
		Port             int
		RenewalThreshold float64
		EvictionInterval time.Duration
		Metadata         map[string]string
	}
	cfg.Port, cfg.RenewalThreshold, cfg.EvictionInterval = 8761, 0.85, time.Minute // defaults

	b := springconf.NewBinder(p)
	b.Int("server.port", &cfg.Port, 0, 65535)
	b.Float("eureka.server.renewal-percent-threshold", &cfg.RenewalThreshold, func(f float64) string {
		if f <= 0 || f > 1 {
			return "out of range; want a value in (0, 1]"
		}
		return ""
	})
	b.Millis("eureka.server.eviction-interval-timer-in-ms", &cfg.EvictionInterval, time.Second)
	b.Map("eureka.instance.metadata-map", &cfg.Metadata)
	b.Unknown("server", "eureka")
	fmt.Println(b.Err())
	fmt.Println(cfg.Port, cfg.RenewalThreshold, cfg.EvictionInterval, cfg.Metadata)
	// Output:
	// application.yml:2: server.port: 70000 is out of range; want 0 to 65535
	// application.yml:5: eureka.server.renewal-percent-treshold: unknown key; did you mean eureka.server.renewal-percent-threshold?
	// 8761 0.85 30s map[zone:eu]
}

func ExampleProps_List() {
	yml := `spring:
  cloud:
    gateway:
      routes:
        - id: orders
          uri: lb://ORDERS
        - id: users
          uri: lb://USERS
`
	p, err := springconf.Parse("application.yml", []byte(yml), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, i := range p.List("spring.cloud.gateway.routes") {
		id, _ := p.Lookup("spring.cloud.gateway.routes[" + i + "].id")
		uri, _ := p.Lookup("spring.cloud.gateway.routes[" + i + "].uri")
		fmt.Printf("%s %s (%s)\n", id.Value, uri.Value, uri.Where)
	}
	// Output:
	// orders lb://ORDERS (application.yml:6)
	// users lb://USERS (application.yml:8)
}
