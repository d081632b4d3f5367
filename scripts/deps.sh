#!/bin/sh
# Install what fanout needs to build and test, if anything is missing.
# Debian packages only; uses sudo when not root.
set -eu

PACKAGES="gcc meson ninja-build pkg-config libinih-dev libcmocka-dev
zlib1g-dev libreadline-dev libglib2.0-dev libsystemd-dev bash-completion python3
${FANOUT_EXTRA_PACKAGES:-}"
# The whole test suite also fuzzes (clang's libFuzzer), runs valgrind,
# and runs real sshds in network namespaces (tests/sshd_hosts.py; the
# package may try to start the machine's own sshd, which no test uses).
# It also builds the Debian package (scripts/deb.sh: dpkg-buildpackage,
# debhelper, lintian), then installs and checks it (scripts/check-deb.sh:
# man-db for man -w).
[ "${1:-}" = "--test" ] && PACKAGES="$PACKAGES clang libclang-rt-dev valgrind tmux iproute2
openssh-server openssh-client build-essential debhelper dpkg-dev lintian man-db"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
