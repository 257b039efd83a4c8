package registry

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-dev/switchboard/eureka"
)

// Handler returns the registry's HTTP handler: the Eureka REST API under
// /eureka/ (and /eureka/v2/), the dashboard at /, /actuator/health and
// /metrics.
func (r *Registry) Handler() http.Handler { return r.routes() }

func (r *Registry) routes() http.Handler {
	auth, err := newAuthenticator(&r.cfg.Security)
	if err != nil {
		panic(err) // unreachable: New validated the config
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /actuator/health", r.serveHealth)
	mux.Handle("GET /metrics", r.guardReads(auth, promhttp.HandlerFor(r.metrics.reg, promhttp.HandlerOpts{})))
	// The dashboard lists every instance, so it is closed with the reads:
	// a browser asks for the same Basic credentials.
	mux.Handle("GET /{$}", r.guardReads(auth, http.HandlerFunc(r.serveDashboard)))
	mux.Handle("GET /lastn", r.guardReads(auth, http.HandlerFunc(r.serveLastN)))
	deltas := newSinceDeltas()
	// The Eureka API is dispatched before the mux: ServeMux's pattern
	// matching allocates, and a heartbeat should not.
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/eureka/") {
			r.serveAPI(w, req, auth, deltas)
			return
		}
		mux.ServeHTTP(w, req)
	})
}

// op names an API operation, for metrics.
type op uint8

const (
	opUnknown op = iota
	opRegister
	opRenew
	opCancel
	opStatus
	opDeleteStatus
	opMetadata
	opFetchFull
	opFetchDelta
	opFetchApp
	opFetchInstance
	opFetchVIP
	opBatch
	opServerStatus
	opWatch
	numOps
)

var opNames = [numOps]string{"unknown", "register", "renew", "cancel", "status", "delete_status", "metadata",
	"fetch_full", "fetch_delta", "fetch_app", "fetch_instance", "fetch_vip", "batch", "server_status", "watch"}

// commonCodes get pre-built histogram children so observing them does not allocate.
var commonCodes = [...]int{200, 204, 400, 401, 403, 404, 405, 409, 413, 415, 500}

type observers [numOps][len(commonCodes)]prometheus.Observer

func (r *Registry) observe(o op, code int, start time.Time) {
	d := time.Since(start).Seconds()
	for i, c := range commonCodes {
		if c == code {
			r.obs[o][i].Observe(d)
			return
		}
	}
	r.metrics.requests.WithLabelValues(opNames[o], strconv.Itoa(code)).Observe(d)
}

var (
	errMethod         = errors.New("method not allowed")
	errNoRoute        = errors.New("no such endpoint")
	errUnsupportedTyp = errors.New("unsupported Content-Type; want application/json or application/xml")
	errDeltaDisabled  = errors.New("delta disabled (eureka.server.disable-delta)")
)

// statusFor maps an error to its HTTP status code.
func statusFor(err error) int {
	var ie *InputError
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &ie):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound), errors.Is(err, errNoRoute):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict), errors.Is(err, errSinceForeign):
		return http.StatusConflict
	case errors.Is(err, errSinceTrimmed):
		return http.StatusGone
	case errors.Is(err, errNoCredentials), errors.Is(err, errBadCredentials):
		return http.StatusUnauthorized
	case errors.Is(err, ErrWarmingUp), errors.Is(err, errDeltaDisabled), errors.Is(err, errDenied):
		return http.StatusForbidden
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errUnsupportedTyp):
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

// writeError answers err. 404, 409 and 403 carry no body, as Eureka's do:
// some clients fail to parse an error body on a heartbeat 404 and then never
// re-register. Other 4xx carry a short plain-text reason.
func (r *Registry) writeError(w http.ResponseWriter, req *http.Request, err error) int {
	code := statusFor(err)
	switch code {
	case http.StatusNotFound, http.StatusForbidden:
		w.WriteHeader(code)
		return code
	case http.StatusInternalServerError:
		r.log.Error("request failed", "method", req.Method, "path", req.URL.Path, "err", err)
		http.Error(w, "internal error", code)
		return code
	}
	switch code {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", allowFor(req.URL.Path))
	case http.StatusUnauthorized:
		w.Header()["Www-Authenticate"] = challenge
	}
	r.log.Debug("request refused", "method", req.Method, "path", req.URL.Path, "code", code, "err", err)
	msg := err.Error()
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		msg = "request body larger than " + strconv.FormatInt(mbe.Limit, 10) + " bytes"
	}
	http.Error(w, msg, code)
	return code
}

