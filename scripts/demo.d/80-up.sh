# demo: the whole host from one host.yaml: config init/check, up --dry-run, up, up again, down
set -euo pipefail
# A fixture host tree that passes `host check` (its H100 already on
# vfio-pci), a throwaway network namespace whose veth is the public
# interface, real volumes in the scratch directory, and libvirt's test
# driver with --no-tdx for the TD. The host's own links are not touched.
dir=$DEMO_DIR/up
mkdir -p "$dir/root" && cp -a tests/fixtures/hosts/tdx-ready/. "$dir/root/"
mkdir -p "$dir/root/var/run/tdx-qgs"
tests/support/qgs-stand-in.py "$dir/root/var/run/tdx-qgs/qgs.socket" $$
# The namespace's /proc/sys/net is bind-mounted under --root inside the mount
# namespace `ip netns exec` makes (tdxctl refuses a symlink out of --root).
mkdir -p "$dir/root/proc/sys/net"
ns=tdxup$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link add pub0 type veth peer name peer0
ip -n "$ns" addr add 10.67.0.1/24 dev pub0
ip -n "$ns" link set pub0 up
in_ns() { ip netns exec "$ns" sh -c 'mount --bind /proc/sys/net "$0" && exec "$@"' "$dir/root/proc/sys/net" "$@"; }
export -f in_ns
export ns dir
boot_files=$PWD/tests/support/boot-files-stand-in.sh
cd "$dir"
printf 'QFI\xfb' > td.qcow2
"$boot_files" "$dir/td.qcow2"
printf '%s\n' 0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef > seed.hex
chmod 600 seed.hex

# A starting file from the host's state (GPUs, default route, free space).
show tdxctl --root "$dir/root" config init -o generated.yaml
show tdxctl config check -c generated.yaml

cat > host.yaml <<YAML
gpu:
  devices: [18:00.0]
config:
  hostname: miner-0
  miner_ss58: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
  miner_seed_file: seed.hex
  vm_ip: 192.168.100.2/24
  gateway: 192.168.100.1
  dns: [1.1.1.1]
volumes:
  cache_size: 5000G
network:
  public_interface: pub0
  forwards: [tcp/6443, tcp/30000-32767, tcp/2222:22]
td:
  name: demo-up
  vcpus: 4
  memory_gib: 16
  image: td.qcow2
  config_volume: config.qcow2
  cache_volume: cache.qcow2
  gpus: all-bound
YAML
# Every problem at once, each with its line and key (exit 2).
sed -e 's/vm_address: .*//' -e 's#tcp/2222:22#tcp/32000#' -e 's/vcpus: 4/vcpus: four/' host.yaml > broken.yaml
sed -i 's/^network:/network:\n  vm_address: 10.0.0.2/' broken.yaml
show tdxctl config check -c broken.yaml
show tdxctl config check -c host.yaml

t="tdxctl --root $dir/root"
show in_ns $t --connect test:///default --dry-run up -c host.yaml --no-tdx
show in_ns $t --connect test:///default up -c host.yaml --no-tdx
# libvirt's test driver forgets its domains when the process exits: hand the
# next runs a test:///FILE node holding the domain as the first up defined it.
in_ns $t --connect test:///default --dry-run -o json up -c host.yaml --no-tdx 2>/dev/null |
  python3 -c 'import json,sys; d=json.load(sys.stdin)
td=[s for s in d["stages"] if s["name"]=="td"][0]
x=[p for p in td["plan"] if p["id"]=="td.define"][0]["detail"]["xml"]
print("<node>"+x.split("?>",1)[1]+"</node>")' > node.xml
show in_ns $t --connect "test://$dir/node.xml" up -c host.yaml --no-tdx
show in_ns $t --connect "test://$dir/node.xml" -o json down -c host.yaml --timeout 5
show ls -l config.qcow2 config.qcow2.sha384 cache.qcow2
