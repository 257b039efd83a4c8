package eureka

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds the XML codec. Encoders write what Eureka's XStream
// converters write: elements in Eureka's order, indented by two spaces, no
// XML declaration, and a final newline. Decoders read with encoding/xml and
// are as lenient as the JSON ones.

// AppendInstanceXML appends in as Eureka's single-instance document, rooted
// at <instance>. Children come in Eureka's order and follow the JSON rules of
// AppendInstanceJSON, except that the override is <overriddenstatus> (lower
// case s), ports are <port enabled="true">8080</port> and the timestamps and
// isCoordinatingDiscoveryServer are plain text.
//
// Metadata keys become element names, '_' written as "__" and '$' as "_-" as
// XStream's name coder writes them. A key that would not make a valid XML
// name once encoded (empty, starting with a digit, '-' or '.', or holding
// anything but ASCII letters, digits, '.', '-', '_' and '$') would make
// XStream write a broken document; such keys are left out of XML output
// (JSON keeps them). Metadata with no key left is written as
// <metadata class="java.util.Collections$EmptyMap"/>.
func AppendInstanceXML(b []byte, in *Instance) []byte {
	return appendInstanceXML(b, in, "instance", 0)
}

// AppendApplicationXML appends app as Eureka's single-application document:
// <application> with <name> and one <instance> element per instance (nil
// instances are skipped). Instances are written as AppendInstanceXML writes
// them.
func AppendApplicationXML(b []byte, app *Application) []byte {
	return appendApplicationXML(b, app, 0)
}

// AppendApplicationsXML appends apps as Eureka's registry document:
// <applications> with <versions__delta>, <apps__hashcode> (an empty element
// when the hash is empty) and one <application> element per application that
// has instances. Instances are written as AppendInstanceXML writes them.
func AppendApplicationsXML(b []byte, apps *Applications) []byte {
	b = appendApplicationsXMLHead(b, apps.VersionsDelta, apps.AppsHashcode)
	for _, app := range apps.Applications {
		if hasInstances(app) {
			b = appendApplicationXML(b, app, 1)
		}
	}
	return append(b, applicationsXMLTail...)
}

// appendApplicationsXMLHead appends a registry document up to its first
// application; applicationsXMLTail ends it.
func appendApplicationsXMLHead(b []byte, versionsDelta int64, hash string) []byte {
	b = append(b, "<applications>\n"...)
	b = appendXMLInt(b, 1, "versions__delta", versionsDelta)
	return appendXMLElem(b, 1, "apps__hashcode", hash)
}

const applicationsXMLTail = "</applications>\n"

// AppendStatusInfoXML appends s as the XML body of GET /eureka/status. As in
// Eureka, the root element is the Java class name,
// <com.netflix.eureka.util.StatusInfo>; it holds <generalStats> and
// <applicationStats> with one element per stat (stats whose names are not
// valid XML names are left out, see AppendInstanceXML), the server's own
// instance as <instanceInfo> when s.Instance is not nil, and, only when
// s.Healthy is set, Eureka's misspelt <isHeathly>.
func AppendStatusInfoXML(b []byte, s *StatusInfo) []byte {
	b = append(b, "<com.netflix.eureka.util.StatusInfo>\n"...)
	b = appendStatsXML(b, "generalStats", s.GeneralStats)
	b = appendStatsXML(b, "applicationStats", s.ApplicationStats)
	if s.Instance != nil {
		b = appendInstanceXML(b, s.Instance, "instanceInfo", 1)
	}
	if s.Healthy != nil {
		if *s.Healthy {
			b = append(b, "  <isHeathly>true</isHeathly>\n"...)
		} else {
			b = append(b, "  <isHeathly>false</isHeathly>\n"...)
		}
	}
	return append(b, "</com.netflix.eureka.util.StatusInfo>\n"...)
}

func appendStatsXML(b []byte, name string, stats []Stat) []byte {
	n := 0
	for _, st := range stats {
		if xmlNameOK(st.Name) {
			n++
		}
	}
	if n == 0 {
		b = append(b, "  <"...)
		b = append(b, name...)
		return append(b, "/>\n"...)
	}
	b = appendXMLOpen(b, 1, name)
	for _, st := range stats {
		if xmlNameOK(st.Name) {
			b = appendXMLKeyElem(b, 2, st.Name, st.Value)
		}
	}
	return appendXMLClose(b, 1, name)
}

