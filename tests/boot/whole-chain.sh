#!/usr/bin/env bash
# The whole chain, proven without TDX hardware (ctest label "boot"):
#   1. the Debian 12 base (tests/fixtures/image/make-debian-base.sh, cached);
#   2. `tdxctl image build` with sample evidence and a marker unit;
#   3. `tdxctl volume config create`; a blank containerd volume;
#   4. `tdxctl net up` in a fresh network namespace (a real bridge and tap);
#   5. `tdxctl keys serve --insecure-accept-sample` on the bridge address, the
#      VM registered with `tdxctl keys add` (root key and containerd key);
#   6. QEMU under TCG with the kernel, initrd, command line, disks and tap the
#      domain XML renders (`tdxctl td xml`; libvirtd does not run here, so
#      QEMU is started directly from those values), twice, then once more
#      after the VM is registered with a policy that pins an MRTD.
# Every assertion reads the serial console or the service's log.
# Usage: whole-chain.sh BUILD_DIR. Needs root, /dev/net/tun and the mirror
# (for the base on a cold cache). TDXCTL_BOOT_KEEP=1 keeps the work dir.
set -euo pipefail
build=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
tdxctl=$build/tdxctl
export LIBGUESTFS_BACKEND=direct
boot_timeout=${TDXCTL_BOOT_TIMEOUT:-300}
t0=$(date +%s)

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== [$(($(date +%s) - t0)) s] $*"; }

work=$(mktemp -d "$build/boot-test.XXXXXX")
ns=tdxboot$$
server_pid=
# Best effort, and the test's own status is kept: a server that exits 143 on
# SIGTERM must not turn a pass into a failure (set -e applies in traps too).
cleanup() {
  local rc=$?
  set +e
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  if [[ ${TDXCTL_BOOT_KEEP:-} == 1 ]]; then echo "kept $work"; else rm -rf --one-file-system "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
cd "$work"

bridge_ip=192.168.100.1 vm_ip=192.168.100.2 port=8443 vm=tdx-boot

step "Debian 12 base"
base=$build/image-fixture/debian-12-base.qcow2
"$src/tests/fixtures/image/make-debian-base.sh" "$base"

step "the key service's PKI (its own CA, pinned in the image)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
  -days 1 -subj "/CN=tdxctl boot test CA" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr \
  -subj "/CN=$bridge_ip" 2>/dev/null
printf 'subjectAltName=IP:%s\n' "$bridge_ip" > san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile san.ext \
  -out server.pem 2>/dev/null

step "image build (sample evidence, a marker unit)"
# After multi-user.target: print what the test checks, then power off. The
# line also goes to the second serial port (QEMU's marker-N.log), which
# nothing else writes to: on the console a kernel message can land inside it
# when TCG is slow.
cat > boot-marker <<'SH'
#!/bin/sh
m=/var/lib/rancher/k3s/agent/containerd
if [ -f $m/boot-marker ]; then data=kept; else date > $m/boot-marker && data=new; fi
line="TDXCTL-BOOT-MARKER quote-serve=$(systemctl is-enabled tdxctl-quote-serve.service)\
 containerd=$(awk -v m=$m '$2 == m { print $1 ":" $3 }' /proc/mounts) data=$data\
 root=$(awk '$2 == "/" { print $1 }' /proc/mounts)\
 config=$(awk '$2 == "/var/config" { print $3 ":" substr($4, 1, 2) }' /proc/mounts)"
echo "$line"
# Never the unit's failure: that would skip the poweroff below, and the test
# would wait out its timeout instead of saying the marker port is empty.
echo "$line" > /dev/ttyS1 || true
SH
cat > boot-marker.service <<'UNIT'
[Unit]
Description=tdxctl boot test marker
After=multi-user.target

[Service]
Type=oneshot
StandardOutput=journal+console
ExecStart=/usr/local/sbin/tdxctl-boot-marker
ExecStartPost=/bin/systemctl --no-block poweroff

[Install]
WantedBy=multi-user.target
UNIT
cat > image.yaml <<YAML
base:
  path: $base
  sha256: $(sha256sum "$base" | cut -c1-64)
output: tdx.qcow2
kernel_cmdline: console=ttyS0
customize:
  files:
    - {src: boot-marker, dest: /usr/local/sbin/tdxctl-boot-marker, mode: "0755"}
    - {src: boot-marker.service, dest: /etc/systemd/system/tdxctl-boot-marker.service}
  enable_units: [tdxctl-boot-marker.service]
unlock:
  nonce_endpoint: https://$bridge_ip:$port/nonce
  attestation_endpoint: https://$bridge_ip:$port/attest
  ca_cert: ca.pem
  insecure_sample_evidence: true
  retries: 3
  timeout_s: 20
YAML
# A cheap keyslot: the guest derives it under TCG.
"$tdxctl" image build -c image.yaml --argon2-memory 32768 --argon2-iterations 4 > build.log 2>&1 \
  || { tail -40 build.log; fail "image build"; }
manifest=tdx.qcow2.manifest.json
luks_uuid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["luks"]["uuid"])' "$manifest")

