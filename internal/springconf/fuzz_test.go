package springconf

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	for _, text := range []string{
		"server:\n  port: 8761\neureka.server.enable-self-preservation: false\n",
		"spring.cloud.gateway.routes:\n  - id: a\n    predicates: [Path=/a/**, \"Method=GET\"]\n    filters:\n      - name: Retry\n        args: {retries: 3}\n",
		"a: &a {x: 1}\nb:\n  <<: *a\n  y: ${a.x:2}\n---\nspring.config.activate.on-profile: dev & !prod\nc: ${b.y}\n",
		"'[/**]': {allowed-origins: \"*\"}\nm: {}\nl: []\nn: ~\n",
		"a: [1, 2\n",
		"- top\n- level\n",
		"x: ${y}\ny: ${x}\n",
	} {
		f.Add(true, text)
	}
	for _, text := range []string{
		"server.port=8761\n# comment\n! comment\nkey\\ with\\ spaces : v\\u00e9\n",
		"list=a,\\\n  b\nrouted[0].id=x\n#---\nspring.config.activate.on-profile=dev\nport 1\n",
		"bad=\\u12\n=x\n",
		"a=${b:${c:d}}\nb=${a}\n",
	} {
		f.Add(false, text)
	}
	f.Fuzz(func(t *testing.T, isYAML bool, text string) {
		name := "application.properties"
		if isYAML {
			name = "application.yml"
		}
		p, err := Parse(name, []byte(text), []string{"dev"})
		if err != nil {
			if _, ok := errors.AsType[*ConfigError](err); !ok {
				t.Fatalf("Parse error is %T, want *ConfigError: %v", err, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, name) {
					t.Errorf("Parse error %q does not start with %s", line, name)
				}
			}
			return
		}
		values := p.Values()
		if len(values) > 1000 {
			return // binding is quadratic, and fuzzing is for panics
		}
		b := NewBinder(p)
		for _, v := range values {
			got, ok := p.Lookup(v.Key)
			if !ok || got != v {
				t.Errorf("Lookup(%q) = %+v, %v; Values has %+v", v.Key, got, ok, v)
			}
			p.List(v.Key)
			var (
				s  string
				bo bool
				i  int
				fl float64
				d  time.Duration
				l  []string
				m  map[string]string
			)
			b.String(v.Key, &s)
			b.Bool(v.Key, &bo)
			b.Int(v.Key, &i, 0, 10)
			b.Float(v.Key, &fl, nil)
			b.Millis(v.Key, &d, 0)
			b.Seconds(v.Key, &d, 0)
			b.Duration(v.Key, &d)
			b.Enum(v.Key, &s, "a", "b")
			b.StringList(v.Key, &l)
			b.Map(v.Key, &m)
			b.Errorf(v.Key, "x")
		}
		b.Unknown("")
		if err := b.Err(); err == nil && len(values) > 0 {
			t.Errorf("Err() = nil after Errorf")
		}
	})
}
