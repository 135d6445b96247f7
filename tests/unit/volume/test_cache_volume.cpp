// volume/cache_volume: sizes, labels, and a real 5000G sparse volume made
// by mke2fs + qemu-img in seconds with a few MiB allocated.
#include "tdxctl/volume/cache_volume.hpp"

#include "support/fixtures.hpp"

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
                                   runner);
  auto sink = core::make_stderr_progress(core::ProgressMode::none);
  CHECK(planned.plan.apply(core::DryRun::no, *sink).changed);
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds < 10); // target 2 s on an idle machine; CI machines are shared
  auto info = image_info(out);
  REQUIRE(info);
  CHECK(info->format == "qcow2");
  CHECK(info->virtual_size == 5000ull << 30);
  CHECK(info->allocated <= 64ull << 20);
  CHECK(quick_label(out, "qcow2") == "tdx-cache");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename());
  CHECK(names == std::vector<std::string>{"cache.qcow2"});
  SECTION("the same request again is unchanged, another size is refused") {
    auto again = plan_cache_volume({out, CacheKind::cache, "5000G", "", VolumeFormat::qcow2,
                                    core::Force::no},
                                   runner);
    CHECK_FALSE(again.plan.apply(core::DryRun::no, *sink).changed);
    CHECK_THROWS_WITH(plan_cache_volume({out, CacheKind::cache, "100G", "", VolumeFormat::qcow2,
                                         core::Force::no},
                                        runner),
                      Catch::Contains("already exists"));
  }
}

TEST_CASE("volume: containerd preset: a blank 500G disk the TD formats itself, raw format") {
  core::TempDir dir;
  auto out = dir.path() / "containerd.raw";
  core::RealRunner runner;
  auto planned = plan_cache_volume({out, CacheKind::containerd, "", "", VolumeFormat::raw,
                                    core::Force::no},
                                   runner);
  CHECK(planned.label.empty());
  CHECK(planned.size == 500ull << 30);
  auto sink = core::make_stderr_progress(core::ProgressMode::none);
  planned.plan.apply(core::DryRun::no, *sink);
  CHECK(fs::file_size(out) == 500ull << 30);
  CHECK(allocated_bytes(out) == 0);
  // Blank: no label, no filesystem; the guest formats only such a disk.
  CHECK_FALSE(quick_label(out, "raw"));
  // Once the TD has written its LUKS2 header there, a re-run leaves it alone.
  {
    std::fstream f(out, std::ios::in | std::ios::out | std::ios::binary);
    f.write("LUKS\xba\xbe", 6);
  }
  auto again = plan_cache_volume({out, CacheKind::containerd, "", "", VolumeFormat::raw, core::Force::no}, runner);
  CHECK(again.plan.steps().front().is_done());
  CHECK_THROWS_WITH(plan_cache_volume({out, CacheKind::containerd, "", "containerd-cache", VolumeFormat::raw,
                                       core::Force::no},
                                      runner),
                    Catch::Contains("it has no label"));
}

TEST_CASE("volume: invalid cache requests are all reported and leave no file") {
  core::TempDir dir;
  core::RecordingRunner runner;
  try {
    plan_cache_volume({dir.path() / "c.qcow2", CacheKind::cache, "lots", "a-label-that-is-too-long",
                       VolumeFormat::qcow2, core::Force::no},
                      runner);
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