func appendApplicationXML(b []byte, app *Application, depth int) []byte {
	b = appendXMLOpen(b, depth, "application")
	b = appendXMLElem(b, depth+1, "name", app.Name)
	for _, in := range app.Instances {
		if in != nil {
			b = appendInstanceXML(b, in, "instance", depth+1)
		}
	}
	return appendXMLClose(b, depth, "application")
}

func appendInstanceXML(b []byte, in *Instance, elem string, depth int) []byte {
	b = appendXMLOpen(b, depth, elem)
	d := depth + 1
	if in.InstanceID != "" {
		b = appendXMLElem(b, d, "instanceId", in.InstanceID)
	}
	b = appendXMLElem(b, d, "hostName", in.HostName)
	b = appendXMLElem(b, d, "app", in.App)
	b = appendXMLElem(b, d, "ipAddr", in.IPAddr)
	if writeSid(in.Sid) {
		b = appendXMLElem(b, d, "sid", in.Sid)
	}
	b = appendXMLElem(b, d, "status", string(statusOr(in.Status, StatusUp)))
	b = appendXMLElem(b, d, "overriddenstatus", string(statusOr(in.OverriddenStatus, StatusUnknown)))
	b = appendPortXML(b, d, "port", in.Port)
	b = appendPortXML(b, d, "securePort", in.SecurePort)
	b = appendXMLInt(b, d, "countryId", int64(in.CountryID))

	dc := &in.DataCenterInfo
	class := dc.class()
	b = append(b, xmlSpaces[:2*d]...)
	b = append(b, `<dataCenterInfo class="`...)
	b = appendXMLText(b, class, true)
	b = append(b, "\">\n"...)
	b = appendXMLElem(b, d+1, "name", dc.name(class))
	if class == ClassAmazonInfo {
		b = appendXMLMap(b, d+1, dc.Metadata)
	}
	b = appendXMLClose(b, d, "dataCenterInfo")

	l := &in.LeaseInfo
	b = appendXMLOpen(b, d, "leaseInfo")
	b = appendXMLInt(b, d+1, "renewalIntervalInSecs", int64(l.RenewalIntervalInSecs))
	b = appendXMLInt(b, d+1, "durationInSecs", int64(l.DurationInSecs))
	b = appendXMLInt(b, d+1, "registrationTimestamp", l.RegistrationTimestamp)
	b = appendXMLInt(b, d+1, "lastRenewalTimestamp", l.LastRenewalTimestamp)
	b = appendXMLInt(b, d+1, "evictionTimestamp", l.EvictionTimestamp)
	b = appendXMLInt(b, d+1, "serviceUpTimestamp", l.ServiceUpTimestamp)
	b = appendXMLClose(b, d, "leaseInfo")
	b = appendXMLMap(b, d, in.Metadata)

	b = appendXMLOptional(b, d, "appGroupName", in.AppGroupName)
	b = appendXMLOptional(b, d, "homePageUrl", in.HomePageURL)
	b = appendXMLOptional(b, d, "statusPageUrl", in.StatusPageURL)
	b = appendXMLOptional(b, d, "healthCheckUrl", in.HealthCheckURL)
	b = appendXMLOptional(b, d, "secureHealthCheckUrl", in.SecureHealthCheckURL)
	b = appendXMLOptional(b, d, "vipAddress", in.VIPAddress)
	b = appendXMLOptional(b, d, "secureVipAddress", in.SecureVIPAddress)
	if in.IsCoordinatingDiscoveryServer {
		b = appendXMLElem(b, d, "isCoordinatingDiscoveryServer", "true")
	} else {
		b = appendXMLElem(b, d, "isCoordinatingDiscoveryServer", "false")
	}
	b = appendXMLInt(b, d, "lastUpdatedTimestamp", in.LastUpdatedTimestamp)
	b = appendXMLInt(b, d, "lastDirtyTimestamp", in.LastDirtyTimestamp)
	b = appendXMLOptional(b, d, "actionType", string(in.ActionType))
	b = appendXMLOptional(b, d, "asgName", in.ASGName)
	return appendXMLClose(b, depth, elem)
}

