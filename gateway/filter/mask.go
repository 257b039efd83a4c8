package filter

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// MaskConfig holds MaskResponse's arguments, as spelled in application.yml.
type MaskConfig struct {
	// Patterns (patterns.0, patterns.1 ...) are what to mask, in order: the
	// word "card" for the built-in payment card detector, or RE2 regular
	// expressions. Default: card.
	//
	// The card detector finds 13 to 19 digits, alone or in groups joined by
	// single spaces or dashes ("4111 1111 1111 1111", "4111-1111-..."), that
	// pass the Luhn check. Every such sequence of consecutive groups counts,
	// so "ref 12 4111 1111 1111 1111" is caught; it errs on the side of
	// masking (a digit is masked if any candidate masks it).
	//
	// A regular expression match must be at most 1 KiB long to be found
	// when it straddles two writes of the upstream; a match that straddles
	// an upstream flush (server-sent events) is not found. The card
	// detector has neither limit.
	Patterns []string
	// Replacement (replacement) is what a match becomes. Default (empty):
	// the match with every letter and digit but the last four replaced by
	// "*", so "4111 1111 1111 1111" reads "**** **** **** 1111" and a masked
	// body keeps its length. Otherwise a replacement in Java's syntax, as
	// for RewritePath: $1 or ${name} for groups of a regular expression, $0
	// for the whole match (the only group of "card"), \$ for a dollar sign.
	Replacement string
	// ContentTypes (content-types.0 ...) are the media types whose bodies
	// are masked; "type/*" and "type/*+suffix" match families. A response
	// without Content-Type is masked too. Default: application/json,
	// application/*+json, text/*.
	ContentTypes []string
	// MaxBytes (max-bytes, a DataSize such as 1MB; see ParseDataSize) caps
	// the body bytes masked per response; default (0) 1 MiB; negative means
	// no cap. What happens past it: see MaskResponse.
	MaxBytes int64
	// Logger, set by the config loader (not a YAML key), receives one
	// warning per response that could not be masked (over MaxBytes, or
	// compressed); nil means slog.Default(). Bodies and matches are never
	// logged.
	Logger *slog.Logger
}

// DefaultMaskMaxBytes is MaskConfig.MaxBytes when none is given: 1 MiB.
const DefaultMaskMaxBytes int64 = 1 << 20

// maskWindow is how far back a regular expression stage looks: the longest
// match that is found across two upstream writes.
const maskWindow = 1 << 10

// MaskResponse masks sensitive data, payment card numbers by default, in
// response bodies as they stream from the upstream. The body is processed in
// chunks as the upstream writes it; a stage holds back only the tail that
// may be the start of a match (a card that is not finished yet, or the last
// 1 KiB for a regular expression), so a number split across two writes is
// still masked. Content-Length is removed, since a replacement may change
// the length.
//
// Compressed bodies cannot be masked as they stream, so the filter removes
// Accept-Encoding from the upstream request: Go's transport then asks for
// gzip itself and decompresses transparently, or the upstream answers
// uncompressed. An upstream that compresses anyway gets the response
// refused (below).
//
// It fails closed, as a data-loss control should: data that cannot be
// masked never reaches the client unmasked.
//   - A body that is compressed (Content-Encoding other than identity) is
//     answered with 502 Bad Gateway instead, and logged.
//   - A body longer than MaxBytes is cut: if nothing was sent yet the
//     client gets 502 Bad Gateway; otherwise the response is aborted
//     (http.ErrAbortHandler), so the client sees a broken response rather
//     than a short one that looks complete. Either way it is logged. Raise
//     MaxBytes, or set it negative, for routes with large bodies.
//
// Switchboard's own filter (Spring has none); expanded args only:
// patterns.0 ..., replacement, content-types.0 ..., max-bytes.
func MaskResponse(cfg MaskConfig) (Filter, error) {
	m, err := newMasker(cfg)
	if err != nil {
		return nil, err
	}
	pool := &sync.Pool{New: func() any { return m.newWriter() }}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := r.Header["Accept-Encoding"]; ok {
				r = withHeader(r)
				delete(r.Header, "Accept-Encoding")
			}
			mw := pool.Get().(*maskWriter)
			mw.rw, mw.r = w, r
			next.ServeHTTP(mw, r)
			mw.finish()
			aborted := mw.aborted
			mw.reset()
			pool.Put(mw)
			if aborted {
				panic(http.ErrAbortHandler)
			}
		})
	}, nil
}

// masker is a compiled MaskConfig, shared by all requests.
type masker struct {
	stages       []maskMatcher
	contentTypes []string // lower case
	maxBytes     int64    // < 0: no cap
	log          *slog.Logger
}

