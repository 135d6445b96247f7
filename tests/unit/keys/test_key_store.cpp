// The key store: private modes, whole-entry atomic registration, idempotent
// add/remove, --force, --dry-run, and the refusals (names, keys that cannot
// travel as JSON, a policy that pins REPORTDATA, a store others can read).
#include "tdxctl/keys/key_store.hpp"
#include "tdxctl/keys/serve_marker.hpp"

#include "support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

using namespace tdx;
namespace fs = std::filesystem;

namespace {

const std::string k_policy = "accept_tcb: [UpToDate]\nmr_td: [" + std::string(96, 'a') + "]\n";

std::shared_ptr<keys::Registration> registration(const std::string& name, const std::string& key,
                                                 std::optional<std::string> containerd = {},
                                                 const std::string& policy = k_policy) {
  auto r = std::make_shared<keys::Registration>();
  r->name = name;
  r->key = core::Secret(std::string(key));
  if (containerd) r->containerd_key = core::Secret(std::string(*containerd));
  r->policy_yaml = policy;
  r->policy_file = "policy.yaml";
  return r;
}

core::PlanReport apply(const core::Plan& plan, core::DryRun dry = core::DryRun::no) {
  core::NullProgress progress;
  return plan.apply(dry, progress);
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

} // namespace

TEST_CASE("keys add writes a private entry that load reads back", "[keys]") {
  core::TempDir tmp;
  keys::KeyStore store(tmp / "keys");
  auto report = apply(store.plan_add(registration("tdx-vm-1", "00ff", "c0ffee"), core::Force::no));
  CHECK(report.changed);
  CHECK(mode_of(tmp / "keys") == 0700);
  CHECK(mode_of(tmp / "keys/tdx-vm-1") == 0700);
  for (const char* f : {"key", "containerd-key", "policy.yaml"}) CHECK(mode_of(tmp / "keys/tdx-vm-1" / f) == 0600);
  auto vm = core::value_or_throw(store.load("tdx-vm-1"));
  REQUIRE(vm);
  CHECK(vm->key.reveal() == "00ff");
  REQUIRE(vm->containerd_key);
  CHECK(vm->containerd_key->reveal() == "c0ffee");
  CHECK(vm->policy.mr_td.size() == 1);
  CHECK_FALSE(core::value_or_throw(store.load("tdx-vm-2")).has_value()); // unknown
  auto list = store.list();
  REQUIRE(list.size() == 1);
  CHECK(list[0].name == "tdx-vm-1");
  CHECK(list[0].containerd_key);
  CHECK(list[0].mr_td_values == 1);
  CHECK(list[0].to_json().dump().find("00ff") == std::string::npos); // never a key in the listing
  // No staging directory is left behind.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp / "keys")) ++entries;
  CHECK(entries == 1);
}

TEST_CASE("keys add is idempotent, needs --force to change, and --dry-run writes nothing", "[keys]") {
  core::TempDir tmp;
  keys::KeyStore store(tmp / "keys");
  auto dry = apply(store.plan_add(registration("vm", "k1"), core::Force::no), core::DryRun::yes);
  CHECK(dry.dry_run);
  CHECK_FALSE(fs::exists(tmp / "keys"));
  apply(store.plan_add(registration("vm", "k1"), core::Force::no));
  auto again = apply(store.plan_add(registration("vm", "k1"), core::Force::no));
  CHECK_FALSE(again.changed);
  REQUIRE(again.steps.size() == 1);
  CHECK(again.steps[0].status == "unchanged");
  try {
    apply(store.plan_add(registration("vm", "k2"), core::Force::no));
    FAIL("a different key replaced the registration without --force");
  } catch (const core::Failure& f) {
    CHECK_THAT(f.error().hint, Catch::Contains("--force"));
  }
  CHECK(core::value_or_throw(store.load("vm"))->key.reveal() == "k1");
  apply(store.plan_add(registration("vm", "k2", "ck"), core::Force::yes));
  auto vm = core::value_or_throw(store.load("vm"));
  CHECK(vm->key.reveal() == "k2");
  CHECK(vm->containerd_key->reveal() == "ck");
  size_t entries = 0; // the exchanged old entry is gone too
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp / "keys")) ++entries;
  CHECK(entries == 1);
}

