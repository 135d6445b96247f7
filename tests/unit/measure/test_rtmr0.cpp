// RTMR0 of a direct-boot TD (measure/td_hob, var_store, acpi_loader, rtmr0)
// on the real TDVF in tests/data. Expected digests were computed separately
// (Python, hashlib/struct) from QEMU's tdvf-hob.c layout and edk2's
// UEFI_VARIABLE_DATA, not with this code.
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/measure/acpi_loader.hpp"
#include "tdxctl/measure/direct_boot.hpp"
#include "tdxctl/measure/event_types.hpp"
#include "tdxctl/measure/rtmr0.hpp"
#include "tdxctl/measure/td_hob.hpp"
#include "tdxctl/measure/var_store.hpp"
#include "support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <cstring>

using namespace tdx;

namespace {

std::string tdvf() { return core::value_or_throw(core::read_file(test::testdata() / "tdvf/OVMF.inteltdx.ms.fd")); }

measure::TdvfMetadata metadata(const std::string& fw) {
  return core::value_or_throw(measure::parse_tdvf_metadata(core::as_bytes(fw), "OVMF.inteltdx.ms.fd"));
}

std::string hex384(std::span<const uint8_t> b) { return measure::digest_hex(measure::sha384(b)); }

// The CFV of the ms.fd with the PK variable's State byte set to VAR_DELETED
// (0x3C): a TDVF whose store has keys but no PK, so secure boot is off.
std::string without_pk(std::string fw) {
  auto md = metadata(fw);
  for (const auto& s : md.sections) {
    if (s.type != 1) continue;
    std::string name = std::string("P\0K\0\0\0", 6);
    auto at = fw.find(name, s.data_offset);
    REQUIRE(at != std::string::npos);
    fw[at - 60 + 2] = static_cast<char>(0x3C);
  }
  return fw;
}

void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// A blob shaped like QEMU's q35 one: FACS (64), DSDT, FACP (244), APIC, RSDT
// with three entries, zero padding to 128 KiB.
std::vector<uint8_t> acpi_blob(const char* extra = nullptr) {
  std::vector<uint8_t> b(128 * 1024, 0);
  size_t at = 0;
  auto table = [&](const char* sig, uint32_t len) {
    std::memcpy(b.data() + at, sig, 4);
    put32(b, at + 4, len);
    if (std::strcmp(sig, "FACS") != 0) std::memcpy(b.data() + at + 10, "BOCHS ", 6);
    size_t start = at;
    at += len;
    return start;
  };
  table("FACS", 64);
  table("DSDT", 0x1000);
  table("FACP", 244);
  table("APIC", 0x78);
  if (extra) table(extra, 0x40);
  table("RSDT", 36 + 12);
  return b;
}

} // namespace

TEST_CASE("TD HOB: QEMU's RAM entries and bytes for the real TDVF", "[measure]") {
  auto fw = tdvf();
  auto md = metadata(fw);
  auto entries = core::value_or_throw(measure::tdx_ram_entries(md, 2ull << 30));
  using E = std::tuple<uint64_t, uint64_t, bool>;
  std::vector<E> got;
  for (const auto& e : entries) got.emplace_back(e.address, e.length, e.added);
  std::vector<E> want{{0, 0x800000, false},         {0x800000, 0x6000, true}, {0x806000, 0x3000, false},
                      {0x809000, 0x2000, true},     {0x80b000, 0x2000, true}, {0x80d000, 0x3000, false},
                      {0x810000, 0x10000, true},    {0x820000, 0x80000000 - 0x820000, false}};
  CHECK(got == want);
  auto hob = core::value_or_throw(measure::td_hob_bytes(md, 2ull << 30));
  CHECK(hob.size() == 440);
  CHECK(hex384(hob) == "0b8772e5b0b41b83e6044a68397e02f49fb47066b4fbe4917ea2c45c64f323fd"
                       "acbb37948f821ebaf8bc9c938ba8a749");
  // 4 GiB: low RAM stops at 2 GiB, the rest starts at 4 GiB.
  auto big = core::value_or_throw(measure::td_hob_bytes(md, 4ull << 30));
  CHECK(big.size() == 488);
  CHECK(hex384(big) == "5b684faf8d02a733945f821d9cdd170802e72103977acf66949c9382500283ad"
                       "c90cbec57f8e7653f8bee1cab83689de");
  CHECK(measure::e820_ram(0xAFFFF000).size() == 1);
  CHECK(measure::e820_ram(0xB0000000).size() == 2);
}

TEST_CASE("TD HOB: a TD too small for TDVF's sections is refused by name", "[measure]") {
  auto fw = tdvf();
  auto r = measure::td_hob_bytes(metadata(fw), 8ull << 20);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "measure.td_hob");
  CHECK_THAT(r.error().message, Catch::Contains("0x810000"));
}