func allowFor(path string) string {
	switch {
	case strings.HasSuffix(strings.TrimSuffix(path, "/"), "/status"):
		return "PUT, DELETE"
	case strings.HasSuffix(strings.TrimSuffix(path, "/"), "/metadata"):
		return "PUT"
	case strings.Contains(path, "/peerreplication"):
		return "POST"
	}
	return "GET, POST, PUT, DELETE"
}

// serveAPI dispatches the Eureka REST API. It parses the path by hand so a
// heartbeat allocates nothing here: /eureka[/v2]/{resource}/{a}/{b}/{c}.
// auth is nil when security is off; deltas serves /apps/delta?since=.
func (r *Registry) serveAPI(w http.ResponseWriter, req *http.Request, auth *authenticator, deltas *sinceDeltas) {
	start := time.Now()
	o, code := r.dispatch(w, req, auth, deltas)
	r.observe(o, code, start)
}

func (r *Registry) dispatch(w http.ResponseWriter, req *http.Request, auth *authenticator, deltas *sinceDeltas) (op, int) {
	rest := strings.TrimPrefix(req.URL.EscapedPath(), "/eureka/")
	// Eureka reads any first segment v1/v2 as a version; v1 and v2 only
	// differ in an XML status coercion no current client relies on.
	if strings.HasPrefix(rest, "v2/") || strings.HasPrefix(rest, "v1/") {
		rest = rest[3:]
	} else if rest == "v2" || rest == "v1" {
		rest = ""
	}
	rest = strings.TrimSuffix(rest, "/")
	resource, rest, _ := strings.Cut(rest, "/")
	seg1, rest, _ := strings.Cut(rest, "/")
	seg2, rest, _ := strings.Cut(rest, "/")
	seg3, extra, _ := strings.Cut(rest, "/")
	if extra != "" {
		return opUnknown, r.writeError(w, req, errNoRoute)
	}
	a, err1 := url.PathUnescape(seg1)
	b, err2 := url.PathUnescape(seg2)
	if err1 != nil || err2 != nil {
		return opUnknown, r.writeError(w, req, badInput("path %q is not correctly escaped", req.URL.RawPath))
	}
	m := req.Method
	if auth != nil {
		if err := auth.check(req, resource, a); err != nil {
			return refusedOp(resource, a, b, seg3, m), r.writeError(w, req, err)
		}
	}
	switch resource {
	case "apps":
		switch {
		case a == "" && m == http.MethodGet:
			return opFetchFull, r.serveDoc(w, req, docFull, "")
		case a == "delta" && b == "" && m == http.MethodGet:
			if r.cfg.DisableDelta {
				return opFetchDelta, r.writeError(w, req, errDeltaDisabled)
			}
			if since, ok := queryValue(req.URL.RawQuery, "since"); ok {
				return opFetchDelta, r.serveDeltaSince(w, req, deltas, since)
			}
			return opFetchDelta, r.serveDoc(w, req, docDelta, "")
		case a == "":
			return opUnknown, r.writeError(w, req, errMethod)
		case b == "" && m == http.MethodGet:
			return opFetchApp, r.serveDoc(w, req, docApp, strings.ToUpper(a))
		case b == "" && m == http.MethodPost:
			return opRegister, r.serveRegister(w, req, strings.ToUpper(a))
		case b == "":
			return opUnknown, r.writeError(w, req, errMethod)
		}
		app := strings.ToUpper(a)
		switch {
		case seg3 == "" && m == http.MethodPut:
			return opRenew, r.serveRenew(w, req, app, b)
		case seg3 == "" && m == http.MethodGet:
			return opFetchInstance, r.serveInstance(w, req, app, b)
		case seg3 == "" && m == http.MethodDelete:
			return opCancel, r.respond(w, req, r.Cancel(app, b, isReplication(req)))
		case seg3 == "status" && m == http.MethodPut:
			return opStatus, r.serveStatus(w, req, app, b, false)
		case seg3 == "status" && m == http.MethodDelete:
			return opDeleteStatus, r.serveStatus(w, req, app, b, true)
		case seg3 == "metadata" && m == http.MethodPut:
			return opMetadata, r.serveMetadata(w, req, app, b)
		case seg3 == "", seg3 == "status", seg3 == "metadata":
			return opUnknown, r.writeError(w, req, errMethod)
		}
	case "instances":
		if a != "" && b == "" {
			if m != http.MethodGet {
				return opUnknown, r.writeError(w, req, errMethod)
			}
			in, err := r.InstanceByID(a)
			if err != nil {
				return opFetchInstance, r.writeError(w, req, err)
			}
			return opFetchInstance, writeInstance(w, req, in)
		}
	case "vips", "svips":
		if a != "" && b == "" {
			if m != http.MethodGet {
				return opUnknown, r.writeError(w, req, errMethod)
			}
			kind := docVIP
			if resource == "svips" {
				kind = docSVIP
			}
			return opFetchVIP, r.serveDoc(w, req, kind, a)
		}
	case "status":
		if a == "" {
			if m != http.MethodGet {
				return opUnknown, r.writeError(w, req, errMethod)
			}
			return opServerStatus, r.serveServerStatus(w, req)
		}
	case "watch":
		if a == "" {
			if m != http.MethodGet {
				return opUnknown, r.writeError(w, req, errMethod)
			}
			return opWatch, r.serveWatch(w, req)
		}
	case "peerreplication":
		if a == "batch" && b == "" {
			if m != http.MethodPost {
				return opUnknown, r.writeError(w, req, errMethod)
			}
			return opBatch, r.serveBatch(w, req)
		}
	}
	return opUnknown, r.writeError(w, req, errNoRoute)
}

