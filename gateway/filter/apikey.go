package filter

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ApiKeyConfig holds ApiKey's arguments, as spelled in application.yml.
type ApiKeyConfig struct {
	// Header (header) carries the key; default "X-Api-Key".
	Header string
	// QueryParam (query-param), if set, is a query parameter also accepted
	// when the header is absent (e.g. "api_key"); default none. Keys in URLs end up in logs and browser
	// histories: prefer the header.
	QueryParam string
	// Hashes (hashes.0, hashes.1 ...) are the accepted keys, each stored as
	// "sha256:" and the 64 hex digits of the key's SHA-256
	// (echo -n KEY | sha256sum); at least one.
	// The keys themselves never appear in the configuration.
	Hashes []string
	// ForwardKey (forward-key) sends the key upstream too; by default
	// (false) the header and the query parameter are removed before
	// proxying.
	ForwardKey bool
}

// DefaultAPIKeyHeader is ApiKey's header when none is given.
const DefaultAPIKeyHeader = "X-Api-Key"

// apiKeyIDKey is the context key of the accepted key's id.
type apiKeyIDKey struct{}

// ApiKey lets a request through only if it carries one of the configured
// API keys, in the header or else in the query parameter; otherwise it
// answers 401 Unauthorized with a WWW-Authenticate challenge naming where
// the key goes. The key is hashed and compared with every stored hash in
// constant time; it is never logged or echoed, and is removed from the
// upstream request unless ForwardKey is set. APIKeyID tells later filters
// which key was used.
//
// Switchboard's own filter (Spring has none); expanded args only: header,
// query-param, hashes.0, hashes.1 ..., forward-key.
func ApiKey(cfg ApiKeyConfig) (Filter, error) {
	var errs []error
	key, err := canonicalHeaderName(orDefault(cfg.Header, DefaultAPIKeyHeader))
	if err != nil {
		errs = append(errs, fmt.Errorf("header: %w", err))
	}
	if len(cfg.Hashes) == 0 {
		errs = append(errs, fmt.Errorf("hashes: want at least one \"sha256:<64 hex digits>\""))
	}
	sums := make([][sha256.Size]byte, len(cfg.Hashes))
	ids := make([]string, len(cfg.Hashes))
	for i, h := range cfg.Hashes {
		// The value is not quoted: a key pasted here by mistake must not
		// reach the logs.
		hexSum, ok := cutPrefixFold(strings.TrimSpace(h), "sha256:")
		if !ok || len(hexSum) != 2*sha256.Size {
			errs = append(errs, fmt.Errorf("hashes[%d]: want \"sha256:\" and the 64 hex digits of the key's SHA-256 (value not shown)", i))
			continue
		}
		if _, err := hex.Decode(sums[i][:], []byte(hexSum)); err != nil {
			errs = append(errs, fmt.Errorf("hashes[%d]: want \"sha256:\" and the 64 hex digits of the key's SHA-256 (value not shown)", i))
			continue
		}
		ids[i] = hex.EncodeToString(sums[i][:4])
	}
	if cfg.QueryParam != "" {
		if err := checkQueryText("query-param", cfg.QueryParam); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	challenge := `ApiKey header="` + key + `"`
	if cfg.QueryParam != "" {
		challenge += `, query="` + cfg.QueryParam + `"`
	}
	challengeValue := []string{challenge}
	deny := func(w http.ResponseWriter, reason string) {
		w.Header()["Www-Authenticate"] = challengeValue[:1:1]
		http.Error(w, reason, http.StatusUnauthorized)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var given string
			if vals := r.Header[key]; len(vals) > 0 {
				given = vals[0]
			}
			inQuery := false
			if cfg.QueryParam != "" && r.URL.RawQuery != "" {
				v, ok := queryValue(r.URL.RawQuery, cfg.QueryParam)
				inQuery = ok
				if given == "" {
					given = v
				}
			}
			if given == "" {
				deny(w, "API key required")
				return
			}
			sum := sha256.Sum256([]byte(given))
			match := -1
			for i := range sums {
				if subtle.ConstantTimeCompare(sum[:], sums[i][:]) == 1 {
					match = i
				}
			}
			if match < 0 {
				deny(w, "API key not accepted")
				return
			}
			r2 := r.WithContext(context.WithValue(r.Context(), apiKeyIDKey{}, &ids[match]))
			if !cfg.ForwardKey {
				if _, ok := r.Header[key]; ok {
					r2.Header = cloneHeader(r.Header)
					delete(r2.Header, key)
				}
				if inQuery {
					q, _ := removeQueryParam(r.URL.RawQuery, cfg.QueryParam)
					u := new(url.URL)
					*u = *r.URL
					u.RawQuery = q
					r2.URL = u
				}
			}
			next.ServeHTTP(w, r2)
		})
	}, nil
}

// APIKeyID returns an id of the API key ApiKey accepted for r: the first 8
// hex digits of its SHA-256, safe to log and to use as a rate-limit key; ""
// if ApiKey did not run.
func APIKeyID(r *http.Request) string {
	if id, ok := r.Context().Value(apiKeyIDKey{}).(*string); ok {
		return *id
	}
	return ""
}

// queryValue returns the decoded value of the first parameter called name
// in the raw query q, and whether q has it.
func queryValue(q, name string) (string, bool) {
	for part := range strings.SplitSeq(q, "&") {
		if !queryKeyIs(part, name) {
			continue
		}
		_, v, _ := strings.Cut(part, "=")
		if d, err := url.QueryUnescape(v); err == nil {
			v = d
		}
		return v, true
	}
	return "", false
}

// cutPrefixFold is strings.CutPrefix ignoring ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
