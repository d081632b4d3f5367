#!/bin/sh
# scripts/check-deb.sh DEB: install the fanout package DEB (as built by
# scripts/deb.sh) with apt-get, check the installation, remove it and
# check that nothing of it is left:
#   - dpkg -L lists the programs (/usr/bin/orchestrator, a link to
#     /usr/libexec/fanout/orchestrator, and /usr/libexec/fanout/node),
#     the man pages, the bash completion and the systemd user unit, and
#     they are on disk;
#   - orchestrator, found on PATH, prints the package's version (-V);
#   - man -w finds each man page (where dpkg excludes man pages, as
#     Debian's container images do, they are checked in the .deb);
#   - an interactive bash loads the completion and completes --han;
#   - systemd-analyze verify --user accepts the unit (skipped, and said,
#     where systemd-analyze is missing or cannot run);
#   - a real fleet runs from PATH: 3 nodes ack a line, and 2 nodes under
#     the exec handler show that their node is /usr/libexec/fanout/node;
#   - apt-get remove leaves no file or directory of the package behind
#     and dpkg -L lists nothing.
# Any failure ends it with a message naming the check and a non-zero
# status (the package is removed even then). Needs root or sudo; installs
# man-db, bash-completion and python3 if they are missing.
set -u

die() {
	echo "check-deb.sh: FAIL: $*" >&2
	exit 1
}
ok() { echo "ok: $*"; }

[ $# -eq 1 ] || die "usage: scripts/check-deb.sh DEB"
[ -f "$1" ] || die "no such file: $1"
# apt-get takes a local package only as a path with a slash.
deb=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
start=$(date +%s)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_get() {
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -y -qq \
		-o Dpkg::Use-Pty=0 "$@"
}

pkg=$(dpkg-deb -f "$deb" Package) || die "$deb is not a Debian package"
[ "$pkg" = fanout ] || die "$deb is package '$pkg', not fanout"
version=$(dpkg-deb -f "$deb" Version)
upstream=${version%-*}

missing=""
for p in man-db bash-completion python3; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing" >&2
	apt_get update || die "apt-get update failed"
	# shellcheck disable=SC2086 # package names, split on purpose
	apt_get install $missing >&2 || die "could not install$missing"
fi

installed() {
	dpkg-query -W -f='${db:Status-Abbrev}' fanout 2>/dev/null |
		grep -q '^.[iHUFWt]'
}
if installed; then
	echo "fanout $(dpkg-query -W -f='${Version}' fanout) is installed: removing it first" >&2
	apt_get remove fanout >&2 || die "could not remove the installed fanout"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fanout-check.XXXXXX")
chmod 755 "$work"
cleanup() {
	if installed; then
		echo "check-deb.sh: removing fanout after the failure" >&2
		apt_get remove fanout >/dev/null 2>&1
	fi
	rm -rf "$work"
}
trap cleanup EXIT
# dash runs no EXIT trap when a signal kills it: exit instead, so it runs.
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The package's paths (from the .deb), and which of them exist before
# the install: after the removal, exactly those may.
dpkg-deb --fsys-tarfile "$deb" | tar -tf - | sed 's#^\./#/#; s#/$##' |
	grep -v '^/\?$' >"$work/paths" || die "cannot list $deb"
while read -r p; do
	if [ -e "$p" ] || [ -L "$p" ]; then echo "$p"; fi
done <"$work/paths" >"$work/before"

# Paths dpkg is told not to unpack (path-exclude in /etc/dpkg/dpkg.cfg.d/,
# as Debian's container images exclude /usr/share/man/* and most of
# /usr/share/doc): such a file is in the .deb and in dpkg -L, not on disk.
# As dpkg does: the last path-exclude or path-include that matches wins.
cat /etc/dpkg/dpkg.cfg.d/* 2>/dev/null |
	sed -n 's/^[[:space:]]*\(path-exclude\|path-include\)[[:space:]=]*\([^[:space:]]*\).*/\1 \2/p' \
		>"$work/filters"
excluded() {
	verdict=1
	while read -r kind pat; do
		# shellcheck disable=SC2254
		case $1 in $pat)
			if [ "$kind" = path-exclude ]; then verdict=0; else verdict=1; fi
			;;
		esac
	done <"$work/filters"
	return $verdict
}
[ -s "$work/filters" ] && echo "dpkg filters paths here: $(tr '\n' ' ' <"$work/filters")"

