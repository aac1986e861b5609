#!/usr/bin/env bash
# test-images.sh builds the local Docker images the executor's integration
# tests run, without pulling anything from a registry: the machines that run
# the tests may have no registry access, but they can reach Debian's apt
# mirror. Each image is built only when `docker image inspect` does not find
# its tag, so running the script again is cheap and changes nothing.
#
# Usage: scripts/test-images.sh [busybox|python|all]   (default: all)
#
#   lattice-test/busybox:1         busybox-static applets, /etc/passwd, /tmp, /ws
#   lattice-test/python:3-numpy    Debian bookworm minbase with python3-numpy
set -euo pipefail

readonly BUSYBOX_TAG="lattice-test/busybox:1"
readonly PYTHON_TAG="lattice-test/python:3-numpy"
readonly MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly SUITE="${DEBIAN_SUITE:-bookworm}"
readonly IMAGE_PATH="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

log() { printf '[test-images] %s\n' "$*" >&2; }

# as_root runs a command as root, through sudo only when we are not root
# already: containers and CI runners are often root without sudo installed.
as_root() {
	if [[ "$(id -u)" -eq 0 ]]; then
		"$@"
	else
		sudo "$@"
	fi
}

# apt_install installs Debian packages, refreshing the package lists once per
# run of this script and only when something is actually missing.
APT_UPDATED=0
apt_install() {
	if [[ "$APT_UPDATED" -eq 0 ]]; then
		log "apt-get update"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		APT_UPDATED=1
	fi
	log "apt-get install -y $*"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# WORKDIRS collects temporary directories so one trap removes them all, even
# when a build fails halfway.
WORKDIRS=()
cleanup() {
	local d
	for d in "${WORKDIRS[@]+"${WORKDIRS[@]}"}"; do
		as_root rm -rf --one-file-system "$d"
	done
}
trap cleanup EXIT

build_busybox() {
	if image_exists "$BUSYBOX_TAG"; then
		log "$BUSYBOX_TAG already present, skipping"
		return
	fi
	# Debian's busybox package is dynamically linked; only the static build
	# can run alone in an otherwise empty root file system, so a dynamic
	# /bin/busybox is replaced too (the two packages conflict).
	if [[ ! -x /bin/busybox ]] || ! file_is_static /bin/busybox; then
		apt_install busybox-static
	fi

	local started=$SECONDS root
	root="$(mktemp -d "${TMPDIR:-/tmp}/lattice-busybox.XXXXXX")"
	WORKDIRS+=("$root")
	log "building $BUSYBOX_TAG in $root"

	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,ws,root,proc,sys,dev}
	cp /bin/busybox "$root/bin/busybox"
	# Symlinks are created by hand rather than with `busybox --install`,
	# which resolves paths against the running system and may overwrite or
	# skip applets depending on the busybox version.
	local applet
	while IFS= read -r applet; do
		[[ -z "$applet" || "$applet" == busybox ]] && continue
		[[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
	done < <(/bin/busybox --list)

	cat >"$root/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >"$root/etc/group" <<-'EOF'
		root:x:0:
		nogroup:x:65534:
	EOF
	chmod 1777 "$root/tmp"
	chmod 0755 "$root/ws"
	chmod 0700 "$root/root"

	log "importing $BUSYBOX_TAG"
	tar --numeric-owner --owner=0 --group=0 -C "$root" -c . |
		docker import --change "ENV $IMAGE_PATH" - "$BUSYBOX_TAG" >/dev/null
	log "built $BUSYBOX_TAG in $((SECONDS - started))s"
}

# file_is_static reports whether the binary needs no dynamic loader. `ldd`
# prints "not a dynamic executable" for static binaries and fails.
file_is_static() {
	! ldd "$1" >/dev/null 2>&1
}

debootstrap_progress() {
	awk '
		function say(msg) { printf "[test-images]   %s\n", msg; fflush() }
		# Downloads come as "Retrieving <package> <version>" followed by
		# "Validating <package> <version>"; count the first only.
		/^I: Validating [^ ]+ [^ ]+$/ { next }
		/^I: (Extracting|Unpacking|Configuring) [^ ]+\.\.\.$/ || /^I: Retrieving [^ ]+ [^ ]+$/ {
			verb = $2
			if (verb != phase) {
				if (phase != "") say(phase " " n " packages done")
				phase = verb; n = 0
				say(verb " packages...")
			}
			if (++n % 20 == 0) say(verb " " n " packages...")
			next
		}
		/^I: / { if (phase != "") say(phase " " n " packages done"); phase = ""; say(substr($0, 4)); next }
		/^(W|E): / { say($0); next }
	'
}

build_python() {
	if image_exists "$PYTHON_TAG"; then
		log "$PYTHON_TAG already present, skipping"
		return
	fi
	if ! command -v debootstrap >/dev/null 2>&1; then
		apt_install debootstrap
	fi

	local started=$SECONDS root
	root="$(mktemp -d "${TMPDIR:-/tmp}/lattice-python.XXXXXX")"
	WORKDIRS+=("$root")
	log "debootstrap $SUITE into $root (about two minutes)"
	# debootstrap prints a line per package and phase; summarise them as one
	# line per phase plus a count every 20 packages, so the output shows
	# movement without burying everything else. Warnings and errors pass
	# through untouched.
	as_root debootstrap --variant=minbase --include=python3,python3-numpy \
		"$SUITE" "$root" "$MIRROR" 2>&1 | debootstrap_progress >&2 || true
	if [[ ! -x "$root/usr/bin/python3" ]]; then
		log "debootstrap did not produce /usr/bin/python3; see above"
		return 1
	fi

	log "stripping apt caches and documentation"
	as_root rm -rf \
		"$root"/var/cache/apt/archives/*.deb \
		"$root"/var/cache/apt/*.bin \
		"$root"/var/lib/apt/lists/* \
		"$root"/usr/share/doc/* \
		"$root"/usr/share/man/* \
		"$root"/usr/share/info/* \
		"$root"/usr/share/locale/* \
		"$root"/var/log/*
	as_root mkdir -p "$root/ws"
	as_root chmod 1777 "$root/tmp"

	log "importing $PYTHON_TAG"
	as_root tar --numeric-owner -C "$root" -c . |
		docker import --change "ENV $IMAGE_PATH" - "$PYTHON_TAG" >/dev/null
	log "built $PYTHON_TAG in $((SECONDS - started))s"
}

main() {
	local what="${1:-all}"
	if ! docker info >/dev/null 2>&1; then
		log "cannot reach the Docker engine (is dockerd running, and may $(id -un) use it?)"
		exit 1
	fi
	case "$what" in
	busybox) build_busybox ;;
	python) build_python ;;
	all)
		build_busybox
		build_python
		;;
	*)
		echo "usage: $0 [busybox|python|all]" >&2
		exit 2
		;;
	esac
	log "done"
}

main "$@"
