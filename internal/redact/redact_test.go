package redact

import "testing"

func TestURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"http://host:8761/eureka/", "http://host:8761/eureka/"},
		{"http://user:pass@host:8761/eureka/", "http://host:8761/eureka/"},
		{"http://user:p@ss/word@host:8761/eureka/", "http://host:8761/eureka/"},
		{"http://us er:pa%zz@host/", "http://host/"},
		{"not a url", "not a url"},
	}
	for _, tt := range tests {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
