#!/usr/bin/env bash
# Times the kernel build paths recorded in BENCHMARKS.md:
#   warm   - nothing changed (artifact cache hit)
#   switch - a revision that changes one file (fs/iomap/buffered-io.c) after
#            the baseline was built in the same work tree
#   back   - switching back to the baseline (the file is restored)
#   cold   - (with COLD=1) a fresh cache: extract, copy, configure, compile
#            with an empty ccache
# Usage: scripts/bench-kernel.sh   (COLD=1 for the cold build too)
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); printf '%.1f' "$(echo "$e - $s" | bc)"; }

./bin/iomapct build -j 2 >/dev/null 2>&1   # make sure the baseline exists
echo "warm (nothing changed): $(t ./bin/iomapct build -j 2) s"

series=$(mktemp -d)
src=$(ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/iomapct/src/*/linux-source-6.12 | head -1)
tmp=$(mktemp -d)
mkdir -p "$tmp/a/fs/iomap" "$tmp/b/fs/iomap"
cp "$src/fs/iomap/buffered-io.c" "$tmp/a/fs/iomap/"
sed "s/^#include <linux\/module.h>/#include <linux\/module.h>\n\/* iomapct bench $(date +%s%N) *\//" "$src/fs/iomap/buffered-io.c" > "$tmp/b/fs/iomap/buffered-io.c"
(cd "$tmp" && diff -u a/fs/iomap/buffered-io.c b/fs/iomap/buffered-io.c > "$series/0001-bench.patch" || true)
echo "switch (one changed file): $(t ./bin/iomapct build -j 2 --series "$series") s"
# The baseline artifact is cached, so force the tree back through a build
# of a second one-file revision instead of a cache hit.
sed -i "s/iomapct bench [0-9]*/iomapct bench $(date +%s%N)/" "$series/0001-bench.patch"
echo "switch again (one changed file): $(t ./bin/iomapct build -j 2 --series "$series") s"
rm -rf "$series" "$tmp"

if [ "${COLD:-0}" = 1 ]; then
  # Wall time is what the target is about; CPU time (user+sys) is printed
  # too because it hardly moves with the machine's load, which wall time
  # under two busy cores does.
  cold=$(mktemp -d)
  echo "cold: load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  TIMEFORMAT='cold (empty cache, no ccache): %R s wall, %U s user, %S s sys'
  time (IOMAPCT_CACHE=$cold ./bin/iomapct build -j 2 >/dev/null)
  echo "cold: load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  rm -rf "$cold"
fi
