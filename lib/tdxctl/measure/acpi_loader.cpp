#include "tdxctl/measure/acpi_loader.hpp"

#include "tdxctl/measure/le.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace tdx::measure {
namespace {

constexpr size_t kCommandSize = 128;
constexpr size_t kFileNameSize = 56; // FW_CFG_MAX_FILE_PATH
constexpr size_t kLoaderAlign = 4096; // ACPI_BUILD_ALIGN_SIZE
constexpr uint32_t kAllocate = 1, kAddPointer = 2, kAddChecksum = 3;
constexpr uint8_t kZoneHigh = 1, kZoneFseg = 2;
constexpr const char* kTablesFile = "etc/acpi/tables";
constexpr const char* kRsdpFile = "etc/acpi/rsdp";
constexpr size_t kHeaderSize = 36;   // the common ACPI table header
constexpr size_t kChecksumAt = 9;
constexpr size_t kOemIdAt = 10, kOemTableIdAt = 16;
constexpr size_t kRsdpSize = 20;

core::Error bad(std::string_view name, size_t offset, std::string what, std::string hint = {}) {
  return core::Error{core::Category::invalid_input, "measure.acpi_tables",
                     fmt::format("{}: byte offset {:#x}: {}", name, offset, what),
                     hint.empty() ? "pass QEMU's etc/acpi/tables blob as `tdxctl-guest measure acpi` captures it"
                                  : hint};
}

struct Loader {
  std::vector<uint8_t> blob;
  uint8_t* command(uint32_t type) {
    blob.resize(blob.size() + kCommandSize, 0);
    uint8_t* c = blob.data() + blob.size() - kCommandSize;
    for (int i = 0; i < 4; ++i) c[i] = static_cast<uint8_t>(type >> (8 * i));
    return c + 4;
  }
  static void name(uint8_t* at, const char* file) { std::strncpy(reinterpret_cast<char*>(at), file, kFileNameSize - 1); }
  static void u32(uint8_t* at, uint32_t v) { for (int i = 0; i < 4; ++i) at[i] = static_cast<uint8_t>(v >> (8 * i)); }
  void allocate(const char* file, uint32_t align, uint8_t zone) {
    uint8_t* c = command(kAllocate);
    name(c, file);
    u32(c + kFileNameSize, align);
    c[kFileNameSize + 4] = zone;
  }
  void pointer(const char* dest, const char* src, uint32_t offset, uint8_t size) {
    uint8_t* c = command(kAddPointer);
    name(c, dest);
    name(c + kFileNameSize, src);
    u32(c + 2 * kFileNameSize, offset);
    c[2 * kFileNameSize + 4] = size;
  }
  void checksum(const char* file, uint32_t result, uint32_t start, uint32_t length) {
    uint8_t* c = command(kAddChecksum);
    name(c, file);
    u32(c + kFileNameSize, result);
    u32(c + kFileNameSize + 4, start);
    u32(c + kFileNameSize + 8, length);
  }
};

std::string text_at(std::span<const uint8_t> b, size_t at, size_t n) {
  return std::string(reinterpret_cast<const char*>(b.data() + at), n);
}

} // namespace

core::Result<AcpiFiles> rebuild_acpi_files(std::span<const uint8_t> blob, std::string_view name) {
  AcpiFiles out;
  size_t at = 0;
  while (at + 8 <= blob.size()) {
    if (std::all_of(blob.begin() + static_cast<std::ptrdiff_t>(at), blob.begin() + static_cast<std::ptrdiff_t>(at + 4),
                    [](uint8_t b) { return b == 0; }))
      break; // the zero padding after the last table
    auto sig = text_at(blob, at, 4);
    if (!std::all_of(sig.begin(), sig.end(), [](char c) { return c >= 0x20 && c < 0x7f; }))
      return std::unexpected(bad(name, at, "not an ACPI table signature"));
    uint32_t length = le32(blob, at + 4);
    size_t min = sig == "FACS" ? 8 : kHeaderSize;
    if (length < min || length > blob.size() - at)
      return std::unexpected(bad(name, at + 4, fmt::format("table {} has length {}, out of range", sig, length)));
    out.tables.push_back({sig, static_cast<uint32_t>(at), length});
    at += length;
  }
  if (out.tables.empty()) return std::unexpected(bad(name, 0, "no ACPI table in the blob"));

  const AcpiTable* root = nullptr;
  const AcpiTable* facs = nullptr;
  for (const auto& t : out.tables) {
    if (t.signature == "RSDT" || t.signature == "XSDT") root = &t;
    if (t.signature == "FACS") facs = &t;
    bool links_out = t.signature == "TPM2" || t.signature == "TCPA" ||
                     (t.signature == "SSDT" && t.length >= kHeaderSize &&
                      (text_at(blob, t.offset + kOemTableIdAt, 6) == "NVDIMM" ||
                       text_at(blob, t.offset + kOemTableIdAt, 7) == "VMGENID"));
    if (links_out)
      return std::unexpected(bad(name, t.offset,
                                 fmt::format("table {} points into another fw_cfg file, so QEMU's "
                                             "table-loader cannot be rebuilt from the tables alone",
                                             t.signature),
                                 "capture the TD's etc/table-loader and etc/acpi/rsdp too "
                                 "(`tdxctl-guest measure platform`) and pass --platform"));
  }
  if (!root) return std::unexpected(bad(name, 0, "no RSDT or XSDT: the RSDP cannot be rebuilt"));

  Loader l;
  l.allocate(kRsdpFile, 16, kZoneFseg);
  l.allocate(kTablesFile, 64, kZoneHigh);
  for (const auto& t : out.tables) {
    if (t.signature == "FACS") continue;
    if (t.signature == "FACP") {
      if (facs) l.pointer(kTablesFile, kTablesFile, t.offset + 36, 4);
      l.pointer(kTablesFile, kTablesFile, t.offset + 40, 4);
      if (t.length >= 148) l.pointer(kTablesFile, kTablesFile, t.offset + 140, 8);
    } else if (&t == root) {
      uint8_t size = t.signature == "RSDT" ? 4 : 8;
      for (uint32_t e = kHeaderSize; e + size <= t.length; e += size) l.pointer(kTablesFile, kTablesFile, t.offset + e, size);
    }
    l.checksum(kTablesFile, t.offset + kChecksumAt, t.offset, t.length);
  }
  bool xsdt = root->signature == "XSDT";
  // ACPI 1.0 RSDP with the RSDT; ACPI 2.0 (36 bytes, extended checksum) with an XSDT.
  out.rsdp.assign(xsdt ? 36 : kRsdpSize, 0);
  std::memcpy(out.rsdp.data(), "RSD PTR ", 8);
  std::memcpy(out.rsdp.data() + 9, blob.data() + root->offset + kOemIdAt, 6);
  if (xsdt) {
    out.rsdp[15] = 2;
    Loader::u32(out.rsdp.data() + 20, 36);
    put_le64(out.rsdp.data() + 24, root->offset);
    l.pointer(kRsdpFile, kTablesFile, 24, 8);
    l.checksum(kRsdpFile, 8, 0, kRsdpSize);
    l.checksum(kRsdpFile, 32, 0, 36);
  } else {
    Loader::u32(out.rsdp.data() + 16, root->offset);
    l.pointer(kRsdpFile, kTablesFile, 16, 4);
    l.checksum(kRsdpFile, 8, 0, kRsdpSize);
  }
  l.blob.resize((l.blob.size() + kLoaderAlign - 1) / kLoaderAlign * kLoaderAlign, 0);
  out.table_loader = std::move(l.blob);
  return out;
}

} // namespace tdx::measure
