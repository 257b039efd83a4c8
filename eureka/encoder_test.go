package eureka

import (
	"bytes"
	"errors"
	"testing"
)

// TestApplicationsEncoderMatchesAppend pins that the streaming encoder writes
// the bytes the document functions append, applications without instances
// and nil instances included.
func TestApplicationsEncoderMatchesAppend(t *testing.T) {
	t.Parallel()
	big := benchApplications(40, 25) // several flushes
	in := big.Applications[0].Instances[0]
	odd := &Applications{VersionsDelta: -1, AppsHashcode: "UP_2_", Applications: []*Application{
		{Name: "EMPTY"}, nil, {Name: "NILS", Instances: []*Instance{nil}}, {Name: "A", Instances: []*Instance{nil, in, nil, in}},
	}}
	fromJSON, err := DecodeApplicationsJSON(readTestdata(t, "apps.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		apps *Applications
	}{{"bench", big}, {"odd", odd}, {"empty", &Applications{VersionsDelta: 1}}, {"apps.json", fromJSON}} {
		for _, f := range []struct {
			name   string
			append func([]byte, *Applications) []byte
			enc    func(w *bytes.Buffer, a *Applications) *ApplicationsEncoder
		}{
			{"JSON", AppendApplicationsJSON, func(w *bytes.Buffer, a *Applications) *ApplicationsEncoder {
				return NewApplicationsJSONEncoder(w, a.VersionsDelta, a.AppsHashcode)
			}},
			{"XML", AppendApplicationsXML, func(w *bytes.Buffer, a *Applications) *ApplicationsEncoder {
				return NewApplicationsXMLEncoder(w, a.VersionsDelta, a.AppsHashcode)
			}},
		} {
			var got bytes.Buffer
			e := f.enc(&got, tt.apps)
			for _, app := range tt.apps.Applications {
				if err := e.Encode(app); err != nil {
					t.Fatalf("%s %s: Encode: %v", tt.name, f.name, err)
				}
			}
			if err := e.Close(); err != nil {
				t.Fatalf("%s %s: Close: %v", tt.name, f.name, err)
			}
			if want := f.append(nil, tt.apps); !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s %s: encoder wrote\n%.300s\nAppendApplications%s gives\n%.300s", tt.name, f.name, got.Bytes(), f.name, want)
			}
		}
	}
}

type failingWriter struct{ n int }

var errFull = errors.New("full")

func (w *failingWriter) Write(b []byte) (int, error) {
	w.n++
	return 0, errFull
}

func TestApplicationsEncoderKeepsFirstError(t *testing.T) {
	t.Parallel()
	apps := benchApplications(40, 25)
	w := &failingWriter{}
	e := NewApplicationsXMLEncoder(w, 1, "")
	var err error
	for _, app := range apps.Applications {
		if err = e.Encode(app); err != nil {
			break
		}
	}
	if !errors.Is(err, errFull) {
		t.Errorf("Encode into a failing writer = %v, want %v", err, errFull)
	}
	if err := e.Close(); !errors.Is(err, errFull) || w.n != 1 {
		t.Errorf("Close after a failed write = %v with %d writes, want %v after 1", err, w.n, errFull)
	}
}
