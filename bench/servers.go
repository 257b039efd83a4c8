package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// serveMode runs one of the servers the harness starts as a child process,
// until SIGTERM:
//
//	bench backend ADDR...   the gateway suite's backend: 100 bytes on every request
//	bench floor ADDR DIR    the registry suite's floor
func serveMode(mode string, args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var h http.Handler
	var addrs []string
	switch mode {
	case "backend":
		if len(args) == 0 {
			return errors.New("usage: bench backend ADDR [ADDR]")
		}
		h, addrs = backend(), args
	case "floor":
		if len(args) != 2 {
			return errors.New("usage: bench floor ADDR DIR")
		}
		h, addrs = newFloor(args[1]), args[:1]
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(addrs))
	var srvs []*http.Server
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
		srvs = append(srvs, srv)
		wg.Go(func() { errs <- srv.Serve(ln) })
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	for _, s := range srvs {
		s.Close()
	}
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// backendBody is what the backend answers: 100 bytes, the same for every
// target of the gateway suite.
var backendBody = []byte(strings.Repeat("switchboard bench backend ", 4)[:99] + "\n")

// backend answers every request with backendBody, doing as little as net/http
// allows: pre-built header values, no body read.
func backend() http.Handler {
	ct := []string{"text/plain; charset=utf-8"}
	cl := []string{strconv.Itoa(len(backendBody))}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = ct
		h["Content-Length"] = cl
		w.Write(backendBody)
	})
}

// A floor is the least a registry can do over HTTP with net/http: writes
// (register, heartbeat, cancel) read the body and answer 204 or 200; reads of
// /eureka/apps and /eureka/apps/delta write bytes encoded beforehand, chosen
// by Accept and Accept-Encoding. POST /bench/load reads the documents from
// the directory (full.json, full.json.gz, full.xml, full.xml.gz, and the same
// for delta), so that the floor serves exactly the registry's bytes.
type floor struct {
	dir  string
	docs atomic.Pointer[floorDocs]
}

// floorDocs are the pre-encoded documents, indexed by docIndex.
type floorDocs [8][]byte

func newFloor(dir string) *floor {
	f := &floor{dir: dir}
	f.docs.Store(&floorDocs{})
	return f
}

// floorFiles names the documents in docIndex order.
var floorFiles = [8]string{"full.json", "full.json.gz", "full.xml", "full.xml.gz",
	"delta.json", "delta.json.gz", "delta.xml", "delta.xml.gz"}

func docIndex(delta, json, gz bool) int {
	i := 0
	if delta {
		i += 4
	}
	if !json {
		i += 2
	}
	if gz {
		i++
	}
	return i
}

var (
	floorJSON = []string{"application/json"}
	floorXML  = []string{"application/xml"}
	floorGzip = []string{"gzip"}
)

func (f *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		if r.URL.Path == "/bench/load" {
			f.load(w)
			return
		}
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		return
	}
	path := r.URL.Path
	if path != "/eureka/apps" && path != "/eureka/apps/" && path != "/eureka/apps/delta" {
		w.WriteHeader(http.StatusOK)
		return
	}
	json := strings.Contains(r.Header.Get("Accept"), "json")
	gz := strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
	body := f.docs.Load()[docIndex(path == "/eureka/apps/delta", json, gz)]
	h := w.Header()
	if json {
		h["Content-Type"] = floorJSON
	} else {
		h["Content-Type"] = floorXML
	}
	if gz {
		h["Content-Encoding"] = floorGzip
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.Write(body)
}

// load replaces the documents with the files in f.dir; a missing file is empty.
func (f *floor) load(w http.ResponseWriter) {
	var d floorDocs
	for i, name := range floorFiles {
		b, err := os.ReadFile(filepath.Join(f.dir, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		d[i] = b
	}
	f.docs.Store(&d)
	fmt.Fprintln(w, "loaded")
}
