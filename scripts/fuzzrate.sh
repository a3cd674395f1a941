#!/bin/bash
# fuzzrate.sh [SECONDS]: run each fuzzer of the project for SECONDS (default
# 60) with one worker and a fresh corpus, and print its execs and the CPU
# time of the test binary and its fuzz worker (bash's time counts waited-for
# children): execs per CPU-second, unlike execs per second, does not depend
# on how loaded the machine is. See BENCHMARKS.md, "Fuzzers".
set -e
secs=${1:-60}
export PATH=/usr/local/go/bin:$PATH
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for spec in "FuzzSeriesParse ./kernel" "FuzzReadSequence ./cases" "FuzzOpen ./ondisk/ext" "FuzzOpen ./ondisk/xfs" "FuzzOpen ./ondisk/gfs2"; do
	set -- $spec
	go test -c -o "$tmp/f.test" "$2"
	out=$( (cd "$2" && TIMEFORMAT='cpu %U user %S sys'; time "$tmp/f.test" -test.run '^$' -test.fuzz "^$1\$" \
		-test.fuzztime "${secs}s" -test.parallel 1 -test.fuzzcachedir "$tmp/cache-$1-${2//\//_}") 2>&1)
	echo "$2 $1: $(grep '^fuzz: elapsed' <<<"$out" | tail -1 | sed 's/ (.*//'); $(grep '^cpu' <<<"$out")"
	grep -q '^ok\|^PASS' <<<"$out" || { echo "$out" | tail -20; exit 1; }
done
