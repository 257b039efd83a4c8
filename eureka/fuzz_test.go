package eureka

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addSeeds adds every testdata file whose name ends in ext.
func addSeeds(f *testing.F, ext string) {
	f.Helper()
	for _, dir := range []string{"testdata", "testdata/lenient"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ext) {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// checkStable decodes data and, when that succeeds, checks that our own
// encoding decodes again and re-encodes to the same bytes.
func checkStable[T any](t *testing.T, data []byte, decode func([]byte) (T, error), encode func([]byte, T) []byte, isJSON bool) {
	v, err := decode(data)
	if err != nil {
		if err.Error() == "" {
			t.Fatal("empty error text")
		}
		return
	}
	b1 := encode(nil, v)
	if isJSON && !json.Valid(b1) {
		t.Fatalf("encoded invalid JSON:\n%s", b1)
	}
	if !isJSON {
		if err := xmlWellFormed(b1); err != nil {
			t.Fatalf("encoded broken XML: %v\n%s", err, b1)
		}
	}
	v2, err := decode(b1)
	if err != nil {
		t.Fatalf("decoding our own output: %v\n%s", err, b1)
	}
	if b2 := encode(nil, v2); !bytes.Equal(b1, b2) {
		t.Fatalf("encoding is not stable:\nfirst:\n%s\nsecond:\n%s", b1, b2)
	}
}

func FuzzDecodeInstanceJSON(f *testing.F) {
	addSeeds(f, ".json")
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStable(t, data, DecodeInstanceJSON, AppendInstanceDocJSON, true)
	})
}

func FuzzDecodeInstanceXML(f *testing.F) {
	addSeeds(f, ".xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStable(t, data, DecodeInstanceXML, AppendInstanceXML, false)
	})
}

func FuzzDecodeApplicationsJSON(f *testing.F) {
	addSeeds(f, ".json")
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStable(t, data, DecodeApplicationsJSON, AppendApplicationsJSON, true)
	})
}

func FuzzDecodeApplicationsXML(f *testing.F) {
	addSeeds(f, ".xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStable(t, data, DecodeApplicationsXML, AppendApplicationsXML, false)
	})
}

func FuzzDecodeReplicationListJSON(f *testing.F) {
	addSeeds(f, ".json")
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStable(t, data, DecodeReplicationListJSON, AppendReplicationListJSON, true)
		checkStable(t, data, DecodeReplicationResponseListJSON, AppendReplicationResponseListJSON, true)
	})
}
