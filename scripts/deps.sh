#!/usr/bin/env bash
# Installs what a fresh Debian bookworm machine lacks for iomapct, and
# nothing when everything is there (so `make test` stays fast when warm).
set -euo pipefail
pkgs=(
  linux-source-6.12                               # the kernel under test
  build-essential flex bison bc libelf-dev libssl-dev cpio kmod lz4 xz-utils patch perl ccache  # building it
  qemu-system-x86                                 # booting it
  lcov                                            # iomapct coverage: lcov --summary, genhtml
)
# The filesystems' mkfs and fsck tools (and debugfs, xfs_db, gfs2_edit,
# which come with them): the registry names the packages
# (filesystems/entries.go), so a new filesystem brings its own.
cd "$(dirname "$0")/.."
fs_pkgs=$("${GO:-go}" run ./cmd/iomapct deps) || { echo "deps: go run ./cmd/iomapct deps failed (is Go on PATH? the Makefile adds /usr/local/go/bin)" >&2; exit 1; }
# shellcheck disable=SC2206 # one package a line, no spaces in names
pkgs+=($fs_pkgs)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
