package springconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"go.yaml.in/yaml/v3"
)

// Parse reads one file's text: YAML if name ends in .yml or .yaml,
// Java properties if it ends in .properties. Of its documents, those without
// spring.config.activate.on-profile (or spring.profiles) apply, and those
// whose profile expression profiles satisfy; later documents override earlier
// ones. With no profiles, the file's own spring.profiles.active chooses,
// else the profile "default".
//
// Placeholders resolve against the file's own keys; Load also uses the
// environment. Errors are a *ConfigError whose problems start with the base
// name and line, "application.yml:12: ...".
func Parse(name string, data []byte, profiles []string) (*Props, error) {
	p := &Props{}
	docs, probs := parseDocs(filepath.Base(name), 0, data)
	if len(probs) > 0 {
		return nil, configError(probs)
	}
	p.profiles = activeProfiles(profiles, docs)
	probs = p.mergeActive(docs)
	probs = append(probs, p.check()...)
	if err := configError(probs); err != nil {
		return nil, err
	}
	return p, nil
}

// parseDocs splits data into its documents, each flattened to entries.
func parseDocs(where string, src int, data []byte) ([][]*entry, []*problem) {
	switch strings.ToLower(filepath.Ext(where)) {
	case ".yml", ".yaml":
		return parseYAML(where, src, data)
	case ".properties":
		return parseProperties(where, src, data)
	}
	return nil, []*problem{{where: where, msg: "unknown format; want a .yml, .yaml or .properties file", src: src}}
}

// mergeActive merges the documents whose profile condition holds.
func (p *Props) mergeActive(docs [][]*entry) []*problem {
	var probs []*problem
	for _, d := range docs {
		ok, prob := activeDoc(d, p.profiles)
		if prob != nil {
			probs = append(probs, prob)
			continue
		}
		if ok {
			p.merge(d)
		}
	}
	return probs
}

var (
	keyOnProfile     = parseName("spring.config.activate.on-profile")
	keyLegacyProfile = parseName("spring.profiles")
	keyActive        = parseName("spring.profiles.active")
	keyOnPlatform    = parseName("spring.config.activate.on-cloud-platform")
)

// activeDoc reports whether a document applies to the active profiles.
func activeDoc(d []*entry, active []string) (bool, *problem) {
	conds := false
	for _, e := range d {
		if isValueOf(e, keyOnPlatform) && strings.TrimSpace(e.Value.Value) != "" {
			return false, nil // we detect no cloud platform
		}
		if !isValueOf(e, keyOnProfile) && !isValueOf(e, keyLegacyProfile) {
			continue
		}
		for expr := range strings.SplitSeq(e.Value.Value, ",") {
			if strings.TrimSpace(expr) == "" {
				continue
			}
			conds = true
			ok, err := matchProfiles(expr, active)
			if err != nil {
				return false, problemAt(e, fmt.Sprintf("%q is not a profile expression; %v", strings.TrimSpace(expr), err))
			}
			if ok {
				return true, nil
			}
		}
	}
	return !conds, nil
}

// isValueOf reports whether e is key or one of its list items.
func isValueOf(e *entry, key name) bool {
	rest, ok := e.hasPrefix(key)
	return ok && (len(rest) == 0 || len(rest) == 1 && rest[0].index)
}

// activeProfiles returns the given profiles, else those that the documents
// without a profile condition set with spring.profiles.active, else "default".
func activeProfiles(given []string, docs [][]*entry) []string {
	var active []string
	for _, s := range given {
		active = appendProfiles(active, s)
	}
	if len(active) > 0 {
		return active
	}
	for _, d := range docs {
		if ok, _ := activeDoc(d, nil); !ok || hasCondition(d) {
			continue
		}
		var set []string
		for _, e := range d {
			if isValueOf(e, keyActive) {
				set = appendProfiles(set, e.Value.Value)
			}
		}
		if set != nil {
			active = set
		}
	}
	if len(active) == 0 {
		return []string{"default"}
	}
	return active
}

