package registry

import "net/http"

func (r *Registry) serveDashboard(w http.ResponseWriter, req *http.Request) {
	w.Write([]byte("dashboard"))
}

func (r *Registry) serveLastN(w http.ResponseWriter, req *http.Request) {
	w.Write([]byte("lastn"))
}
