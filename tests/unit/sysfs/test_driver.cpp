// sysfs writes go through core::Root's pseudo-file writer: a fixture (or a
// tampered tree given as --root) whose device link leads outside the root
// gets a refusal, not a write to whatever the link names.
#include "support/fixtures.hpp"
#include "tdxctl/sysfs/driver.hpp"

#include <catch2/catch.hpp>

using namespace tdx;
namespace fs = std::filesystem;

TEST_CASE("sysfs write_attribute: inside the root through relative links, refused through a link out") {
  core::TempDir dir;
  test::put(dir.path(), "root/sys/devices/pci0000:17/0000:18:00.0/driver_override", "(null)\n");
  test::link(dir.path(), "root/sys/bus/pci/devices/0000:18:00.0", "../../../devices/pci0000:17/0000:18:00.0");
  auto root = core::Root::from_option((dir / "root").string());
  sysfs::write_attribute(root, "/sys/bus/pci/devices/0000:18:00.0/driver_override", "vfio-pci");
  CHECK(sysfs::current_override(root, "0000:18:00.0") == "vfio-pci");

  // The device link now names a directory outside the root.
  test::put(dir.path(), "outside/driver_override", "precious\n");
  fs::remove(dir / "root/sys/bus/pci/devices/0000:18:00.0");
  test::link(dir.path(), "root/sys/bus/pci/devices/0000:18:00.0", (dir / "outside").string());
  try {
    sysfs::write_attribute(root, "/sys/bus/pci/devices/0000:18:00.0/driver_override", "vfio-pci");
    FAIL("the write went through");
  } catch (const core::Failure& f) {
    CHECK(f.error().code == "root.escape");
    CHECK(f.error().category == core::Category::not_ready);
    CHECK(f.error().message.find("driver_override: it resolves outside --root") != std::string::npos);
  }
  CHECK(core::value_or_throw(core::read_file(dir / "outside/driver_override")) == "precious\n");

  // A missing attribute is not created, and the hint says why it may be missing.
  try {
    sysfs::write_attribute(root, "/sys/bus/pci/drivers/vfio-pci/bind", "0000:18:00.0");
    FAIL("wrote a missing attribute");
  } catch (const core::Failure& f) {
    CHECK(f.error().code == "sysfs.write");
    CHECK(f.error().hint.find("module loaded") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir / "root/sys/bus/pci/drivers/vfio-pci/bind"));
}