TEST_CASE("variable store: the ms.fd's enrolled keys", "[measure]") {
  auto fw = tdvf();
  auto store = core::value_or_throw(measure::parse_cfv_variable_store(core::as_bytes(fw), metadata(fw), "fd"));
  CHECK(store.authenticated);
  using V = std::tuple<std::string, size_t>;
  std::vector<V> got;
  for (const auto& v : store.variables) got.emplace_back(v.name, v.data.size());
  CHECK(got == std::vector<V>{{"KEK", 4071}, {"PK", 1005}, {"db", 7636}, {"dbx", 21292}});
  CHECK(store.find("PK", measure::kEfiGlobalVariableGuid));
  CHECK_FALSE(store.find("PK", measure::kEfiImageSecurityDatabaseGuid));
  CHECK(store.find("db", measure::kEfiImageSecurityDatabaseGuid));
  // A deleted copy is not live.
  auto nopk = without_pk(fw);
  auto s2 = core::value_or_throw(measure::parse_cfv_variable_store(core::as_bytes(nopk), metadata(nopk), "fd"));
  CHECK_FALSE(s2.find("PK", measure::kEfiGlobalVariableGuid));
  CHECK(s2.variables.size() == 3);
  CHECK(measure::firmware_has_auth_variables(core::as_bytes(fw)) == std::optional<bool>(true));
}

TEST_CASE("variable store: a broken store names the offset", "[measure]") {
  auto fw = tdvf();
  auto md = metadata(fw);
  auto broken = fw;
  for (const auto& s : md.sections)
    if (s.type == 1) std::memset(broken.data() + s.data_offset + 40, 0, 4); // "_FVH"
  auto r = measure::parse_cfv_variable_store(core::as_bytes(broken), md, "fd");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("byte offset") && Catch::Contains("_FVH"));
}

TEST_CASE("UEFI_VARIABLE_DATA as edk2 measures a driver-config variable", "[measure]") {
  std::array<uint8_t, 1> one{1};
  auto d = measure::uefi_variable_data(measure::kEfiGlobalVariableGuid, "SecureBoot", one);
  CHECK(d.size() == 16 + 8 + 8 + 20 + 1);
  CHECK(hex384(d) == "2cded0c6f453d4c6f59c5e14ec61abc6b018314540a2367cba326a52aa2b315c"
                     "cc08ce68a816ce09c6ef2ac7e514ae1f");
}

TEST_CASE("ACPI: QEMU's RSDP and table-loader rebuilt from the tables", "[measure]") {
  auto blob = acpi_blob();
  auto f = core::value_or_throw(measure::rebuild_acpi_files(blob, "tables"));
  REQUIRE(f.tables.size() == 5);
  CHECK(f.tables[4].signature == "RSDT");
  CHECK(f.tables[4].offset == 64 + 0x1000 + 244 + 0x78);
  // RSDP: "RSD PTR ", checksum 0, OEM ID, revision 0, the RSDT's offset.
  REQUIRE(f.rsdp.size() == 20);
  CHECK(std::string(f.rsdp.begin(), f.rsdp.begin() + 8) == "RSD PTR ");
  CHECK(std::string(f.rsdp.begin() + 9, f.rsdp.begin() + 15) == "BOCHS ");
  CHECK(f.rsdp[15] == 0);
  CHECK((f.rsdp[16] | (f.rsdp[17] << 8)) == static_cast<int>(f.tables[4].offset));
  // Commands: 2 allocations; DSDT sum; FACP 3 pointers + sum; APIC sum;
  // RSDT 3 pointers + sum; RSDP pointer + sum = 15, padded to 4 KiB.
  REQUIRE(f.table_loader.size() == 4096);
  auto cmd = [&](size_t i) { return f.table_loader[i * 128]; };
  std::vector<int> types;
  for (size_t i = 0; i < 32 && cmd(i) != 0; ++i) types.push_back(cmd(i));
  CHECK(types == std::vector<int>{1, 1, 3, 2, 2, 2, 3, 3, 2, 2, 2, 3, 2, 3});
  CHECK(std::string(reinterpret_cast<const char*>(f.table_loader.data()) + 4) == "etc/acpi/rsdp");
  CHECK(f.table_loader[4 + 56] == 16);           // align
  CHECK(f.table_loader[4 + 56 + 4] == 2);        // FSEG
  CHECK(std::string(reinterpret_cast<const char*>(f.table_loader.data()) + 128 + 4) == "etc/acpi/tables");
  CHECK(f.table_loader[128 + 4 + 56 + 4] == 1);  // HIGH
  // The FACP's X_DSDT pointer: offset FACP+140, 8 bytes.
  size_t xdsdt = 5 * 128;
  uint32_t off = f.table_loader[xdsdt + 4 + 112] | (f.table_loader[xdsdt + 4 + 113] << 8);
  CHECK(off == 64 + 0x1000 + 140);
  CHECK(f.table_loader[xdsdt + 4 + 116] == 8);
}

