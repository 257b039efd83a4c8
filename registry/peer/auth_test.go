package peer_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/testenv"
	"github.com/switchboard-dev/switchboard/registry"
	"github.com/switchboard-dev/switchboard/registry/peer"
)

const (
	clusterUser = "eureka"
	clusterPass = "cluster-secret-1"
	peerToken   = "peer-token-2"
)

// securedNode is one in-process registry with authentication on, served on
// loopback, not yet replicating.
type securedNode struct {
	reg  *registry.Registry
	host string // 127.0.0.1:port
}

// url is the node's service URL, with userinfo if given.
func (n *securedNode) url(userinfo string) string {
	if userinfo != "" {
		userinfo += "@"
	}
	return "http://" + userinfo + n.host + "/eureka/"
}

func startSecured(t *testing.T, sec registry.Security) *securedNode {
	t.Helper()
	cfg := registry.DefaultConfig()
	cfg.Security = sec
	r, err := registry.New(cfg)
	if err != nil {
		t.Fatalf("registry.New: %v", err)
	}
	r.OpenForTraffic(0)
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return &securedNode{reg: r, host: strings.TrimPrefix(srv.URL, "http://")}
}

// replicate runs a replicator from n to the peers until the test ends.
func replicate(t *testing.T, n *securedNode, cfg peer.Config, peers ...string) *peer.Replicator {
	t.Helper()
	cfg.RetryMin, cfg.RetryMax = 20*time.Millisecond, 100*time.Millisecond
	rep, err := peer.New(n.reg, peers, cfg, nil)
	if err != nil {
		t.Fatalf("peer.New: %v", err)
	}
	n.reg.SetReplicator(rep)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { rep.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return rep
}

// TestPeersAuthenticate replicates between two secured registries: with the
// administrator's credentials in the peer URL (Spring's way), with the
// configured peer token, and with credentials given to the replicator. A
// replicator with wrong or no credentials gets 401 for its batches and
// nothing lands.
func TestPeersAuthenticate(t *testing.T) {
	t.Parallel()
	admin := registry.Credentials{Username: clusterUser, Password: clusterPass}
	tests := []struct {
		name     string
		sec      registry.Security // both nodes
		cfg      peer.Config       // the sender's replicator
		userinfo string            // in the URL of the receiver
		works    bool
	}{
		{"admin in URL", registry.Security{User: admin}, peer.Config{}, clusterUser + ":" + clusterPass, true},
		{"peer token from registry config", registry.Security{User: admin, Peers: registry.PeerCredentials{Token: peerToken}}, peer.Config{}, "", true},
		{"peer user from registry config", registry.Security{User: admin, Peers: registry.PeerCredentials{Username: "peer", Password: "{noop}" + clusterPass}}, peer.Config{}, "", true},
		{"replicator token over URL", registry.Security{User: admin, Peers: registry.PeerCredentials{Token: peerToken}}, peer.Config{Token: peerToken}, "nobody:nothing", true},
		{"wrong password in URL", registry.Security{User: admin}, peer.Config{}, clusterUser + ":wrong-secret-3", false},
		{"no credentials", registry.Security{User: admin}, peer.Config{}, "", false},
		{"wrong token", registry.Security{User: admin, Peers: registry.PeerCredentials{Token: peerToken}}, peer.Config{Token: "wrong-secret-3"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			from, to := startSecured(t, tt.sec), startSecured(t, tt.sec)
			cfg := peer.DefaultConfig()
			cfg.Username, cfg.Password, cfg.Token = tt.cfg.Username, tt.cfg.Password, tt.cfg.Token
			rep := replicate(t, from, cfg, to.url(tt.userinfo))
			before, _ := to.reg.Version()
			if err := from.reg.Register("ORDERS", benchInstance("ORDERS", "o1"), false); err != nil {
				t.Fatal(err)
			}
			if tt.works {
				testenv.Eventually(t, 10*time.Second, func() error {
					if to.reg.Current("ORDERS", "o1") == nil {
						return fmt.Errorf("ORDERS/o1 not replicated; peer state %+v", rep.Peers())
					}
					return nil
				})
				if err := from.reg.Cancel("ORDERS", "o1", false); err != nil {
					t.Fatal(err)
				}
				testenv.Eventually(t, 10*time.Second, func() error {
					if to.reg.Current("ORDERS", "o1") != nil {
						return fmt.Errorf("cancel of ORDERS/o1 not replicated")
					}
					return nil
				})
				return
			}
			var state registry.PeerState
			testenv.Eventually(t, 10*time.Second, func() error {
				state = rep.Peers()[0]
				if !strings.Contains(state.LastError, "401") {
					return fmt.Errorf("peer state %+v, want a 401", state)
				}
				return nil
			})
			if after, _ := to.reg.Version(); after != before || to.reg.Current("ORDERS", "o1") != nil {
				t.Errorf("a refused replicator changed its peer: version %d, was %d", after, before)
			}
			if strings.Contains(state.LastError, "secret") || strings.Contains(state.URL, "secret") {
				t.Errorf("peer state shows a secret: %+v", state)
			}
		})
	}
}

// TestSyncAuthenticates: the start-up sync reads a peer whose reads are
// closed with the peer credentials.
func TestSyncAuthenticates(t *testing.T) {
	t.Parallel()
	sec := registry.Security{Peers: registry.PeerCredentials{Token: peerToken}, AuthenticatedReads: true}
	src, dst := startSecured(t, sec), startSecured(t, sec)
	if err := src.reg.Register("ORDERS", benchInstance("ORDERS", "o1"), false); err != nil {
		t.Fatal(err)
	}
	rep, err := peer.New(dst.reg, []string{src.url("")}, peer.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := rep.Sync(t.Context())
	if err != nil || n != 1 || dst.reg.Current("ORDERS", "o1") == nil {
		t.Errorf("Sync = %d, %v; want 1 instance copied", n, err)
	}
}

// TestNewRedactsBadURL: a peer URL that does not parse is reported without
// its credentials.
func TestNewRedactsBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://eureka:s3cret@host:87 61/eureka/", "http://eureka:s3c/ret@[::1/eureka/"} {
		_, err := peer.New(nil, []string{u}, peer.DefaultConfig(), nil)
		if err == nil {
			t.Errorf("New(%q) accepted it", u)
			continue
		}
		if strings.Contains(err.Error(), "s3c") {
			t.Errorf("New(%q): error shows the password: %v", u, err)
		}
		if _, err := peer.Others([]string{u}, "", 8761); err == nil || strings.Contains(err.Error(), "s3c") {
			t.Errorf("Others(%q) = %v; want an error without the password", u, err)
		}
	}
}