func appendPortXML(b []byte, depth int, name string, p Port) []byte {
	b = append(b, xmlSpaces[:2*depth]...)
	b = append(b, '<')
	b = append(b, name...)
	if p.Enabled {
		b = append(b, ` enabled="true">`...)
	} else {
		b = append(b, ` enabled="false">`...)
	}
	b = strconv.AppendInt(b, int64(p.Number), 10)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

// appendXMLMap appends <metadata> with one child per key that makes a valid
// element name, sorted, or Eureka's empty-map element when there is none.
func appendXMLMap(b []byte, depth int, m map[string]string) []byte {
	var buf [16]string
	keys := sortedKeys(m, buf[:0])
	n := 0
	for _, k := range keys {
		if xmlNameOK(k) {
			keys[n] = k
			n++
		}
	}
	if n == 0 {
		b = append(b, xmlSpaces[:2*depth]...)
		return append(b, `<metadata class="java.util.Collections$EmptyMap"/>`+"\n"...)
	}
	b = appendXMLOpen(b, depth, "metadata")
	for _, k := range keys[:n] {
		b = appendXMLKeyElem(b, depth+1, k, m[k])
	}
	return appendXMLClose(b, depth, "metadata")
}

// appendXMLKeyElem appends an element named after a map key, encoded the way
// XStream encodes names. The caller has checked the key with xmlNameOK.
func appendXMLKeyElem(b []byte, depth int, key, text string) []byte {
	b = append(b, xmlSpaces[:2*depth]...)
	b = append(b, '<')
	b = appendXMLName(b, key)
	b = append(b, '>')
	b = appendXMLText(b, text, false)
	b = append(b, "</"...)
	b = appendXMLName(b, key)
	return append(b, ">\n"...)
}

// xmlSpaces indents elements; documents nest at most six deep.
const xmlSpaces = "                    "

func appendXMLOpen(b []byte, depth int, name string) []byte {
	b = append(b, xmlSpaces[:2*depth]...)
	b = append(b, '<')
	b = append(b, name...)
	return append(b, ">\n"...)
}

func appendXMLClose(b []byte, depth int, name string) []byte {
	b = append(b, xmlSpaces[:2*depth]...)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

func appendXMLElem(b []byte, depth int, name, text string) []byte {
	b = append(b, xmlSpaces[:2*depth]...)
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = appendXMLText(b, text, false)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

func appendXMLOptional(b []byte, depth int, name, text string) []byte {
	if text == "" {
		return b
	}
	return appendXMLElem(b, depth, name, text)
}

func appendXMLInt(b []byte, depth int, name string, n int64) []byte {
	b = append(b, xmlSpaces[:2*depth]...)
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = strconv.AppendInt(b, n, 10)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

// xmlNameOK reports whether key, encoded by appendXMLName, is an XML name
// that every parser accepts: ASCII only, no ':' (a namespace prefix), and not
// starting with a digit, '-' or '.'.
func xmlNameOK(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_', c == '$':
		case i > 0 && ('0' <= c && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// appendXMLName appends key with XStream's escapes: '_' as "__", '$' as "_-".
func appendXMLName(b []byte, key string) []byte {
	for i := 0; i < len(key); i++ {
		switch c := key[i]; c {
		case '_':
			b = append(b, '_', '_')
		case '$':
			b = append(b, '_', '-')
		default:
			b = append(b, c)
		}
	}
	return b
}

// decodeXMLName undoes appendXMLName: "__" is '_' and "_-" is '$'; a '_'
// before anything else is kept.
func decodeXMLName(name string) string {
	if strings.IndexByte(name, '_') < 0 {
		return name
	}
	b := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' && i+1 < len(name) {
			switch name[i+1] {
			case '_':
				i++
			case '-':
				c = '$'
				i++
			}
		}
		b = append(b, c)
	}
	return string(b)
}

// xmlPlain marks the bytes written unescaped in XML text: printable ASCII
// except the five that have entities. Bytes from 0x80 up take the slow path.
var xmlPlain = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `&<>"'` {
		t[c] = false
	}
	return t
}()

// appendXMLText appends s escaped as XStream escapes text: &, <, >, " and '
// as entities, '\r' as a character reference (and, in attributes, '\t' and
// '\n' too, which parsers would otherwise turn into spaces). Characters XML
// cannot hold, and invalid UTF-8, become U+FFFD.
func appendXMLText(b []byte, s string, attr bool) []byte {
	start, i := 0, 0
	for {
		for i < len(s) && xmlPlain[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if !attr && (c == '\t' || c == '\n') {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '&':
				b = append(b, "&amp;"...)
			case '<':
				b = append(b, "&lt;"...)
			case '>':
				b = append(b, "&gt;"...)
			case '"':
				b = append(b, "&quot;"...)
			case '\'':
				b = append(b, "&apos;"...)
			case '\r':
				b = append(b, "&#xd;"...)
			case '\t':
				b = append(b, "&#x9;"...)
			case '\n':
				b = append(b, "&#xa;"...)
			default:
				b = append(b, "\uFFFD"...)
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !xmlChar(r) {
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			start = i + size
		}
		i += size
	}
	return append(b, s[start:]...)
}

// xmlChar reports whether r, at least U+0080, is an XML 1.0 character.
func xmlChar(r rune) bool {
	return r <= 0xD7FF || 0xE000 <= r && r <= 0xFFFD || 0x10000 <= r && r <= utf8.MaxRune
}

// DecodeInstanceXML decodes an instance sent as XML, rooted at <instance>
// (fargo's default). It reads either spelling of <overriddenstatus>, upper
// cases statuses before reading them, takes <port> as enabled unless its
// enabled attribute is exactly "false" and <securePort> as enabled only when
// it is exactly "true", accepts <dataCenterInfo> without a class attribute
// and empty elements, and skips unknown elements. Defaults and normalization
// are those of DecodeInstanceJSON; metadata element names are decoded back
// from XStream's escapes.
func DecodeInstanceXML(data []byte) (*Instance, error) {
	const path = "instance"
	r := newXMLReader(data)
	if err := r.root(path); err != nil {
		return nil, err
	}
	in, err := r.instance(path)
	if err != nil {
		return nil, err
	}
	if err := r.end(path); err != nil {
		return nil, err
	}
	return in, nil
}

// DecodeApplicationXML decodes a single-application document rooted at
// <application>: <name> and any number of <instance> elements, each read as
// DecodeInstanceXML reads one.
func DecodeApplicationXML(data []byte) (*Application, error) {
	const path = "application"
	r := newXMLReader(data)
	if err := r.root(path); err != nil {
		return nil, err
	}
	app, err := r.application(path)
	if err != nil {
		return nil, err
	}
	if err := r.end(path); err != nil {
		return nil, err
	}
	return app, nil
}

// DecodeApplicationsXML decodes a registry document rooted at <applications>.
// As in DecodeApplicationsJSON, an element whose name starts with "version"
// is the version (-1 when there is none) and one starting with "apps" the
// hash code.
func DecodeApplicationsXML(data []byte) (*Applications, error) {
	const path = "applications"
	r := newXMLReader(data)
	if err := r.root(path); err != nil {
		return nil, err
	}
	apps := &Applications{VersionsDelta: -1}
	err := r.children(path, func(se xml.StartElement) error {
		name := se.Name.Local
		switch {
		case name == "application":
			p := path + ".application[" + strconv.Itoa(len(apps.Applications)) + "]"
			app, err := r.application(p)
			if err == nil {
				apps.Applications = append(apps.Applications, app)
			}
			return err
		case strings.HasPrefix(name, "version"):
			n, ok, err := r.int(path, name, 64)
			if ok {
				apps.VersionsDelta = n
			}
			return err
		case strings.HasPrefix(name, "apps"):
			var err error
			apps.AppsHashcode, err = r.text(path, name)
			return err
		}
		return r.skip(path, name)
	})
	if err != nil {
		return nil, err
	}
	if err := r.end(path); err != nil {
		return nil, err
	}
	return apps, nil
}

// xmlReader walks a document's tokens. Each method that reads an element is
// called just after its start tag and returns after its end tag.
type xmlReader struct {
	d *xml.Decoder
}

// newXMLReader reads data, skipping a leading UTF-8 byte order mark.
func newXMLReader(data []byte) *xmlReader {
	return &xmlReader{d: xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, utf8BOM)))}
}

var utf8BOM = []byte("\xef\xbb\xbf")

// token returns the next token; errors start with path.
func (r *xmlReader) token(path string) (xml.Token, error) {
	tok, err := r.d.Token()
	if err == io.EOF {
		return nil, errors.New(path + ": unexpected end of XML input")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tok, nil
}

// root reads up to the root element's start tag, which must be named want.
func (r *xmlReader) root(want string) error {
	for {
		tok, err := r.token(want)
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != want {
				return fmt.Errorf("%s: root element is <%s>, want <%s>", want, t.Name.Local, want)
			}
			return nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errors.New(want + ": text before the root element")
			}
		}
	}
}

// end checks that only white space, comments and processing instructions
// follow the root element.
func (r *xmlReader) end(path string) error {
	for {
		tok, err := r.d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return fmt.Errorf("%s: element <%s> after the root element", path, t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errors.New(path + ": text after the root element")
			}
		}
	}
}