func hasCondition(d []*entry) bool {
	return slices.ContainsFunc(d, func(e *entry) bool {
		return isValueOf(e, keyOnProfile) || isValueOf(e, keyLegacyProfile)
	})
}

// appendProfiles appends the comma-separated profiles in s, once each.
func appendProfiles(list []string, s string) []string {
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(list, p) {
			list = append(list, p)
		}
	}
	return list
}

// matchProfiles evaluates a Spring profile expression such as "prod",
// "!test" or "(eu | us) & prod" against the active profiles.
func matchProfiles(expr string, active []string) (bool, error) {
	x := profileExpr{s: expr, active: active}
	v, err := x.or()
	if err != nil {
		return false, err
	}
	if tok := x.next(); tok != "" {
		return false, fmt.Errorf("unexpected %q", tok)
	}
	return v, nil
}

// profileExpr is a recursive-descent parser over a profile expression:
// or = and {"|" and}; and = not {"&" not}; not = "!" not | "(" or ")" | name.
type profileExpr struct {
	s      string
	active []string
}

func (x *profileExpr) peek() string {
	s := strings.TrimLeft(x.s, " \t")
	if s == "" {
		return ""
	}
	if strings.ContainsRune("()&|!", rune(s[0])) {
		return s[:1]
	}
	i := strings.IndexAny(s, "()&|! \t")
	if i < 0 {
		i = len(s)
	}
	return s[:i]
}

func (x *profileExpr) next() string {
	tok := x.peek()
	x.s = strings.TrimLeft(x.s, " \t")[len(tok):]
	return tok
}

func (x *profileExpr) or() (bool, error) {
	v, err := x.and()
	for err == nil && x.peek() == "|" {
		x.next()
		var w bool
		w, err = x.and()
		v = v || w
	}
	return v, err
}

func (x *profileExpr) and() (bool, error) {
	v, err := x.not()
	for err == nil && x.peek() == "&" {
		x.next()
		var w bool
		w, err = x.not()
		v = v && w
	}
	return v, err
}

func (x *profileExpr) not() (bool, error) {
	switch tok := x.next(); tok {
	case "!":
		v, err := x.not()
		return !v, err
	case "(":
		v, err := x.or()
		if err == nil && x.next() != ")" {
			err = errors.New(`want a closing ")"`)
		}
		return v, err
	case "":
		return false, errors.New("want a profile name at the end")
	case ")", "&", "|":
		return false, fmt.Errorf("want a profile name before %q", tok)
	default:
		return slices.Contains(x.active, tok), nil
	}
}

// yamlLine matches the position in go.yaml.in/yaml/v3's errors.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// parseYAML flattens each document of a YAML stream the way Spring's
// YamlProcessor does: maps join keys with ".", lists add "[i]".
func parseYAML(where string, src int, data []byte) (docs [][]*entry, probs []*problem) {
	f := &flattener{where: where, src: src, budget: maxNodes}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := decode(dec, &doc)
		if err == io.EOF {
			break
		}
		if err != nil {
			line, msg := yamlError(err)
			if line = problemLine(data, msg, line); line > 0 {
				where = fmt.Sprintf("%s:%d", where, line)
			}
			return nil, append(f.probs, &problem{where: where, msg: msg, src: src, line: line})
		}
		f.entries = nil
		f.document(&doc)
		docs = append(docs, f.entries)
	}
	return docs, f.probs
}

// yamlError splits an error from the YAML parser into its line, if any,
// and what is wrong.
func yamlError(err error) (line int, msg string) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	return line, msg
}

// problemLine returns the line of a syntax error. The parser reports the
// line where the construct around the problem starts, which for a
// mis-indented key can be the first line of the file; so this finds the
// shortest run of lines from the start that fails in the same way, and
// the problem is on its last line. It gives up, returning line, after
// parsing a few megabytes.
func problemLine(data []byte, msg string, line int) int {
	budget := 4 << 20
	end := 0
	for n := 1; end < len(data); n++ {
		i := bytes.IndexByte(data[end:], '\n')
		if i < 0 {
			end = len(data)
		} else {
			end += i + 1
		}
		if n < line {
			continue
		}
		if budget -= end; budget < 0 {
			break
		}
		if err := decodeAll(data[:end]); err != nil {
			if _, m := yamlError(err); m == msg {
				return n
			}
		}
	}
	return line
}

