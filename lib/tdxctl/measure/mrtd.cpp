#include "tdxctl/measure/mrtd.hpp"

#include "tdxctl/measure/le.hpp"

#include <array>
#include <cstring>

#include <fmt/format.h>

namespace tdx::measure {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kExtendChunk = 256;
constexpr size_t kRecord = 128;
constexpr size_t kGpaOffset = 16;

std::array<uint8_t, kRecord> record(std::string_view op, uint64_t gpa) {
  std::array<uint8_t, kRecord> r{};
  std::memcpy(r.data(), op.data(), op.size());
  put_le64(r.data() + kGpaOffset, gpa);
  return r;
}

} // namespace

core::Result<Digest> compute_mrtd(std::span<const uint8_t> image, const TdvfMetadata& metadata,
                                  std::string_view name) {
  static const std::array<uint8_t, kPage> zero_page{};
  Sha384 mrtd;
  for (const auto& s : metadata.sections) {
    bool measured = (s.attributes & kAttrMrExtend) != 0;
    bool backed = s.type == static_cast<uint32_t>(SectionType::bfv) ||
                  s.type == static_cast<uint32_t>(SectionType::cfv);
    if (measured && s.type == static_cast<uint32_t>(SectionType::td_hob))
      return core::fail(core::Category::invalid_input, "measure.tdvf_metadata",
                        fmt::format("{}: byte offset {:#x}: the TD_HOB section asks for "
                                    "MR.EXTEND, but its content is written by QEMU at launch; "
                                    "MRTD cannot be predicted",
                                    name, s.entry_offset));
    for (uint64_t page = 0; page < s.memory_size / kPage; ++page) {
      uint64_t gpa = s.memory_address + page * kPage;
      mrtd.update(record("MEM.PAGE.ADD", gpa));
      if (!measured) continue;
      std::span<const uint8_t> content =
          backed ? image.subspan(s.data_offset + page * kPage, kPage) : zero_page;
      for (uint64_t chunk = 0; chunk < kPage / kExtendChunk; ++chunk) {
        mrtd.update(record("MR.EXTEND", gpa + chunk * kExtendChunk));
        mrtd.update(content.subspan(chunk * kExtendChunk, kExtendChunk));
      }
    }
  }
  return mrtd.finish();
}

} // namespace tdx::measure
