// td/lifecycle against libvirt's real test driver (test:///default, Debian's
// libvirt 9.0 parser) with the --no-tdx profile: define, start, status, stop,
// undefine, and that each re-run is "nothing to do". The test driver's state
// lives in this process, so the whole lifecycle runs in-process.
// Also the refusals: unbound GPU, missing volume, tampered config volume,
// QGS missing under --require-attestation, and a libvirt without TDX.
#include "td_fixtures.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/td/lifecycle.hpp"

#include <catch2/catch.hpp>

using namespace tdx;
namespace fs = std::filesystem;

static core::PlanReport apply(const core::Plan& plan) {
  core::NullProgress progress;
  return plan.apply(core::DryRun::no, progress);
}

TEST_CASE("no-tdx lifecycle on test:///default: define, start, status, stop, undefine, idempotent") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  spec.name = "td-lifecycle";
  spec.no_tdx = true;
  spec.net = {net::Mode::bridge, "br0", "52:54:00:12:34:56"};
  // Volumes are plain paths in the temp dir; the Root there takes the
  // firmware and the console log directory (var/log/tdxctl).
  core::Root host(dir.path());
  test::put(dir.path(), spec.firmware, "fw"); // the firmware is looked for under the Root
  auto conn = td::Connection::open("test:///default");
  REQUIRE(conn->domain_type() == "test");
  core::RealRunner probe;
  REQUIRE(td::preflight(host, probe, spec, {false, true, "test:///default"}));
  auto d = td::prepare_domain(host, spec, conn->domain_type(), "");
  REQUIRE(d);

  // Dry run changes nothing.
  core::NullProgress progress;
  auto dry = td::plan_launch(conn, *d, true).apply(core::DryRun::yes, progress);
  CHECK_FALSE(dry.changed);
  CHECK_FALSE(conn->lookup("td-lifecycle"));

  auto first = apply(td::plan_launch(conn, *d, true));
  CHECK(first.changed);
  CHECK(fs::is_directory(dir.path() / "var/log/tdxctl"));
  CHECK_THAT(core::value_or_throw(core::read_file(dir.path() / "var/log/tdxctl/td-lifecycle.console.log")),
             Catch::StartsWith("\n-- tdxctl: td-lifecycle started 20"));
  auto again = apply(td::plan_launch(conn, *d, true));
  CHECK_FALSE(again.changed);
  for (const auto& s : again.steps) CHECK(s.status == "unchanged");

  auto st = td::domain_status(*conn, "td-lifecycle");
  REQUIRE(st);
  CHECK(st->state == "running");
  CHECK(st->profile == "no-tdx");
  CHECK(st->insecure);
  CHECK_FALSE(st->tdx);
  CHECK(st->autostart);
  CHECK(st->vcpus == 2);
  CHECK(st->memory_kib == 4ull * 1024 * 1024);
  CHECK(st->vsock_cid == 3);
  CHECK(st->uptime_s >= 0);
  CHECK(st->topology_digest == d->topology_digest);
  REQUIRE(st->devices.size() >= 6);
  CHECK_THAT(st->devices[0].detail, Catch::StartsWith("vda serial=td-root"));
  CHECK(st->to_json()["insecure"] == true);

  auto listed = td::list_domains(*conn);
  bool found = false;
  for (const auto& s : listed) found |= s.name == "td-lifecycle" && s.profile == "no-tdx";
  CHECK(found);

  // A changed layout is redefined in place (same UUID), and visible in the digest.
  auto uuid = st->uuid;
  auto bigger = spec;
  bigger.memory_gib = 8;
  auto d2 = td::prepare_domain(host, bigger, conn->domain_type(), "");
  REQUIRE(d2);
  REQUIRE(d2->topology_digest != d->topology_digest);
  CHECK(apply(td::plan_launch(conn, *d2, true)).changed);
  auto st2 = td::domain_status(*conn, "td-lifecycle");
  CHECK(st2->uuid == uuid);
  // The running domain keeps its hardware until it restarts: both are shown.
  CHECK(st2->topology_digest == d->topology_digest);
  CHECK(st2->pending_digest == d2->topology_digest);

  CHECK_THROWS_AS(td::plan_undefine(conn, "td-lifecycle", false), core::Failure);

  CHECK(apply(td::plan_stop(conn, "td-lifecycle", {5, false})).changed);
  CHECK(td::domain_status(*conn, "td-lifecycle")->state == "shut off");
  CHECK_FALSE(apply(td::plan_stop(conn, "td-lifecycle", {5, false})).changed);

  CHECK(apply(td::plan_undefine(conn, "td-lifecycle", false)).changed);
  CHECK_FALSE(conn->lookup("td-lifecycle"));
  CHECK_FALSE(apply(td::plan_undefine(conn, "td-lifecycle", false)).changed);
  auto gone = td::domain_status(*conn, "td-lifecycle");
  REQUIRE_FALSE(gone);
  CHECK(gone.error().category == core::Category::not_ready);
  CHECK_THROWS_AS(td::plan_stop(conn, "td-lifecycle", {5, false}), core::Failure);
}

TEST_CASE("undefine --force destroys a running domain first") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  spec.name = "td-force";
  spec.no_tdx = true;
  auto conn = td::Connection::open("test:///default");
  auto d = td::prepare_domain(core::Root(), spec, conn->domain_type(), "");
  REQUIRE(d);
  apply(td::plan_launch(conn, *d, false));
  REQUIRE(conn->lookup("td-force")->active());
  CHECK(apply(td::plan_undefine(conn, "td-force", true)).changed);
  CHECK_FALSE(conn->lookup("td-force"));
}

