package filter

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// SetStatus sends status instead of the upstream's status. status is a
// number ("404") or a name of Spring's HttpStatus enum ("NOT_FOUND", in any
// case); see ParseStatus. If originalStatusHeaderName is not empty (Spring's
// global gateway.set-status.original-status-header-name), that response
// header carries the upstream's status as Spring formats it, "[200]".
//
// Spring: SetStatus=status.
func SetStatus(status, originalStatusHeaderName string) (Filter, error) {
	code, err := ParseStatus(status)
	if err != nil {
		return nil, err
	}
	if code < 200 {
		return nil, fmt.Errorf("status %q: an informational (1xx) status cannot end a response", status)
	}
	var key string
	if originalStatusHeaderName != "" {
		if key, err = canonicalHeaderName(originalStatusHeaderName); err != nil {
			return nil, fmt.Errorf("original-status-header-name: %w", err)
		}
	}
	return postFilter(func(h http.Header, old int, r *http.Request) int {
		if key != "" {
			h[key] = []string{"[" + strconv.Itoa(old) + "]"}
		}
		return code
	}), nil
}

// ParseStatus parses an HTTP status written as Spring accepts it: a number,
// or a constant of Spring's HttpStatus enum such as NOT_FOUND or
// TOO_MANY_REQUESTS (case does not matter). Numbers from 100 to 999 are
// accepted, names only if Spring knows them.
func ParseStatus(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("status must not be empty; want a code such as 404 or a name such as NOT_FOUND")
	}
	if '0' <= s[0] && s[0] <= '9' {
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 || n > 999 {
			return 0, fmt.Errorf("status %q is not an HTTP status code; want a number from 100 to 999", s)
		}
		return n, nil
	}
	if n, ok := springStatus[strings.ToUpper(s)]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("status %q is not a Spring HttpStatus name; want a code such as 404 or a name such as NOT_FOUND, BAD_GATEWAY, TOO_MANY_REQUESTS", s)
}

// springStatus holds the constants of Spring's HttpStatus enum, deprecated
// and renamed ones included (Spring 5 to 7), so configs of any version load.
var springStatus = map[string]int{
	"CONTINUE":                        100,
	"SWITCHING_PROTOCOLS":             101,
	"PROCESSING":                      102,
	"EARLY_HINTS":                     103,
	"CHECKPOINT":                      103,
	"OK":                              200,
	"CREATED":                         201,
	"ACCEPTED":                        202,
	"NON_AUTHORITATIVE_INFORMATION":   203,
	"NO_CONTENT":                      204,
	"RESET_CONTENT":                   205,
	"PARTIAL_CONTENT":                 206,
	"MULTI_STATUS":                    207,
	"ALREADY_REPORTED":                208,
	"IM_USED":                         226,
	"MULTIPLE_CHOICES":                300,
	"MOVED_PERMANENTLY":               301,
	"FOUND":                           302,
	"MOVED_TEMPORARILY":               302,
	"SEE_OTHER":                       303,
	"NOT_MODIFIED":                    304,
	"USE_PROXY":                       305,
	"TEMPORARY_REDIRECT":              307,
	"PERMANENT_REDIRECT":              308,
	"BAD_REQUEST":                     400,
	"UNAUTHORIZED":                    401,
	"PAYMENT_REQUIRED":                402,
	"FORBIDDEN":                       403,
	"NOT_FOUND":                       404,
	"METHOD_NOT_ALLOWED":              405,
	"NOT_ACCEPTABLE":                  406,
	"PROXY_AUTHENTICATION_REQUIRED":   407,
	"REQUEST_TIMEOUT":                 408,
	"CONFLICT":                        409,
	"GONE":                            410,
	"LENGTH_REQUIRED":                 411,
	"PRECONDITION_FAILED":             412,
	"PAYLOAD_TOO_LARGE":               413,
	"CONTENT_TOO_LARGE":               413,
	"REQUEST_ENTITY_TOO_LARGE":        413,
	"URI_TOO_LONG":                    414,
	"REQUEST_URI_TOO_LONG":            414,
	"UNSUPPORTED_MEDIA_TYPE":          415,
	"REQUESTED_RANGE_NOT_SATISFIABLE": 416,
	"EXPECTATION_FAILED":              417,
	"I_AM_A_TEAPOT":                   418,
	"INSUFFICIENT_SPACE_ON_RESOURCE":  419,
	"METHOD_FAILURE":                  420,
	"DESTINATION_LOCKED":              421,
	"UNPROCESSABLE_ENTITY":            422,
	"UNPROCESSABLE_CONTENT":           422,
	"LOCKED":                          423,
	"FAILED_DEPENDENCY":               424,
	"TOO_EARLY":                       425,
	"UPGRADE_REQUIRED":                426,
	"PRECONDITION_REQUIRED":           428,
	"TOO_MANY_REQUESTS":               429,
	"REQUEST_HEADER_FIELDS_TOO_LARGE": 431,
	"UNAVAILABLE_FOR_LEGAL_REASONS":   451,
	"INTERNAL_SERVER_ERROR":           500,
	"NOT_IMPLEMENTED":                 501,
	"BAD_GATEWAY":                     502,
	"SERVICE_UNAVAILABLE":             503,
	"GATEWAY_TIMEOUT":                 504,
	"HTTP_VERSION_NOT_SUPPORTED":      505,
	"VARIANT_ALSO_NEGOTIATES":         506,
	"INSUFFICIENT_STORAGE":            507,
	"LOOP_DETECTED":                   508,
	"BANDWIDTH_LIMIT_EXCEEDED":        509,
	"NOT_EXTENDED":                    510,
	"NETWORK_AUTHENTICATION_REQUIRED": 511,
}
