package discovery_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strconv"

	"github.com/switchboard-dev/switchboard/discovery"
	"github.com/switchboard-dev/switchboard/eureka"
)

func ExampleClient() {
	cfg := discovery.DefaultConfig()
	cfg.ServiceURLs = []string{"http://localhost:8761/eureka/"}
	cfg.Instance.App = "orders"
	cfg.Instance.Port = 8080
	c, err := discovery.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx) // registers, renews, fetches; cancels the registration when ctx ends

	var rr discovery.RoundRobin
	if in := rr.Pick(c.Instances("PAYMENTS")); in != nil {
		resp, err := http.Get("http://" + in.HostName + ":" + strconv.Itoa(in.Port.Number) + "/pay")
		if err == nil {
			resp.Body.Close()
		}
	}
}

func ExampleRoundRobin() {
	instances := []*eureka.Instance{{InstanceID: "a"}, {InstanceID: "b"}}
	var rr discovery.RoundRobin
	for range 3 {
		fmt.Println(rr.Pick(instances).InstanceID)
	}
	// Output:
	// a
	// b
	// a
}

func ExampleWeighted() {
	instances := []*eureka.Instance{
		{InstanceID: "big", Metadata: map[string]string{"weight": "3"}},
		{InstanceID: "small"}, // no weight: 1
	}
	p := discovery.Weighted("weight")
	counts := map[string]int{}
	for range 1000 {
		counts[p.Pick(instances).InstanceID]++
	}
	fmt.Println(counts["big"] > counts["small"])
	// Output: true
}
