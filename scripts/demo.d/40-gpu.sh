# demo: GPUs (a real H100-in-a-VM capture; a small HGX-like tree with an emulated kernel; PPCIe through a stand-in for nvidia_gpu_tools.py)
set -euo pipefail
mkdir -p "$DEMO_DIR/capture"
tar -xzf tests/data/sysfs/h100-vm-passthrough.tgz -C "$DEMO_DIR/capture"
cap=$DEMO_DIR/capture/host
show tdxctl --root "$cap" gpu list
show tdxctl --root "$cap" gpu bind --all   # refuses: no IOMMU group inside a VM

# A host with two H100 SXM5 GPUs and one NVSwitch (each in its own IOMMU
# group; the first GPU's group also holds its switch port, a bridge).
r=$DEMO_DIR/hgx
dev() { # bdf vendor device class driver group
  local d=$r/sys/devices/pci0000:00/$1
  mkdir -p "$d" "$r/sys/kernel/iommu_groups/$6/devices"
  echo "$2" >"$d/vendor"; echo "$3" >"$d/device"; echo "$4" >"$d/class"
  echo "(null)" >"$d/driver_override"; echo 0 >"$d/numa_node"
  echo "32.0 GT/s PCIe" >"$d/current_link_speed"; echo 16 >"$d/current_link_width"
  ln -s "../../../devices/pci0000:00/$1" "$r/sys/bus/pci/devices/$1"
  ln -s "../../../kernel/iommu_groups/$6" "$d/iommu_group"
  ln -s "../../../../devices/pci0000:00/$1" "$r/sys/kernel/iommu_groups/$6/devices/$1"
  ln -s "../../../bus/pci/drivers/$5" "$d/driver"
}
mkdir -p "$r/sys/bus/pci/devices" "$r/proc"
for drv in nvidia nvidia-nvswitch vfio-pci pcieport; do
  mkdir -p "$r/sys/bus/pci/drivers/$drv"; : >"$r/sys/bus/pci/drivers/$drv/bind"; : >"$r/sys/bus/pci/drivers/$drv/unbind"
done
: >"$r/sys/bus/pci/drivers_probe"
dev 0000:17:00.0 0x1000 0xc030 0x060400 pcieport 40
dev 0000:18:00.0 0x10de 0x2330 0x030200 nvidia 40
dev 0000:2a:00.0 0x10de 0x2330 0x030200 nvidia 41
dev 0000:05:00.0 0x10de 0x22a3 0x068000 nvidia-nvswitch 30

# The kernel's part, emulated: act on writes to unbind and drivers_probe.
(
  while sleep 0.01; do
    for u in "$r"/sys/bus/pci/drivers/*/unbind; do
      a=$(<"$u"); [[ -n $a ]] || continue; : >"$u"; rm -f "$r/sys/bus/pci/devices/$a/driver"
    done
    a=$(<"$r/sys/bus/pci/drivers_probe"); [[ -n $a ]] || continue; : >"$r/sys/bus/pci/drivers_probe"
    o=$(<"$r/sys/bus/pci/devices/$a/driver_override")
    if [[ -z $o || $o == "(null)" ]]; then
      [[ $(<"$r/sys/bus/pci/devices/$a/class") == 0x068000 ]] && o=nvidia-nvswitch || o=nvidia
    fi
    ln -sfn "../../../bus/pci/drivers/$o" "$r/sys/bus/pci/devices/$a/driver"
  done
) &
kernel=$!
trap 'kill $kernel' EXIT

show tdxctl --root "$r" gpu list
show tdxctl --root "$r" gpu bind --all --dry-run
show tdxctl --root "$r" gpu bind --all
show tdxctl --root "$r" gpu bind --all   # idempotent: nothing to do
show tdxctl --root "$r" gpu list --no-header

# PPCIe, through the test stand-in for NVIDIA's nvidia_gpu_tools.py.
tool=$DEMO_DIR/gpu-admin-tools
mkdir -p "$tool"
cp tests/gpu/nvidia_gpu_tools.py "$tool/"
echo '{"0000:18:00.0":{"kind":"gpu","cc":"on","ppcie":"off"},
       "0000:2a:00.0":{"kind":"gpu","cc":"on","ppcie":"off"},
       "0000:05:00.0":{"kind":"nvswitch","ppcie":"off"}}' >"$tool/state.json"
show tdxctl --root "$r" gpu ppcie on --all --admin-tool "$tool" --dry-run
show tdxctl --root "$r" gpu ppcie on --all --admin-tool "$tool"
show tdxctl --root "$r" gpu ppcie status --admin-tool "$tool"
show tdxctl --root "$r" gpu unbind --all