func newMasker(cfg MaskConfig) (*masker, error) {
	m := &masker{maxBytes: cfg.MaxBytes, log: cfg.Logger}
	if m.maxBytes == 0 {
		m.maxBytes = DefaultMaskMaxBytes
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	patterns := cfg.Patterns
	if len(patterns) == 0 {
		patterns = []string{"card"}
	}
	var errs []error
	for i, p := range patterns {
		if p == "card" {
			c := &cardMatcher{}
			if cfg.Replacement != "" {
				tmpl, err := javaReplacement(cfg.Replacement, cardNoGroups)
				if err != nil {
					errs = append(errs, fmt.Errorf("replacement %q: %v (card has only $0)", cfg.Replacement, err))
					continue
				}
				c.repl = &tmpl
			}
			m.stages = append(m.stages, c)
			continue
		}
		re, err := regexp.Compile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("patterns[%d] %q: %v", i, p, unwrapRegexpError(err)))
			continue
		}
		rm := &regexpMatcher{re: re}
		if cfg.Replacement != "" {
			tmpl, err := javaReplacement(cfg.Replacement, re)
			if err != nil {
				errs = append(errs, fmt.Errorf("replacement %q for patterns[%d]: %v", cfg.Replacement, i, err))
				continue
			}
			rm.repl = &tmpl
		}
		m.stages = append(m.stages, rm)
	}
	types := cfg.ContentTypes
	if len(types) == 0 {
		types = []string{"application/json", "application/*+json", "text/*"}
	}
	for i, t := range types {
		t = strings.ToLower(strings.TrimSpace(t))
		typ, sub, ok := strings.Cut(t, "/")
		if !ok || typ == "" || sub == "" || strings.ContainsAny(t, " ;,") {
			errs = append(errs, fmt.Errorf("content-types[%d] %q is not a media type; want e.g. application/json or text/*", i, t))
			continue
		}
		m.contentTypes = append(m.contentTypes, t)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// cardNoGroups checks replacements of the card detector: only $0 exists.
var cardNoGroups = regexp.MustCompile(`x`)

// masks reports whether bodies of Content-Type ct are masked.
func (m *masker) masks(ct string) bool {
	if ct == "" {
		return true // unknown is treated as maskable: fail closed
	}
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	for _, p := range m.contentTypes {
		if mediaTypeMatches(p, ct) {
			return true
		}
	}
	return false
}

// mediaTypeMatches matches ct against "type/sub", "type/*" or
// "type/*+suffix", ignoring case.
func mediaTypeMatches(pattern, ct string) bool {
	ptyp, psub, _ := strings.Cut(pattern, "/")
	typ, sub, ok := strings.Cut(ct, "/")
	if !ok || !strings.EqualFold(ptyp, typ) {
		return false
	}
	switch {
	case psub == "*":
		return true
	case strings.HasPrefix(psub, "*+"):
		return len(sub) > len(psub)-1 && strings.EqualFold(sub[len(sub)-(len(psub)-1):], psub[1:])
	default:
		return strings.EqualFold(psub, sub)
	}
}

func (m *masker) newWriter() *maskWriter {
	w := &maskWriter{m: m, stages: make([]maskStage, len(m.stages))}
	for i := range w.stages {
		w.stages[i].matcher = m.stages[i]
	}
	return w
}

// A maskMatcher finds and replaces matches in a stream, one stage of the
// pipeline. mask appends to dst the output for b and returns it with how
// many bytes of b it consumed; the rest of b is held back and given again,
// with more bytes after it, on the next call. With end, it consumes all of b.
// With flush, the upstream flushed: hold back as little as possible.
type maskMatcher interface {
	mask(dst, b []byte, st *maskStage, flush, end bool) ([]byte, int)
}

// maskStage is one stage's state for one response.
type maskStage struct {
	matcher maskMatcher
	pending []byte      // held back from the last call
	out     []byte      // output buffer, reused
	groups  []cardGroup // scratch for cardMatcher: the groups of a run
	cands   []cardGroup // scratch for cardMatcher: the candidates of a run
	marks   []bool      // scratch for cardMatcher: masked bytes of a run
	skip    int         // bytes at the start of pending already sent
}

type cardGroup struct{ start, end int }

// maskWriter masks the body of one response. It is used by one request at a
// time and pooled per MaskResponse filter.
type maskWriter struct {
	m      *masker
	stages []maskStage

	rw         http.ResponseWriter
	r          *http.Request
	status     int   // status to send; 0 until WriteHeader
	active     bool  // the body is being masked
	headerSent bool  // rw.WriteHeader was called
	refused    bool  // body dropped: the response was answered with 502
	aborted    bool  // cut at MaxBytes after something was sent
	in         int64 // body bytes received
}

func (w *maskWriter) reset() {
	for i := range w.stages {
		s := &w.stages[i]
		s.pending = s.pending[:0]
		s.out = s.out[:0]
		s.groups = s.groups[:0]
		s.cands = s.cands[:0]
		s.marks = s.marks[:0]
		s.skip = 0
		if cap(s.pending) > 64<<10 {
			s.pending = nil
		}
		if cap(s.out) > 64<<10 {
			s.out = nil
		}
	}
	w.rw, w.r = nil, nil
	w.status = 0
	w.active, w.headerSent, w.refused, w.aborted = false, false, false, false
	w.in = 0
}

func (w *maskWriter) Header() http.Header { return w.rw.Header() }

// WriteHeader decides whether the body is masked. The header of a masked
// response is sent with the first masked bytes, so that a body that cannot
// be masked can still be answered with a clean 502.
func (w *maskWriter) WriteHeader(status int) {
	if status < 200 {
		w.rw.WriteHeader(status) // informational: passes through
		return
	}
	if w.status != 0 {
		if w.headerSent {
			w.rw.WriteHeader(status) // superfluous: net/http reports it
		}
		return
	}
	w.status = status
	h := w.rw.Header()
	w.active = status != http.StatusNoContent && status != http.StatusNotModified &&
		w.r.Method != http.MethodHead && w.m.masks(h.Get("Content-Type"))
	if !w.active {
		w.sendHeader()
		return
	}
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		w.refuse("upstream sent a compressed body (Content-Encoding " + ce + ") that cannot be masked")
		return
	}
	delete(h, "Content-Length")
}

