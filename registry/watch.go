package registry

import (
	"net/http"
	"strconv"
	"time"
)

// Watch is Switchboard's push extension to Eureka's API:
//
//	GET /eureka/watch?version=V[&wait=30s]
//
// answers as soon as the registry version differs from V, or after wait
// (default 30 s, at most 5 minutes) with the version unchanged. The body is
// {"version":"N"}; the same N is in the X-Registry-Version header, which every
// registry document also carries. A client that sees a new version fetches
// /apps/delta. Eureka's own clients never call it and keep polling.
const (
	defaultWatchWait = 30 * time.Second
	maxWatchWait     = 5 * time.Minute
)

func (r *Registry) serveWatch(w http.ResponseWriter, req *http.Request) int {
	raw := req.URL.RawQuery
	var since uint64
	if v, ok := queryValue(raw, "version"); ok && v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return r.writeError(w, req, badInput("version %q is not a registry version", v))
		}
		since = n
	}
	wait := defaultWatchWait
	if v, ok := queryValue(raw, "wait"); ok && v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return r.writeError(w, req, badInput("wait %q is not a duration such as 30s", v))
		}
		wait = min(d, maxWatchWait)
	}
	version, changed := r.Version()
	if version == since {
		timer := time.NewTimer(wait)
		select {
		case <-changed:
		case <-timer.C:
		case <-req.Context().Done():
			timer.Stop()
			return 499
		}
		timer.Stop()
		version, _ = r.Version()
	}
	v := strconv.FormatUint(version, 10)
	w.Header()["Content-Type"] = contentJSON
	w.Header().Set(versionHeader, v)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(`{"version":"` + v + `"}`))
	return http.StatusOK
}

// versionHeader carries the registry version on documents and watch answers.
const versionHeader = "X-Registry-Version"
