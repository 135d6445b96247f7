# demo: the whole chain: image build, volumes, net up, keys serve, three boots under QEMU TCG
# It takes longer than the rest of the demo together (an image build and
# three emulated boots), so it runs only when asked for.
if [[ ${TDXCTL_DEMO_BOOT:-} == 1 ]]; then
  show tests/boot/whole-chain.sh build
else
  echo "skipped: it takes several minutes under TCG. Run it with TDXCTL_DEMO_BOOT=1 ./scripts/demo,"
  echo "or on its own: ctest --test-dir build -L boot --output-on-failure (see README, The whole chain)"
fi
