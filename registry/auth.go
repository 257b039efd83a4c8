package registry

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-dev/switchboard/internal/springconf"
)

// Authentication for the Eureka API. Spring users secure a Eureka server with
// Spring Security's single user and put its credentials in every client's
// defaultZone (http://user:pass@host:8761/eureka/); clients and peers then
// send them as HTTP Basic authentication. We accept that unchanged, and add
// bearer tokens and per-application credentials. Security is off unless some
// credential is configured, as in Eureka.

// Security says who may write to the registry and, optionally, read it. The
// zero value turns authentication off, as Eureka ships: whoever reaches the
// registry may register, renew and cancel any instance. Any credential turns
// it on for every write: register, renew, cancel, status and its removal,
// metadata, and replication. /actuator/health stays open; the dashboard follows
// the reads setting.
//
// Passwords are written plain, with Spring's {noop} prefix, or as a bcrypt
// hash with Spring's {bcrypt} prefix ({bcrypt}$2a$10$...).
type Security struct {
	// User is the administrator, Spring Security's single user: it may write
	// every application's instances and send replication.
	// spring.security.user.name (default "user" once a password is set) and
	// spring.security.user.password.
	User Credentials
	// Apps holds credentials that may write only the instances of one
	// application, by upper-case application name: an instance of ORDERS is
	// registered, renewed, cancelled and changed with ORDERS's credentials
	// (or by the administrator, a full-access token or a peer), and ORDERS's
	// credentials touch nothing else.
	// switchboard.registry.security.apps.APP.username and .password.
	Apps map[string]Credentials
	// Tokens are bearer tokens (Authorization: Bearer TOKEN), stored as
	// hashes. switchboard.registry.security.tokens[N].name, .hash and .apps.
	Tokens []Token
	// AuthenticatedReads makes reads need credentials too: everything under
	// /eureka/ and /metrics. Any configured credential may read.
	// switchboard.registry.security.reads: open (the default) or authenticated.
	AuthenticatedReads bool
	// Peers are the credentials the registries of a cluster send each other:
	// this registry sends them with its replication batches and its start-up
	// sync, and accepts them as a peer's. With none, a peer authenticates with
	// the credentials in its service URL, usually the administrator's, as
	// Spring's Eureka does. Peers must be able to send them, so the password
	// is plain. switchboard.registry.security.peers.username and .password,
	// or .token.
	Peers PeerCredentials
}

// Credentials are a user name and a password, plain or {bcrypt}. Printing
// them (with fmt or slog) shows the user name only.
type Credentials struct {
	Username string
	Password string
}

// Token is a bearer token, known by its hash: the token itself is given to
// the clients and written nowhere here.
type Token struct {
	// Name labels the token in config errors; optional.
	Name string
	// Hash is "sha256:" followed by the hex SHA-256 of the token, as
	// `printf %s "$TOKEN" | sha256sum` prints it.
	Hash string
	// Apps are the applications whose instances the token may write. Empty
	// means every application and replication: a token for administrators
	// and peers.
	Apps []string
}

// PeerCredentials are what registries send each other: a user name and a
// plain password (HTTP Basic), or a bearer token. Printing them shows the
// user name only.
type PeerCredentials struct {
	Username string
	Password string
	Token    string
}

// Enabled reports whether authentication is on: whether any credential is set.
func (s *Security) Enabled() bool {
	return s.User.Username != "" || s.User.Password != "" || len(s.Apps) > 0 || len(s.Tokens) > 0 ||
		s.Peers.Username != "" || s.Peers.Password != "" || s.Peers.Token != "" || s.AuthenticatedReads
}

// String shows the user name and hides the password.
func (c Credentials) String() string {
	if c.Password == "" {
		return c.Username
	}
	return c.Username + ":[redacted]"
}

// GoString keeps the password out of %#v too.
func (c Credentials) GoString() string {
	return fmt.Sprintf("registry.Credentials{Username:%q}", c.Username)
}

// LogValue keeps the password out of logs.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON keeps the password out of JSON (slog's JSON handler marshals
// maps of Credentials without asking LogValue).
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"username": c.Username, "password": "[redacted]"})
}

// String shows the user name and hides the password and token.
func (c PeerCredentials) String() string {
	switch {
	case c.Token != "":
		return "token [redacted]"
	case c.Password != "":
		return c.Username + ":[redacted]"
	}
	return c.Username
}

