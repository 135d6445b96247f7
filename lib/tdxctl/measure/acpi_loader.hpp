#pragma once
// QEMU's ACPI fw_cfg files as TDVF downloads and measures them into RTMR0
// (OvmfPkg AcpiPlatformLib/QemuFwCfgAcpi.c: first "etc/table-loader", then
// each file its ALLOCATE commands name, in command order).
//
// An operator captures "etc/acpi/tables" from a TD of the wanted topology;
// the other two files follow from it, rebuilt here the way QEMU's x86 build
// writes them (hw/i386/acpi-build.c, hw/acpi/aml-build.c,
// hw/acpi/bios-linker-loader.c):
//   etc/acpi/rsdp      ACPI 1.0 RSDP, 20 bytes: "RSD PTR ", checksum 0, the
//                      RSDT's OEM ID, revision 0, the RSDT's offset;
//   etc/table-loader   128-byte commands, padded with zeros to 4 KiB:
//                      ALLOCATE rsdp (align 16, FSEG) and tables (align 64,
//                      HIGH) first (QEMU prepends allocations, so the last
//                      one made comes first), then per table in blob order:
//                      its pointers, then its checksum (none for the FACS);
//                      then the RSDP's RSDT pointer and its checksum.
// Pointers: FADT FIRMWARE_CTRL (36, 4 bytes) -> FACS, DSDT (40, 4) and, for a
// FADT of 148 bytes or more, X_DSDT (140, 8); every RSDT (4-byte) or XSDT
// (8-byte) entry. A table QEMU links to another fw_cfg file (TPM2's log,
// NVDIMM's and VMGENID's buffers) cannot be rebuilt from the blob alone: it
// is refused by name, so pass the captured table-loader instead.

#include "tdxctl/core/error.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tdx::measure {

struct AcpiTable {
  std::string signature; // "DSDT", "FACP", ...
  uint32_t offset = 0, length = 0;
};

struct AcpiFiles {
  std::vector<AcpiTable> tables;     // found in the blob, in order
  std::vector<uint8_t> rsdp;         // etc/acpi/rsdp
  std::vector<uint8_t> table_loader; // etc/table-loader
};

// Walks the tables of an etc/acpi/tables blob (back to back from offset 0,
// zero padding after the last) and rebuilds the RSDP and table-loader.
// Errors name the byte offset.
core::Result<AcpiFiles> rebuild_acpi_files(std::span<const uint8_t> tables, std::string_view name);

} // namespace tdx::measure