func (r *Registry) respond(w http.ResponseWriter, req *http.Request, err error) int {
	if err != nil {
		return r.writeError(w, req, err)
	}
	w.WriteHeader(http.StatusOK)
	return http.StatusOK
}

const replicationHeader = "X-Netflix-Discovery-Replication"

func isReplication(req *http.Request) bool {
	return req.Header.Get(replicationHeader) == "true"
}

// serveDoc writes a registry document in the negotiated format: the cached
// bytes or, for a large uncompressed document, the bytes as it is encoded
// (see Registry.encoded). Both carry the same headers and bytes.
func (r *Registry) serveDoc(w http.ResponseWriter, req *http.Request, kind docKind, name string) int {
	if !r.allowAccess() {
		return r.writeError(w, req, ErrWarmingUp)
	}
	json := wantsJSON(req.Header.Get("Accept"))
	gz := strings.Contains(req.Header.Get("Accept-Encoding"), "gzip")
	// Read under the lock, the version is never newer than the document:
	// a client may ask for the changes since it.
	version, _ := r.Version()
	p := r.encoded(kind, name, json, gz)
	body := p.body
	if body == nil && p.doc == nil {
		return r.writeError(w, req, ErrNotFound)
	}
	h := w.Header()
	setDocHeaders(h, json, gz, version, r.epoch())
	if p.doc != nil {
		// Until one read has sent the document whole, its length is not
		// known and the response is chunked.
		if n := p.size.Load(); n > 0 {
			h["Content-Length"] = []string{strconv.FormatInt(n, 10)}
		}
		w.WriteHeader(http.StatusOK)
		if req.Method != http.MethodHead {
			if err := r.stream(w, p, kind, json); err != nil {
				r.log.Debug("document cut short", "path", req.URL.Path, "err", err)
			}
		}
		return http.StatusOK
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	if req.Method != http.MethodHead {
		w.Write(body)
	}
	return http.StatusOK
}

// setDocHeaders sets the headers of a registry document: its format and
// encoding as negotiated, and the version and epoch it was taken at.
func setDocHeaders(h http.Header, json, gz bool, version uint64, epoch string) {
	if json {
		h["Content-Type"] = contentJSON
	} else {
		h["Content-Type"] = contentXML
	}
	if gz {
		h["Content-Encoding"] = encodingGzip
	}
	h["Vary"] = varyNegotiation
	h[versionHeader] = []string{strconv.FormatUint(version, 10)}
	h[epochHeader] = []string{epoch}
}

var (
	contentJSON     = []string{"application/json"}
	contentXML      = []string{"application/xml"}
	encodingGzip    = []string{"gzip"}
	varyNegotiation = []string{"Accept, Accept-Encoding"}
)

func writeInstance(w http.ResponseWriter, req *http.Request, in *eureka.Instance) int {
	var b []byte
	if wantsJSON(req.Header.Get("Accept")) {
		w.Header()["Content-Type"] = contentJSON
		b = eureka.AppendInstanceDocJSON(make([]byte, 0, 1500), in)
	} else {
		w.Header()["Content-Type"] = contentXML
		b = eureka.AppendInstanceXML(make([]byte, 0, 2000), in)
	}
	w.Header()["Vary"] = varyNegotiation
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return http.StatusOK
}

func (r *Registry) serveInstance(w http.ResponseWriter, req *http.Request, app, id string) int {
	in, err := r.Instance(app, id)
	if err != nil {
		return r.writeError(w, req, err)
	}
	return writeInstance(w, req, in)
}

// readBody reads a request body within MaxBodyBytes, un-gzipping it when the
// client says so.
func (r *Registry) readBody(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, req.Body, r.cfg.MaxBodyBytes)
	var src io.Reader = body
	if strings.EqualFold(req.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, badInput("cannot parse request body: gzip: %v", err)
		}
		defer zr.Close()
		src = io.LimitReader(zr, r.cfg.MaxBodyBytes+1)
	}
	data, err := io.ReadAll(src)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, badInput("cannot parse request body: %v", err)
	}
	if int64(len(data)) > r.cfg.MaxBodyBytes {
		return nil, &http.MaxBytesError{Limit: r.cfg.MaxBodyBytes}
	}
	return data, nil
}

