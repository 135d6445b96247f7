// volume/cache_volume: sizes, labels, and a real 5000G sparse volume made
// by mke2fs + qemu-img in seconds with a few MiB allocated.
#include "tdxctl/volume/cache_volume.hpp"

#include "support/fixtures.hpp"
#include "tdxctl/core/disk_image.hpp"

#include <catch2/catch.hpp>

#include <fstream>

#include <chrono>

using namespace tdx;
using namespace tdx::volume;
namespace fs = std::filesystem;

TEST_CASE("volume: sizes: K/M/G/T are powers of 1024, anything else is named") {
  CHECK(parse_size("5000G").value() == 5000ull << 30);
  CHECK(parse_size("2T").value() == 2ull << 40);
  CHECK(parse_size("64M").value() == 64ull << 20);
  CHECK(parse_size("4096").value() == 4096);
  for (const char* bad : {"", "G", "5000X", "-1G", "1.5T", "99999999999999999999G"}) {
    auto r = parse_size(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("expected a number with K, M, G or T") != std::string::npos);
  }
}

TEST_CASE("volume: labels: at most 16 bytes") {
  CHECK(check_label("containerd-cache"));
  auto r = check_label("containerd-cache1");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "label 'containerd-cache1' is 17 bytes; an ext4 label holds 1 to 16 bytes");
  CHECK_FALSE(check_label("a/b"));
}

TEST_CASE("volume: space needed covers the measured metadata of a 5000G volume") {
  CHECK(cache_space_needed(5000ull << 30, VolumeFormat::raw) > 13ull << 20);
  CHECK(cache_space_needed(5000ull << 30, VolumeFormat::qcow2) > 27ull << 20);
  CHECK(cache_space_needed(5000ull << 30, VolumeFormat::qcow2) < 128ull << 20);
}

TEST_CASE("volume: a 5000G qcow2 cache volume: seconds, a few MiB, label tdx-cache, no debris") {
  core::TempDir dir;
  auto out = dir.path() / "cache.qcow2";
  core::RealRunner runner;
  auto start = std::chrono::steady_clock::now();
  auto planned = plan_cache_volume({out, CacheKind::cache, "5000G", "", VolumeFormat::qcow2,
                                    core::Force::no},
                                   runner, runner);
  auto sink = core::make_stderr_progress(core::ProgressMode::none);
  CHECK(planned.plan.apply(core::DryRun::no, *sink).changed);
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds < 10); // target 2 s on an idle machine; CI machines are shared
  auto info = core::disk_info(runner, out);
  REQUIRE(info);
  CHECK(info->format == "qcow2");
  CHECK(info->virtual_size == 5000ull << 30);
  CHECK(info->allocated <= 64ull << 20);
  CHECK(quick_label(runner, out, "qcow2") == "tdx-cache");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename());
  CHECK(names == std::vector<std::string>{"cache.qcow2"});
  SECTION("the same request again is unchanged, another size is refused") {
    auto again = plan_cache_volume({out, CacheKind::cache, "5000G", "", VolumeFormat::qcow2,
                                    core::Force::no},
                                   runner, runner);
    CHECK_FALSE(again.plan.apply(core::DryRun::no, *sink).changed);
    CHECK_THROWS_WITH(plan_cache_volume({out, CacheKind::cache, "100G", "", VolumeFormat::qcow2,
                                         core::Force::no},
                                        runner, runner),
                      Catch::Contains("already exists"));
  }
}

TEST_CASE("volume: containerd preset: a blank 500G disk the TD formats itself, raw format") {
  core::TempDir dir;
  auto out = dir.path() / "containerd.raw";
  core::RealRunner runner;
  auto planned = plan_cache_volume({out, CacheKind::containerd, "", "", VolumeFormat::raw,
                                    core::Force::no},
                                   runner, runner);
  CHECK(planned.label.empty());
  CHECK(planned.size == 500ull << 30);
  auto sink = core::make_stderr_progress(core::ProgressMode::none);
  planned.plan.apply(core::DryRun::no, *sink);
  CHECK(fs::file_size(out) == 500ull << 30);
  CHECK(core::allocated_bytes(out) == 0);
  // Blank: no label, no filesystem; the guest formats only such a disk.
  CHECK_FALSE(quick_label(runner, out, "raw"));
  // Once the TD has written its LUKS2 header there, a re-run leaves it alone.
  {
    std::fstream f(out, std::ios::in | std::ios::out | std::ios::binary);
    f.write("LUKS\xba\xbe", 6);
  }
  auto again = plan_cache_volume({out, CacheKind::containerd, "", "", VolumeFormat::raw, core::Force::no}, runner, runner);
  CHECK(again.plan.steps().front().is_done());
  CHECK_THROWS_WITH(plan_cache_volume({out, CacheKind::containerd, "", "containerd-cache", VolumeFormat::raw,
                                       core::Force::no},
                                      runner, runner),
                    Catch::Contains("it has no label"));
}

