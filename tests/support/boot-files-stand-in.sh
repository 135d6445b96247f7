#!/usr/bin/env bash
# What `tdxctl image build` leaves beside IMAGE for direct kernel boot, for
# the demo and shell tests that use a stand-in image: IMAGE.vmlinuz,
# IMAGE.initrd, IMAGE.cmdline (the exact command line, no newline) and
# IMAGE.manifest.json naming them with their SHA-384 under boot_files.
# The C++ tests use test::put_boot_files (tests/support/fixtures.cpp).
# Usage: boot-files-stand-in.sh IMAGE [CMDLINE]
set -euo pipefail
image=$1
cmdline=${2:-root=/dev/mapper/root ro console=ttyS0}
dir=$(dirname "$image")
name=$(basename "$image")
printf 'MZ stand-in kernel for %s' "$name" > "$dir/$name.vmlinuz"
printf '070701 stand-in initrd' > "$dir/$name.initrd"
printf '%s' "$cmdline" > "$dir/$name.cmdline"
sum() { sha384sum "$dir/$1" | cut -d' ' -f1; }
cat > "$dir/$name.manifest.json" <<JSON
{
  "image": "$name",
  "boot_files": {
    "kernel": {"file": "$name.vmlinuz", "sha384": "$(sum "$name.vmlinuz")"},
    "initrd": {"file": "$name.initrd", "sha384": "$(sum "$name.initrd")"},
    "cmdline": {"file": "$name.cmdline", "sha384": "$(sum "$name.cmdline")"}
  }
}
JSON