// decodeInstance decodes a registration body by its Content-Type; without
// one it looks at the first byte.
func decodeInstance(contentType string, data []byte) (*eureka.Instance, error) {
	ct := strings.ToLower(contentType)
	isJSON := strings.Contains(ct, "json")
	if ct == "" {
		trimmed := strings.TrimLeft(string(data[:min(len(data), 64)]), " \t\r\n")
		isJSON = strings.HasPrefix(trimmed, "{")
	} else if !isJSON && !strings.Contains(ct, "xml") {
		return nil, errUnsupportedTyp
	}
	var in *eureka.Instance
	var err error
	if isJSON {
		in, err = eureka.DecodeInstanceJSON(data)
	} else {
		in, err = eureka.DecodeInstanceXML(data)
	}
	if err != nil {
		return nil, badInput("cannot parse request body: %v", err)
	}
	return in, nil
}

func (r *Registry) serveRegister(w http.ResponseWriter, req *http.Request, app string) int {
	data, err := r.readBody(w, req)
	if err != nil {
		return r.writeError(w, req, err)
	}
	in, err := decodeInstance(req.Header.Get("Content-Type"), data)
	if err != nil {
		return r.writeError(w, req, err)
	}
	if err := r.Register(app, in, isReplication(req)); err != nil {
		return r.writeError(w, req, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

// queryValue finds key in a raw query without building a map, so the
// heartbeat path does not allocate.
func queryValue(raw, key string) (string, bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k == key {
			if s, err := url.QueryUnescape(v); err == nil {
				return s, true
			}
			return v, true
		}
	}
	return "", false
}

func parseDirty(raw string) (int64, error) {
	v, ok := queryValue(raw, "lastDirtyTimestamp")
	if !ok || v == "" || v == "null" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, badInput("lastDirtyTimestamp %q is not a number of milliseconds", v)
	}
	return n, nil
}

func (r *Registry) serveRenew(w http.ResponseWriter, req *http.Request, app, id string) int {
	raw := req.URL.RawQuery
	var args RenewArgs
	var err error
	if args.LastDirtyTimestamp, err = parseDirty(raw); err != nil {
		return r.writeError(w, req, err)
	}
	args.Replication = isReplication(req)
	if v, ok := queryValue(raw, "overriddenstatus"); ok && args.Replication {
		s, valid := eureka.ParseStatus(v)
		if !valid {
			return r.writeError(w, req, badInput("overriddenstatus %q is not one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN", v))
		}
		args.OverriddenStatus = s
	}
	in, err := r.Renew(app, id, args)
	if errors.Is(err, ErrConflict) {
		return writeConflict(w, req, in)
	}
	return r.respond(w, req, err)
}

func writeConflict(w http.ResponseWriter, req *http.Request, in *eureka.Instance) int {
	var b []byte
	if wantsJSON(req.Header.Get("Accept")) {
		w.Header()["Content-Type"] = contentJSON
		b = eureka.AppendInstanceJSON(nil, in)
	} else {
		w.Header()["Content-Type"] = contentXML
		b = eureka.AppendInstanceXML(nil, in)
	}
	w.WriteHeader(http.StatusConflict)
	w.Write(b)
	return http.StatusConflict
}

func (r *Registry) serveStatus(w http.ResponseWriter, req *http.Request, app, id string, remove bool) int {
	raw := req.URL.RawQuery
	dirty, err := parseDirty(raw)
	if err != nil {
		return r.writeError(w, req, err)
	}
	v, ok := queryValue(raw, "value")
	status := eureka.StatusUnknown
	if ok && v != "" {
		s, valid := eureka.ParseStatus(v)
		if !valid {
			return r.writeError(w, req, badInput("value %q is not one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN", v))
		}
		status = s
	} else if !remove {
		return r.writeError(w, req, badInput("missing value; want ?value= one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN"))
	}
	if remove {
		return r.respond(w, req, r.DeleteStatusOverride(app, id, status, dirty, isReplication(req)))
	}
	return r.respond(w, req, r.SetStatus(app, id, status, dirty, isReplication(req)))
}

func (r *Registry) serveMetadata(w http.ResponseWriter, req *http.Request, app, id string) int {
	q, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return r.writeError(w, req, badInput("query %q is not correctly escaped", req.URL.RawQuery))
	}
	kv := make(map[string]string, len(q))
	for k, vs := range q {
		if k == "" {
			return r.writeError(w, req, badInput("metadata key is empty"))
		}
		kv[k] = vs[0]
	}
	return r.respond(w, req, r.UpdateMetadata(app, id, kv))
}