step "config volume, cache volume, blank containerd volume"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > seed
"$tdxctl" volume config create -o config.qcow2 --hostname "$vm" \
  --miner-ss58 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty --seed-file seed \
  --vm-ip "$vm_ip/24" --gateway "$bridge_ip" --dns "$bridge_ip" > volume.log 2>&1 \
  || { cat volume.log; fail "volume config create"; }
"$tdxctl" volume cache create --size 1G -o cache.qcow2 > cache.log 2>&1 \
  || { cat cache.log; fail "volume cache create"; }
"$tdxctl" volume cache create --kind containerd --size 1G -o containerd.qcow2 > containerd.log 2>&1 \
  || { cat containerd.log; fail "volume cache create --kind containerd"; }

step "net up in network namespace $ns (bridge, tap)"
ip netns add "$ns"
ip -n "$ns" link set lo up
# The namespace's "uplink" for NAT to name: a veth pair (no dummy module on
# every CI kernel) with a default route.
ip -n "$ns" link add pub0 type veth peer name pub1
ip -n "$ns" addr add 10.99.0.1/24 dev pub0
ip -n "$ns" link set pub0 up
ip -n "$ns" link set pub1 up
ip -n "$ns" route add default via 10.99.0.2
# tdxctl's --root gets this namespace's /proc/sys/net and a private /run.
mkdir -p "$work/root/proc/sys/net"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns sh -c 'mount --bind /proc/sys/net "$0" && exec "$@"' "$work/root/proc/sys/net" \
  "$tdxctl" --root "$work/root" net up --public-interface pub0 --tap-user root > net.log 2>&1 \
  || { cat net.log; fail "net up"; }

step "keys serve --insecure-accept-sample on $bridge_ip:$port"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > containerd.key
cat > policy.yaml <<'YAML'
# The boot test's VM: sample evidence carries no measurements to pin.
allow_debug: false
YAML
"$tdxctl" keys add "$vm" --store "$work/keys" --policy policy.yaml --key-file tdx.qcow2.key \
  --containerd-key-file containerd.key > keys-add.log 2>&1 || { cat keys-add.log; fail "keys add"; }
in_ns "$tdxctl" keys serve --store "$work/keys" --listen "$bridge_ip:$port" --cert server.pem --key server.key \
  --insecure-accept-sample > keys.log 2> keys.err &
server_pid=$!
for _ in $(seq 100); do in_ns bash -c "echo > /dev/tcp/$bridge_ip/$port" 2>/dev/null && break; sleep 0.1; done
kill -0 "$server_pid" 2>/dev/null || { cat keys.err; fail "keys serve"; }

step "the domain XML"
"$tdxctl" -o json td xml --no-tdx --name "$vm" --image tdx.qcow2 --config-volume config.qcow2 \
  --cache-volume cache.qcow2 --containerd-volume containerd.qcow2 --bridge br-tdx --memory-gib 2 --vcpus 2 > domain.json \
  || fail "td xml"
# QEMU's arguments from the rendered XML: kernel, initrd, cmdline, disks by serial, the NIC.
python3 "$here/qemu-args.py" domain.json "$manifest" vmtap0 > qemu.args || fail "qemu arguments from the XML"
mapfile -t qemu_args < qemu.args