func (w *maskWriter) sendHeader() {
	if !w.headerSent {
		w.headerSent = true
		w.rw.WriteHeader(w.status)
	}
}

// refuse answers 502 instead of the upstream's response, which is dropped.
func (w *maskWriter) refuse(why string) {
	w.refused = true
	w.m.logf(w.r, why)
	h := w.rw.Header()
	clear(h)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.status = http.StatusBadGateway
	w.headerSent = true
	w.rw.WriteHeader(http.StatusBadGateway)
	w.rw.Write([]byte("upstream response could not be masked\n"))
}

// errMaskCut is returned to the upstream copy when a body is cut.
var errMaskCut = errors.New("filter: MaskResponse cut the response at its MaxBytes")

func (w *maskWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	switch {
	case w.refused:
		return len(p), nil
	case w.aborted:
		return 0, errMaskCut
	case !w.active:
		return w.rw.Write(p)
	}
	w.in += int64(len(p))
	if w.m.maxBytes >= 0 && w.in > w.m.maxBytes {
		w.cut()
		if w.refused {
			return len(p), nil
		}
		return 0, errMaskCut
	}
	return len(p), w.run(p, false, false)
}

// cut stops a body at MaxBytes: a clean 502 if nothing was sent, else an
// aborted response.
func (w *maskWriter) cut() {
	why := fmt.Sprintf("response body is over MaskResponse's max-bytes %d", w.m.maxBytes)
	if !w.headerSent {
		w.refuse(why)
		return
	}
	w.aborted = true
	w.m.logf(w.r, why+"; response aborted")
}

// run feeds p through the stages and writes what comes out.
func (w *maskWriter) run(p []byte, flush, end bool) error {
	in := p
	for i := range w.stages {
		s := &w.stages[i]
		s.pending = append(s.pending, in...)
		var n int
		s.out, n = s.matcher.mask(s.out[:0], s.pending, s, flush, end)
		s.pending = s.pending[:copy(s.pending, s.pending[n:])]
		in = s.out
	}
	if len(in) == 0 {
		return nil
	}
	w.sendHeader()
	_, err := w.rw.Write(in)
	return err
}

// finish sends what the stages held back, once the upstream is done.
func (w *maskWriter) finish() {
	if w.status == 0 || !w.active || w.refused || w.aborted {
		return
	}
	w.run(nil, false, true)
	w.sendHeader()
}

// FlushError sends what can be sent and flushes; http.ResponseController
// uses it. The card detector still holds back a number that is not finished.
func (w *maskWriter) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.active && !w.refused && !w.aborted {
		if err := w.run(nil, true, false); err != nil {
			return err
		}
		w.sendHeader()
	}
	return http.NewResponseController(w.rw).Flush()
}

// Flush implements http.Flusher.
func (w *maskWriter) Flush() { w.FlushError() }

