// td::launch, the sequence `td launch` and `up`'s td stage share, against
// libvirt's test driver: it refuses through the preflight, or (when the
// request allows it, as `up --dry-run` does) reports the refusal as waiting
// and still renders the domain and plans define/start.
#include "td_fixtures.hpp"
#include "tdxctl/td/launch.hpp"

#include <catch2/catch.hpp>

using namespace tdx;
namespace fs = std::filesystem;

static td::LaunchRequest request(const td::TdSpec& spec, bool may_wait) {
  return {spec, "host.yaml", {false, false, "test:///default"}, false, may_wait};
}

TEST_CASE("td::launch: a preflight refusal fails, unless the request may wait for it") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  spec.name = "td-launch-wait";
  spec.no_tdx = true;
  fs::remove(dir.path() / "cache.img");
  core::RealRunner probe;
  try {
    td::launch(core::Root(), probe, request(spec, false));
    FAIL("a missing volume must refuse the launch");
  } catch (const core::Failure& f) {
    CHECK(f.error().code == "td.volume_missing");
    CHECK(f.error().category == core::Category::not_ready);
  }

  auto l = td::launch(core::Root(), probe, request(spec, true));
  REQUIRE(l.waiting);
  CHECK_THAT(*l.waiting, Catch::Contains("td.cache_volume: " + spec.cache_volume));
  CHECK(l.domain.name == "td-launch-wait");
  CHECK_THAT(l.domain.xml, Catch::Contains("<domain type=\"test\""));
  CHECK_THAT(l.domain.xml, Catch::Contains("host.yaml</tdxctl:config>"));
  CHECK(l.plan.to_json().size() >= 2); // define, start
}

TEST_CASE("td::launch: a ready TD is planned for the connection's domain type and starts") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  spec.name = "td-launch-ready";
  spec.no_tdx = true;
  core::RealRunner probe;
  auto l = td::launch(core::Root(), probe, request(spec, false));
  CHECK_FALSE(l.waiting);
  CHECK_THAT(l.domain.xml, Catch::Contains("<domain type=\"test\""));
  core::NullProgress progress;
  CHECK(l.plan.apply(core::DryRun::no, progress).changed);
  auto conn = td::Connection::open("test:///default"); // the driver's state is per process
  REQUIRE(conn->lookup("td-launch-ready"));
  CHECK(conn->lookup("td-launch-ready")->active());
  // Launching again is "nothing to do".
  auto again = td::launch(core::Root(), probe, request(spec, false));
  CHECK_FALSE(again.plan.apply(core::DryRun::no, progress).changed);
  CHECK(td::plan_undefine(conn, "td-launch-ready", true).apply(core::DryRun::no, progress).changed);
}
