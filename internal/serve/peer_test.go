package serve_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
	"github.com/switchboard-dev/switchboard/internal/serve"
	"github.com/switchboard-dev/switchboard/internal/testenv"
	"github.com/switchboard-dev/switchboard/registry"
	"github.com/switchboard-dev/switchboard/registry/peer"
)

// node is a registry wired as cmd/switchboard wires one: its listeners,
// its handler behind RequirePeerCertificate, and a replicator to peers
// using the listeners' peer TLS.
type node struct {
	reg *registry.Registry
	rep *peer.Replicator
	ls  *serve.Listeners
}

func startNode(t *testing.T, opts serve.Options, peers ...string) *node {
	t.Helper()
	log := testLogger(t)
	reg, err := registry.New(registry.DefaultConfig(), registry.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	reg.OpenForTraffic(0)
	ls, err := serve.Listen("127.0.0.1:0", opts, log)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	pc := peer.DefaultConfig()
	pc.TLS = ls.PeerTLS()
	pc.RetryMax = 200 * time.Millisecond
	rep, err := peer.New(reg, peers, pc, log)
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) > 0 {
		reg.SetReplicator(rep)
	}
	h := reg.Handler()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := ls.Serve(ctx, ls.RequirePeerCertificate(h, peer.IsReplication), h); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	wg.Go(func() { rep.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return &node{reg: reg, rep: rep, ls: ls}
}

func instance(app, id string) *eureka.Instance {
	return &eureka.Instance{
		InstanceID: id, HostName: id, App: app, IPAddr: "10.0.0.1", Status: eureka.StatusUp,
		Port:           eureka.Port{Number: 8080, Enabled: true},
		DataCenterInfo: eureka.DataCenterInfo{Name: "MyOwn"},
		LeaseInfo:      eureka.LeaseInfo{RenewalIntervalInSecs: 30, DurationInSecs: 90},
	}
}

// TestPeersMutualTLS: with switchboard.server.peer-ssl.client-auth: need, a
// peer presenting a certificate of the cluster's CA replicates; one with a
// certificate of another CA, or none, cannot, and nothing it sends lands.
// Clients without certificates still use the registry.
func TestPeersMutualTLS(t *testing.T) {
	t.Parallel()
	cluster := newCA(t, "cluster")
	rogue := newCA(t, "rogue")

	target := tlsOptions(t, cluster)
	target.Peer = serve.PeerTLS{TrustCertificate: cluster.file, ClientAuth: true}
	b := startNode(t, target)
	peerURL := "https://" + b.ls.Addr().String() + "/eureka/"

	sender := func(name string, ca *testCA) *node {
		opts := testOptions()
		opts.Peer.TrustCertificate = cluster.file // to verify b's server certificate
		if ca != nil {
			opts.Peer.Certificate, opts.Peer.PrivateKey = ca.issueFiles(t, name)
		}
		return startNode(t, opts, peerURL)
	}
	good := sender("good", cluster)
	bad := sender("bad", rogue)
	none := sender("none", nil)

	for _, s := range []struct {
		name string
		n    *node
	}{{"BAD", bad}, {"NONE", none}} {
		if err := s.n.reg.Register(s.name, instance(s.name, "i-1"), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := good.reg.Register("GOOD", instance("GOOD", "i-1"), false); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if b.reg.Current("GOOD", "i-1") == nil {
			return fmt.Errorf("GOOD/i-1 not replicated; sender's peer state %+v", good.rep.Peers())
		}
		return nil
	})
	for _, s := range []struct {
		name, wantErr string
		n             *node
	}{{"BAD", "certificate", bad}, {"NONE", "403", none}} {
		testenv.Eventually(t, 5*time.Second, func() error {
			st := s.n.rep.Peers()[0]
			if st.Available || !strings.Contains(st.LastError, s.wantErr) {
				return fmt.Errorf("%s sender's peer state %+v; want a failure mentioning %q", s.name, st, s.wantErr)
			}
			return nil
		})
		if b.reg.Current(s.name, "i-1") != nil {
			t.Errorf("%s/i-1 was replicated by a peer without a cluster certificate", s.name)
		}
	}

	// Clients without a certificate read and register as before, but may
	// not pass off a write as replication.
	c := httpsClient(t, cluster)
	if status, _ := fetch(t, c, "https://"+b.ls.Addr().String()+"/eureka/apps"); status != 200 {
		t.Errorf("GET /eureka/apps without a client certificate: %d, want 200", status)
	}
	req, _ := http.NewRequest("DELETE", peerURL+"apps/GOOD/i-1", nil)
	req.Header.Set("X-Netflix-Discovery-Replication", "true")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || b.reg.Current("GOOD", "i-1") == nil {
		t.Errorf("replicated cancel without a peer certificate: %d, instance kept %v; want 403, true",
			resp.StatusCode, b.reg.Current("GOOD", "i-1") != nil)
	}
}