// Hijack hands over the connection for upgrades, which are not masked.
func (w *maskWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.rw).Hijack()
	if err == nil {
		w.active = false
		w.status = http.StatusSwitchingProtocols
		w.headerSent = true
	}
	return c, brw, err
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *maskWriter) Unwrap() http.ResponseWriter { return w.rw }

func (m *masker) logf(r *http.Request, why string) {
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	if !m.log.Enabled(ctx, slog.LevelWarn) {
		return
	}
	attrs := []slog.Attr{slog.String("reason", why)}
	if r != nil {
		attrs = append(attrs, slog.String("method", r.Method), slog.String("path", r.URL.Path))
		if id := CorrelationID(r); id != "" {
			attrs = append(attrs, slog.String("correlation_id", id))
		}
	}
	m.log.LogAttrs(ctx, slog.LevelWarn, "MaskResponse refused a response", attrs...)
}

// regexpMatcher masks the matches of a regular expression.
type regexpMatcher struct {
	re   *regexp.Regexp
	repl *string // Go template converted from the Java replacement; nil: default mask
}

func (m *regexpMatcher) mask(dst, b []byte, _ *maskStage, flush, end bool) ([]byte, int) {
	cut := len(b)
	if !flush && !end {
		// Matches that start in the last maskWindow bytes may go on in
		// the next write: hold them back.
		cut = len(b) - maskWindow
		if cut <= 0 {
			return dst, 0
		}
	}
	i := 0
	for _, loc := range m.re.FindAllSubmatchIndex(b, -1) {
		s, e := loc[0], loc[1]
		if s >= cut {
			break
		}
		if s == e || s < i {
			continue
		}
		dst = append(dst, b[i:s]...)
		if m.repl != nil {
			dst = m.re.Expand(dst, []byte(*m.repl), b, loc)
		} else {
			dst = maskKeepLast4(dst, b[s:e])
		}
		i = e
	}
	n := max(cut, i)
	dst = append(dst, b[i:n]...)
	return dst, n
}

// maskKeepLast4 appends text with every letter and digit but the last four
// replaced by "*". ASCII text keeps its length.
func maskKeepLast4(dst, text []byte) []byte {
	total := 0
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRune(text[i:])
		if maskableRune(r) {
			total++
		}
		i += size
	}
	seen := 0
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRune(text[i:])
		if maskableRune(r) {
			seen++
			if seen <= total-4 {
				dst = append(dst, '*')
				i += size
				continue
			}
		}
		dst = append(dst, text[i:i+size]...)
		i += size
	}
	return dst
}

func maskableRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// Card numbers have 13 to 19 digits; grouped, they span at most 19 digits
// and 18 separators.
const (
	cardMinDigits = 13
	cardMaxDigits = 19
	cardMaxSpan   = cardMaxDigits + cardMaxDigits - 1
)

// cardMatcher masks payment card numbers: 13 to 19 digits, alone or in
// groups joined by single spaces or dashes, that pass the Luhn check.
//
// It reads the body as runs: digit groups joined by single separators. Every
// sequence of consecutive groups of a run with 13 to 19 digits that passes
// the Luhn check is a candidate, and a digit is masked if any candidate masks
// it (all its digits but the last four). Taking every candidate, rather than
// the first that fits, matters: a false candidate that ends inside a real
// card ("12 12 12 12 12 12 12 4111 1111 1111 1111") must not leave the rest
// of that card visible. Spurious candidates only mask more digits.
//
// A candidate spans at most cardMaxSpan bytes, so the output for a byte is
// known once cardMaxSpan bytes after it have arrived: a long run is masked
// as it streams, a stage holds back less than 2*cardMaxSpan bytes (plus, for
// a replacement, the candidates that overlap the cut), and the output does
// not depend on where the upstream's writes split the body.
type cardMatcher struct {
	repl *string // Go template with at most ${0}; nil: keep the last four digits
}

// cardMaxHold bounds what a replacement holds back while overlapping
// candidates chain on; past it a chain is replaced in two parts.
const cardMaxHold = 4 << 10

