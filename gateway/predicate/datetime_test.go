package predicate

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestParseDateTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2017-01-20T17:42:47.789-07:00[America/Denver]", time.Date(2017, 1, 21, 0, 42, 47, 789e6, time.UTC)},
		{"2017-01-20T17:42:47.789-07:00", time.Date(2017, 1, 21, 0, 42, 47, 789e6, time.UTC)},
		{"2017-01-20T17:42:47Z", time.Date(2017, 1, 20, 17, 42, 47, 0, time.UTC)},
		{"2017-01-20t17:42:47z", time.Date(2017, 1, 20, 17, 42, 47, 0, time.UTC)},
		{"2017-01-20T17:42+01:00", time.Date(2017, 1, 20, 16, 42, 0, 0, time.UTC)},
		{"2017-01-20T17:42:47.123456789+05:30:15", time.Date(2017, 1, 20, 12, 12, 32, 123456789, time.UTC)},
		{"2017-01-20T17:42:47.1Z[UTC]", time.Date(2017, 1, 20, 17, 42, 47, 1e8, time.UTC)},
		{"2024-02-29T00:00Z", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		// The offset fixes the instant, even when the zone disagrees.
		{"2017-07-20T12:00:00+00:00[America/Denver]", time.Date(2017, 7, 20, 12, 0, 0, 0, time.UTC)},
		// An unknown zone keeps the offset.
		{"2017-01-20T17:42:47-07:00[Mars/Olympus]", time.Date(2017, 1, 21, 0, 42, 47, 0, time.UTC)},
		{"1484959367789", time.Date(2017, 1, 21, 0, 42, 47, 789e6, time.UTC)},
		{"0", time.Unix(0, 0)},
		{"-1000", time.Unix(-1, 0)},
	}
	for _, tt := range tests {
		got, err := ParseDateTime(tt.in)
		if err != nil {
			t.Errorf("ParseDateTime(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("ParseDateTime(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseDateTimeZone(t *testing.T) {
	t.Parallel()
	if _, err := time.LoadLocation("America/Denver"); err != nil {
		t.Skip("no time zone database:", err)
	}
	got, err := ParseDateTime("2017-01-20T17:42:47.789-07:00[America/Denver]")
	if err != nil {
		t.Fatal(err)
	}
	if name := got.Location().String(); name != "America/Denver" {
		t.Errorf("ParseDateTime location = %q, want America/Denver", name)
	}
	if got.Hour() != 17 {
		t.Errorf("ParseDateTime hour in its zone = %d, want 17", got.Hour())
	}
}

func TestParseDateTimeErrors(t *testing.T) {
	t.Parallel()
	const want = "; want an ISO date-time such as 2017-01-20T17:42:47.789-07:00[America/Denver], or epoch milliseconds"
	tests := []struct{ in, why string }{
		{"tomorrow", "no date in the form 2017-01-20"},
		{"2017-01-20", "no 'T' and time after the date"},
		{"2017-01-20 17:42:47Z", "no 'T' and time after the date"},
		{"2017-01-20T17", "no time in the form 17:42:47.789"},
		{"2017-01-20T17:42:4Z", "no seconds after the minutes' ':'"},
		{"2017-01-20T17:42:47.Z", "no digits after the seconds' '.'"},
		{"2017-01-20T17:42:47.1234567891Z", `unexpected "1Z" after the time`},
		{"2017-13-20T17:42Z", "month 13 is out of range"},
		{"2017-02-29T17:42Z", "day 29 is out of range for 2017-02"},
		{"2017-01-20T24:00Z", "hour 24 is out of range"},
		{"2017-01-20T23:60Z", "minute 60 is out of range"},
		{"2017-01-20T23:59:60Z", "second 60 is out of range"},
		{"2017-01-20T17:42:47", "no offset (Z or ±hh:mm) after the time"},
		{"2017-01-20T17:42:47[America/Denver]", "no offset (Z or ±hh:mm) after the time"},
		{"2017-01-20T17:42:47-0700", "the offset is not in the form ±hh:mm"},
		{"2017-01-20T17:42:47+19:00", "the offset is out of range; want -18:00 to +18:00"},
		{"2017-01-20T17:42:47Z[", "a zone ID must be one bracketed name at the end, as in [America/Denver]"},
		{"2017-01-20T17:42:47Z[]", "a zone ID must be one bracketed name at the end, as in [America/Denver]"},
		{"2017-01-20T17:42:47Z[UTC]x", "a zone ID must be one bracketed name at the end, as in [America/Denver]"},
		{"2017-01-20T17:42:47Zx", `unexpected "x" after the offset`},
	}
	for _, tt := range tests {
		_, err := ParseDateTime(tt.in)
		wantErr := "datetime " + strconv.Quote(tt.in) + ": " + tt.why + want
		if err == nil || err.Error() != wantErr {
			t.Errorf("ParseDateTime(%q) error:\n got %v\nwant %s", tt.in, err, wantErr)
		}
	}
	if _, err := ParseDateTime(""); err == nil || err.Error() != "empty datetime" {
		t.Errorf(`ParseDateTime("") error = %v, want "empty datetime"`, err)
	}
}

func TestDateTimePredicates(t *testing.T) {
	t.Parallel()
	t1 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	tests := []struct {
		name string
		now  time.Time
		want [3]bool // After(t1), Before(t1), Between(t1, t2)
	}{
		{"before t1", t1.Add(-time.Nanosecond), [3]bool{false, true, false}},
		{"at t1", t1, [3]bool{false, false, false}},
		{"inside", t1.Add(time.Minute), [3]bool{true, false, true}},
		{"at t2", t2, [3]bool{true, false, false}},
		{"after t2", t2.Add(time.Nanosecond), [3]bool{true, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := func() time.Time { return tt.now }
			btw, err := between(t1, t2, now)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			got := [3]bool{after(t1, now)(r), before(t1, now)(r), btw(r)}
			if got != tt.want {
				t.Errorf("at %v: After, Before, Between = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}

func TestBetweenErrors(t *testing.T) {
	t.Parallel()
	t1 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, t2 := range []time.Time{t1, t1.Add(-time.Second)} {
		_, err := Between(t1, t2)
		want := "datetime1 2030-01-01T00:00:00Z is not before datetime2 " + t2.Format(time.RFC3339Nano)
		if err == nil || err.Error() != want {
			t.Errorf("Between(%v, %v) error = %v, want %q", t1, t2, err, want)
		}
	}
}

func TestRealClock(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/", nil)
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	btw, err := Between(past, future)
	if err != nil {
		t.Fatal(err)
	}
	if !After(past)(r) || !Before(future)(r) || !btw(r) {
		t.Error("After(an hour ago), Before(in an hour), Between(both) do not all match now")
	}
}