// serveBatch applies a peer's replication batch. Every item is a replication;
// one failing item does not stop the others.
func (r *Registry) serveBatch(w http.ResponseWriter, req *http.Request) int {
	data, err := r.readBody(w, req)
	if err != nil {
		return r.writeError(w, req, err)
	}
	list, err := eureka.DecodeReplicationListJSON(data)
	if err != nil {
		return r.writeError(w, req, badInput("cannot parse request body: %v", err))
	}
	resp := &eureka.ReplicationResponseList{Items: make([]eureka.ReplicationResponse, len(list.Items))}
	for i := range list.Items {
		resp.Items[i] = r.applyReplication(&list.Items[i])
	}
	w.Header()["Content-Type"] = contentJSON
	w.WriteHeader(http.StatusOK)
	w.Write(eureka.AppendReplicationResponseListJSON(nil, resp))
	return http.StatusOK
}

// ApplyReplication applies one replicated operation and returns the answer a
// peer expects for it.
func (r *Registry) applyReplication(it *eureka.ReplicationInstance) eureka.ReplicationResponse {
	app := strings.ToUpper(it.AppName)
	var err error
	switch it.Action {
	case eureka.ActionRegister:
		if it.InstanceInfo == nil {
			err = badInput("register without instanceInfo")
			break
		}
		err = r.Register(app, it.InstanceInfo, true)
	case eureka.ActionHeartbeat:
		var in *eureka.Instance
		in, err = r.Renew(app, it.ID, RenewArgs{LastDirtyTimestamp: it.LastDirtyTimestamp, OverriddenStatus: it.OverriddenStatus, Replication: true})
		if errors.Is(err, ErrConflict) {
			return eureka.ReplicationResponse{StatusCode: http.StatusConflict, ResponseEntity: in}
		}
	case eureka.ActionCancel:
		err = r.Cancel(app, it.ID, true)
	case eureka.ActionStatusUpdate:
		if _, ok := eureka.ParseStatus(string(it.Status)); !ok || it.Status == "" {
			err = badInput("status %q is not one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN", it.Status)
			break
		}
		err = r.SetStatus(app, it.ID, it.Status, it.LastDirtyTimestamp, true)
	case eureka.ActionDeleteStatusOverride:
		status := it.Status
		if status == "" {
			status = eureka.StatusUnknown
		}
		err = r.DeleteStatusOverride(app, it.ID, status, it.LastDirtyTimestamp, true)
	default:
		err = badInput("unknown action %q; want Register, Heartbeat, Cancel, StatusUpdate or DeleteStatusOverride", it.Action)
	}
	if err != nil {
		r.log.Debug("replicated item refused", "action", it.Action, "app", app, "id", it.ID, "err", err)
	}
	return eureka.ReplicationResponse{StatusCode: statusFor(err)}
}

func (r *Registry) serveServerStatus(w http.ResponseWriter, req *http.Request) int {
	s := r.statusInfo()
	var b []byte
	if wantsJSON(req.Header.Get("Accept")) {
		w.Header()["Content-Type"] = contentJSON
		b = eureka.AppendStatusInfoJSON(nil, s)
	} else {
		w.Header()["Content-Type"] = contentXML
		b = eureka.AppendStatusInfoXML(nil, s)
	}
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return http.StatusOK
}

