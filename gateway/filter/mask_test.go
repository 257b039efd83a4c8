package filter

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// basicBuffer is a ResponseWriter that keeps the body, for driving a
// maskWriter without a server.
type basicBuffer struct {
	h       http.Header
	code    int
	body    bytes.Buffer
	flushes int
}

func (w *basicBuffer) Header() http.Header { return w.h }
func (w *basicBuffer) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *basicBuffer) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	return w.body.Write(p)
}
func (w *basicBuffer) Flush() { w.flushes++ }

// basicMaskStream masks a JSON body written in chunks, flushing after each
// when flush is set, and returns what the client gets.
func basicMaskStream(t testing.TB, m *masker, chunks [][]byte, flush bool) []byte {
	t.Helper()
	out := &basicBuffer{h: http.Header{"Content-Type": {"application/json"}}}
	w := m.newWriter()
	w.rw, w.r = out, httptest.NewRequest("GET", "/", nil)
	w.WriteHeader(http.StatusOK)
	for _, c := range chunks {
		if _, err := w.Write(c); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if flush {
			w.Flush()
		}
	}
	w.finish()
	if w.aborted || w.refused {
		t.Fatalf("masking failed: aborted %v refused %v", w.aborted, w.refused)
	}
	return out.body.Bytes()
}

func basicMasker(t testing.TB, cfg MaskConfig) *masker {
	t.Helper()
	m, err := newMasker(cfg)
	if err != nil {
		t.Fatalf("newMasker: %v", err)
	}
	return m
}

var basicCardCases = []struct{ name, in, want string }{
	{"visa grouped", "card 4111 1111 1111 1111 ok", "card **** **** **** 1111 ok"},
	{"visa dashes", "4111-1111-1111-1111", "****-****-****-1111"},
	{"plain digits", `{"pan":"4111111111111111"}`, `{"pan":"************1111"}`},
	{"json number", `{"pan":5555555555554444,"n":1}`, `{"pan":************4444,"n":1}`},
	{"amex 15", "3782 822463 10005", "**** ****** *0005"},
	{"two cards", "[4242424242424242, 6011111111111117]", "[************4242, ************1117]"},
	{"luhn fails", "4111111111111112", "4111111111111112"},
	{"too short", "411111111111", "411111111111"},
	{"too long", "41111111111111111111", "41111111111111111111"},
	{"phone", "call 555-123-4567 now", "call 555-123-4567 now"},
	{"date", "2024-01-01 12:00", "2024-01-01 12:00"},
	{"group before", "ref 99 4111 1111 1111 1111", "ref 99 **** **** **** 1111"},
	{"false candidate inside a card", "12 12 12 12 12 12 12 4111 1111 1111 1111", "** ** ** ** ** ** ** **** **** **** 1111"},
	{"group after", "4111 1111 1111 1111 12", "**** **** **** 1111 12"},
	{"double space splits", "4111  1111 1111 1111", "4111  1111 1111 1111"},
	{"trailing separator", "4111111111111111- x", "************1111- x"},
	{"no digits", "hello, world", "hello, world"},
	{"empty", "", ""},
}

