// Command switchboard runs the Switchboard registry and gateway.
//
//	switchboard registry [--config FILE] [--port N] [--profile P]
//	switchboard dev      [--port N]
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

	"github.com/switchboard-dev/switchboard/internal/serve"
	"github.com/switchboard-dev/switchboard/internal/springconf"
	"github.com/switchboard-dev/switchboard/registry"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

const usage = `Switchboard: a Eureka-compatible service registry and API gateway.

Usage:
  switchboard registry [--config FILE] [--port N] [--profile NAME]
  switchboard dev [--port N]
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
		return errors.New("switchboard: missing command; want registry, dev or version")
	}
	switch args[0] {
	case "registry":
		return runRegistry(ctx, args[1:], environ, stderr, false)
	case "dev":
		return runRegistry(ctx, args[1:], environ, stderr, true)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "switchboard", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("switchboard: unknown command %q; want registry, dev or version", args[0])
}

type flags struct {
	config   string
	port     string
	profiles string
	logLevel string
}

func parseFlags(name string, args []string, stderr io.Writer, dev bool) (*flags, error) {
	fs := flag.NewFlagSet("switchboard "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f flags
	if !dev {
		fs.StringVar(&f.config, "config", "", "configuration `file` (application.yml, .yaml or .properties)")
		fs.StringVar(&f.profiles, "profile", "", "active Spring `profiles`, comma-separated (also SPRING_PROFILES_ACTIVE)")
	}
	fs.StringVar(&f.port, "port", "", "listening `port` (overrides server.port)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("switchboard %s: unexpected argument %q", name, fs.Arg(0))
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

func runRegistry(ctx context.Context, args, environ []string, stderr io.Writer, dev bool) error {
	name := "registry"
	if dev {
		name = "dev"
	}
	f, err := parseFlags(name, args, stderr, dev)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, f.logLevel)
	if err != nil {
		return err
	}
	var profiles []string
	if f.profiles != "" {
		profiles = strings.Split(f.profiles, ",")
	}
	props, err := springconf.Load(f.config, environ, profiles)
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
	if err != nil {
		return err
	}
	reg, err := registry.New(settings.Config, registry.WithLogger(log))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", settings.Addr())
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	lim := serve.DefaultLimits()
	srv := serve.Server(reg.Handler(), lim, log)
	reg.OpenForTraffic(0)
	log.Info("registry listening", "addr", ln.Addr().String(), "version", version,
		"self_preservation", settings.Config.EnableSelfPreservation)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() { errs <- reg.Run(ctx) })
	wg.Go(func() { errs <- serve.Run(ctx, srv, ln, lim) })
	err = <-errs
	cancel()
	wg.Wait()
	log.Info("registry stopped")
	return err
}
