#!/usr/bin/env python3
# Test double of NVIDIA's nvidia_gpu_tools.py (gpu-admin-tools): same options
# for the CC/PPCIe subset tdxctl uses, same output shape (banner and topology
# on stdout, Python logging lines "<date>,<time>.<ms> INFO     <device> ..."
# on stderr, the device printed as "GPU <bdf> <name> <devid> BAR0 <addr>" or
# "NvSwitch <bdf> ..."). Device modes live in state.json next to this file;
# every invocation's arguments are appended to calls.log there, so tests can
# check the exact sequence. A mode set without its reset flag stays pending,
# as on the real device; a device with "stuck": true in state.json accepts
# every switch and keeps its mode (firmware that refuses the change).
import argparse
import datetime
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
state_path = os.path.join(here, "state.json")

with open(os.path.join(here, "calls.log"), "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\n")

print("NVIDIA GPU Tools version v2025.04.11o")
print(f"Command line arguments: {sys.argv}")
sys.stdout.flush()

p = argparse.ArgumentParser(prog="nvidia_gpu_tools.py")
p.add_argument("--gpu-bdf")
p.add_argument("--query-cc-mode", action="store_true")
p.add_argument("--query-ppcie-mode", action="store_true")
p.add_argument("--set-cc-mode", choices=["off", "on", "devtools"])
p.add_argument("--reset-after-cc-mode-switch", action="store_true")
p.add_argument("--set-ppcie-mode", choices=["off", "on"])
p.add_argument("--reset-after-ppcie-mode-switch", action="store_true")
p.add_argument("--log", default="info")
opts = p.parse_args()


def info(msg, level="INFO"):
    now = datetime.datetime.now()
    sys.stderr.write(f"{now:%Y-%m-%d,%H:%M:%S}.{now.microsecond // 1000:03d} {level:<8} {msg}\n")


state = json.load(open(state_path))
matches = [bdf for bdf in state if opts.gpu_bdf and opts.gpu_bdf in bdf]
if len(matches) != 1:
    info(f"Matching for {opts.gpu_bdf} found {'nothing' if not matches else 'more than one GPU'}", "ERROR")
    sys.exit(1)
bdf = matches[0]
dev = state[bdf]
is_gpu = dev["kind"] == "gpu"
name = f"GPU {bdf} H100-SXM5-80GB 0x2330 BAR0 0x{0x2000_0000_0000 + int(bdf[5:7], 16) * 0x4000_0000:x}" \
    if is_gpu else f"NvSwitch {bdf} NvSwitch_gen3 0x22a3 BAR0 0x{0x1000_0000_0000 + int(bdf[5:7], 16) * 0x200_0000:x}"

print("Topo:")
print(f"  PCI {bdf[:8]}00.0 0x1000:0xc030")
print(f"   {name}")
sys.stdout.flush()
info(f"Selected {name}")

if is_gpu and dev.get("cc", "off") != "off":
    info(f"{name} has CC mode {dev['cc']}, some functionality may not work", "WARNING")
if dev.get("ppcie", "off") != "off":
    info(f"{name} has PPCIe mode {dev['ppcie']}, some functionality may not work", "WARNING")

if opts.set_cc_mode and is_gpu:
    info(f"{name} CC mode set to {opts.set_cc_mode}. It will be active after GPU reset.")
    if opts.reset_after_cc_mode_switch and not dev.get("stuck"):
        dev["cc"] = opts.set_cc_mode
        info(f"{name} was reset to apply the new CC mode.")
if opts.query_cc_mode:
    if not is_gpu:
        info(f"Querying CC mode is not supported on {name}", "ERROR")
        sys.exit(1)
    info(f"{name} CC mode is {dev.get('cc', 'off')}")
if opts.set_ppcie_mode:
    info(f"{name} PPCIe mode set to {opts.set_ppcie_mode}. It will be active after GPU or switch reset.")
    if opts.reset_after_ppcie_mode_switch and not dev.get("stuck"):
        dev["ppcie"] = opts.set_ppcie_mode
        info(f"{name} was reset to apply the new PPCIe mode.")
if opts.query_ppcie_mode:
    info(f"{name} PPCIe mode is {dev.get('ppcie', 'off')}")

with open(state_path + ".tmp", "w") as f:
    json.dump(state, f)
os.replace(state_path + ".tmp", state_path)
