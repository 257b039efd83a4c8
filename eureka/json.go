package eureka

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds the JSON codec. Encoders write exactly what Eureka's legacy
// Jackson codec (EurekaJacksonCodec) writes, compact, by appending to a byte
// slice; decoders parse into a small tree and read it leniently, accepting the
// bean-style JSON of Spring's RestClient transport and of non-Java clients.

// AppendInstanceJSON appends in as a bare JSON object, {"instanceId":...}, the
// way Eureka writes an instance inside an application's "instance" array, a
// replication batch or a 409 heartbeat answer.
//
// Members come in Eureka's order. Ports are {"$":8080,"@enabled":"true"} with
// a string @enabled; isCoordinatingDiscoveryServer and the two top-level
// timestamps are strings; empty optional strings (instanceId, appGroupName,
// the URLs, the VIP addresses, actionType, asgName) are left out, as Eureka
// leaves out nulls, and so is sid when it is "", "na" or "unknown". An empty
// Status is written as UP and an empty OverriddenStatus as UNKNOWN, the Java
// defaults. Metadata keys are sorted so that equal instances encode equally;
// empty metadata is written as Eureka's {"@class":"java.util.Collections$EmptyMap"}.
func AppendInstanceJSON(b []byte, in *Instance) []byte {
	b = append(b, '{')
	if in.InstanceID != "" {
		b = append(b, `"instanceId":`...)
		b = appendJSONString(b, in.InstanceID)
		b = append(b, ',')
	}
	b = append(b, `"hostName":`...)
	b = appendJSONString(b, in.HostName)
	b = append(b, `,"app":`...)
	b = appendJSONString(b, in.App)
	b = append(b, `,"ipAddr":`...)
	b = appendJSONString(b, in.IPAddr)
	if writeSid(in.Sid) {
		b = append(b, `,"sid":`...)
		b = appendJSONString(b, in.Sid)
	}
	b = append(b, `,"status":`...)
	b = appendJSONString(b, string(statusOr(in.Status, StatusUp)))
	b = append(b, `,"overriddenStatus":`...)
	b = appendJSONString(b, string(statusOr(in.OverriddenStatus, StatusUnknown)))
	b = append(b, `,"port":`...)
	b = appendPortJSON(b, in.Port)
	b = append(b, `,"securePort":`...)
	b = appendPortJSON(b, in.SecurePort)
	b = append(b, `,"countryId":`...)
	b = strconv.AppendInt(b, int64(in.CountryID), 10)

	dc := &in.DataCenterInfo
	class := dc.class()
	b = append(b, `,"dataCenterInfo":{"@class":`...)
	b = appendJSONString(b, class)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, dc.name(class))
	if class == ClassAmazonInfo {
		b = append(b, `,"metadata":`...)
		b = appendJSONMap(b, dc.Metadata, "{}")
	}

	l := &in.LeaseInfo
	b = append(b, `},"leaseInfo":{"renewalIntervalInSecs":`...)
	b = strconv.AppendInt(b, int64(l.RenewalIntervalInSecs), 10)
	b = append(b, `,"durationInSecs":`...)
	b = strconv.AppendInt(b, int64(l.DurationInSecs), 10)
	b = append(b, `,"registrationTimestamp":`...)
	b = strconv.AppendInt(b, l.RegistrationTimestamp, 10)
	b = append(b, `,"lastRenewalTimestamp":`...)
	b = strconv.AppendInt(b, l.LastRenewalTimestamp, 10)
	b = append(b, `,"evictionTimestamp":`...)
	b = strconv.AppendInt(b, l.EvictionTimestamp, 10)
	b = append(b, `,"serviceUpTimestamp":`...)
	b = strconv.AppendInt(b, l.ServiceUpTimestamp, 10)
	b = append(b, `},"metadata":`...)
	b = appendJSONMap(b, in.Metadata, `{"@class":"java.util.Collections$EmptyMap"}`)

	b = appendOptionalJSON(b, `,"appGroupName":`, in.AppGroupName)
	b = appendOptionalJSON(b, `,"homePageUrl":`, in.HomePageURL)
	b = appendOptionalJSON(b, `,"statusPageUrl":`, in.StatusPageURL)
	b = appendOptionalJSON(b, `,"healthCheckUrl":`, in.HealthCheckURL)
	b = appendOptionalJSON(b, `,"secureHealthCheckUrl":`, in.SecureHealthCheckURL)
	b = appendOptionalJSON(b, `,"vipAddress":`, in.VIPAddress)
	b = appendOptionalJSON(b, `,"secureVipAddress":`, in.SecureVIPAddress)
	if in.IsCoordinatingDiscoveryServer {
		b = append(b, `,"isCoordinatingDiscoveryServer":"true","lastUpdatedTimestamp":"`...)
	} else {
		b = append(b, `,"isCoordinatingDiscoveryServer":"false","lastUpdatedTimestamp":"`...)
	}
	b = strconv.AppendInt(b, in.LastUpdatedTimestamp, 10)
	b = append(b, `","lastDirtyTimestamp":"`...)
	b = strconv.AppendInt(b, in.LastDirtyTimestamp, 10)
	b = append(b, '"')
	b = appendOptionalJSON(b, `,"actionType":`, string(in.ActionType))
	b = appendOptionalJSON(b, `,"asgName":`, in.ASGName)
	return append(b, '}')
}

