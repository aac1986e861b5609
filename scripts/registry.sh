#!/usr/bin/env bash
# registry.sh runs a throwaway OCI registry for the remote-cache and
# deployment integration tests. It uses Debian's docker-registry package
# (the CNCF distribution registry) because no registry image can be pulled
# on the machines that run the tests, and it starts the binary directly so
# it works where systemd does not run (containers, CI runners).
#
# Usage: scripts/registry.sh start|stop|addr|status
#
#   start   install docker-registry if needed and start it on $ADDR with
#           filesystem storage in a temporary directory and deletes enabled;
#           a no-op when something already answers on $ADDR/v2/
#   stop    stop the registry this script started and remove its storage
#   addr    print the registry's host:port
#   status  exit 0 when the registry answers
#
# Environment: LATTICE_REGISTRY_ADDR (default 127.0.0.1:5000),
# LATTICE_REGISTRY_DIR (default $TMPDIR/lattice-registry) holding the
# config, pid file, log and blobs.
set -euo pipefail

readonly ADDR="${LATTICE_REGISTRY_ADDR:-127.0.0.1:5000}"
readonly STATE="${LATTICE_REGISTRY_DIR:-${TMPDIR:-/tmp}/lattice-registry}"
readonly BIN=/usr/bin/docker-registry
readonly START_TIMEOUT=30

log() { printf '[registry] %s\n' "$*" >&2; }

as_root() {
	if [[ "$(id -u)" -eq 0 ]]; then
		"$@"
	else
		sudo "$@"
	fi
}

answers() { curl -fsS -o /dev/null --max-time 2 "http://$ADDR/v2/" 2>/dev/null; }

ensure_installed() {
	if [[ -x "$BIN" ]]; then
		return
	fi
	log "installing Debian package docker-registry"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# The package's maintainer scripts try to start a system service; where
	# no init system runs that fails harmlessly and we start our own below.
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
}

# running_pid prints the pid of the registry this script started, if it is
# still alive and still the registry (pids are reused).
running_pid() {
	local pid
	[[ -f "$STATE/pid" ]] || return 1
	pid="$(<"$STATE/pid")"
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
	grep -qa docker-registry "/proc/$pid/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

start() {
	if answers; then
		log "registry already answering on $ADDR"
		return
	fi
	ensure_installed
	# A previous run's debris (stale pid, old blobs) must not leak into this
	# one: tests expect an empty registry.
	if pid="$(running_pid)"; then
		log "stopping unresponsive registry (pid $pid)"
		kill "$pid" 2>/dev/null || true
	fi
	rm -rf "$STATE"
	mkdir -p "$STATE/data"

	cat >"$STATE/config.yml" <<-EOF
		version: 0.1
		log:
		  level: warn
		  accesslog:
		    disabled: true
		storage:
		  filesystem:
		    rootdirectory: $STATE/data
		  delete:
		    enabled: true
		  maintenance:
		    uploadpurging:
		      enabled: false
		http:
		  addr: $ADDR
		  secret: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
		  headers:
		    X-Content-Type-Options: [nosniff]
	EOF

	local started=$SECONDS
	log "starting $BIN on $ADDR (state in $STATE)"
	# setsid detaches the registry from this shell's process group so that
	# Ctrl-C in the terminal that started it, or the end of a CI step, does
	# not take it down with the script.
	setsid "$BIN" serve "$STATE/config.yml" >"$STATE/log" 2>&1 </dev/null &
	local pid=$!
	echo "$pid" >"$STATE/pid"

	local deadline=$((SECONDS + START_TIMEOUT))
	until answers; do
		# Only whether it lives: until the child has exec'd the registry,
		# its command line is still this script's.
		if ! kill -0 "$pid" 2>/dev/null; then
			log "registry exited during start-up; its log follows"
			cat "$STATE/log" >&2
			exit 1
		fi
		if ((SECONDS >= deadline)); then
			log "registry did not answer on http://$ADDR/v2/ within ${START_TIMEOUT}s; its log follows"
			cat "$STATE/log" >&2
			exit 1
		fi
		sleep 0.1
	done
	log "registry answering on $ADDR after $((SECONDS - started))s"
}

stop() {
	local pid
	if pid="$(running_pid)"; then
		log "stopping registry (pid $pid)"
		kill "$pid"
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	else
		log "no registry started by this script is running"
	fi
	rm -rf "$STATE"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
addr) echo "$ADDR" ;;
status) answers ;;
*)
	echo "usage: $0 start|stop|addr|status" >&2
	exit 2
	;;
esac