// TestClusterSpringSecurity runs two registry processes secured the Spring
// way: spring.security.user from the environment, and each node's peers in
// defaultZone with the same credentials. Anonymous writes get 401; a write
// with the credentials replicates to the other node; no output shows the
// password.
func TestClusterSpringSecurity(t *testing.T) {
	t.Parallel()
	nodes := newNodes(t, 2)
	userinfo := clusterUser + ":" + clusterPass + "@"
	withCreds := func(n *node) string { return strings.Replace(n.url, "http://", "http://"+userinfo, 1) }
	nodes[0].peers = []string{withCreds(nodes[1]) + "/"}
	nodes[1].peers = []string{withCreds(nodes[0]) + "/"}
	for _, n := range nodes {
		n.start(t, "SPRING_SECURITY_USER_NAME="+clusterUser, "SPRING_SECURITY_USER_PASSWORD="+clusterPass)
	}
	if err := register(nodes[0].url, "ORDERS", "anonymous"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("anonymous register = %v, want 401", err)
	}
	if err := register(withCreds(nodes[0]), "ORDERS", "o1"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		return converged(nodes, map[string]bool{"ORDERS/o1": true})
	})
	for _, n := range nodes {
		if out := n.proc.Output(); strings.Contains(out, clusterPass) {
			t.Errorf("node %d output shows the password:\n%s", n.port, out)
		}
	}
}
