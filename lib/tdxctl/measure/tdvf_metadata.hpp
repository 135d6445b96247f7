#pragma once
// TDVF's TDX metadata: the table that tells the VMM which pages of the TD's
// initial memory to add (TDH.MEM.PAGE.ADD) and which of them to measure
// (TDH.MR.EXTEND). Found as QEMU finds it (hw/i386/pc_sysfw_ovmf.c and
// tdvf.c): the OVMF GUID-ed table that ends 0x20 bytes before the end of the
// image holds, under GUID e47a6535-984a-4798-865e-4685a7bf8ec2, the distance
// from the end of the image to the "TDVF" descriptor; the descriptor lists
// 32-byte section entries (TDVF Design Guide, "TDVF metadata").

#include "tdxctl/core/error.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::measure {

enum class SectionType : uint32_t {
  bfv = 0, cfv = 1, td_hob = 2, temp_mem = 3, perm_mem = 4, payload = 5, payload_param = 6,
};

inline constexpr uint32_t kAttrMrExtend = 0x1; // measure the section with TDH.MR.EXTEND
inline constexpr uint32_t kAttrPageAug = 0x2;  // added after launch (TDH.MEM.PAGE.AUG)

struct TdvfSection {
  uint32_t data_offset = 0;   // into the image
  uint32_t raw_data_size = 0; // bytes of the image that back the section
  uint64_t memory_address = 0;
  uint64_t memory_size = 0;
  uint32_t type = 0;
  uint32_t attributes = 0;
  size_t entry_offset = 0;    // of this entry in the image, for messages
};

struct TdvfMetadata {
  size_t descriptor_offset = 0; // of the "TDVF" signature in the image
  uint32_t version = 0;
  std::vector<TdvfSection> sections;
};

std::string section_type_name(uint32_t type);

// Parses and checks the metadata with QEMU's rules (the VMM that launches
// the TD refuses what they refuse): version 1, at least two sections, the
// descriptor length matching its entry count, page-aligned address and size,
// RawDataSize <= MemoryDataSize, BFV/CFV backed by image bytes, TD_HOB and
// TEMP_MEM not, no other section types. Errors name the byte offset.
core::Result<TdvfMetadata> parse_tdvf_metadata(std::span<const uint8_t> image,
                                               std::string_view name);

} // namespace tdx::measure