// decodeAll parses every document in data.
func decodeAll(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := decode(dec, &n); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// decode is dec.Decode, with a panic in the parser turned into an error
// so that no input can stop the process.
func decode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot parse: %v", r)
		}
	}()
	return dec.Decode(n)
}

// maxNodes bounds the work of expanding aliases, which can grow a small
// file exponentially ("billion laughs").
const maxNodes = 1 << 17

// maxDepth bounds nesting through aliases, which the parser cannot see.
const maxDepth = 1000

type flattener struct {
	where   string
	src     int
	entries []*entry
	probs   []*problem
	budget  int
}

func (f *flattener) problem(line int, key, msg string) {
	f.probs = append(f.probs, &problem{
		where: fmt.Sprintf("%s:%d", f.where, line), key: key, msg: msg, src: f.src, line: line,
	})
}

func (f *flattener) emit(key, value string, line int, empty bool) {
	f.entries = append(f.entries, &entry{
		Value: Value{Key: key, Value: value, Where: fmt.Sprintf("%s:%d", f.where, line)},
		name:  parseName(key), layer: layerFile, src: f.src, line: line, empty: empty,
	})
}

func (f *flattener) document(doc *yaml.Node) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return
	}
	n := deref(doc.Content[0])
	switch {
	case n == nil:
	case n.Kind == yaml.MappingNode:
		f.mapping(n, "", 0)
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null":
		// An empty document.
	case n.Kind == yaml.SequenceNode:
		f.problem(n.Line, "", "want key: value lines at the top level, not a list")
	default:
		f.problem(n.Line, "", fmt.Sprintf("want key: value lines at the top level, not %q", n.Value))
	}
}

// deref follows aliases to the node they name, or returns nil.
func deref(n *yaml.Node) *yaml.Node {
	for range maxDepth {
		if n == nil || n.Kind != yaml.AliasNode {
			return n
		}
		n = n.Alias
	}
	return nil
}

// spend counts a node against the budget, and reports when it is spent.
func (f *flattener) spend(line, depth int) bool {
	f.budget--
	if f.budget == -1 {
		f.problem(line, "", fmt.Sprintf("more than %d values; do aliases expand too much?", maxNodes))
	}
	if depth > maxDepth && f.budget >= 0 {
		f.budget = -1
		f.problem(line, "", fmt.Sprintf("nested more than %d deep", maxDepth))
	}
	return f.budget < 0
}

// value flattens n, the value of key written at line.
func (f *flattener) value(n *yaml.Node, key string, line, depth int) {
	if f.spend(line, depth) {
		return
	}
	n = deref(n)
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		f.mapping(n, key, depth)
		if len(n.Content) == 0 {
			f.emit(key, "", line, false)
		}
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			f.emit(key, "", line, true)
		}
		for i, item := range n.Content {
			f.value(item, key+"["+strconv.Itoa(i)+"]", item.Line, depth+1)
		}
	case yaml.ScalarNode:
		v := n.Value
		if n.ShortTag() == "!!null" {
			v = ""
		}
		f.emit(key, v, line, false)
	}
}

