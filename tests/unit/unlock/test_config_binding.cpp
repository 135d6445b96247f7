// The mounted tdx-config volume against MRCONFIGID, in process: what is
// covered (every regular file, its mode and bytes), what is refused before
// the digest is even computed (entries it cannot cover), and the order; and
// that the bytes checked are the bytes used, in process and in the private
// copy the premount script reads, whatever the host writes to its disk later.
#include "tdxctl/unlock/config_binding.hpp"
#include "tdxctl/unlock/vm_identity.hpp"

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

// Issue 14, guest side: the host controls the disk and can change it right
// after the check (TOCTOU). What the check read is what every later reader
// gets: the identity in process, the private copy for the premount script.
TEST_CASE("unlock: a volume changed after the check changes nothing that is used", "[unlock]") {
  Td td;
  const std::string ss58 = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\n";
  test::put(td.root.path(), "run/tdx-config/miner-ss58", ss58);
  test::set_mr_config_id(td.root.path(), test::manifest_digest(td.volume));
  auto b = td.verify();
  REQUIRE(b);
  REQUIRE(unlock::write_checked_copy(core::Root(td.root.path()), *b, "/run/tdxctl/config"));

  // The host swaps the bytes (same sizes, so nothing but the content moves).
  test::put(td.root.path(), "run/tdx-config/hostname", "evil-1\n");
  test::put(td.root.path(), "run/tdx-config/miner-ss58", "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty\n");
  test::put(td.root.path(), "run/tdx-config/miner-seed", std::string(64, '0') + "\n");
  REQUIRE(td.refused() == "unlock.config_mismatch"); // the disk no longer matches...

  auto id = unlock::vm_identity_from(*b); // ...but what was checked is what is used
  REQUIRE(id);
  CHECK(id->vm_name == "node-1");
  CHECK(id->miner_hotkey == "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
  auto copy = td.root / "run/tdxctl/config";
  CHECK(*core::read_file(copy / "hostname") == "node-1\n");
  CHECK(*core::read_file(copy / "miner-ss58") == ss58);
  CHECK(*core::read_file(copy / "miner-seed") == std::string(64, 'f') + "\n");
  // Same files, bytes and modes: the copy verifies to the same MRCONFIGID.
  auto again = unlock::verify_config_binding(core::Root(td.root.path()), "/run/tdxctl/config");
  REQUIRE(again);
  CHECK(again->digest == b->digest);
  struct stat st {};
  REQUIRE(::stat(copy.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(::stat((copy / "miner-seed").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // The seed never reaches the JSON.
  CHECK(b->to_json().dump().find(std::string(64, 'f')) == std::string::npos);
}

TEST_CASE("unlock: the checked copy goes only where nobody else can reach it", "[unlock]") {
  Td td;
  auto b = td.verify();
  REQUIRE(b);
  core::Root root(td.root.path());
  auto copy = td.root / "run/tdxctl/config";
  SECTION("a re-run replaces an earlier copy, leftovers included") {
    REQUIRE(unlock::write_checked_copy(root, *b, "/run/tdxctl/config"));
    test::put(td.root.path(), "run/tdxctl/config/planted", "x");
    REQUIRE(unlock::write_checked_copy(root, *b, "/run/tdxctl/config"));
    CHECK_FALSE(fs::exists(copy / "planted"));
    CHECK(fs::exists(copy / "hostname"));
  }
  SECTION("a parent that is a symbolic link") {
    fs::create_directories(td.root / "elsewhere");
    test::link(td.root.path(), "run/tdxctl", td.root.path() / "elsewhere");
    auto r = unlock::write_checked_copy(root, *b, "/run/tdxctl/config");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "unlock.config_copy");
    CHECK_FALSE(fs::exists(td.root / "elsewhere/config"));
  }
  SECTION("a parent others can write to") {
    fs::create_directories(td.root / "run/tdxctl");
    fs::permissions(td.root / "run/tdxctl", fs::perms::all);
    auto r = unlock::write_checked_copy(root, *b, "/run/tdxctl/config");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("not writable by others"));
  }
  SECTION("a planted symlink where the copy goes is removed, not followed") {
    fs::create_directories(td.root / "run/tdxctl");
    fs::permissions(td.root / "run/tdxctl", fs::perms::owner_all);
    fs::create_directories(td.root / "victim");
    test::link(td.root.path(), "run/tdxctl/config", td.root.path() / "victim");
    REQUIRE(unlock::write_checked_copy(root, *b, "/run/tdxctl/config"));
    CHECK(fs::is_directory(fs::symlink_status(copy)));
    CHECK(fs::is_empty(td.root / "victim"));
  }
}
