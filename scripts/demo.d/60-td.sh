# demo: the TD domain through libvirt (render, validate, KubeVirt, launch with --no-tdx on the test driver)
set -euo pipefail
data=$PWD/tests/data
boot_files=$PWD/tests/support/boot-files-stand-in.sh
mkdir -p "$DEMO_DIR/td" && cd "$DEMO_DIR/td"

# Stand-ins for the image and volumes (tdxctl image/volume build the real
# ones); the config volume's sha384sum manifest becomes the TD's mrConfigId,
# and the image's manifest names the kernel, initrd and command line the TD
# boots directly (td.boot: direct, the default).
printf 'QFI\xfb' > td.qcow2
"$boot_files" "$PWD/td.qcow2"
head -c 1M /dev/zero > config.img && sha384sum config.img > config.img.sha384
head -c 1M /dev/zero > cache.img
printf 'fw' > OVMF.inteltdx.fd

cat > host.yaml <<YAML
td:
  name: demo-td
  vcpus: 4
  memory_gib: 16
  image: $PWD/td.qcow2
  config_volume: $PWD/config.img
  cache_volume: $PWD/cache.img
  firmware: $PWD/OVMF.inteltdx.fd
  network:
    bridge: br-tdx
YAML

# The TD domain XML, validated against libvirt 12.8's schema.
show tdxctl td xml -c host.yaml --schema "$data/libvirt-schemas/domain.rng"
show tdxctl -o json td xml -c host.yaml --debug --qgs-socket /run/tdx-qgs/qgs.socket
# The same TD as a KubeVirt VirtualMachine; what KubeVirt cannot express
# (mrConfigId, the TDVF file, the vsock CID, ...) is listed in its header.
show tdxctl td render --format kubevirt -c host.yaml
# A kernel that no longer matches the image's manifest is refused (exit 3)...
printf 'patched' >> td.qcow2.vmlinuz
show tdxctl --connect test:///default td launch -c host.yaml --no-tdx
"$boot_files" "$PWD/td.qcow2"
# ...and a real launch needs TDX in libvirt's domain capabilities: refused here (exit 3).
show tdxctl --connect test:///default td launch -c host.yaml
# The insecure development profile on libvirt's test driver: dry run, then launch.
show tdxctl --connect test:///default --dry-run td launch -c host.yaml --no-tdx
show tdxctl --connect test:///default td launch -c host.yaml --no-tdx
# The test driver forgets its state when the process exits, so status and
# list look at the domain it ships with.
show tdxctl --connect test:///default td list
show tdxctl --connect test:///default td status test
