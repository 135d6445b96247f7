#include "tdxctl/measure/var_store.hpp"

#include "tdxctl/measure/le.hpp"
#include "tdxctl/liblzma/api.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace tdx::measure {

const EfiGuid kEfiGlobalVariableGuid{0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
                                     0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c};
const EfiGuid kEfiImageSecurityDatabaseGuid{0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
                                            0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f};
const EfiGuid kSecureBootEnableDisableGuid{0xc7, 0x0b, 0xa3, 0xf0, 0x08, 0xaf, 0x56, 0x45,
                                           0x99, 0xc4, 0x00, 0x10, 0x09, 0xc9, 0x3a, 0x44};

namespace {

// aaf32c78-947b-439a-a180-2e144ec37792 (gEfiAuthenticatedVariableGuid)
constexpr EfiGuid kAuthenticatedStoreGuid{0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43,
                                          0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92};
// ddcf3616-3275-4164-98b6-fe85707ffe7d (gEfiVariableGuid)
constexpr EfiGuid kPlainStoreGuid{0x16, 0x36, 0xcf, 0xdd, 0x75, 0x32, 0x64, 0x41,
                                  0x98, 0xb6, 0xfe, 0x85, 0x70, 0x7f, 0xfe, 0x7d};
// ee4e5898-3914-4259-9d6e-dc7bd79403cf (LZMA custom decompress, GUID-defined section)
constexpr EfiGuid kLzmaSectionGuid{0x98, 0x58, 0x4e, 0xee, 0x14, 0x39, 0x59, 0x42,
                                   0x9d, 0x6e, 0xdc, 0x7b, 0xd7, 0x94, 0x03, 0xcf};

constexpr uint32_t kFvSignature = 0x4856465f; // "_FVH"
constexpr size_t kFvSignatureAt = 40, kFvHeaderLengthAt = 48;
constexpr size_t kStoreHeaderSize = 28;
constexpr uint16_t kStartId = 0x55AA;
constexpr uint8_t kVarAdded = 0x3F;
constexpr uint8_t kVarAddedInDeletedTransition = 0x3E; // VAR_ADDED & VAR_IN_DELETED_TRANSITION
constexpr size_t kAuthHeaderSize = 60, kPlainHeaderSize = 32;
constexpr uint8_t kGuidDefinedSection = 0x02;

core::Error bad(std::string_view name, size_t offset, std::string what) {
  return core::Error{core::Category::invalid_input, "measure.var_store",
                     fmt::format("{}: byte offset {:#x}: {}", name, offset, what),
                     "pass an intact TDVF image: its CFV holds the variable store"};
}

size_t align4(size_t v) { return (v + 3) & ~size_t{3}; }

EfiGuid guid_at(std::span<const uint8_t> b, size_t at) {
  EfiGuid g{};
  std::memcpy(g.data(), b.data() + at, g.size());
  return g;
}

std::optional<std::string> ascii_name(std::span<const uint8_t> utf16) {
  std::string out;
  for (size_t i = 0; i + 1 < utf16.size(); i += 2) {
    uint16_t c = le16(utf16, i);
    if (c == 0) return out;
    if (c > 0x7e || c < 0x20) return std::nullopt;
    out.push_back(static_cast<char>(c));
  }
  return std::nullopt; // no terminating NUL
}

// Holds the table it was made with: liblzma is opened (and a missing one
// reported) before there is a stream to end.
struct Lzma {
  const liblzma::Api& lz = liblzma::api();
  lzma_stream s = LZMA_STREAM_INIT;
  ~Lzma() { lz.lzma_end(&s); }
};

// Whether the LZMA-alone stream `data` decompresses to bytes containing `needle`.
bool lzma_contains(std::span<const uint8_t> data, std::span<const uint8_t> needle) {
  Lzma z;
  if (z.lz.lzma_alone_decoder(&z.s, UINT64_MAX) != LZMA_OK) return false;
  std::vector<uint8_t> buf(1 << 20);
  std::vector<uint8_t> carry;
  z.s.next_in = data.data();
  z.s.avail_in = data.size();
  for (;;) {
    z.s.next_out = buf.data();
    z.s.avail_out = buf.size();
    lzma_ret r = z.lz.lzma_code(&z.s, LZMA_FINISH);
    size_t got = buf.size() - z.s.avail_out;
    // Search the new bytes with the tail of the previous chunk in front.
    carry.insert(carry.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got));
    if (std::search(carry.begin(), carry.end(), needle.begin(), needle.end()) != carry.end()) return true;
    if (carry.size() > needle.size())
      carry.erase(carry.begin(), carry.end() - static_cast<std::ptrdiff_t>(needle.size()));
    if (r == LZMA_STREAM_END) return false;
    if (r != LZMA_OK) return false;
  }
}

} // namespace

const EfiVariable* VariableStore::find(std::string_view name, const EfiGuid& vendor) const {
  for (const auto& v : variables)
    if (v.name == name && v.vendor == vendor) return &v;
  return nullptr;
}

