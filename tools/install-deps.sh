#!/bin/bash
#
# Install the Debian packages mlv needs to build, test and (with --bench)
# benchmark, but only those that are missing.
#
#   tools/install-deps.sh           build + test dependencies
#   tools/install-deps.sh --bench   also the reference tools bench/ compares with
#
# "make test", "make demo" and .ci/run call this every time, so the common
# case (everything installed) must be silent and fast: a single dpkg call,
# no apt-get, no output.

set -euo pipefail

# Compiler, headers and libraries that the Makefile links against.
build_pkgs=(
	build-essential
	pkg-config
	libgit2-dev
	libsqlite3-dev
	libzstd-dev
	libssl-dev
	libjansson-dev
	libyaml-dev
	libcurl4-openssl-dev
)

# What the test suite runs: git builds the fixture repositories, perl
# provides prove, zstd/sqlite3 inspect the store, man-db and groff-base
# render the man pages, util-linux gives mount/flock/etc., strace lets a
# test prove that a no-op add opens no data file, jq reads --json output,
# openssl is the keystream behind test-lib's generate_file (it is only
# "optional" in Debian, so --no-install-recommends systems may lack it),
# and python3-torch/python3-numpy are the real training scripts of the run
# and repro tests (nvidia-cuda-toolkit is not needed: nvcc, when present,
# only adds mlv-refnet's CUDA path).
test_pkgs=(
	git
	perl
	openssl
	zstd
	sqlite3
	man-db
	groff-base
	util-linux
	strace
	jq
	python3
	python3-numpy
	python3-torch
)

# The tools bench/ measures mlv against; large, so only on request.
bench_pkgs=(
	git-lfs
	git-annex
	restic
	hyperfine
	time
)

usage() {
	echo "usage: tools/install-deps.sh [--bench]"
}

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
while [ $# -gt 0 ]; do
	case "$1" in
	--bench)
		want+=("${bench_pkgs[@]}")
		;;
	-h|--help)
		usage
		exit 0
		;;
	*)
		echo "install-deps: unknown option '$1'" >&2
		usage >&2
		exit 129
		;;
	esac
	shift
done

if ! command -v dpkg >/dev/null 2>&1; then
	echo "install-deps: error: dpkg not found; this script supports Debian and Ubuntu only." >&2
	echo "install-deps: install these packages (or their equivalents) by hand: ${want[*]}" >&2
	exit 1
fi

# One "dpkg -s" for all packages: it prints a stanza per installed (or
# once-installed) package and complains on stderr about unknown ones.  A
# package counts as present only when its Status says "installed" (not
# "config-files", "half-installed", ...).  A multi-arch package may have
# several stanzas; any installed one will do.
installed=$(dpkg -s "${want[@]}" 2>/dev/null |
	awk '/^Package: /	{ pkg = $2 }
	     /^Status: .* installed$/	{ print pkg }' || true)

declare -A have=()
while read -r pkg; do
	[ -n "$pkg" ] && have[$pkg]=1
done <<<"$installed"

missing=()
for pkg in "${want[@]}"; do
	[ -n "${have[$pkg]-}" ] || missing+=("$pkg")
done

[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo=(sudo)
	else
		echo "install-deps: error: missing packages: ${missing[*]}" >&2
		echo "install-deps: not running as root and sudo is not installed; install them as root:" >&2
		echo "    apt-get install ${missing[*]}" >&2
		exit 1
	fi
fi

echo "install-deps: installing ${missing[*]}"

export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get update -q >/dev/null; then
	echo "install-deps: error: 'apt-get update' failed" >&2
	exit 1
fi
if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends "${missing[@]}"; then
	echo "install-deps: error: could not install: ${missing[*]}" >&2
	exit 1
fi
