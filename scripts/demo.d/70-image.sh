# demo: image build (a small GPT base -> LUKS2 root encrypted in userspace, checked by dm-crypt)
set -euo pipefail
export LIBGUESTFS_BACKEND=direct
base=$DEMO_DIR/base.qcow2
tests/fixtures/image/make-base.sh "$base"
cat > "$DEMO_DIR/image.yaml" <<YAML
base:
  path: $base
  sha256: $(sha256sum "$base" | cut -c1-64)
output: tdx-guest.qcow2
root_size: 256M
kernel_cmdline: console=ttyS0
customize:
  commands: ["echo 'built by tdxctl' > /etc/motd"]
unlock:
  nonce_endpoint: https://keys.example/servers/nonce
  attestation_endpoint: https://keys.example/servers/boot/attestation
  trust_system_cas: true   # a demo key service; pin its CA with ca_cert: in production
YAML
show tdxctl -n image build -c "$DEMO_DIR/image.yaml"
show tdxctl image build -c "$DEMO_DIR/image.yaml" --argon2-memory 65536 --argon2-iterations 4
show tdxctl image build -c "$DEMO_DIR/image.yaml" --argon2-memory 65536 --argon2-iterations 4
show tdxctl image inspect "$DEMO_DIR/tdx-guest.qcow2"
show tdxctl image verify "$DEMO_DIR/tdx-guest.qcow2" --key-file "$DEMO_DIR/tdx-guest.qcow2.key"
