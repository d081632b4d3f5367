#!/bin/sh
# scripts/deb.sh [OUTDIR]: build the Debian package fanout_VERSION_ARCH.deb
# with Debian's own tools (debian/, dpkg-buildpackage, debhelper's meson
# build system; the unit tests run in dh_auto_test), check it with
# lintian (any error fails; the warnings left are listed, with their
# reasons, in debian/README.lintian), and print the .deb's path last,
# alone on its line on standard output (everything else goes to stderr).
#
# The tree built is the work tree's files as git knows them: tracked ones
# (with their uncommitted edits) and new ones not ignored; build
# directories and dist/ are never part of it. It is copied to a
# directory of its own under TMPDIR (dpkg-buildpackage writes next to
# the tree) and built there, source package included, so that lintian
# checks debian/ too. The .deb, the debug symbols' fanout-dbgsym .deb,
# the source (.dsc, .tar.xz), .buildinfo and .changes go to OUTDIR
# (default ./dist). Build dependencies are installed if missing
# (apt-get, through sudo when not root). DEB_BUILD_OPTIONS is honoured
# (default parallel=NPROC; nocheck skips the unit tests).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
outdir=${1:-$root/dist}

die() {
	echo "deb.sh: $*" >&2
	exit 1
}

# Build dependencies: dpkg-buildpackage, debhelper, lintian, and what the
# build itself needs (scripts/deps.sh installs those). build-essential is
# what dpkg-buildpackage requires of every build.
FANOUT_EXTRA_PACKAGES="build-essential debhelper dpkg-dev lintian ${FANOUT_EXTRA_PACKAGES:-}" \
	"$root/scripts/deps.sh" || die "could not install the build dependencies"
# debian/control is the authority: whatever of its Build-Depends deps.sh
# did not cover is installed from it.
if ! (cd "$root" && dpkg-checkbuilddeps) 2>/dev/null; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq "$root" >&2 ||
		die "could not install debian/control's Build-Depends"
fi

version=$(cd "$root" && dpkg-parsechangelog -S Version)
upstream=${version%-*}
meson_version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$root/meson.build" | head -1)
[ "$upstream" = "$meson_version" ] ||
	die "debian/changelog is at $version but meson.build at $meson_version: add a debian/changelog entry (dch -v $meson_version)"

work=$(mktemp -d "${TMPDIR:-/tmp}/fanout-deb.XXXXXX")
keep=""
trap '[ -n "$keep" ] || rm -rf "$work"' EXIT
# dash runs no EXIT trap when a signal kills it: exit instead, so it runs.
trap 'exit 130' INT
trap 'exit 143' TERM HUP
tree=$work/fanout-$upstream

# The tree: git's files of the work tree (tracked, with their edits, and
# untracked ones not ignored; deleted ones skipped), else (no git, e.g.
# an unpacked tarball) everything but build trees and dist/.
mkdir "$tree"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# shellcheck disable=SC2016 # the inner sh expands $f
	(cd "$root" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do
			if [ -e "$f" ] || [ -L "$f" ]; then printf "%s\0" "$f"; fi
		done' sh |
		sort -zu |
		tar --null --no-recursion -T - -cf -) | tar -xf - -C "$tree"
else
	(cd "$root" && tar --exclude='./build*' --exclude=./dist --exclude=./.git \
		--exclude='./obj-*' -cf - .) | tar -xf - -C "$tree"
fi
[ -f "$tree/debian/control" ] || die "no debian/control in the exported tree"

echo "=== dpkg-buildpackage -us -uc in $tree" >&2
start=$(date +%s)
(cd "$tree" &&
	DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$(nproc)} \
		dpkg-buildpackage -us -uc) >&2 || {
	keep=1
	die "dpkg-buildpackage failed; the tree and its build are kept in $work"
}
echo "=== built in $(($(date +%s) - start)) s" >&2

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
for f in "$work"/*.deb "$work"/*.ddeb "$work"/*.dsc "$work"/*.tar.* \
	"$work"/*.buildinfo "$work"/*.changes; do
	if [ -e "$f" ]; then mv -f "$f" "$outdir/"; fi
done
arch=$(dpkg --print-architecture)
deb=$outdir/fanout_${version}_$arch.deb
[ -f "$deb" ] || die "no $deb after the build"
changes=$outdir/fanout_${version}_$arch.changes

# lintian on the .changes: the source (debian/ itself), the .deb, the
# .buildinfo and the upload. Errors fail; warnings are printed (each is
# justified in debian/README.lintian); tags overridden on purpose are in
# debian/fanout.lintian-overrides, each with its reason.
echo "=== lintian $changes" >&2
rc=0
lintian --fail-on error --display-level '>=warning' "$changes" \
	>"$work/lintian.txt" 2>&1 || rc=$?
# lintian's advice against running as root is no finding.
grep -v '^running with root privileges' "$work/lintian.txt" >&2 || true
[ "$rc" -eq 0 ] || die "lintian found errors in $changes (exit $rc)"
echo "=== lintian: no error, $(grep -c '^W: ' "$work/lintian.txt") warning(s)" >&2

echo "$deb"
