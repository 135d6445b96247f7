// bench_image_build: wall time of `tdxctl image build` of the Debian 12 test
// base (tests/fixtures/image/make-debian-base.sh) and of `tdxctl image verify`
// of the result, through the real binary, with each build stage's time.
// Targets (2 cores, no KVM): build <= 90 s, verify <= 60 s.
// Usage: bench_image_build TDXCTL BASE.qcow2 [DIR]   (run as root)
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/runner.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>

using namespace tdx;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_image_build TDXCTL BASE.qcow2 [DIR]\n");
    return 2;
  }
  try {
    fs::path tdxctl = argv[1], base = fs::absolute(argv[2]);
    core::TempDir dir(argc > 3 ? fs::path(argv[3]) : fs::path(), "bench-image-build");
    core::RealRunner runner;
    auto sha = core::run_checked(runner, {{"sha256sum", base.string()}}, "sha256sum").out.substr(0, 64);
    std::ofstream(dir / "image.yaml") << "base:\n  path: " << base.string() << "\n  sha256: " << sha
                                       << "\noutput: td.qcow2\nroot_size: 1G\n"
                                          "unlock:\n  nonce_endpoint: https://keys.example/nonce\n"
                                          "  attestation_endpoint: https://keys.example/attest\n"
                                          "  trust_system_cas: true\n";
    const std::vector<std::string> env{"LIBGUESTFS_BACKEND=direct"};
    auto timed = [&](std::vector<std::string> args) {
      args.insert(args.begin(), tdxctl.string());
      core::Command cmd{args};
      cmd.env = env;
      cmd.timeout = std::chrono::minutes(30);
      auto start = std::chrono::steady_clock::now();
      auto done = core::run_checked(runner, cmd, args[4] + " " + args[5]);
      return std::pair{std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), done.out};
    };
    auto out = (dir / "td.qcow2").string();
    auto [build_s, build_out] = timed({"-q", "-o", "json", "image", "build", "-c", (dir / "image.yaml").string(),
                                       "--argon2-memory", "65536", "--argon2-iterations", "4"});
    auto doc = nlohmann::json::parse(build_out);
    std::printf("%-18s %8s\n", "build stage", "seconds");
    for (auto& t : doc["timings"])
      std::printf("%-18s %8.1f\n", t["stage"].get<std::string>().c_str(), t["seconds"].get<double>());
    auto [verify_s, verify_out] = timed({"-q", "-o", "json", "image", "verify", out, "--key-file", out + ".key"});
    bool ok = true;
    auto report = [&](const char* what, double seconds, double target) {
      ok &= seconds <= target;
      std::printf("%-18s %8.1f s  target %3.0f s  ratio %.2f  %s\n", what, seconds, target, seconds / target,
                  seconds <= target ? "within target" : "OVER TARGET");
    };
    report("image build", build_s, 90);
    report("image verify", verify_s, 60);
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_image_build: %s\n", e.what());
    return 1;
  }
}
