# demo: host readiness (a bundled TDX-ready fixture, a real H100-in-a-VM capture, this machine)
set -euo pipefail
fixture=$DEMO_DIR/host-ready
cp -a tests/fixtures/hosts/tdx-ready "$fixture"
tests/support/qgs-stand-in.py "$fixture/var/run/tdx-qgs/qgs.socket" $$
show tdxctl --root "$fixture" host check --no-libvirt
mkdir -p "$DEMO_DIR/capture"
tar -xzf tests/data/sysfs/h100-vm-passthrough.tgz -C "$DEMO_DIR/capture"
show tdxctl --root "$DEMO_DIR/capture/host" host check --no-libvirt
show tdxctl host check --connect test:///default