TEST_CASE("volume: invalid cache requests are all reported and leave no file") {
  core::TempDir dir;
  core::RecordingRunner runner;
  try {
    plan_cache_volume({dir.path() / "c.qcow2", CacheKind::cache, "lots", "a-label-that-is-too-long",
                       VolumeFormat::qcow2, core::Force::no},
                      runner, runner);
    FAIL("expected an error");
  } catch (const core::Failure& f) {
    CHECK(f.error().category == core::Category::invalid_input);
    CHECK(f.error().message.find("--size: size 'lots'") != std::string::npos);
    CHECK(f.error().message.find("--label: label 'a-label-that-is-too-long' is 24 bytes") != std::string::npos);
  }
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("volume: too little free space is a precondition error that says how much is needed") {
  core::TempDir dir;
  try {
    check_room(dir.path(), uint64_t{1} << 60, 1 << 20, "a 5000G cache volume");
    FAIL("expected an error");
  } catch (const core::Failure& f) {
    CHECK(f.error().category == core::Category::not_ready);
    CHECK(f.error().message.find("a 5000G cache volume needs 1024.0 PiB free in") != std::string::npos);
  }
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("volume: planning reads an existing volume through the probe runner only") {
  core::TempDir dir;
  auto out = dir.path() / "cache.qcow2";
  test::put(dir.path(), "cache.qcow2", "stand-in");
  core::RecordingRunner probe([](const core::Command& c) {
    core::Completed done;
    done.exit_status = 0;
    if (c.argv[1] == "info") done.out = R"({"format": "qcow2", "virtual-size": 5368709120000})";
    if (c.argv[0] == "blkid") done.out = "tdx-cache\n";
    return done;
  });
  core::RecordingRunner effects;
  auto planned = plan_cache_volume({out, CacheKind::cache, "5000G", "", VolumeFormat::qcow2, core::Force::no},
                                   probe, effects);
  for (const auto& step : planned.plan.steps()) CHECK(step.is_done());
  REQUIRE(probe.commands().size() == 3);
  CHECK(probe.commands()[0].argv == core::disk_info_command(out).argv);
  CHECK(probe.commands()[1].argv[1] == "dd");
  CHECK(probe.commands()[2].argv[0] == "blkid");
  auto sink = core::make_stderr_progress(core::ProgressMode::none);
  CHECK_FALSE(planned.plan.apply(core::DryRun::yes, *sink).changed);
  CHECK(effects.commands().empty());
}

TEST_CASE("volume: each step runs the command its plan detail shows, with the real paths") {
  core::TempDir dir;
  auto out = dir.path() / "cache.qcow2";
  core::RecordingRunner probe, effects;
  auto planned = plan_cache_volume({out, CacheKind::cache, "64M", "", VolumeFormat::qcow2, core::Force::no},
                                   probe, effects);
  CHECK(probe.commands().empty()); // nothing there to read
  auto sink = core::make_stderr_progress(core::ProgressMode::none);
  CHECK(planned.plan.apply(core::DryRun::no, *sink).changed);
  const auto& steps = planned.plan.steps();
  REQUIRE(steps.size() == 3);
  REQUIRE(effects.commands().size() == 2);
  auto shown_mkfs = steps[0].detail["argv"].get<std::vector<std::string>>();
  auto shown_convert = steps[1].detail["argv"].get<std::vector<std::string>>();
  auto ran_mkfs = effects.commands()[0].argv;
  auto ran_convert = effects.commands()[1].argv;
  // Only the $WORK placeholder and the output's temporary name differ.
  CHECK(shown_mkfs.back() == "$WORK/volume.raw");
  CHECK(ran_mkfs.back().ends_with("/volume.raw"));
  shown_mkfs.pop_back();
  ran_mkfs.pop_back();
  CHECK(ran_mkfs == shown_mkfs);
  CHECK(shown_convert == std::vector<std::string>{"qemu-img", "convert", "-f", "raw", "-O", "qcow2",
                                                  "$WORK/volume.raw", out.string()});
  REQUIRE(ran_convert.size() == shown_convert.size());
  CHECK(std::equal(ran_convert.begin(), ran_convert.end() - 2, shown_convert.begin()));
  CHECK(ran_convert[6] == effects.commands()[0].argv.back());
  CHECK(fs::path(ran_convert[7]).parent_path() == dir.path());
}
