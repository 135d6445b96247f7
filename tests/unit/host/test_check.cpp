// host/: readiness checks against a fixture tree built here, its broken
// variants, and the real capture of an H100 seen from a VM.
#include "support/fixtures.hpp"
#include "tdxctl/host/check.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>

using namespace tdx;
using tdx::host::Status;
namespace fs = std::filesystem;

static const host::CheckResult& find(const host::HostReport& r, const std::string& id) {
  for (const auto& c : r.checks)
    if (c.id == id) return c;
  FAIL("no check " << id);
  throw;
}

TEST_CASE("a TDX-ready host passes every required check") {
  core::TempDir dir;
  test::make_ready_host(dir.path());
  auto report = host::run_host_checks(core::Root(dir.path()), {});
  for (const auto& c : report.checks) INFO(c.id << " " << c.observed);
  CHECK(report.ready());
  CHECK(find(report, "cpu.tdx").status == Status::ok);
  CHECK(find(report, "cpu.generation").observed.find("Emerald Rapids") != std::string::npos);
  CHECK(find(report, "tdx.module").observed == "initialized (version 1.5)");
  CHECK(find(report, "td.capacity").observed == "2 of 31 in use");
  CHECK(find(report, "qgs.socket").status == Status::ok);
  CHECK_THAT(find(report, "qgs.socket").observed, Catch::Contains("(accepts connections)"));
  CHECK(find(report, "gpu.0000:18:00.0").status == Status::ok);
  CHECK(find(report, "libvirt.tdx").status == Status::skip);
}

TEST_CASE("broken variants fail with the right reason") {
  core::TempDir dir;
  test::make_ready_host(dir.path());
  core::Root root(dir.path());

  SECTION("kvm_intel.tdx=N") {
    test::put(dir.path(), "/sys/module/kvm_intel/parameters/tdx", "N\n");
    auto r = host::run_host_checks(root, {});
    CHECK_FALSE(r.ready());
    CHECK(find(r, "kvm.tdx").status == Status::fail);
    CHECK(find(r, "tdx.module").status == Status::skip);
  }
  SECTION("no TD slots left") {
    test::put(dir.path(), "/sys/fs/cgroup/misc.current", "tdx 31\n");
    auto r = host::run_host_checks(root, {});
    CHECK(find(r, "td.capacity").status == Status::fail);
    CHECK_FALSE(r.ready());
  }
  SECTION("QGS missing warns, and fails only when attestation is required") {
    fs::remove(dir / "var/run/tdx-qgs/qgs.socket");
    auto r = host::run_host_checks(root, {});
    CHECK(find(r, "qgs.socket").status == Status::warn);
    CHECK(r.ready());
    host::CheckOptions strict;
    strict.require_attestation = true;
    auto r2 = host::run_host_checks(root, strict);
    CHECK(find(r2, "qgs.socket").status == Status::fail);
    CHECK_FALSE(r2.ready());
  }
  SECTION("a QGS socket nobody listens on: left from a stopped qgsd") {
    fs::remove(dir / "var/run/tdx-qgs/qgs.socket");
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s",
                  (dir / "var/run/tdx-qgs/qgs.socket").c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::close(fd); // bound, never listening: connections are refused
    auto r = host::run_host_checks(root, {});
    CHECK(find(r, "qgs.socket").status == Status::warn);
    CHECK_THAT(find(r, "qgs.socket").observed,
               Catch::Contains("does not accept connections (Connection refused)"));
    host::CheckOptions strict;
    strict.require_attestation = true;
    CHECK(find(host::run_host_checks(root, strict), "qgs.socket").status == Status::fail);
  }
  SECTION("a QGS path that is not a socket") {
    fs::remove(dir / "var/run/tdx-qgs/qgs.socket");
    test::put(dir.path(), "/var/run/tdx-qgs/qgs.socket", "");
    auto r = host::run_host_checks(root, {});
    CHECK(find(r, "qgs.socket").observed.find("not a socket") != std::string::npos);
  }
  SECTION("TDX module failed per the kernel log") {
    fs::remove_all(dir / "sys/firmware/tdx");
    test::put(dir.path(), "/sys/module/kvm_intel/parameters/tdx", "Y\n");
    test::put(dir.path(), "/dev/kmsg", "6,100,5,-;virt/tdx: module initialization failed (-5)\n");
    auto r = host::run_host_checks(root, {});
    CHECK(find(r, "tdx.module").status == Status::fail);
    CHECK(find(r, "tdx.module").observed.find("-5") != std::string::npos);
  }
  SECTION("missing firmware names the paths tried") {
    fs::remove(dir / "usr/share/ovmf/OVMF.inteltdx.fd");
    auto r = host::run_host_checks(root, {});
    CHECK(find(r, "firmware.tdvf").status == Status::fail);
    CHECK(find(r, "firmware.tdvf").observed.find("/usr/share/ovmf/OVMF.inteltdx.fd") !=
          std::string::npos);
  }
  SECTION("a TD guest is told it is a guest") {
    test::put(dir.path(), "/proc/cpuinfo",
              "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 207\nflags\t\t: fpu tdx_guest\n");
    auto r = host::run_host_checks(root, {});
    CHECK(find(r, "cpu.tdx").observed.find("TD guest") != std::string::npos);
  }
}

TEST_CASE("the real H100-in-a-VM capture is not ready, for the right reasons") {
  core::TempDir dir;
  auto root_dir = test::extract_capture(dir.path(), "h100-vm-passthrough.tgz");
  auto report = host::run_host_checks(core::Root(root_dir), {});
  CHECK_FALSE(report.ready());
  CHECK(find(report, "cpu.tdx").status == Status::fail);
  CHECK(find(report, "iommu.groups").status == Status::fail);
  const auto& gpu = find(report, "gpu.0000:00:06.0");
  CHECK(gpu.status == Status::fail);
  CHECK(gpu.observed.find("10de:2330 driver=nvidia") != std::string::npos);
  CHECK(gpu.observed.find("no IOMMU group") != std::string::npos);
  CHECK(find(report, "kvm.tdx").status == Status::skip);
}

TEST_CASE("domain capabilities: TDX is recognised in both forms") {
  CHECK(host::domain_caps_support_tdx(
      "<domainCapabilities><features><tdx supported='yes'/></features></domainCapabilities>"));
  CHECK(host::domain_caps_support_tdx(
      "<domainCapabilities><features><launchSecurity supported='yes'><enum name='sectype'>"
      "<value>sev</value><value>tdx</value></enum></launchSecurity></features>"
      "</domainCapabilities>"));
  CHECK_FALSE(host::domain_caps_support_tdx(
      "<domainCapabilities><features><sev supported='no'/></features></domainCapabilities>"));
  CHECK_FALSE(host::domain_caps_support_tdx("not xml"));
}

TEST_CASE("libvirt probe reports the test driver and skips cleanly when unreachable") {
  auto lv = host::probe_libvirt("test:///default");
  CHECK(lv.reachable);
  CHECK_FALSE(lv.libvirt_version.empty());
  auto gone = host::probe_libvirt("qemu+unix:///system?socket=/nonexistent/sock");
  CHECK_FALSE(gone.reachable);
  host::CheckOptions o;
  o.libvirt = gone;
  CHECK(host::check_libvirt(o).status == Status::skip);
}
