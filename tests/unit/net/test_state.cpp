// The net record (/run/tdxctl/net.json under --root) as `net down` reads it:
// a hand-edited or planted record is refused by name before anything acts
// on it (owner, mode, symlink, values), and saving never leaves the root.
#include "support/fixtures.hpp"
#include "tdxctl/net/state.hpp"

#include <catch2/catch.hpp>

#include <functional>

#include <sys/stat.h>
#include <unistd.h>

using namespace tdx;
namespace fs = std::filesystem;

namespace {

net::NetState sample() {
  net::NetState s;
  s.bridge = "br-tdx";
  s.bridge_address = "192.168.100.1/24";
  s.tap = "vmtap0";
  s.vm_address = "192.168.100.2";
  s.public_interface = "eth0";
  s.forwards = {"tcp/6443"};
  s.created_bridge = s.created_tap = s.added_address = true;
  s.ip_forward_previous = "0";
  return s;
}

core::Error load_error(const core::Root& root) {
  try {
    net::load_state(root);
  } catch (const core::Failure& f) {
    return f.error();
  }
  FAIL("load_state accepted the record");
  return {};
}

} // namespace

TEST_CASE("net record: saved 0644 under the root and read back") {
  core::TempDir dir;
  core::Root root(dir.path());
  CHECK_FALSE(net::load_state(root));
  net::save_state(root, sample());
  struct stat st {};
  REQUIRE(::stat((dir / "run/tdxctl/net.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);
  auto back = net::load_state(root);
  REQUIRE(back);
  CHECK(back->to_json() == sample().to_json());
  net::remove_state(root);
  CHECK_FALSE(net::load_state(root));
}

TEST_CASE("net record: refused unless owned by root (or us) and writable by nobody else") {
  core::TempDir dir;
  core::Root root(dir.path());
  net::save_state(root, sample());
  auto path = dir / "run/tdxctl/net.json";

  SECTION("writable by others") {
    fs::permissions(path, fs::perms::others_write, fs::perm_options::add);
    auto e = load_error(root);
    CHECK(e.category == core::Category::not_ready);
    CHECK(e.code == "net.state_untrusted");
    CHECK(e.message == path.string() + " is writable by group or others (mode 0646): refusing to act on it");
  }
  SECTION("writable by the group") {
    fs::permissions(path, fs::perms::group_write, fs::perm_options::add);
    CHECK(load_error(root).code == "net.state_untrusted");
  }
  SECTION("owned by another user") {
    if (::geteuid() != 0) {
      WARN("not root: cannot chown the record to another user");
      return;
    }
    REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
    auto e = load_error(root);
    CHECK(e.category == core::Category::not_ready);
    CHECK(e.message == path.string() + " is owned by uid 65534, not root: refusing to act on it");
  }
  SECTION("a symlink to a record elsewhere") {
    test::put(dir.path(), "elsewhere.json", sample().to_json().dump());
    fs::remove(path);
    fs::create_symlink(dir / "elsewhere.json", path);
    auto e = load_error(root);
    CHECK(e.code == "net.state_untrusted");
    CHECK(e.message.find(path.string()) != std::string::npos);
  }
  SECTION("/run/tdxctl is a symlink out of the root") {
    core::TempDir other;
    net::save_state(core::Root(other.path()), sample());
    fs::remove_all(dir / "run/tdxctl");
    fs::create_directory_symlink(other / "run/tdxctl", dir / "run/tdxctl");
    CHECK(load_error(root).code == "root.escape");
    CHECK_THROWS_WITH(net::save_state(root, sample()), Catch::Contains("resolves outside --root"));
  }
}

TEST_CASE("net record: every value is checked as a flag would be") {
  core::TempDir dir;
  core::Root root(dir.path());
  auto with = [&](const std::function<void(core::Json&)>& edit) {
    auto j = sample().to_json();
    edit(j);
    test::put(dir.path(), "run/tdxctl/net.json", j.dump());
    fs::permissions(dir / "run/tdxctl/net.json", fs::perms(0644));
    return load_error(root);
  };
  // The review's edit: garbage after the 0 would have gone into ip_forward.
  auto e = with([](core::Json& j) { j["ip_forward_previous"] = "0\nGARBAGE"; });
  CHECK(e.category == core::Category::invalid_input);
  CHECK(e.code == "net.state_corrupt");
  CHECK(e.message.find("ip_forward_previous is '0\nGARBAGE', expected \"0\" or \"1\"") != std::string::npos);
  CHECK(with([](core::Json& j) { j["ip_forward_previous"] = 1; }).code == "net.state_corrupt");
  CHECK(with([](core::Json& j) { j["tap"] = "x\"accept#"; }).message.find("tap 'x\"accept#' is not a valid interface name") !=
        std::string::npos);
  CHECK(with([](core::Json& j) { j["bridge"] = "../../etc"; }).code == "net.state_corrupt");
  CHECK(with([](core::Json& j) { j["public_interface"] = "eth0 accept"; }).code == "net.state_corrupt");
  CHECK(with([](core::Json& j) { j["mode"] = "veth"; }).message.find("mode 'veth' is not bridge or macvtap") !=
        std::string::npos);
  CHECK(with([](core::Json& j) { j["forwards"] = {"tcp/0"}; }).code == "net.state_corrupt");
  CHECK(with([](core::Json& j) { j["bridge_address"] = "nope"; }).code == "net.state_corrupt");
  CHECK(with([](core::Json& j) {
          j = core::Json{{"mode", "macvtap"}, {"macvtap", "a b"}, {"created", {{"macvtap", true}}}};
        }).code == "net.state_corrupt");
}
