package gateway

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/gateway/filter"
)

// breakers returns the circuit breakers of the table being built, configured
// from the resilience4j.* keys. A new table gets new breakers, closed.
func (b *builder) breakers() *filter.Breakers {
	if b.brk != nil {
		return b.brk
	}
	// Rebuilding the same configuration (the discovery locator saw an
	// application come or go) keeps the breakers and their state.
	if b.g.brk != nil && b.g.brkCfg == b.cfg {
		b.brk = b.g.brk
		return b.brk
	}
	br := &filter.Breakers{Logger: b.g.log}
	for _, key := range slices.Sorted(maps.Keys(b.cfg.Resilience)) {
		v := b.cfg.Resilience[key]
		parts := strings.Split(key, ".")
		// resilience4j.circuitbreaker.{configs|instances}.NAME.property
		if len(parts) < 5 {
			b.problem(v.Where, "%s: unknown key; want resilience4j.circuitbreaker.configs.NAME.PROPERTY or instances.NAME.PROPERTY", key)
			continue
		}
		kind, group, name, prop := relaxed(parts[1]), relaxed(parts[2]), parts[3], relaxed(strings.Join(parts[4:], "."))
		var err string
		switch {
		case kind == "circuitbreaker" && (group == "configs" || group == "instances"):
			m := &br.Configs
			if group == "instances" {
				m = &br.Instances
			}
			if *m == nil {
				*m = map[string]filter.BreakerProperties{}
			}
			p := (*m)[name]
			err = setBreakerProperty(&p, prop, v.Value)
			(*m)[name] = p
		case kind == "timelimiter" && (group == "configs" || group == "instances"):
			m := &br.TimeLimiterConfigs
			if group == "instances" {
				m = &br.TimeLimiterInstances
			}
			if *m == nil {
				*m = map[string]filter.TimeLimiterProperties{}
			}
			p := (*m)[name]
			err = setTimeLimiterProperty(&p, prop, v.Value)
			(*m)[name] = p
		default:
			err = "unknown key; want resilience4j.circuitbreaker.* or resilience4j.timelimiter.*"
		}
		if err != "" {
			b.problem(v.Where, "%s: %s", key, err)
		}
	}
	if err := br.Validate(); err != nil {
		// Each problem starts with its key: give it that key's position.
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, e := range errs {
			msg := e.Error()
			key, _, _ := strings.Cut(msg, ": ")
			b.problem(b.resilienceWhere(key), "%s", msg)
		}
	}
	b.brk = br
	return br
}

// resilienceWhere is the position of the resilience4j key, matched by
// relaxed name (failure-rate-threshold is failureRateThreshold), or "".
func (b *builder) resilienceWhere(key string) string {
	want := relaxed(key)
	for k, v := range b.cfg.Resilience {
		if relaxed(k) == want {
			return v.Where
		}
	}
	return ""
}

func setBreakerProperty(p *filter.BreakerProperties, prop, v string) string {
	v = strings.TrimSpace(v)
	var err string
	switch prop {
	case "baseconfig":
		p.BaseConfig = v
	case "slidingwindowtype":
		p.SlidingWindowType = strings.ToUpper(v)
	case "slidingwindowsize":
		p.SlidingWindowSize, err = intProp(v)
	case "minimumnumberofcalls":
		p.MinimumNumberOfCalls, err = intProp(v)
	case "failureratethreshold":
		p.FailureRateThreshold, err = floatProp(v)
	case "slowcallratethreshold":
		p.SlowCallRateThreshold, err = floatProp(v)
	case "slowcalldurationthreshold":
		p.SlowCallDurationThreshold, err = durationProp(v)
	case "waitdurationinopenstate":
		p.WaitDurationInOpenState, err = durationProp(v)
	case "permittednumberofcallsinhalfopenstate":
		p.PermittedNumberOfCallsInHalfOpenState, err = intProp(v)
	case "automatictransitionfromopentohalfopenenabled":
		bv, perr := parseBool(prop, v)
		if perr != nil {
			return `"` + v + `" is not a boolean; want true or false`
		}
		p.AutomaticTransitionFromOpenToHalfOpenEnabled = &bv
	case "registerhealthindicator", "eventconsumerbuffersize", "recordexceptions", "ignoreexceptions":
		// Resilience4j options that have no meaning here; accepted.
	default:
		return "unknown property; known: baseConfig, slidingWindowType, slidingWindowSize, minimumNumberOfCalls, " +
			"failureRateThreshold, slowCallRateThreshold, slowCallDurationThreshold, waitDurationInOpenState, " +
			"permittedNumberOfCallsInHalfOpenState, automaticTransitionFromOpenToHalfOpenEnabled"
	}
	return err
}

func setTimeLimiterProperty(p *filter.TimeLimiterProperties, prop, v string) string {
	v = strings.TrimSpace(v)
	var err string
	switch prop {
	case "baseconfig":
		p.BaseConfig = v
	case "timeoutduration":
		p.TimeoutDuration, err = durationProp(v)
	case "cancelrunningfuture":
		bv, perr := parseBool(prop, v)
		if perr != nil {
			return `"` + v + `" is not a boolean; want true or false`
		}
		p.CancelRunningFuture = &bv
	default:
		return "unknown property; known: baseConfig, timeoutDuration, cancelRunningFuture"
	}
	return err
}

func intProp(v string) (int, string) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, strconv.Quote(v) + " is not a whole number"
	}
	return n, ""
}

func floatProp(v string) (float64, string) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, strconv.Quote(v) + " is not a number"
	}
	return f, ""
}

func durationProp(v string) (time.Duration, string) {
	d, err := parseDuration("", v)
	if err != nil {
		return 0, strconv.Quote(v) + " is not a duration such as 500ms, 10s or 1m"
	}
	return d, ""
}