func (f *flattener) mapping(n *yaml.Node, key string, depth int) {
	// Merged maps ("<<: *defaults") come first, so that the map's own keys
	// override them; of several merged maps, the first wins.
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !isMerge(k) {
			continue
		}
		v = deref(v)
		var maps []*yaml.Node
		switch {
		case v != nil && v.Kind == yaml.MappingNode:
			maps = []*yaml.Node{v}
		case v != nil && v.Kind == yaml.SequenceNode:
			for _, m := range slices.Backward(v.Content) {
				maps = append(maps, deref(m))
			}
		}
		for _, m := range maps {
			if m == nil || m.Kind != yaml.MappingNode {
				f.problem(k.Line, key, "<< wants a map or a list of maps to merge")
				break
			}
			if f.spend(k.Line, depth) {
				return
			}
			f.mapping(m, key, depth+1)
		}
		if len(maps) == 0 {
			f.problem(k.Line, key, "<< wants a map or a list of maps to merge")
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			continue
		}
		kn := deref(k)
		if kn == nil || kn.Kind != yaml.ScalarNode {
			f.problem(k.Line, key, "want a plain key, not a list or map")
			continue
		}
		if kn.Value == "" {
			f.problem(k.Line, key, "empty key")
			continue
		}
		child := joinKey(key, kn.Value)
		if line, dup := seen[kn.Value]; dup {
			f.problem(k.Line, child, fmt.Sprintf("already defined at line %d", line))
			continue
		}
		seen[kn.Value] = k.Line
		f.value(v, child, k.Line, depth+1)
	}
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

// parseProperties reads the Java properties format as Spring does, with
// documents separated by lines "#---" or "!---".
func parseProperties(where string, src int, data []byte) (docs [][]*entry, probs []*problem) {
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n"), "\n")
	var doc []*entry
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		at := fmt.Sprintf("%s:%d", where, lineNo)
		if s := strings.TrimRight(lines[i], " \t\f"); s == "#---" || s == "!---" {
			docs = append(docs, doc)
			doc = nil
			continue
		}
		s := trimSpace(lines[i])
		if s == "" || s[0] == '#' || s[0] == '!' {
			continue
		}
		for oddBackslashes(s) && i+1 < len(lines) {
			i++
			s = s[:len(s)-1] + trimSpace(lines[i])
		}
		if oddBackslashes(s) {
			s = s[:len(s)-1]
		}
		rawKey, rawValue, sep := splitProperty(s)
		key, err := unescape(rawKey)
		if err == nil {
			var value string
			value, err = unescape(rawValue)
			if err == nil && key == "" {
				err = fmt.Errorf("missing key before %q", sep)
			}
			if err == nil {
				doc = append(doc, &entry{
					Value: Value{Key: key, Value: value, Where: at},
					name:  parseName(key), layer: layerFile, src: src, line: lineNo,
				})
				continue
			}
		}
		probs = append(probs, &problem{where: at, msg: err.Error(), src: src, line: lineNo})
	}
	return append(docs, doc), probs
}

// trimSpace drops the leading white space the properties format ignores.
func trimSpace(s string) string { return strings.TrimLeft(s, " \t\f") }

func oddBackslashes(s string) bool {
	n := len(s) - len(strings.TrimRight(s, `\`))
	return n%2 == 1
}

// splitProperty splits a logical line at the first unescaped '=', ':' or
// white space, and returns the separator it used.
func splitProperty(s string) (key, value, sep string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '=', ':':
			return s[:i], trimSpace(s[i+1:]), s[i : i+1]
		case ' ', '\t', '\f':
			key, rest := s[:i], trimSpace(s[i:])
			if rest != "" && (rest[0] == '=' || rest[0] == ':') {
				return key, trimSpace(rest[1:]), rest[:1]
			}
			return key, rest, " "
		}
	}
	return s, "", ""
}

// unescape interprets the properties format's escapes: \t, \n, \r, \f,
// \uXXXX (with UTF-16 surrogate pairs), and \ before any other character.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			break
		}
		switch c = s[i]; c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, ok := hex4(s[i+1:])
			if !ok {
				return "", fmt.Errorf(`%q is not a \uXXXX escape`, `\u`+s[i+1:min(i+5, len(s))])
			}
			i += 4
			if utf16.IsSurrogate(r) && strings.HasPrefix(s[i+1:], `\u`) {
				if r2, ok := hex4(s[i+3:]); ok {
					if d := utf16.DecodeRune(r, r2); d != 0xFFFD {
						r = d
						i += 6
					}
				}
			}
			b.WriteRune(r)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(s[:4], 16, 32)
	return rune(n), err == nil
}
