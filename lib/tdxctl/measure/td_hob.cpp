#include "tdxctl/measure/td_hob.hpp"

#include "tdxctl/measure/le.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace tdx::measure {
namespace {

constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t k4GiB = 4 * kGiB;
constexpr uint64_t kLowMemSplit = 0xB0000000; // pc_q35_init: lowmem = 2 GiB from here on
constexpr uint64_t kLowMem = 2 * kGiB;

// edk2 MdePkg/Include/Pi/PiHob.h
constexpr uint16_t kHobHandoff = 0x0001;
constexpr uint16_t kHobResourceDescriptor = 0x0003;
constexpr uint32_t kHandoffVersion = 0x0009;
constexpr size_t kHandoffSize = 56;
constexpr size_t kResourceSize = 48;
constexpr size_t kEndHobSize = 8;
constexpr uint32_t kSystemMemory = 0x00;      // EFI_RESOURCE_SYSTEM_MEMORY
constexpr uint32_t kMemoryUnaccepted = 0x07;  // EFI_RESOURCE_MEMORY_UNACCEPTED
// PRESENT | INITIALIZED | TESTED: QEMU's TDVF_PRIVATE and TDVF_UNACCEPTED alike.
constexpr uint32_t kTdvfAttributes = 0x7;

void put_le(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

core::Error accept_error(const TdvfSection& s, std::string why) {
  return core::Error{core::Category::invalid_input, "measure.td_hob",
                     fmt::format("TDVF section at {:#x} (+{:#x}): {}", s.memory_address, s.memory_size, why),
                     "give the TD more memory (--memory) or use a TDVF whose TD_HOB and TEMP_MEM "
                     "sections lie inside guest RAM"};
}

// tdx_accept_ram_range: the first entry the range overlaps must contain it;
// an added entry stays as it is, an unaccepted one becomes the added range
// with what is left before and after it appended as unaccepted entries.
core::Result<void> accept(std::vector<RamEntry>& entries, const TdvfSection& s) {
  uint64_t start = s.memory_address, end = s.memory_address + s.memory_size;
  for (size_t i = 0; i < entries.size(); ++i) {
    RamEntry e = entries[i];
    if (end <= e.address || e.address + e.length <= start) continue;
    if (start < e.address || e.address + e.length < end)
      return std::unexpected(accept_error(s, "crosses the end of a RAM range"));
    if (e.added) return {};
    entries[i] = RamEntry{start, s.memory_size, true};
    if (e.address < start) entries.push_back(RamEntry{e.address, start - e.address, false});
    if (end < e.address + e.length) entries.push_back(RamEntry{end, e.address + e.length - end, false});
    return {};
  }
  return std::unexpected(accept_error(s, "is not inside guest RAM"));
}

} // namespace

std::vector<RamEntry> e820_ram(uint64_t memory_bytes) {
  uint64_t low_limit = memory_bytes >= kLowMemSplit ? kLowMem : kLowMemSplit;
  uint64_t below = std::min(memory_bytes, low_limit);
  std::vector<RamEntry> out{{0, below, false}};
  if (memory_bytes > below) out.push_back({k4GiB, memory_bytes - below, false});
  return out;
}

core::Result<std::vector<RamEntry>> tdx_ram_entries(const TdvfMetadata& metadata, uint64_t memory_bytes) {
  auto entries = e820_ram(memory_bytes);
  for (const auto& s : metadata.sections) {
    if (s.type != static_cast<uint32_t>(SectionType::td_hob) &&
        s.type != static_cast<uint32_t>(SectionType::temp_mem))
      continue;
    if (auto r = accept(entries, s); !r) return std::unexpected(r.error());
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const RamEntry& a, const RamEntry& b) { return a.address < b.address; });
  return entries;
}

core::Result<std::vector<uint8_t>> td_hob_bytes(const TdvfMetadata& metadata, uint64_t memory_bytes) {
  const TdvfSection* hob = nullptr;
  for (const auto& s : metadata.sections)
    if (s.type == static_cast<uint32_t>(SectionType::td_hob)) hob = &s;
  if (!hob)
    return core::fail(core::Category::invalid_input, "measure.td_hob",
                      "the TDVF metadata lists no TD_HOB section; QEMU refuses such a firmware");
  auto entries = tdx_ram_entries(metadata, memory_bytes);
  if (!entries) return std::unexpected(entries.error());

  std::vector<uint8_t> out;
  out.reserve(kHandoffSize + entries->size() * kResourceSize);
  put_le(out, kHobHandoff, 2);
  put_le(out, kHandoffSize, 2);
  put_le(out, 0, 4);                // reserved
  put_le(out, kHandoffVersion, 4);
  put_le(out, 0, 4);                // BootMode
  for (int i = 0; i < 4; ++i) put_le(out, 0, 8); // EfiMemoryTop .. EfiFreeMemoryBottom
  size_t end_of_list_at = out.size();
  put_le(out, 0, 8);                // EfiEndOfHobList, below
  for (const auto& e : *entries) {
    put_le(out, kHobResourceDescriptor, 2);
    put_le(out, kResourceSize, 2);
    put_le(out, 0, 4);
    out.insert(out.end(), 16, 0);   // Owner: zero GUID
    put_le(out, e.added ? kSystemMemory : kMemoryUnaccepted, 4);
    put_le(out, kTdvfAttributes, 4);
    put_le(out, e.address, 8);
    put_le(out, e.length, 8);
  }
  if (out.size() + kEndHobSize > hob->memory_size)
    return core::fail(core::Category::invalid_input, "measure.td_hob",
                      fmt::format("the TD HOB needs {} bytes, more than the {:#x} of TDVF's TD_HOB section",
                                  out.size() + kEndHobSize, hob->memory_size));
  // The guest address just past the end HOB, as QEMU records it.
  put_le64(out.data() + end_of_list_at, hob->memory_address + out.size() + kEndHobSize);
  return out;
}

} // namespace tdx::measure
