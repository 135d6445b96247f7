#!/usr/bin/env bash
# The Ansible role (packaging/ansible) run for real against localhost: the
# fixture host tree that passes `host check`, a network namespace whose veth
# is the public interface, libvirt's test driver with --no-tdx, real volumes.
# Checks that the role validates host.yaml with `config check` (a bad one is
# refused and the old file kept), that --check runs `up --dry-run` and
# reports changed without changing anything, and that a real run brings the
# bridge and volumes up and reports changed from tdxctl's JSON.
# Usage: role-on-localhost.sh BUILD_DIR
set -euo pipefail
build=$(realpath "$1")
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d)
ns=tdxans$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$dir/root" && cp -a "$src/tests/fixtures/hosts/tdx-ready/." "$dir/root/"
mkdir -p "$dir/root/var/run/tdx-qgs"
"$src/tests/support/qgs-stand-in.py" "$dir/root/var/run/tdx-qgs/qgs.socket" $$
# The namespace's own ip_forward, bind-mounted (tdxctl refuses a symlink out
# of --root) inside the mount namespace `ip netns exec` makes (in_ns).
mkdir -p "$dir/root/proc/sys/net"
in_ns() { ip netns exec "$ns" sh -c 'mount --bind /proc/sys/net "$0" && exec "$@"' "$dir/root/proc/sys/net" "$@"; }
ip netns add "$ns"
ip -n "$ns" link add pub0 type veth peer name peer0
ip -n "$ns" addr add 10.67.0.1/24 dev pub0
ip -n "$ns" link set pub0 up
printf 'QFI\xfb' > "$dir/td.qcow2"
"$src/tests/support/boot-files-stand-in.sh" "$dir/td.qcow2"

cat > "$dir/vars.yml" <<YAML
tdxctl_install: false
tdxctl_binary: $build/tdxctl
tdxctl_root: $dir/root
tdxctl_connect: "test:///default"
tdxctl_config_path: $dir/etc/host.yaml
tdxctl_miner_seed: 0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef
tdxctl_miner_seed_path: $dir/etc/miner-seed
tdxctl_up_extra_args: ["--no-tdx"]
tdxctl_enable_service: false
tdxctl_host:
  config:
    hostname: miner-0
    miner_ss58: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
    miner_seed_file: $dir/etc/miner-seed
    vm_ip: 192.168.100.2/24
    gateway: 192.168.100.1
    dns: [1.1.1.1]
  volumes:
    cache_size: 5000G
  network:
    public_interface: pub0
    forwards: [tcp/6443, tcp/30000-32767]
  td:
    name: ansible-td
    vcpus: 2
    memory_gib: 4
    image: $dir/td.qcow2
    config_volume: $dir/config.qcow2
    cache_volume: $dir/cache.qcow2
YAML
play() {
  in_ns env ANSIBLE_NOCOLOR=1 ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_LOCALHOST_WARNING=false \
    ANSIBLE_INVENTORY_UNPARSED_WARNING=false \
    ansible-playbook -i "localhost," -c local -e "@$dir/vars.yml" "$@" "$dir/site.yml"
}
# site.yml targets tdx_hosts; the test plays the role on localhost.
sed -e 's/hosts: tdx_hosts/hosts: localhost/' -e 's/become: true/become: false/' \
  "$src/packaging/ansible/site.yml" > "$dir/site.yml"
export ANSIBLE_ROLES_PATH=$src/packaging/ansible/roles
# The task's result from ansible-core's default callback (ansible-core has no
# json callback; that one is in the separate ansible.posix collection):
# "TASK [tdxctl : Bring the host up ...]" then "changed: [localhost]",
# "ok: [localhost]" or "fatal: [localhost]: FAILED! ...".
up_task() { python3 -c '
import re, sys
task = None
for line in sys.stdin:
    m = re.match(r"TASK \[(.*)\]", line)
    if m:
        task = m.group(1)
        continue
    if task and "Bring the host up" in task:
        m = re.match(r"(changed|ok|fatal|skipping): \[localhost\]", line)
        if m:
            print({"changed": "changed ", "ok": "ok ", "fatal": "ok failed", "skipping": "skipped "}[m.group(1)])
            task = None
'; }

# --check: tdxctl up --dry-run; would change, changes nothing. (The dry run
# plans the config volume, so the seed file must exist, as on a provisioned host.)
mkdir -p "$dir/etc" && (umask 077 && grep -o '0123[0-9a-fA-F]*' "$dir/vars.yml" | head -1 > "$dir/etc/miner-seed")
out=$(play --check) || { echo "$out" | tail -50; fail "ansible-playbook --check failed"; }
[[ $(echo "$out" | up_task) == "changed "* ]] || { echo "$out" | up_task; echo "$out" | grep -o "status[^,]*" | sort | uniq -c; fail "--check did not report the planned changes"; }
[[ ! -e $dir/cache.qcow2 ]] || fail "--check created a volume"
ip -n "$ns" link show br-tdx >/dev/null 2>&1 && fail "--check created the bridge"

# A real run: volumes, bridge, TD; changed comes from tdxctl's JSON.
out=$(play) || { echo "$out" | tail -50; fail "ansible-playbook failed"; }
[[ $(echo "$out" | up_task) == "changed "* ]] || fail "the run did not report changed"
[[ -s $dir/cache.qcow2 && -s $dir/config.qcow2 ]] || fail "volumes missing after the run"
ip -n "$ns" link show br-tdx >/dev/null || fail "no bridge after the run"
[[ $(stat -c %a "$dir/etc/miner-seed") == 600 ]] || fail "miner seed is not 0600"
grep -q "0123456789abcdef" "$dir/etc/host.yaml" && fail "the seed leaked into host.yaml"

# A broken host.yaml is refused by `config check` and the old file stays.
cp "$dir/etc/host.yaml" "$dir/host.yaml.before"
sed -i 's/vcpus: 2/vcpus: two/' "$dir/vars.yml"
if out=$(play); then fail "a broken host.yaml was accepted"; fi
cmp -s "$dir/etc/host.yaml" "$dir/host.yaml.before" || fail "a broken host.yaml replaced the old one"
in_ns "$build/tdxctl" --root "$dir/root" --connect test:///default down -c "$dir/etc/host.yaml" >/dev/null
echo "ansible role: check mode, real run and validation behave"
