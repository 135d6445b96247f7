// The mounted tdx-config volume against MRCONFIGID, in process: what is
// covered (every regular file, its mode and bytes), what is refused before
// the digest is even computed (entries it cannot cover), and the order.
#include "tdxctl/unlock/config_binding.hpp"

#include "support/fixtures.hpp"
#include "support/unlock_fixtures.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace tdx;
namespace fs = std::filesystem;

namespace {
struct Td {
  core::TempDir root;
  fs::path volume = root / "run/tdx-config";
  Td() {
    test::put(root.path(), "run/tdx-config/hostname", "node-1\n");
    test::put(root.path(), "run/tdx-config/miner-seed", std::string(64, 'f') + "\n");
    fs::permissions(volume / "miner-seed", fs::perms::owner_read | fs::perms::owner_write);
    fs::create_directory(volume / "lost+found");
    test::set_mr_config_id(root.path(), test::manifest_digest(volume));
  }
  core::Result<unlock::ConfigBinding> verify() { return unlock::verify_config_binding(core::Root(root.path()), "/run/tdx-config"); }
  std::string refused() {
    auto r = verify();
    REQUIRE_FALSE(r);
    CHECK(r.error().category == core::Category::failed);
    return r.error().code;
  }
};
} // namespace

TEST_CASE("unlock: the mounted config volume matches MRCONFIGID", "[unlock]") {
  Td td;
  auto b = td.verify();
  REQUIRE(b);
  CHECK(b->digest == core::to_hex(test::manifest_digest(td.volume)));
  CHECK(b->mr_config_id == b->digest);
  CHECK(b->files == std::vector<std::string>{"hostname", "miner-seed"});
  CHECK(b->to_json().dump().find(std::string(64, 'f')) == std::string::npos);
}

TEST_CASE("unlock: a config volume MRCONFIGID does not bind is refused", "[unlock]") {
  Td td;
  SECTION("other bytes") {
    test::put(td.root.path(), "run/tdx-config/hostname", "node-2\n");
    CHECK(td.refused() == "unlock.config_mismatch");
  }
  SECTION("another mode") {
    fs::permissions(td.volume / "miner-seed", fs::perms::group_read, fs::perm_options::add);
    CHECK(td.refused() == "unlock.config_mismatch");
  }
  SECTION("a file missing") {
    fs::remove(td.volume / "hostname");
    CHECK(td.refused() == "unlock.config_mismatch");
  }
  SECTION("zero MRCONFIGID, even when the volume is empty") {
    fs::remove(td.volume / "hostname");
    fs::remove(td.volume / "miner-seed");
    test::set_mr_config_id(td.root.path(), core::Bytes(48, 0));
    CHECK(td.refused() == "unlock.config_unbound");
  }
  SECTION("a FIFO") {
    REQUIRE(::mkfifo((td.volume / "network-config.yaml").c_str(), 0644) == 0);
    CHECK(td.refused() == "unlock.config_entry");
  }
  SECTION("a directory other than lost+found") {
    fs::create_directory(td.volume / "extra");
    CHECK(td.refused() == "unlock.config_entry");
  }
  SECTION("a symbolic link to a covered file") {
    fs::create_symlink("hostname", td.volume / "miner-ss58");
    CHECK(td.refused() == "unlock.config_entry");
  }
  SECTION("more bytes than the volume holds (sparse)") {
    int fd = ::open((td.volume / "big").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, (16 << 20) + 1) == 0);
    ::close(fd);
    CHECK(td.refused() == "unlock.config_size");
  }
  SECTION("no volume mounted: not ready") {
    fs::remove_all(td.volume);
    auto r = td.verify();
    REQUIRE_FALSE(r);
    CHECK(r.error().category == core::Category::not_ready);
    CHECK(r.error().code == "unlock.config_volume");
  }
}