func (m *cardMatcher) mask(dst, b []byte, st *maskStage, _, end bool) ([]byte, int) {
	from := st.skip // b[:from] was sent already; it is context for candidates
	st.skip = 0
	for pos := 0; ; {
		d := cardIndexDigit(b, pos)
		if d < 0 {
			return append(dst, b[from:]...), len(b)
		}
		// The run of groups from d, up to j.
		groups := st.groups[:0]
		j := d
		for {
			start := j
			for j < len(b) && cardIsDigit(b[j]) {
				j++
			}
			groups = append(groups, cardGroup{start, j})
			if j+1 < len(b) && cardIsSep(b[j]) && cardIsDigit(b[j+1]) {
				j++
				continue
			}
			break
		}
		st.groups = groups
		open := !end && (j == len(b) || j == len(b)-1 && cardIsSep(b[j]))
		// b[d:cut] is decided: no candidate that touches it is unknown.
		cut := j
		if open {
			for _, g := range groups {
				if g.start+cardMaxSpan >= len(b) {
					cut = g.start
					break
				}
			}
		}
		cands := st.cands[:0]
		for gi := range groups {
			digits := 0
			for gj := gi; gj < len(groups); gj++ {
				digits += groups[gj].end - groups[gj].start
				if digits > cardMaxDigits {
					break
				}
				if digits >= cardMinDigits && luhnValid(b, groups[gi:gj+1]) {
					cands = append(cands, cardGroup{groups[gi].start, groups[gj].end})
				}
			}
		}
		st.cands = cands
		if from < d {
			dst = append(dst, b[from:d]...)
			from = d
		}
		if m.repl == nil {
			dst = m.maskDigits(dst, b, st, d, j, from, cut)
		} else {
			dst, cut = m.replace(dst, b, st, from, cut, open)
		}
		from = max(from, cut)
		if open {
			// Hold back from the first group a candidate reaching past the
			// cut can start at.
			hold := cut
			for _, g := range groups {
				if g.start+cardMaxSpan >= cut {
					hold = min(g.start, cut)
					break
				}
			}
			st.skip = from - hold
			return dst, hold
		}
		pos = j
	}
}

// maskDigits appends b[from:cut] of the run b[d:j] with every digit that a
// candidate masks replaced by "*".
func (m *cardMatcher) maskDigits(dst, b []byte, st *maskStage, d, j, from, cut int) []byte {
	if from >= cut {
		return dst
	}
	marks := st.marks[:0]
	marks = append(marks, make([]bool, j-d)...)
	st.marks = marks
	for _, c := range st.cands {
		if c.start >= cut {
			break
		}
		total := 0
		for p := c.start; p < c.end; p++ {
			if cardIsDigit(b[p]) {
				total++
			}
		}
		n := 0
		for p := c.start; p < c.end && n < total-4; p++ {
			if cardIsDigit(b[p]) {
				marks[p-d] = true
				n++
			}
		}
	}
	for p := from; p < cut; p++ {
		if marks[p-d] {
			dst = append(dst, '*')
		} else {
			dst = append(dst, b[p])
		}
	}
	return dst
}

// replace appends b[from:cut] with each chain of overlapping candidates
// replaced by the template. A chain that crosses the cut of an open run is
// held back whole, up to cardMaxHold bytes; the cut it used is returned.
func (m *cardMatcher) replace(dst, b []byte, st *maskStage, from, cut int, open bool) ([]byte, int) {
	// Merge overlapping candidates; they come sorted by start.
	spans := st.cands[:0]
	for _, c := range st.cands {
		if n := len(spans); n > 0 && c.start < spans[n-1].end {
			spans[n-1].end = max(spans[n-1].end, c.end)
			continue
		}
		spans = append(spans, c)
	}
	if open {
		for _, s := range spans {
			if s.start < cut && s.end > cut && cut-s.start <= cardMaxHold && s.start >= from {
				cut = s.start
				break
			}
		}
	}
	for _, s := range spans {
		if s.start >= cut {
			break
		}
		if s.end <= from {
			continue
		}
		if from < s.start {
			dst = append(dst, b[from:s.start]...)
		}
		end := min(s.end, cut)
		dst = cardNoGroups.Expand(dst, []byte(*m.repl), b, []int{max(s.start, from), end})
		from = end
	}
	if from < cut {
		dst = append(dst, b[from:cut]...)
	}
	return dst, cut
}

// luhnValid reports whether the digits of groups pass the Luhn check.
func luhnValid(b []byte, groups []cardGroup) bool {
	sum, double := 0, false
	for g := len(groups) - 1; g >= 0; g-- {
		for i := groups[g].end - 1; i >= groups[g].start; i-- {
			d := int(b[i] - '0')
			if double {
				d *= 2
				if d > 9 {
					d -= 9
				}
			}
			sum += d
			double = !double
		}
	}
	return sum%10 == 0
}

func cardIndexDigit(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		if cardIsDigit(b[i]) {
			return i
		}
	}
	return -1
}

func cardIsDigit(c byte) bool { return '0' <= c && c <= '9' }
func cardIsSep(c byte) bool   { return c == ' ' || c == '-' }
