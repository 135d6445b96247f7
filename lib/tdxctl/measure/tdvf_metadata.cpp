#include "tdxctl/measure/tdvf_metadata.hpp"

#include "tdxctl/measure/le.hpp"

#include <array>
#include <cstring>
#include <optional>

#include <fmt/format.h>

namespace tdx::measure {
namespace {

using Guid = std::array<uint8_t, 16>;

// 96b582de-1fb2-45f7-baea-a366c55a082d, in its on-disk (mixed-endian) form.
constexpr Guid kTableFooterGuid{0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
                                0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d};
// e47a6535-984a-4798-865e-4685a7bf8ec2
constexpr Guid kTdxMetadataOffsetGuid{0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
                                      0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2};
constexpr uint32_t kTdvfSignature = 0x46564454; // "TDVF"
constexpr size_t kBytesAfterTable = 0x20;        // the reset vector and its padding
constexpr size_t kEntryHeader = sizeof(uint16_t) + sizeof(Guid);
constexpr uint64_t kPage = 4096;

core::Error bad(std::string_view name, size_t offset, std::string what) {
  return core::Error{core::Category::invalid_input, "measure.tdvf_metadata",
                     fmt::format("{}: byte offset {:#x}: {}", name, offset, what),
                     "pass a TDVF build (e.g. OVMF.inteltdx.fd) whose TDX metadata is intact"};
}

bool guid_at(std::span<const uint8_t> image, size_t offset, const Guid& guid) {
  return std::memcmp(image.data() + offset, guid.data(), guid.size()) == 0;
}

// The data of the GUID-ed table entry `guid`, walking back from the footer as
// QEMU's pc_system_ovmf_table_find does: [data][u16 length][guid], where the
// length covers data, length and guid.
core::Result<std::span<const uint8_t>> find_table_entry(std::span<const uint8_t> image,
                                                        std::string_view name, const Guid& guid) {
  if (image.size() < kBytesAfterTable + kEntryHeader)
    return std::unexpected(bad(name, 0, fmt::format("{} bytes is too small for a TDVF image",
                                                    image.size())));
  size_t footer = image.size() - kBytesAfterTable - sizeof(Guid);
  if (!guid_at(image, footer, kTableFooterGuid))
    return std::unexpected(bad(name, footer, "no OVMF GUID-ed table footer "
                                             "(96b582de-1fb2-45f7-baea-a366c55a082d)"));
  size_t len_at = footer - sizeof(uint16_t);
  size_t total = le16(image, len_at);
  if (total < kEntryHeader || total - kEntryHeader > len_at)
    return std::unexpected(bad(name, len_at, fmt::format("GUID-ed table length {} out of range",
                                                         total)));
  size_t table_start = len_at - (total - kEntryHeader);
  size_t end = len_at; // entries occupy [table_start, end)
  while (end - table_start >= kEntryHeader) {
    size_t guid_at_off = end - sizeof(Guid);
    size_t entry_len_at = guid_at_off - sizeof(uint16_t);
    size_t entry_len = le16(image, entry_len_at);
    if (entry_len < kEntryHeader || entry_len > end - table_start)
      return std::unexpected(bad(name, entry_len_at,
                                 fmt::format("GUID-ed table entry length {} out of range",
                                             entry_len)));
    size_t data_start = end - entry_len;
    if (guid_at(image, guid_at_off, guid))
      return image.subspan(data_start, entry_len - kEntryHeader);
    end = data_start;
  }
  return std::unexpected(bad(name, table_start,
                             "no TDX metadata offset entry (GUID "
                             "e47a6535-984a-4798-865e-4685a7bf8ec2): not a TDVF build"));
}

std::optional<core::Error> check_section(const TdvfSection& s, std::string_view name) {
  auto at = [&](std::string what) { return bad(name, s.entry_offset, std::move(what)); };
  if (s.memory_size < s.raw_data_size)
    return at(fmt::format("RawDataSize {:#x} exceeds MemoryDataSize {:#x}", s.raw_data_size,
                          s.memory_size));
  if (s.memory_address % kPage != 0)
    return at(fmt::format("MemoryAddress {:#x} is not page aligned", s.memory_address));
  if (s.memory_size % kPage != 0)
    return at(fmt::format("MemoryDataSize {:#x} is not page aligned", s.memory_size));
  switch (static_cast<SectionType>(s.type)) {
  case SectionType::bfv:
  case SectionType::cfv:
    if (s.raw_data_size == 0) return at(section_type_name(s.type) + " section with RawDataSize 0");
    break;
  case SectionType::td_hob:
  case SectionType::temp_mem:
    if (s.raw_data_size != 0)
      return at(fmt::format("{} section with RawDataSize {:#x} (expected 0)",
                            section_type_name(s.type), s.raw_data_size));
    break;
  default:
    return at(fmt::format("section type {} ({}) is not one QEMU launches (BFV, CFV, TD_HOB, "
                          "TEMP_MEM)", s.type, section_type_name(s.type)));
  }
  return std::nullopt;
}

} // namespace

std::string section_type_name(uint32_t type) {
  switch (static_cast<SectionType>(type)) {
  case SectionType::bfv: return "BFV";
  case SectionType::cfv: return "CFV";
  case SectionType::td_hob: return "TD_HOB";
  case SectionType::temp_mem: return "TEMP_MEM";
  case SectionType::perm_mem: return "PERM_MEM";
  case SectionType::payload: return "PAYLOAD";
  case SectionType::payload_param: return "PAYLOAD_PARAM";
  }
  return fmt::format("unknown({})", type);
}

core::Result<TdvfMetadata> parse_tdvf_metadata(std::span<const uint8_t> image,
                                               std::string_view name) {
  auto entry = find_table_entry(image, name, kTdxMetadataOffsetGuid);
  if (!entry) return std::unexpected(entry.error());
  size_t entry_at = static_cast<size_t>(entry->data() - image.data());
  if (entry->size() < sizeof(uint32_t))
    return std::unexpected(bad(name, entry_at, "TDX metadata offset entry shorter than 4 bytes"));
  uint32_t back = le32(image, entry_at);
  constexpr size_t kDescriptor = 16;
  if (back > image.size() || image.size() - back + kDescriptor > image.size())
    return std::unexpected(bad(name, entry_at, fmt::format("TDX metadata offset {:#x} points "
                                                           "outside the image", back)));
  TdvfMetadata md;
  md.descriptor_offset = image.size() - back;
  size_t d = md.descriptor_offset;
  if (le32(image, d) != kTdvfSignature)
    return std::unexpected(bad(name, d, "no \"TDVF\" signature at the TDX metadata offset"));
  uint32_t length = le32(image, d + 4);
  md.version = le32(image, d + 8);
  uint32_t count = le32(image, d + 12);
  if (length > image.size() - d)
    return std::unexpected(bad(name, d + 4, fmt::format("descriptor length {:#x} runs past the "
                                                        "end of the image", length)));
  if (md.version != 1)
    return std::unexpected(bad(name, d + 8, fmt::format("metadata version {} (only 1 is defined)",
                                                        md.version)));
  if (count < 2)
    return std::unexpected(bad(name, d + 12, fmt::format("{} section entries (at least 2 "
                                                         "expected)", count)));
  constexpr size_t kEntry = 32;
  if (static_cast<uint64_t>(length) != kDescriptor + uint64_t{count} * kEntry)
    return std::unexpected(bad(name, d + 4, fmt::format("descriptor length {:#x} does not match "
                                                        "{} entries of 32 bytes", length, count)));
  for (uint32_t i = 0; i < count; ++i) {
    size_t e = d + kDescriptor + size_t{i} * kEntry;
    TdvfSection s;
    s.entry_offset = e;
    s.data_offset = le32(image, e);
    s.raw_data_size = le32(image, e + 4);
    s.memory_address = le64(image, e + 8);
    s.memory_size = le64(image, e + 16);
    s.type = le32(image, e + 24);
    s.attributes = le32(image, e + 28);
    if (auto err = check_section(s, name)) return std::unexpected(*err);
    // QEMU copies MemoryDataSize bytes from DataOffset for image-backed
    // sections (tdx.c: mem_ptr = image + data_offset), so all of them must
    // lie inside the image.
    bool backed = s.type == static_cast<uint32_t>(SectionType::bfv) ||
                  s.type == static_cast<uint32_t>(SectionType::cfv);
    if (backed && (s.data_offset > image.size() || s.memory_size > image.size() - s.data_offset))
      return std::unexpected(bad(name, e, fmt::format("{} section [{:#x}, +{:#x}) lies outside "
                                                      "the {}-byte image",
                                                      section_type_name(s.type), s.data_offset,
                                                      s.memory_size, image.size())));
    md.sections.push_back(s);
  }
  return md;
}

} // namespace tdx::measure