TEST_CASE("keys remove is idempotent and honours --dry-run", "[keys]") {
  core::TempDir tmp;
  keys::KeyStore store(tmp / "keys");
  apply(store.plan_add(registration("vm", "k1"), core::Force::no));
  apply(store.plan_remove("vm"), core::DryRun::yes);
  CHECK(fs::exists(tmp / "keys/vm/key"));
  CHECK(apply(store.plan_remove("vm")).changed);
  CHECK_FALSE(fs::exists(tmp / "keys/vm"));
  CHECK_FALSE(apply(store.plan_remove("vm")).changed);
  CHECK(store.list().empty());
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp / "keys")) ++entries;
  CHECK(entries == 0);
}

TEST_CASE("keys add refuses bad names, keys that cannot travel as JSON and REPORTDATA pins", "[keys]") {
  core::TempDir tmp;
  keys::KeyStore store(tmp / "keys");
  for (const std::string& name : std::vector<std::string>{"../etc", "a/b", "", ".hidden", "vm name", std::string(65, 'a')})
    CHECK_THROWS_WITH(store.plan_add(registration(name, "k"), core::Force::no), Catch::Contains("not a VM name"));
  CHECK_THROWS_WITH(store.plan_add(registration("vm", "with\"quote"), core::Force::no),
                    Catch::Contains("printable ASCII"));
  CHECK_THROWS_WITH(store.plan_add(registration("vm", "k", std::string("new\nline")), core::Force::no),
                    Catch::Contains("--containerd-key-file"));
  CHECK_THROWS_WITH(store.plan_add(registration("vm", "k", {}, "report_data: " + std::string(128, '0') + "\n"),
                                   core::Force::no),
                    Catch::Contains("report_data"));
  CHECK_THROWS_WITH(store.plan_add(registration("vm", "k", {}, "mr_td: [abc]\n"), core::Force::no),
                    Catch::Contains("policy.yaml"));
  CHECK_THROWS_WITH(store.plan_remove("../x"), Catch::Contains("not a VM name"));
  CHECK_FALSE(fs::exists(tmp / "keys"));
}

TEST_CASE("a store or entry that others can read is refused, not used", "[keys]") {
  core::TempDir tmp;
  keys::KeyStore store(tmp / "keys");
  apply(store.plan_add(registration("vm", "k1"), core::Force::no));
  ::chmod((tmp / "keys/vm/key").c_str(), 0644);
  auto loose = store.load("vm");
  REQUIRE_FALSE(loose);
  CHECK(loose.error().code == "keys.store_unsafe");
  CHECK_THAT(loose.error().hint, Catch::Contains("chmod 600"));
  ::chmod((tmp / "keys/vm/key").c_str(), 0600);
  ::chmod((tmp / "keys").c_str(), 0755);
  CHECK_THROWS_WITH(store.list(), Catch::Contains("no group or other access"));
  ::chmod((tmp / "keys").c_str(), 0700);
  // A symbolic link planted as an entry is not followed.
  fs::create_directory_symlink(tmp / "keys/vm", tmp / "keys/evil");
  auto link = store.load("evil");
  REQUIRE_FALSE(link);
  CHECK(link.error().code == "keys.store_io");
}

TEST_CASE("keys list sees a running server's sample mode through its marker", "[keys]") {
  core::TempDir tmp;
  keys::KeyStore store(tmp / "keys");
  store.ensure();
  CHECK(keys::running_servers(tmp / "keys").empty());
  {
    keys::ServeMarkerFile marker(tmp / "keys", {::getpid(), "127.0.0.1:8443", true, 1750809600});
    auto servers = keys::running_servers(tmp / "keys");
    REQUIRE(servers.size() == 1);
    CHECK(servers[0].insecure_accept_sample);
    CHECK(servers[0].listen == "127.0.0.1:8443");
    CHECK(mode_of(tmp / "keys" / (".serve-" + std::to_string(::getpid()) + ".json")) == 0600);
  }
  CHECK(keys::running_servers(tmp / "keys").empty());
  // A killed server's marker (a pid that is not alive) is ignored.
  test::put(tmp / "keys", ".serve-999999999.json",
            R"({"pid": 999999999, "listen": "x", "insecure_accept_sample": true, "started": "2025-06-25T00:00:00Z"})");
  CHECK(keys::running_servers(tmp / "keys").empty());
}
