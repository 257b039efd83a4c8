package springconf

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	// simpleDuration is Spring's simple format: a whole number and a unit.
	simpleDuration = regexp.MustCompile(`^([+-]?[0-9]+)([a-zA-Z]{0,2})$`)
	// isoDuration is java.time.Duration.parse's format: PnDTnHnMn.nS.
	isoDuration = regexp.MustCompile(`^(?i)([-+]?)P(?:([-+]?[0-9]+)D)?(T(?:([-+]?[0-9]+)H)?(?:([-+]?[0-9]+)M)?(?:([-+]?)([0-9]+)(?:[.,]([0-9]{0,9}))?S)?)?$`)
)

var durationUnits = map[string]time.Duration{
	"":   time.Millisecond, // Spring's default unit
	"ns": time.Nanosecond,
	"us": time.Microsecond,
	"ms": time.Millisecond,
	"s":  time.Second,
	"m":  time.Minute,
	"h":  time.Hour,
	"d":  24 * time.Hour,
}

var (
	errNotDuration = errors.New(`is not a duration; want a whole number and a unit (ns, us, ms, s, m, h, d), e.g. "30s"`)
	errTooLong     = errors.New("is out of range; want at most 292 years")
)

// parseDuration parses a duration as Spring's DurationStyle does.
func parseDuration(s string) (time.Duration, error) {
	if m := simpleDuration.FindStringSubmatch(s); m != nil {
		unit, ok := durationUnits[strings.ToLower(m[2])]
		if !ok {
			return 0, errNotDuration
		}
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return 0, errTooLong
		}
		return mul(n, unit)
	}
	m := isoDuration.FindStringSubmatch(s)
	if m == nil || m[2] == "" && m[3] == "" || m[3] != "" && m[4] == "" && m[5] == "" && m[7] == "" {
		return 0, errNotDuration
	}
	var total time.Duration
	add := func(text string, unit time.Duration) error {
		if text == "" {
			return nil
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return errTooLong
		}
		d, err := mul(n, unit)
		if err != nil {
			return err
		}
		if (d > 0 && total > math.MaxInt64-d) || (d < 0 && total < math.MinInt64-d) {
			return errTooLong
		}
		total += d
		return nil
	}
	frac := (m[8] + "000000000")[:9]
	if m[8] == "" {
		frac = ""
	}
	if m[6] == "-" && frac != "" {
		frac = "-" + frac
	}
	for _, err := range []error{
		add(m[2], 24*time.Hour), add(m[4], time.Hour), add(m[5], time.Minute),
		add(m[6]+m[7], time.Second), add(frac, time.Nanosecond),
	} {
		if err != nil {
			return 0, err
		}
	}
	if m[1] == "-" {
		total = -total
	}
	return total, nil
}

// mul returns n units, or an error if that overflows.
func mul(n int64, unit time.Duration) (time.Duration, error) {
	if n > math.MaxInt64/int64(unit) || n < math.MinInt64/int64(unit) {
		return 0, errTooLong
	}
	return time.Duration(n) * unit, nil
}