// self describes this registry as an instance, for /status and the dashboard.
func (r *Registry) self() *eureka.Instance {
	host, _ := os.Hostname()
	return &eureka.Instance{
		InstanceID:           host + ":" + strings.ToLower(r.cfg.AppName),
		HostName:             host,
		App:                  strings.ToUpper(r.cfg.AppName),
		IPAddr:               "127.0.0.1",
		Status:               eureka.StatusUp,
		OverriddenStatus:     eureka.StatusUnknown,
		Port:                 eureka.Port{Number: eureka.DefaultPort, Enabled: true},
		SecurePort:           eureka.Port{Number: eureka.DefaultSecurePort},
		CountryID:            eureka.DefaultCountryID,
		DataCenterInfo:       eureka.DataCenterInfo{Class: eureka.ClassDefaultDataCenterInfo, Name: "MyOwn"},
		LeaseInfo:            eureka.LeaseInfo{RenewalIntervalInSecs: 30, DurationInSecs: 90},
		VIPAddress:           strings.ToLower(r.cfg.AppName),
		LastUpdatedTimestamp: r.started.UnixMilli(),
		LastDirtyTimestamp:   r.started.UnixMilli(),
	}
}

func (r *Registry) statusInfo() *eureka.StatusInfo {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.mu.RLock()
	registered, available, unavailable := r.replicaStatsLocked()
	r.mu.RUnlock()
	return &eureka.StatusInfo{
		GeneralStats: []eureka.Stat{
			{Name: "environment", Value: r.cfg.Environment},
			{Name: "num-of-cpus", Value: strconv.Itoa(runtime.NumCPU())},
			{Name: "total-avail-memory", Value: strconv.FormatUint(ms.Sys>>20, 10) + "mb"},
			{Name: "current-memory-usage", Value: memoryUsage(&ms)},
			{Name: "server-uptime", Value: formatUptime(r.clock.Now().Sub(r.started))},
		},
		ApplicationStats: []eureka.Stat{
			{Name: "registered-replicas", Value: registered},
			{Name: "available-replicas", Value: available},
			{Name: "unavailable-replicas", Value: unavailable},
		},
		Instance: r.self(),
	}
}

// replicas lists the peers as Eureka's status page does: all, then those the
// last exchange with succeeded, then the others. Credentials are removed.
// Eureka calls a peer available when it finds the peer registered as an
// instance of its own application; we use what replication saw.
func (r *Registry) replicas() (registered, available, unavailable []string) {
	if r.rep == nil {
		return nil, nil, nil
	}
	for _, p := range r.rep.Peers() {
		registered = append(registered, p.URL)
		if p.Available {
			available = append(available, p.URL)
		} else {
			unavailable = append(unavailable, p.URL)
		}
	}
	return registered, available, unavailable
}

// joinComma writes each item followed by a comma, as Eureka does.
func joinComma(items []string) string {
	var b strings.Builder
	for _, s := range items {
		b.WriteString(s)
		b.WriteByte(',')
	}
	return b.String()
}

// formatUptime writes an uptime as the Spring dashboard does: HH:mm, with a
// "1 day " or "N days " prefix.
func formatUptime(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	d -= time.Duration(days) * 24 * time.Hour
	s := ""
	switch {
	case days == 1:
		s = "1 day "
	case days > 1:
		s = strconv.Itoa(days) + " days "
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	return s + pad2(h) + ":" + pad2(m)
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// serveHealth answers /actuator/health in Spring Boot's shape. A node that is
// still copying its peers' registries answers 503 OUT_OF_SERVICE, so a load
// balancer keeps clients away until it has the whole registry. Peers that
// are down show in the "peers" component without failing the node: it still
// serves its clients.
func (r *Registry) serveHealth(w http.ResponseWriter, req *http.Request) {
	w.Header()["Content-Type"] = contentJSON
	w.Header().Set("Cache-Control", "no-store")
	if !r.Opened() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"OUT_OF_SERVICE","components":{"registry":{"status":"OUT_OF_SERVICE","details":{"reason":"syncing from peers"}}}}`))
		return
	}
	b := []byte(`{"status":"UP","components":{"registry":{"status":"UP"}`)
	if r.rep != nil {
		peers := r.rep.Peers()
		status := "UP"
		for _, p := range peers {
			if !p.Available {
				status = "DOWN"
			}
		}
		b = append(b, `,"peers":{"status":"`+status+`","details":{`...)
		for i, p := range peers {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, p.URL)
			if p.Available {
				b = append(b, `:"UP"`...)
			} else {
				b = append(b, `:"DOWN"`...)
			}
		}
		b = append(b, "}}"...)
	}
	b = append(b, "}}"...)
	w.Write(b)
}