// GoString keeps the password and token out of %#v too.
func (c PeerCredentials) GoString() string {
	return fmt.Sprintf("registry.PeerCredentials{Username:%q}", c.Username)
}

// LogValue keeps the password and token out of logs.
func (c PeerCredentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON keeps the password and token out of JSON.
func (c PeerCredentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"username": c.Username, "password": "[redacted]", "token": "[redacted]"})
}

// PeerCredentials returns the credentials this registry sends its peers
// (switchboard.registry.security.peers); package peer uses them when it is
// given none of its own.
func (r *Registry) PeerCredentials() PeerCredentials {
	c := r.cfg.Security.Peers
	if c.Password != "" {
		c.Password, _ = plainPassword(c.Password) // without {noop}; New checked it
	}
	return c
}

// Errors of authentication; statusFor maps them to 401 and 403. Their text
// goes to clients, so it says nothing of what was sent.
var (
	errNoCredentials  = errors.New("credentials required")
	errBadCredentials = errors.New("credentials not accepted")
	errDenied         = errors.New("credentials do not allow this")
)

// challenge is the WWW-Authenticate of every 401: Spring Security's realm
// for Basic, and bearer tokens.
var challenge = []string{`Basic realm="eureka"`, `Bearer realm="eureka"`}

// password is a configured password, ready to compare.
type password struct {
	plain  [32]byte // SHA-256 of a plain password, so comparing takes constant time
	bcrypt []byte   // or a bcrypt hash
}

// encodingPrefix splits Spring's "{id}rest"; ok is false for a password
// without one, which Spring Boot reads as {noop}.
func encodingPrefix(s string) (id, rest string, ok bool) {
	if !strings.HasPrefix(s, "{") {
		return "", s, false
	}
	end := strings.IndexByte(s, '}')
	if end < 2 {
		return "", s, false
	}
	return s[1:end], s[end+1:], true
}

// parsePassword reads a configured password. Its errors never repeat it.
func parsePassword(s string) (password, error) {
	id, rest, ok := encodingPrefix(s)
	switch {
	case s == "":
		return password{}, errors.New("empty; set a password, or remove the key to turn authentication off")
	case !ok, id == "noop":
		if rest == "" {
			return password{}, errors.New("empty; set a password, or remove the key to turn authentication off")
		}
		return password{plain: sha256.Sum256([]byte(rest))}, nil
	case id == "bcrypt":
		if _, err := bcrypt.Cost([]byte(rest)); err != nil {
			return password{}, errors.New("{bcrypt} is not followed by a bcrypt hash such as $2a$10$ and 53 more characters")
		}
		return password{bcrypt: []byte(rest)}, nil
	}
	return password{}, errors.New("starts with an encoding other than {bcrypt} or {noop}; " +
		"write the password plain, as {noop}PASSWORD, or as {bcrypt}HASH")
}

// plainPassword reads a password this registry sends (to its peers).
func plainPassword(s string) (string, error) {
	id, rest, ok := encodingPrefix(s)
	switch {
	case ok && id == "noop":
		s = rest
	case ok:
		return "", errors.New("peers send this password, so write it plain or as {noop}PASSWORD, not hashed")
	}
	if s == "" {
		return "", errors.New("empty; set the password peers send")
	}
	return s, nil
}

// parseTokenHash reads "sha256:<64 hex digits>". Its errors never repeat
// the value: it may be a token pasted in place of its hash.
func parseTokenHash(s string) ([32]byte, error) {
	var sum [32]byte
	hexSum, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(hexSum) != 64 {
		return sum, errors.New(`want "sha256:" and the 64 hex digits of the token's SHA-256, as printf %s "$TOKEN" | sha256sum prints them`)
	}
	if _, err := hex.Decode(sum[:], []byte(hexSum)); err != nil {
		return sum, errors.New(`want "sha256:" and the 64 hex digits of the token's SHA-256; found a character that is not a hex digit`)
	}
	return sum, nil
}

// validate reports every setting no registry can run with, naming the
// fields; Bind reports the same problems by key, with file and line.
func (s *Security) validate() error {
	_, err := newAuthenticator(s)
	return err
}

// principal is what a set of credentials may do.
type principal struct {
	any       bool     // may write every application's instances
	replicate bool     // may send replication: batches and the replication header
	apps      []string // the applications it may write, upper case, when not any
}

