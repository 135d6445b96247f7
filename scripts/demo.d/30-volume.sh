# demo: volumes (a tdx-config volume with the seed from a 0600 file, a 5000G sparse cache volume, both read back with libguestfs)
set -euo pipefail
cd "$DEMO_DIR"
seed=$(od -An -N32 -tx1 /dev/urandom | tr -d " \n")
printf '%s\n' "$seed" > seed.hex
chmod 600 seed.hex
show tdxctl volume config create -o config.qcow2 --hostname chutes-miner-tee-0 \
  --miner-ss58 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY --seed-file seed.hex \
  --vm-ip 192.168.100.2/24 --gateway 192.168.100.1 --dns 1.1.1.1
show cat config.qcow2.sha384
# Same values again: nothing to do.
show tdxctl volume config create -o config.qcow2 --hostname chutes-miner-tee-0 \
  --miner-ss58 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY --seed-file seed.hex \
  --vm-ip 192.168.100.2/24 --gateway 192.168.100.1 --dns 1.1.1.1
# Bad input fails on the host, not after boot: a mistyped hotkey and a seed in argv.
show tdxctl volume config create -o bad.qcow2 --hostname chutes-miner-tee-0 \
  --miner-ss58 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ --seed-file seed.hex \
  --vm-ip 192.168.100.2/24 --gateway 192.168.100.1 --dns 1.1.1.1
show tdxctl volume config create -o bad.qcow2 --miner-seed 00000000000000000000000000000000000000000000000000000000000000aa
show tdxctl volume cache create -o cache.qcow2 --size 5000G
show tdxctl volume cache create --kind containerd -o containerd.qcow2
show ls -ls --block-size=K config.qcow2 cache.qcow2 containerd.qcow2
# One libguestfs launch (TCG here): the files as the guest sees them, seed redacted, plus its checks.
show tdxctl volume verify config.qcow2 --kind config