echo "=== apt-get install $deb"
apt_get install "$deb" || die "apt-get install $deb failed"
installed || die "fanout is not installed after apt-get install"
ok "installed fanout $version"

# --- the files
dpkg -L fanout >"$work/listed" || die "dpkg -L fanout failed"
man_pages=$(grep '^/usr/share/man/man1/.*\.1\.gz$' "$work/listed")
for f in /usr/bin/orchestrator /usr/libexec/fanout/orchestrator \
	/usr/libexec/fanout/node /usr/share/man/man1/orchestrator.1.gz \
	/usr/share/bash-completion/completions/orchestrator \
	/usr/lib/systemd/user/fanout@.service; do
	grep -qx "$f" "$work/listed" || die "dpkg -L fanout does not list $f"
done
echo "$man_pages" | grep -q 'node\.1\.gz$' || die "dpkg -L fanout lists no man page of node"
nexcluded=0
while read -r f; do
	[ -d "$f" ] && continue
	if [ -e "$f" ] || [ -L "$f" ]; then continue; fi
	excluded "$f" || die "$f is listed by dpkg -L fanout but not on disk"
	nexcluded=$((nexcluded + 1))
done <"$work/listed"
[ "$(readlink -f /usr/bin/orchestrator)" = /usr/libexec/fanout/orchestrator ] ||
	die "/usr/bin/orchestrator does not lead to /usr/libexec/fanout/orchestrator"
[ -x /usr/libexec/fanout/node ] || die "/usr/libexec/fanout/node is not executable"
ok "dpkg -L lists the programs, the man pages, the completion and the unit, on disk ($nexcluded excluded by dpkg's path-exclude)"

# --- orchestrator on PATH
[ "$(command -v orchestrator)" = /usr/bin/orchestrator ] ||
	die "orchestrator on PATH is '$(command -v orchestrator)', not /usr/bin/orchestrator"
v=$(orchestrator -V 2>&1) || die "orchestrator -V failed: $v"
echo "$v" | grep -qw "$upstream" || die "orchestrator -V says '$v', not version $upstream"
ok "orchestrator -V: $v"

# --- man pages
for f in $man_pages; do
	name=$(basename "$f" .1.gz)
	if [ -e "$f" ]; then
		w=$(man -w "$name" 2>&1) || die "man -w $name failed: $w"
		[ "$w" = "$f" ] || die "man -w $name finds '$w', not $f"
		ok "man -w $name: $w"
	else
		# Not unpacked (excluded()): the page must be in the .deb and
		# format there.
		dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ".$f" | gzip -dc |
			MANWIDTH=80 man -l - 2>/dev/null | grep -q . ||
			die "$f is not in $deb or does not format"
		ok "$name(1) in the .deb and formats (/usr/share/man is excluded by dpkg's path-exclude here, so 'man -w $name' cannot find it)"
	fi
done