core::Result<VariableStore> parse_cfv_variable_store(std::span<const uint8_t> firmware,
                                                     const TdvfMetadata& metadata, std::string_view name) {
  const TdvfSection* cfv = nullptr;
  for (const auto& s : metadata.sections)
    if (s.type == static_cast<uint32_t>(SectionType::cfv)) cfv = &s;
  if (!cfv) return std::unexpected(bad(name, metadata.descriptor_offset, "the TDVF metadata lists no CFV section"));
  if (size_t{cfv->data_offset} + cfv->raw_data_size > firmware.size())
    return std::unexpected(bad(name, cfv->entry_offset, "the CFV section runs past the end of the image"));
  auto fv = firmware.subspan(cfv->data_offset, cfv->raw_data_size);
  size_t base = cfv->data_offset;
  if (fv.size() < kFvHeaderLengthAt + 2 || le32(fv, kFvSignatureAt) != kFvSignature)
    return std::unexpected(bad(name, base + kFvSignatureAt, "the CFV does not start with a firmware volume (_FVH)"));
  size_t store = le16(fv, kFvHeaderLengthAt);
  if (store + kStoreHeaderSize > fv.size())
    return std::unexpected(bad(name, base + kFvHeaderLengthAt, "firmware volume header length out of range"));
  VariableStore out;
  auto store_guid = guid_at(fv, store);
  if (store_guid == kAuthenticatedStoreGuid) out.authenticated = true;
  else if (store_guid != kPlainStoreGuid)
    return std::unexpected(bad(name, base + store, "no variable store header (authenticated or plain GUID)"));
  size_t store_size = le32(fv, store + 16);
  if (store_size < kStoreHeaderSize || store + store_size > fv.size())
    return std::unexpected(bad(name, base + store + 16, fmt::format("variable store size {:#x} out of range", store_size)));
  size_t end = store + store_size;
  size_t header = out.authenticated ? kAuthHeaderSize : kPlainHeaderSize;
  size_t names_at = out.authenticated ? 36 : 8; // NameSize, DataSize, VendorGuid follow

  struct Seen { EfiVariable v; uint8_t state; };
  std::vector<Seen> seen;
  for (size_t at = align4(store + kStoreHeaderSize); at + header <= end;) {
    if (le16(fv, at) != kStartId) break; // the rest of the store is erased (0xFF)
    uint8_t state = fv[at + 2];
    uint32_t attributes = le32(fv, at + 4);
    uint32_t name_size = le32(fv, at + names_at);
    uint32_t data_size = le32(fv, at + names_at + 4);
    auto vendor = guid_at(fv, at + names_at + 8);
    size_t name_at = at + header;
    if (name_size > end - name_at || data_size > end - name_at - name_size)
      return std::unexpected(bad(name, base + at, "variable runs past the end of the store"));
    size_t data_at = name_at + name_size;
    if (state == kVarAdded || state == kVarAddedInDeletedTransition) {
      auto n = ascii_name(fv.subspan(name_at, name_size));
      if (!n) return std::unexpected(bad(name, base + name_at, "variable name is not NUL-terminated printable UTF-16"));
      EfiVariable v{*n, vendor, attributes, std::vector<uint8_t>(fv.begin() + data_at, fv.begin() + data_at + data_size)};
      seen.push_back({std::move(v), state});
    }
    at = align4(data_at + data_size);
  }
  // A copy in deleted transition counts only when no VAR_ADDED copy exists.
  for (const auto& s : seen) {
    if (s.state == kVarAddedInDeletedTransition) {
      bool newer = std::any_of(seen.begin(), seen.end(), [&](const Seen& o) {
        return o.state == kVarAdded && o.v.name == s.v.name && o.v.vendor == s.v.vendor;
      });
      if (newer) continue;
    }
    out.variables.push_back(s.v);
  }
  return out;
}

std::optional<bool> firmware_has_auth_variables(std::span<const uint8_t> firmware) {
  static const std::vector<uint8_t> needle = [] {
    std::vector<uint8_t> v;
    for (char c : std::string_view("certdbv")) { v.push_back(static_cast<uint8_t>(c)); v.push_back(0); }
    v.push_back(0); v.push_back(0);
    return v;
  }();
  bool found_volume = false;
  // GUID-defined sections: a 4-byte common header (24-bit size, type 0x02),
  // the definition GUID, then DataOffset (from the section start) and Attributes.
  for (size_t at = 4; at + 20 <= firmware.size(); ++at) {
    if (std::memcmp(firmware.data() + at, kLzmaSectionGuid.data(), 16) != 0) continue;
    size_t section = at - 4;
    size_t size = firmware[section] | (firmware[section + 1] << 8) | (size_t{firmware[section + 2]} << 16);
    if (firmware[section + 3] != kGuidDefinedSection || size > firmware.size() - section) continue;
    size_t data_offset = le16(firmware, at + 16);
    if (data_offset < 24 || data_offset > size) continue;
    found_volume = true;
    if (lzma_contains(firmware.subspan(section + data_offset, size - data_offset), needle)) return true;
  }
  if (!found_volume) return std::nullopt;
  return false;
}

} // namespace tdx::measure