boot() { # boot N: runs the VM until it powers itself off; console in console-N.log
  local n=$1 start=$(date +%s)
  timeout "$boot_timeout" ip netns exec "$ns" qemu-system-x86_64 "${qemu_args[@]}" \
    -serial "file:$work/console-$n.log" -serial "file:$work/marker-$n.log" > "qemu-$n.log" 2>&1 || { tail -30 "console-$n.log"; fail "boot $n: QEMU did not power off within $boot_timeout s"; }
  echo "boot $n: $(($(date +%s) - start)) s under TCG"
}
# The console as lines: no CRs, and the kernel records that the console
# printed in the middle of a service's line (slow TCG; often several in a
# row) taken out, so the line is whole.
console() { tr -d '\r' < "console-$1.log" | perl -0777pe 's/(?<=[^\n])(?:\[ *[0-9]+\.[0-9]+\] [^\n]*\n)+//g'; }
has() { console "$1" | grep -aE "$2" > /dev/null || { tail -40 "console-$1.log"; fail "boot $1: the console lacks /$2/"; }; }
lacks() { ! console "$1" | grep -aE "$2" > /dev/null || fail "boot $1: the console shows /$2/"; }
marker() { # marker N WANT: the marker unit's line on the second serial port
  local got
  got=$(tr -d '\r' < "marker-$1.log" 2>/dev/null || true)
  [[ $got == "$2" ]] || fail "boot $1: the marker port says '$got', expected '$2'"
}
# The service's decisions: one JSON line each (stdout or stderr).
releases() { cat keys.log keys.err | grep -c '"decision":"release"' || true; }

step "boot 1: first boot"
boot 1
has 1 "tdxctl-unlock: network from tdx-config netplan: en[a-z0-9]+ $vm_ip/24 gateway $bridge_ip dns $bridge_ip"
has 1 "unlocked with keyslot [0-9]+ of /dev/vd[a-z]+[0-9]* as /dev/mapper/root"
has 1 "tdxctl-unlock: root $luks_uuid open as /dev/mapper/root"
has 1 "containerd volume /dev/vd[a-z]+: blank, formatted \(LUKS2 [0-9a-f-]+\) and opened, ext4 created"
has 1 "Reached target .*Multi-User System"
# /var/config is the checked copy on tmpfs (read-only), never the host's disk.
marker 1 "TDXCTL-BOOT-MARKER quote-serve=enabled containerd=/dev/mapper/containerd-cache:ext4 data=new root=/dev/mapper/root config=tmpfs:ro"
[[ $(releases) == 1 ]] || fail "boot 1: the service logged $(releases) releases, expected 1"

step "boot 2: the containerd volume is opened, not formatted"
boot 2
has 2 "containerd volume /dev/vd[a-z]+: LUKS2 [0-9a-f-]+ opened"
lacks 2 "formatted|ext4 created"
marker 2 "TDXCTL-BOOT-MARKER quote-serve=enabled containerd=/dev/mapper/containerd-cache:ext4 data=kept root=/dev/mapper/root config=tmpfs:ro"
[[ $(releases) == 2 ]] || fail "boot 2: the service logged $(releases) releases in all, expected 2"

step "boot 3: a policy that refuses the VM"
cat > refuse.yaml <<'YAML'
# Pins an MRTD: sample evidence carries none, so the service refuses it (and
# no real TD has 96 zeros).
mr_td: ["000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"]
YAML
"$tdxctl" keys add "$vm" --store "$work/keys" --policy refuse.yaml --key-file tdx.qcow2.key \
  --containerd-key-file containerd.key --force > keys-refuse.log 2>&1 || { cat keys-refuse.log; fail "keys add --force"; }
boot 3
has 3 "TDX-LUKS-UNLOCK-FAILED"
lacks 3 "open as /dev/mapper/root|Reached target .*Multi-User System|TDXCTL-BOOT-MARKER"
marker 3 ""
[[ $(releases) == 2 ]] || fail "boot 3: the service released a key to a refused VM"
# Not grep -q: under pipefail its early exit can SIGPIPE the writer.
grep -h '"status":403' keys.log keys.err | grep '"check":"policy"' >/dev/null \
  || fail "boot 3: the service logged no 403 for the VM's policy"

step "passed in $(($(date +%s) - t0)) s"
