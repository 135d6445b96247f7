# demo: the whole chain: image build, volumes, net up, keys serve, three boots under QEMU TCG
# About 4 minutes on 2 cores once the Debian base is cached (its first
# debootstrap adds a few more); TDXCTL_DEMO_BOOT=0 skips it.
if [[ ${TDXCTL_DEMO_BOOT:-1} != 0 ]]; then
  show tests/boot/whole-chain.sh build
else
  echo "skipped (TDXCTL_DEMO_BOOT=0). Run it on its own with"
  echo "ctest --test-dir build -L boot --output-on-failure (see README, The whole chain)"
fi
