#!/usr/bin/env python3
"""QEMU arguments (one a line) from the domain XML `tdxctl td xml -o json` renders.

Usage: qemu-args.py DOMAIN.json MANIFEST.json TAP

The boot test cannot run libvirtd, so it starts QEMU itself, from the same
values libvirt would use: <kernel>, <initrd> and <cmdline> (direct boot), each
<disk> with its file, format, read-only flag and <serial> (the guest finds its
volumes by serial), the NIC's MAC on the given tap. A TD's XML without
<kernel> would boot TDVF's own loader; then the image manifest's boot_files
(the kernel, initrd and command line the image build wrote beside the image)
are used, and said so on stderr. TCG, q35, no TDX: a plain VM.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET


def main():
    domain_json, manifest_path, tap = sys.argv[1:4]
    xml = ET.fromstring(json.load(open(domain_json))["xml"])
    image_dir = os.path.dirname(os.path.abspath(manifest_path))
    memory = xml.find("memory")
    unit = {"GiB": 1024, "MiB": 1, "KiB": 1 / 1024}[memory.get("unit", "KiB")]
    args = ["-machine", "q35", "-accel", "tcg", "-cpu", "max", "-m", str(int(float(memory.text) * unit)),
            "-smp", xml.findtext("vcpu"), "-display", "none", "-monitor", "none", "-no-reboot",
            "-nodefaults"]

    os_el = xml.find("os")
    boot = {k: os_el.findtext(k) for k in ("kernel", "initrd", "cmdline")}
    if not boot["kernel"]:
        files = json.load(open(manifest_path)).get("boot_files")
        if not files:
            sys.exit("the domain XML has no <kernel> and the manifest no boot_files: nothing to boot directly")
        print("the domain XML has no <kernel>: using the manifest's boot_files", file=sys.stderr)
        for k in ("kernel", "initrd"):
            boot[k] = os.path.join(image_dir, files[k]["file"])
        boot["cmdline"] = open(os.path.join(image_dir, files["cmdline"]["file"])).read().strip()
    args += ["-kernel", boot["kernel"], "-initrd", boot["initrd"], "-append", boot["cmdline"]]

    for i, disk in enumerate(xml.iter("disk")):
        source = disk.find("source").get("file")
        fmt = disk.find("driver").get("type", "raw")
        serial = disk.findtext("serial")
        drive = f"file={source},format={fmt},if=none,id=disk{i}"
        if disk.find("readonly") is not None:
            drive += ",readonly=on"
        args += ["-drive", drive, "-device", f"virtio-blk-pci,drive=disk{i},serial={serial}"]

    nic = xml.find("devices/interface")
    args += ["-netdev", f"tap,id=net0,ifname={tap},script=no,downscript=no",
             "-device", f"virtio-net-pci,netdev=net0,mac={nic.find('mac').get('address')}"]
    print("\n".join(args))


if __name__ == "__main__":
    main()
