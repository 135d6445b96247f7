// bench_volume: wall time and allocated bytes of creating a 5000G cache
// volume (qcow2 and raw) and a config volume, through the same library calls
// as `tdxctl volume ... create`. Targets (issue #4): cache <= 2 s and <= 64 MiB
// allocated; config <= 1 s. Usage: bench_volume [DIR] (default: the temp dir).
#include "tdxctl/core/disk_image.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/volume/cache_volume.hpp"
#include "tdxctl/volume/config_volume.hpp"

#include <chrono>
#include <cstdio>
#include <functional>

using namespace tdx;
namespace fs = std::filesystem;

static double timed(const std::function<void()>& fn) {
  auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int main(int argc, char** argv) {
  try {
    core::TempDir dir(argc > 1 ? fs::path(argv[1]) : fs::path(), "bench-volume");
    core::RealRunner runner;
    auto sink = core::make_stderr_progress(core::ProgressMode::none);
    bool ok = true;
    auto report = [&](const char* what, double seconds, uint64_t allocated, double max_s,
                      uint64_t max_alloc) {
      bool pass = seconds <= max_s && (max_alloc == 0 || allocated <= max_alloc);
      ok &= pass;
      std::printf("%-28s %7.3f s  %10llu bytes allocated (%.1f MiB)  %s\n", what, seconds,
                  static_cast<unsigned long long>(allocated), allocated / 1048576.0,
                  pass ? "within target" : "OVER TARGET");
    };
    for (auto format : {volume::VolumeFormat::qcow2, volume::VolumeFormat::raw}) {
      auto out = dir / (std::string("cache.") + volume::format_name(format));
      double s = timed([&] {
        auto planned = volume::plan_cache_volume(
            {out, volume::CacheKind::cache, "5000G", "", format, core::Force::no}, runner, runner);
        planned.plan.apply(core::DryRun::no, *sink);
      });
      report((std::string("cache 5000G ") + volume::format_name(format)).c_str(), s,
             core::allocated_bytes(out), 2.0, 64ull << 20);
    }
    auto values = std::make_shared<volume::ConfigValues>();
    values->hostname = "bench-0";
    values->miner_ss58 = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    values->miner_seed = core::Secret(std::string(64, 'a'));
    values->vm_ip = {"192.168.100.2", 24, 0xc0a86402};
    values->gateway = "192.168.100.1";
    values->dns = {"1.1.1.1"};
    auto out = dir / "config.qcow2";
    double s = timed([&] {
      auto planned = volume::plan_config_volume({out, volume::VolumeFormat::qcow2, core::Force::no},
                                                values, runner, runner);
      planned.plan.apply(core::DryRun::no, *sink);
    });
    report("config 16M qcow2", s, core::allocated_bytes(out), 1.0, 0);
    return ok ? 0 : 1;
  } catch (const core::Failure& f) {
    std::fprintf(stderr, "bench_volume: %s\n", f.error().message.c_str());
    return 2;
  }
}
