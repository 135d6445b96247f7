// Which open files make a device "in use", per driver.
#include "support/gpu_hgx.hpp"

#include "tdxctl/gpu/in_use.hpp"

#include <catch2/catch.hpp>

using namespace tdx;
namespace hgx = test::hgx;

TEST_CASE("gpu in-use: /dev/nvidiaN by minor, vfio group and iommufd cdev, BAR mappings") {
  core::TempDir dir;
  hgx::build(dir.path());
  core::Root root(dir.path());
  test::put(dir.path(), "sys/devices/pci0000:00/0000:db:00.0/vfio-dev/vfio3/dev", "511:3\n");
  hgx::add_process(dir.path(), 10, "nvidia-smi", "/dev/nvidia1");     // 0000:2a:00.0
  hgx::add_process(dir.path(), 11, "qemu-system-x86", "/dev/vfio/devices/vfio3");
  hgx::add_process(dir.path(), 12, "qemu-system-x86", "/dev/vfio/devices/vfio9");
  hgx::add_process(dir.path(), 13, "python3", "/sys/devices/pci0000:00/0000:3a:00.0/resource0");
  hgx::add_process(dir.path(), 14, "bash", "/dev/null");
  auto files = gpu::scan_device_files(root);
  CHECK(files.size() == 4); // /dev/null is not interesting

  auto users = [&](const std::string& a) {
    auto d = sysfs::read_pci_device(root, a);
    REQUIRE(d);
    return gpu::device_users(root, *d, files);
  };
  auto u2a = users("0000:2a:00.0");
  REQUIRE(u2a.size() == 1);
  CHECK(gpu::describe(u2a[0]) == "nvidia-smi (pid 10) holds /dev/nvidia1");
  CHECK(users("0000:18:00.0").empty());
  auto udb = users("0000:db:00.0");
  REQUIRE(udb.size() == 1);
  CHECK(udb[0].pid == 11);
  auto u3a = users("0000:3a:00.0");
  REQUIRE(u3a.size() == 1);
  CHECK(u3a[0].comm == "python3");
  CHECK(users("0000:05:00.0").empty());
}
