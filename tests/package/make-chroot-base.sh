#!/usr/bin/env bash
# A clean Debian 12 for the install test: `debootstrap --variant=minbase` plus
# what an administrator's host has anyway (systemd as init, man-db,
# bash-completion), packed as a tarball. Cached in CACHE_DIR under this
# script's hash: built once (2-4 minutes, ~60 MB from the mirror), rebuilt
# only when this script changes.
# Usage: make-chroot-base.sh CACHE_DIR   (prints the tarball's path)
# Needs root (debootstrap) and a Debian mirror (MIRROR, default: apt's).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=$1
key=$(sha256sum "$0" | cut -c1-16)
out=$cache/debian-12-minbase-$key.tar.zst
mkdir -p "$cache"
exec 9>"$cache/.base.lock"
flock 9
if [[ -s $out ]]; then
  echo "$out"
  exit 0
fi
. "$here/debian-mirror.sh"
work=$(mktemp -d "$cache/base.work.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
root=$work/root
debootstrap --variant=minbase --include=systemd,systemd-sysv,man-db,bash-completion \
  bookworm "$root" "$(debian_mirror)" > "$work/debootstrap.log" 2>&1 \
  || { tail -30 "$work/debootstrap.log" >&2; exit 1; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" --zstd -cf "$work/base.tar.zst" .
mv "$work/base.tar.zst" "$out"
# Older bases (an earlier version of this script) are of no further use.
find "$cache" -maxdepth 1 -name 'debian-12-minbase-*.tar.zst' ! -name "${out##*/}" -delete
echo "$out"
