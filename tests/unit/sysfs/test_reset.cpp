// sysfs reset primitives on a fixture tree: reset_method parsing, live
// config-space IDs, and a failed reset that still restores reset_method
// and names the method.
#include "support/fixtures.hpp"

#include "tdxctl/sysfs/reset.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace tdx;
namespace fs = std::filesystem;

namespace {

const std::string dev = "sys/bus/pci/devices/0000:18:00.0/";

} // namespace

TEST_CASE("reset_methods reads the kernel's list, spaces or commas; absent is nullopt") {
  core::TempDir dir;
  core::Root root(dir.path());
  CHECK_FALSE(sysfs::reset_methods(root, "0000:18:00.0"));
  test::put(dir.path(), dev + "reset_method", "flr bus\n");
  CHECK(sysfs::reset_methods(root, "0000:18:00.0") == std::vector<std::string>{"flr", "bus"});
  test::put(dir.path(), dev + "reset_method", "pm,bus\n");
  CHECK(sysfs::reset_methods(root, "0000:18:00.0") == std::vector<std::string>{"pm", "bus"});
}

TEST_CASE("read_config_ids reads vendor and device little-endian from config") {
  core::TempDir dir;
  core::Root root(dir.path());
  CHECK_FALSE(sysfs::read_config_ids(root, "0000:18:00.0"));
  test::put(dir.path(), dev + "config", std::string("\xde\x10\x30\x23", 4) + std::string(60, '\0'));
  auto ids = sysfs::read_config_ids(root, "0000:18:00.0");
  REQUIRE(ids);
  CHECK(ids->first == 0x10de);
  CHECK(ids->second == 0x2330);
  test::put(dir.path(), dev + "config", "\xde\x10");
  CHECK_FALSE(sysfs::read_config_ids(root, "0000:18:00.0"));
}

TEST_CASE("a reset the kernel refuses names the method and restores reset_method") {
  core::TempDir dir;
  core::Root root(dir.path());
  test::put(dir.path(), dev + "reset_method", "flr bus\n");
  // A directory where the attribute should be: the write fails (EISDIR), as
  // the kernel's ENOTTY would.
  fs::create_directories(dir.path() / dev / "reset");
  auto step = sysfs::reset_step(root, "0000:18:00.0", "bus");
  try {
    step.apply();
    FAIL("the reset write succeeded");
  } catch (const core::Failure& f) {
    CHECK(f.error().code == "sysfs.reset");
    CHECK_THAT(f.error().message, Catch::StartsWith("the kernel could not reset 0000:18:00.0 with bus"));
  }
  CHECK(*root.read("/" + dev + "reset_method") == "flr bus\n");
}

TEST_CASE("reset with no reset_method attribute writes only reset: the kernel's choice") {
  core::TempDir dir;
  core::Root root(dir.path());
  test::put(dir.path(), dev + "reset", "");
  auto step = sysfs::reset_step(root, "0000:18:00.0", "");
  CHECK_THAT(step.summary, Catch::StartsWith("reset 0000:18:00.0 with the kernel's default method"));
  step.apply();
  CHECK(*root.read("/" + dev + "reset") == "1\n");
  CHECK_FALSE(root.exists("/" + dev + "reset_method"));
}
