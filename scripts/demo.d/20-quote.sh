# demo: TDX quotes: decode, DCAP-verify real Intel-signed quotes, policy, serve/fetch over a socket
set -euo pipefail
q=tests/data/quotes
show tdxctl quote show $q/tdx-v5-90c06f-uptodate/quote.bin
show tdxctl quote verify $q/tdx-v4-b0c06f-uptodate/quote.bin --collateral $q/tdx-v4-b0c06f-uptodate --at 2025-06-25T00:00:00Z
# Out of date: rejected by default, accepted when the operator opts in.
show tdxctl quote verify $q/tdx-v4-00806f05-outofdate/quote.bin --collateral $q/tdx-v4-00806f05-outofdate --at 2025-02-01T00:00:00Z
show tdxctl quote verify $q/tdx-v4-00806f05-outofdate/quote.bin --collateral $q/tdx-v4-00806f05-outofdate --at 2025-02-01T00:00:00Z --accept UpToDate,OutOfDate
# A debug TD verifies cryptographically but fails the default policy.
show tdxctl quote verify $q/tdx-v4-50806f-debug/quote.bin --collateral $q/tdx-v4-50806f-debug --at 2023-07-01T00:00:00Z
# One flipped byte of REPORTDATA: the quote signature fails.
show tdxctl quote verify $q/negative-b0c06f/quote-bad-quote-sig.bin --collateral $q/tdx-v4-b0c06f-uptodate --at 2025-06-25T00:00:00Z
# Expired collateral names the dates.
show tdxctl quote verify $q/tdx-v4-b0c06f-uptodate/quote.bin --collateral $q/tdx-v4-b0c06f-uptodate --at 2025-08-01T00:00:00Z
# Many quotes at once: JSON lines, all cores.
show tdxctl quote verify $q/tdx-v4-b0c06f-uptodate/quote.bin $q/negative-b0c06f/quote-bad-att-key.bin \
  --collateral $q/tdx-v4-b0c06f-uptodate --at 1750809600
# Guest side against a fake configfs-tsm entry, host side over a UNIX socket.
root=$DEMO_DIR/td-root
entry=$root/sys/kernel/config/tsm/report/demo
mkdir -p "$entry"
echo tdx_guest > "$entry/provider"; echo 1 > "$entry/generation"; : > "$entry/inblob"
cp $q/tdx-v4-b0c06f-uptodate/quote.bin "$entry/outblob"
tdxctl --root "$root" quote serve --unix "$DEMO_DIR/quote.sock" --count 1 --tsm-entry demo &
for _ in $(seq 50); do [[ -S $DEMO_DIR/quote.sock ]] && break; sleep 0.1; done
show tdxctl quote fetch --unix "$DEMO_DIR/quote.sock" --out "$DEMO_DIR/fetched.quote" --verify \
  --collateral $q/tdx-v4-b0c06f-uptodate --at 2025-06-25T00:00:00Z
wait
echo "(the recorded quote carries another REPORTDATA, so the nonce binding rejects it, as it must)"
