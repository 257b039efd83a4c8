package springconf

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Load reads file, if it is not "", and the environment, given as
// os.Environ returns it; environment variables override the file.
//
// The active profiles are profiles and those in SPRING_PROFILES_ACTIVE
// (comma-separated); if there are none, the file's spring.profiles.active,
// else "default". They select the file's documents as in Parse, and, as in
// Spring, each active profile's file beside it, application-dev.yml for
// application.yml, overrides it if it exists.
//
// Only environment variables that start with EUREKA_, SERVER_, SPRING_,
// SWITCHBOARD_, RESILIENCE4J_, MANAGEMENT_ or LOGGING_ are keys. '_'
// separates elements and a number between underscores is an index:
// SPRING_CLOUD_GATEWAY_ROUTES_0_ID is spring.cloud.gateway.routes[0].id.
// Placeholders resolve against the keys, then against every variable.
//
// An error reading a file is returned as is; anything wrong in the text
// is a *ConfigError listing every problem.
func Load(file string, environ []string, profiles []string) (*Props, error) {
	p := &Props{}
	p.addEnv(environ)
	given := slices.Clone(profiles)
	if v := p.environ["SPRING_PROFILES_ACTIVE"]; v != "" {
		given = append(given, v)
	}
	if file == "" {
		p.profiles = activeProfiles(given, nil)
		if err := configError(p.check()); err != nil {
			return nil, err
		}
		return p, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	docs, probs := parseDocs(filepath.Base(file), 0, data)
	if len(probs) > 0 {
		return nil, configError(probs)
	}
	p.profiles = activeProfiles(given, docs)
	probs = p.mergeActive(docs)

	ext := filepath.Ext(file)
	stem := strings.TrimSuffix(file, ext)
	for i, profile := range p.profiles {
		if strings.ContainsAny(profile, `/\`) {
			continue
		}
		name := stem + "-" + profile + ext
		data, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		docs, syntax := parseDocs(filepath.Base(name), i+1, data)
		probs = append(probs, syntax...)
		if len(syntax) == 0 {
			probs = append(probs, p.mergeActive(docs)...)
		}
	}
	if len(probs) == 0 {
		probs = p.check()
	}
	if err := configError(probs); err != nil {
		return nil, err
	}
	return p, nil
}
