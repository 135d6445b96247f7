#include "tdxctl/measure/authenticode.hpp"

#include "tdxctl/measure/le.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace tdx::measure {
namespace {

constexpr uint16_t kPe32 = 0x10b;
constexpr uint16_t kPe32Plus = 0x20b;
constexpr uint32_t kSecurityDirectory = 4;

core::Error bad(std::string_view name, size_t offset, std::string what) {
  return core::Error{core::Category::invalid_input, "measure.pe_image",
                     fmt::format("{}: byte offset {:#x}: {}", name, offset, what),
                     "pass the kernel as an EFI-stub bzImage (the file QEMU's -kernel takes)"};
}

struct RawSection {
  uint32_t pointer = 0;
  uint32_t size = 0;
};

} // namespace

core::Result<Digest> authenticode_sha384(std::span<const uint8_t> image, std::string_view name) {
  auto need = [&](size_t at, size_t len, const char* what) -> std::optional<core::Error> {
    if (at > image.size() || len > image.size() - at)
      return bad(name, at, fmt::format("{} runs past the end of the {}-byte file", what,
                                       image.size()));
    return std::nullopt;
  };
  if (auto e = need(0, 0x40, "DOS header")) return std::unexpected(*e);
  if (image[0] != 'M' || image[1] != 'Z') return std::unexpected(bad(name, 0, "no MZ signature"));
  size_t pe = le32(image, 0x3c);
  if (auto e = need(pe, 24, "PE header")) return std::unexpected(*e);
  if (le32(image, pe) != 0x00004550) return std::unexpected(bad(name, pe, "no PE signature"));
  size_t coff = pe + 4;
  uint16_t nsections = le16(image, coff + 2);
  uint16_t opt_size = le16(image, coff + 16);
  size_t opt = coff + 20;
  if (auto e = need(opt, opt_size, "optional header")) return std::unexpected(*e);
  if (opt_size < 2) return std::unexpected(bad(name, opt, "optional header too small"));
  uint16_t magic = le16(image, opt);
  size_t nrva_at = 0, dirs_at = 0;
  if (magic == kPe32) {
    nrva_at = opt + 92;
    dirs_at = opt + 96;
  } else if (magic == kPe32Plus) {
    nrva_at = opt + 108;
    dirs_at = opt + 112;
  } else {
    return std::unexpected(bad(name, opt, fmt::format("optional header magic {:#x} is neither "
                                                      "PE32 nor PE32+", magic)));
  }
  if (nrva_at + 4 > opt + opt_size)
    return std::unexpected(bad(name, opt, "optional header too small"));
  size_t checksum_at = opt + 64;
  uint32_t size_of_headers = le32(image, opt + 60);
  uint32_t nrva = le32(image, nrva_at);
  size_t secdir_at = dirs_at + kSecurityDirectory * 8;
  bool has_secdir = nrva > kSecurityDirectory;
  if (has_secdir && secdir_at + 8 > opt + opt_size)
    return std::unexpected(bad(name, secdir_at, "certificate directory outside the optional header"));
  if (auto e = need(0, size_of_headers, "SizeOfHeaders")) return std::unexpected(*e);
  size_t headers_end = size_of_headers;
  size_t after_checksum = checksum_at + 4;
  if (headers_end < (has_secdir ? secdir_at + 8 : after_checksum))
    return std::unexpected(bad(name, opt + 60, "SizeOfHeaders ends inside the optional header"));

  Sha384 h;
  h.update(image.subspan(0, checksum_at));
  if (has_secdir) {
    h.update(image.subspan(after_checksum, secdir_at - after_checksum));
    h.update(image.subspan(secdir_at + 8, headers_end - (secdir_at + 8)));
  } else {
    h.update(image.subspan(after_checksum, headers_end - after_checksum));
  }
  uint64_t hashed = size_of_headers;

  size_t table = opt + opt_size;
  if (auto e = need(table, size_t{nsections} * 40, "section table")) return std::unexpected(*e);
  std::vector<RawSection> sections;
  for (uint16_t i = 0; i < nsections; ++i) {
    size_t s = table + size_t{i} * 40;
    sections.push_back({le32(image, s + 20), le32(image, s + 16)});
  }
  // edk2 insertion-sorts by PointerToRawData, keeping ties in table order.
  std::stable_sort(sections.begin(), sections.end(),
                   [](const RawSection& a, const RawSection& b) { return a.pointer < b.pointer; });
  for (const auto& s : sections) {
    if (s.size == 0) continue;
    if (auto e = need(s.pointer, s.size, "section data")) return std::unexpected(*e);
    h.update(image.subspan(s.pointer, s.size));
    hashed += s.size;
  }
  if (image.size() > hashed) {
    uint64_t cert_size = has_secdir ? le32(image, secdir_at + 4) : 0;
    if (image.size() > cert_size + hashed)
      h.update(image.subspan(hashed, image.size() - cert_size - hashed));
    else if (image.size() < cert_size + hashed)
      return std::unexpected(bad(name, secdir_at, "certificate table larger than the data after "
                                                  "the sections"));
  }
  return h.finish();
}

} // namespace tdx::measure
