package predicate

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// After matches requests that arrive strictly after t.
//
// Spring: After=2017-01-20T17:42:47.789-07:00[America/Denver]; one
// argument, datetime. See ParseDateTime.
func After(t time.Time) Predicate { return after(t, time.Now) }

// Before matches requests that arrive strictly before t.
//
// Spring: Before=2017-01-20T17:42:47.789-07:00[America/Denver]; one
// argument, datetime. See ParseDateTime.
func Before(t time.Time) Predicate { return before(t, time.Now) }

// Between matches requests that arrive strictly after t1 and strictly
// before t2. It is an error unless t1 is before t2.
//
// Spring: Between=2017-01-20T17:42:47.789-07:00[America/Denver],
// 2017-01-21T17:42:47.789-07:00[America/Denver]; shortcut order datetime1,
// datetime2; expanded args datetime1 and datetime2.
func Between(t1, t2 time.Time) (Predicate, error) { return between(t1, t2, time.Now) }

// after, before and between take the clock, so that tests can set it.
func after(t time.Time, now func() time.Time) Predicate {
	return func(*http.Request) bool { return now().After(t) }
}

func before(t time.Time, now func() time.Time) Predicate {
	return func(*http.Request) bool { return now().Before(t) }
}

func between(t1, t2 time.Time, now func() time.Time) (Predicate, error) {
	if !t1.Before(t2) {
		return nil, fmt.Errorf("datetime1 %s is not before datetime2 %s", t1.Format(time.RFC3339Nano), t2.Format(time.RFC3339Nano))
	}
	return func(*http.Request) bool {
		n := now()
		return n.After(t1) && n.Before(t2)
	}, nil
}

// ParseDateTime parses a date-time argument as Spring does (its
// StringToZonedDateTimeConverter): a whole number is epoch milliseconds
// (UTC); anything else is an ISO zoned date-time, the form
// ZonedDateTime.toString writes:
//
//	2017-01-20T17:42:47.789-07:00[America/Denver]
//	2017-01-20T17:42:47Z
//	2017-01-20T17:42+01:00
//
// Seconds and the fraction (up to nine digits) are optional; the offset
// (Z or ±hh:mm, optionally :ss) is required and fixes the instant, as in
// Java, so the bracketed zone ID only names the location of the returned
// time. When the zone cannot be loaded (no time zone database here) the
// offset is kept. RFC 3339 date-times are of this form.
func ParseDateTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty datetime")
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, why := parseISO(s)
	if why != "" {
		return time.Time{}, fmt.Errorf("datetime %q: %s; want an ISO date-time such as 2017-01-20T17:42:47.789-07:00[America/Denver], or epoch milliseconds", s, why)
	}
	return t, nil
}

// isoScanner reads an ISO date-time from left to right.
type isoScanner struct {
	s   string
	pos int
}

// digits reads exactly n digits.
func (sc *isoScanner) digits(n int) (int, bool) {
	if sc.pos+n > len(sc.s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(sc.s[sc.pos : sc.pos+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	sc.pos += n
	return v, true
}

// byte reads c, ignoring the case of letters.
func (sc *isoScanner) byte(c byte) bool {
	if sc.pos < len(sc.s) && lower(sc.s[sc.pos]) == lower(c) {
		sc.pos++
		return true
	}
	return false
}

// parseISO parses an ISO zoned date-time, or says why it cannot.
func parseISO(s string) (time.Time, string) {
	sc := &isoScanner{s: s}
	year, ok1 := sc.digits(4)
	ok2 := sc.byte('-')
	month, ok3 := sc.digits(2)
	ok4 := sc.byte('-')
	day, ok5 := sc.digits(2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return time.Time{}, "no date in the form 2017-01-20"
	}
	if !sc.byte('T') {
		return time.Time{}, "no 'T' and time after the date"
	}
	hour, ok1 := sc.digits(2)
	ok2 = sc.byte(':')
	minute, ok3 := sc.digits(2)
	if !(ok1 && ok2 && ok3) {
		return time.Time{}, "no time in the form 17:42:47.789"
	}
	sec, nsec := 0, 0
	if sc.byte(':') {
		var ok bool
		if sec, ok = sc.digits(2); !ok {
			return time.Time{}, "no seconds after the minutes' ':'"
		}
		if sc.byte('.') {
			n := 0
			for sc.pos < len(sc.s) && '0' <= sc.s[sc.pos] && sc.s[sc.pos] <= '9' && n < 9 {
				nsec = nsec*10 + int(sc.s[sc.pos]-'0')
				sc.pos++
				n++
			}
			if n == 0 {
				return time.Time{}, "no digits after the seconds' '.'"
			}
			for range 9 - n {
				nsec *= 10
			}
		}
	}
	switch {
	case month < 1 || month > 12:
		return time.Time{}, fmt.Sprintf("month %02d is out of range", month)
	case day < 1 || day > daysIn(time.Month(month), year):
		return time.Time{}, fmt.Sprintf("day %02d is out of range for %04d-%02d", day, year, month)
	case hour > 23:
		return time.Time{}, fmt.Sprintf("hour %02d is out of range", hour)
	case minute > 59:
		return time.Time{}, fmt.Sprintf("minute %02d is out of range", minute)
	case sec > 59:
		return time.Time{}, fmt.Sprintf("second %02d is out of range", sec)
	}
	offset, why := sc.offset()
	if why != "" {
		return time.Time{}, why
	}
	loc := time.FixedZone("", offset)
	if offset == 0 {
		loc = time.UTC
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if sc.byte('[') {
		zone, rest, ok := strings.Cut(sc.s[sc.pos:], "]")
		if !ok || rest != "" || zone == "" {
			return time.Time{}, "a zone ID must be one bracketed name at the end, as in [America/Denver]"
		}
		if l, err := time.LoadLocation(zone); err == nil {
			t = t.In(l)
		}
		return t, ""
	}
	if sc.pos != len(sc.s) {
		return time.Time{}, fmt.Sprintf("unexpected %q after the offset", sc.s[sc.pos:])
	}
	return t, ""
}

// offset reads Z or ±hh:mm[:ss] and returns it in seconds east of UTC.
func (sc *isoScanner) offset() (int, string) {
	if sc.byte('Z') {
		return 0, ""
	}
	sign := 1
	switch {
	case sc.byte('+'):
	case sc.byte('-'):
		sign = -1
	default:
		if sc.pos == len(sc.s) || sc.s[sc.pos] == '[' {
			return 0, "no offset (Z or ±hh:mm) after the time"
		}
		return 0, fmt.Sprintf("unexpected %q after the time", sc.s[sc.pos:])
	}
	h, ok1 := sc.digits(2)
	ok2 := sc.byte(':')
	m, ok3 := sc.digits(2)
	if !(ok1 && ok2 && ok3) {
		return 0, "the offset is not in the form ±hh:mm"
	}
	s := 0
	if sc.byte(':') {
		var ok bool
		if s, ok = sc.digits(2); !ok {
			return 0, "the offset is not in the form ±hh:mm:ss"
		}
	}
	if h > 18 || m > 59 || s > 59 || h == 18 && m+s > 0 {
		return 0, "the offset is out of range; want -18:00 to +18:00"
	}
	return sign * (h*3600 + m*60 + s), ""
}

// daysIn returns the number of days in month of year.
func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
