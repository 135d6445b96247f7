#pragma once
// Synthetic inputs for the measure tests, laid out byte for byte as the
// independent Python derivations of their expected values did (see each
// test's comment): a TDVF image with four sections, a PE32+ image with two
// out-of-order sections and a certificate directory, and CC event logs.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::test {

inline void put16(std::string& b, size_t at, uint16_t v) {
  for (int i = 0; i < 2; ++i) b[at + i] = static_cast<char>(v >> (8 * i));
}
inline void put32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>(v >> (8 * i));
}
inline void put64(std::string& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<char>(v >> (8 * i));
}
inline void put_hex(std::string& b, size_t at, std::string_view hex) {
  for (size_t i = 0; i < hex.size() / 2; ++i)
    b[at + i] = static_cast<char>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
}

struct SectionSpec {
  uint32_t data_offset, raw_size;
  uint64_t address, size;
  uint32_t type, attributes;
};

inline const std::vector<SectionSpec>& default_sections() {
  static const std::vector<SectionSpec> s{{0, 0x1000, 0xFFFFE000, 0x1000, 0, 1},
                                          {0x1000, 0x1000, 0xFFFFF000, 0x1000, 1, 0},
                                          {0, 0, 0x800000, 0x2000, 3, 0},
                                          {0, 0, 0x900000, 0x1000, 3, 1}};
  return s;
}

// 8 KiB: BFV bytes (i*7+3) in the first page, the "TDVF" descriptor at
// 0x1000, the GUID-ed table (TDX metadata offset entry + footer) at the end.
inline std::string synthetic_tdvf(const std::vector<SectionSpec>& sections = default_sections(),
                                  uint32_t version = 1) {
  const size_t n = 0x2000;
  std::string b(n, '\0');
  for (size_t i = 0; i < 0x1000; ++i) b[i] = static_cast<char>((i * 7 + 3) & 0xff);
  std::memcpy(b.data() + 0x1000, "TDVF", 4);
  put32(b, 0x1004, static_cast<uint32_t>(16 + 32 * sections.size()));
  put32(b, 0x1008, version);
  put32(b, 0x100c, static_cast<uint32_t>(sections.size()));
  for (size_t i = 0; i < sections.size(); ++i) {
    size_t e = 0x1010 + 32 * i;
    const auto& s = sections[i];
    put32(b, e, s.data_offset);
    put32(b, e + 4, s.raw_size);
    put64(b, e + 8, s.address);
    put64(b, e + 16, s.size);
    put32(b, e + 24, s.type);
    put32(b, e + 28, s.attributes);
  }
  put_hex(b, n - 0x30, "de82b596b21ff745baeaa366c55a082d");
  put16(b, n - 0x32, 40);
  size_t e = n - 0x32 - 22;
  put32(b, e, static_cast<uint32_t>(n - 0x1000));
  put16(b, e + 4, 22);
  put_hex(b, e + 6, "35657ae44a989847865e4685a7bf8ec2");
  return b;
}

// PE32+: SizeOfHeaders 0x200, sections ".b" at 0x400 and ".a" at 0x200 (so
// the table is out of file order), CheckSum set, certificate directory
// {0x600, 0x10}, 0x620 bytes; the CC measurement protocol GUID at 0x300.
inline std::string synthetic_pe() {
  const size_t n = 0x620;
  std::string b(n, '\0');
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<char>((i * 31 + 7) & 0xff);
  b[0] = 'M';
  b[1] = 'Z';
  put32(b, 0x3c, 0x40);
  std::memcpy(b.data() + 0x40, "PE\0\0", 4);
  put16(b, 0x44, 0x8664);
  put16(b, 0x46, 2);
  put32(b, 0x48, 0);
  put32(b, 0x4c, 0);
  put32(b, 0x50, 0);
  put16(b, 0x54, 0xF0);
  put16(b, 0x56, 0x22);
  const size_t opt = 0x58;
  put16(b, opt, 0x20b);
  put32(b, opt + 60, 0x200);
  put32(b, opt + 64, 0x12345678);
  put32(b, opt + 108, 16);
  put32(b, opt + 112 + 32, 0x600);
  put32(b, opt + 112 + 36, 0x10);
  const size_t t = opt + 0xF0;
  struct { const char* name; uint32_t ptr, size; } secs[] = {{".b", 0x400, 0x200}, {".a", 0x200, 0x200}};
  for (size_t i = 0; i < 2; ++i) {
    size_t s = t + 40 * i;
    std::memset(b.data() + s, 0, 40);
    std::memcpy(b.data() + s, secs[i].name, 2);
    put32(b, s + 16, secs[i].size);
    put32(b, s + 20, secs[i].ptr);
  }
  put_hex(b, 0x300, "3d1a7596f472a641a794ed5d0e67ae6b");
  return b;
}

} // namespace tdx::test

namespace tdx::test {

struct LogRecord {
  uint32_t mr_index;
  uint32_t type;
  std::string digest; // 48 bytes (SHA-384)
  std::string data;
};

// A crypto-agile CC event log: the Spec ID event declaring SHA-256 and
// SHA-384 (or SHA-384 alone), then the records with both digests, then
// `tail` bytes of 0xFF as edk2 leaves the unused log area.
inline std::string cc_event_log(const std::vector<LogRecord>& records, bool with_sha256 = true,
                                size_t tail = 64) {
  std::string spec(16, '\0');
  std::memcpy(spec.data(), "Spec ID Event03", 16);
  std::string rest(12, '\0'); // platformClass, versions, uintnSize, algorithm count
  rest[5] = 2;                // specVersionMajor
  rest[7] = 2;                // uintnSize (UINT64)
  put32(rest, 8, with_sha256 ? 2 : 1);
  spec += rest;
  auto alg = [](uint16_t id, uint16_t size) {
    std::string a(4, '\0');
    put16(a, 0, id);
    put16(a, 2, size);
    return a;
  };
  if (with_sha256) spec += alg(0x000B, 32);
  spec += alg(0x000C, 48);
  spec += std::string(1, '\0'); // vendorInfoSize
  std::string log(32, '\0');
  put32(log, 4, 3); // EV_NO_ACTION
  put32(log, 28, static_cast<uint32_t>(spec.size()));
  log += spec;
  for (const auto& r : records) {
    std::string h(12, '\0');
    put32(h, 0, r.mr_index);
    put32(h, 4, r.type);
    put32(h, 8, with_sha256 ? 2 : 1);
    log += h;
    if (with_sha256) {
      std::string d(2, '\0');
      put16(d, 0, 0x000B);
      log += d + std::string(32, '\x5a');
    }
    std::string d(2, '\0');
    put16(d, 0, 0x000C);
    log += d + r.digest;
    std::string sz(4, '\0');
    put32(sz, 0, static_cast<uint32_t>(r.data.size()));
    log += sz + r.data;
  }
  return log + std::string(tail, '\xff');
}

} // namespace tdx::test
