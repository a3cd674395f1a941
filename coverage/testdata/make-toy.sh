#!/usr/bin/env bash
# Regenerates testdata/toy: a tiny gcov-instrumented program built like the
# kernel's objects (-Os, -fprofile-arcs -ftest-coverage, a tree-relative
# fs/toy.c), its notes, and three cumulative .gcda snapshots: after a run
# with one argument, after a second identical run, after a run with four
# arguments (which reaches the x > 3 branch). gcc 12 (bookworm).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/fs" "$tmp/build/fs"
cp "$here/toy.c" "$tmp/src/fs/toy.c"
cd "$tmp/build"
gcc -Os -fprofile-arcs -ftest-coverage -c "$tmp/src/fs/toy.c" -o fs/toy.o
gcc -fprofile-arcs fs/toy.o -o toy
out="$here/toy"
rm -rf "$out"
mkdir -p "$out/notes/fs" "$out/notes/src/fs" "$out/snapshots"
cp fs/toy.gcno "$out/notes/fs/toy.gcno"
cp "$here/toy.c" "$out/notes/src/fs/toy.c"
./toy >/dev/null; cp fs/toy.gcda "$out/snapshots/1.gcda"
./toy >/dev/null; cp fs/toy.gcda "$out/snapshots/2.gcda"
./toy a b c >/dev/null; cp fs/toy.gcda "$out/snapshots/3.gcda"
gcov --json-format --stdout -o fs fs/toy.gcda >"$out/gcov.json"
