#!/usr/bin/env bash
# Runs Switchboard's load harness after installing what it needs and is
# missing: wrk, nginx and haproxy from Debian (as root, with apt-get), Caddy
# with go install. Arguments go to the harness, e.g.
#
#   bench/run.sh -suite gateway -quick
#   bench/run.sh -suite all -duration 10s -rounds 3
#
# See BENCHMARKS.md.
set -euo pipefail

CADDY_VERSION=v2.10.0

cd "$(dirname "$0")/.."

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v taskset >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench/run.sh: missing ${missing[*]}; install them (apt-get install -y ${missing[*]}) or run as root" >&2
		exit 1
	fi
	echo "bench/run.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
if ! command -v caddy >/dev/null && [ ! -x "$gobin/caddy" ]; then
	echo "bench/run.sh: installing caddy $CADDY_VERSION with go install (a few minutes)" >&2
	GOFLAGS= go install "github.com/caddyserver/caddy/v2/cmd/caddy@$CADDY_VERSION"
fi

exec go run ./bench "$@"
