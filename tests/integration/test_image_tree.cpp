// The native path of image build, without a VM: an ext4 filesystem unpacked
// into a tree by libext2fs (image/ext4_unpack) and built again by mke2fs -d
// (image/ext4_mkfs) keeps what a root filesystem's security rests on: setuid
// bits, file capabilities, extended attributes, device nodes, hard links,
// owners. The result is read back with debugfs, a reader independent of both.
#include "support/fixtures.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/image/ext4_mkfs.hpp"
#include "tdxctl/image/ext4_unpack.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

using namespace tdx;
namespace fs = std::filesystem;

namespace {

std::string debugfs(const fs::path& image, const std::string& request) {
  core::RealRunner runner;
  return core::run_checked(runner, {{"debugfs", "-R", request, image.string()}}, "debugfs").out;
}

void make_image(const fs::path& tree, const fs::path& image, const std::string& uuid) {
  core::RealRunner runner;
  { int fd = ::open(image.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600); REQUIRE(fd >= 0); ::close(fd); }
  image::Ext4Options o;
  o.size = 64ull << 20;
  o.uuid = uuid;
  o.hash_seed = "6f1d2c55-0b7e-4a43-9a8a-1c2d3e4f5a6b";
  o.timestamp = 1700000000;
  image::make_ext4_from_tree(runner, tree, image, o);
}

} // namespace

TEST_CASE("an ext4 root unpacked natively and rebuilt with mke2fs -d keeps setuid, capabilities, xattrs, "
          "devices, hard links and owners",
          "[image][native]") {
  core::TempDir dir;
  auto src = dir.path() / "src";
  fs::create_directories(src / "usr/bin");
  fs::copy_file("/bin/true", src / "usr/bin/suid");
  REQUIRE(::chown((src / "usr/bin/suid").c_str(), 0, 0) == 0);
  REQUIRE(::chmod((src / "usr/bin/suid").c_str(), 04755) == 0);
  fs::copy_file("/bin/true", src / "usr/bin/pinger");
  core::RealRunner runner;
  core::run_checked(runner, {{"setcap", "cap_net_raw+ep", (src / "usr/bin/pinger").string()}}, "setcap");
  std::string value = "kept";
  REQUIRE(::setxattr((src / "usr/bin/pinger").c_str(), "user.tdxctl", value.data(), value.size(), 0) == 0);
  REQUIRE(::mknod((src / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
  fs::create_directories(src / "home/user");
  REQUIRE(::chown((src / "home/user").c_str(), 1000, 1000) == 0);
  test::put(src, "etc/a", "linked\n");
  fs::create_hard_link(src / "etc/a", src / "etc/b");
  fs::create_symlink("../usr/bin/suid", src / "etc/link");

  auto base = dir.path() / "base.img";
  make_image(src, base, "11111111-2222-4333-8444-555555555555");
  auto tree = dir.path() / "tree";
  fs::create_directory(tree);
  auto facts = image::unpack_ext4(base, tree);
  CHECK(facts.uuid == "11111111-2222-4333-8444-555555555555");
  auto out = dir.path() / "out.img";
  make_image(tree, out, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");

  auto suid = debugfs(out, "stat /usr/bin/suid");
  CHECK(suid.find("Mode:  04755") != std::string::npos);
  auto pinger = debugfs(out, "ea_list /usr/bin/pinger");
  INFO(pinger);
  CHECK(pinger.find("security.capability") != std::string::npos);
  CHECK(pinger.find("user.tdxctl") != std::string::npos);
  CHECK(pinger.find("kept") != std::string::npos);
  auto null = debugfs(out, "stat /null");
  CHECK(null.find("character special") != std::string::npos);
  CHECK(null.find("Device major/minor number: 01:03") != std::string::npos);
  auto home = debugfs(out, "stat /home/user");
  CHECK(home.find("User:  1000") != std::string::npos);
  auto a = debugfs(out, "stat /etc/a");
  CHECK(a.find("Links: 2") != std::string::npos);
  CHECK(debugfs(out, "stat /etc/link").find("Fast link dest: \"../usr/bin/suid\"") != std::string::npos);
  // The same tree twice gives the same bytes (fixed UUID, hash seed, time).
  auto again = dir.path() / "again.img";
  make_image(tree, again, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
  CHECK(core::run_checked(runner, {{"cmp", out.string(), again.string()}}, "cmp").exit_status == 0);
}
