#!/usr/bin/env bash
# packaging/ansible/attest.yml's verify play, run for real on localhost over
# three real quotes from two platforms (FMSPC 90C06F000000: one UpToDate, one
# TCB_NOT_SUPPORTED; FMSPC B0C06F000000: UpToDate) and one collateral cache
# holding both platforms' sets, laid out as `collateral fetch` does. Their
# collateral is valid at different times, so the play verifies at the
# 90C06F set's time and allows the other set's expiry. The quotes predate
# this run's nonce, so every TD must be reported, by name and with its own
# platform's verdict, as not accepted for its REPORTDATA, and the play must
# fail at its last task, not at parsing `quote verify`'s JSON. (The fetch
# play needs a TD; it matches no host here.)
# Usage: attest-on-localhost.sh BUILD_DIR
set -euo pipefail
build=$(realpath "$1")
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

quotes=$src/tests/data/quotes
mkdir -p "$dir/attest"
cp "$quotes/tdx-v5-90c06f-uptodate/quote.bin" "$dir/attest/p1-uptodate.quote"
cp "$quotes/tdx-v5-90c06f-tcb-not-supported/quote.bin" "$dir/attest/p1-tcb-not-supported.quote"
cp "$quotes/tdx-v4-b0c06f-uptodate/quote.bin" "$dir/attest/p2-uptodate.quote"
collateral=$dir/collateral
mkdir -p "$collateral/sets"
cp -r "$quotes/tdx-v5-90c06f-uptodate" "$collateral/sets/p1"
cp -r "$quotes/tdx-v4-b0c06f-uptodate" "$collateral/sets/p2"
ln -s sets/p1 "$collateral/90C06F000000"
ln -s sets/p2 "$collateral/B0C06F000000"

play() {
  PATH=$build:$PATH ANSIBLE_NOCOLOR=1 ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_LOCALHOST_WARNING=false \
    ANSIBLE_INVENTORY_UNPARSED_WARNING=false \
    ansible-playbook -i "localhost," -c local \
    -e attest_dir="$dir/attest" -e attest_collateral="$collateral" \
    -e attest_nonce=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff \
    -e '{"attest_verify_args": ["--at", "2026-03-01T00:00:00Z", "--allow-expired-collateral"]}' \
    "$src/packaging/ansible/attest.yml"
}
if out=$(play 2>&1); then echo "$out" | tail -40; fail "the play passed with quotes bound to another nonce"; fi
# Here-strings, not `echo | grep -q`: under pipefail grep -q's early exit
# can SIGPIPE echo and fail a check that matched.
grep -q 'Extra data' <<<"$out" && { echo "$out" | tail -40; fail "the verdict did not parse"; }
# One "msg" line per TD from the "Report each TD" task.
report() { echo "$out" | grep -o "\"msg\": \"$1.quote: [^\"]*\""; }
r1=$(report p1-uptodate) || { echo "$out" | tail -40; fail "p1-uptodate not reported"; }
r2=$(report p1-tcb-not-supported) || fail "p1-tcb-not-supported not reported"
r3=$(report p2-uptodate) || fail "p2-uptodate not reported"
echo "$r1"; echo "$r2"; echo "$r3"
[[ $r1 == *"NOT ACCEPTED, UpToDate, FMSPC 90c06f000000, policy: report_data"* ]] || fail "p1-uptodate: $r1"
[[ $r2 == *"NOT ACCEPTED, TCB_NOT_SUPPORTED"* ]] || fail "p1-tcb-not-supported: $r2"
[[ $r3 == *"NOT ACCEPTED, UpToDate, FMSPC b0c06f000000, policy: report_data"* ]] || fail "p2-uptodate: $r3"
grep -q 'at least one TD failed attestation (exit 1)' <<<"$out" || { echo "$out" | tail -20; fail "the play did not fail at its last task"; }
echo "ansible attest: 3 quotes from 2 platforms reported one by one"