TEST_CASE("ACPI: tables that link to other fw_cfg files are refused by name", "[measure]") {
  auto r = measure::rebuild_acpi_files(acpi_blob("TPM2"), "tables");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("TPM2"));
  CHECK_THAT(r.error().hint, Catch::Contains("measure platform"));
  std::vector<uint8_t> junk(64, 0xff);
  CHECK_FALSE(measure::rebuild_acpi_files(junk, "tables"));
}

TEST_CASE("RTMR0 with secure boot on stops at the secure-boot policy, named", "[measure]") {
  auto fw = tdvf();
  auto md = metadata(fw);
  auto p = core::value_or_throw(measure::predict_rtmr0(core::as_bytes(fw), md, "fd", 2ull << 30, {}));
  REQUIRE(p.unknown);
  CHECK_THAT(*p.unknown, Catch::Contains("secure boot is on"));
  std::vector<std::string> names;
  for (const auto& e : p.events) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"TD HOB", "CFV", "QEMU FW CFG BootMenu", "SecureBoot", "PK", "KEK",
                                          "db", "dbx", "separator"});
  CHECK(measure::digest_hex(p.events[3].digest) ==
        "2cded0c6f453d4c6f59c5e14ec61abc6b018314540a2367cba326a52aa2b315c"
        "cc08ce68a816ce09c6ef2ac7e514ae1f");
  CHECK(measure::digest_hex(p.events[2].digest) ==
        "1dd6f7b457ad880d840d41c961283bab688e94e4b59359ea45686581e90feccea3c624b1226113f824f315eb60ae0a7c");
}

TEST_CASE("RTMR0 predicted from a platform capture, and what each missing input says", "[measure]") {
  auto fw = without_pk(tdvf());
  auto md = metadata(fw);
  measure::PlatformInputs in;
  auto r = core::value_or_throw(measure::predict_rtmr0(core::as_bytes(fw), md, "fd", 2ull << 30, in));
  REQUIRE(r.unknown);
  CHECK_THAT(*r.unknown, Catch::Contains("ACPI"));
  // SecureBoot = 0 (AuthVariableLib present, no PK).
  CHECK(measure::digest_hex(r.events[3].digest) ==
        "cfa4e2c606f572627bf06d5669cc2ab1128358d27b45bc63ee9ea56ec109cfafb7194006f847a6a74b5eaed6b73332ec");

  in.fw_cfg["etc/acpi/tables"] = acpi_blob();
  r = core::value_or_throw(measure::predict_rtmr0(core::as_bytes(fw), md, "fd", 2ull << 30, in));
  REQUIRE(r.unknown);
  CHECK_THAT(*r.unknown, Catch::Contains("BootOrder"));

  in.boot_order = std::vector<uint8_t>{0, 0, 1, 0};
  in.boot_options[0] = {1, 2, 3};
  in.fw_cfg["bootorder"] = {'/', 'p', '\n', 0};
  in.fw_cfg["etc/boot-menu-wait"] = {1, 2, 3}; // wrong size: edk2 does not measure it
  r = core::value_or_throw(measure::predict_rtmr0(core::as_bytes(fw), md, "fd", 2ull << 30, in));
  REQUIRE_FALSE(r.unknown);
  std::vector<std::string> names;
  for (const auto& e : r.events) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"TD HOB", "CFV", "QEMU FW CFG BootMenu", "QEMU FW CFG bootorder",
                                          "SecureBoot", "PK", "KEK", "db", "dbx", "separator",
                                          "etc/table-loader (rebuilt)", "etc/acpi/rsdp (rebuilt)",
                                          "etc/acpi/tables", "BootOrder", "Boot0000"});
  CHECK(r.events.back().event_type == measure::EV_EFI_VARIABLE_BOOT);
  CHECK(measure::digest_hex(r.events.back().digest) == hex384(std::vector<uint8_t>{1, 2, 3}));
  for (const auto& e : r.events) CHECK(e.rtmr == 0);
  // A captured loader and RSDP are measured as captured.
  in.fw_cfg["etc/table-loader"] = {9};
  in.fw_cfg["etc/acpi/rsdp"] = {8};
  r = core::value_or_throw(measure::predict_rtmr0(core::as_bytes(fw), md, "fd", 2ull << 30, in));
  CHECK(r.events[10].name == "etc/table-loader");
  CHECK(measure::digest_hex(r.events[10].digest) == hex384(std::vector<uint8_t>{9}));
}

TEST_CASE("ACPI: rebuilt RSDP and table-loader equal what a real QEMU q35 served", "[measure]") {
  auto dir = test::testdata() / "acpi/qemu-7.2-q35";
  auto read = [&](const char* f) {
    auto s = core::value_or_throw(core::read_file(dir / f));
    return std::vector<uint8_t>(s.begin(), s.end());
  };
  auto f = core::value_or_throw(measure::rebuild_acpi_files(read("etc-acpi-tables.bin"), "tables"));
  CHECK(f.tables.size() == 7);
  CHECK(f.rsdp == read("etc-acpi-rsdp.bin"));
  CHECK(f.table_loader == read("etc-table-loader.bin"));
}
