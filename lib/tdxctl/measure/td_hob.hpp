#pragma once
// The TD HOB QEMU writes for TDVF (hw/i386/tdvf-hob.c), byte for byte: TDVF
// measures it into RTMR0 before using it (TdxHelperMeasureTdHob), so RTMR0
// depends on the memory size through it.
//
// Layout: a PHIT (handoff) HOB with only EfiEndOfHobList set, one resource
// descriptor per TDX RAM entry, then the end-of-list HOB. The RAM entries are
// QEMU's e820 RAM ranges (target/i386/kvm/tdx.c, tdx_init_ram_entries) split
// where the TD_HOB and TEMP_MEM sections are added before launch
// (tdx_accept_ram_range: TDX_RAM_ADDED), the rest TDX_RAM_UNACCEPTED, sorted
// by address. TDVF hashes the list up to, not including, the end HOB.

#include "tdxctl/core/error.hpp"
#include "tdxctl/measure/tdvf_metadata.hpp"

#include <cstdint>
#include <vector>

namespace tdx::measure {

struct RamEntry {
  uint64_t address = 0, length = 0;
  bool added = false; // TDX_RAM_ADDED (system memory) vs TDX_RAM_UNACCEPTED
};

// QEMU's q35 split of guest RAM: below 4 GiB up to 2 GiB when the TD has
// 0xB0000000 bytes or more (else all of it), the rest from 4 GiB.
std::vector<RamEntry> e820_ram(uint64_t memory_bytes);

// The RAM entries after TDVF's TD_HOB and TEMP_MEM sections are accepted.
core::Result<std::vector<RamEntry>> tdx_ram_entries(const TdvfMetadata& metadata, uint64_t memory_bytes);

// The measured bytes of the TD HOB (PHIT + resource descriptors).
core::Result<std::vector<uint8_t>> td_hob_bytes(const TdvfMetadata& metadata, uint64_t memory_bytes);

} // namespace tdx::measure
