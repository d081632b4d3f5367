#!/bin/sh
# Install what is missing, build, and run the whole test suite three
# times: a plain build (with one run under valgrind), ASan+UBSan, and TSan
# (the connect pool is threaded). Then build the Debian package, install
# it, check it and remove it. Then fuzz the node protocol's and the
# console protocol's frame decoders and the config parser for
# FUZZ_SECONDS each (default 40: two minutes in all). Ends with
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
scripts/deps.sh --test || exit 1

passed=0
failed=0

# run_suite DIR [meson options...]: configure, build and test one variant.
run_suite() {
	dir=$1
	shift
	echo "=== $dir: meson setup $*"
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi || { failed=$((failed + 1)); return; }
	ninja -C "$dir" || { failed=$((failed + 1)); return; }
	meson test -C "$dir" -v --print-errorlogs --num-processes 2 \
		>"$dir/test-output.txt" 2>&1
	cat "$dir/test-output.txt"
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$dir/test-output.txt")
	bad=$(sed -n 's/^\(Fail\|Timeout\|Unexpected Pass\): *\([0-9]*\).*/\2/p' \
		"$dir/test-output.txt" | awk '{s += $1} END {print s + 0}')
	[ -n "$ok" ] || bad=$((bad + 1))
	passed=$((passed + ${ok:-0}))
	failed=$((failed + bad))
}

run_suite build-test
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false
run_suite build-tsan -Db_sanitize=thread -Db_lundef=false

# The Debian package: built by scripts/deb.sh (dpkg-buildpackage, the unit
# tests, lintian) into a temporary directory, then installed, checked and
# removed by scripts/check-deb.sh. Its build's log is shown in full only
# when it fails.
echo "=== Debian package: scripts/deb.sh, scripts/check-deb.sh"
debdir=$(mktemp -d)
if deb=$(scripts/deb.sh "$debdir" 2>"$debdir/deb.log"); then
	grep -E '^(===|[EWIO]: |N: [0-9]+ hints? overridden)' "$debdir/deb.log"
	passed=$((passed + 1))
	if scripts/check-deb.sh "$deb"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
else
	cat "$debdir/deb.log"
	failed=$((failed + 1))
fi
rm -rf "$debdir"

# run_fuzz TARGET: fuzz for FUZZ_SECONDS from the seed corpus; a crash
# leaves its input in build-fuzz/, to be added to fuzz/corpus/TARGET.
run_fuzz() {
	echo "=== fuzz_$1: ${FUZZ_SECONDS:-40} s"
	mkdir -p "build-fuzz/corpus-$1"
	(cd build-fuzz && "./fuzz/fuzz_$1" -max_total_time="${FUZZ_SECONDS:-40}" \
		-max_len=8192 -print_final_stats=1 "corpus-$1" \
		"../fuzz/corpus/$1") >"build-fuzz/fuzz_$1.log" 2>&1
	rc=$?
	tail -12 "build-fuzz/fuzz_$1.log"
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
}

echo "=== build-fuzz: CC=clang meson setup -Dfuzz=true"
if [ -d build-fuzz ]; then set -- --reconfigure; else set --; fi
if CC=clang meson setup "$@" build-fuzz -Dfuzz=true -Dtests=false \
	-Db_sanitize=address,undefined -Db_lundef=false >/dev/null &&
	ninja -C build-fuzz; then
	run_fuzz proto
	run_fuzz ctl
	run_fuzz hostproto
	run_fuzz config
else
	failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
