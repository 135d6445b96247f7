// core/root: the pseudo-file writer stays inside --root. Each case plants
// what an attacker controlling the fixture tree would (an absolute symlink,
// a '..' link, a linked directory, a FIFO) next to a victim file outside
// the root, and checks the write is refused by name and the victim unchanged.
#include "support/fixtures.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/root.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace tdx::core;
namespace fs = std::filesystem;

namespace {

std::string content(const fs::path& p) { return value_or_throw(read_file(p)); }

} // namespace

TEST_CASE("Root::write writes an existing file inside the root, never creates one") {
  TempDir dir;
  tdx::test::put(dir.path(), "root/proc/sys/net/ipv4/ip_forward", "0\n");
  auto root = Root::from_option((dir / "root").string());
  REQUIRE(root.write("/proc/sys/net/ipv4/ip_forward", "1\n"));
  CHECK(content(dir / "root/proc/sys/net/ipv4/ip_forward") == "1\n");
  CHECK(root.read_pseudo("/proc/sys/net/ipv4/ip_forward") == "1");

  auto missing = root.write("/sys/bus/pci/drivers/vfio-pci/bind", "0000:18:00.0\n");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == "root.open");
  CHECK(missing.error().message.find("/sys/bus/pci/drivers/vfio-pci/bind: No such file") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "root/sys/bus/pci/drivers/vfio-pci/bind"));

  // A relative link that stays inside (as in captured sysfs trees) is fine.
  tdx::test::put(dir.path(), "root/sys/devices/pci0000:00/0000:18:00.0/driver_override", "\n");
  tdx::test::link(dir.path(), "root/sys/bus/pci/devices/0000:18:00.0", "../../../devices/pci0000:00/0000:18:00.0");
  REQUIRE(root.write("/sys/bus/pci/devices/0000:18:00.0/driver_override", "vfio-pci\n"));
  CHECK(content(dir / "root/sys/devices/pci0000:00/0000:18:00.0/driver_override") == "vfio-pci\n");

  // A configfs blob goes in exactly as given, with no newline added.
  tdx::test::put(dir.path(), "root/sys/kernel/config/tsm/report/e/inblob", "");
  std::string blob(64, '\xaa');
  REQUIRE(root.write("/sys/kernel/config/tsm/report/e/inblob", blob));
  CHECK(content(dir / "root/sys/kernel/config/tsm/report/e/inblob") == blob);
}

TEST_CASE("Root::write refuses every way out of the root and leaves the target alone") {
  TempDir dir;
  tdx::test::put(dir.path(), "outside/victim", "precious\n");
  tdx::test::put(dir.path(), "outside/ipv4/ip_forward", "precious\n");
  fs::create_directories(dir / "root/proc/sys/net");
  auto root = Root::from_option((dir / "root").string());
  const auto victim = (dir / "outside/victim").string();

  SECTION("the file is an absolute symlink out") {
    tdx::test::link(dir.path(), "root/proc/sys/net/ipv4/ip_forward", victim);
  }
  SECTION("the file is a relative symlink climbing out") {
    tdx::test::link(dir.path(), "root/proc/sys/net/ipv4/ip_forward", "../../../../../outside/victim");
  }
  SECTION("a directory on the way is a symlink out (as proc -> /proc in a fixture)") {
    fs::remove_all(dir / "root/proc/sys/net");
    tdx::test::link(dir.path(), "root/proc/sys/net", (dir / "outside").string());
  }
  auto w = root.write("/proc/sys/net/ipv4/ip_forward", "1\n");
  REQUIRE_FALSE(w);
  CHECK(w.error().code == "root.escape");
  CHECK(w.error().category == Category::not_ready);
  CHECK(w.error().message.find("resolves outside --root") != std::string::npos);
  CHECK(w.error().message.find("/proc/sys/net/ipv4/ip_forward") != std::string::npos);
  auto r = root.read_pseudo("/proc/sys/net/ipv4/ip_forward");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "root.escape");
  CHECK(content(dir / "outside/victim") == "precious\n");
  CHECK(content(dir / "outside/ipv4/ip_forward") == "precious\n");
}

TEST_CASE("Root::write refuses a FIFO or directory without blocking") {
  TempDir dir;
  fs::create_directories(dir / "root/sys/x");
  REQUIRE(::mkfifo((dir / "root/sys/fifo").c_str(), 0600) == 0);
  auto root = Root::from_option((dir / "root").string());
  auto fifo = root.write("/sys/fifo", "1\n");
  REQUIRE_FALSE(fifo); // no reader: ENXIO, not a hang
  auto d = root.write("/sys/x", "1\n");
  REQUIRE_FALSE(d);
}
