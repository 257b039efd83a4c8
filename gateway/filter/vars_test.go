package filter

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	t.Parallel()
	r := WithVars(httptest.NewRequest("GET", "/", nil), map[string]string{"segment": "blue", "sub": "api", "rest": "a/b c"})
	tests := []struct{ template, want string }{
		{"plain", "plain"},
		{"", ""},
		{"{segment}", "blue"},
		{"/red/{segment}", "/red/blue"},
		{"{sub}.{segment}", "api.blue"},
		{"{segment:[a-z]+}", "blue"},
		{"{ segment }", "blue"},
		{"{missing}-x", "-x"},
		{"{rest}", "a/b c"},
		{"{unclosed", "{unclosed"},
	}
	for _, tt := range tests {
		if got := Expand(tt.template, r); got != tt.want {
			t.Errorf("Expand(%q) = %q, want %q", tt.template, got, tt.want)
		}
	}
}

func TestExpandWithoutBracesDoesNotAllocate(t *testing.T) {
	r := WithVars(httptest.NewRequest("GET", "/", nil), map[string]string{"segment": "blue"})
	if n := testing.AllocsPerRun(1000, func() { Expand("X-Static-Value", r) }); n != 0 {
		t.Errorf("Expand without braces allocates %v times, want 0", n)
	}
	tmpl, err := parseVarTemplate("X-Static-Value")
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { tmpl.expand(r, nil) }); n != 0 {
		t.Errorf("a parsed template without braces allocates %v times, want 0", n)
	}
}

func TestWithVars(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/", nil)
	if Vars(r) != nil {
		t.Fatalf("Vars of a new request = %v, want nil", Vars(r))
	}
	if WithVars(r, nil) != r {
		t.Error("WithVars(r, nil) copied the request")
	}
	r1 := WithVars(r, map[string]string{"sub": "api", "segment": "old"})
	r2 := WithVars(r1, map[string]string{"segment": "new"})
	got := Vars(r2)
	if got["sub"] != "api" || got["segment"] != "new" || len(got) != 2 {
		t.Errorf("Vars after Host then Path = %v, want sub=api segment=new (merged, later wins)", got)
	}
	if Vars(r1)["segment"] != "old" {
		t.Errorf("WithVars changed the earlier request's variables")
	}
}

func TestParseVarTemplateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ template, want string }{
		{"/a/{seg", `no closing "}"`},
		{"{}", "want a variable name"},
		{"{:x}", "want a variable name"},
		{"{a{b}", "want a variable name"},
	}
	for _, tt := range tests {
		_, err := parseVarTemplate(tt.template)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseVarTemplate(%q) = %v, want an error with %q", tt.template, err, tt.want)
		}
	}
}

func TestEscapePathValue(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"blue", "blue"},
		{"a/b", "a/b"},
		{"a b", "a%20b"},
		{"50%", "50%25"},
		{"x?y#z", "x%3Fy%23z"},
		{"é", "%C3%A9"},
		{"a:b@c=d;e", "a:b@c=d;e"},
	}
	for _, tt := range tests {
		if got := escapePathValue(tt.in); got != tt.want {
			t.Errorf("escapePathValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
