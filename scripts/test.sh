#!/bin/sh
# Install what is missing, build, and run the whole test suite three
# times: a plain build, ASan+UBSan, and TSan (the connect pool is
# threaded). Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1

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

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