# --- bash completion, in an interactive bash as a user's
comp=$(HOME=$work bash -ic '
	source /usr/share/bash-completion/bash_completion
	_completion_loader orchestrator
	spec=$(complete -p orchestrator) || exit 1
	echo "$spec"
	fn=$(echo "$spec" | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
	COMP_WORDS=(orchestrator --han) COMP_CWORD=1
	COMP_LINE="orchestrator --han" COMP_POINT=18
	"$fn" orchestrator --han orchestrator
	printf "reply: %s\n" "${COMPREPLY[@]}"' </dev/null 2>"$work/comp.err")
echo "$comp" | grep -q '^complete -F _orchestrator orchestrator$' ||
	die "bash does not load the completion: '$comp' $(cat "$work/comp.err")"
echo "$comp" | grep -qx 'reply: --handler' ||
	die "'orchestrator --han<TAB>' does not complete to --handler: $comp"
ok "bash -i loads the completion (complete -F _orchestrator); --han completes to --handler"

# --- the systemd user unit
unit=/usr/lib/systemd/user/fanout@.service
grep -q '^ExecStart=/usr/bin/orchestrator ' "$unit" ||
	die "$unit does not start /usr/bin/orchestrator"
if ! command -v systemd-analyze >/dev/null; then
	echo "skip: systemd-analyze verify (systemd-analyze is not installed)"
else
	# An instance of the template, under a private runtime directory
	# (systemd-analyze needs one for --user; no user manager is asked).
	# Its Documentation= (man:orchestrator(1)) is looked up with man,
	# unless the page is not on disk (path-exclude).
	man=yes
	[ -e /usr/share/man/man1/orchestrator.1.gz ] || man=no
	mkdir -m 700 "$work/run"
	ln -s "$unit" "$work/fanout@check.service"
	out=$(XDG_RUNTIME_DIR=$work/run systemd-analyze verify --user \
		--man=$man "$work/fanout@check.service" 2>&1)
	rc=$?
	if echo "$out" | grep -q 'Failed to initialize manager'; then
		echo "skip: systemd-analyze verify --user cannot run here: $out"
	elif [ $rc -ne 0 ] || echo "$out" | grep -q 'fanout@'; then
		die "systemd-analyze verify --user $unit: $out"
	else
		ok "systemd-analyze verify --user --man=$man fanout@check.service"
	fi
fi

# --- a real fleet, from PATH, in an empty directory (built-in defaults)
ports=$(python3 -c '
import socket, random
for _ in range(200):
    base = random.randrange(20000, 60000)
    socks = []
    try:
        for p in range(base, base + 3):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(base); break
') || die "python3 could not look for free ports"
[ -n "$ports" ] || die "found no 3 free ports"
mkdir -m 700 "$work/xdg"
out=$(cd "$work" && printf 'hello, fleet\n' | HOME=$work XDG_RUNTIME_DIR=$work/xdg \
	timeout 60 orchestrator -n 3 -p "$ports" 2>&1)
rc=$?
[ $rc -eq 0 ] || die "orchestrator -n 3 -p $ports exited $rc: $out"
echo "$out" | grep -q '^#1 acked 3/3 ' || die "3 nodes did not ack a line: $out"
ok "orchestrator -n 3 -p $ports: a line acked 3/3, exit 0"
# shellcheck disable=SC2016 # $PPID is the node's, in the shell it starts
out=$(cd "$work" && printf 'readlink /proc/$PPID/exe\n' |
	HOME=$work XDG_RUNTIME_DIR=$work/xdg \
	timeout 60 orchestrator -n 2 -p "$ports" --handler exec --lines 2>"$work/run.err")
rc=$?
[ $rc -eq 0 ] || die "orchestrator --handler exec exited $rc: $out $(cat "$work/run.err")"
[ "$(printf '%s\n' "$out" | sort)" = "node0: /usr/libexec/fanout/node
node1: /usr/libexec/fanout/node" ] ||
	die "the nodes are not /usr/libexec/fanout/node: $out $(cat "$work/run.err")"
ok "orchestrator --handler exec: both nodes run /usr/libexec/fanout/node"

# --- removal
echo "=== apt-get remove fanout"
apt_get remove fanout || die "apt-get remove fanout failed"
status=$(dpkg-query -W -f='${db:Status-Abbrev}' fanout 2>/dev/null)
case $status in
"" | "un "*) ;;
*) die "fanout is in state '$status' after apt-get remove (config files left?)" ;;
esac
listed=$(dpkg -L fanout 2>/dev/null)
[ -z "$listed" ] || die "dpkg -L fanout still lists files: $listed"
left=""
while read -r p; do
	grep -qxF "$p" "$work/before" && continue
	if [ -e "$p" ] || [ -L "$p" ]; then left="$left $p"; fi
done <"$work/paths"
[ -z "$left" ] || die "left behind by apt-get remove:$left"
[ ! -e /usr/libexec/fanout ] || die "/usr/libexec/fanout is left"
ok "apt-get remove fanout: nothing of the package left ($(wc -l <"$work/paths") paths checked), dpkg -L empty"

echo "check-deb.sh: $deb passed every check in $(($(date +%s) - start)) s"
