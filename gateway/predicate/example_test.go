package predicate_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/switchboard-dev/switchboard/gateway/predicate"
)

func ExamplePath() {
	// Path=/orders/{id},/static/**
	p, err := predicate.Path(true, "/orders/{id}", "/static/**")
	if err != nil {
		panic(err)
	}
	for _, target := range []string{"/orders/42", "/orders/42/", "/static/css/a.css", "/users/1"} {
		fmt.Println(target, p(httptest.NewRequest("GET", target, nil)))
	}
	_, err = predicate.Path(true, "/orders/{id")
	fmt.Println(err)
	// Output:
	// /orders/42 true
	// /orders/42/ true
	// /static/css/a.css true
	// /users/1 false
	// pattern "/orders/{id": no closing "}"
}

func ExamplePathVars() {
	orders, err := predicate.CompilePath("/orders/{id:[0-9]+}/{*rest}")
	if err != nil {
		panic(err)
	}
	route := predicate.PathPredicate(orders)
	vars := predicate.PathVars(orders)

	r := httptest.NewRequest("GET", "/orders/42/items/7", nil)
	if route(r) {
		dst := map[string]string{}
		vars(r, dst)
		fmt.Println(dst["id"], dst["rest"])
	}
	// Output: 42 /items/7
}

func ExampleWeightGroups() {
	// Two routes: Weight=orders, 8 and Weight=orders, 2.
	wg := predicate.NewWeightGroups()
	v1, _ := predicate.Weight(wg, "orders", "orders-v1", 8)
	v2, _ := predicate.Weight(wg, "orders", "orders-v2", 2)

	// Per request, before route lookup:
	r := wg.Draw(httptest.NewRequest("GET", "/orders", nil))
	fmt.Println(v1(r) != v2(r)) // exactly one of them matches
	// Output: true
}
