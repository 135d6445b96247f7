#!/usr/bin/env bash
# The Debian package as an administrator meets it (ctest label "package"):
#   1. cpack builds tdxctl_*.deb and tdxctl-dbg_*.deb from the build tree;
#   2. the .deb is at most 15 MB, its binaries are stripped and their debug
#      info is in tdxctl-dbg under their build IDs;
#   3. lintian reports no error and no warning (overrides ship in the package);
#   4. a clean Debian 12 (debootstrap minbase, cached by make-chroot-base.sh)
#      installs it with `apt-get install ./tdxctl_*.deb` from the mirror and
#      runs it (in-chroot.sh), then purges it.
# Usage: install-test.sh BUILD_DIR. Needs root and the Debian mirror apt uses.
# Cache: $TDXCTL_TEST_CACHE/package (default /var/cache/tdxctl-tests/package):
# the base tarball, apt's downloaded .debs and lists, reused between runs.
set -euo pipefail
build=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cache=${TDXCTL_TEST_CACHE:-/var/cache/tdxctl-tests}/package
max_bytes=15000000
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

work=$(mktemp -d "${TMPDIR:-/var/tmp}/tdxctl-package.XXXXXX")
# The chroot's mounts live only in the unshare'd namespace below, so nothing
# is mounted under $work when this runs.
trap 'rm -rf --one-file-system "$work"' EXIT

step "cpack (in $build)"
(cd "$build" && cpack -B "$work/out") > "$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail cpack; }
debs=("$work"/out/tdxctl_*.deb)
ddebs=("$work"/out/tdxctl-dbg_*.deb)
[[ ${#debs[@]} == 1 && -f ${debs[0]} && ${#ddebs[@]} == 1 && -f ${ddebs[0]} ]] \
  || fail "cpack made: $(ls "$work/out")"
deb=${debs[0]} ddeb=${ddebs[0]}
size=$(stat -c %s "$deb")
echo "${deb##*/}: $size bytes; ${ddeb##*/}: $(stat -c %s "$ddeb") bytes"
((size <= max_bytes)) || fail "${deb##*/} is $size bytes, more than $max_bytes"

step "stripped binaries, debug info in tdxctl-dbg"
dpkg-deb -x "$deb" "$work/deb"
dpkg-deb -x "$ddeb" "$work/ddeb"
for bin in usr/bin/tdxctl usr/libexec/tdxctl/tdxctl-guest usr/lib/x86_64-linux-gnu/tdxctl/tdxctl-https.so; do
  info=$(file -b "$work/deb/$bin")
  [[ $info == *", stripped"* ]] || fail "$bin is not stripped: $info"
  id=$(readelf -n "$work/deb/$bin" | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p')
  debug=$work/ddeb/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
  [[ -n $id && -f $debug ]] || fail "no debug file for $bin (build ID '$id') in ${ddeb##*/}"
  [[ $(readelf -S "$debug" 2>/dev/null) == *.debug_info* ]] || fail "$debug has no .debug_info"
done

step "lintian"
lintian --version
# -I shows the informational tags too; only errors and warnings fail.
lintian -I --fail-on error,warning "$deb" "$ddeb" || fail "lintian (output above)"

step "clean Debian 12: base"
base=$("$here/make-chroot-base.sh" "$cache")
root=$work/root
mkdir "$root"
tar -C "$root" --zstd -xf "$base"
. "$here/debian-mirror.sh"
cat > "$root/etc/apt/sources.list" <<EOF
deb $(debian_mirror) bookworm main
deb $(debian_mirror) bookworm-updates main
deb $(debian_security_mirror) bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf"
# Maintainer scripts of a chroot must not start services (policy-rc.d(8)).
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp "$deb" "$here/in-chroot.sh" "$root/tmp/"
cp -a "$src/tests/fixtures/hosts/tdx-ready" "$root/tmp/tdx-ready"
mkdir -p "$cache/apt-archives/partial" "$cache/apt-lists/partial"

step "clean Debian 12: install and use (in-chroot.sh)"
# Private mount namespace: the mounts vanish with it, whatever happens. apt's
# downloads and lists persist in the cache (locked: one chroot at a time).
exec 9>"$cache/.apt.lock"
flock 9
unshare --mount --propagation private -- bash -euo pipefail -c '
  root=$1 cache=$2 deb=$3
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs tmpfs "$root/run"
  mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
  mount --bind "$cache/apt-lists" "$root/var/lib/apt/lists"
  # A clean environment: no TMPDIR or LIBGUESTFS_* of this host leaks in.
  env -i DEB="$deb" HOME=/root TERM=dumb /usr/sbin/chroot "$root" /tmp/in-chroot.sh
  # The cached downloads: only what the mirror still has.
  env -i HOME=/root /usr/sbin/chroot "$root" /usr/bin/apt-get -q autoclean >/dev/null
' bash "$root" "$cache" "${deb##*/}"
echo "ok: package test passed"