var fullAccess = &principal{any: true, replicate: true}

func (p *principal) mayWrite(app string) bool {
	if p.any {
		return true
	}
	for _, a := range p.apps {
		if strings.EqualFold(a, app) {
			return true
		}
	}
	return false
}

type basicUser struct {
	name  [32]byte // SHA-256 of the user name
	pass  password
	grant *principal
}

type bearerToken struct {
	hash  [32]byte
	grant *principal
}

// maxCachedCredentials bounds the cache of verified Authorization headers.
// Every client of one application sends the same header, so a registry sees
// about as many as it has credentials.
const maxCachedCredentials = 1024

// authenticator checks requests against Security. It is safe for concurrent
// use. Verified credentials are cached by the SHA-256 of the whole
// Authorization header, so a heartbeat costs one hash and one map lookup, not
// a bcrypt comparison (tens of milliseconds by design).
type authenticator struct {
	users  []basicUser
	tokens []bearerToken
	reads  bool          // reads need credentials
	slow   chan struct{} // bounds concurrent bcrypt comparisons, so a flood of wrong passwords leaves CPUs for heartbeats

	mu    sync.RWMutex            // guards cache
	cache map[[32]byte]*principal // SHA-256 of an Authorization header -> what it may do
}

// newAuthenticator compiles s; it returns nil when security is off.
func newAuthenticator(s *Security) (*authenticator, error) {
	if !s.Enabled() {
		return nil, nil
	}
	a := &authenticator{
		reads: s.AuthenticatedReads,
		slow:  make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
		cache: make(map[[32]byte]*principal),
	}
	var errs []error
	bad := func(field string, err error) {
		errs = append(errs, fmt.Errorf("registry: Security.%s: %w", field, err))
	}
	addUser := func(field string, c Credentials, grant *principal) {
		if c.Username == "" {
			bad(field+".Username", errors.New("empty; want the user name clients send"))
		}
		p, err := parsePassword(c.Password)
		if err != nil {
			bad(field+".Password", err)
			return
		}
		a.users = append(a.users, basicUser{name: sha256.Sum256([]byte(c.Username)), pass: p, grant: grant})
	}
	if s.User.Username != "" || s.User.Password != "" {
		addUser("User", s.User, fullAccess)
	}
	apps := make([]string, 0, len(s.Apps))
	for app := range s.Apps {
		apps = append(apps, app)
	}
	sort.Strings(apps) // errors in a stable order
	for _, app := range apps {
		addUser("Apps["+app+"]", s.Apps[app], &principal{apps: []string{strings.ToUpper(app)}})
	}
	for i, t := range s.Tokens {
		sum, err := parseTokenHash(t.Hash)
		if err != nil {
			bad(fmt.Sprintf("Tokens[%d].Hash", i), err)
			continue
		}
		grant := fullAccess
		if len(t.Apps) > 0 {
			grant = &principal{}
			for _, app := range t.Apps {
				grant.apps = append(grant.apps, strings.ToUpper(app))
			}
		}
		a.tokens = append(a.tokens, bearerToken{hash: sum, grant: grant})
	}
	pc := s.Peers
	switch {
	case pc.Token != "" && (pc.Username != "" || pc.Password != ""):
		bad("Peers", errors.New("both a token and a user name or password; set one"))
	case pc.Token != "":
		a.tokens = append(a.tokens, bearerToken{hash: sha256.Sum256([]byte(pc.Token)), grant: fullAccess})
	case pc.Username != "" || pc.Password != "":
		if pc.Username == "" {
			bad("Peers.Username", errors.New("empty; want the user name peers send"))
		}
		pw, err := plainPassword(pc.Password)
		if err != nil {
			bad("Peers.Password", err)
			break
		}
		a.users = append(a.users, basicUser{name: sha256.Sum256([]byte(pc.Username)), pass: password{plain: sha256.Sum256([]byte(pw))}, grant: fullAccess})
	}
	if len(a.users) == 0 && len(a.tokens) == 0 && len(errs) == 0 {
		bad("AuthenticatedReads", errors.New("reads need credentials, but none are configured"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return a, nil
}

// check authorizes a request to the Eureka API. resource is the first path
// element after /eureka/ ("apps", "peerreplication" ...), app the application
// in the path, if any. Writes need credentials that may write app's
// instances; replication (a batch, or the replication header) needs a peer's,
// the administrator's or a full-access token. Without this an anonymous
// X-Netflix-Discovery-Replication header would skip the checks Eureka makes
// on client writes. Reads need any credentials when they are closed.
// On the cached path it does not allocate.
func (a *authenticator) check(req *http.Request, resource, app string) error {
	write := req.Method != http.MethodGet && req.Method != http.MethodHead
	if !write && !a.reads {
		return nil
	}
	p, err := a.authenticate(req)
	switch {
	case err != nil:
		return err
	case !write:
		return nil
	case resource == "peerreplication" || isReplication(req):
		if !p.replicate {
			return errDenied
		}
	case resource == "apps" && app != "" && !p.mayWrite(app):
		return errDenied
	}
	return nil
}

// authenticate returns what the request's credentials may do.
func (a *authenticator) authenticate(req *http.Request) (*principal, error) {
	h := req.Header.Get("Authorization")
	if h == "" {
		return nil, errNoCredentials
	}
	key := headerDigest(h)
	a.mu.RLock()
	p := a.cache[key]
	a.mu.RUnlock()
	if p != nil {
		return p, nil
	}
	if p = a.verify(req.Context(), h); p == nil {
		return nil, errBadCredentials
	}
	a.mu.Lock()
	if len(a.cache) >= maxCachedCredentials {
		for k := range a.cache { // an arbitrary one
			delete(a.cache, k)
			break
		}
	}
	a.cache[key] = p
	a.mu.Unlock()
	return p, nil
}

// headerDigest hashes an Authorization header. Headers up to 512 bytes are
// copied to the stack, so hashing them does not allocate.
func headerDigest(h string) [32]byte {
	if len(h) <= 512 {
		var buf [512]byte
		n := copy(buf[:], h)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(h))
}

// verify checks an Authorization header against the configured credentials.
// Comparisons take the same time whatever they find, except that a known
// user name with a bcrypt password costs a bcrypt comparison.
func (a *authenticator) verify(ctx context.Context, h string) *principal {
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimLeft(cred, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		sum := sha256.Sum256([]byte(cred))
		var found *principal
		for _, t := range a.tokens {
			if subtle.ConstantTimeCompare(sum[:], t.hash[:]) == 1 && found == nil {
				found = t.grant
			}
		}
		return found
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return nil
		}
		name, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return nil
		}
		nameSum := sha256.Sum256([]byte(name))
		for i := range a.users {
			u := &a.users[i]
			if subtle.ConstantTimeCompare(nameSum[:], u.name[:]) == 1 && a.matches(ctx, &u.pass, pass) {
				return u.grant
			}
		}
	}
	return nil
}

func (a *authenticator) matches(ctx context.Context, p *password, given string) bool {
	if p.bcrypt == nil {
		sum := sha256.Sum256([]byte(given))
		return subtle.ConstantTimeCompare(sum[:], p.plain[:]) == 1
	}
	select {
	case a.slow <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-a.slow }()
	return bcrypt.CompareHashAndPassword(p.bcrypt, []byte(given)) == nil
}

// guardReads makes h need credentials when reads are closed (for /metrics).
func (r *Registry) guardReads(a *authenticator, h http.Handler) http.Handler {
	if a == nil || !a.reads {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if _, err := a.authenticate(req); err != nil {
			r.writeError(w, req, err)
			return
		}
		h.ServeHTTP(w, req)
	})
}