func TestMaskCards(t *testing.T) {
	t.Parallel()
	m := basicMasker(t, MaskConfig{})
	for _, tt := range basicCardCases {
		got := basicMaskStream(t, m, [][]byte{[]byte(tt.in)}, false)
		if string(got) != tt.want {
			t.Errorf("%s: mask(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestMaskAcrossWrites(t *testing.T) {
	t.Parallel()
	m := basicMasker(t, MaskConfig{})
	for _, tt := range basicCardCases {
		for size := 1; size <= len(tt.in); size++ {
			var chunks [][]byte
			for i := 0; i < len(tt.in); i += size {
				chunks = append(chunks, []byte(tt.in[i:min(i+size, len(tt.in))]))
			}
			for _, flush := range []bool{false, true} {
				if got := basicMaskStream(t, m, chunks, flush); string(got) != tt.want {
					t.Errorf("%s in writes of %d (flush %v): got %q, want %q", tt.name, size, flush, got, tt.want)
				}
			}
		}
	}
}

func TestMaskLongRuns(t *testing.T) {
	t.Parallel()
	// A run of groups much longer than a card, with a card inside, written
	// in small pieces: decided as it streams, same result as at once.
	// Candidates made of the small groups around the card overlap it; all
	// of them are masked, so no part of the card shows but its last four
	// digits at most.
	prefix := strings.Repeat("12 ", 200)
	in := prefix + "4111 1111 1111 1111" + strings.Repeat(" 7", 300) + "."
	m := basicMasker(t, MaskConfig{})
	whole := basicMaskStream(t, m, [][]byte{[]byte(in)}, false)
	card := whole[len(prefix) : len(prefix)+19]
	if n := bytes.Count(card, []byte("1")) + bytes.Count(card, []byte("4")); n > 4 {
		t.Fatalf("card in a long run shows %d digits: %q", n, card)
	}
	var chunks [][]byte
	for i := 0; i < len(in); i += 7 {
		chunks = append(chunks, []byte(in[i:min(i+7, len(in))]))
	}
	if got := basicMaskStream(t, m, chunks, false); !bytes.Equal(got, whole) {
		t.Errorf("long run in writes of 7 differs from at once")
	}
	// What a stage holds back stays small: a digit run is decided within
	// cardMaxSpan bytes.
	w := m.newWriter()
	w.rw, w.r = &basicBuffer{h: http.Header{}}, httptest.NewRequest("GET", "/", nil)
	w.WriteHeader(200)
	for range 1000 {
		w.Write([]byte("1234 5678 "))
		if held := len(w.stages[0].pending); held > 2*cardMaxSpan {
			t.Fatalf("card stage holds %d bytes of a long run", held)
		}
	}
}

func TestMaskPatterns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  MaskConfig
		in   string
		want string
	}{
		{"regexp, default replacement", MaskConfig{Patterns: []string{`\b\d{3}-\d{2}-\d{4}\b`}},
			"ssn 123-45-6789, card 4111111111111111", "ssn ***-**-6789, card 4111111111111111"},
		{"card and regexp", MaskConfig{Patterns: []string{"card", `\b\d{3}-\d{2}-\d{4}\b`}},
			"ssn 123-45-6789, card 4111111111111111", "ssn ***-**-6789, card ************1111"},
		{"named group replacement", MaskConfig{Patterns: []string{`(?<user>[a-z]+)@example\.com`}, Replacement: `$\{user}@***`},
			`{"mail":"bob@example.com"}`, `{"mail":"bob@***"}`},
		{"card replacement", MaskConfig{Replacement: "[card]"}, "pay 4111 1111 1111 1111.", "pay [card]."},
		{"card replacement with $0", MaskConfig{Replacement: "<$0>"}, "4111111111111111", "<4111111111111111>"},
		{"letters masked too", MaskConfig{Patterns: []string{`secret-\w+`}}, "secret-abcdef", "******-**cdef"},
		{"unicode", MaskConfig{Patterns: []string{`name=\S+`}}, "name=Zoë-Ångström", "****=***-****tröm"},
		{"empty matches ignored", MaskConfig{Patterns: []string{`x*`}}, "abc", "abc"},
	}
	for _, tt := range tests {
		m := basicMasker(t, tt.cfg)
		got := basicMaskStream(t, m, [][]byte{[]byte(tt.in)}, false)
		if string(got) != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
		// Without flushes, writes of any size give the same, for matches
		// shorter than the window.
		var chunks [][]byte
		for i := 0; i < len(tt.in); i += 3 {
			chunks = append(chunks, []byte(tt.in[i:min(i+3, len(tt.in))]))
		}
		if got := basicMaskStream(t, m, chunks, false); string(got) != tt.want {
			t.Errorf("%s in writes of 3: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMaskConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  MaskConfig
		want string
	}{
		{MaskConfig{Patterns: []string{"card", "a(?=b)"}}, `patterns[1] "a(?=b)": invalid or unsupported Perl syntax`},
		{MaskConfig{Replacement: "$1"}, "(card has only $0)"},
		{MaskConfig{Patterns: []string{`(a)`}, Replacement: "${b}"}, `no group named "b"`},
		{MaskConfig{ContentTypes: []string{"json"}}, `content-types[0] "json" is not a media type`},
	}
	for _, tt := range tests {
		_, err := MaskResponse(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("MaskResponse(%+v) error = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestMaskResponseHeaders(t *testing.T) {
	t.Parallel()
	f := basicMust(t)(MaskResponse(MaskConfig{Logger: slog.New(slog.DiscardHandler)}))
	body := `{"pan":"4111111111111111"}`
	tests := []struct {
		name, contentType, encoding, method string
		status                              int
		wantStatus                          int
		wantBody                            string
		wantLength                          bool // Content-Length kept
	}{
		{"json", "application/json; charset=utf-8", "", "GET", 200, 200, `{"pan":"************1111"}`, false},
		{"problem+json", "application/problem+json", "", "GET", 400, 400, `{"pan":"************1111"}`, false},
		{"text", "text/plain", "", "GET", 200, 200, `{"pan":"************1111"}`, false},
		{"no content type", "", "", "GET", 200, 200, `{"pan":"************1111"}`, false},
		{"binary untouched", "application/octet-stream", "", "GET", 200, 200, body, true},
		{"identity encoding", "application/json", "identity", "GET", 200, 200, `{"pan":"************1111"}`, false},
		{"compressed refused", "application/json", "br", "GET", 200, 502, "upstream response could not be masked\n", false},
		{"head untouched", "application/json", "", "HEAD", 200, 200, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", nil)
			r.Header.Set("Accept-Encoding", "gzip, br")
			var sawEncoding string
			rec, _ := basicServe(t, f, r, func(w http.ResponseWriter, r *http.Request) {
				sawEncoding = r.Header.Get("Accept-Encoding")
				h := w.Header()
				if tt.contentType != "" {
					h.Set("Content-Type", tt.contentType)
				}
				if tt.encoding != "" {
					h.Set("Content-Encoding", tt.encoding)
				}
				h.Set("Content-Length", "26")
				h.Set("Set-Cookie", "s=1")
				w.WriteHeader(tt.status)
				if r.Method != "HEAD" {
					io.WriteString(w, body)
				}
			})
			if sawEncoding != "" {
				t.Errorf("upstream got Accept-Encoding %q, want it removed", sawEncoding)
			}
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
			if got := rec.Header().Get("Content-Length") != ""; got != tt.wantLength {
				t.Errorf("Content-Length kept = %v, want %v", got, tt.wantLength)
			}
			if tt.wantStatus == 502 && rec.Header().Get("Set-Cookie") != "" {
				t.Error("the refused response kept the upstream's headers")
			}
		})
	}
}

func TestMaskThroughProxyWithGzipUpstream(t *testing.T) {
	t.Parallel()
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			io.WriteString(w, `{"pan":"4111 1111 1111 1111"}`)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, `{"pan":"4111 1111 1111 1111"}`)
		zw.Close()
	})
	gw := basicGateway(t, backend, basicMust(t)(MaskResponse(MaskConfig{})))
	req, _ := http.NewRequest("GET", gw+"/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "" || string(got) != `{"pan":"**** **** **** 1111"}` {
		t.Errorf("got %d, Content-Encoding %q, body %q", resp.StatusCode, resp.Header.Get("Content-Encoding"), got)
	}
}

func TestMaskStreamsEvents(t *testing.T) {
	t.Parallel()
	next := make(chan struct{})
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: 4111 1111 ")
		io.WriteString(w, "1111 1111\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-next:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "data: done\n\n")
	})
	gw := basicGateway(t, backend, basicMust(t)(MaskResponse(MaskConfig{})))
	resp, err := http.Get(gw)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: **** **** **** 1111\n" {
		t.Fatalf("first event = %q, %v; want it masked and delivered before the stream ends", line, err)
	}
	close(next)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: done\n\n" {
		t.Errorf("rest = %q", rest)
	}
}