static core::Error refusal(const core::Root& root, const td::TdSpec& spec, bool require_attestation) {
  core::RealRunner probe; // qemu-img info of a config volume read back
  auto r = td::preflight(root, probe, spec, {require_attestation, false, "test:///default"});
  REQUIRE_FALSE(r);
  return r.error();
}

TEST_CASE("refusal: a GPU not bound to vfio-pci names the device and the fix") {
  core::TempDir dir;
  test::make_gpu_host(dir.path(), 1, 0, "nvidia");
  auto spec = test::make_volumes(dir.path());
  spec.gpus = {test::gpu_bdf(0)};
  auto e = refusal(core::Root(dir.path()), spec, false);
  CHECK(e.category == core::Category::not_ready);
  CHECK(e.code == "td.device_not_bound");
  CHECK_THAT(e.message, Catch::Contains(test::gpu_bdf(0) + " is bound to 'nvidia'"));
  CHECK_THAT(e.hint, Catch::Contains("tdxctl gpu bind"));
  spec.gpus = {"0000:99:00.0"};
  CHECK(refusal(core::Root(dir.path()), spec, false).code == "td.device_missing");
}

TEST_CASE("refusal: a missing volume, and a config volume that no longer matches its manifest") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  spec.no_tdx = true;
  fs::remove(dir.path() / "cache.img");
  auto e = refusal(core::Root(), spec, false);
  CHECK(e.code == "td.volume_missing");
  CHECK_THAT(e.message, Catch::Contains("td.cache_volume: " + spec.cache_volume));
  test::put(dir.path(), "cache.img", "");
  test::put(dir.path(), "config.img", "tampered");
  auto m = refusal(core::Root(), spec, false);
  CHECK(m.code == "td.volume_mismatch");
  CHECK(m.category == core::Category::not_ready);
}

TEST_CASE("refusal: a config volume that cannot be read is not called changed") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  spec.no_tdx = true;
  test::put(dir.path(), "config.img", "tampered");
  // An appliance that cannot start (QEMU exits at once): the volume is fine
  // as far as anyone knows, and the error says what failed instead.
  test::put(dir.path(), "qemu", "#!/bin/sh\nfor a; do [ \"$a\" = -kernel ] && { echo 'qemu: cannot start' >&2; exit 1; }; done\nexec qemu-system-x86_64 \"$@\"\n");
  fs::permissions(dir.path() / "qemu", fs::perms::owner_all);
  const char* old_hv = std::getenv("LIBGUESTFS_HV");
  std::string saved = old_hv ? old_hv : "";
  ::setenv("LIBGUESTFS_HV", (dir.path() / "qemu").c_str(), 1);
  ::setenv("LIBGUESTFS_BACKEND", "direct", 0);
  auto e = refusal(core::Root(), spec, false);
  if (old_hv) ::setenv("LIBGUESTFS_HV", saved.c_str(), 1);
  else ::unsetenv("LIBGUESTFS_HV");
  CHECK(e.code == "td.volume_unreadable");
  CHECK(e.category == core::Category::failed);
  CHECK_THAT(e.message, Catch::Contains("could not read config volume"));
  CHECK_THAT(e.hint, !Catch::Contains("volume config create"));
}

TEST_CASE("refusal: QGS missing under --require-attestation") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  auto e = refusal(core::Root(dir.path()), spec, true); // no socket under this root
  CHECK(e.category == core::Category::not_ready);
  spec.qgs_socket.clear();
  CHECK(refusal(core::Root(dir.path()), spec, true).code == "td.qgs_missing");
  spec.no_tdx = true;
  CHECK(refusal(core::Root(dir.path()), spec, true).category == core::Category::usage);
}

TEST_CASE("refusal: a TDX launch where libvirt's domain capabilities lack TDX") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  core::RealRunner probe;
  auto r = td::preflight(core::Root(), probe, spec, {false, true, "test:///default"});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "td.libvirt_no_tdx");
  CHECK(r.error().category == core::Category::not_ready);
  CHECK_THAT(r.error().message, Catch::Contains("cannot run TDX"));
}

TEST_CASE("refusal: a GPU whose IOMMU group holds a device on another driver") {
  core::TempDir dir;
  test::make_gpu_host(dir.path(), 1, 0);
  auto gpu = test::gpu_bdf(0);
  auto audio = gpu.substr(0, 11) + "1";
  test::add_pci(dir.path(), audio, "0x040300", "0x22ba", "snd_hda_intel");
  for (const auto& bdf : {gpu, audio}) {
    test::link(dir.path(), "sys/devices/pci0000:00/" + bdf + "/iommu_group",
               "../../../kernel/iommu_groups/40");
    test::link(dir.path(), "sys/kernel/iommu_groups/40/devices/" + bdf,
               "../../../../devices/pci0000:00/" + bdf);
  }
  auto spec = test::make_volumes(dir.path());
  spec.gpus = {gpu};
  auto e = refusal(core::Root(dir.path()), spec, false);
  CHECK(e.code == "td.group_not_viable");
  CHECK_THAT(e.message, Catch::Contains("shares IOMMU group 40 with " + audio));
}
