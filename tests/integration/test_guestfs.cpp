// The libguestfs appliance on a machine whose /dev/kvm exists but cannot run
// guests (nested VMs, CI runners): QEMU aborts under KVM, and tdxctl must
// retry once under TCG, say why, and otherwise name what it tried and where
// the appliance log is. The broken KVM is emulated by a QEMU wrapper
// (LIBGUESTFS_HV) that dies as QEMU does there whenever it is allowed KVM,
// and a stand-in KVM device path (TDXCTL_KVM_DEVICE); the appliance itself is
// real and runs under TCG.
#include "support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <sys/stat.h>

using namespace tdx;
namespace fs = std::filesystem;

namespace {

fs::path write_script(const fs::path& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/sh\n" << body;
  ::chmod(path.c_str(), 0755);
  return path;
}

// QEMU as it behaves with a /dev/kvm that cannot run guests; `always` also
// fails under TCG (a machine where nothing can start the appliance).
fs::path broken_kvm_qemu(const fs::path& dir, bool always) {
  std::string qemu = "qemu-system-x86_64";
  return write_script(dir / "qemu-broken-kvm",
                      std::string("launch=no; kvm=no\n"
                                  "for a; do case \"$a\" in -kernel) launch=yes;; *accel=kvm*) kvm=yes;; esac; done\n") +
                          "if [ $launch = yes ] && { [ $kvm = yes ] || [ " + (always ? "1" : "0") +
                          " = 1 ]; }; then\n"
                          "  echo 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x0' >&2\n"
                          "  echo \"qemu-system-x86_64: kvm_buf_set_msrs: Assertion 'ret == cpu->kvm_msr_buf->nmsrs' failed.\" >&2\n"
                          "  exit 134\nfi\nexec " + qemu + " \"$@\"\n");
}

std::vector<std::string> env_for(const fs::path& dir, const fs::path& hv, const std::string& settings = "") {
  test::put(dir, "kvm", ""); // the stand-in /dev/kvm: it exists
  return {"LIBGUESTFS_BACKEND=direct", "LIBGUESTFS_HV=" + hv.string(),
          "TDXCTL_KVM_DEVICE=" + (dir / "kvm").string(), "LIBGUESTFS_BACKEND_SETTINGS=" + settings,
          "TMPDIR=" + dir.string()};
}

fs::path make_cache_volume(const fs::path& dir) {
  auto vol = dir / "cache.qcow2";
  auto made = test::run_tdxctl({"volume", "cache", "create", "-o", vol.string(), "--size", "1G"});
  REQUIRE(made.exit_status == 0);
  return vol;
}

} // namespace

TEST_CASE("guestfs: a KVM that cannot run guests: warned, retried under TCG, the command works",
          "[guestfs]") {
  core::TempDir dir;
  auto vol = make_cache_volume(dir.path());
  auto r = test::run_tdxctl({"volume", "inspect", vol.string(), "-o", "json"}, {},
                            env_for(dir.path(), broken_kvm_qemu(dir.path(), false)));
  INFO(r.err);
  CHECK(r.exit_status == 0);
  CHECK_THAT(r.out, Catch::Contains("tdx-cache"));
  CHECK_THAT(r.err, Catch::Contains("failed to start under KVM"));
  CHECK_THAT(r.err, Catch::Contains("MSR"));
  CHECK_THAT(r.err, Catch::Contains("retrying under TCG"));
}

TEST_CASE("guestfs: the user's backend settings are honoured: no retry, no warning", "[guestfs]") {
  core::TempDir dir;
  auto vol = make_cache_volume(dir.path());
  // force_tcg from the user: the first (and only) launch is already TCG.
  auto r = test::run_tdxctl({"volume", "inspect", vol.string()}, {},
                            env_for(dir.path(), broken_kvm_qemu(dir.path(), false), "force_tcg"));
  INFO(r.err);
  CHECK(r.exit_status == 0);
  CHECK_THAT(r.err, !Catch::Contains("retrying"));
}

TEST_CASE("guestfs: nothing starts the appliance: both tries and the log are named", "[guestfs]") {
  core::TempDir dir;
  auto vol = make_cache_volume(dir.path());
  auto r = test::run_tdxctl({"volume", "inspect", vol.string()}, {},
                            env_for(dir.path(), broken_kvm_qemu(dir.path(), true)));
  INFO(r.err);
  CHECK(r.exit_status == 1);
  CHECK_THAT(r.err, Catch::Contains("tried KVM ("));
  CHECK_THAT(r.err, Catch::Contains("then TCG"));
  std::smatch m;
  std::regex log_re("appliance log: (\\S+\\.log)");
  REQUIRE(std::regex_search(r.err, m, log_re));
  fs::path log = m[1].str();
  CHECK(log.parent_path() == dir.path());
  struct stat st{};
  REQUIRE(::stat(log.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_THAT(core::value_or_throw(core::read_file(log)), Catch::Contains("failed to set MSR"));
}