func TestMaskMaxBytes(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	f := basicMust(t)(MaskResponse(MaskConfig{MaxBytes: 64, Logger: logger}))

	// Over the cap before anything was sent: a clean 502.
	rec, _ := basicServe(t, f, httptest.NewRequest("GET", "/big", nil), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(bytes.Repeat([]byte("4"), 100))
	})
	if rec.Code != http.StatusBadGateway || strings.Contains(rec.Body.String(), "4444") {
		t.Errorf("over the cap at once: %d %q, want 502 without the body", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "max-bytes 64") || strings.Contains(logs.String(), "4444") {
		t.Errorf("log = %q, want the cap and no body", logs.String())
	}

	// Over the cap after the response started: aborted, never unmasked.
	more := make(chan struct{})
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"a":"hello",`)
		http.NewResponseController(w).Flush()
		select {
		case <-more:
		case <-r.Context().Done():
			return
		}
		for range 10 {
			io.WriteString(w, `"pan":"4111111111111111",`)
		}
	})
	gw := basicGateway(t, backend, f)
	resp, err := http.Get(gw)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, len(`{"a":"hello",`))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != `{"a":"hello",` {
		t.Fatalf("first bytes %q, %v", first, err)
	}
	close(more)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Errorf("body read completely (%q); want the response aborted", got)
	}
	if bytes.Contains(got, []byte("4111111111111111")) {
		t.Errorf("unmasked card reached the client: %q", got)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("read error: %v", err)
	}

	// Negative: no cap.
	f = basicMust(t)(MaskResponse(MaskConfig{MaxBytes: -1}))
	rec, _ = basicServe(t, f, httptest.NewRequest("GET", "/", nil), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(bytes.Repeat([]byte("x"), 2<<20))
	})
	if rec.Code != 200 || rec.Body.Len() != 2<<20 {
		t.Errorf("no cap: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestMaskAbortPanicsWithoutProxy(t *testing.T) {
	t.Parallel()
	// A handler that ignores write errors: the filter itself aborts.
	f := basicMust(t)(MaskResponse(MaskConfig{MaxBytes: 10, Logger: slog.New(slog.DiscardHandler)}))
	h := f(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello ")
		w.(http.Flusher).Flush()
		io.WriteString(w, "4111111111111111")
	}))
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", p)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestLuhnValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		digits string
		want   bool
	}{
		{"4111111111111111", true},
		{"4111111111111112", false},
		{"378282246310005", true},
		{"79927398713", true},
		{"79927398710", false},
		{"0", true},
	}
	for _, tt := range tests {
		if got := luhnValid([]byte(tt.digits), []cardGroup{{0, len(tt.digits)}}); got != tt.want {
			t.Errorf("luhnValid(%s) = %v, want %v", tt.digits, got, tt.want)
		}
	}
	// Groups are read as one number.
	b := []byte("4111 1111 1111 1111")
	if !luhnValid(b, []cardGroup{{0, 4}, {5, 9}, {10, 14}, {15, 19}}) {
		t.Error("luhnValid over groups = false")
	}
}

func FuzzMaskStream(f *testing.F) {
	for _, tt := range basicCardCases {
		f.Add([]byte(tt.in), []byte{3, 1, 7})
	}
	f.Add([]byte(strings.Repeat("1234 ", 40)+"4111 1111 1111 1111"), []byte{50, 2, 255})
	f.Fuzz(func(t *testing.T, in, cuts []byte) {
		m := basicMasker(t, MaskConfig{MaxBytes: -1})
		whole := basicMaskStream(t, m, [][]byte{in}, false)
		// Cut the input where cuts says.
		var chunks [][]byte
		rest := in
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if len(cuts) > 0 {
				n = min(int(cuts[i%len(cuts)])+1, len(rest))
			}
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		flush := len(cuts) > 0 && cuts[0]%2 == 1
		chunked := basicMaskStream(t, m, chunks, flush)
		if !bytes.Equal(whole, chunked) {
			t.Fatalf("output depends on how the body is split:\nwhole   %q\nchunked %q", whole, chunked)
		}
		if len(whole) != len(in) {
			t.Fatalf("length %d, want %d", len(whole), len(in))
		}
		for i := range in {
			if whole[i] != in[i] && !(cardIsDigit(in[i]) && whole[i] == '*') {
				t.Fatalf("byte %d changed from %q to %q", i, in[i], whole[i])
			}
		}
	})
}

func BenchmarkMaskResponse(b *testing.B) {
	m := basicMasker(b, MaskConfig{MaxBytes: -1})
	chunk := bytes.Repeat([]byte(`{"id":12345,"pan":"4111 1111 1111 1111","name":"Ford Prefect","ts":"2024-01-01T00:00:00Z"},`), 350)
	w := m.newWriter()
	out := &basicBuffer{h: http.Header{"Content-Type": {"application/json"}}}
	r := httptest.NewRequest("GET", "/", nil)
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		out.body.Reset()
		out.code = 0
		w.rw, w.r = out, r
		w.WriteHeader(200)
		w.Write(chunk)
		w.finish()
		w.reset()
	}
}
