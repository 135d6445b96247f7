#!/bin/bash
# Runs inside the clean Debian 12 (install-test.sh copies it to /tmp): installs
# the package as the README says, then uses it as an administrator would.
# Every feature tried here runs a tool from Depends (qemu-img, mke2fs,
# debugfs) or the libguestfs appliance, so a missing dependency fails here.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
contains() { grep -qF -- "$2" <<<"$1" || fail "$3: expected '$2' in: $1"; }

step "apt-get install ./$DEB (Depends and Recommends from the mirror)"
apt-get -q update
# The deb's own Depends pulls in the libguestfs appliance, supermin recommends
# a kernel: skip building that kernel's initramfs, which nothing here boots.
INITRD=No apt-get -q -y install "/tmp/$DEB" > /tmp/apt-install.log 2>&1 \
  || { tail -40 /tmp/apt-install.log; fail "apt-get install ./$DEB"; }
grep -E '^(Setting up|Unpacking) ' /tmp/apt-install.log | wc -l | sed 's/^/packages unpacked or set up: /'
[[ -z $(dpkg --audit) ]] || fail "dpkg --audit: $(dpkg --audit)"
# Names only: "liburing2 (>= 2.3)" is checked as liburing2 (apt honoured the version).
for p in $(dpkg-deb -f "/tmp/$DEB" Recommends | sed 's/([^)]*)//g' | tr -d ' ' | tr ',' ' '); do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>&1) == "install ok installed" ]] || fail "Recommends $p not installed"
done

step "tdxctl --version matches the package version"
pkg_version=$(dpkg-query -W -f='${Version}' tdxctl)
version=$(tdxctl --version)
[[ $version == "tdxctl ${pkg_version%-*}" ]] || fail "tdxctl --version says '$version', package is $pkg_version"
guest_version=$(/usr/libexec/tdxctl/tdxctl-guest --version)
[[ $guest_version == "tdxctl-guest ${pkg_version%-*}" ]] || fail "tdxctl-guest --version says '$guest_version'"
echo "$version (package $pkg_version)"

step "tdxctl host check --root /tmp/tdx-ready --no-libvirt"
set +e
check=$(tdxctl host check --root /tmp/tdx-ready --no-libvirt 2>&1)
rc=$?
set -e
echo "$check" | tail -3
# 0 (ready) and 3 (not ready) both mean it ran and judged the fixture.
[[ $rc == 0 || $rc == 3 ]] || fail "host check exited $rc: $check"
contains "$check" "CPU advertises TDX" "host check"
contains "$check" "host is ready for TDs" "host check of the tdx-ready fixture"

step "man -w tdxctl"
page=$(man -w tdxctl)
[[ $page == /usr/share/man/man1/tdxctl.1.gz ]] || fail "man -w tdxctl: $page"
[[ $(man -w tdxctl-volume) == /usr/share/man/man1/tdxctl-volume.1.gz ]] || fail "man -w tdxctl-volume"

step "bash-completion loads the completion on demand"
completion=$(bash -c '. /usr/share/bash-completion/bash_completion
  __load_completion tdxctl || exit 1
  complete -p tdxctl
  COMP_WORDS=(tdxctl host ch); COMP_CWORD=2; _tdxctl; echo "${COMPREPLY[*]}"')
contains "$completion" "complete -F _tdxctl tdxctl" "bash completion"
contains "$completion" "check" "completing 'tdxctl host ch'"

for unit in tdxctl-up.service tdxctl-keys.service; do
  step "systemd-analyze verify $unit"
  verify=$(systemd-analyze verify /lib/systemd/system/$unit 2>&1) \
    || fail "systemd-analyze verify $unit: $verify"
  [[ -z $verify ]] || fail "systemd-analyze verify $unit warns: $verify"
done

step "volume config create (templates, mke2fs, debugfs, qemu-img) and inspect (libguestfs appliance)"
cd /tmp
(umask 077; echo 0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef > seed.hex)
tdxctl volume config create -o config.qcow2 --hostname miner-0 \
  --miner-ss58 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY --seed-file seed.hex \
  --vm-ip 192.168.100.2/24 --gateway 192.168.100.1 --dns 1.1.1.1
[[ -s config.qcow2 && -s config.qcow2.sha384 ]] || fail "volume config create wrote no volume"
export LIBGUESTFS_BACKEND=direct
inspect=$(tdxctl volume inspect config.qcow2 2>&1) || fail "volume inspect: $inspect"
contains "$inspect" "miner-0" "volume inspect"
contains "$inspect" "/network-config.yaml  (netplan" "volume inspect (network-config.yaml from the installed template)"

step "td list on libvirt's in-process test driver (libvirt0 from Depends, opened on first use)"
domains=$(tdxctl --connect test:///default td list 2>&1) || fail "td list: $domains"
contains "$domains" "test  running" "td list on test:///default"

step "quote fetch from a closed port (libcurl4 from Depends, opened on first use)"
set +e
fetch=$(tdxctl quote fetch --from https://127.0.0.1:9 --out /tmp/fetched.bin 2>&1)
rc=$?
set -e
# libcurl ran and reported the refused connection: not a missing library.
[[ $rc != 0 ]] || fail "quote fetch from a closed port succeeded: $fetch"
contains "$fetch" "Couldn't connect to server" "quote fetch from a closed port"

step "keys serve opens its HTTPS plug-in (tdxctl-https.so through the RUNPATH, cpp-httplib from Depends)"
set +e
serve=$(tdxctl keys serve --listen 127.0.0.1:0 --cert /tmp/no-cert.pem --key /tmp/no-key.pem --store /tmp/keys 2>&1)
rc=$?
set -e
# The plug-in loaded and tried the certificate: not a missing plug-in.
[[ $rc == 2 ]] || fail "keys serve with a missing certificate exited $rc: $serve"
contains "$serve" "--cert /tmp/no-cert.pem: not a readable PEM certificate" "keys serve through the plug-in"

step "apt-get purge tdxctl leaves nothing behind"
apt-get -q -y purge tdxctl > /tmp/apt-purge.log 2>&1 || { cat /tmp/apt-purge.log; fail "purge"; }
for path in /usr/bin/tdxctl /usr/libexec/tdxctl /usr/lib/x86_64-linux-gnu/tdxctl /usr/share/tdxctl /usr/share/doc/tdxctl \
            /lib/systemd/system/tdxctl-up.service /lib/systemd/system/tdxctl-keys.service \
            /usr/share/bash-completion/completions/tdxctl; do
  [[ ! -e $path ]] || fail "$path is left after purge"
done
echo "ok: installed, used and purged"
