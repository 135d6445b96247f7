// The platform capture (capture/platform): read from a sysfs tree as a TD
// shows it (qemu_fw_cfg by_name files, efivarfs with its 4-byte attribute
// prefix), written as JSON and read back; hostile documents refused by name.
#include "tdxctl/capture/platform.hpp"
#include "tdxctl/core/fs.hpp"
#include "support/fixtures.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {

const std::string kGuid = "8be4df61-93ca-11d2-aa0d-00e098032b8c";

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

void make_td(const std::filesystem::path& root) {
  test::put(root, "sys/firmware/qemu_fw_cfg/by_name/etc/acpi/tables/raw", "TABLES");
  test::put(root, "sys/firmware/qemu_fw_cfg/by_name/etc/acpi/rsdp/raw", "RSDP");
  test::put(root, "sys/firmware/qemu_fw_cfg/by_name/etc/table-loader/raw", "LOADER");
  test::put(root, "sys/firmware/qemu_fw_cfg/by_name/bootorder/raw", "/pci@i0cf8/scsi@2\n");
  test::put(root, "sys/firmware/qemu_fw_cfg/by_name/etc/e820/raw", "not measured");
  // BootOrder = 0001, 0000, 000A (no such variable: skipped).
  test::put(root, "sys/firmware/efi/efivars/BootOrder-" + kGuid, bytes({7, 0, 0, 0, 1, 0, 0, 0, 10, 0}));
  test::put(root, "sys/firmware/efi/efivars/Boot0000-" + kGuid, bytes({7, 0, 0, 0, 'a'}));
  test::put(root, "sys/firmware/efi/efivars/Boot0001-" + kGuid, bytes({7, 0, 0, 0, 'b', 'c'}));
}

std::vector<uint8_t> v(std::string_view s) { return {s.begin(), s.end()}; }

} // namespace

TEST_CASE("platform capture: fw_cfg files and boot variables from sysfs", "[capture]") {
  core::TempDir dir;
  make_td(dir.path());
  auto p = core::value_or_throw(capture::read_platform(core::Root(dir.path())));
  CHECK(p.fw_cfg.size() == 4);
  CHECK(p.fw_cfg.at("etc/acpi/tables") == v("TABLES"));
  CHECK_FALSE(p.fw_cfg.count("etc/e820"));
  REQUIRE(p.boot_order);
  CHECK(*p.boot_order == std::vector<uint8_t>{1, 0, 0, 0, 10, 0});
  CHECK(p.boot_options.size() == 2);
  CHECK(p.boot_options.at(1) == v("bc"));

  auto json = capture::platform_to_json(p).dump();
  auto back = core::value_or_throw(capture::platform_from_json(json, "platform.json"));
  CHECK(back.fw_cfg == p.fw_cfg);
  CHECK(back.boot_order == p.boot_order);
  CHECK(back.boot_options == p.boot_options);
}

TEST_CASE("platform capture: no qemu_fw_cfg driver is a named not-ready error", "[capture]") {
  core::TempDir dir;
  auto r = capture::read_platform(core::Root(dir.path()));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "capture.no_fw_cfg");
  CHECK_THAT(r.error().hint, Catch::Contains("modprobe qemu_fw_cfg"));
  CHECK(capture::read_event_log(core::Root(dir.path())).error().code == "capture.no_event_log");
}

TEST_CASE("platform capture: hostile or broken documents are refused by name", "[capture]") {
  auto bad = [](const std::string& text) {
    auto r = capture::platform_from_json(text, "p.json");
    REQUIRE_FALSE(r);
    return r.error().message;
  };
  CHECK_THAT(bad(R"({"schema":"other/1"})"), Catch::Contains("tdxctl.platform/1"));
  CHECK_THAT(bad(R"({"schema":"tdxctl.platform/1","fw_cfg":{"../../etc/shadow":""}})"),
             Catch::Contains("not a fw_cfg file name"));
  CHECK_THAT(bad(R"({"schema":"tdxctl.platform/1","efivars":{"Boot00x1":""}})"), Catch::Contains("Boot####"));
  CHECK_THAT(bad(R"({"schema":"tdxctl.platform/1","fw_cfg":{"bootorder":"%%%"}})"), Catch::Contains("fw_cfg.bootorder"));
  CHECK_THAT(bad(R"({"schema":"tdxctl.platform/1","extra":1})"), Catch::Contains("unknown key"));
  CHECK_THAT(bad("{"), Catch::Contains("p.json"));
}
