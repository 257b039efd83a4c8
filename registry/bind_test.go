package registry_test

import (
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/internal/springconf"
	"github.com/switchboard-dev/switchboard/registry"
)

func TestBindMaxCachedUncompressedBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yml string
		want      int
		err       string
	}{
		{"default", "server.port: 8761\n", 32 << 20, ""},
		{"set", "switchboard:\n  registry:\n    max-cached-uncompressed-bytes: 67108864\n", 64 << 20, ""},
		{"zero streams every document", "switchboard.registry.max-cached-uncompressed-bytes: 0\n", 0, ""},
		{"negative", "switchboard:\n  registry:\n    max-cached-uncompressed-bytes: -1\n", 0,
			"application.yml:3: switchboard.registry.max-cached-uncompressed-bytes: -1 is out of range; want 0 to 1073741824"},
		{"over 1 GiB", "switchboard.registry.max-cached-uncompressed-bytes: 2147483648\n", 0,
			"application.yml:1: switchboard.registry.max-cached-uncompressed-bytes: 2147483648 is out of range; want 0 to 1073741824"},
		{"not a number", "switchboard.registry.max-cached-uncompressed-bytes: 64MB\n", 0,
			`application.yml:1: switchboard.registry.max-cached-uncompressed-bytes: "64MB" is not a whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := springconf.Parse("application.yml", []byte(tt.yml), nil)
			if err != nil {
				t.Fatal(err)
			}
			s, err := registry.Bind(p)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("Bind(%q) = %v, want an error containing %q", tt.yml, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Bind(%q): %v", tt.yml, err)
			}
			if got := s.Config.MaxCachedUncompressedBytes; got != tt.want {
				t.Errorf("Bind(%q): MaxCachedUncompressedBytes = %d, want %d", tt.yml, got, tt.want)
			}
			if _, err := registry.New(s.Config); err != nil {
				t.Errorf("New with the bound config: %v", err)
			}
		})
	}
	cfg := registry.DefaultConfig()
	cfg.MaxCachedUncompressedBytes = -1
	if _, err := registry.New(cfg); err == nil {
		t.Error("New accepted MaxCachedUncompressedBytes -1")
	}
}