// children calls fn for each child element until the current element ends;
// fn must read the child to its end. Text between children is ignored.
func (r *xmlReader) children(path string, fn func(se xml.StartElement) error) error {
	for {
		tok, err := r.token(path)
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := fn(t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// skip reads the child element name of path to its end.
func (r *xmlReader) skip(path, name string) error {
	if err := r.d.Skip(); err != nil {
		if err == io.EOF {
			return errors.New(path + "." + name + ": unexpected end of XML input")
		}
		return fmt.Errorf("%s.%s: %w", path, name, err)
	}
	return nil
}

// text reads the text of the child element name of path, ignoring any
// elements inside it.
func (r *xmlReader) text(path, name string) (string, error) {
	var s string
	var buf []byte
	depth := 0
	for {
		tok, err := r.token(path + "." + name)
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			switch {
			case depth > 0:
			case buf != nil:
				buf = append(buf, t...)
			case s == "":
				s = string(t)
			default:
				buf = append([]byte(s), t...)
			}
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth > 0 {
				depth--
				continue
			}
			if buf != nil {
				return string(buf), nil
			}
			return s, nil
		}
	}
}

// int reads a whole number from the child element name of path. ok is false
// when the element is empty.
func (r *xmlReader) int(path, name string, bits int) (n int64, ok bool, err error) {
	s, err := r.text(path, name)
	if err != nil {
		return 0, false, err
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, false, nil
	}
	n, ok = parseWhole(t, bits)
	if !ok {
		return 0, false, fmt.Errorf("%s.%s: %q is not a number", path, name, s)
	}
	return n, true, nil
}

func xmlAttr(se xml.StartElement, name string) (string, bool) {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func (r *xmlReader) instance(path string) (*Instance, error) {
	in := new(Instance)
	var seen instanceSeen
	var status, overridden string
	err := r.children(path, func(se xml.StartElement) error {
		name := se.Name.Local
		var err error
		var n int64
		switch name {
		case "instanceId":
			in.InstanceID, err = r.text(path, name)
		case "hostName":
			in.HostName, err = r.text(path, name)
		case "app":
			in.App, err = r.text(path, name)
		case "ipAddr":
			in.IPAddr, err = r.text(path, name)
		case "sid":
			in.Sid, err = r.text(path, name)
		case "status":
			status, err = r.text(path, name)
		case "overriddenstatus", "overriddenStatus":
			overridden, err = r.text(path, name)
		case "port":
			in.Port, err = r.port(se, path, false)
			seen.port = true
		case "securePort":
			in.SecurePort, err = r.port(se, path, true)
			seen.securePort = true
		case "countryId":
			n, seen.countryID, err = r.int(path, name, strconv.IntSize)
			in.CountryID = int(n)
		case "dataCenterInfo":
			in.DataCenterInfo, err = r.dataCenter(se, path+"."+name)
		case "leaseInfo":
			in.LeaseInfo, err = r.lease(path + "." + name)
		case "metadata":
			in.Metadata, err = r.metadata(path + "." + name)
		case "appGroupName":
			in.AppGroupName, err = r.text(path, name)
		case "homePageUrl":
			in.HomePageURL, err = r.text(path, name)
		case "statusPageUrl":
			in.StatusPageURL, err = r.text(path, name)
		case "healthCheckUrl":
			in.HealthCheckURL, err = r.text(path, name)
		case "secureHealthCheckUrl":
			in.SecureHealthCheckURL, err = r.text(path, name)
		case "vipAddress":
			in.VIPAddress, err = r.text(path, name)
		case "secureVipAddress":
			in.SecureVIPAddress, err = r.text(path, name)
		case "isCoordinatingDiscoveryServer":
			var s string
			if s, err = r.text(path, name); err == nil {
				in.IsCoordinatingDiscoveryServer, _, err = parseBoolText(s, path+"."+name)
			}
		case "lastUpdatedTimestamp":
			in.LastUpdatedTimestamp, _, err = r.int(path, name, 64)
		case "lastDirtyTimestamp":
			in.LastDirtyTimestamp, _, err = r.int(path, name, 64)
		case "actionType":
			var s string
			s, err = r.text(path, name)
			in.ActionType = ActionType(s)
		case "asgName":
			in.ASGName, err = r.text(path, name)
		default:
			err = r.skip(path, name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	in.Status = statusOrRaw(strings.ToUpper(strings.TrimSpace(status)), StatusUp)
	in.OverriddenStatus = statusOrRaw(strings.ToUpper(strings.TrimSpace(overridden)), StatusUnknown)
	normalizeInstance(in, seen)
	return in, nil
}

// port reads <port enabled="true">8080</port>. As in Eureka, a port is
// enabled unless the attribute says "false", a secure port only when it says
// "true"; an empty element keeps the default number.
func (r *xmlReader) port(se xml.StartElement, path string, secure bool) (Port, error) {
	enabled, _ := xmlAttr(se, "enabled")
	p := Port{Number: DefaultPort, Enabled: enabled != "false"}
	if secure {
		p = Port{Number: DefaultSecurePort, Enabled: enabled == "true"}
	}
	n, ok, err := r.int(path, se.Name.Local, strconv.IntSize)
	if ok {
		p.Number = int(n)
	}
	return p, err
}

func (r *xmlReader) dataCenter(se xml.StartElement, path string) (DataCenterInfo, error) {
	var d DataCenterInfo
	d.Class, _ = xmlAttr(se, "class")
	err := r.children(path, func(se xml.StartElement) error {
		var err error
		switch name := se.Name.Local; name {
		case "name":
			d.Name, err = r.text(path, name)
		case "metadata":
			d.Metadata, err = r.metadata(path + "." + name)
		default:
			err = r.skip(path, name)
		}
		return err
	})
	return d, err
}

func (r *xmlReader) lease(path string) (LeaseInfo, error) {
	var l LeaseInfo
	err := r.children(path, func(se xml.StartElement) error {
		var err error
		var n int64
		switch name := se.Name.Local; name {
		case "renewalIntervalInSecs":
			n, _, err = r.int(path, name, strconv.IntSize)
			l.RenewalIntervalInSecs = int(n)
		case "durationInSecs":
			n, _, err = r.int(path, name, strconv.IntSize)
			l.DurationInSecs = int(n)
		case "registrationTimestamp":
			l.RegistrationTimestamp, _, err = r.int(path, name, 64)
		case "lastRenewalTimestamp", "renewalTimestamp":
			l.LastRenewalTimestamp, _, err = r.int(path, name, 64)
		case "evictionTimestamp":
			l.EvictionTimestamp, _, err = r.int(path, name, 64)
		case "serviceUpTimestamp":
			l.ServiceUpTimestamp, _, err = r.int(path, name, 64)
		default:
			err = r.skip(path, name)
		}
		return err
	})
	return l, err
}

// metadata reads one entry per child element, the key decoded from the
// element name. The class attribute Eureka puts on empty maps is ignored, and
// "class" entries are dropped as in JSON. An empty map is nil.
func (r *xmlReader) metadata(path string) (map[string]string, error) {
	var md map[string]string
	err := r.children(path, func(se xml.StartElement) error {
		v, err := r.text(path, se.Name.Local)
		if err != nil {
			return err
		}
		key := decodeXMLName(se.Name.Local)
		if isClassKey(key) {
			return nil
		}
		if md == nil {
			md = make(map[string]string)
		}
		md[key] = v
		return nil
	})
	return md, err
}

func (r *xmlReader) application(path string) (*Application, error) {
	app := new(Application)
	err := r.children(path, func(se xml.StartElement) error {
		var err error
		switch name := se.Name.Local; name {
		case "name":
			app.Name, err = r.text(path, name)
		case "instance":
			var in *Instance
			in, err = r.instance(path + ".instance[" + strconv.Itoa(len(app.Instances)) + "]")
			if err == nil {
				app.Instances = append(app.Instances, in)
			}
		default:
			err = r.skip(path, name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return app, nil
}
