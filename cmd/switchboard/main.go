// Command switchboard runs the Switchboard registry and gateway.
//
//	switchboard registry [--config FILE] [--port N] [--profile P] [--peers URL,...]
//	switchboard gateway  [--config FILE] [--port N] [--profile P]
//	switchboard dev      [--port N] [--gateway-port N] [--cluster N]
//	switchboard version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/switchboard-dev/switchboard/gateway"
	"github.com/switchboard-dev/switchboard/internal/serve"
	"github.com/switchboard-dev/switchboard/internal/springconf"
	"github.com/switchboard-dev/switchboard/registry"
	"github.com/switchboard-dev/switchboard/registry/peer"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

const usage = `Switchboard: a Eureka-compatible service registry and API gateway.

Usage:
  switchboard registry [--config FILE] [--port N] [--profile NAME] [--peers URL,...]
  switchboard gateway [--config FILE] [--port N] [--profile NAME]
  switchboard dev [--port N] [--gateway-port N] [--cluster N]
  switchboard version

Run "switchboard COMMAND --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("switchboard: missing command; want registry, gateway, dev or version")
	}
	switch args[0] {
	case "registry":
		return runRegistry(ctx, args[1:], environ, stderr, false)
	case "gateway":
		return runGateway(ctx, args[1:], environ, stderr)
	case "dev":
		return runDev(ctx, args[1:], environ, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "switchboard", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("switchboard: unknown command %q; want registry, gateway, dev or version", args[0])
}

type flags struct {
	config   string
	port     string
	profiles string
	peers    string
	logLevel string
	cluster  int
	gwPort   string
}

func parseFlags(name string, args []string, stderr io.Writer, dev bool) (*flags, error) {
	fs := flag.NewFlagSet("switchboard "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f flags
	if dev {
		fs.IntVar(&f.cluster, "cluster", 1, "number of registry `nodes` to run, peered, on consecutive ports")
		fs.StringVar(&f.gwPort, "gateway-port", "8080", "gateway listening `port`")
	} else {
		fs.StringVar(&f.config, "config", "", "configuration `file` (application.yml, .yaml or .properties)")
		fs.StringVar(&f.profiles, "profile", "", "active Spring `profiles`, comma-separated (also SPRING_PROFILES_ACTIVE)")
		if name == "registry" {
			fs.StringVar(&f.peers, "peers", "", "peer service `URLs`, comma-separated (overrides eureka.client.service-url.defaultZone)")
		}
	}
	fs.StringVar(&f.port, "port", "", "listening `port` (overrides server.port)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("switchboard %s: unexpected argument %q", name, fs.Arg(0))
	}
	if dev && (f.cluster < 1 || f.cluster > 9) {
		return nil, fmt.Errorf("--cluster: %d is out of range; want 1 to 9", f.cluster)
	}
	return &f, nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not a level; want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// begin parses a command's flags and builds its logger.
func begin(name string, args []string, stderr io.Writer, dev bool) (*flags, *slog.Logger, error) {
	f, err := parseFlags(name, args, stderr, dev)
	if err != nil {
		return nil, nil, err
	}
	log, err := newLogger(stderr, f.logLevel)
	if err != nil {
		return nil, nil, err
	}
	return f, log, nil
}

// profileList is --profile as a list.
func (f *flags) profileList() []string {
	if f.profiles == "" {
		return nil
	}
	return strings.Split(f.profiles, ",")
}

func runRegistry(ctx context.Context, args, environ []string, stderr io.Writer, dev bool) error {
	name := "registry"
	if dev {
		name = "dev"
	}
	f, log, err := begin(name, args, stderr, dev)
	if err != nil {
		return err
	}
	props, err := springconf.Load(f.config, environ, f.profileList())
	if err != nil {
		return err
	}
	if f.port != "" {
		if _, err := strconv.Atoi(f.port); err != nil {
			return fmt.Errorf("--port: %q is not a port number; want 0 to 65535", f.port)
		}
		props.Set("server.port", f.port, "--port")
	}
	if f.peers != "" {
		props.Set("eureka.client.service-url.defaultZone", f.peers, "--peers")
	}
	settings, err := registry.Bind(props)
	opts, lerr := serve.Bind(props, serve.DefaultLimits(), true)
	if err := errors.Join(err, lerr); err != nil {
		return err
	}
	nodes := []registry.Settings{settings}
	if dev && f.cluster > 1 {
		nodes = devCluster(settings, f.cluster)
	}
	return runNodes(ctx, nodes, opts, log, nil)
}

// runDev runs the registry (one node, or a peered cluster) and the gateway
// in one process with embedded defaults: the gateway finds services through
// the registry and serves each at /{service in lower case}/**.
func runDev(ctx context.Context, args, environ []string, stderr io.Writer) error {
	f, log, err := begin("dev", args, stderr, true)
	if err != nil {
		return err
	}
	props, err := springconf.Load("", environ, nil)
	if err != nil {
		return err
	}
	if f.port != "" {
		if _, err := strconv.Atoi(f.port); err != nil {
			return fmt.Errorf("--port: %q is not a port number; want 0 to 65535", f.port)
		}
		props.Set("server.port", f.port, "--port")
	}
	settings, err := registry.Bind(props)
	opts, lerr := serve.Bind(props, serve.DefaultLimits(), true)
	if err := errors.Join(err, lerr); err != nil {
		return err
	}
	if opts.TLS.Enabled {
		return errors.New("switchboard dev: server.ssl: dev serves plain HTTP on its own; run switchboard registry and switchboard gateway for TLS")
	}
	nodes := []registry.Settings{settings}
	if f.cluster > 1 {
		nodes = devCluster(settings, f.cluster)
	}
	gwPort, err := strconv.Atoi(f.gwPort)
	if err != nil || gwPort < 0 || gwPort > 65535 {
		return fmt.Errorf("--gateway-port: %q is not a port number; want 0 to 65535", f.gwPort)
	}
	gcfg, err := gateway.Bind(&springconf.Props{})
	if err != nil {
		return err
	}
	gcfg.Port = gwPort
	gcfg.Locator.Enabled = true
	gcfg.Locator.LowerCaseServiceID = true
	for _, n := range nodes {
		gcfg.RegistryURLs = append(gcfg.RegistryURLs, "http://localhost:"+strconv.Itoa(n.Port)+"/eureka/")
	}
	gw := func(ctx context.Context) error {
		return serveGateway(ctx, gcfg, serve.DefaultOptions(gatewayLimits()), "", nil, log.With("component", "gateway"))
	}
	return runNodes(ctx, nodes, opts, log, gw)
}

// runNodes runs registry nodes (and extra, if set) until ctx ends or one
// fails. Their listeners take opts; in a dev cluster, node i's management
// port, if it has one, is opts' plus i.
func runNodes(ctx context.Context, nodes []registry.Settings, opts serve.Options, log *slog.Logger, extra func(context.Context) error) error {
	// Load the certificates and listen on every port first, so a bad file
	// or port stops everything before anything starts.
	lns := make([]*serve.Listeners, len(nodes))
	for i, s := range nodes {
		o := opts
		if o.Management.Port > 0 {
			o.Management.Port += i
		}
		ls, err := serve.Listen(s.Addr(), o, log)
		if err != nil {
			for _, l := range lns[:i] {
				l.Close()
			}
			return fmt.Errorf("registry: %w", err)
		}
		lns[i] = ls
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3*len(nodes)+1)
	for i, s := range nodes {
		l := log
		if len(nodes) > 1 {
			l = log.With("node", i+1)
		}
		if err := startNode(ctx, &wg, errs, s, lns[i], l); err != nil {
			for _, ls := range lns[i+1:] {
				ls.Close()
			}
			cancel()
			wg.Wait()
			return err
		}
	}
	if extra != nil {
		wg.Go(func() { errs <- extra(ctx) })
	}
	err := <-errs
	cancel()
	wg.Wait()
	log.Info("stopped")
	return err
}

// devCluster turns one node's settings into n peered nodes on consecutive ports.
func devCluster(s registry.Settings, n int) []registry.Settings {
	urls := make([]string, n)
	for i := range n {
		urls[i] = "http://localhost:" + strconv.Itoa(s.Port+i) + "/eureka/"
	}
	out := make([]registry.Settings, n)
	for i := range n {
		c := s
		c.Port = s.Port + i
		c.Config.Peers = urls
		c.Replication.MyURL = urls[i]
		out[i] = c
	}
	return out
}

// startNode starts one registry: it listens at once (so peers syncing from
// it get an answer), copies its peers' registries, opens for traffic, and
// runs the timers and the replication senders.
func startNode(ctx context.Context, wg *sync.WaitGroup, errs chan<- error, s registry.Settings, ls *serve.Listeners, log *slog.Logger) error {
	reg, err := registry.New(s.Config, registry.WithLogger(log))
	if err != nil {
		ls.Close()
		return err
	}
	port := ls.Addr().(*net.TCPAddr).Port
	peers, err := peer.Others(s.Config.Peers, s.Replication.MyURL, port)
	if err != nil {
		ls.Close()
		return fmt.Errorf("eureka.client.service-url.defaultZone: %w", err)
	}
	pc := peer.DefaultConfig()
	pc.QueueCapacity = s.Replication.QueueCapacity
	pc.ConnectTimeout = s.Replication.ConnectTimeout
	pc.ReadTimeout = s.Replication.ReadTimeout
	pc.SyncRetries = s.Replication.SyncRetries
	pc.SyncRetryWait = s.Replication.SyncRetryWait
	pc.MaxBatchDelay = s.Replication.MaxBatchDelay
	pc.TLS = ls.PeerTLS()
	rep, err := peer.New(reg, peers, pc, log)
	if err != nil {
		ls.Close()
		return err
	}
	if len(peers) > 0 {
		reg.SetReplicator(rep)
	}
	h := reg.Handler()
	app := ls.RequirePeerCertificate(h, peer.IsReplication)
	wg.Go(func() { errs <- ls.Serve(ctx, app, h) })
	log.Info("registry listening", listenAttrs(ls, "version", version, "peers", len(peers),
		"self_preservation", s.Config.EnableSelfPreservation)...)
	wg.Go(func() {
		n, err := rep.Sync(ctx)
		if err != nil {
			return
		}
		reg.OpenForTraffic(n)
		log.Info("registry open for traffic", "synced_instances", n)
		wg.Go(func() { errs <- rep.Run(ctx) })
		errs <- reg.Run(ctx)
	})
	return nil
}

// listenAttrs returns the log attributes that say where ls listens,
// followed by more.
func listenAttrs(ls *serve.Listeners, more ...any) []any {
	attrs := []any{"addr", ls.Addr().String(), "tls", ls.TLS()}
	if a := ls.AdminAddr(); a != nil {
		attrs = append(attrs, "management_addr", a.String())
	}
	return append(attrs, more...)
}