// AppendInstanceDocJSON appends in wrapped as Eureka's single-instance
// document, {"instance":{...}}, the body of GET /apps/{APP}/{ID} and of a
// Java client's registration.
func AppendInstanceDocJSON(b []byte, in *Instance) []byte {
	b = append(b, `{"instance":`...)
	b = AppendInstanceJSON(b, in)
	return append(b, '}')
}

// AppendApplicationJSON appends app as Eureka's single-application document,
// {"application":{"name":"APP","instance":[...]}}. The "instance" member is
// an array even for one instance or none; nil instances are skipped.
func AppendApplicationJSON(b []byte, app *Application) []byte {
	b = append(b, `{"application":`...)
	b = appendApplicationJSON(b, app)
	return append(b, '}')
}

// AppendApplicationsJSON appends apps as Eureka's registry document:
// {"applications":{"versions__delta":"1","apps__hashcode":"UP_1_","application":[...]}}.
// versions__delta is a string, as kratos and xuanbo need; apps__hashcode is
// written as given (see Applications.Hash). "application" is always an array,
// [] when empty, and applications without instances are left out, as Eureka
// leaves them out.
func AppendApplicationsJSON(b []byte, apps *Applications) []byte {
	b = appendApplicationsJSONHead(b, apps.VersionsDelta, apps.AppsHashcode)
	first := true
	for _, app := range apps.Applications {
		if !hasInstances(app) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendApplicationJSON(b, app)
	}
	return append(b, applicationsJSONTail...)
}

// appendApplicationsJSONHead appends a registry document up to its first
// application; applicationsJSONTail ends it.
func appendApplicationsJSONHead(b []byte, versionsDelta int64, hash string) []byte {
	b = append(b, `{"applications":{"versions__delta":"`...)
	b = strconv.AppendInt(b, versionsDelta, 10)
	b = append(b, `","apps__hashcode":`...)
	b = appendJSONString(b, hash)
	return append(b, `,"application":[`...)
}

const applicationsJSONTail = "]}}"

// appendApplicationJSON appends app's bare object, {"name":...,"instance":[...]}.
func appendApplicationJSON(b []byte, app *Application) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, app.Name)
	b = append(b, `,"instance":[`...)
	first := true
	for _, in := range app.Instances {
		if in == nil {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = AppendInstanceJSON(b, in)
	}
	return append(b, "]}"...)
}