// refusedOp names the operation of a request refused before dispatch, for
// the request metrics, as dispatch would have named it.
func refusedOp(resource, a, b, seg3, method string) op {
	read := method == http.MethodGet || method == http.MethodHead
	switch resource {
	case "apps":
		switch {
		case read && a == "":
			return opFetchFull
		case read && a == "delta" && b == "":
			return opFetchDelta
		case read && b == "":
			return opFetchApp
		case read:
			return opFetchInstance
		case method == http.MethodPost && a != "" && b == "":
			return opRegister
		case b == "":
			return opUnknown
		case seg3 == "" && method == http.MethodPut:
			return opRenew
		case seg3 == "" && method == http.MethodDelete:
			return opCancel
		case seg3 == "status" && method == http.MethodPut:
			return opStatus
		case seg3 == "status" && method == http.MethodDelete:
			return opDeleteStatus
		case seg3 == "metadata" && method == http.MethodPut:
			return opMetadata
		}
	case "instances":
		return opFetchInstance
	case "vips", "svips":
		return opFetchVIP
	case "status":
		return opServerStatus
	case "watch":
		return opWatch
	case "peerreplication":
		return opBatch
	}
	return opUnknown
}

// bindSecurity binds Security from Spring's and our keys, reporting every
// problem with its key. Error messages never repeat a secret.
func bindSecurity(b *springconf.Binder, s *Security) {
	const user = "spring.security.user."
	name, hasName := b.Lookup(user + "name")
	pass, hasPass := b.Lookup(user + "password")
	b.Ignore(user + "roles")
	if hasName || hasPass {
		s.User = Credentials{Username: strings.TrimSpace(name.Value), Password: pass.Value}
		switch {
		case !hasPass:
			b.Errorf(user+"name", "set without spring.security.user.password; set both (Spring would make up a password and log it)")
		case s.User.Username == "" && !hasName:
			s.User.Username = "user" // Spring Security's default
		case s.User.Username == "":
			b.Errorf(user+"name", "empty; want the user name clients put in their defaultZone URLs")
		}
		if hasPass {
			if _, err := parsePassword(pass.Value); err != nil {
				b.Errorf(user+"password", "%v", err)
			}
		}
	}

	const sec = "switchboard.registry.security."
	for _, sub := range b.List(sec + "apps") {
		k := sec + "apps." + sub
		if strings.HasPrefix(sub, "[") {
			k = sec + "apps" + sub
		}
		app := strings.ToUpper(strings.Trim(sub, "[]"))
		var c Credentials
		if v, ok := b.Lookup(k + ".username"); ok {
			c.Username = strings.TrimSpace(v.Value)
		}
		if c.Username == "" {
			b.Errorf(k, "no username; want the user name %s's instances send", app)
		}
		v, ok := b.Lookup(k + ".password")
		if ok {
			c.Password = v.Value
			if _, err := parsePassword(v.Value); err != nil {
				b.Errorf(k+".password", "%v", err)
			}
		} else {
			b.Errorf(k, "no password; want the password %s's instances send, plain or {bcrypt}", app)
		}
		if s.Apps == nil {
			s.Apps = map[string]Credentials{}
		}
		s.Apps[app] = c
	}

	for _, i := range b.List(sec + "tokens") {
		k := sec + "tokens[" + i + "]"
		var t Token
		b.String(k+".name", &t.Name)
		b.StringList(k+".apps", &t.Apps)
		if v, ok := b.Lookup(k + ".hash"); !ok {
			b.Errorf(k, "no hash; want hash: \"sha256:\" and the hex SHA-256 of the token")
		} else if _, err := parseTokenHash(v.Value); err != nil {
			b.Errorf(k+".hash", "%v", err)
		} else {
			t.Hash = v.Value
		}
		s.Tokens = append(s.Tokens, t)
	}

	reads := "open"
	b.Enum(sec+"reads", &reads, "open", "authenticated")
	s.AuthenticatedReads = reads == "authenticated"

	const peers = sec + "peers."
	b.String(peers+"username", &s.Peers.Username)
	b.String(peers+"token", &s.Peers.Token)
	pw, hasPeerPass := b.Lookup(peers + "password")
	if hasPeerPass {
		plain, err := plainPassword(pw.Value)
		if err != nil {
			b.Errorf(peers+"password", "%v", err)
		}
		s.Peers.Password = plain
	}
	pc := s.Peers
	switch {
	case pc.Token != "" && (pc.Username != "" || hasPeerPass):
		b.Errorf(peers+"token", "set with peers.username or peers.password; set a token or a user name and password")
	case pc.Username != "" && !hasPeerPass:
		b.Errorf(peers+"username", "set without switchboard.registry.security.peers.password; set both")
	case pc.Username == "" && hasPeerPass:
		b.Errorf(peers+"password", "set without switchboard.registry.security.peers.username; set both")
	}

	if s.AuthenticatedReads && !hasPass && len(s.Apps) == 0 && len(s.Tokens) == 0 && !hasPeerPass && pc.Token == "" {
		b.Errorf(sec+"reads", "authenticated, but no credentials are configured; set spring.security.user.password, tokens or apps")
	}
}
