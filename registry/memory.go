package registry

import (
	"maps"
	"strings"

	"github.com/switchboard-dev/switchboard/eureka"
)

// This file keeps a stored instance small. A decoded registration holds a
// separate allocation for every string and a metadata map of its own: about
// 1.1 KB for a Spring client's 1 KB of JSON. Most of it repeats what the
// instances of the same application already hold (the application and VIP
// names, the data center, the metadata), and the rest (id, host name,
// address, URLs) overlaps: the host name is inside the instance id and the
// home page URL starts the status page URL. The registry shares the former
// with an instance of the same application and packs the latter into one
// allocation. With its lease and its place in the registry's maps and change
// log, a stored instance then takes under 0.8 KB, against 1.4 KB before.

// compactStrings gives in's own strings one allocation, and the strings that
// take few values (statuses, the data center class and name) Eureka's
// constants. It runs before the registry lock is taken; in belongs to the
// registry already.
func compactStrings(in *eureka.Instance) {
	in.Status = canonicalStatus(in.Status)
	in.OverriddenStatus = canonicalStatus(in.OverriddenStatus)
	dc := &in.DataCenterInfo
	switch dc.Class {
	case eureka.ClassDefaultDataCenterInfo:
		dc.Class = eureka.ClassDefaultDataCenterInfo
	case eureka.ClassAmazonInfo:
		dc.Class = eureka.ClassAmazonInfo
	}
	switch dc.Name {
	case "MyOwn":
		dc.Name = "MyOwn"
	case "Amazon":
		dc.Name = "Amazon"
	case "Netflix":
		dc.Name = "Netflix"
	}
	// Longer strings first, so that shorter ones are found inside them.
	packStrings(&in.InstanceID, &in.StatusPageURL, &in.HealthCheckURL, &in.SecureHealthCheckURL,
		&in.HomePageURL, &in.HostName, &in.IPAddr, &in.ASGName, &in.Sid)
}

func canonicalStatus(s eureka.Status) eureka.Status {
	for _, c := range eureka.Statuses {
		if s == c {
			return c
		}
	}
	return s
}

// packStrings copies the strings into one allocation and points each at
// its copy. A string found inside one placed before it takes no room of its
// own.
func packStrings(fields ...*string) {
	var off [16]int
	var own [16]bool
	if len(fields) > len(off) {
		panic("registry: packStrings takes at most 16 strings")
	}
	size := 0
	for i, f := range fields {
		s := *f
		if s == "" {
			continue
		}
		found := false
		for j := range i {
			if k := strings.Index(*fields[j], s); k >= 0 && *fields[j] != "" {
				off[i], found = off[j]+k, true
				break
			}
		}
		if !found {
			off[i], own[i] = size, true
			size += len(s)
		}
	}
	if size == 0 {
		return
	}
	var b strings.Builder
	b.Grow(size)
	for i, f := range fields {
		if own[i] {
			b.WriteString(*f)
		}
	}
	packed := b.String()
	for i, f := range fields {
		if *f != "" {
			*f = packed[off[i] : off[i]+len(*f)]
		}
	}
}

// shareLocked points in's application name, VIP addresses, group, data
// center and metadata at equal values that existing (the lease in replaces)
// or another instance of the application holds, so the registry keeps one
// copy of them per application rather than one per instance. Stored
// instances never change (a change stores a new copy), so sharing is safe.
func (r *Registry) shareLocked(in *eureka.Instance, existing *lease) {
	leases := r.apps[in.App]
	var sibs [4]*eureka.Instance
	n := 0
	if existing != nil {
		sibs[n] = existing.holder
		n++
	}
	for _, l := range leases {
		if n == len(sibs) {
			break
		}
		if existing == nil || l != existing {
			sibs[n] = l.holder
			n++
		}
	}
	if n == 0 {
		return
	}
	first := sibs[0]
	in.App = first.App
	shareString(&in.AppGroupName, first.AppGroupName)
	shareString(&in.VIPAddress, first.VIPAddress)
	shareString(&in.SecureVIPAddress, first.SecureVIPAddress)
	shareString(&in.DataCenterInfo.Class, first.DataCenterInfo.Class)
	shareString(&in.DataCenterInfo.Name, first.DataCenterInfo.Name)
	for _, sib := range sibs[:n] {
		if len(in.Metadata) > 0 && sameMap(in.Metadata, sib.Metadata) {
			in.Metadata = sib.Metadata
			break
		}
	}
	for _, sib := range sibs[:n] {
		if len(in.DataCenterInfo.Metadata) > 0 && sameMap(in.DataCenterInfo.Metadata, sib.DataCenterInfo.Metadata) {
			in.DataCenterInfo.Metadata = sib.DataCenterInfo.Metadata
			break
		}
	}
}

func shareString(dst *string, s string) {
	if *dst == s {
		*dst = s
	}
}

// sameMap reports whether a and b hold the same entries.
func sameMap(a, b map[string]string) bool {
	return len(a) == len(b) && maps.Equal(a, b)
}