// AppendReplicationListJSON appends l as the body of a peer batch,
// {"replicationList":[...]}. Each item writes appName, id and action always;
// lastDirtyTimestamp when not 0, overriddenStatus and status when not empty,
// and instanceInfo, as a bare instance object, when not nil.
func AppendReplicationListJSON(b []byte, l *ReplicationList) []byte {
	b = append(b, `{"replicationList":[`...)
	for i := range l.Items {
		it := &l.Items[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"appName":`...)
		b = appendJSONString(b, it.AppName)
		b = append(b, `,"id":`...)
		b = appendJSONString(b, it.ID)
		if it.LastDirtyTimestamp != 0 {
			b = append(b, `,"lastDirtyTimestamp":`...)
			b = strconv.AppendInt(b, it.LastDirtyTimestamp, 10)
		}
		b = appendOptionalJSON(b, `,"overriddenStatus":`, string(it.OverriddenStatus))
		b = appendOptionalJSON(b, `,"status":`, string(it.Status))
		if it.InstanceInfo != nil {
			b = append(b, `,"instanceInfo":`...)
			b = AppendInstanceJSON(b, it.InstanceInfo)
		}
		b = append(b, `,"action":`...)
		b = appendJSONString(b, string(it.Action))
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// AppendReplicationResponseListJSON appends l as a peer batch answer,
// {"responseList":[{"statusCode":200},{"statusCode":409,"responseEntity":{...}}]},
// with responseEntity, a bare instance object, only when it is not nil.
func AppendReplicationResponseListJSON(b []byte, l *ReplicationResponseList) []byte {
	b = append(b, `{"responseList":[`...)
	for i := range l.Items {
		it := &l.Items[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"statusCode":`...)
		b = strconv.AppendInt(b, int64(it.StatusCode), 10)
		if it.ResponseEntity != nil {
			b = append(b, `,"responseEntity":`...)
			b = AppendInstanceJSON(b, it.ResponseEntity)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// AppendStatusInfoJSON appends s as the JSON body of GET /eureka/status:
// {"generalStats":{...},"applicationStats":{...},"instanceInfo":{...},"healthy":true}.
// Stats keep their order; instanceInfo, a bare instance object, is written
// when s.Instance is not nil and healthy when s.Healthy is set. Unlike Eureka,
// which answers a truncated body when the flag is unset (issue #959), the
// document is always valid JSON.
func AppendStatusInfoJSON(b []byte, s *StatusInfo) []byte {
	b = append(b, `{"generalStats":`...)
	b = appendStatsJSON(b, s.GeneralStats)
	b = append(b, `,"applicationStats":`...)
	b = appendStatsJSON(b, s.ApplicationStats)
	if s.Instance != nil {
		b = append(b, `,"instanceInfo":`...)
		b = AppendInstanceJSON(b, s.Instance)
	}
	if s.Healthy != nil {
		if *s.Healthy {
			b = append(b, `,"healthy":true`...)
		} else {
			b = append(b, `,"healthy":false`...)
		}
	}
	return append(b, '}')
}

func appendStatsJSON(b []byte, stats []Stat) []byte {
	b = append(b, '{')
	for i, st := range stats {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, st.Name)
		b = append(b, ':')
		b = appendJSONString(b, st.Value)
	}
	return append(b, '}')
}

func appendPortJSON(b []byte, p Port) []byte {
	b = append(b, `{"$":`...)
	b = strconv.AppendInt(b, int64(p.Number), 10)
	if p.Enabled {
		return append(b, `,"@enabled":"true"}`...)
	}
	return append(b, `,"@enabled":"false"}`...)
}

// appendOptionalJSON appends member (`,"name":`) and s unless s is empty.
func appendOptionalJSON(b []byte, member, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, member...)
	return appendJSONString(b, s)
}

// appendJSONMap appends m as an object with sorted keys, or empty when m is.
func appendJSONMap(b []byte, m map[string]string, empty string) []byte {
	if len(m) == 0 {
		return append(b, empty...)
	}
	var buf [16]string
	b = append(b, '{')
	for i, k := range sortedKeys(m, buf[:0]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

// sortedKeys appends m's keys to buf and sorts them. With buf on the caller's
// stack, small maps sort without allocating.
func sortedKeys(m map[string]string, buf []string) []string {
	for k := range m {
		buf = append(buf, k)
	}
	if len(buf) > 1 {
		slices.Sort(buf)
	}
	return buf
}

func hasInstances(app *Application) bool {
	if app == nil {
		return false
	}
	for _, in := range app.Instances {
		if in != nil {
			return true
		}
	}
	return false
}

// writeSid reports whether Eureka writes sid: not for its "na" default,
// "unknown", or nothing.
func writeSid(sid string) bool {
	return sid != "" && sid != "na" && sid != "unknown"
}

func statusOr(s, def Status) Status {
	if s == "" {
		return def
	}
	return s
}

// class returns the @class marker Eureka writes for d.
func (d *DataCenterInfo) class() string {
	switch {
	case d.Class != "":
		return d.Class
	case strings.EqualFold(d.Name, "Amazon"):
		return ClassAmazonInfo
	}
	return ClassDefaultDataCenterInfo
}

// name returns d's name, or the one its class implies when it has none.
func (d *DataCenterInfo) name(class string) string {
	switch {
	case d.Name != "":
		return d.Name
	case class == ClassAmazonInfo:
		return "Amazon"
	}
	return "MyOwn"
}

const hexDigits = "0123456789abcdef"

// jsonSafe marks the bytes a JSON string holds unescaped: printable ASCII
// but '"' and '\\'. Like encoding/json, '<', '>' and '&' are escaped too, so a
// document can be embedded in HTML. Bytes from 0x80 up start UTF-8 sequences
// and take the slow path.
var jsonSafe = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

// appendJSONString appends s as a JSON string, escaped the way encoding/json
// escapes: control characters, '"', '\\', '<', '>', '&', U+2028 and U+2029;
// invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start, i := 0, 0
	for {
		for i < len(s) && jsonSafe[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			start = i + size
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			start = i + size
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// DecodeInstanceJSON decodes an instance sent as JSON: Eureka's document
// {"instance":{...}} or the bare object. It accepts what Eureka's legacy
// codec, Spring's bean-style transport and third-party clients write: numbers
// or numeric strings for numbers, booleans or "true"/"false" for booleans,
// null for anything optional, either spelling of overriddenStatus, a port as
// {"$":n,"@enabled":b} or a bare number (enabled), dataCenterInfo without
// @class (Amazon is inferred from its name), and unknown members.
//
// Missing parts get Eureka's defaults: status UP, overriddenStatus UNKNOWN,
// port 7001 enabled, securePort 7002 disabled, countryId 1, a lease of 30 and
// 90 seconds (also for values <= 0), dataCenterInfo MyOwn. Timestamps stay 0
// when missing. App and AppGroupName are upper-cased; a status that is not one
// of Eureka's five becomes UNKNOWN (case-sensitively, as Eureka's JSON codec
// reads it); sid "na" and "unknown" become ""; "@class" and "class" entries
// are dropped from metadata and an empty metadata map is nil.
//
// Errors name the member, for example
// `instance.port.$: "abc" is not a number`.
func DecodeInstanceJSON(data []byte) (*Instance, error) {
	const path = "instance"
	v, err := parseJSONDoc(data, path)
	if err != nil {
		return nil, err
	}
	return instanceDocFromJSON(&v, path)
}

// DecodeApplicationJSON decodes Eureka's single-application document,
// {"application":{"name":"APP","instance":[...]}}, or the bare object. A
// single instance object is accepted in place of the array. Instances are
// read as DecodeInstanceJSON reads them.
func DecodeApplicationJSON(data []byte) (*Application, error) {
	const path = "application"
	v, err := parseJSONDoc(data, path)
	if err != nil {
		return nil, err
	}
	if w := v.member("application"); w != nil {
		return applicationFromJSON(w, path)
	}
	return applicationFromJSON(&v, path)
}

// DecodeApplicationsJSON decodes a registry document,
// {"applications":{"versions__delta":"1","apps__hashcode":...,"application":[...]}},
// or the bare object. As in Spring's decoder, any member whose name starts
// with "version" is the version and any starting with "apps" the hash code.
// The version may be a string or a number; without one VersionsDelta is -1,
// Eureka's "never synced". Single objects are accepted in place of the
// application and instance arrays.
func DecodeApplicationsJSON(data []byte) (*Applications, error) {
	const path = "applications"
	v, err := parseJSONDoc(data, path)
	if err != nil {
		return nil, err
	}
	if w := v.member("applications"); w != nil {
		return applicationsFromJSON(w, path)
	}
	return applicationsFromJSON(&v, path)
}

// DecodeReplicationListJSON decodes the body of a peer batch,
// {"replicationList":[...]}. A missing or null list is an empty batch.
// Statuses that are not Eureka's become UNKNOWN; instanceInfo is read as
// DecodeInstanceJSON reads an instance.
func DecodeReplicationListJSON(data []byte) (*ReplicationList, error) {
	const path = "replicationList"
	v, err := parseJSONDoc(data, path)
	if err != nil {
		return nil, err
	}
	l := new(ReplicationList)
	w := v.member("replicationList")
	if w == nil {
		return l, nil
	}
	err = eachJSON(w, path, func(e *jsonValue, path string) error {
		it, err := replicationItemFromJSON(e, path)
		if err == nil {
			l.Items = append(l.Items, it)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// DecodeReplicationResponseListJSON decodes a peer batch answer,
// {"responseList":[...]}. A missing or null list is an empty answer.
func DecodeReplicationResponseListJSON(data []byte) (*ReplicationResponseList, error) {
	const path = "responseList"
	v, err := parseJSONDoc(data, path)
	if err != nil {
		return nil, err
	}
	l := new(ReplicationResponseList)
	w := v.member("responseList")
	if w == nil {
		return l, nil
	}
	err = eachJSON(w, path, func(e *jsonValue, path string) error {
		if e.kind != jsonObject {
			return errExpected(path, "an object", e)
		}
		var r ReplicationResponse
		for i := range e.members {
			m := &e.members[i]
			var err error
			switch m.key {
			case "statusCode":
				var n int64
				n, _, err = jsonInt(&m.val, path, m.key, strconv.IntSize)
				r.StatusCode = int(n)
			case "responseEntity":
				if m.val.kind != jsonNull {
					r.ResponseEntity, err = instanceDocFromJSON(&m.val, path+".responseEntity")
				}
			}
			if err != nil {
				return err
			}
		}
		l.Items = append(l.Items, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// parseJSONDoc parses data, which must be a JSON object; errors start with path.
// A leading UTF-8 byte order mark is skipped, as Jackson skips it.
func parseJSONDoc(data []byte, path string) (jsonValue, error) {
	v, err := parseJSON(bytes.TrimPrefix(data, utf8BOM))
	if err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	if v.kind != jsonObject {
		return v, errExpected(path, "an object", &v)
	}
	return v, nil
}

// instanceDocFromJSON reads {"instance":{...}} or a bare instance object.
func instanceDocFromJSON(v *jsonValue, path string) (*Instance, error) {
	if v.kind == jsonObject {
		if w := v.member("instance"); w != nil {
			v = w
		}
	}
	return instanceFromJSON(v, path)
}

// instanceSeen records which defaulted parts of an instance a document had.
type instanceSeen struct {
	port, securePort, countryID bool
}

func instanceFromJSON(v *jsonValue, path string) (*Instance, error) {
	if v.kind != jsonObject {
		return nil, errExpected(path, "an object", v)
	}
	in := new(Instance)
	var seen instanceSeen
	for i := range v.members {
		m := &v.members[i]
		val := &m.val
		var err error
		var s string
		switch m.key {
		case "instanceId":
			in.InstanceID, err = jsonText(val, path, m.key)
		case "hostName":
			in.HostName, err = jsonText(val, path, m.key)
		case "app":
			in.App, err = jsonText(val, path, m.key)
		case "ipAddr":
			in.IPAddr, err = jsonText(val, path, m.key)
		case "sid":
			in.Sid, err = jsonText(val, path, m.key)
		case "status":
			s, err = jsonText(val, path, m.key)
			in.Status = Status(s)
		case "overriddenStatus", "overriddenstatus":
			s, err = jsonText(val, path, m.key)
			in.OverriddenStatus = Status(s)
		case "port":
			in.Port, seen.port, err = portFromJSON(val, path, m.key, true)
		case "securePort":
			in.SecurePort, seen.securePort, err = portFromJSON(val, path, m.key, false)
		case "countryId":
			var n int64
			n, seen.countryID, err = jsonInt(val, path, m.key, strconv.IntSize)
			in.CountryID = int(n)
		case "dataCenterInfo":
			in.DataCenterInfo, err = dataCenterFromJSON(val, path+".dataCenterInfo")
		case "leaseInfo":
			in.LeaseInfo, err = leaseFromJSON(val, path+".leaseInfo")
		case "metadata":
			in.Metadata, err = mapFromJSON(val, path+".metadata")
		case "appGroupName":
			in.AppGroupName, err = jsonText(val, path, m.key)
		case "homePageUrl":
			in.HomePageURL, err = jsonText(val, path, m.key)
		case "statusPageUrl":
			in.StatusPageURL, err = jsonText(val, path, m.key)
		case "healthCheckUrl":
			in.HealthCheckURL, err = jsonText(val, path, m.key)
		case "secureHealthCheckUrl":
			in.SecureHealthCheckURL, err = jsonText(val, path, m.key)
		case "vipAddress":
			in.VIPAddress, err = jsonText(val, path, m.key)
		case "secureVipAddress":
			in.SecureVIPAddress, err = jsonText(val, path, m.key)
		case "isCoordinatingDiscoveryServer":
			in.IsCoordinatingDiscoveryServer, _, err = jsonBool(val, path, m.key)
		case "lastUpdatedTimestamp":
			in.LastUpdatedTimestamp, _, err = jsonInt(val, path, m.key, 64)
		case "lastDirtyTimestamp":
			in.LastDirtyTimestamp, _, err = jsonInt(val, path, m.key, 64)
		case "actionType":
			s, err = jsonText(val, path, m.key)
			in.ActionType = ActionType(s)
		case "asgName":
			in.ASGName, err = jsonText(val, path, m.key)
		}
		if err != nil {
			return nil, err
		}
	}
	in.Status = statusOrRaw(string(in.Status), StatusUp)
	in.OverriddenStatus = statusOrRaw(string(in.OverriddenStatus), StatusUnknown)
	normalizeInstance(in, seen)
	return in, nil
}

// statusOrRaw returns def for an empty status and the text as written
// otherwise. Eureka's decoders turn unknown text into UNKNOWN; we keep it, so
// the registry can refuse a registration with a status nobody knows (an
// UNKNOWN lease answers every heartbeat with 404) and a client sees what the
// server sent.
func statusOrRaw(s string, def Status) Status {
	if s == "" {
		return def
	}
	return Status(s)
}

// parseInstanceStatus returns the status spelled s, def when s is empty, and
// UNKNOWN for any other text.
func parseInstanceStatus(s string, def Status) Status {
	if s == "" {
		return def
	}
	st, _ := ParseStatus(s)
	return st
}

// normalizeInstance fills Eureka's defaults into a decoded instance. Both
// decoders call it, so an instance decodes the same from JSON and XML.
func normalizeInstance(in *Instance, seen instanceSeen) {
	in.App = strings.ToUpper(in.App)
	in.AppGroupName = strings.ToUpper(in.AppGroupName)
	if !writeSid(in.Sid) {
		in.Sid = ""
	}
	if !seen.port {
		in.Port = Port{Number: DefaultPort, Enabled: true}
	}
	if !seen.securePort {
		in.SecurePort = Port{Number: DefaultSecurePort, Enabled: false}
	}
	if !seen.countryID {
		in.CountryID = DefaultCountryID
	}
	dc := &in.DataCenterInfo
	dc.Class = dc.class()
	dc.Name = dc.name(dc.Class)
	if dc.Class != ClassAmazonInfo || len(dc.Metadata) == 0 {
		dc.Metadata = nil
	}
	if in.LeaseInfo.RenewalIntervalInSecs <= 0 {
		in.LeaseInfo.RenewalIntervalInSecs = DefaultRenewalIntervalInSecs
	}
	if in.LeaseInfo.DurationInSecs <= 0 {
		in.LeaseInfo.DurationInSecs = DefaultDurationInSecs
	}
}

// portFromJSON reads {"$":n,"@enabled":b} or a bare number. ok is false when
// the port is null, and the caller then uses the default.
func portFromJSON(v *jsonValue, path, key string, enabled bool) (p Port, ok bool, err error) {
	def := Port{Number: DefaultPort, Enabled: enabled}
	if !enabled {
		def.Number = DefaultSecurePort
	}
	switch v.kind {
	case jsonNull:
		return def, false, nil
	case jsonNumber, jsonString:
		n, ok, err := jsonInt(v, path, key, strconv.IntSize)
		if err != nil || !ok {
			return def, false, err
		}
		return Port{Number: int(n), Enabled: true}, true, nil
	case jsonObject:
		p = def
		path += "." + key
		for i := range v.members {
			m := &v.members[i]
			switch m.key {
			case "$":
				n, ok, err := jsonInt(&m.val, path, m.key, strconv.IntSize)
				if err != nil {
					return p, false, err
				}
				if ok {
					p.Number = int(n)
				}
			case "@enabled":
				b, ok, err := jsonBool(&m.val, path, m.key)
				if err != nil {
					return p, false, err
				}
				if ok {
					p.Enabled = b
				}
			}
		}
		return p, true, nil
	}
	return def, false, errExpected(path+"."+key, "an object or a number", v)
}

func dataCenterFromJSON(v *jsonValue, path string) (DataCenterInfo, error) {
	var d DataCenterInfo
	if v.kind == jsonNull {
		return d, nil
	}
	if v.kind != jsonObject {
		return d, errExpected(path, "an object", v)
	}
	for i := range v.members {
		m := &v.members[i]
		var err error
		switch m.key {
		case "@class":
			d.Class, err = jsonText(&m.val, path, m.key)
		case "name":
			d.Name, err = jsonText(&m.val, path, m.key)
		case "metadata":
			d.Metadata, err = mapFromJSON(&m.val, path+".metadata")
		}
		if err != nil {
			return d, err
		}
	}
	return d, nil
}

func leaseFromJSON(v *jsonValue, path string) (LeaseInfo, error) {
	var l LeaseInfo
	if v.kind == jsonNull {
		return l, nil
	}
	if v.kind != jsonObject {
		return l, errExpected(path, "an object", v)
	}
	for i := range v.members {
		m := &v.members[i]
		var err error
		var n int64
		switch m.key {
		case "renewalIntervalInSecs":
			n, _, err = jsonInt(&m.val, path, m.key, strconv.IntSize)
			l.RenewalIntervalInSecs = int(n)
		case "durationInSecs":
			n, _, err = jsonInt(&m.val, path, m.key, strconv.IntSize)
			l.DurationInSecs = int(n)
		case "registrationTimestamp":
			l.RegistrationTimestamp, _, err = jsonInt(&m.val, path, m.key, 64)
		case "lastRenewalTimestamp", "renewalTimestamp":
			l.LastRenewalTimestamp, _, err = jsonInt(&m.val, path, m.key, 64)
		case "evictionTimestamp":
			l.EvictionTimestamp, _, err = jsonInt(&m.val, path, m.key, 64)
		case "serviceUpTimestamp":
			l.ServiceUpTimestamp, _, err = jsonInt(&m.val, path, m.key, 64)
		}
		if err != nil {
			return l, err
		}
	}
	return l, nil
}

// mapFromJSON reads a string map, dropping the "@class" and "class" markers
// Eureka and bean-style codecs put in. Null values read as "". An empty map
// is nil.
func mapFromJSON(v *jsonValue, path string) (map[string]string, error) {
	if v.kind == jsonNull {
		return nil, nil
	}
	if v.kind != jsonObject {
		return nil, errExpected(path, "an object", v)
	}
	var md map[string]string
	for i := range v.members {
		m := &v.members[i]
		if isClassKey(m.key) {
			continue
		}
		s, err := jsonText(&m.val, path, m.key)
		if err != nil {
			return nil, err
		}
		if md == nil {
			md = make(map[string]string, len(v.members))
		}
		md[m.key] = s
	}
	return md, nil
}

func isClassKey(k string) bool { return k == "@class" || k == "class" }

func applicationFromJSON(v *jsonValue, path string) (*Application, error) {
	if v.kind != jsonObject {
		return nil, errExpected(path, "an object", v)
	}
	app := new(Application)
	for i := range v.members {
		m := &v.members[i]
		var err error
		switch m.key {
		case "name":
			app.Name, err = jsonText(&m.val, path, m.key)
		case "instance":
			err = eachJSON(&m.val, path+".instance", func(e *jsonValue, path string) error {
				in, err := instanceFromJSON(e, path)
				if err == nil {
					app.Instances = append(app.Instances, in)
				}
				return err
			})
		}
		if err != nil {
			return nil, err
		}
	}
	return app, nil
}

func applicationsFromJSON(v *jsonValue, path string) (*Applications, error) {
	if v.kind != jsonObject {
		return nil, errExpected(path, "an object", v)
	}
	apps := &Applications{VersionsDelta: -1}
	for i := range v.members {
		m := &v.members[i]
		var err error
		switch {
		case m.key == "application":
			err = eachJSON(&m.val, path+".application", func(e *jsonValue, path string) error {
				app, err := applicationFromJSON(e, path)
				if err == nil {
					apps.Applications = append(apps.Applications, app)
				}
				return err
			})
		case strings.HasPrefix(m.key, "version"):
			var ok bool
			var n int64
			n, ok, err = jsonInt(&m.val, path, m.key, 64)
			if ok {
				apps.VersionsDelta = n
			}
		case strings.HasPrefix(m.key, "apps"):
			apps.AppsHashcode, err = jsonText(&m.val, path, m.key)
		}
		if err != nil {
			return nil, err
		}
	}
	return apps, nil
}

func replicationItemFromJSON(v *jsonValue, path string) (ReplicationInstance, error) {
	var it ReplicationInstance
	if v.kind != jsonObject {
		return it, errExpected(path, "an object", v)
	}
	for i := range v.members {
		m := &v.members[i]
		var err error
		var s string
		switch m.key {
		case "appName":
			it.AppName, err = jsonText(&m.val, path, m.key)
		case "id":
			it.ID, err = jsonText(&m.val, path, m.key)
		case "lastDirtyTimestamp":
			it.LastDirtyTimestamp, _, err = jsonInt(&m.val, path, m.key, 64)
		case "overriddenStatus", "overriddenstatus":
			s, err = jsonText(&m.val, path, m.key)
			it.OverriddenStatus = parseInstanceStatus(s, "")
		case "status":
			s, err = jsonText(&m.val, path, m.key)
			it.Status = parseInstanceStatus(s, "")
		case "instanceInfo":
			if m.val.kind != jsonNull {
				it.InstanceInfo, err = instanceDocFromJSON(&m.val, path+".instanceInfo")
			}
		case "action":
			s, err = jsonText(&m.val, path, m.key)
			it.Action = ReplicationAction(s)
		}
		if err != nil {
			return it, err
		}
	}
	return it, nil
}

// eachJSON calls fn for each element of an array, or once for a single
// object in its place (old Jettison output), skipping nulls.
func eachJSON(v *jsonValue, path string, fn func(e *jsonValue, path string) error) error {
	switch v.kind {
	case jsonNull:
		return nil
	case jsonObject:
		return fn(v, path)
	case jsonArray:
		for i := range v.elems {
			if v.elems[i].kind == jsonNull {
				continue
			}
			if err := fn(&v.elems[i], path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	}
	return errExpected(path, "an array or an object", v)
}

// jsonText reads a string member. Numbers and booleans give their literal
// text, as Jackson coerces them; null gives "".
func jsonText(v *jsonValue, path, key string) (string, error) {
	switch v.kind {
	case jsonString, jsonNumber:
		return v.text, nil
	case jsonTrue:
		return "true", nil
	case jsonFalse:
		return "false", nil
	case jsonNull:
		return "", nil
	}
	return "", errExpected(path+"."+key, "a string", v)
}

// jsonInt reads a whole number of the given bit size from a number or a
// numeric string. ok is false when the value is null or "".
func jsonInt(v *jsonValue, path, key string, bits int) (n int64, ok bool, err error) {
	switch v.kind {
	case jsonNull:
		return 0, false, nil
	case jsonNumber, jsonString:
		s := v.text
		if v.kind == jsonString {
			s = strings.TrimSpace(s)
			if s == "" {
				return 0, false, nil
			}
		}
		n, ok := parseWhole(s, bits)
		if !ok {
			return 0, false, fmt.Errorf("%s.%s: %q is not a number", path, key, v.text)
		}
		return n, true, nil
	}
	return 0, false, errExpected(path+"."+key, "a number", v)
}

// parseWhole parses s as a whole number that fits in bits, accepting the
// forms a JSON number takes ("8080", "8.08e3", "8080.0").
func parseWhole(s string, bits int) (int64, bool) {
	if n, err := strconv.ParseInt(s, 10, bits); err == nil {
		return n, true
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9', c == '.', c == 'e', c == 'E', c == '+', c == '-':
		default:
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.IsInf(f, 0) {
		return 0, false
	}
	limit := math.Ldexp(1, bits-1)
	if f < -limit || f >= limit {
		return 0, false
	}
	return int64(f), true
}

// jsonBool reads a boolean or "true"/"false" in any case. ok is false when
// the value is null or "".
func jsonBool(v *jsonValue, path, key string) (b, ok bool, err error) {
	switch v.kind {
	case jsonNull:
		return false, false, nil
	case jsonTrue:
		return true, true, nil
	case jsonFalse:
		return false, true, nil
	case jsonString:
		return parseBoolText(v.text, path+"."+key)
	}
	return false, false, errExpected(path+"."+key, "a boolean", v)
}

// parseBoolText reads "true" or "false" in any case, around spaces. ok is
// false for "".
func parseBoolText(s, path string) (b, ok bool, err error) {
	switch t := strings.TrimSpace(s); {
	case t == "":
		return false, false, nil
	case strings.EqualFold(t, "true"):
		return true, true, nil
	case strings.EqualFold(t, "false"):
		return false, true, nil
	}
	return false, false, fmt.Errorf("%s: %q is not a boolean", path, s)
}

func errExpected(path, want string, v *jsonValue) error {
	return fmt.Errorf("%s: expected %s, got %s", path, want, v.kind)
}

// A jsonValue is one parsed JSON value. The decoders read documents as trees
// of these so that members may come in any order and wrappers may be optional.
type jsonValue struct {
	kind    jsonKind
	text    string       // a string's contents, a number's literal
	members []jsonMember // an object's members, in order
	elems   []jsonValue  // an array's elements
}

type jsonMember struct {
	key string
	val jsonValue
}

// member returns the last member named key of an object, or nil.
func (v *jsonValue) member(key string) *jsonValue {
	for i := len(v.members) - 1; i >= 0; i-- {
		if v.members[i].key == key {
			return &v.members[i].val
		}
	}
	return nil
}

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonFalse
	jsonTrue
	jsonNumber
	jsonString
	jsonObject
	jsonArray
)

func (k jsonKind) String() string {
	switch k {
	case jsonNull:
		return "null"
	case jsonFalse, jsonTrue:
		return "a boolean"
	case jsonNumber:
		return "a number"
	case jsonString:
		return "a string"
	case jsonObject:
		return "an object"
	}
	return "an array"
}

// maxJSONDepth bounds nesting, as encoding/json does, so that a hostile body
// cannot exhaust the stack.
const maxJSONDepth = 10000

// jsonSyntaxError reports malformed JSON at a byte offset.
type jsonSyntaxError struct {
	msg string
	off int // -1 for the end of the input
}

func (e *jsonSyntaxError) Error() string {
	if e.off < 0 {
		return e.msg
	}
	return "offset " + strconv.Itoa(e.off) + ": " + e.msg
}

var errJSONEnd = &jsonSyntaxError{msg: "unexpected end of JSON input", off: -1}

type jsonParser struct {
	data  []byte
	pos   int
	depth int
}

// parseJSON parses one JSON value that must make up all of data but for
// white space.
func parseJSON(data []byte) (jsonValue, error) {
	p := jsonParser{data: data}
	v, err := p.value()
	if err != nil {
		return v, err
	}
	p.skipSpace()
	if p.pos < len(p.data) {
		return v, p.invalid("after top-level value")
	}
	return v, nil
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// invalid reports the byte at p.pos as unexpected.
func (p *jsonParser) invalid(context string) error {
	if p.pos >= len(p.data) {
		return errJSONEnd
	}
	c := p.data[p.pos]
	var q string
	if c < utf8.RuneSelf {
		q = strconv.QuoteRune(rune(c))
	} else {
		q = fmt.Sprintf("byte 0x%02x", c)
	}
	return &jsonSyntaxError{msg: "invalid character " + q + " " + context, off: p.pos}
}

func (p *jsonParser) value() (jsonValue, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return jsonValue{}, errJSONEnd
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		return jsonValue{kind: jsonString, text: s}, err
	case c == '-' || '0' <= c && c <= '9':
		s, err := p.number()
		return jsonValue{kind: jsonNumber, text: s}, err
	case c == 't':
		return jsonValue{kind: jsonTrue}, p.literal("true")
	case c == 'f':
		return jsonValue{kind: jsonFalse}, p.literal("false")
	case c == 'n':
		return jsonValue{kind: jsonNull}, p.literal("null")
	}
	return jsonValue{}, p.invalid("looking for beginning of value")
}

func (p *jsonParser) enter() error {
	p.depth++
	if p.depth > maxJSONDepth {
		return &jsonSyntaxError{msg: "exceeded max depth", off: p.pos}
	}
	return nil
}

func (p *jsonParser) object() (jsonValue, error) {
	v := jsonValue{kind: jsonObject}
	if err := p.enter(); err != nil {
		return v, err
	}
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return v, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return v, p.invalid("looking for beginning of object key string")
		}
		key, err := p.str()
		if err != nil {
			return v, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return v, p.invalid("after object key")
		}
		p.pos++
		val, err := p.value()
		if err != nil {
			return v, err
		}
		v.members = append(v.members, jsonMember{key: key, val: val})
		p.skipSpace()
		if p.pos >= len(p.data) {
			return v, errJSONEnd
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			continue
		case '}':
			p.pos++
			p.depth--
			return v, nil
		}
		return v, p.invalid("after object key:value pair")
	}
}

func (p *jsonParser) array() (jsonValue, error) {
	v := jsonValue{kind: jsonArray}
	if err := p.enter(); err != nil {
		return v, err
	}
	p.pos++ // '['
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return v, nil
	}
	for {
		e, err := p.value()
		if err != nil {
			return v, err
		}
		v.elems = append(v.elems, e)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return v, errJSONEnd
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			continue
		case ']':
			p.pos++
			p.depth--
			return v, nil
		}
		return v, p.invalid("after array element")
	}
}

func (p *jsonParser) literal(word string) error {
	for i := 0; i < len(word); i++ {
		if p.pos >= len(p.data) {
			return errJSONEnd
		}
		if p.data[p.pos] != word[i] {
			return p.invalid("in literal " + word)
		}
		p.pos++
	}
	return nil
}

func (p *jsonParser) number() (string, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos >= len(p.data) {
		return "", errJSONEnd
	}
	switch c := p.data[p.pos]; {
	case c == '0':
		p.pos++
	case '1' <= c && c <= '9':
		p.digits()
	default:
		return "", p.invalid("in numeric literal")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if err := p.needDigits(); err != nil {
			return "", err
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if err := p.needDigits(); err != nil {
			return "", err
		}
	}
	return string(p.data[start:p.pos]), nil
}

func (p *jsonParser) digits() {
	for p.pos < len(p.data) && '0' <= p.data[p.pos] && p.data[p.pos] <= '9' {
		p.pos++
	}
}

func (p *jsonParser) needDigits() error {
	if p.pos >= len(p.data) {
		return errJSONEnd
	}
	if c := p.data[p.pos]; c < '0' || c > '9' {
		return p.invalid("in numeric literal")
	}
	p.digits()
	return nil
}

// str reads a string literal. Like encoding/json, it turns invalid UTF-8 and
// unpaired surrogates into U+FFFD.
func (p *jsonParser) str() (string, error) {
	p.pos++ // '"'
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := string(p.data[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' || c < ' ' || c >= utf8.RuneSelf {
			break
		}
		p.pos++
	}
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for {
		if p.pos >= len(p.data) {
			return "", errJSONEnd
		}
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < ' ':
			return "", p.invalid("in string literal")
		case c == '\\':
			var err error
			if buf, err = p.escape(buf); err != nil {
				return "", err
			}
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
			} else {
				buf = append(buf, p.data[p.pos:p.pos+size]...)
			}
			p.pos += size
		}
	}
}

// escape decodes the escape sequence at p.pos and appends it to buf.
func (p *jsonParser) escape(buf []byte) ([]byte, error) {
	p.pos++ // '\\'
	if p.pos >= len(p.data) {
		return buf, errJSONEnd
	}
	c := p.data[p.pos]
	switch c {
	case '"', '\\', '/':
		buf = append(buf, c)
	case 'b':
		buf = append(buf, '\b')
	case 'f':
		buf = append(buf, '\f')
	case 'n':
		buf = append(buf, '\n')
	case 'r':
		buf = append(buf, '\r')
	case 't':
		buf = append(buf, '\t')
	case 'u':
		p.pos++
		r, err := p.hex4()
		if err != nil {
			return buf, err
		}
		if 0xD800 <= r && r < 0xDC00 {
			// A high surrogate pairs with a following \uDC00-\uDFFF.
			if p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
				save := p.pos
				p.pos += 2
				r2, err := p.hex4()
				if err != nil {
					return buf, err
				}
				if 0xDC00 <= r2 && r2 < 0xE000 {
					return utf8.AppendRune(buf, (r-0xD800)<<10|(r2-0xDC00)+0x10000), nil
				}
				p.pos = save
			}
			r = utf8.RuneError
		} else if 0xDC00 <= r && r < 0xE000 {
			r = utf8.RuneError
		}
		return utf8.AppendRune(buf, r), nil
	default:
		return buf, p.invalid("in string escape code")
	}
	p.pos++
	return buf, nil
}

func (p *jsonParser) hex4() (rune, error) {
	var r rune
	for range 4 {
		if p.pos >= len(p.data) {
			return 0, errJSONEnd
		}
		c := p.data[p.pos]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, p.invalid("in \\u hexadecimal character escape")
		}
		r = r<<4 | rune(c)
		p.pos++
	}
	return r, nil
}
